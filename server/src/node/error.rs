//! `AppError`: what a request to the node can fail with. User errors keep their code and
//! message; internal errors keep their cause. How each becomes an HTTP answer is the HTTP
//! edge's business (`http::problem`): the domain knows nothing of status codes.

use kindred_protocol::api::ErrorCode;
use thiserror::Error;

use crate::node::IngestError;
use crate::store::StoreError;

/// A failed request.
#[derive(Debug, Error)]
pub(crate) enum AppError {
    /// The request was refused for a reason the client can act on.
    #[error("{message}")]
    Refused {
        /// Machine-readable code (decides the HTTP status).
        code: ErrorCode,
        /// A sentence for people.
        message: String,
        /// The request field it concerns (its name in the API's JSON), when it concerns
        /// one: the API answers it and forms show the message beside that field.
        field: Option<&'static str>,
    },
    /// Something broke on this node.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError::Refused {
            code,
            message: message.into(),
            field: None,
        }
    }

    /// The same refusal, about request field `name` (the API's JSON name). Internal
    /// errors are left as they are.
    pub(crate) fn on(self, name: &'static str) -> Self {
        match self {
            AppError::Refused { code, message, .. } => AppError::Refused {
                code,
                message,
                field: Some(name),
            },
            internal => internal,
        }
    }

    /// A 400 about request field `name`.
    pub(crate) fn invalid(name: &'static str, message: impl Into<String>) -> Self {
        Self::bad_request(message).on(name)
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub(crate) fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        AppError::Internal(Box::new(e))
    }
}

/// What members read when the disk is full.
const STORAGE_FULL: &str = "This organisation's Kindred node has run out of disk space, so \
     it cannot save anything new: what you sent was not saved. Its admin needs to free some \
     space on it; please try again later.";

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed => Self::new(ErrorCode::Unavailable, "The node is shutting down."),
            e if e.is_full() => {
                tracing::warn!(error = %e, "a write was refused: the disk is full");
                Self::new(ErrorCode::StorageFull, STORAGE_FULL)
            }
            e => AppError::internal(e),
        }
    }
}

impl From<IngestError> for AppError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Invalid(e) => {
                let detail = std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_else(|| e.to_string());
                Self::bad_request(format!("That cannot be posted: {detail}."))
            }
            IngestError::Closed => Self::new(ErrorCode::Unavailable, "The node is shutting down."),
            IngestError::Refused(reason) => {
                tracing::info!(%reason, "a local write was refused by the rules");
                Self::new(
                    ErrorCode::Conflict,
                    format!("That change cannot be made: {reason}."),
                )
            }
            IngestError::Store(e) if e.is_full() => e.into(),
            e @ IngestError::Store(_) => AppError::internal(e),
        }
    }
}
