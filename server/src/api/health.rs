//! `GET /healthz`: node name, id, version and uptime.

use axum::Json;
use axum::extract::State;
use kindred_protocol::api::Health;

use crate::node::Node;

pub(crate) async fn health(State(node): State<Node>) -> Json<Health> {
    let problems = node.disk_status().problems();
    Json(Health {
        status: if problems.is_empty() {
            "ok"
        } else {
            "degraded"
        }
        .to_owned(),
        problems,
        name: node.config().node.name.clone(),
        node_id: node.node_id(),
        organisation: node.config().node.organisation.clone(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_seconds: node.uptime().as_secs(),
    })
}
