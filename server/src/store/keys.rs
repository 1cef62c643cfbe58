//! Key encodings shared by the trees: big-endian numbers (so byte order is numeric order),
//! length-prefixed text, and the `(sort time, event id)` position used by every timeline.

use kindred_protocol::EventId;

/// A position in a time-ordered index: when, then in which order this node stored it
/// (so entries written in the same millisecond keep their order), then which event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    /// Sort time in ms: the origin's time, but never later than when this node got it.
    pub(crate) sort_ts: u64,
    /// This node's arrival number for the event (its `events` key).
    pub(crate) local_seq: u64,
    /// The event.
    pub(crate) id: EventId,
}

impl Position {
    pub(crate) const LEN: usize = 8 + 8 + 32;

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.sort_ts.to_be_bytes());
        out.extend_from_slice(&self.local_seq.to_be_bytes());
        out.extend_from_slice(self.id.as_bytes());
    }

    /// Reads a position from the last 48 bytes of a key.
    pub(crate) fn from_key_suffix(key: &[u8]) -> Option<Self> {
        let tail = key.get(key.len().checked_sub(Self::LEN)?..)?;
        let sort_ts = u64::from_be_bytes(tail[..8].try_into().ok()?);
        let local_seq = u64::from_be_bytes(tail[8..16].try_into().ok()?);
        let id = EventId::from_bytes(tail[16..].try_into().ok()?);
        Some(Self {
            sort_ts,
            local_seq,
            id,
        })
    }

    /// The opaque pagination cursor: `<sort_ts>.<local_seq>.<id hex>`.
    pub(crate) fn to_cursor(self) -> String {
        format!("{}.{}.{}", self.sort_ts, self.local_seq, self.id)
    }

    /// Parses a cursor made by [`Position::to_cursor`].
    pub(crate) fn from_cursor(cursor: &str) -> Option<Self> {
        let mut parts = cursor.splitn(3, '.');
        Some(Self {
            sort_ts: parts.next()?.parse().ok()?,
            local_seq: parts.next()?.parse().ok()?,
            id: parts.next()?.parse().ok()?,
        })
    }
}

/// `len (u8) ‖ bytes`: text that is a key prefix. Callers keep text under 256 bytes.
pub(crate) fn push_text(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let len = bytes.len().min(255);
    out.push(len as u8);
    out.extend_from_slice(&bytes[..len]);
}

/// `text ‖ position`, the key of topic and author timelines.
pub(crate) fn text_position(text: &str, pos: Position) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + text.len() + Position::LEN);
    push_text(&mut key, text);
    pos.encode_into(&mut key);
    key
}

/// `text` as a prefix, for scanning one topic's or author's timeline.
pub(crate) fn text_prefix(text: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + text.len());
    push_text(&mut key, text);
    key
}

/// Splits a key that starts with [`push_text`] text into the text and the rest.
pub(crate) fn split_text(key: &[u8]) -> Option<(String, &[u8])> {
    let len = usize::from(*key.first()?);
    let text = String::from_utf8(key.get(1..1 + len)?.to_vec()).ok()?;
    Some((text, key.get(1 + len..)?))
}

/// `event id ‖ position`, the key of thread indexes.
pub(crate) fn id_position(id: &EventId, pos: Position) -> Vec<u8> {
    let mut key = Vec::with_capacity(32 + Position::LEN);
    key.extend_from_slice(id.as_bytes());
    pos.encode_into(&mut key);
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_position_layout_is_pinned() {
        let pos = Position {
            sort_ts: 0x0102,
            local_seq: 3,
            id: EventId::from_bytes([0xaa; 32]),
        };
        let key = text_position("ab", pos);
        let mut expected = vec![
            2, b'a', b'b', 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 3,
        ];
        expected.extend_from_slice(&[0xaa; 32]);
        assert_eq!(key, expected);
        assert_eq!(Position::from_key_suffix(&key), Some(pos));
    }

    #[test]
    fn keys_sort_by_time_within_a_prefix() {
        let id = EventId::from_bytes([0; 32]);
        let at = |sort_ts, local_seq| Position {
            sort_ts,
            local_seq,
            id,
        };
        assert!(text_position("t", at(255, 9)) < text_position("t", at(256, 1)));
        assert!(text_position("t", at(256, 1)) < text_position("t", at(256, 2)));
    }

    #[test]
    fn cursors_round_trip() {
        let pos = Position {
            sort_ts: 42,
            local_seq: 7,
            id: EventId::from_bytes([7; 32]),
        };
        assert_eq!(Position::from_cursor(&pos.to_cursor()), Some(pos));
        assert_eq!(Position::from_cursor("nonsense"), None);
    }
}
