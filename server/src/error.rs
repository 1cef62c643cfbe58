//! `AppError`: what a request can fail with. User errors keep their code and message;
//! internal errors are logged with their cause and shown to the client as a generic message.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kindred_protocol::api::{ApiErrorBody, ApiErrorDetail, ErrorCode};
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
        }
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

/// The HTTP status for an error code.
pub(crate) fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthorized | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
        ErrorCode::Suspended | ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Gone => StatusCode::GONE,
        ErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::Timeout => StatusCode::REQUEST_TIMEOUT,
        ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
    }
}

/// The JSON error response for a code and message.
pub(crate) fn error_response(code: ErrorCode, message: String) -> Response {
    let body = ApiErrorBody {
        error: ApiErrorDetail { code, message },
    };
    (status_of(code), Json(body)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Refused { code, message } => {
                tracing::debug!(?code, %message, "request refused");
                error_response(code, message)
            }
            AppError::Internal(source) => {
                let mut chain = source.to_string();
                let mut cause = source.source();
                while let Some(c) = cause {
                    chain.push_str(": ");
                    chain.push_str(&c.to_string());
                    cause = c.source();
                }
                tracing::error!(error = %chain, "request failed");
                error_response(
                    ErrorCode::Internal,
                    "Something went wrong on this node. The admin can find details in its log."
                        .to_owned(),
                )
            }
        }
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
