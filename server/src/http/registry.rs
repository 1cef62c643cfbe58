//! The node's open client connections, capped so it never runs out of file descriptors.
//!
//! At the cap a new connection is still taken: the one that has waited longest without a
//! request in progress (a slow-header attacker has never finished one; an honest client
//! sends its headers at once) is closed to make room. Connections busy with a request, a
//! live stream or a federation link are never closed this way. Only when every connection
//! is busy is the newcomer turned away.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::Notify;

/// One open connection as the registry sees it.
struct Entry {
    address: IpAddr,
    /// Requests in progress, plus one for good once upgraded to a websocket.
    busy: u32,
    /// Since when it has had nothing in progress.
    idle_since: Instant,
    /// Told to close when shed.
    shed: Arc<Notify>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<u64, Entry>,
    /// Connections shed so far (in the logs).
    shed_total: u64,
}

/// Open connections, shared by the accept loop and every connection task.
#[derive(Clone)]
pub(crate) struct Registry {
    max: usize,
    next_id: Arc<AtomicU64>,
    inner: Arc<Mutex<Inner>>,
}

/// Registration of one connection; unregisters on drop (when the socket is closed, which
/// for an upgraded websocket is when the stream ends).
pub(crate) struct Connection {
    id: u64,
    registry: Registry,
    /// Fires when this connection is shed to make room.
    pub(crate) shed: Arc<Notify>,
}

/// A request in progress on a [`Connection`]; the connection is idle again when every one
/// of these is dropped, unless [`InFlight::upgraded`] was called.
pub(crate) struct InFlight {
    id: u64,
    registry: Registry,
    upgraded: bool,
}

impl Registry {
    /// A registry allowing `max` connections at once.
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            next_id: Arc::default(),
            inner: Arc::default(),
        }
    }

    /// The cap.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic elsewhere mid-update leaves counts that are still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new connection from `address`, shedding the longest-idle one if the cap
    /// is reached. `None` when every open connection is busy.
    pub(crate) fn open(&self, address: IpAddr) -> Option<Connection> {
        let mut inner = self.lock();
        if inner.entries.len() >= self.max {
            let victim = inner
                .entries
                .iter()
                .filter(|(_, e)| e.busy == 0)
                .min_by_key(|(_, e)| e.idle_since)
                .map(|(id, _)| *id)?;
            if let Some(e) = inner.entries.remove(&victim) {
                inner.shed_total += 1;
                let shed = inner.shed_total;
                tracing::debug!(address = %e.address, shed, "idle connection closed to make room");
                e.shed.notify_one();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shed = Arc::new(Notify::new());
        inner.entries.insert(
            id,
            Entry {
                address,
                busy: 0,
                idle_since: Instant::now(),
                shed: shed.clone(),
            },
        );
        Some(Connection {
            id,
            registry: self.clone(),
            shed,
        })
    }
}

impl Connection {
    /// Marks a request as started on this connection.
    pub(crate) fn begin(&self) -> InFlight {
        if let Some(e) = self.registry.lock().entries.get_mut(&self.id) {
            e.busy += 1;
        }
        InFlight {
            id: self.id,
            registry: self.registry.clone(),
            upgraded: false,
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.registry.lock().entries.remove(&self.id);
    }
}

impl InFlight {
    /// The request became a websocket: the connection stays busy until it closes.
    pub(crate) fn upgraded(mut self) {
        self.upgraded = true;
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if self.upgraded {
            return;
        }
        if let Some(e) = self.registry.lock().entries.get_mut(&self.id) {
            e.busy = e.busy.saturating_sub(1);
            if e.busy == 0 {
                e.idle_since = Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn at_the_cap_the_longest_idle_connection_makes_room() {
        let registry = Registry::new(3);
        let slow = registry.open(ip(66)).unwrap();
        let busy = registry.open(ip(1)).unwrap();
        let request = busy.begin();
        let stream = registry.open(ip(2)).unwrap();
        stream.begin().upgraded();
        assert_eq!(registry.lock().entries.len(), 3);

        // The newcomer gets in; the slow one, idle since it connected, is told to go.
        let newcomer = registry.open(ip(3)).unwrap();
        assert_eq!(registry.lock().entries.len(), 3);
        assert_eq!(registry.lock().shed_total, 1);
        drop(slow); // its task sees the notification and closes

        // Now all are busy or newer-idle: the newcomer is the idle one and is shed next.
        let another = registry.open(ip(4)).unwrap();
        assert_eq!(registry.lock().shed_total, 2);
        drop(newcomer);
        let _keep = another.begin();
        assert!(registry.open(ip(5)).is_none(), "every connection is busy");

        // A finished request makes its connection idle again.
        drop(request);
        assert!(registry.open(ip(5)).is_some());
        drop(stream);
    }
}
