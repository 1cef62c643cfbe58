//! `/metrics`: what an admin's Prometheus scrapes, in the OpenMetrics text format
//! (<https://prometheus.io/docs/specs/om/open_metrics_spec/>), served only on its own
//! listen address (`[metrics] listen`, off by default) so it is never public by accident.
//!
//! Counters and histograms are updated where things happen (ingest, requests); gauges
//! (members, peers, outboxes, storage) are read from the node when scraped
//! (`api/metrics.rs`, which also serves them). This module knows nothing of the node.

use std::collections::HashMap;
use std::sync::Mutex;

use kindred_protocol::NodeId;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Label pairs.
type Labels = Vec<(String, String)>;

/// What the node counts as it runs. Shared (`Arc`) by the ingest thread and the HTTP layer.
pub(crate) struct Metrics {
    /// Events per stored group.
    ingest_group: Histogram,
    /// Seconds from a group being written to it being on disk.
    flush: Histogram,
    /// Request durations (seconds) by route, method and status class.
    requests: Family<Labels, Histogram>,
    /// Events stored, by origin and kind.
    stored: Mutex<HashMap<(NodeId, String), u64>>,
    /// Events the rules refused, by origin and reason.
    refused: Mutex<HashMap<(NodeId, String), u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            ingest_group: Histogram::new(exponential_buckets(1.0, 2.0, 12)),
            flush: Histogram::new(exponential_buckets(0.000_25, 2.0, 14)),
            requests: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.000_5, 2.0, 14))
            }),
            stored: Mutex::default(),
            refused: Mutex::default(),
        }
    }
}

impl Metrics {
    /// A group of `events` was written; it reached disk `flush_seconds` later.
    pub(crate) fn group_stored(&self, events: usize, flush_seconds: f64) {
        self.ingest_group.observe(events as f64);
        self.flush.observe(flush_seconds);
    }

    /// An event of `kind` from `origin` was stored.
    pub(crate) fn event_stored(&self, origin: NodeId, kind: String) {
        *self
            .stored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((origin, kind))
            .or_default() += 1;
    }

    /// An event from `origin` was refused for `reason` (a short stable name).
    pub(crate) fn event_refused(&self, origin: NodeId, reason: String) {
        *self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((origin, reason))
            .or_default() += 1;
    }

    /// A request to `route` answered `status` after `seconds`.
    pub(crate) fn request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let class = format!("{}xx", status / 100);
        self.requests
            .get_or_create(&vec![
                ("route".to_owned(), route.to_owned()),
                ("method".to_owned(), method.to_owned()),
                ("status".to_owned(), class),
            ])
            .observe(seconds);
    }
}

/// What the node is right now, read at each scrape.
pub(crate) struct Snapshot {
    /// This node's id and name.
    pub(crate) this_node: (NodeId, String),
    /// Member accounts.
    pub(crate) members: u64,
    /// Signed-in sessions.
    pub(crate) sessions: u64,
    /// Live streams open.
    pub(crate) live_streams: u64,
    /// Bytes the database takes on disk.
    pub(crate) storage_bytes: u64,
    /// Seconds since start.
    pub(crate) uptime_seconds: u64,
    /// Each known peer.
    pub(crate) peers: Vec<PeerState>,
}

/// One peer, as the Peers page shows it.
pub(crate) struct PeerState {
    pub(crate) id: NodeId,
    pub(crate) name: String,
    pub(crate) up: bool,
    /// Shared-log events it has that this node lacks.
    pub(crate) we_lack: u64,
    /// Shared-log events this node has that it lacks.
    pub(crate) they_lack: u64,
    pub(crate) outbox: u64,
    /// Age of the oldest directed event waiting for it (seconds).
    pub(crate) outbox_oldest_seconds: Option<f64>,
    pub(crate) clock_offset_seconds: Option<f64>,
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: u64) {
    let g: Gauge = Gauge::default();
    g.set(clamp(value));
    registry.register(name, help, g);
}

