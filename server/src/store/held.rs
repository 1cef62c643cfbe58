//! `held`: events the rules are holding until something they refer to arrives.
//!
//! - `e` ‖ event id (32), `c` ‖ conversation id (16) or `n` ‖ node name → the arrival
//!   numbers (u64 BE each, in arrival order) of the events waiting for it; the events
//!   themselves are in `events`, marked held.
//! - `q` ‖ origin (32) → bytes (u64 BE) of that origin's directed events held, against the
//!   per-origin quota (removed when it falls to zero).
//! - `t` ‖ event id (32) → (): a directed event that waited and was then refused; it is
//!   dropped, and this mark makes what refers to it be refused rather than wait.
//!
//! Only the ingest path writes this tree, inside its transaction; point reads only (sled
//! transactions cannot scan).

use kindred_protocol::NodeId;

use super::origin_log::decode_u64;
use super::{Store, StoreError};
use crate::rules::Awaiting;

/// Key of the list of events waiting for `awaiting`.
pub(crate) fn awaiting_key(awaiting: &Awaiting) -> Vec<u8> {
    match awaiting {
        Awaiting::Event(id) => [&b"e"[..], id.as_bytes()].concat(),
        Awaiting::Conversation(c) => [&b"c"[..], c.as_bytes()].concat(),
        Awaiting::Name(name) => [b"n", name.as_bytes()].concat(),
    }
}

/// Key of the mark left by a directed event that waited here and was then refused (it
/// is dropped; 33 bytes stay so what refers to it is refused instead of waiting).
pub(crate) fn gone_key(id: &kindred_protocol::EventId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = b't';
    key[1..].copy_from_slice(id.as_bytes());
    key
}

/// Key of the highest arrival number a refused held event left when its record was
/// removed (u64 BE): the arrival log's end never goes below it as far as the
/// acknowledged mark is concerned (`store/acknowledged.rs`), so a log whose last record
/// was dropped this way is not taken for one that lost writes.
pub(crate) const REMOVED_END_KEY: &[u8] = b"z";

/// Key of an origin's held directed bytes.
pub(crate) fn quota_key(origin: &NodeId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = b'q';
    key[1..].copy_from_slice(origin.as_bytes());
    key
}

/// Decodes a list of arrival numbers.
pub(crate) fn decode_waiting(bytes: &[u8]) -> Result<Vec<u64>, StoreError> {
    bytes
        .chunks(8)
        .map(|chunk| decode_u64("held", chunk))
        .collect()
}

impl Store {
    /// Whether no event is held (then ingest skips looking for waiting events).
    pub(crate) fn nothing_held(&self) -> bool {
        let held = &self.trees().held;
        // A read error counts as "something may be held": only a few lookups are wasted.
        [b'e', b'c', b'n']
            .iter()
            .all(|p| held.scan_prefix([*p]).next().is_none())
    }

    /// The highest arrival number removed from the log's end ([`REMOVED_END_KEY`]; 0 when
    /// none was).
    pub(crate) fn removed_end(&self) -> Result<u64, StoreError> {
        match self.trees().held.get(REMOVED_END_KEY)? {
            None => Ok(0),
            Some(v) => decode_u64("held", &v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindred_protocol::EventId;
    use kindred_protocol::event::ConversationId;

    #[test]
    fn key_layouts_are_pinned() {
        let e = awaiting_key(&Awaiting::Event(EventId::from_bytes([1; 32])));
        assert_eq!(e[0], b'e');
        assert_eq!(&e[1..], &[1; 32]);
        let c = awaiting_key(&Awaiting::Conversation(ConversationId::from_bytes([2; 16])));
        assert_eq!(c, [&b"c"[..], &[2; 16]].concat());
        assert_eq!(awaiting_key(&Awaiting::Name("a.org".into())), b"na.org");
        assert_eq!(quota_key(&NodeId::from_bytes([3; 32]))[1..], [3; 32]);
        assert_eq!(
            decode_waiting(&[0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 1, 0]).unwrap(),
            vec![5, 256]
        );
    }
}
