//! Peer-learning commands: topics, posts, threads, replies, reactions, edits, take-downs, a
//! member's posts, search and following new posts.

use kindred_protocol::api::*;

use super::args::*;
use super::commands::*;
use super::output;

/// Runs the command if it is one of these; gives any other back.
pub(crate) async fn run(ctx: &mut Ctx, command: Command) -> anyhow::Result<Option<Command>> {
    match command {
        Command::Topics(TopicsCommand::List) => {
            let topics = ctx.signed_in()?.topics().await?;
            let text = if topics.is_empty() {
                "No topics yet. A moderator or admin can create one with: kindred-cli topics create NAME".to_owned()
            } else {
                topics
                    .iter()
                    .map(output::topic)
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            ctx.print(text, &topics)?;
        }
        Command::Topics(TopicsCommand::Create {
            name,
            description,
            org_only,
        }) => {
            let t = ctx
                .signed_in()?
                .create_topic(&CreateTopic {
                    name,
                    description,
                    shared: !org_only,
                })
                .await?;
            ctx.print(format!("Created topic {}", output::topic(&t)), &t)?;
        }
        Command::Topics(TopicsCommand::Update {
            name,
            description,
            shared,
        }) => {
            let t = ctx
                .signed_in()?
                .update_topic(
                    &name,
                    &UpdateTopic {
                        description,
                        shared,
                    },
                )
                .await?;
            ctx.print(format!("Updated topic {}", output::topic(&t)), &t)?;
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
            let p = ctx.signed_in()?.create_post(&topic, &req).await?;
            ctx.print(
                format!("Posted in {}.\n{}", p.topic, output::post(&p, true)),
                &p,
            )?;
        }
        Command::Read {
            topic,
            limit,
            before,
        } => {
            let page = ctx
                .signed_in()?
                .topic_posts(&topic, before.as_deref(), Some(limit))
                .await?;
            let mut text: Vec<String> = page.items.iter().map(|p| output::post(p, false)).collect();
            if page.items.is_empty() {
                text.push(format!("No posts in {topic} yet."));
            }
            if let Some(c) = &page.next_cursor {
                text.push(format!("More: kindred-cli read {topic:?} --before {c}"));
            }
            ctx.print(text.join("\n"), &page)?;
        }
        Command::Thread { id, after } => {
            let client = ctx.signed_in()?;
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
            ctx.print(text.join("\n"), &thread)?;
        }
        Command::Reply { id, to, body, cw } => {
            let client = ctx.signed_in()?;
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
            ctx.print(format!("Replied.\n{}", output::post(&r, true)), &r)?;
        }
        Command::React {
            id,
            reaction,
            remove,
        } => {
            let client = ctx.signed_in()?;
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
            ctx.print(format!("Reactions now: {}", text.join(", ")), &counts)?;
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
            let client = ctx.signed_in()?;
            let p = client.edit(&post_id(&client, &id).await?, &req).await?;
            ctx.print(format!("Edited.\n{}", output::post(&p, true)), &p)?;
        }
        Command::Retract { id, reason } => {
            let client = ctx.signed_in()?;
            client
                .retract(&post_id(&client, &id).await?, reason)
                .await?;
            ctx.print("Retracted. It no longer shows anywhere.".to_owned(), &())?;
        }
        Command::Posts { member, limit } => {
            let page = ctx
                .signed_in()?
                .member_posts(&member, None, Some(limit))
                .await?;
            let text: Vec<String> = page.items.iter().map(|p| output::post(p, false)).collect();
            ctx.print(text.join("\n"), &page)?;
        }
        Command::Search { words, limit } => {
            let hits = ctx
                .signed_in()?
                .search(&words.join(" "), Some(limit))
                .await?;
            let text = if hits.is_empty() {
                "Nothing found.".to_owned()
            } else {
                hits.iter()
                    .map(|h| output::post(&h.post, false))
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            ctx.print(text, &hits)?;
        }
        Command::Follow => super::follow::follow(ctx, false).await?,
        other => return Ok(Some(other)),
    }
    Ok(None)
}
