//! Live updates: the ingest path publishes what changed once it is durable; one fan-out task
//! turns each change into a stream message, serialises it once and broadcasts the text to
//! every connected member. A member whose queue fills up is disconnected, never waited for.

use axum::extract::ws::Utf8Bytes;
use kindred_protocol::api::StreamMessage;
use tokio::sync::{broadcast, mpsc};

use super::Node;
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
        if !matches!(change, Change::None | Change::Message(_)) {
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

/// Where members' websocket tasks subscribe.
#[derive(Clone)]
pub(crate) struct LiveHub {
    /// Serialised stream messages (shared bytes: cloning one for a subscriber copies
    /// nothing); each subscriber has `stream_queue` slots.
    tx: broadcast::Sender<Utf8Bytes>,
}

impl LiveHub {
    pub(crate) fn new(queue: usize) -> Self {
        let (tx, _) = broadcast::channel(queue);
        Self { tx }
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Utf8Bytes> {
        self.tx.subscribe()
    }

    fn send(&self, text: Utf8Bytes) {
        // An error only means nobody is subscribed right now.
        let _ = self.tx.send(text);
    }
}

/// Runs until the ingest side is gone: turns changes into broadcast stream messages.
pub(crate) async fn fan_out(node: Node, mut rx: LiveReceiver) {
    while let Some(change) = rx.recv().await {
        let message = match message_for(&node, change) {
            Ok(Some(m)) => m,
            Ok(None) => continue,
            Err(e) => {
                tracing::error!(error = %e, ?change, "cannot build a live update");
                continue;
            }
        };
        match serde_json::to_string(&message) {
            Ok(text) => node.live_hub().send(Utf8Bytes::from(text)),
            Err(e) => tracing::error!(error = %e, "cannot serialise a live update"),
        }
    }
}

fn message_for(
    node: &Node,
    change: Change,
) -> Result<Option<StreamMessage>, crate::store::StoreError> {
    Ok(match change {
        Change::New(id) => node
            .post_view(&id, None)?
            .map(|post| StreamMessage::New { post }),
        Change::Edited(id) => node
            .post_view(&id, None)?
            .map(|post| StreamMessage::Edited { post }),
        Change::Retracted(id) => Some(StreamMessage::Retracted { id }),
        Change::Reactions(id) => Some(StreamMessage::Reactions {
            id,
            reactions: node.reaction_counts(&id, None)?,
        }),
        // Private messages are never broadcast; they go to participants only (chat issue).
        Change::Message(_) | Change::None => None,
    })
}
