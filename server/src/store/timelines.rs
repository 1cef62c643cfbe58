//! Time-ordered indexes, newest last in key order (read backwards for newest first):
//!
//! - `topic_timeline`: topic key (u8 len ‖ text) ‖ sort_ts (u64 BE) ‖ post id → ().
//! - `thread_replies`: thread post id (32) ‖ sort_ts ‖ reply id → the reply's origin (32),
//!   so counts can leave out blocked nodes (empty in entries written before schema 6).
//! - `author_timeline`: member id (u8 len ‖ text) ‖ sort_ts ‖ entry id → ().

use kindred_protocol::EventId;

use super::keys::{Position, id_position, text_prefix};
use super::{Store, StoreError};

/// Reads up to `limit` positions under `prefix`, newest first, strictly older than `before`.
fn newest_first(
    tree: &super::kv::Keyspace,
    prefix: &[u8],
    before: Option<Position>,
    limit: usize,
) -> Result<Vec<Position>, StoreError> {
    let upper = match before {
        Some(pos) => {
            let mut key = prefix.to_vec();
            pos.encode_into(&mut key);
            key
        }
        None => {
            let mut key = prefix.to_vec();
            key.extend_from_slice(&[0xff; Position::LEN]);
            key.push(0xff);
            key
        }
    };
    let mut out = Vec::with_capacity(limit);
    for item in tree.range(prefix.to_vec()..upper).rev() {
        let (key, _) = item?;
        match Position::from_key_suffix(&key) {
            Some(pos) => out.push(pos),
            None => {
                return Err(StoreError::corrupt(
                    "timeline",
                    std::io::Error::other("short key"),
                ));
            }
        }
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

impl Store {
    /// A topic's posts, newest first.
    pub(crate) fn topic_timeline(
        &self,
        topic_key: &str,
        before: Option<Position>,
        limit: usize,
    ) -> Result<Vec<Position>, StoreError> {
        newest_first(
            &self.trees().topic_timeline,
            &text_prefix(topic_key),
            before,
            limit,
        )
    }

    /// A member's posts and replies, newest first.
    pub(crate) fn author_timeline(
        &self,
        member: &str,
        before: Option<Position>,
        limit: usize,
    ) -> Result<Vec<Position>, StoreError> {
        newest_first(
            &self.trees().author_timeline,
            &text_prefix(member),
            before,
            limit,
        )
    }

    /// A thread's replies, oldest first.
    /// Up to `limit` replies of the thread, oldest first, strictly after `after`.
    pub(crate) fn thread_replies_after(
        &self,
        root: &EventId,
        after: Option<Position>,
        limit: usize,
    ) -> Result<Vec<Position>, StoreError> {
        let mut start = root.as_bytes().to_vec();
        let lower = match after {
            Some(pos) => {
                pos.encode_into(&mut start);
                std::ops::Bound::Excluded(start)
            }
            None => std::ops::Bound::Included(start),
        };
        let mut out = Vec::new();
        for item in self
            .trees()
            .thread_replies
            .range::<Vec<u8>, _>((lower, std::ops::Bound::Unbounded))
        {
            let (key, _) = item?;
            if !key.starts_with(root.as_bytes()) || out.len() == limit {
                break;
            }
            if let Some(pos) = Position::from_key_suffix(&key) {
                out.push(pos);
            }
        }
        Ok(out)
    }

    pub(crate) fn thread_replies(&self, root: &EventId) -> Result<Vec<EventId>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().thread_replies.scan_prefix(root.as_bytes()) {
            let (key, _) = item?;
            if let Some(pos) = Position::from_key_suffix(&key) {
                out.push(pos.id);
            }
        }
        Ok(out)
    }
}

impl Store {
    /// How many replies a thread shows, leaving out those whose origin `hidden` says so
    /// (blocked nodes). Entries written before replies carried their origin are looked up.
    pub(crate) fn reply_count_except(
        &self,
        root: &EventId,
        hidden: impl Fn(&kindred_protocol::NodeId) -> bool,
    ) -> Result<u64, StoreError> {
        let mut n = 0;
        for item in self.trees().thread_replies.scan_prefix(root.as_bytes()) {
            let (key, value) = item?;
            let origin = match <[u8; 32]>::try_from(value.as_ref()) {
                Ok(bytes) => Some(kindred_protocol::NodeId::from_bytes(bytes)),
                Err(_) => match Position::from_key_suffix(&key) {
                    Some(pos) => self.event(&pos.id)?.and_then(|e| e.origin().ok()),
                    None => None,
                },
            };
            if !origin.is_some_and(|o| hidden(&o)) {
                n += 1;
            }
        }
        Ok(n)
    }
}

/// Key of a reply in `thread_replies`.
pub(crate) fn thread_key(root: &EventId, pos: Position) -> Vec<u8> {
    id_position(root, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_key_layout_is_pinned() {
        let root = EventId::from_bytes([1; 32]);
        let pos = Position {
            sort_ts: 0x0102,
            local_seq: 3,
            id: EventId::from_bytes([4; 32]),
        };
        let key = thread_key(&root, pos);
        // The thread's root, then the reply's position: sort time and arrival number big
        // endian (so keys sort by time), then its id.
        assert_eq!(&key[..32], &[1; 32]);
        assert_eq!(&key[32..40], &[0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(&key[40..48], &[0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(&key[48..], &[4; 32]);
        assert_eq!(Position::from_key_suffix(&key), Some(pos));
    }
}
