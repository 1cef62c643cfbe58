//! Keeping a link to each paired peer: dial when there is no link, and after a failure
//! wait with capped exponential backoff and jitter. The backoff state is stored with the
//! peer, so a restart does not hammer a peer that is down.

use std::time::Duration;

use kindred_protocol::peer::Role;
use kindred_protocol::{NodeId, Timestamp};

use super::LinkError;
use super::address::{self, Source};
use super::link::{Intent, run};
use super::wire::{self, MAX_MESSAGE};
use crate::node::Node;
use crate::store::PeerRecord;

/// First retry delay.
const BASE: Duration = Duration::from_secs(1);
/// Longest retry delay.
const CAP: Duration = Duration::from_secs(60);

/// Starts the dialer for `peer` unless one is running.
pub(crate) fn ensure_dialer(node: &Node, peer: NodeId) {
    spawn_once(node, peer, move |node| async move {
        dial_loop(&node, peer).await
    });
}

/// Makes sure directed events waiting for `node` get delivered: through the paired
/// link, or else by dialling the address the node announced (a directed-only link).
pub(crate) fn ensure_delivery(node: &Node, peer: NodeId) {
    match node.store().peer(&peer) {
        Ok(Some(_)) => ensure_dialer(node, peer),
        Ok(None) => spawn_once(node, peer, move |node| async move {
            directed_dial_loop(&node, peer).await
        }),
        Err(e) => tracing::error!(%peer, error = %e, "cannot read peer"),
    }
}

/// Runs `dial` for `peer` unless a dialler for it is already running; one at a time.
fn spawn_once<F, Fut>(node: &Node, peer: NodeId, dial: F)
where
    F: FnOnce(Node) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let fresh = node
        .federation()
        .dialing
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(peer);
    if fresh {
        let node = node.clone();
        node.tasks().clone().spawn(async move {
            dial(node.clone()).await;
            node.federation()
                .dialing
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&peer);
        });
    }
}

