//! `GET /api/v1/stream`: the live-update websocket. Each message is one JSON
//! `StreamMessage`.
//!
//! A stream that falls `limits.stream_queue` updates behind during a burst (a chat burst,
//! or a catch-up of a newly paired peer) skips ahead and sends `resync` (at most once a
//! [`RESYNC_EVERY`]), so the client re-reads what it shows instead of being disconnected
//! and reloading; while it is behind it sends larger batches without pausing. A client
//! that stops reading for five seconds is disconnected (close code 4008) rather than
//! slowing anyone. The session is re-checked before each send and every minute, so a
//! sign-out or suspension ends the stream before anything more is sent.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::response::Response;
use futures_util::SinkExt;
use kindred_protocol::MemberId;
use kindred_protocol::api::StreamMessage;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use super::auth::{authorise, stream_token};
use super::limits::take_stream;
use crate::http::client_address::ClientAddress;
use crate::node::AppError;
use crate::node::{Auth, Node, Update};

/// Close code for "you stopped reading".
const TOO_SLOW: u16 = 4008;
/// Most messages written per flush.
const MAX_BATCH: usize = 256;
/// Most one `resync` per this long: a stream behind for the whole of a long catch-up
/// asks its client to re-read once a second, not after every batch.
const RESYNC_EVERY: Duration = Duration::from_secs(1);
/// How long one batch of messages may take to send before the client counts as too slow.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// While updates come faster than this, a stream sends them at most this often, in batches:
/// a thousand streams woken for every post would spend the CPU on wake-ups instead of
/// delivering. A stream that has been quiet sends its next update at once.
const COALESCE: Duration = Duration::from_millis(25);
/// Close code for "your session ended".
const SESSION_ENDED: u16 = 4001;

pub(crate) async fn stream(
    State(node): State<Node>,
    ClientAddress(address): ClientAddress,
    parts: Parts,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let token = stream_token(&parts.headers)?;
    let auth = authorise(&node, &token)?;
    let slots = take_stream(&node, auth.session_hash, address)?;
    // Small buffers: a thousand open streams should cost megabytes, not a gigabyte.
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            // The stream outlives this request: shutdown waits for it.
            let tracked = node.tasks().token();
            run(node, auth, token, socket).await;
            drop(slots);
            drop(tracked);
        }))
}

async fn run(node: Node, auth: Auth, token: String, mut socket: WebSocket) {
    let mut updates = node.live_hub().subscribe();
    let shutdown = node.shutdown_signal();
    let mut recheck = tokio::time::interval(Duration::from_secs(60));
    recheck.tick().await;
    let ready = StreamMessage::Ready {
        member: auth.member_id.clone(),
    };
    let Ok(text) = serde_json::to_string(&ready) else {
        return;
    };
    if socket.send(Message::Text(text.into())).await.is_err() {
        return;
    }
    tracing::debug!(member = %auth.member_id, "live stream opened");
    let mut last_sent: Option<tokio::time::Instant> = None;
    let mut behind = Behind::default();
    let close = loop {
        tokio::select! {
            update = updates.recv() => {
                let mut batch = match take_batch(&mut updates, update, &auth.member_id, &mut behind) {
                    Ok(batch) => batch,
                    Err(close) => break close,
                };
                if let Some(resync) = behind.due(tokio::time::Instant::now()) {
                    batch.push(resync);
                }
                // Nothing more once the session is gone (signed out, suspended): the check
                // is a cache lookup while accounts are unchanged.
                if node.authenticate(&token).is_err() {
                    break Some((SESSION_ENDED, "session ended"));
                }
                match send_within(SEND_TIMEOUT, send_all(&mut socket, batch)).await {
                    Ok(Ok(())) => {
                        let now = tokio::time::Instant::now();
                        // Busy: let the next updates gather before waking again, unless
                        // the queue is filling (then every moment counts).
                        let filling = updates.len() * 4 >= node.config().limits.stream_queue;
                        if !filling && last_sent.is_some_and(|t| now.duration_since(t) < COALESCE) {
                            tokio::time::sleep(COALESCE).await;
                        }
                        last_sent = Some(now);
                    }
                    Ok(Err(_)) => break None,
                    Err(_) => {
                        tracing::info!(member = %auth.member_id, "live stream not reading; disconnecting");
                        break Some((TOO_SLOW, "not reading: reconnect and reload"));
                    }
                }
            }
            // A resync held back by `RESYNC_EVERY` goes out when its time comes, even if
            // nothing else arrives.
            _ = resync_at(behind.held_until()) => {
                if let Some(resync) = behind.due(tokio::time::Instant::now())
                    && !matches!(
                        send_within(SEND_TIMEOUT, send_all(&mut socket, vec![resync])).await,
                        Ok(Ok(()))
                    )
                {
                    break None;
                }
            }
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                // Pings are answered by the websocket layer; clients have nothing to say.
                Some(Ok(_)) => {}
            },
            _ = recheck.tick() => {
                if node.authenticate(&token).is_err() {
                    break Some((SESSION_ENDED, "session ended"));
                }
            }
            _ = shutdown.cancelled() => break Some((1001, "node shutting down")),
        }
    };
    if let Some((code, reason)) = close {
        // The client may already be gone, or not reading (its buffers full): closing is a
        // courtesy, given a moment at most.
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        let _ = tokio::time::timeout(Duration::from_secs(1), socket.send(frame)).await;
    }
    tracing::debug!(member = %auth.member_id, "live stream closed");
}