/// Renders the OpenMetrics text for `now` and everything counted so far.
pub(crate) fn render(metrics: &Metrics, now: &Snapshot) -> String {
    let mut r = Registry::with_prefix("kindred");
    let info = Family::<Labels, Gauge>::default();
    info.get_or_create(&labels(&[
        ("version", env!("CARGO_PKG_VERSION")),
        ("name", &now.this_node.1),
    ]))
    .set(1);
    r.register("build", "This node's name and Kindred version", info);
    gauge(&mut r, "members", "Member accounts", now.members);
    gauge(&mut r, "sessions", "Signed-in sessions", now.sessions);
    gauge(
        &mut r,
        "live_streams",
        "Live streams open (members' pages and apps)",
        now.live_streams,
    );
    gauge(
        &mut r,
        "storage_bytes",
        "Bytes the database takes on disk",
        now.storage_bytes,
    );
    gauge(
        &mut r,
        "uptime_seconds",
        "Seconds since the node started",
        now.uptime_seconds,
    );

    // Origins are shown by name where the node knows one, else by the start of their key.
    let mut names: HashMap<NodeId, String> =
        now.peers.iter().map(|p| (p.id, p.name.clone())).collect();
    names.insert(now.this_node.0, now.this_node.1.clone());
    let origin = |id: &NodeId| {
        names
            .get(id)
            .cloned()
            .unwrap_or_else(|| id.to_string().chars().take(12).collect())
    };
    let stored = Family::<Labels, Counter>::default();
    for ((id, kind), n) in metrics
        .stored
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        stored
            .get_or_create(&labels(&[("origin", &origin(id)), ("kind", kind)]))
            .inc_by(*n);
    }
    r.register("events_stored", "Events stored, by origin and kind", stored);
    let refused = Family::<Labels, Counter>::default();
    for ((id, reason), n) in metrics
        .refused
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
    {
        refused
            .get_or_create(&labels(&[("origin", &origin(id)), ("reason", reason)]))
            .inc_by(*n);
    }
    r.register(
        "events_refused",
        "Events the rules refused, by origin and reason (see the log)",
        refused,
    );
    r.register(
        "ingest_group_events",
        "Events per stored group",
        metrics.ingest_group.clone(),
    );
    r.register(
        "ingest_flush_seconds",
        "Seconds from a group being written to it being on disk",
        metrics.flush.clone(),
    );
    r.register(
        "http_request_duration_seconds",
        "Request durations by route, method and status class",
        metrics.requests.clone(),
    );

    let up = Family::<Labels, Gauge>::default();
    let lag = Family::<Labels, Gauge>::default();
    let outbox = Family::<Labels, Gauge>::default();
    let oldest = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    let offset = Family::<Labels, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
    for p in &now.peers {
        let peer = labels(&[("peer", &p.name)]);
        up.get_or_create(&peer).set(i64::from(p.up));
        let direction = |d: &str| labels(&[("peer", &p.name), ("direction", d)]);
        lag.get_or_create(&direction("in")).set(clamp(p.we_lack));
        lag.get_or_create(&direction("out")).set(clamp(p.they_lack));
        outbox.get_or_create(&peer).set(clamp(p.outbox));
        oldest
            .get_or_create(&peer)
            .set(p.outbox_oldest_seconds.unwrap_or(0.0));
        if let Some(o) = p.clock_offset_seconds {
            offset.get_or_create(&peer).set(o);
        }
    }
    r.register("peer_up", "1 while a link to the peer is up", up);
    r.register(
        "peer_lag_events",
        "Shared-log events one side has and the other lacks (in: this node lacks them)",
        lag,
    );
    r.register(
        "peer_outbox_events",
        "Directed events waiting to be delivered to the peer",
        outbox,
    );
    r.register(
        "peer_outbox_oldest_seconds",
        "Age of the oldest directed event waiting for the peer",
        oldest,
    );
    r.register(
        "peer_clock_offset_seconds",
        "How far the peer's clock is ahead of this node's",
        offset,
    );

    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut out, &r);
    out
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_counted_is_rendered_with_names() {
        let m = Metrics::default();
        let me = NodeId::from_bytes([1; 32]);
        let peer = NodeId::from_bytes([2; 32]);
        let stranger = NodeId::from_bytes([3; 32]);
        m.event_stored(me, "Post".into());
        m.event_stored(me, "Post".into());
        m.event_stored(peer, "ChatMessage".into());
        m.event_refused(stranger, "NotTheAuthor".into());
        m.group_stored(3, 0.002);
        m.request("/api/v1/topics/{topic}/posts", "POST", 201, 0.01);
        let text = render(
            &m,
            &Snapshot {
                this_node: (me, "a.test".into()),
                members: 4,
                sessions: 2,
                live_streams: 1,
                storage_bytes: 1000,
                uptime_seconds: 5,
                peers: vec![PeerState {
                    id: peer,
                    name: "b.test".into(),
                    up: true,
                    we_lack: 0,
                    they_lack: 7,
                    outbox: 2,
                    outbox_oldest_seconds: Some(1.5),
                    clock_offset_seconds: Some(-0.25),
                }],
            },
        );
        for line in [
            "kindred_members 4",
            r#"kindred_events_stored_total{origin="a.test",kind="Post"} 2"#,
            r#"kindred_events_stored_total{origin="b.test",kind="ChatMessage"} 1"#,
            r#"kindred_events_refused_total{origin="030303030303",reason="NotTheAuthor"} 1"#,
            r#"kindred_peer_lag_events{peer="b.test",direction="out"} 7"#,
            r#"kindred_peer_up{peer="b.test"} 1"#,
            "kindred_ingest_group_events_count 1",
            r#"kindred_http_request_duration_seconds_count{route="/api/v1/topics/{topic}/posts",method="POST",status="2xx"} 1"#,
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }
}
