//! The endpoint other nodes connect to: `GET /federation/v1/link` upgraded to a websocket
//! of binary frames, handed to [`super::accept`].

use axum::extract::{State, WebSocketUpgrade};
use axum::response::Response;

use super::wire;
use crate::node::Node;

/// `GET /federation/v1/link`: another node's link (websocket, binary frames).
pub(crate) async fn endpoint(State(node): State<Node>, ws: WebSocketUpgrade) -> Response {
    // The link outlives this request: shutdown waits for it like for its own tasks.
    let tracked = node.tasks().token();
    ws.max_message_size(wire::MAX_MESSAGE)
        .max_frame_size(wire::MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            super::accept(node, wire::from_axum(socket)).await;
            drop(tracked);
        })
}
