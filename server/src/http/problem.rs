//! How a failed request is answered over HTTP: the status for each error code and the JSON
//! error body (`docs/api.md`, "Errors"). Internal errors are logged here with their whole
//! cause chain and shown to the client as a generic sentence.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kindred_protocol::api::{ApiErrorBody, ApiErrorDetail, ErrorCode};

use crate::node::AppError;

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
    refusal_response(code, message, None)
}

/// The JSON error response for a refusal about request field `field`.
pub(crate) fn refusal_response(
    code: ErrorCode,
    message: String,
    field: Option<&'static str>,
) -> Response {
    let body = ApiErrorBody {
        error: ApiErrorDetail {
            code,
            message,
            field: field.map(str::to_owned),
        },
    };
    (status_of(code), Json(body)).into_response()
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::Refused {
                code,
                message,
                field,
            } => {
                tracing::debug!(?code, %message, ?field, "request refused");
                refusal_response(code, message, field)
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
