//! Housekeeping that runs on a timer: erasing accounts whose deletion grace period is over
//! and applying the node's retention settings (`retention.rs`).

use std::time::Duration;

use super::Node;

/// How often housekeeping runs (and once shortly after start).
const EVERY: Duration = Duration::from_secs(10 * 60);

/// Runs housekeeping until the node shuts down. The first round waits until the node has
/// heard from its peers how far they hold its log (so its links, and what they say of its
/// clock, are known).
pub(crate) async fn run(node: Node) {
    let shutdown = node.shutdown_signal();
    let mut ready = node.federation().own_log.ready();
    tokio::select! {
        _ = ready.wait_for(|r| *r) => {}
        _ = shutdown.cancelled() => return,
    }
    let mut first = true;
    loop {
        let wait = if first { Duration::from_secs(5) } else { EVERY };
        first = false;
        let wake = node.signals().housekeeping.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = wake.notified() => {}
            _ = shutdown.cancelled() => return,
        }
        if shutdown.is_cancelled() {
            return;
        }
        once(&node).await;
    }
}

/// Writes idempotency answers that have waited in memory a second or more, every second
/// until the node shuts down: a retry after a crash then still finds its answer (the
/// batches written as answers come cover busy moments, this the quiet ones).
pub(crate) async fn keep_answers(node: Node) {
    let shutdown = node.shutdown_signal();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = shutdown.cancelled() => return,
        }
        if !node.store().idempotent_due(node.now().0) {
            continue;
        }
        let store = node.store().clone();
        match tokio::task::spawn_blocking(move || store.idempotent_persist()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "writing idempotency answers failed"),
            Err(e) => tracing::warn!(error = %e, "writing idempotency answers stopped"),
        }
    }
}

impl Node {
    /// Why this node's clock cannot be trusted for what removes data by date (retention,
    /// a deletion's grace period): every paired node whose clock it knows says it is more
    /// than `federation.clock_warning_ms` off (so a single partner with a wrong clock
    /// cannot hold erasures up while others agree with this node). `None` when no peer
    /// says so, or none has been heard from (a node alone must keep its clock right:
    /// `kindred doctor`, NTP).
    pub(crate) fn clock_in_doubt(&self) -> Option<String> {
        let limit = self.config().federation.clock_warning_ms;
        let fed = self.federation();
        let mut far = Vec::new();
        let mut known = 0;
        for peer in self.store().peers().ok()? {
            let stats = fed.stats(&peer.node_id);
            let offset = *stats.clock_offset.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(offset) = offset {
                known += 1;
                if offset.unsigned_abs() > limit {
                    far.push(format!("{} ({offset} ms)", peer.name));
                }
            }
        }
        (known > 0 && far.len() == known).then(|| {
            format!(
                "every paired node's clock is far from this node's: {}",
                far.join(", ")
            )
        })
    }
}

/// One round; failures are logged and tried again next round.
pub(crate) async fn once(node: &Node) {
    for problem in node.disk_status().problems() {
        tracing::warn!(data_dir = %node.config().server.data_dir.display(), "{problem}");
    }
    if let Err(e) = node.store().idempotent_expire(node.now().0) {
        tracing::warn!(error = %e, "removing expired idempotency keys failed");
    }
    match node.finish_redactions().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(entries = n, "published redactions a stop had cut short"),
        Err(e) => tracing::warn!(error = %e, "publishing owed redactions failed"),
    }
    match node.end_suspensions(node.now().0).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(members = n, "suspensions ended"),
        Err(e) => tracing::warn!(error = %e, "ending suspensions whose time is up failed"),
    }
    match node.end_breaks().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(members = n, "breaks ended"),
        Err(e) => tracing::warn!(error = %e, "ending breaks whose time is up failed"),
    }
    if let Err(e) = node.erase_due_accounts().await {
        tracing::warn!(error = %e, "erasing accounts whose grace period is over failed");
    }
    let keep = node.now().0.saturating_sub(super::notifications::KEEP_MS);
    match node.store().prune_notes(keep) {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            notifications = n,
            "removed notifications older than 90 days"
        ),
        Err(e) => tracing::warn!(error = %e, "removing old notifications failed"),
    }
    if let Err(e) = node.apply_retention().await {
        tracing::warn!(error = %e, "applying the retention settings failed");
    }
}
