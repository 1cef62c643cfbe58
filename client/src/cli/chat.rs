//! People and chat commands: the directory, one's listing, conversations, messages, blocks,
//! muting, read markers and groups.

use kindred_protocol::api::*;

use super::args::*;
use super::commands::*;
use super::output;

/// Runs the command if it is one of these; gives any other back.
pub(crate) async fn run(ctx: &mut Ctx, command: Command) -> anyhow::Result<Option<Command>> {
    match command {
        Command::People(PeopleCommand::Search { words, after }) => {
            let query = words.join(" ");
            let client = ctx.signed_in()?;
            let page = client
                .people_page(
                    (!query.is_empty()).then_some(query.as_str()),
                    after.as_deref(),
                    None,
                )
                .await?;
            let me = ctx.creds.sessions.get(&ctx.node).map(|s| s.member.clone());
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
            ctx.print(text, &page)?;
        }
        Command::People(PeopleCommand::Show { member }) => {
            let p = ctx.signed_in()?.person(&parse_member(&member)?).await?;
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
            ctx.print(text.replace("<member>", p.member.as_str()), &p)?;
        }
        Command::People(cmd @ (PeopleCommand::Join { .. } | PeopleCommand::Leave)) => {
            let (listed, about) = match cmd {
                PeopleCommand::Join { about } => (true, about),
                _ => (false, None),
            };
            let me = ctx
                .signed_in()?
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
            ctx.print(text, &me)?;
        }
        Command::Chat(ChatCommand::List) => {
            let conversations = ctx.signed_in()?.conversations().await?;
            let lines: Vec<String> = conversations.iter().map(output::conversation).collect();
            let text = if lines.is_empty() {
                "No conversations yet. Start one with: kindred-cli chat open @name:node".to_owned()
            } else {
                lines.join("\n")
            };
            ctx.print(text, &conversations)?;
        }
        Command::Chat(ChatCommand::Open { with }) => {
            let c = ctx
                .signed_in()?
                .create_conversation(&CreateConversation {
                    members: vec![parse_member(&with)?],
                    name: None,
                })
                .await?;
            ctx.print(output::conversation(&c), &c)?;
        }
        Command::Chat(ChatCommand::Send { to, body, reply_to }) => {
            let client = ctx.signed_in()?;
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
            ctx.print("Sent.".to_owned(), &m)?;
        }
        Command::Chat(ChatCommand::Read { with, limit }) => {
            let client = ctx.signed_in()?;
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
            ctx.print(text, &messages)?;
        }
        Command::Chat(ChatCommand::Follow) => super::follow::follow(ctx, true).await?,
        Command::Chat(ChatCommand::Block { member, undo }) => {
            let who = parse_member(&member)?;
            if undo {
                ctx.signed_in()?.unblock_member(&who).await?;
                ctx.print(format!("Unblocked {who}."), &())?;
            } else {
                ctx.signed_in()?.block_member(&who).await?;
                ctx.print(
                    format!("Blocked {who}. Nothing from them will reach you; they are not told."),
                    &(),
                )?;
            }
        }
        Command::Chat(ChatCommand::Mute { conversation, undo }) => {
            let c = ctx
                .signed_in()?
                .update_conversation(
                    &parse_conversation(&conversation)?,
                    &UpdateConversation {
                        name: None,
                        muted: Some(!undo),
                    },
                )
                .await?;
            ctx.print(output::conversation(&c), &c)?;
        }
        Command::Chat(ChatCommand::ReadMarkers { setting }) => {
            let me = ctx
                .signed_in()?
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
            ctx.print(text.to_owned(), &me)?;
        }
        Command::Chat(ChatCommand::Group(GroupCommand::Create { name, members })) => {
            let members = members
                .iter()
                .map(|m| parse_member(m))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let c = ctx
                .signed_in()?
                .create_conversation(&CreateConversation {
                    members,
                    name: Some(name),
                })
                .await?;
            ctx.print(output::conversation(&c), &c)?;
        }
        Command::Chat(ChatCommand::Group(GroupCommand::Add {
            conversation,
            member,
            admin,
        })) => {
            let c = ctx
                .signed_in()?
                .add_participant(
                    &parse_conversation(&conversation)?,
                    &parse_member(&member)?,
                    admin,
                )
                .await?;
            ctx.print(output::conversation(&c), &c)?;
        }
        Command::Chat(ChatCommand::Group(GroupCommand::Remove {
            conversation,
            member,
        })) => {
            ctx.signed_in()?
                .remove_participant(&parse_conversation(&conversation)?, &parse_member(&member)?)
                .await?;
            ctx.print(format!("Removed {member}."), &())?;
        }
        Command::Chat(ChatCommand::Group(GroupCommand::Leave { conversation })) => {
            let client = ctx.signed_in()?;
            let me = client.me().await?;
            client
                .remove_participant(&parse_conversation(&conversation)?, &me.id)
                .await?;
            ctx.print("You left the group.".to_owned(), &())?;
        }
        other => return Ok(Some(other)),
    }
    Ok(None)
}
