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

const DEFAULT_NODE: &str = "http://127.0.0.1:7070";

/// Runs one command.
pub(crate) async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut creds = Credentials::load()?;
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
    let signed_in = || -> Result<Client, ClientError> {
        let saved = creds.sessions.get(&node).ok_or(ClientError::NotSignedIn)?;
        Ok(anon.clone().with_token(saved.token.clone()))
    };
    let json = cli.json;
    let print = |human: String, value: &dyn erased::Json| -> anyhow::Result<()> {
        if json {
            say(&value.to_json()?);
        } else {
            say(&human);
        }
        Ok(())
    };

    match cli.command {
        Command::Setup {
            token,
            username,
            display_name,
            password,
        } => {
            let password = read_password(&password, true)?;
            let req = SetupRequest {
                token,
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                password,
            };
            let (_, session) = anon.setup(&req).await?;
            remember(&mut creds, &node, &session)?;
            print(
                format!(
                    "Welcome, {}. You are this node's first admin and are signed in.",
                    session.member.display_name
                ),
                &session.member,
            )?;
        }
        Command::Join {
            invite,
            username,
            display_name,
            password,
        } => {
            let code = invite
                .rsplit('/')
                .next()
                .unwrap_or(&invite)
                .trim()
                .to_owned();
            let password = read_password(&password, true)?;
            let req = RedeemInviteRequest {
                code,
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                password,
            };
            let (_, session) = anon.redeem_invite(&req).await?;
            remember(&mut creds, &node, &session)?;
            print(
                format!(
                    "Welcome, {}. Your account is {} and you are signed in.",
                    session.member.display_name, session.member.id
                ),
                &session.member,
            )?;
        }
        Command::Login { username, password } => {
            let password = read_password(&password, false)?;
            let device = creds.devices.get(&device_key(&node, &username)).cloned();
            let (_, session) = anon
                .login_on_device(&username, &password, device.as_deref())
                .await?;
            remember(&mut creds, &node, &session)?;
            print(
                format!("Signed in as {}.", session.member.id),
                &session.member,
            )?;
        }
        Command::Logout => {
            if let Ok(client) = signed_in() {
                match client.logout().await {
                    Ok(()) | Err(ClientError::Api { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            creds.sessions.remove(&node);
            creds.save()?;
            print("Signed out.".to_owned(), &())?;
        }
        Command::Whoami => {
            let me = signed_in()?.me().await?;
            print(
                format!("{} ({}), {} at {node}", me.display_name, me.id, me.role),
                &me,
            )?;
        }
        Command::Export { out } => {
            let client = signed_in()?;
            let me = client.me().await?;
            let bytes = client.export_me().await?;
            let path = save_export(out, &me.username, &bytes)?;
            print(
                format!(
                    "Saved your data to {} ({} bytes). It is personal: keep it somewhere safe.",
                    path.display(),
                    bytes.len()
                ),
                &path,
            )?;
        }
        Command::DeleteAccount { confirm, password } => {
            let client = signed_in()?;
            let password = prompt_secret("Password: ", &password)?;
            let done = client
                .delete_me(&DeleteAccount { password, confirm })
                .await?;
            print(own_deletion_words(&done), &done)?;
        }
        Command::Password { password } => {
            let client = signed_in()?;
            let current = prompt_secret("Current password: ", &password)?;
            let new = read_password(&password, true)?;
            client
                .change_password(&ChangePassword {
                    current_password: current,
                    new_password: new,
                })
                .await?;
            print(
                "Password changed. Your other sessions were signed out.".to_owned(),
                &(),
            )?;
        }
        Command::Rename { display_name } => {
            let me = signed_in()?
                .update_me(&UpdateMe {
                    display_name: Some(display_name),
                    ..UpdateMe::default()
                })
                .await?;
            print(
                format!("Your display name is now {}.", me.display_name),
                &me,
            )?;
        }
        Command::Sessions(SessionsCommand::List) => {
            let sessions = signed_in()?.sessions().await?;
            let lines: Vec<String> = sessions
                .iter()
                .map(|s| {
                    format!(
                        "{}{}  since {}  {}",
                        s.id,
                        if s.current { " (this one)" } else { "" },
                        output::time(s.created_at),
                        s.user_agent.clone().unwrap_or_default()
                    )
                })
                .collect();
            print(lines.join("\n"), &sessions)?;
        }
        Command::Sessions(SessionsCommand::Revoke { id }) => {
            signed_in()?.revoke_session(&id).await?;
            print(format!("Session {id} signed out."), &())?;
        }
        Command::Topics(TopicsCommand::List) => {
            let topics = signed_in()?.topics().await?;
            let text = if topics.is_empty() {
                "No topics yet. A moderator or admin can create one with: kindred-cli topics create NAME".to_owned()
            } else {
                topics
                    .iter()
                    .map(output::topic)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            print(text, &topics)?;
        }
        Command::Topics(TopicsCommand::Create {
            name,
            description,
            org_only,
        }) => {
            let t = signed_in()?
                .create_topic(&CreateTopic {
                    name,
                    description,
                    shared: !org_only,
                })
                .await?;
            print(format!("Created topic {}", output::topic(&t)), &t)?;
        }
        Command::Topics(TopicsCommand::Update {
            name,
            description,
            shared,
        }) => {
            let t = signed_in()?
                .update_topic(
                    &name,
                    &UpdateTopic {
                        description,
                        shared,
                    },
                )
                .await?;
            print(format!("Updated topic {}", output::topic(&t)), &t)?;
        }
        Command::Post {
            topic,
            title,
            body,
            tags,
            cw,
        } => {
            let req = NewPost {
                title,
                body: read_body(&body)?,
                tags,
                content_warning: cw,
            };
            let p = signed_in()?.create_post(&topic, &req).await?;
            print(
                format!("Posted in {}.\n{}", p.topic, output::post(&p, true)),
                &p,
            )?;
        }
        Command::Read {
            topic,
            limit,
            before,
        } => {
            let page = signed_in()?
                .topic_posts(&topic, before.as_deref(), Some(limit))
                .await?;
            let mut text: Vec<String> = page.items.iter().map(|p| output::post(p, false)).collect();
            if page.items.is_empty() {
                text.push(format!("No posts in {topic} yet."));
            }
            if let Some(c) = &page.next_cursor {
                text.push(format!("More: kindred-cli read {topic:?} --before {c}"));
            }
            print(text.join("\n"), &page)?;
        }
        Command::Thread { id, after } => {
            let client = signed_in()?;
            let thread = client
                .thread_page(&post_id(&client, &id).await?, after.as_deref(), None)
                .await?;
            let mut text = vec![output::post(&thread.post, true)];
            for r in &thread.replies {
                text.push(
                    output::post(r, true)
                        .lines()
                        .map(|l| format!("    {l}"))
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            if let Some(c) = &thread.next_cursor {
                text.push(format!("More replies: kindred-cli thread {id} --after {c}"));
            }
            print(text.join("\n"), &thread)?;
        }
        Command::Reply { id, to, body, cw } => {
            let client = signed_in()?;
            let reply_to = match to.as_deref() {
                Some(to) => Some(post_id(&client, to).await?),
                None => None,
            };
            let req = NewReply {
                body: read_body(&body)?,
                reply_to,
                content_warning: cw,
            };
            let r = client.reply(&post_id(&client, &id).await?, &req).await?;
            print(format!("Replied.\n{}", output::post(&r, true)), &r)?;
        }
        Command::React {
            id,
            reaction,
            remove,
        } => {
            let client = signed_in()?;
            let id = post_id(&client, &id).await?;
            let counts = if remove {
                client.unreact(&id, &reaction).await?
            } else {
                client.react(&id, &reaction).await?
            };
            let text: Vec<String> = counts
                .iter()
                .map(|c| format!("{} {}", c.reaction, c.count))
                .collect();
            print(format!("Reactions now: {}", text.join(", ")), &counts)?;
        }
        Command::Edit {
            id,
            title,
            body,
            tags,
            cw,
        } => {
            let req = EditPost {
                title,
                body: read_body(&body)?,
                tags: (!tags.is_empty()).then_some(tags),
                content_warning: cw,
            };
            let client = signed_in()?;
            let p = client.edit(&post_id(&client, &id).await?, &req).await?;
            print(format!("Edited.\n{}", output::post(&p, true)), &p)?;
        }
        Command::Retract { id, reason } => {
            let client = signed_in()?;
            client
                .retract(&post_id(&client, &id).await?, reason)
                .await?;
            print("Retracted. It no longer shows anywhere.".to_owned(), &())?;
        }
        Command::Posts { member, limit } => {
            let page = signed_in()?
                .member_posts(&member, None, Some(limit))
                .await?;
            let text: Vec<String> = page.items.iter().map(|p| output::post(p, false)).collect();
            print(text.join("\n"), &page)?;
        }
        Command::Search { words, limit } => {
            let hits = signed_in()?.search(&words.join(" "), Some(limit)).await?;
            let text = if hits.is_empty() {
                "Nothing found.".to_owned()
            } else {
                hits.iter()
                    .map(|h| output::post(&h.post, false))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            print(text, &hits)?;
        }
        Command::Follow => {
            let mut stream = signed_in()?.stream().await?;
            while let Some(message) = stream.next().await {
                let message = message?;
                print(output::live(&message), &message)?;
            }
            eprintln!("The node closed the stream.");
        }
        Command::Invites(InvitesCommand::Create { role, note }) => {
            let invite = signed_in()?
                .create_invite(&CreateInvite {
                    role: Some(role.into()),
                    note,
                })
                .await?;
            print(
                format!(
                    "Invite for a {}, valid until {}:\n  {}\nThey can open the link, or run: kindred-cli --node {node} join {} --username NAME",
                    invite.role,
                    output::time(invite.expires_at),
                    invite.link,
                    invite.code
                ),
                &invite,
            )?;
        }
        Command::Invites(InvitesCommand::List) => {
            let invites = signed_in()?.invites().await?;
            let lines: Vec<String> = invites
                .iter()
                .map(|i| {
                    let state = match (&i.used_by, i.revoked) {
                        (Some(m), _) => format!("used by {m}"),
                        (None, true) => "revoked".to_owned(),
                        (None, false) if i.expires_at.as_millis() <= now_ms() => {
                            "expired".to_owned()
                        }
                        (None, false) => format!("open until {}", output::time(i.expires_at)),
                    };
                    let mut line = format!(
                        "{}  {}  {state}  {}",
                        i.id,
                        i.role,
                        i.note.clone().unwrap_or_default()
                    );
                    if let Some(link) = &i.link {
                        line.push_str(&format!("\n    link to send: {link}"));
                    }
                    line
                })
                .collect();
            print(lines.join("\n"), &invites)?;
        }
        Command::Invites(InvitesCommand::Revoke { id }) => {
            signed_in()?.revoke_invite(&id).await?;
            print(format!("Invite {id} revoked."), &())?;
        }
        Command::Peers(PeersCommand::Invite) => {
            let invite = signed_in()?.create_peer_invite().await?;
            print(
                format!(
                    "Give this token to the other organisation's admin (treat it like a password; it works once, until {}):\n\n{}\n\nThey run: kindred-cli peers add <token>",
                    output::time(invite.expires_at),
                    invite.token
                ),
                &invite,
            )?;
        }
        Command::Peers(PeersCommand::Add { token }) => {
            let peer = signed_in()?.add_peer(&token).await?;
            print(
                format!("Paired with {} ({}).", peer.name, peer.node_id),
                &peer,
            )?;
        }
        Command::Peers(PeersCommand::List) => {
            let client = signed_in()?;
            let peers = client.peers().await?;
            let warnings = client.federation_warnings().await?;
            let mut text = if peers.is_empty() {
                "No paired nodes yet. Create an invite with: kindred-cli peers invite".to_owned()
            } else {
                peers
                    .iter()
                    .map(output::peer)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            if !warnings.is_empty() {
                text.push_str("\n\nWarnings:\n");
                text.push_str(
                    &warnings
                        .iter()
                        .map(output::warning)
                        .collect::<Vec<_>>()
                        .join("\n"),
                );
            }
            print(text, &peers)?;
        }
        Command::Peers(PeersCommand::Block { target }) => {
            let client = signed_in()?;
            let who = peer_named(&client, &target).await?;
            client.block_peer_named(&who.key).await?;
            print(
                format!(
                    "Blocked {}. Its link is closed and its posts are hidden.",
                    who.label
                ),
                &(),
            )?;
        }
        Command::Peers(PeersCommand::Decisions { target, policy }) => {
            let client = signed_in()?;
            let who = peer_named(&client, &target).await?;
            let policy = match policy {
                PolicyArg::Adopt => DecisionPolicy::Adopt,
                PolicyArg::Review => DecisionPolicy::Review,
                PolicyArg::Ignore => DecisionPolicy::Ignore,
            };
            let set = client.set_peer_decisions(&who.key, policy).await?;
            let what = match set.policy {
                DecisionPolicy::Adopt => "are followed here: what they hide is hidden here too",
                DecisionPolicy::Review => "go to the review queue",
                DecisionPolicy::Ignore => "are ignored",
            };
            print(format!("{}'s shared decisions {what}.", who.label), &set)?;
        }
        Command::Peers(PeersCommand::Unblock { target }) => {
            let client = signed_in()?;
            let who = peer_named(&client, &target).await?;
            client.unblock_peer_named(&who.key).await?;
            print(format!("Unblocked {}.", who.label), &())?;
        }
        Command::People(PeopleCommand::Search { words, after }) => {
            let query = words.join(" ");
            let client = signed_in()?;
            let page = client
                .people_page(
                    (!query.is_empty()).then_some(query.as_str()),
                    after.as_deref(),
                    None,
                )
                .await?;
            let me = creds.sessions.get(&node).map(|s| s.member.clone());
            let people = &page.items;
            let mut lines: Vec<String> = people
                .iter()
                .map(|p| {
                    let you = if me.as_deref() == Some(p.member.as_str()) {
                        " (you)"
                    } else {
                        ""
                    };
                    format!(
                        "{}{you} ({}, {})\n    {}",
                        p.display_name, p.member, p.organisation, p.happy_to_talk_about
                    )
                })
                .collect();
            if let Some(c) = &page.next_cursor {
                let words = if query.is_empty() {
                    String::new()
                } else {
                    format!("{query:?} ")
                };
                lines.push(format!(
                    "More: kindred-cli people search {words}--after {c}"
                ));
            }
            let text = if people.is_empty() {
                "Nobody found.".to_owned()
            } else {
                lines.join("\n")
            };
            print(text, &page)?;
        }
        Command::People(PeopleCommand::Show { member }) => {
            let p = signed_in()?.person(&parse_member(&member)?).await?;
            let mut text = format!("{} ({}), {}", p.display_name, p.member, p.organisation);
            if !p.happy_to_talk_about.is_empty() {
                text.push_str(&format!(
                    "\n    happy to talk about: {}",
                    p.happy_to_talk_about
                ));
            }
            text.push_str(if p.can_message {
                "\n    takes messages: kindred-cli chat send <member> --body ..."
            } else {
                "\n    not in the people directory, so not taking new messages"
            });
            print(text.replace("<member>", p.member.as_str()), &p)?;
        }
        Command::People(cmd @ (PeopleCommand::Join { .. } | PeopleCommand::Leave)) => {
            let (listed, about) = match cmd {
                PeopleCommand::Join { about } => (true, about),
                _ => (false, None),
            };
            let me = signed_in()?
                .update_me(&UpdateMe {
                    listed: Some(listed),
                    happy_to_talk_about: about,
                    ..UpdateMe::default()
                })
                .await?;
            let text = if me.listed {
                "You are listed in the people directory.".to_owned()
            } else {
                "You are not listed in the people directory.".to_owned()
            };
            print(text, &me)?;
        }
        Command::Chat(ChatCommand::List) => {
            let conversations = signed_in()?.conversations().await?;
            let lines: Vec<String> = conversations.iter().map(output::conversation).collect();
            let text = if lines.is_empty() {
                "No conversations yet. Start one with: kindred-cli chat open @name:node".to_owned()
            } else {
                lines.join("\n")
            };
            print(text, &conversations)?;
        }
        Command::Chat(ChatCommand::Open { with }) => {
            let c = signed_in()?
                .create_conversation(&CreateConversation {
                    members: vec![parse_member(&with)?],
                    name: None,
                })
                .await?;
            print(output::conversation(&c), &c)?;
        }
        Command::Chat(ChatCommand::Send { to, body, reply_to }) => {
            let client = signed_in()?;
            let id = conversation_for(&client, &to).await?;
            let reply_to = reply_to.as_deref().map(parse_id).transpose()?;
            let m = client
                .post_message(
                    &id,
                    &NewMessage {
                        body: read_body(&body)?,
                        reply_to,
                    },
                )
                .await?;
            print("Sent.".to_owned(), &m)?;
        }
        Command::Chat(ChatCommand::Read { with, limit }) => {
            let client = signed_in()?;
            let id = conversation_for(&client, &with).await?;
            let page = client.history(&id, None, Some(limit)).await?;
            let mut messages = page.items.clone();
            messages.reverse();
            if let Some(last) = messages.last() {
                client.mark_read(&id, &last.id).await?;
            }
            let lines: Vec<String> = messages.iter().map(output::message).collect();
            let text = if lines.is_empty() {
                "No messages yet.".to_owned()
            } else {
                lines.join("\n")
            };
            print(text, &messages)?;
        }
        Command::Chat(ChatCommand::Follow) => {
            let mut stream = signed_in()?.stream().await?;
            while let Some(message) = stream.next().await {
                let message = message?;
                if let Some(text) = output::chat_live(&message) {
                    print(text, &message)?;
                }
            }
            eprintln!("The node closed the stream.");
        }
        Command::Chat(ChatCommand::Block { member, undo }) => {
            let who = parse_member(&member)?;
            if undo {
                signed_in()?.unblock_member(&who).await?;
                print(format!("Unblocked {who}."), &())?;
            } else {
                signed_in()?.block_member(&who).await?;
                print(
                    format!("Blocked {who}. Nothing from them will reach you; they are not told."),
                    &(),
                )?;
            }
        }
        Command::Chat(ChatCommand::Mute { conversation, undo }) => {
            let c = signed_in()?
                .update_conversation(
                    &parse_conversation(&conversation)?,
                    &UpdateConversation {
                        name: None,
                        muted: Some(!undo),
                    },
                )
                .await?;
            print(output::conversation(&c), &c)?;
        }
        Command::Chat(ChatCommand::ReadMarkers { setting }) => {
            let me = signed_in()?
                .update_me(&UpdateMe {
                    read_markers: Some(setting == "on"),
                    ..UpdateMe::default()
                })
                .await?;
            let text = if me.read_markers {
                "Others in your conversations can see how far you have read."
            } else {
                "Your read position is no longer shared."
            };
            print(text.to_owned(), &me)?;
        }
        Command::Chat(ChatCommand::Group(GroupCommand::Create { name, members })) => {
            let members = members
                .iter()
                .map(|m| parse_member(m))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let c = signed_in()?
                .create_conversation(&CreateConversation {
                    members,
                    name: Some(name),
                })
                .await?;
            print(output::conversation(&c), &c)?;
        }
        Command::Chat(ChatCommand::Group(GroupCommand::Add {
            conversation,
            member,
            admin,
        })) => {
            let c = signed_in()?
                .add_participant(
                    &parse_conversation(&conversation)?,
                    &parse_member(&member)?,
                    admin,
                )
                .await?;
            print(output::conversation(&c), &c)?;
        }
        Command::Chat(ChatCommand::Group(GroupCommand::Remove {
            conversation,
            member,
        })) => {
            signed_in()?
                .remove_participant(&parse_conversation(&conversation)?, &parse_member(&member)?)
                .await?;
            print(format!("Removed {member}."), &())?;
        }
        Command::Chat(ChatCommand::Group(GroupCommand::Leave { conversation })) => {
            let client = signed_in()?;
            let me = client.me().await?;
            client
                .remove_participant(&parse_conversation(&conversation)?, &me.id)
                .await?;
            print("You left the group.".to_owned(), &())?;
        }
        Command::Notifications {
            before,
            keep_unread,
        } => super::notifications::list(&signed_in()?, before, keep_unread, &print).await?,
        Command::Email(cmd) => super::notifications::email(&signed_in()?, cmd, &print).await?,
        Command::Report { what, reason, note } => {
            let client = signed_in()?;
            let target = super::moderation::target(&client, &what).await?;
            super::moderation::report(&client, target, reason, note, &print).await?
        }
        Command::Moderation(cmd) => {
            super::moderation::moderation(&signed_in()?, cmd, &print).await?
        }
        Command::Safety(cmd) => super::moderation::safety(&signed_in()?, cmd, &print).await?,
        Command::Safeguarding(cmd) => {
            super::moderation::safeguarding(&signed_in()?, cmd, &print).await?
        }
        Command::Appeal {
            username,
            note,
            password,
        } => {
            let password = read_password(&password, false)?;
            let device = creds.devices.get(&device_key(&node, &username)).cloned();
            anon.appeal_signed_out(&SignedOutAppeal {
                credentials: LoginRequest {
                    username,
                    password,
                    device,
                },
                note,
            })
            .await?;
            print(
                "Your request for a review is with the moderators. Try signing in again later."
                    .to_owned(),
                &(),
            )?;
        }
        Command::Standing { appeal } => {
            super::moderation::standing(&signed_in()?, appeal, &print).await?
        }
        Command::Mentor(cmd) => super::mentoring::mentor(&signed_in()?, cmd, &print).await?,
        Command::Buddy(cmd) => super::mentoring::buddy(&signed_in()?, cmd, &print).await?,
        Command::Matches(cmd) => super::mentoring::matches(&signed_in()?, cmd, &print).await?,
        Command::Cohort(cmd) => super::mentoring::cohort(&signed_in()?, cmd, &print).await?,
        Command::Mentoring(MentoringCommand::Dashboard { csv: true }) => {
            let csv = signed_in()?.dashboard_csv().await?;
            say(csv.trim_end());
        }
        Command::Mentoring(MentoringCommand::Dashboard { csv: false }) => {
            let d = signed_in()?.dashboard().await?;
            print(super::mentoring::dashboard_text(&d), &d)?;
        }
        Command::Members(MembersCommand::List) => {
            let members = signed_in()?.members().await?;
            let lines: Vec<String> = members
                .iter()
                .map(|m| {
                    let deleting = m
                        .deletion_due_at
                        .map(|at| format!("  BEING DELETED on {}", output::time(at)))
                        .unwrap_or_default();
                    format!(
                        "{}  {}  {}{}{deleting}",
                        m.id,
                        m.display_name,
                        m.role,
                        if m.suspended && m.deletion_due_at.is_none() {
                            "  SUSPENDED"
                        } else {
                            ""
                        }
                    )
                })
                .collect();
            print(lines.join("\n"), &members)?;
        }
        Command::Members(MembersCommand::Role { username, role }) => {
            let m = update_member(&signed_in()?, &username, Some(role.into()), None).await?;
            print(format!("{} is now {}.", m.id, m.role), &m)?;
        }
        Command::Members(MembersCommand::Suspend { username }) => {
            let m = update_member(&signed_in()?, &username, None, Some(true)).await?;
            print(format!("{} is suspended and signed out.", m.id), &m)?;
        }
        Command::Members(MembersCommand::Reinstate { username }) => {
            let m = update_member(&signed_in()?, &username, None, Some(false)).await?;
            print(format!("{} is reinstated.", m.id), &m)?;
        }
        Command::Members(MembersCommand::Delete { username, confirm }) => {
            let done = signed_in()?
                .delete_member(&username, &DeleteMember { confirm })
                .await?;
            print(deletion_words(&done), &done)?;
        }
        Command::Members(MembersCommand::Export { username, out }) => {
            let bytes = signed_in()?.export_member(&username).await?;
            let path = save_export(out, &username, &bytes)?;
            print(
                format!(
                    "Saved {username}'s data to {} ({} bytes). It is personal: give it only to them.",
                    path.display(),
                    bytes.len()
                ),
                &path,
            )?;
        }
        Command::Members(MembersCommand::StopDeletion { username }) => {
            signed_in()?.stop_deletion(&username).await?;
            print(format!("{username}'s account will not be deleted."), &())?;
        }
        Command::Members(MembersCommand::ResetLink { username }) => {
            let r = signed_in()?.reset_link(&username).await?;
            print(
                format!(
                    "Give this link to {} (and only to them): it lets them choose a new password, once, until {}.\n{}",
                    r.username,
                    output::time(r.expires_at),
                    r.link
                ),
                &r,
            )?;
        }
    }
    Ok(())
}

async fn update_member(
    client: &Client,
    username: &str,
    role: Option<Role>,
    suspended: Option<bool>,
) -> Result<MemberView, ClientError> {
    client
        .update_member(username, &UpdateMember { role, suspended })
        .await
}

fn remember(creds: &mut Credentials, node: &str, session: &SessionCreated) -> anyhow::Result<()> {
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
struct Named {
    /// Its id, or the name for the node to look up.
    key: String,
    /// "name (id)" when known.
    label: String,
}

/// A node given by its id (64 hex characters) or its name: a paired node as `peers list`
/// shows it, or another node of the federation, which the node looks up by name.
async fn peer_named(client: &Client, text: &str) -> anyhow::Result<Named> {
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

fn parse_conversation(text: &str) -> anyhow::Result<kindred_protocol::event::ConversationId> {
    text.trim()
        .parse()
        .with_context(|| format!("{text:?} is not a conversation id (32 hex characters)"))
}

/// A conversation id as given, or the one-to-one conversation with a member id.
async fn conversation_for(
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

fn read_body(args: &BodyArgs) -> anyhow::Result<String> {
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

fn prompt_secret(prompt: &str, args: &PasswordArgs) -> anyhow::Result<String> {
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
fn save_export(
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

fn own_deletion_words(done: &AccountDeletion) -> String {
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

fn deletion_words(done: &AccountDeletion) -> String {
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

fn read_password(args: &PasswordArgs, new: bool) -> anyhow::Result<String> {
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
fn say(text: &str) {
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

fn now_ms() -> u64 {
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
mod printable_tests {
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
