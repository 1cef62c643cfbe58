//! Live updates: the ingest path publishes what changed once it is durable; one fan-out task
//! turns each change into a stream message, serialises it once and broadcasts the bytes,
//! addressed either to every member (posts) or to a list of members (a conversation's
//! participants on this node). A member whose queue fills up is skipped ahead and told to
//! re-read (`resync`, see `api::stream`), never waited for; posts beyond
//! [`POSTS_PER_SECOND`] are not rendered but announced by one `resync`.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Utf8Bytes;
use kindred_protocol::MemberId;
use kindred_protocol::api::StreamMessage;
use kindred_protocol::event::ConversationId;
use tokio::sync::{broadcast, mpsc};

use super::Node;
use crate::node::AppError;
use crate::store::Change;

/// Publishes changes from the ingest path (any thread).
#[derive(Clone)]
pub(crate) struct LiveSender {
    /// Unbounded so the commit thread never blocks; the fan-out task does O(1) work per
    /// change, so it keeps up with ingest.
    tx: mpsc::UnboundedSender<Change>,
}

impl LiveSender {
    pub(crate) fn publish(&self, change: Change) {
        if change != Change::None {
            // No fan-out task means the node is shutting down; nobody is listening.
            let _ = self.tx.send(change);
        }
    }
}

/// The receiving end, handed to the fan-out task when the node starts serving.
pub(crate) type LiveReceiver = mpsc::UnboundedReceiver<Change>;

pub(crate) fn channel() -> (LiveSender, LiveReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    (LiveSender { tx }, rx)
}

/// One broadcast update: for everyone (`None`) or for the listed members only.
#[derive(Clone)]
pub(crate) struct Update {
    /// Who may receive it; `None` means every signed-in member.
    pub(crate) to: Option<Arc<Vec<MemberId>>>,
    /// The serialised `StreamMessage`.
    pub(crate) text: Utf8Bytes,
}

impl Update {
    /// Whether `member` should get this update.
    pub(crate) fn is_for(&self, member: &MemberId) -> bool {
        self.to.as_ref().is_none_or(|to| to.contains(member))
    }
}

/// Where members' websocket tasks subscribe.
#[derive(Clone)]
pub(crate) struct LiveHub {
    /// Serialised stream messages (shared bytes: cloning one for a subscriber copies
    /// nothing); each subscriber has `stream_queue` slots.
    tx: broadcast::Sender<Update>,
}

impl LiveHub {
    pub(crate) fn new(queue: usize) -> Self {
        let (tx, _) = broadcast::channel(queue);
        Self { tx }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.tx.subscribe()
    }

    /// Whether any member's stream is open, so updates nobody would get are not built.
    fn has_listeners(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    fn send(&self, update: Update) {
        // An error only means nobody is subscribed right now.
        let _ = self.tx.send(update);
    }
}

impl Node {
    /// Sends `message` to one member's open streams.
    pub(crate) fn tell_member(&self, member: &MemberId, message: &StreamMessage) {
        if self.live_hub().has_listeners() {
            self.broadcast(Some(vec![member.clone()]), message);
        }
    }

    /// Serialises `message` once and sends it to the listed members' streams (`None`:
    /// every stream).
    fn broadcast(&self, to: Option<Vec<MemberId>>, message: &StreamMessage) {
        match serde_json::to_string(message) {
            Ok(text) => self.live_hub().send(Update {
                to: to.map(Arc::new),
                text: Utf8Bytes::from(text),
            }),
            Err(e) => tracing::error!(error = %e, "cannot serialise a live update"),
        }
    }

