//! Serving `/metrics` on its own address, and timing every request for it.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::metrics::{PeerState, Snapshot, render};
use crate::node::Node;

/// Times a request and counts it under its route's pattern (`/api/v1/posts/{id}`, never
/// the path itself, so ids and names do not become labels).
pub(crate) async fn track_request(
    State(node): State<Node>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    // Any method name is accepted by HTTP; only the standard ones become labels, so a
    // client cannot grow the metrics without bound.
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m,
        _ => "other",
    }
    .to_owned();
    let response = next.run(request).await;
    node.metrics().request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Serves `GET /metrics` on `listener` until the node shuts down.
pub(crate) async fn serve(node: Node, listener: tokio::net::TcpListener) {
    let shutdown = node.shutdown_signal();
    let app = Router::new()
        .route("/metrics", get(metrics))
        .with_state(node);
    let stopped = async move {
        let _ = shutdown.cancelled().await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::error!(error = %e, "the metrics listener failed");
    }
}

async fn metrics(State(node): State<Node>) -> Response {
    let reading = node.clone();
    let snapshot = tokio::task::spawn_blocking(move || snapshot(&reading)).await;
    match snapshot {
        Ok(now) => {
            let mut response = render(node.metrics(), &now).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "reading metrics failed");
            axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// What the node is right now. Reads that fail count as zero (and are logged): a scrape
/// should show what it can.
fn snapshot(node: &Node) -> Snapshot {
    let store = node.store();
    let or_zero = |what: &str, r: Result<u64, crate::store::StoreError>| {
        r.unwrap_or_else(|e| {
            tracing::warn!(error = %e, what, "metrics: cannot read");
            0
        })
    };
    let now_ms = node.now().as_millis();
    let peers = match node.peer_views() {
        Ok(views) => views
            .into_iter()
            .filter(|p| p.paired)
            .map(|p| PeerState {
                outbox_oldest_seconds: store
                    .outbox_oldest_received_at(&p.node_id)
                    .ok()
                    .flatten()
                    .map(|at| Duration::from_millis(now_ms.saturating_sub(at)).as_secs_f64()),
                id: p.node_id,
                name: p.name.to_string(),
                up: p.connected,
                we_lack: p.we_lack,
                they_lack: p.they_lack,
                outbox: p.outbox,
                clock_offset_seconds: p.clock_offset_ms.map(|ms| ms as f64 / 1000.0),
            })
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot read peers");
            Vec::new()
        }
    };
    Snapshot {
        this_node: (node.node_id(), node.config().node.name.to_string()),
        members: or_zero("members", store.members().map(|m| m.len() as u64)),
        sessions: or_zero("sessions", Ok(store.session_count())),
        live_streams: node.limits().streams_by_address.total(),
        storage_bytes: or_zero("storage", store.size_on_disk()),
        uptime_seconds: node.uptime().as_secs(),
        peers,
    }
}