/// Watches the outboxes and starts delivery for every node with directed events waiting.
pub(crate) async fn watch_outboxes(node: Node) {
    let mut changed = node.signals().outbox.subscribe();
    let shutdown = node.shutdown_signal();
    loop {
        match node.store().outbox_peers() {
            Ok(peers) => {
                for peer in peers {
                    if !node.federation().is_blocked(&peer) {
                        ensure_delivery(&node, peer);
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read outboxes"),
        }
        tokio::select! {
            _ = changed.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Delivers to a node that is not paired, while it has directed events waiting.
async fn directed_dial_loop(node: &Node, peer: NodeId) {
    let fed = node.federation();
    let mut changes = fed.changes.subscribe();
    let shutdown = node.shutdown_signal();
    let mut failures = 0u32;
    loop {
        if shutdown.is_cancelled() || fed.is_blocked(&peer) {
            return;
        }
        let connected = fed.connected(&peer).is_some();
        if node.store().outbox_len(&peer) == 0 && !connected {
            return;
        }
        if connected {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = changes.changed() => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        }
        let Ok(Some(announcement)) = node.store().announcement(&peer) else {
            tracing::info!(%peer, "directed events wait for a node with no known address");
            return;
        };
        let allow_private = node.config().dial_private_addresses();
        if let Err(e) =
            address::check(&announcement.address, Source::Announcement, allow_private).await
        {
            tracing::warn!(%peer, address = %announcement.address, error = %e, "not dialling the address a node announced");
            return;
        }
        let attempt = async {
            let wire = connect(&announcement.address, node.tls_client()).await?;
            run(
                node.clone(),
                wire,
                Role::Initiator,
                Intent::DialDirected(peer),
            )
            .await
        };
        let result = tokio::select! {
            r = attempt => r,
            _ = shutdown.cancelled() => return,
        };
        match result {
            Ok(()) | Err(LinkError::Duplicate) => failures = 0,
            Err(e) => {
                let delay = backoff(failures);
                failures = failures.saturating_add(1);
                tracing::info!(%peer, error = %e, retry_in = ?delay, "directed delivery link failed");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    }
}

/// The websocket address of a node's link endpoint.
pub(crate) fn link_url(address: &str) -> String {
    let base = address.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{base}/federation/v1/link")
}

/// Opens a websocket to `address` (TLS for `https://` addresses, checked with `tls`).
pub(crate) async fn connect(
    address: &str,
    tls: std::sync::Arc<rustls::ClientConfig>,
) -> Result<wire::Wire, LinkError> {
    let url = link_url(address);
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        &url,
        Some(config),
        false,
        Some(tokio_tungstenite::Connector::Rustls(tls)),
    );
    let (socket, _) = tokio::time::timeout(Duration::from_secs(10), connecting)
        .await
        .map_err(|_| LinkError::Connect(format!("{url}: timed out")))?
        .map_err(|e| LinkError::Connect(format!("{url}: {e}")))?;
    Ok(wire::from_tungstenite(socket))
}

/// Where a paired peer says it can be reached now: the address in its latest announcement
/// when it announced one after the pairing (the peer moved), else the pairing's address.
/// Announcements are signed by the peer itself, so no other node can move it.
pub(crate) fn current_address(node: &Node, record: &PeerRecord) -> Option<String> {
    announced_address(node, record).or_else(|| record.address.clone())
}

/// The address in the peer's announcement, when it is newer than the pairing.
fn announced_address(node: &Node, record: &PeerRecord) -> Option<String> {
    match node.store().announcement(&record.node_id) {
        Ok(Some(a)) if a.updated_at > record.added_at && !a.address.is_empty() => Some(a.address),
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(peer = %record.node_id, error = %e, "cannot read the peer's announcement");
            None
        }
    }
}

/// The address to dial a paired peer at: its announced one if that may be dialled, else
/// the one from the pairing (if that is a web address at all).
async fn dialable_address(node: &Node, record: &PeerRecord) -> Option<String> {
    let allow_private = node.config().dial_private_addresses();
    if let Some(announced) = announced_address(node, record) {
        match address::check(&announced, Source::Announcement, allow_private).await {
            Ok(()) => return Some(announced),
            Err(e) => {
                tracing::warn!(peer = %record.node_id, address = %announced, error = %e, "not dialling the address the peer announced");
            }
        }
    }
    let paired = record.address.clone()?;
    match address::check(&paired, Source::Pairing, allow_private).await {
        Ok(()) => Some(paired),
        Err(e) => {
            tracing::warn!(peer = %record.node_id, address = %paired, error = %e, "not dialling the peer's address");
            None
        }
    }
}

/// Notes a peer's new announced address once it has announced one, and tries it without
/// waiting out the backoff that the old address built up. The pairing's address is kept:
/// an announced one is checked as such each time it is dialled.
fn follow_announcement(node: &Node, mut record: PeerRecord) -> PeerRecord {
    let announced = announced_address(node, &record);
    if announced.is_none() || announced == record.announced {
        return record;
    }
    tracing::info!(
        peer = %record.node_id,
        from = record.announced.as_deref().or(record.address.as_deref()).unwrap_or("(none)"),
        to = announced.as_deref().unwrap_or_default(),
        "a peer announced a new address"
    );
    let noted = node.store().update_peer(&record.node_id, |r| {
        r.announced.clone_from(&announced);
        r.failures = 0;
        r.next_attempt_at = 0;
        r.clone()
    });
    match noted {
        Ok(Some(now)) => now,
        // Unpaired meanwhile: the loop finds it gone at its next read.
        Ok(None) => record,
        Err(e) => {
            tracing::error!(peer = %record.node_id, error = %e, "cannot record the peer's new address");
            record.announced = announced;
            record
        }
    }
}

fn backoff(failures: u32) -> Duration {
    let exp = BASE.saturating_mul(1 << failures.min(6));
    let capped = exp.min(CAP);
    // Jitter between 50% and 150%, so peers that failed together do not retry together.
    let mut byte = [0u8; 1];
    let jitter = match getrandom::fill(&mut byte) {
        Ok(()) => 0.5 + f64::from(byte[0]) / 255.0,
        Err(_) => 1.0,
    };
    capped.mul_f64(jitter).min(CAP)
}

async fn dial_loop(node: &Node, peer: NodeId) {
    let fed = node.federation();
    let mut changes = fed.changes.subscribe();
    let shutdown = node.shutdown_signal();
    // Right after a start, a peer is tried once at once whatever its backoff: this node's
    // shared-log writes wait to hear from it, or to learn it is down. After that attempt
    // the backoff holds, or a peer that refuses the link would be dialled in a tight loop.
    let mut tried = false;
    loop {
        if shutdown.is_cancelled() {
            return;
        }
        let record = match node.store().peer(&peer) {
            Ok(Some(r)) => follow_announcement(node, r),
            Ok(None) => return,
            Err(e) => {
                tracing::error!(%peer, error = %e, "cannot read peer");
                return;
            }
        };
        let now = Timestamp::now().as_millis();
        let wait = if fed.is_blocked(&peer)
            || fed.connected(&peer).is_some()
            || (record.address.is_none() && record.announced.is_none())
        {
            // Nothing to do until something changes.
            Some(Duration::from_secs(30))
        } else if record.next_attempt_at > now && (fed.own_log.is_ready() || tried) {
            Some(Duration::from_millis(record.next_attempt_at - now))
        } else {
            None
        };
        if let Some(wait) = wait {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = changes.changed() => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        }
        let Some(address) = dialable_address(node, &record).await else {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                _ = changes.changed() => {}
                _ = shutdown.cancelled() => return,
            }
            continue;
        };
        tried = true;
        let attempt = async {
            let wire = connect(&address, node.tls_client()).await?;
            run(node.clone(), wire, Role::Initiator, Intent::Dial(peer)).await
        };
        let result = tokio::select! {
            r = attempt => r,
            _ = shutdown.cancelled() => return,
        };
        // Written on the pairing as it is now: one removed while the link was up stays
        // removed (and this dialler stops at its next read).
        let failed = match &result {
            Ok(()) | Err(LinkError::Duplicate) => None,
            Err(e) => {
                if matches!(e, LinkError::Connect(_)) {
                    fed.own_log.unreachable(peer);
                }
                node.federation().stats(&peer).set_up(false);
                Some(e.to_string())
            }
        };
        let now = Timestamp::now().as_millis();
        let written = node.store().update_peer(&peer, |record| match &failed {
            None => {
                record.failures = 0;
                record.next_attempt_at = 0;
                None
            }
            Some(error) => {
                // A link that was up and then dropped starts the backoff again from the
                // beginning; repeated failures to connect back off further.
                record.failures = record.failures.saturating_add(1);
                let delay = backoff(record.failures - 1);
                record.next_attempt_at = now + delay.as_millis() as u64;
                record.last_error = Some(error.clone());
                Some(delay)
            }
        });
        match written {
            Ok(Some(Some(delay))) => {
                tracing::info!(%peer, error = failed.as_deref().unwrap_or_default(), retry_in = ?delay, "link to peer failed");
            }
            Ok(Some(None)) => {}
            Ok(None) => return,
            Err(e) => tracing::error!(%peer, error = %e, "cannot record link state"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for failures in 0..20 {
            let d = backoff(failures);
            assert!(d <= CAP, "{failures}: {d:?}");
            let nominal = BASE.saturating_mul(1 << failures.min(6)).min(CAP);
            assert!(d >= nominal.mul_f64(0.5), "{failures}: {d:?}");
        }
    }

    #[test]
    fn link_urls() {
        assert_eq!(
            link_url("http://127.0.0.1:7070/"),
            "ws://127.0.0.1:7070/federation/v1/link"
        );
        assert_eq!(
            link_url("https://k.example.org"),
            "wss://k.example.org/federation/v1/link"
        );
    }
}
