//! The whole HTTP application: the client API, the web pages and the federation link
//! endpoint side by side, under the layers every request passes (read the body in time,
//! per-address limits, metrics, writes sent again done once). The one place that knows all
//! three; `serve` runs it.

pub(crate) mod idempotency;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::node::Node;

/// The node's HTTP routes.
pub(crate) fn app(node: Node) -> Router {
    let max_body = node.config().limits.max_request_bytes;
    Router::new()
        .merge(crate::api::routes())
        .merge(
            Router::new()
                .route("/federation/v1/link", get(crate::federation::endpoint))
                .layer(axum::middleware::from_fn(crate::http::answers::api_answers)),
        )
        .merge(crate::web::routes(node.clone()))
        // Writes sent again with the same key (API header, web form field) are done once.
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            idempotency::idempotent,
        ))
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            crate::api::metrics::track_request,
        ))
        .layer(axum::middleware::from_fn_with_state(
            node.clone(),
            crate::api::limits::per_address,
        ))
        .layer(DefaultBodyLimit::max(max_body))
        // Outermost: a body is read in full, in time, before any limit counts the request.
        .layer(axum::middleware::from_fn_with_state(
            crate::http::body::BodyLimits {
                within: std::time::Duration::from_secs(node.config().limits.body_seconds),
                max_bytes: max_body,
            },
            crate::http::body::read_body_in_time,
        ))
        .with_state(node)
}
