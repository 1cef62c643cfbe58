//! Running an opened node until it is told to stop: the domain's background work
//! (`Node::start`), federation links, the metrics listener and the HTTP app on the
//! listener; then shutdown in three steps: cancel (every tracked task's signal fires and
//! the listener stops accepting), close, wait (bounded), after which the database is
//! closed and, if an erasure asked for it, compacted.

use std::time::Duration;

use tokio::net::TcpListener;

use crate::node::{Node, NodeError, Opened};

/// How long shutdown waits for tracked tasks (websockets, links, dialers) to end before
/// it stops without them.
const TASKS_GRACE: Duration = Duration::from_secs(10);

/// Serves HTTP on `listener` until `shutdown` completes, then stops accepting, lets
/// in-flight requests finish, drains the ingest queue and flushes the database.
///
/// # Errors
/// A misconfigured email relay, a metrics address that cannot be bound, storage errors
/// starting federation, or the listener failing.
pub async fn serve(
    opened: Opened,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    let Opened {
        node, background, ..
    } = opened;
    let running = node.start(background)?;
    // Told to stop from outside, or stopping by itself (the listener failed): either
    // way every task hears it.
    let tasks = node.tasks().clone();
    let stopping = node.shutdown_signal();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown => tasks.cancel_and_close(),
            () = stopping.cancelled() => {}
        }
    });
    let served = match start_serving(&node).await {
        Ok(settings) => {
            let app = crate::app::app(node.clone());
            crate::http::serve(listener, app, settings, node.shutdown_signal()).await
        }
        Err(e) => {
            node.stop(running).await;
            return Err(e);
        }
    };
    node.stop(running).await;
    wait_for_tasks(&node).await;
    let db = node.config().server.data_dir.join("db");
    if node.close_if_last() {
        // The database is closed: erased content can be taken out of its files now rather
        // than at the next start.
        match tokio::task::spawn_blocking(move || crate::store::compact_if_due(&db)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "compacting after an erasure failed; the next start tries again")
            }
            Err(e) => tracing::debug!(error = %e, "runtime stopped while compacting"),
        }
    }
    served.map_err(NodeError::Serve)
}

/// Federation links, the metrics listener and the certificate watcher; the settings the
/// HTTP listener runs with.
async fn start_serving(node: &Node) -> Result<crate::http::ServeSettings, NodeError> {
    node.start_federation()?;
    if let Some(address) = node.config().metrics.listen {
        let metrics = TcpListener::bind(address).await.map_err(|e| {
            NodeError::Serve(std::io::Error::new(
                e.kind(),
                format!("cannot listen for metrics on {address}: {e}"),
            ))
        })?;
        tracing::info!(address = %address, "metrics at /metrics");
        if !address.ip().is_loopback() {
            tracing::warn!(address = %address, "metrics listen on an address other machines may reach: they name this node's peers and show its activity; keep them to loopback or a private network");
        }
        node.tasks()
            .spawn(crate::api::serve_metrics(node.clone(), metrics));
    }
    let tls = node.tls_server().map(|(tls, certificate)| {
        let every = Duration::from_secs(node.config().tls.reload_check_seconds);
        node.tasks().spawn(crate::tls::watch_certificate(
            certificate,
            every,
            node.shutdown_signal(),
        ));
        tokio_rustls::TlsAcceptor::from(tls)
    });
    let limits = &node.config().limits;
    let open_files = crate::http::open_files::raise_limit();
    let cap = crate::http::open_files::connection_cap(open_files, limits.max_connections);
    tracing::info!(open_files, connections = cap, "client connection cap");
    Ok(crate::http::ServeSettings {
        header_timeout: Duration::from_secs(limits.header_seconds),
        registry: crate::http::registry::Registry::new(cap),
        tls,
    })
}

/// Waits (at most [`TASKS_GRACE`]) for the tracked tasks to see the shutdown and end, so
/// that the database is closed and its folder free for the next opener when `serve`
/// returns.
async fn wait_for_tasks(node: &Node) {
    let started = tokio::time::Instant::now();
    if tokio::time::timeout(TASKS_GRACE, node.tasks().wait())
        .await
        .is_err()
    {
        tracing::warn!(
            running = node.tasks().running(),
            "tasks still running after 10 s; stopping without them"
        );
    }
    tracing::info!(waited = ?started.elapsed(), "node stopped");
}
