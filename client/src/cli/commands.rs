//! What each `kindred-cli` command does.

use std::io::{BufRead, IsTerminal, Read};

use anyhow::{Context, bail};
use kindred_client::{Client, ClientError};
use kindred_protocol::EventId;
use kindred_protocol::api::*;
use serde::Serialize;

use super::args::*;
use super::credentials::{Credentials, Saved, device_key};
use super::output;

pub(crate) const DEFAULT_NODE: &str = "http://127.0.0.1:7070";

/// What every command needs: the saved sessions, the node, an anonymous client for it,
/// and how to print (words for people, or `--json`).
pub(crate) struct Ctx {
    /// Saved sessions and devices.
    pub(crate) creds: Credentials,
    /// The node's address, without a trailing slash.
    pub(crate) node: String,
    /// A client for the node, not signed in.
    pub(crate) anon: Client,
    /// Whether to print JSON instead of words.
    pub(crate) json: bool,
}

impl Ctx {
    /// A client signed in with the session saved for this node.
    pub(crate) fn signed_in(&self) -> Result<Client, ClientError> {
        let saved = self
            .creds
            .sessions
            .get(&self.node)
            .ok_or(ClientError::NotSignedIn)?;
        Ok(self.anon.clone().with_token(saved.token.clone()))
    }

    /// Prints `human`, or `value` as JSON with `--json`.
    pub(crate) fn print(&self, human: String, value: &dyn erased::Json) -> anyhow::Result<()> {
        if self.json {
            say(&value.to_json()?);
        } else {
            say(&human);
        }
        Ok(())
    }
}

/// Runs one command: each group of commands in its own module takes its own and gives
/// the others back.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let creds = Credentials::load()?;
    let node = cli
        .node
        .clone()
        .or_else(|| creds.default_node.clone())
        .unwrap_or_else(|| DEFAULT_NODE.to_owned());
    let node = node.trim_end_matches('/').to_owned();
    let extra_ca = match &cli.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read the CA file {}", path.display()))?,
        ),
        None => None,
    };
    let anon = Client::with_extra_ca(&node, extra_ca.as_deref())?;
    let mut ctx = Ctx {
        creds,
        node,
        anon,
        json: cli.json,
    };
    let command = cli.command;
    let Some(command) = super::account::run(&mut ctx, command).await? else {
        return Ok(());
    };
    let Some(command) = super::content::run(&mut ctx, command).await? else {
        return Ok(());
    };
    let Some(command) = super::peers::run(&mut ctx, command).await? else {
        return Ok(());
    };
    let Some(command) = super::chat::run(&mut ctx, command).await? else {
        return Ok(());
    };
    let ctx = &ctx;
    match command {
        Command::Notifications {
            before,
            keep_unread,
        } => {
            super::notifications::list(&ctx.signed_in()?, before, keep_unread, &|h, v| {
                ctx.print(h, v)
            })
            .await?
        }
        Command::Email(cmd) => {
            super::notifications::email(&ctx.signed_in()?, cmd, &|h, v| ctx.print(h, v)).await?
        }
        Command::Report { what, reason, note } => {
            let client = ctx.signed_in()?;
            let target = super::moderation::target(&client, &what).await?;
            super::moderation::report(&client, target, reason, note, &|h, v| ctx.print(h, v))
                .await?
        }
        Command::Moderation(cmd) => {
            super::moderation::moderation(&ctx.signed_in()?, cmd, &|h, v| ctx.print(h, v)).await?
        }
        Command::Safety(cmd) => {
            super::moderation::safety(&ctx.signed_in()?, cmd, &|h, v| ctx.print(h, v)).await?
        }
        Command::Safeguarding(cmd) => {
            super::moderation::safeguarding(&ctx.signed_in()?, cmd, &|h, v| ctx.print(h, v)).await?
        }
        Command::Appeal {
            username,
            note,
            password,
        } => {
            let password = read_password(&password, false)?;
            let device = ctx
                .creds
                .devices
                .get(&device_key(&ctx.node, &username))
                .cloned();
            ctx.anon
                .appeal_signed_out(&SignedOutAppeal {
                    credentials: LoginRequest {
                        username,
                        password,
                        device,
                    },
                    note,
                })
                .await?;
            ctx.print(
                "Your request for a review is with the moderators. Try signing in again later."
                    .to_owned(),
                &(),
            )?;
        }
        Command::Standing { appeal } => {
            super::moderation::standing(&ctx.signed_in()?, appeal, &|h, v| ctx.print(h, v)).await?
        }
        Command::Mentor(cmd) => {
            super::mentoring::mentor(&ctx.signed_in()?, cmd, &|h, v| ctx.print(h, v)).await?
        }
        Command::Buddy(cmd) => {
            super::mentoring::buddy(&ctx.signed_in()?, cmd, &|h, v| ctx.print(h, v)).await?
        }
        Command::Matches(cmd) => {
            super::mentoring::matches(&ctx.signed_in()?, cmd, &|h, v| ctx.print(h, v)).await?
        }
        Command::Cohort(cmd) => {
            super::mentoring::cohort(&ctx.signed_in()?, cmd, &|h, v| ctx.print(h, v)).await?
        }
        Command::Mentoring(MentoringCommand::Dashboard { csv: true }) => {
            let csv = ctx.signed_in()?.dashboard_csv().await?;
            say(csv.trim_end());
        }
        Command::Mentoring(MentoringCommand::Dashboard { csv: false }) => {
            let d = ctx.signed_in()?.dashboard().await?;
            ctx.print(super::mentoring::dashboard_text(&d), &d)?;
        }
        _ => bail!("kindred-cli does not know that command"),
    }
    Ok(())
}

