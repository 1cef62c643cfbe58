//! `conflicts`: what the admin must see on the Peers page, one record per origin and kind
//! (so a hostile node cannot grow it), written by the ingest path:
//!
//! - `f` ‖ origin (32) → [`Conflict`] (JSON): the origin signed two different events with
//!   the same sequence number (a node restored from an old backup that wrote before it
//!   caught up, or a node lying);
//! - `n` ‖ origin (32) → [`Conflict`] (JSON): the origin wrote as, or announced, a node
//!   name bound to another node.

use kindred_protocol::{EventId, NodeId};
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, from_json};

/// Which kind of conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConflictKind {
    /// Two events with the same origin and sequence number.
    Fork,
    /// A claim on a name bound elsewhere.
    NameClaim,
    /// A peer brought as many nodes this node had never heard of as it may in a day.
    Introductions,
}

impl ConflictKind {
    fn prefix(self) -> u8 {
        match self {
            ConflictKind::Fork => b'f',
            ConflictKind::NameClaim => b'n',
            ConflictKind::Introductions => b'i',
        }
    }
}

/// One origin's conflicts of one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Conflict {
    /// Which kind.
    pub(crate) kind: ConflictKind,
    /// The node at fault (or, for a fork, the node whose log forked).
    pub(crate) origin: NodeId,
    /// How many times it was seen.
    pub(crate) count: u64,
    /// What was seen last, in words.
    pub(crate) detail: String,
    /// The event held here and the one refused (forks), or the refused event (claims).
    pub(crate) events: Vec<EventId>,
    /// First seen (ms).
    pub(crate) first_seen: u64,
    /// Last seen (ms).
    pub(crate) last_seen: u64,
}

pub(crate) fn conflict_key(kind: ConflictKind, origin: &NodeId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = kind.prefix();
    key[1..].copy_from_slice(origin.as_bytes());
    key
}

/// A conflict record after one more sighting (`existing` is the record so far).
pub(crate) fn sighted(
    existing: Option<Conflict>,
    kind: ConflictKind,
    origin: &NodeId,
    detail: String,
    events: Vec<EventId>,
    now: u64,
) -> Conflict {
    match existing {
        Some(mut c) => {
            c.count += 1;
            c.detail = detail;
            c.events = events;
            c.last_seen = now;
            c
        }
        None => Conflict {
            kind,
            origin: *origin,
            count: 1,
            detail,
            events,
            first_seen: now,
            last_seen: now,
        },
    }
}

impl Store {
    /// Records a conflict seen outside the ingest path (a pairing refused because the
    /// redeemer's name belongs to another node).
    pub(crate) fn note_conflict(
        &self,
        kind: ConflictKind,
        origin: &NodeId,
        detail: String,
        now: u64,
    ) -> Result<(), StoreError> {
        let key = conflict_key(kind, origin);
        let tree = &self.writer().conflicts;
        let existing = tree
            .get(key)?
            .map(|v| from_json("conflicts", &v))
            .transpose()?;
        let record = sighted(existing, kind, origin, detail, Vec::new(), now);
        tree.insert(key, super::to_json("conflicts", &record)?)?;
        Ok(())
    }

    /// Every conflict recorded, oldest first.
    pub(crate) fn conflicts(&self) -> Result<Vec<Conflict>, StoreError> {
        let mut out = self
            .trees()
            .conflicts
            .iter()
            .map(|item| {
                let (_, v) = item?;
                from_json("conflicts", &v)
            })
            .collect::<Result<Vec<Conflict>, _>>()?;
        out.sort_by_key(|c| c.first_seen);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layout_is_pinned() {
        let key = conflict_key(ConflictKind::Fork, &NodeId::from_bytes([4; 32]));
        assert_eq!(key[0], b'f');
        assert_eq!(&key[1..], &[4; 32]);
        assert_eq!(
            conflict_key(ConflictKind::NameClaim, &NodeId::from_bytes([0; 32]))[0],
            b'n'
        );
    }
}
