//! `GET /api/v1/stream`: the live-update websocket. Each message is one JSON
//! `StreamMessage`. A client that falls `limits.stream_queue` messages behind (close code
//! 4008), or stops reading for five seconds, is disconnected rather than slowing anyone; the session is
//! re-checked every minute so a sign-out or suspension also ends the stream.

use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::request::Parts;
use axum::response::Response;
use kindred_protocol::api::StreamMessage;
use tokio::sync::broadcast::error::RecvError;

use super::auth::token_of;
use super::limits::Slot;
use crate::error::AppError;
use crate::node::{Auth, Node};

/// Close code for "you were too slow to keep up".
const TOO_SLOW: u16 = 4008;
/// How long one message may take to send before the client counts as too slow.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Close code for "your session ended".
const SESSION_ENDED: u16 = 4001;

pub(crate) async fn stream(
    State(node): State<Node>,
    auth: Auth,
    Extension(slot): Extension<Arc<Slot>>,
    parts: Parts,
    ws: WebSocketUpgrade,
) -> Result<Response, AppError> {
    let token = token_of(&parts).unwrap_or_default();
    // Small buffers: a thousand open streams should cost megabytes, not a gigabyte.
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(16 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(64 * 1024)
        .on_upgrade(move |socket| async move {
            run(node, auth, token, socket).await;
            drop(slot);
        }))
}

async fn run(node: Node, auth: Auth, token: String, mut socket: WebSocket) {
    let mut updates = node.live_hub().subscribe();
    let mut shutdown = node.shutdown_signal();
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
    let close = loop {
        tokio::select! {
            update = updates.recv() => match update {
                Ok(update) if !update.is_for(&auth.member_id) => {}
                Ok(update) => {
                    let message = Message::Text(update.text);
                    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(_)) => break None,
                        Err(_) => {
                            tracing::info!(member = %auth.member_id, "live stream not reading; disconnecting");
                            break None;
                        }
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::info!(member = %auth.member_id, missed, "live stream too slow; disconnecting");
                    break Some((TOO_SLOW, "too slow: reconnect and reload"));
                }
                Err(RecvError::Closed) => break Some((1001, "node shutting down")),
            },
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
            _ = shutdown.changed() => break Some((1001, "node shutting down")),
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