pub(crate) async fn update_member(
    client: &Client,
    username: &str,
    role: Option<Role>,
    suspended: Option<bool>,
) -> Result<MemberView, ClientError> {
    client
        .update_member(username, &UpdateMember { role, suspended })
        .await
}

pub(crate) fn remember(
    creds: &mut Credentials,
    node: &str,
    session: &SessionCreated,
) -> anyhow::Result<()> {
    creds.sessions.insert(
        node.to_owned(),
        Saved {
            token: session.token.clone(),
            member: session.member.id.to_string(),
        },
    );
    if let Some(device) = &session.device {
        creds
            .devices
            .insert(device_key(node, &session.member.username), device.clone());
    }
    creds.default_node = Some(node.to_owned());
    creds.save()
}

/// A post or reply given by its full id or, as git takes commit ids, any unique start of
/// it of 8 or more characters (the node says which post that is, or that it is ambiguous).
pub(crate) async fn post_id(client: &Client, text: &str) -> anyhow::Result<EventId> {
    let text = text.trim();
    if text.len() == 64 {
        return parse_id(text);
    }
    Ok(client.post_id(text).await?)
}

pub(crate) fn parse_id(text: &str) -> anyhow::Result<EventId> {
    text.trim().parse().with_context(|| {
        format!("{text:?} is not an id (64 characters from 0-9 and a-f, as listed)")
    })
}

/// A node to block or unblock: how to name it to the node, and how to name it to people.
pub(crate) struct Named {
    /// Its id, or the name for the node to look up.
    pub(crate) key: String,
    /// "name (id)" when known.
    pub(crate) label: String,
}

/// A node given by its id (64 hex characters) or its name: a paired node as `peers list`
/// shows it, or another node of the federation, which the node looks up by name.
pub(crate) async fn peer_named(client: &Client, text: &str) -> anyhow::Result<Named> {
    let text = text.trim();
    let peers = client.peers().await?;
    let found = |p: &&kindred_protocol::api::PeerView| {
        p.name.as_str() == text || p.node_id.to_hex() == text
    };
    let mut named = peers.iter().filter(found);
    match (named.next(), named.next()) {
        (Some(p), None) => Ok(Named {
            key: p.node_id.to_hex(),
            label: format!("{} ({})", p.name, p.node_id),
        }),
        (Some(_), Some(_)) => anyhow::bail!(
            "more than one node is listed as {text:?}; give its node id (from `kindred-cli peers list`)"
        ),
        // Not paired: the node knows it through the federation, or says it does not.
        (None, _) => Ok(Named {
            key: text.to_owned(),
            label: text.to_owned(),
        }),
    }
}

pub(crate) fn parse_conversation(
    text: &str,
) -> anyhow::Result<kindred_protocol::event::ConversationId> {
    text.trim()
        .parse()
        .with_context(|| format!("{text:?} is not a conversation id (32 hex characters)"))
}

/// A conversation id as given, or the one-to-one conversation with a member id.
pub(crate) async fn conversation_for(
    client: &Client,
    target: &str,
) -> anyhow::Result<kindred_protocol::event::ConversationId> {
    if target.trim().starts_with('@') {
        let c = client
            .create_conversation(&CreateConversation {
                members: vec![parse_member(target)?],
                name: None,
            })
            .await?;
        Ok(c.id)
    } else {
        parse_conversation(target)
    }
}

pub(crate) fn parse_member(text: &str) -> anyhow::Result<kindred_protocol::MemberId> {
    kindred_protocol::MemberId::parse(text.trim())
        .with_context(|| format!("{text:?} is not a member id like @sam:chex.example.org"))
}

pub(crate) fn read_body(args: &BodyArgs) -> anyhow::Result<String> {
    if let Some(b) = &args.body {
        return Ok(b.clone());
    }
    if let Some(path) = &args.body_file {
        return std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()));
    }
    if std::io::stdin().is_terminal() {
        eprintln!("Type the text, then press Ctrl-D on a new line:");
    }
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    if text.trim().is_empty() {
        bail!("no text given (use --body, --body-file or standard input)");
    }
    Ok(text)
}

