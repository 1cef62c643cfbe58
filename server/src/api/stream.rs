//! `GET /api/v1/stream`: the live-update websocket. Each message is one JSON
//! `StreamMessage`. A client that falls `limits.stream_queue` messages behind (close code
//! 4008), or stops reading for five seconds, is disconnected rather than slowing anyone; the session is
//! re-checked before each send and every minute, so a sign-out or suspension ends the
//! stream before anything more is sent.

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

/// Close code for "you were too slow to keep up".
const TOO_SLOW: u16 = 4008;
/// Most messages written per flush.
const MAX_BATCH: usize = 64;
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
    let close = loop {
        tokio::select! {
            update = updates.recv() => {
                let batch = match take_batch(&mut updates, update, &auth.member_id) {
                    Ok(batch) => batch,
                    Err(close) => break close,
                };
                // Nothing more once the session is gone (signed out, suspended): the check
                // is a cache lookup while accounts are unchanged.
                if node.authenticate(&token).is_err() {
                    break Some((SESSION_ENDED, "session ended"));
                }
                match send_within(SEND_TIMEOUT, send_all(&mut socket, batch)).await {
                    Ok(Ok(())) => {
                        let now = tokio::time::Instant::now();
                        if last_sent.is_some_and(|t| now.duration_since(t) < COALESCE) {
                            // Busy: let the next updates gather before waking again.
                            tokio::time::sleep(COALESCE).await;
                        }
                        last_sent = Some(now);
                    }
                    Ok(Err(_)) => break None,
                    Err(_) => {
                        tracing::info!(member = %auth.member_id, "live stream not reading; disconnecting");
                        break None;
                    }
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
        // The client may already be gone; closing is a courtesy.
        let _ = socket
            .send(Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            })))
            .await;
    }
    tracing::debug!(member = %auth.member_id, "live stream closed");
}

/// How the stream should close: a code and reason, or `None` to just drop it.
type Close = Option<(u16, &'static str)>;

/// `first` plus whatever else is already queued (up to [`MAX_BATCH`]) that is for `member`,
/// so a busy stream writes many messages per flush instead of one.
fn take_batch(
    updates: &mut broadcast::Receiver<Update>,
    first: Result<Update, RecvError>,
    member: &MemberId,
) -> Result<Vec<Message>, Close> {
    let mut batch = Vec::new();
    let mut next = first;
    loop {
        match next {
            Ok(update) if update.is_for(member) => batch.push(Message::Text(update.text)),
            Ok(_) => {}
            Err(RecvError::Lagged(missed)) => {
                tracing::info!(member = %member, missed, "live stream too slow; disconnecting");
                return Err(Some((TOO_SLOW, "too slow: reconnect and reload")));
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