    /// Tells this node's members in a proposal or match that it changed.
    pub(crate) fn tell_match(&self, m: &crate::store::MatchRecord) {
        let own = self.config().node.name.as_str();
        let to: Vec<MemberId> = [&m.buddy, &m.mentor]
            .into_iter()
            .filter(|who| who.node_name() == own)
            .cloned()
            .collect();
        if to.is_empty() {
            return;
        }
        let message = StreamMessage::Match {
            id: m.id,
            status: m.status,
            agreement: m.agreed.as_ref().map(|a| {
                let confirmed = if a.confirmed_by.is_some() {
                    "+confirmed"
                } else {
                    ""
                };
                format!("{}{confirmed}", a.id)
            }),
        };
        self.broadcast(Some(to), &message);
    }
}

/// Posts, edits and reaction counts rendered for every member in one second, at most.
/// Beyond it (a newly paired node catching up, a flood) they are counted, not rendered,
/// and every stream is sent one `resync` when the second is over: rendering each (a
/// fifth of a catching-up node's CPU) is wasted, as no one reads hundreds of posts a
/// second, and the web page re-reads itself after 20 a second anyway. Chat messages are
/// addressed to their participants and always sent.
const POSTS_PER_SECOND: u32 = 200;

/// The fan-out's count of posts rendered this second, and of those skipped.
struct PostRate {
    window_end: tokio::time::Instant,
    rendered: u32,
    skipped: u64,
}

impl PostRate {
    fn new() -> Self {
        Self {
            window_end: tokio::time::Instant::now() + Duration::from_secs(1),
            rendered: 0,
            skipped: 0,
        }
    }

    /// Whether a post change arriving now is rendered; if not, it is counted.
    fn admit(&mut self, now: tokio::time::Instant) -> bool {
        if now >= self.window_end && self.skipped == 0 {
            self.window_end = now + Duration::from_secs(1);
            self.rendered = 0;
        }
        if self.skipped == 0 && self.rendered < POSTS_PER_SECOND {
            self.rendered += 1;
            true
        } else {
            self.skipped += 1;
            false
        }
    }

    /// When the skipped posts' `resync` is due (none skipped: never).
    fn resync_at(&self) -> Option<tokio::time::Instant> {
        (self.skipped > 0).then_some(self.window_end)
    }

    /// The count to send in a `resync`, starting a new second.
    fn take(&mut self, now: tokio::time::Instant) -> u64 {
        self.window_end = now + Duration::from_secs(1);
        self.rendered = 0;
        std::mem::take(&mut self.skipped)
    }
}

/// Runs until the ingest side is gone: turns changes into broadcast stream messages.
pub(crate) async fn fan_out(node: Node, mut rx: LiveReceiver) {
    let mut rate = PostRate::new();
    loop {
        let change = match rate.resync_at() {
            Some(at) => tokio::select! {
                change = rx.recv() => change,
                () = tokio::time::sleep_until(at) => {
                    let missed = rate.take(tokio::time::Instant::now());
                    tracing::debug!(missed, "posts came faster than members can read: resync");
                    node.broadcast(
                        None,
                        &StreamMessage::Resync {
                            missed,
                            posts_only: true,
                        },
                    );
                    continue;
                }
            },
            None => rx.recv().await,
        };
        let Some(change) = change else {
            return;
        };
        if let Change::NameBound(name) = &change {
            // Not for members' screens: conversations with that node's members go to it
            // again (off this task, which must keep up with live updates).
            let node = node.clone();
            let name = name.clone();
            node.tasks().clone().spawn(async move {
                if let Err(e) = node.reannounce_conversations(&name).await {
                    tracing::error!(%name, error = %e, "cannot send conversations again");
                }
            });
            continue;
        }
        if !node.live_hub().has_listeners() {
            // Nobody is connected (a node catching up at night, say): building each view
            // would cost reads, Markdown and JSON for nothing.
            continue;
        }
        if matches!(
            change,
            Change::New(_) | Change::Edited(_) | Change::Reactions(_)
        ) && !rate.admit(tokio::time::Instant::now())
        {
            continue;
        }
        let messages = match messages_for(&node, &change) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, ?change, "cannot build a live update");
                continue;
            }
        };
        for (to, message) in messages {
            node.broadcast(to, &message);
        }
    }
}

type Addressed = (Option<Vec<MemberId>>, StreamMessage);

