//! Keyed token buckets for login attempts and request rates, and counters of what each
//! client holds open. In memory: limits reset when the node restarts, which is acceptable.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Allows `capacity` actions per key, refilled evenly over `period`.
pub(crate) struct RateLimiter<K> {
    /// Bucket size.
    capacity: f64,
    /// Tokens added per second.
    per_second: f64,
    /// Buckets by key, with their last refill time.
    buckets: Mutex<HashMap<K, (f64, Instant)>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    pub(crate) fn new(capacity: u32, period: Duration) -> Self {
        let capacity = f64::from(capacity.max(1));
        Self {
            capacity,
            per_second: capacity / period.as_secs_f64().max(0.001),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; false when none is left (the caller refuses the action).
    pub(crate) fn try_take(&self, key: &K) -> bool {
        self.take_at(key, Instant::now())
    }

    /// Puts back a token taken for `key` for an action that turned out not to count (a
    /// sign-in attempt that succeeded), up to the bucket's size.
    pub(crate) fn give_back(&self, key: &K) {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((tokens, at)) = buckets.get_mut(key) {
            *tokens = (self.refilled(*tokens, *at, now) + 1.0).min(self.capacity);
            *at = now;
        }
    }

    fn refilled(&self, tokens: f64, at: Instant, now: Instant) -> f64 {
        (tokens + now.duration_since(at).as_secs_f64() * self.per_second).min(self.capacity)
    }

    fn take_at(&self, key: &K, now: Instant) -> bool {
        // A poisoned lock only means another thread panicked mid-update of a counter;
        // the counts are still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 100_000 {
            // Forget keys whose buckets are full again, so the map cannot grow forever.
            buckets.retain(|_, (tokens, at)| self.refilled(*tokens, *at, now) < self.capacity);
        }
        let (tokens, at) = buckets.entry(key.clone()).or_insert((self.capacity, now));
        let available = self.refilled(*tokens, *at, now);
        *at = now;
        if available >= 1.0 {
            *tokens = available - 1.0;
            true
        } else {
            *tokens = available;
            false
        }
    }
}

/// How many of something each key holds now.
pub(crate) struct Counter<K> {
    counts: Arc<Mutex<HashMap<K, u32>>>,
}

impl<K> Default for Counter<K> {
    fn default() -> Self {
        Self {
            counts: Arc::default(),
        }
    }
}

/// One held unit of a [`Counter`]; given back on drop.
pub(crate) struct Slot<K: Hash + Eq> {
    counts: Arc<Mutex<HashMap<K, u32>>>,
    key: K,
}

impl<K: Hash + Eq + Clone> Counter<K> {
    /// How many are held in all.
    pub(crate) fn total(&self) -> u64 {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts.values().map(|c| u64::from(*c)).sum()
    }

    /// Takes one for `key`, or `None` when it already holds `max`.
    pub(crate) fn take(&self, key: K, max: u32) -> Option<Slot<K>> {
        // A poisoned lock only means another thread panicked mid-update of a count.
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let count = counts.entry(key.clone()).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: self.counts.clone(),
            key,
        })
    }
}

impl<K: Hash + Eq> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_after_capacity_then_refills() {
        let limiter = RateLimiter::new(3, Duration::from_secs(3));
        let start = Instant::now();
        assert!((0..3).all(|_| limiter.take_at(&"a", start)));
        assert!(!limiter.take_at(&"a", start));
        assert!(limiter.take_at(&"b", start), "keys are independent");
        assert!(limiter.take_at(&"a", start + Duration::from_millis(1100)));
    }

    #[test]
    fn counts_are_given_back() {
        let counter = Counter::default();
        let a = counter.take("a", 2).unwrap();
        let _b = counter.take("a", 2).unwrap();
        assert!(counter.take("a", 2).is_none());
        assert!(counter.take("other", 2).is_some());
        drop(a);
        assert!(counter.take("a", 2).is_some());
    }
}
