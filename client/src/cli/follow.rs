//! `kindred-cli follow` and `kindred-cli chat follow`: print live updates as they come.
//!
//! When the node says the stream fell behind during a burst (`resync`), what was skipped
//! is read again from the API instead of being lost: conversations with unread messages
//! (their newest unread, up to [`CATCH_UP_MOST`] each), and for `follow` the topics whose
//! post count grew since they were last looked at (their newest posts, up to the same).
//! Anything already printed is not printed twice.

use std::collections::{HashMap, HashSet, VecDeque};

use kindred_client::Client;
use kindred_protocol::EventId;
use kindred_protocol::api::{MessageView, PostView, StreamMessage};

use super::commands::Ctx;
use super::output;

/// Most messages (per conversation) or posts (per topic) read again after a resync.
const CATCH_UP_MOST: u64 = 100;
/// Ids remembered as printed, so a catch-up does not print them twice.
const REMEMBERED: usize = 10_000;

/// Ids printed lately, oldest forgotten first.
#[derive(Default)]
struct Printed {
    ids: HashSet<EventId>,
    order: VecDeque<EventId>,
}

impl Printed {
    /// Records `id`; false if it was printed already.
    fn first_time(&mut self, id: EventId) -> bool {
        if !self.ids.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > REMEMBERED
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        true
    }
}

/// Follows the live stream until the node closes it; `chat_only` prints only chat.
pub(crate) async fn follow(ctx: &Ctx, chat_only: bool) -> anyhow::Result<()> {
    let client = ctx.signed_in()?;
    let mut stream = client.stream().await?;
    let mut printed = Printed::default();
    // Each topic's post count when last looked at (`follow` only).
    let mut counts = if chat_only {
        HashMap::new()
    } else {
        topic_counts(&client).await?
    };
    while let Some(message) = stream.next().await {
        let message = message?;
        if let StreamMessage::Resync { missed, posts_only } = message {
            if chat_only && posts_only {
                // Only posts were skipped, and chat was all sent.
                continue;
            }
            eprintln!(
                "The node was busy and skipped {missed} live updates; reading what you missed."
            );
            // A passing failure to read them is said, and following goes on.
            if !posts_only {
                match missed_messages(&client).await {
                    Ok(messages) => {
                        for m in messages {
                            if printed.first_time(m.id) {
                                show(ctx, &StreamMessage::Message { message: m }, chat_only)?;
                            }
                        }
                    }
                    Err(e) => eprintln!("Could not read the messages you missed: {e}"),
                }
            }
            if !chat_only {
                match missed_posts(&client, &mut counts).await {
                    Ok(posts) => {
                        for p in posts {
                            if printed.first_time(p.id) {
                                show(ctx, &StreamMessage::New { post: p }, chat_only)?;
                            }
                        }
                    }
                    Err(e) => eprintln!("Could not read the posts you missed: {e}"),
                }
            }
            continue;
        }
        match &message {
            StreamMessage::Message { message: m } if !printed.first_time(m.id) => continue,
            StreamMessage::New { post: p } => {
                if !printed.first_time(p.id) {
                    continue;
                }
                if let Some(n) = counts.get_mut(&p.topic) {
                    *n += u64::from(p.reply_to.is_none());
                }
            }
            _ => {}
        }
        show(ctx, &message, chat_only)?;
    }
    eprintln!("The node closed the stream.");
    Ok(())
}

fn show(ctx: &Ctx, message: &StreamMessage, chat_only: bool) -> anyhow::Result<()> {
    if chat_only {
        if let Some(text) = output::chat_live(message) {
            ctx.print(text, message)?;
        }
        Ok(())
    } else {
        ctx.print(output::live(message), message)
    }
}

/// The unread messages of every conversation (newest [`CATCH_UP_MOST`] each), oldest first.
async fn missed_messages(client: &Client) -> anyhow::Result<Vec<MessageView>> {
    let mut out = Vec::new();
    for c in client.conversations().await? {
        if c.unread == 0 {
            continue;
        }
        let limit = c.unread.min(CATCH_UP_MOST) as usize;
        let mut page = client.history(&c.id, None, Some(limit)).await?.items;
        page.reverse();
        out.extend(page);
    }
    Ok(out)
}

/// Each topic's post count.
async fn topic_counts(client: &Client) -> anyhow::Result<HashMap<String, u64>> {
    Ok(client
        .topics()
        .await?
        .into_iter()
        .map(|t| (t.name, t.posts))
        .collect())
}

/// The newest posts of each topic that grew since `counts` (which is brought up to date),
/// oldest first.
async fn missed_posts(
    client: &Client,
    counts: &mut HashMap<String, u64>,
) -> anyhow::Result<Vec<PostView>> {
    let mut out = Vec::new();
    for (topic, now) in topic_counts(client).await? {
        let before = counts.insert(topic.clone(), now).unwrap_or(0);
        let grew = now.saturating_sub(before).min(CATCH_UP_MOST);
        if grew == 0 {
            continue;
        }
        let mut page = client
            .topic_posts(&topic, None, Some(grew as usize))
            .await?
            .items;
        page.reverse();
        out.extend(page);
    }
    Ok(out)
}
