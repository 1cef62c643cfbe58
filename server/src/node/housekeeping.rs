//! Housekeeping that runs on a timer: erasing accounts whose deletion grace period is over
//! and applying the node's retention settings (`retention.rs`).

use std::time::Duration;

use super::Node;

/// How often housekeeping runs (and once shortly after start).
const EVERY: Duration = Duration::from_secs(10 * 60);

/// Runs housekeeping until the node shuts down.
pub(crate) async fn run(node: Node) {
    let mut shutdown = node.shutdown_signal();
    let mut first = true;
    loop {
        let wait = if first { Duration::from_secs(5) } else { EVERY };
        first = false;
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        if *shutdown.borrow() {
            return;
        }
        once(&node).await;
    }
}

/// One round; failures are logged and tried again next round.
pub(crate) async fn once(node: &Node) {
    if let Err(e) = node.erase_due_accounts().await {
        tracing::warn!(error = %e, "erasing accounts whose grace period is over failed");
    }
    if let Err(e) = node.apply_retention().await {
        tracing::warn!(error = %e, "applying the retention settings failed");
    }
}
