//! The node's background work, tracked: every task that outlives a request (dialers, link
//! sessions, live streams, housekeeping, the notifier) is started here, so that shutdown is
//! three steps with no guessing: cancel (every task's shutdown signal fires), close (no
//! new work is waited for), wait (for the tracked tasks to end, bounded by the caller).
//! Work that runs in a task someone else started (a websocket upgrade, which the HTTP
//! server spawns) holds a [`TaskTrackerToken`] for as long as it runs.

use std::future::Future;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::{TaskTracker, task_tracker::TaskTrackerToken};

/// Tracked tasks and the signal that tells them to stop. Cheap to clone (shared).
#[derive(Clone, Default)]
pub(crate) struct Tasks {
    tracker: TaskTracker,
    cancel: CancellationToken,
}

impl Tasks {
    /// Starts `work` as a tracked task.
    pub(crate) fn spawn<F>(&self, work: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.tracker.spawn(work)
    }

    /// Counts work running in a task started elsewhere (a websocket upgrade) as tracked
    /// until the token is dropped.
    pub(crate) fn token(&self) -> TaskTrackerToken {
        self.tracker.token()
    }

    /// Fires when the node shuts down. Tasks select on `cancelled()` and end.
    pub(crate) fn shutdown_signal(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Step one and two of shutdown: tells every task to stop and stops waiting for
    /// new ones.
    pub(crate) fn cancel_and_close(&self) {
        self.cancel.cancel();
        self.tracker.close();
    }

    /// Step three: until every tracked task (and token) has ended.
    pub(crate) async fn wait(&self) {
        self.tracker.wait().await;
    }

    /// How many tracked tasks are still running (for the shutdown log).
    pub(crate) fn running(&self) -> usize {
        self.tracker.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_cancels_then_waits_for_tasks_and_tokens() {
        let tasks = Tasks::default();
        let signal = tasks.shutdown_signal();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        tasks.spawn(async move {
            signal.cancelled().await;
            let _ = done_tx.send(());
        });
        let token = tasks.token();
        assert_eq!(tasks.running(), 2);
        tasks.cancel_and_close();
        done_rx.await.unwrap();
        // The token still counts: an upgraded websocket still running.
        let waiting = tokio::spawn({
            let tasks = tasks.clone();
            async move { tasks.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(token);
        waiting.await.unwrap();
        assert_eq!(tasks.running(), 0);
    }
}
