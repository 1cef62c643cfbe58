//! The node's clock, handed to it (a small trait) so tests can run one node with a clock
//! that is wrong, as an unlucky honest node's would be. Event times, arrival times and the
//! time in link hellos all come from it.

use std::time::{SystemTime, UNIX_EPOCH};

use kindred_protocol::Timestamp;

/// Where a node reads the time.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch, as this node believes.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// The system clock off by a fixed amount (ms; negative is slow), for tests of nodes whose
/// clock is wrong.
#[derive(Debug, Clone, Copy)]
pub struct SkewedClock(pub i64);

impl Clock for SkewedClock {
    fn now(&self) -> Timestamp {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        Timestamp(u64::try_from(now.saturating_add(self.0)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skewed_clock_is_off_by_its_skew() {
        let real = SystemClock.now().as_millis();
        let slow = SkewedClock(-7_200_000).now().as_millis();
        let off = real - slow;
        assert!((7_199_000..=7_201_000).contains(&off), "{off}");
    }
}
