//! `[metrics]`: Prometheus metrics, off unless given an address.

use std::net::SocketAddr;

use serde::Deserialize;

/// Where `/metrics` is served. It is never served on the main address: metrics name the
/// peers and show activity, so they belong on an address only the monitoring can reach
/// (loopback, or a private network), e.g. `127.0.0.1:9464`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// The address `/metrics` listens on; unset (the default) serves no metrics.
    pub listen: Option<SocketAddr>,
}
