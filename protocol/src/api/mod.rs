//! Client API messages: the JSON bodies of `/api/v1/` requests and responses and the
//! messages of the live-update websocket. Shared by the node and `kindred-client`, so both
//! sides agree on every field. `docs/api.md` lists the endpoints that carry them.

mod account;
mod chat;
mod content;
pub mod endpoints;
mod error;
mod federation;
mod mentoring;
mod moderation;
mod notifications;
mod stream;

pub use account::*;
pub use chat::*;
pub use content::*;
pub use error::{ApiErrorBody, ApiErrorDetail, ErrorCode};
pub use federation::*;
pub use mentoring::*;
pub use moderation::*;
pub use notifications::*;
pub use stream::StreamMessage;

use serde::{Deserialize, Serialize};

use crate::{NodeId, NodeName};

/// `GET /healthz`: who this node is and that it is up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok`, or `degraded` when something needs its admin (see `problems`); reads work
    /// either way.
    pub status: String,
    /// What is wrong, one sentence each (the disk is full or running low); empty when
    /// `ok`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// The node's federation name.
    pub name: NodeName,
    /// The node's public key.
    pub node_id: NodeId,
    /// The organisation running it.
    pub organisation: String,
    /// The software version.
    pub version: String,
    /// Seconds since the node started.
    pub uptime_seconds: u64,
}

/// A page of results with an opaque cursor for the next (older) page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
