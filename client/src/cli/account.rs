//! Account commands: set-up, joining, signing in and out, one's own account, sessions,
//! invites and members (admins).

use kindred_client::ClientError;
use kindred_protocol::api::*;

use super::args::*;
use super::commands::*;
use super::credentials::device_key;
use super::output;

/// Runs the command if it is one of these; gives any other back.
pub(crate) async fn run(ctx: &mut Ctx, command: Command) -> anyhow::Result<Option<Command>> {
    match command {
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
            let (_, session) = ctx.anon.setup(&req).await?;
            remember(&mut ctx.creds, &ctx.node, &session)?;
            ctx.print(
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
            let (_, session) = ctx.anon.redeem_invite(&req).await?;
            remember(&mut ctx.creds, &ctx.node, &session)?;
            ctx.print(
                format!(
                    "Welcome, {}. Your account is {} and you are signed in.",
                    session.member.display_name, session.member.id
                ),
                &session.member,
            )?;
        }
        Command::Login { username, password } => {
            let password = read_password(&password, false)?;
            let device = ctx
                .creds
                .devices
                .get(&device_key(&ctx.node, &username))
                .cloned();
            let (_, session) = ctx
                .anon
                .login_on_device(&username, &password, device.as_deref())
                .await?;
            remember(&mut ctx.creds, &ctx.node, &session)?;
            ctx.print(
                format!("Signed in as {}.", session.member.id),
                &session.member,
            )?;
        }
        Command::Logout => {
            if let Ok(client) = ctx.signed_in() {
                match client.logout().await {
                    Ok(()) | Err(ClientError::Api { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            ctx.creds.sessions.remove(&ctx.node);
            ctx.creds.save()?;
            ctx.print("Signed out.".to_owned(), &())?;
        }
        Command::Whoami => {
            let me = ctx.signed_in()?.me().await?;
            ctx.print(
                format!(
                    "{} ({}), {} at {}",
                    me.display_name, me.id, me.role, ctx.node
                ),
                &me,
            )?;
        }
        Command::Export { out } => {
            let client = ctx.signed_in()?;
            let me = client.me().await?;
            let bytes = client.export_me().await?;
            let path = save_export(out, &me.username, &bytes)?;
            ctx.print(
                format!(
                    "Saved your data to {} ({} bytes). It is personal: keep it somewhere safe.",
                    path.display(),
                    bytes.len()
                ),
                &path,
            )?;
        }
        Command::DeleteAccount { confirm, password } => {
            let client = ctx.signed_in()?;
            let password = prompt_secret("Password: ", &password)?;
            let done = client
                .delete_me(&DeleteAccount { password, confirm })
                .await?;
            ctx.print(own_deletion_words(&done), &done)?;
        }
        Command::Password { password } => {
            let client = ctx.signed_in()?;
            let current = prompt_secret("Current password: ", &password)?;
            let new = read_password(&password, true)?;
            client
                .change_password(&ChangePassword {
                    current_password: current,
                    new_password: new,
                })
                .await?;
            ctx.print(
                "Password changed. Your other sessions were signed out.".to_owned(),
                &(),
            )?;
        }
        Command::Rename { display_name } => {
            let me = ctx
                .signed_in()?
                .update_me(&UpdateMe {
                    display_name: Some(display_name),
                    ..UpdateMe::default()
                })
                .await?;
            ctx.print(
                format!("Your display name is now {}.", me.display_name),
                &me,
            )?;
        }
        Command::Sessions(SessionsCommand::List) => {
            let sessions = ctx.signed_in()?.sessions().await?;
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
            ctx.print(lines.join("\n"), &sessions)?;
        }
        Command::Sessions(SessionsCommand::Revoke { id }) => {
            ctx.signed_in()?.revoke_session(&id).await?;
            ctx.print(format!("Session {id} signed out."), &())?;
        }
        Command::Invites(InvitesCommand::Create { role, note }) => {
            let invite = ctx
                .signed_in()?
                .create_invite(&CreateInvite {
                    role: Some(role.into()),
                    note,
                })
                .await?;
            ctx.print(
                format!(
                    "Invite for a {}, valid until {}:\n  {}\nThey can open the link, or run: kindred-cli --node {} join {} --username NAME",
                    invite.role,
                    output::time(invite.expires_at),
                    invite.link,
                    ctx.node,
                    invite.code
                ),
                &invite,
            )?;
        }
        Command::Invites(InvitesCommand::List) => {
            let invites = ctx.signed_in()?.invites().await?;
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
            ctx.print(lines.join("\n"), &invites)?;
        }
        Command::Invites(InvitesCommand::Revoke { id }) => {
            ctx.signed_in()?.revoke_invite(&id).await?;
            ctx.print(format!("Invite {id} revoked."), &())?;
        }
        Command::Members(MembersCommand::List) => {
            let members = ctx.signed_in()?.members().await?;
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
            ctx.print(lines.join("\n"), &members)?;
        }
        Command::Members(MembersCommand::Role { username, role }) => {
            let m = update_member(&ctx.signed_in()?, &username, Some(role.into()), None).await?;
            ctx.print(format!("{} is now {}.", m.id, m.role), &m)?;
        }
        Command::Members(MembersCommand::Suspend { username }) => {
            let m = update_member(&ctx.signed_in()?, &username, None, Some(true)).await?;
            ctx.print(format!("{} is suspended and signed out.", m.id), &m)?;
        }
        Command::Members(MembersCommand::Reinstate { username }) => {
            let m = update_member(&ctx.signed_in()?, &username, None, Some(false)).await?;
            ctx.print(format!("{} is reinstated.", m.id), &m)?;
        }
        Command::Members(MembersCommand::Delete { username, confirm }) => {
            let done = ctx
                .signed_in()?
                .delete_member(&username, &DeleteMember { confirm })
                .await?;
            ctx.print(deletion_words(&done), &done)?;
        }
        Command::Members(MembersCommand::Export { username, out }) => {
            let bytes = ctx.signed_in()?.export_member(&username).await?;
            let path = save_export(out, &username, &bytes)?;
            ctx.print(
                format!(
                    "Saved {username}'s data to {} ({} bytes). It is personal: give it only to them.",
                    path.display(),
                    bytes.len()
                ),
                &path,
            )?;
        }
        Command::Members(MembersCommand::StopDeletion { username }) => {
            ctx.signed_in()?.stop_deletion(&username).await?;
            ctx.print(format!("{username}'s account will not be deleted."), &())?;
        }
        Command::Members(MembersCommand::ResetLink { username }) => {
            let r = ctx.signed_in()?.reset_link(&username).await?;
            ctx.print(
                format!(
                    "Give this link to {} (and only to them): it lets them choose a new password, once, until {}.\n{}",
                    r.username,
                    output::time(r.expires_at),
                    r.link
                ),
                &r,
            )?;
        }
        other => return Ok(Some(other)),
    }
    Ok(None)
}