/// This node's members in a conversation who have not blocked `author`.
fn local_participants(
    node: &Node,
    c: &ConversationId,
    author: Option<&MemberId>,
) -> Result<Vec<MemberId>, AppError> {
    let Some(record) = node.store().conversation(c)? else {
        return Ok(Vec::new());
    };
    let own = node.config().node.name.as_str();
    let mut out = Vec::new();
    for m in record.members.into_iter().filter(|m| m.node_name() == own) {
        if let Some(a) = author
            && node.store().has_blocked(&m, a)?
        {
            continue;
        }
        out.push(m);
    }
    Ok(out)
}

fn messages_for(node: &Node, change: &Change) -> Result<Vec<Addressed>, AppError> {
    Ok(match change {
        Change::New(id) => node
            .post_view(id, None)?
            .map(|post| (None, StreamMessage::New { post }))
            .into_iter()
            .collect(),
        Change::Edited(id) => node
            .post_view(id, None)?
            .map(|post| (None, StreamMessage::Edited { post }))
            .into_iter()
            .collect(),
        Change::Retracted(id) => vec![(None, StreamMessage::Retracted { id: *id })],
        // Pages read afresh show the member's content gone; open pages are not told.
        Change::Erased(_) => Vec::new(),
        Change::Reactions(id) => {
            let Some((title, reply)) = node.reaction_target(id)? else {
                return Ok(Vec::new());
            };
            vec![(
                None,
                StreamMessage::Reactions {
                    id: *id,
                    reply,
                    title,
                    reactions: node.reaction_counts(id, None)?,
                },
            )]
        }
        Change::Message(c, id) | Change::MessageEdited(c, id) => {
            let Some(message) = node.message_view(id, None)? else {
                return Ok(Vec::new());
            };
            let to = local_participants(node, c, Some(&message.author))?;
            let msg = if matches!(change, Change::Message(..)) {
                StreamMessage::Message { message }
            } else {
                StreamMessage::MessageEdited { message }
            };
            vec![(Some(to), msg)]
        }
        Change::MessageRetracted(c, id) => vec![(
            Some(local_participants(node, c, None)?),
            StreamMessage::MessageRetracted {
                conversation: *c,
                id: *id,
            },
        )],
        Change::MessageReactions(c, id) => vec![(
            Some(local_participants(node, c, None)?),
            StreamMessage::MessageReactions {
                conversation: *c,
                id: *id,
                reactions: node.reaction_counts(id, None)?,
            },
        )],
        Change::Conversation(c, removed) => {
            let mut out = Vec::new();
            for m in local_participants(node, c, None)? {
                let view = node.conversation_view(&m, c)?;
                out.push((
                    Some(vec![m]),
                    StreamMessage::Conversation {
                        conversation: view,
                        id: *c,
                    },
                ));
            }
            if !removed.is_empty() {
                out.push((
                    Some(removed.clone()),
                    StreamMessage::Conversation {
                        conversation: None,
                        id: *c,
                    },
                ));
            }
            out
        }
        Change::ReadMarker(c, member, up_to) => vec![(
            Some(local_participants(node, c, None)?),
            StreamMessage::ReadMarker {
                conversation: *c,
                member: member.clone(),
                up_to: *up_to,
            },
        )],
        Change::None | Change::NameBound(_) => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posts_beyond_the_rate_are_counted_and_announced_once_the_second_is_over() {
        let start = tokio::time::Instant::now();
        let mut rate = PostRate::new();
        for _ in 0..POSTS_PER_SECOND {
            assert!(rate.admit(start));
        }
        assert_eq!(rate.resync_at(), None, "nothing skipped yet");
        assert!(!rate.admit(start));
        assert!(!rate.admit(start));
        let due = rate.resync_at().expect("a resync is due");
        // Still counted, not rendered, after the second ends until the resync is sent:
        // no post is shown ahead of the ones skipped.
        assert!(!rate.admit(due + Duration::from_millis(10)));
        assert_eq!(rate.take(due), 3);
        assert_eq!(rate.resync_at(), None);
        assert!(rate.admit(due), "a new second renders again");
        // A quiet spell starts a fresh second with the next post.
        let later = due + Duration::from_secs(5);
        for _ in 0..POSTS_PER_SECOND {
            assert!(rate.admit(later));
        }
        assert!(!rate.admit(later));
    }
}
