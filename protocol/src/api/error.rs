//! The JSON error body every failed API request returns.

use serde::{Deserialize, Serialize};

/// `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// The error.
    pub error: ApiErrorDetail,
}

/// What went wrong, for programs (`code`) and for people (`message`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorDetail {
    /// A stable machine-readable code.
    pub code: ErrorCode,
    /// A sentence for people.
    pub message: String,
    /// The request field the refusal concerns (its JSON name, e.g. `"username"`), when it
    /// concerns one: forms show the message beside that field. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Stable error codes of the client API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed or a field is invalid (400).
    BadRequest,
    /// No valid session token (401).
    Unauthorized,
    /// Wrong username or password; deliberately not saying which (401).
    InvalidCredentials,
    /// The member's account is suspended (403).
    Suspended,
    /// Signed in, but not allowed to do this (403).
    Forbidden,
    /// No such thing (404).
    NotFound,
    /// It already exists or conflicts with the current state (409).
    Conflict,
    /// The invite or token has been used or has expired (410).
    Gone,
    /// This endpoint does not take that HTTP method (405).
    MethodNotAllowed,
    /// The request was not sent in time: its headers or body came too slowly (408).
    Timeout,
    /// The request body is too large (413).
    TooLarge,
    /// Too many requests; try again later (429).
    RateLimited,
    /// Something went wrong on the node (500). Details are in the node's log.
    Internal,
    /// The node is shutting down or overloaded (503).
    Unavailable,
    /// The node's disk is full: nothing new can be saved until its admin frees space; what
    /// was sent was not saved (507). Reading still works.
    StorageFull,
}

impl ErrorCode {
    /// Whether the fault is the node's own (500, 503, 507) rather than the request's: the
    /// same request may work later without changing it.
    pub fn is_node_trouble(self) -> bool {
        matches!(
            self,
            ErrorCode::Internal | ErrorCode::Unavailable | ErrorCode::StorageFull
        )
    }
}
