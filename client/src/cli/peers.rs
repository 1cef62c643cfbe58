//! Federation commands (admins): pairing, peers and their links, blocks and shared
//! moderation decisions.

use kindred_protocol::api::*;

use super::args::*;
use super::commands::*;
use super::output;

/// Runs the command if it is one of these; gives any other back.
pub(crate) async fn run(ctx: &mut Ctx, command: Command) -> anyhow::Result<Option<Command>> {
    match command {
        Command::Peers(PeersCommand::Invite) => {
            let invite = ctx.signed_in()?.create_peer_invite().await?;
            ctx.print(
                format!(
                    "Give this token to the other organisation's admin (treat it like a password; it works once, until {}):\n\n{}\n\nThey run: kindred-cli peers add <token>",
                    output::time(invite.expires_at),
                    invite.token
                ),
                &invite,
            )?;
        }
        Command::Peers(PeersCommand::Add { token }) => {
            let peer = ctx.signed_in()?.add_peer(&token).await?;
            ctx.print(
                format!("Paired with {} ({}).", peer.name, peer.node_id),
                &peer,
            )?;
        }
        Command::Peers(PeersCommand::List) => {
            let client = ctx.signed_in()?;
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
            ctx.print(text, &peers)?;
        }
        Command::Peers(PeersCommand::Block { target }) => {
            let client = ctx.signed_in()?;
            let who = peer_named(&client, &target).await?;
            client.block_peer_named(&who.key).await?;
            ctx.print(
                format!(
                    "Blocked {}. Its link is closed and its posts are hidden.",
                    who.label
                ),
                &(),
            )?;
        }
        Command::Peers(PeersCommand::Decisions { target, policy }) => {
            let client = ctx.signed_in()?;
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
            ctx.print(format!("{}'s shared decisions {what}.", who.label), &set)?;
        }
        Command::Peers(PeersCommand::Unblock { target }) => {
            let client = ctx.signed_in()?;
            let who = peer_named(&client, &target).await?;
            client.unblock_peer_named(&who.key).await?;
            ctx.print(format!("Unblocked {}.", who.label), &())?;
        }
        other => return Ok(Some(other)),
    }
    Ok(None)
}
