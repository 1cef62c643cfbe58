//! A node's life once opened: the domain's background work started ([`Node::start`]) and,
//! at shutdown, ended in order ([`Node::stop`]): writes drained, the search index and the
//! database flushed. Serving HTTP and federation links are started by `serve`, above.

use tokio::task::JoinHandle;

use super::open::Background;
use super::{Node, NodeError, accounts, backup, housekeeping, live, mentoring, notifications};

/// The background work [`Node::start`] started, for [`Node::stop`].
pub(crate) struct Running {
    ingest_thread: std::thread::JoinHandle<()>,
    fan_out: JoinHandle<()>,
    processor: JoinHandle<()>,
}

impl Node {
    /// Starts the domain's background work, each as a tracked task: live fan-out, the
    /// mentoring processor, housekeeping, the notifier and mailer, the control socket,
    /// and this node's announcement (it waits until the node has caught up with its own
    /// log). Fails only when the email relay is misconfigured.
    pub(crate) fn start(&self, background: Background) -> Result<Running, NodeError> {
        notifications::check_relay(self.config()).map_err(NodeError::Email)?;
        let Background {
            ingest_thread,
            live_rx,
            mentoring_tx,
        } = background;
        let tasks = self.tasks();
        let fan_out = tasks.spawn(live::fan_out(self.clone(), live_rx));
        let announcing = self.clone();
        tasks.spawn(async move {
            if let Err(e) = announcing.announce().await {
                tracing::error!(error = %e, "cannot announce this node's address");
            }
        });
        tasks.spawn(accounts::prepare_dummy_hash());
        let processor = tasks.spawn(mentoring::process::run(
            self.clone(),
            self.signals().stored.subscribe(),
            mentoring_tx,
        ));
        tasks.spawn(backup::control::serve(self.clone()));
        tasks.spawn(housekeeping::run(self.clone()));
        tasks.spawn(notifications::follow::run(self.clone()));
        tasks.spawn(notifications::mailer::run(self.clone()));
        tasks.spawn(housekeeping::keep_answers(self.clone()));
        Ok(Running {
            ingest_thread,
            fan_out,
            processor,
        })
    }

    /// Tells every task to stop, closes the links, drains and stops the ingest actor,
    /// stops the search indexer, lets the fan-out and the processor end, and flushes.
    pub(crate) async fn stop(&self, running: Running) {
        self.tasks().cancel_and_close();
        self.federation().close_all();
        self.ingest().stop().await;
        match tokio::task::spawn_blocking(move || running.ingest_thread.join()).await {
            Ok(Ok(())) => {}
            // The runtime itself is going away (an embedding test ended): nothing lost.
            Err(e) if e.is_cancelled() => tracing::debug!("runtime stopped while joining"),
            _ => tracing::error!("the ingest thread ended abnormally"),
        }
        let indexer = self.clone();
        match tokio::task::spawn_blocking(move || indexer.inner.indexer.stop()).await {
            Ok(()) => {}
            Err(e) if e.is_cancelled() => tracing::debug!("runtime stopped while joining"),
            Err(_) => tracing::error!("stopping the search indexer failed"),
        }
        if let Err(e) = running.fan_out.await {
            tracing::error!(error = %e, "the live fan-out task ended abnormally");
        }
        if let Err(e) = running.processor.await {
            tracing::error!(error = %e, "the mentoring processor ended abnormally");
        }
        if let Err(e) = self.store().flush_now() {
            tracing::error!(error = %e, "final flush failed");
        }
    }

    /// The certificate the listener serves and its TLS settings, when HTTPS is on.
    pub(crate) fn tls_server(
        &self,
    ) -> Option<(
        std::sync::Arc<rustls::ServerConfig>,
        std::sync::Arc<crate::tls::ServerCertificate>,
    )> {
        self.inner.tls_server.clone()
    }

    /// Gives up the node if no other holder remains (every task has ended): true when
    /// the database was closed by this call.
    pub(crate) fn close_if_last(self) -> bool {
        std::sync::Arc::into_inner(self.inner).is_some()
    }
}