/// How the stream should close: a code and reason, or `None` to just drop it.
type Close = Option<(u16, &'static str)>;

/// Updates a stream skipped, and when it last asked its client to re-read.
#[derive(Debug, Default)]
struct Behind {
    missed: u64,
    last_resync: Option<tokio::time::Instant>,
}

impl Behind {
    /// A `resync` message if one is owed and [`RESYNC_EVERY`] has passed since the last.
    fn due(&mut self, now: tokio::time::Instant) -> Option<Message> {
        if self.missed == 0
            || self
                .last_resync
                .is_some_and(|t| now.duration_since(t) < RESYNC_EVERY)
        {
            return None;
        }
        let resync = StreamMessage::Resync {
            missed: self.missed,
            posts_only: false,
        };
        let text = serde_json::to_string(&resync).ok()?;
        self.missed = 0;
        self.last_resync = Some(now);
        Some(Message::Text(text.into()))
    }

    /// When a resync that is owed but held back may go out (`None`: none is held back).
    fn held_until(&self) -> Option<tokio::time::Instant> {
        match (self.missed, self.last_resync) {
            (0, _) | (_, None) => None,
            (_, Some(t)) => Some(t + RESYNC_EVERY),
        }
    }
}

/// Sleeps until `at`; never returns for `None`.
async fn resync_at(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// `first` plus whatever else is already queued (up to [`MAX_BATCH`]) that is for `member`,
/// so a busy stream writes many messages per flush instead of one.
/// Updates skipped because the stream fell behind are counted in `behind`.
fn take_batch(
    updates: &mut broadcast::Receiver<Update>,
    first: Result<Update, RecvError>,
    member: &MemberId,
    behind: &mut Behind,
) -> Result<Vec<Message>, Close> {
    let mut batch = Vec::new();
    let mut next = first;
    loop {
        match next {
            Ok(update) if update.is_for(member) => batch.push(Message::Text(update.text)),
            Ok(_) => {}
            Err(RecvError::Lagged(missed)) => {
                // The queue moved on: go on from its oldest update and say so.
                tracing::debug!(member = %member, missed, "live stream fell behind; skipping ahead");
                behind.missed = behind.missed.saturating_add(missed);
            }
            Err(RecvError::Closed) => return Err(Some((1001, "node shutting down"))),
        }
        if batch.len() >= MAX_BATCH {
            return Ok(batch);
        }
        next = match updates.try_recv() {
            Ok(update) => Ok(update),
            Err(TryRecvError::Empty) => return Ok(batch),
            Err(TryRecvError::Lagged(missed)) => Err(RecvError::Lagged(missed)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
        };
    }
}

/// Runs `send` with a time limit. A send that completes at once (the usual case: the
/// socket has room) costs no timer, which matters with a thousand streams woken per post.
async fn send_within<F: std::future::Future>(
    limit: Duration,
    send: F,
) -> Result<F::Output, tokio::time::error::Elapsed> {
    let mut send = std::pin::pin!(send);
    let first = std::future::poll_fn(|cx| std::task::Poll::Ready(send.as_mut().poll(cx))).await;
    match first {
        std::task::Poll::Ready(output) => Ok(output),
        std::task::Poll::Pending => tokio::time::timeout(limit, send).await,
    }
}

/// Queues every message, then flushes once.
async fn send_all(socket: &mut WebSocket, batch: Vec<Message>) -> Result<(), axum::Error> {
    if batch.is_empty() {
        return Ok(());
    }
    for message in batch {
        socket.feed(message).await?;
    }
    socket.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn update(n: u32) -> Update {
        Update {
            to: None,
            text: format!("{{\"n\":{n}}}").into(),
        }
    }

    #[tokio::test]
    async fn a_stream_that_falls_behind_skips_ahead_and_is_told_to_resync() {
        let (tx, mut rx) = broadcast::channel(4);
        let member = MemberId::parse("@sam:a.example").unwrap();
        for n in 0..10 {
            assert!(tx.send(update(n)).is_ok());
        }
        let mut behind = Behind::default();
        let first = rx.recv().await;
        let batch = take_batch(&mut rx, first, &member, &mut behind).unwrap();
        // The newest four are sent; the six before them are counted, not lost silently.
        assert_eq!(batch.len(), 4);
        assert_eq!(behind.missed, 6);
        let now = tokio::time::Instant::now();
        let Some(Message::Text(resync)) = behind.due(now) else {
            panic!("a resync is owed");
        };
        assert_eq!(
            serde_json::from_str::<StreamMessage>(&resync).unwrap(),
            StreamMessage::Resync {
                missed: 6,
                posts_only: false
            }
        );
        // Falling behind again within a second: held back, then sent when its time comes.
        behind.missed = 3;
        assert!(behind.due(now).is_none());
        assert_eq!(behind.held_until(), Some(now + RESYNC_EVERY));
        assert!(behind.due(now + RESYNC_EVERY).is_some());
        assert_eq!(behind.held_until(), None, "nothing owed once sent");
    }

    #[tokio::test]
    async fn updates_for_others_are_skipped_and_a_closed_hub_ends_the_stream() {
        let (tx, mut rx) = broadcast::channel(8);
        let member = MemberId::parse("@sam:a.example").unwrap();
        let other = MemberId::parse("@kim:a.example").unwrap();
        let only_kim = Update {
            to: Some(Arc::new(vec![other])),
            text: "{}".into(),
        };
        assert!(tx.send(only_kim).is_ok());
        assert!(tx.send(update(1)).is_ok());
        let mut behind = Behind::default();
        let first = rx.recv().await;
        let batch = take_batch(&mut rx, first, &member, &mut behind).unwrap();
        assert_eq!(batch.len(), 1);
        assert_eq!(behind.missed, 0);
        drop(tx);
        let closed = rx.recv().await;
        assert!(take_batch(&mut rx, closed, &member, &mut behind).is_err());
    }
}