pub(crate) fn prompt_secret(prompt: &str, args: &PasswordArgs) -> anyhow::Result<String> {
    if !args.password_stdin && !std::io::stdin().is_terminal() {
        // Reading a pipe nobody asked us to read would turn an empty input into
        // "password too short"; say what to do instead.
        bail!(
            "cannot prompt for a password: there is no terminal. Use --password-stdin and send the password on standard input"
        );
    }
    if args.password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    Ok(rpassword::prompt_password(prompt)?)
}

/// Reads a password: from standard input with --password-stdin, else by prompting (twice
/// when choosing a new one).
/// Writes an export to `out` (or `kindred-export-<username>.zip`), readable only by the
/// user who ran the command, never over an existing file.
pub(crate) fn save_export(
    out: Option<std::path::PathBuf>,
    username: &str,
    bytes: &[u8],
) -> anyhow::Result<std::path::PathBuf> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = out.unwrap_or_else(|| format!("kindred-export-{username}.zip").into());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot create {}: {e} (choose another name with --out)",
                path.display()
            )
        })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(path)
}

pub(crate) fn own_deletion_words(done: &AccountDeletion) -> String {
    match done.erase_at {
        Some(at) if !done.erased => format!(
            "Your account will be deleted and everything you wrote erased on {}. Until then you cannot sign in; if you change your mind, ask your organisation's admin to stop it before then.",
            output::time(at)
        ),
        _ => format!(
            "Your account is deleted: {} posts, replies and reactions were erased here, and every partner node is told to erase them too.",
            done.events_erased
        ),
    }
}

pub(crate) fn deletion_words(done: &AccountDeletion) -> String {
    match done.erase_at {
        Some(at) if !done.erased => format!(
            "{}'s account will be deleted and erased on {}; until then they cannot sign in, and an admin can stop it (kindred-cli members stop-deletion {}).",
            done.username,
            output::time(at),
            done.username
        ),
        _ => format!(
            "{}'s account is deleted: {} posts, replies and reactions were erased here, and every partner node is told to erase them too.",
            done.username, done.events_erased
        ),
    }
}

pub(crate) fn read_password(args: &PasswordArgs, new: bool) -> anyhow::Result<String> {
    if args.password_stdin || !std::io::stdin().is_terminal() {
        return prompt_secret("", args);
    }
    let first = rpassword::prompt_password(if new {
        "Choose a password: "
    } else {
        "Password: "
    })?;
    if new {
        let again = rpassword::prompt_password("Type it again: ")?;
        if again != first {
            bail!("the two passwords were different; nothing was changed");
        }
    }
    Ok(first)
}

/// Printing any API value as JSON through one `&dyn` parameter.
pub(crate) mod erased {
    pub(crate) trait Json {
        fn to_json(&self) -> serde_json::Result<String>;
    }

    impl<T: super::Serialize> Json for T {
        fn to_json(&self) -> serde_json::Result<String> {
            serde_json::to_string_pretty(self)
        }
    }
}

/// Prints a line. When whatever reads the output has gone (`kindred-cli ... | head`), stop
/// quietly, as command-line tools do, instead of panicking.
pub(crate) fn say(text: &str) {
    use std::io::Write;
    let text = printable(text);
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{text}").and_then(|()| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write the output: {e}");
        std::process::exit(1);
    }
}

pub(crate) fn now_ms() -> u64 {
    kindred_protocol::Timestamp::now().as_millis()
}

/// `text` without the control characters a terminal would act on (escape sequences that
/// recolour, clear or retitle it, carriage returns that overwrite a line): what members
/// write reaches moderators' and admins' terminals. Line breaks and tabs stay, and so
/// does a carriage return before a line break (CSV).
pub(crate) fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |(i, c): (usize, char)| {
        c.is_control() && c != '\n' && c != '\t' && !(c == '\r' && text[i + 1..].starts_with('\n'))
    };
    if !text.char_indices().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.char_indices()
            .map(|(i, c)| if unsafe_char((i, c)) { '\u{FFFD}' } else { c })
            .collect(),
    )
}

#[cfg(test)]
pub(crate) mod printable_tests {
    use super::printable;

    #[test]
    fn terminal_controls_are_replaced() {
        assert_eq!(
            printable("plain\nlines\tand tabs"),
            "plain\nlines\tand tabs"
        );
        assert_eq!(printable("a,b\r\nc,d\r\n"), "a,b\r\nc,d\r\n");
        assert_eq!(
            printable("\x1b[31mred\x1b]0;t\x07\rover"),
            "\u{FFFD}[31mred\u{FFFD}]0;t\u{FFFD}\u{FFFD}over"
        );
        assert_eq!(printable("c1 \u{9b}2J"), "c1 \u{FFFD}2J");
    }
}
