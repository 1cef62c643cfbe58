//! Extractors that turn bad input into the API's JSON errors instead of axum's plain text.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use kindred_protocol::api::ErrorCode;
use serde::de::DeserializeOwned;

use crate::node::AppError;

/// `Json<T>` whose rejections are [`AppError`]s with clear messages.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::BytesRejection(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                    AppError::new(ErrorCode::TooLarge, "The request body is too large.")
                }
                JsonRejection::MissingJsonContentType(_) => AppError::bad_request(
                    "Send the body as JSON with Content-Type: application/json.",
                ),
                JsonRejection::JsonSyntaxError(e) => {
                    AppError::bad_request(format!("The body is not valid JSON: {}", e.body_text()))
                }
                JsonRejection::JsonDataError(e) => AppError::bad_request(format!(
                    "The body does not fit this endpoint: {}",
                    e.body_text()
                )),
                other => AppError::bad_request(other.body_text()),
            }),
        }
    }
}

/// `Query<T>` whose rejections are the API's JSON `bad_request`, naming the parameter.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(AppError::bad_request(format!(
                "The query string does not fit this endpoint: {}",
                rejection
                    .body_text()
                    .trim_start_matches("Failed to deserialize query string: ")
            ))),
        }
    }
}

/// `Path<T>` whose rejections are the API's JSON errors.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(AppError::bad_request(format!(
                "The address does not fit this endpoint: {}",
                rejection.body_text()
            ))),
        }
    }
}
