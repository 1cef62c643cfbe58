//! The per-origin shared log.
//!
//! - `origin_runs`: origin (32) ‖ first seq (u64 BE) → first local seq (u64 BE) ‖ count
//!   (u64 BE): a run of an origin's events stored at consecutive arrival numbers. A
//!   catch-up stores hundreds of one origin's events in a row, so one key stands for all
//!   of them instead of one key per event (a fifth of the ingest's writes).
//! - `origin_head`: origin (32) → highest contiguous seq held (u64 BE).

use kindred_protocol::{NodeId, SignedEvent};

use super::events::signed_in;
use super::{Store, StoreError};

/// Key of a run (or a lookup bound) in `origin_runs`.
pub(crate) fn origin_seq_key(origin: &NodeId, seq: u64) -> [u8; 40] {
    let mut key = [0u8; 40];
    key[..32].copy_from_slice(origin.as_bytes());
    key[32..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// The origin and sequence number in an `origin_seq_key`.
pub(crate) fn split_origin_seq_key(
    tree: &'static str,
    key: &[u8],
) -> Result<(NodeId, u64), StoreError> {
    let bad = || StoreError::corrupt(tree, std::io::Error::other("bad origin and seq key"));
    let key = <&[u8; 40]>::try_from(key).map_err(|_| bad())?;
    let origin = <[u8; 32]>::try_from(&key[..32]).map_err(|_| bad())?;
    Ok((NodeId::from_bytes(origin), decode_u64(tree, &key[32..])?))
}

pub(crate) fn decode_u64(tree: &'static str, bytes: &[u8]) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|e| StoreError::corrupt(tree, e))
}

/// Consecutive events of one origin (`first_seq`, `first_seq + 1`, ...) stored at
/// consecutive arrival numbers (`first_local`, `first_local + 1`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    /// The origin's sequence number of the first event.
    pub(crate) first_seq: u64,
    /// The first event's arrival number.
    pub(crate) first_local: u64,
    /// How many events.
    pub(crate) count: u64,
}

impl Run {
    /// A run of one event.
    pub(crate) fn new(seq: u64, local: u64) -> Self {
        Self {
            first_seq: seq,
            first_local: local,
            count: 1,
        }
    }

    /// Adds the event if it continues the run; false if it does not.
    pub(crate) fn extend(&mut self, seq: u64, local: u64) -> bool {
        let continues = seq == self.first_seq.saturating_add(self.count)
            && local == self.first_local.saturating_add(self.count);
        if continues {
            self.count += 1;
        }
        continues
    }

    /// The origin's sequence number of the run's last event.
    pub(crate) fn last_seq(&self) -> u64 {
        self.first_seq + self.count.saturating_sub(1)
    }

    /// The arrival number of `seq`, if the run holds it.
    pub(crate) fn local_of(&self, seq: u64) -> Option<u64> {
        let offset = seq.checked_sub(self.first_seq)?;
        (offset < self.count).then(|| self.first_local + offset)
    }

    /// The stored value (the key is `origin_seq_key(origin, first_seq)`).
    pub(crate) fn value(&self) -> [u8; 16] {
        let mut value = [0u8; 16];
        value[..8].copy_from_slice(&self.first_local.to_be_bytes());
        value[8..].copy_from_slice(&self.count.to_be_bytes());
        value
    }

    /// Decodes a stored run.
    pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<Self, StoreError> {
        let (_, first_seq) = split_origin_seq_key("origin_runs", key)?;
        if value.len() != 16 {
            return Err(StoreError::corrupt(
                "origin_runs",
                std::io::Error::other("bad run"),
            ));
        }
        Ok(Self {
            first_seq,
            first_local: decode_u64("origin_runs", &value[..8])?,
            count: decode_u64("origin_runs", &value[8..])?,
        })
    }
}

impl Store {
    /// Highest contiguous sequence number held for `origin` (0 when none).
    pub(crate) fn origin_head(&self, origin: &NodeId) -> Result<u64, StoreError> {
        match self.trees().origin_head.get(origin.as_bytes())? {
            None => Ok(0),
            Some(v) => decode_u64("origin_head", &v),
        }
    }

    /// Event number `seq` from `origin`, if held.
    pub(crate) fn event_at(
        &self,
        origin: &NodeId,
        seq: u64,
    ) -> Result<Option<SignedEvent>, StoreError> {
        let t = self.trees();
        // The run holding `seq` is the last one starting at or before it.
        let run = t
            .origin_runs
            .last_in(origin_seq_key(origin, 0)..=origin_seq_key(origin, seq))?;
        let Some((key, value)) = run else {
            return Ok(None);
        };
        let Some(local) = Run::decode(&key, &value)?.local_of(seq) else {
            return Ok(None);
        };
        match t.events.get(local.to_be_bytes())? {
            None => Ok(None),
            Some(record) => signed_in(&record).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn origin_seq_key_layout_is_pinned() {
        let key = origin_seq_key(&NodeId::from_bytes([9; 32]), 258);
        assert_eq!(&key[..32], &[9; 32]);
        assert_eq!(&key[32..], &[0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn run_value_layout_is_pinned() {
        let run = Run {
            first_seq: 3,
            first_local: 258,
            count: 2,
        };
        assert_eq!(
            run.value(),
            [0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 2]
        );
        let key = origin_seq_key(&NodeId::from_bytes([1; 32]), 3);
        assert_eq!(Run::decode(&key, &run.value()).unwrap(), run);
        assert!(Run::decode(&key[..39], &run.value()).is_err());
        assert!(Run::decode(&key, &run.value()[..15]).is_err());
    }

    #[test]
    fn a_run_extends_only_with_the_next_event_at_the_next_arrival() {
        let mut run = Run::new(10, 100);
        assert!(run.extend(11, 101));
        assert!(!run.extend(13, 102), "a gap in the origin's numbers");
        assert!(!run.extend(12, 103), "another event arrived in between");
        assert!(run.extend(12, 102));
        assert_eq!(run.count, 3);
        assert_eq!(run.local_of(9), None);
        assert_eq!(run.local_of(10), Some(100));
        assert_eq!(run.local_of(12), Some(102));
        assert_eq!(run.local_of(13), None);
    }

    proptest! {
        /// However an origin's events interleave with others', the runs written for them
        /// map every sequence number to the arrival number it was stored at.
        #[test]
        fn runs_map_every_event_to_its_arrival(others in proptest::collection::vec(0u64..3, 1..200)) {
            let mut runs: Vec<Run> = Vec::new();
            let mut stored = Vec::new();
            let mut local = 0;
            for (seq, gap) in (1..).zip(&others) {
                local += 1 + gap;
                stored.push((seq, local));
                let extended = runs.last_mut().is_some_and(|r| r.extend(seq, local));
                if !extended {
                    runs.push(Run::new(seq, local));
                }
            }
            for (seq, local) in stored {
                let run = runs.iter().rev().find(|r| r.first_seq <= seq).unwrap();
                prop_assert_eq!(run.local_of(seq), Some(local));
            }
        }
    }
}
