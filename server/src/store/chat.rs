//! The `chat` tree: conversations, their messages and participants' state, in one tree
//! with a one-byte prefix per record type (one tree keeps the ingest transaction within
//! sled's limit of trees per transaction). Only conversations with a participant on this
//! node are ever stored here.
//!
//! - `c` ‖ conversation (16) → [`ConversationRecord`] (JSON)
//! - `x` ‖ conversation (16) ‖ arrival time (u64 BE) ‖ local seq (u64 BE) → message id:
//!   conversations are in the order this node received their messages, never the
//!   sender's clock (`docs/protocol.md`, Ordering)
//! - `m` ‖ member (u8 len ‖ text) ‖ conversation (16) → [`ParticipantState`] (JSON), for
//!   this node's members only
//! - `r` ‖ conversation (16) ‖ member (u8 len ‖ text) → [`MarkerRecord`] (JSON)
//! - `k` ‖ member (u8 len ‖ text) ‖ blocked member (u8 len ‖ text) → ()

use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::ConversationKind;
use kindred_protocol::{EventId, MemberId};
use serde::{Deserialize, Serialize};

use super::keys::push_text;
use super::{Store, StoreError, from_json};

/// A conversation's current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConversationRecord {
    /// Direct or group.
    pub(crate) kind: ConversationKind,
    /// The group's name.
    pub(crate) name: String,
    /// Everyone in it.
    pub(crate) members: Vec<MemberId>,
    /// Who may change the membership.
    pub(crate) admins: Vec<MemberId>,
    /// Effective time of the update this state comes from (ms: its origin's, capped at
    /// arrival); newer updates replace it.
    pub(crate) updated_at: u64,
    /// The update this state comes from (ties go to the larger id).
    #[serde(default)]
    pub(crate) update: Option<kindred_protocol::EventId>,
    /// When the latest message arrived here (ms).
    pub(crate) last_activity: Option<u64>,
}

impl ConversationRecord {
    /// The group as it stands with erased members left out (`docs/protocol.md`,
    /// "Erasure"): they are no longer in it; a group left without an admin has every
    /// remaining member as its admins; a name from an erased member's update goes. Worked
    /// out whenever the state is read, so it is the same on every node whatever arrived
    /// first. One-to-one conversations keep both people.
    pub(crate) fn leave_out(&mut self, erased: &[MemberId], name_theirs: bool) {
        if self.kind != ConversationKind::Group {
            return;
        }
        if !erased.is_empty() {
            self.members.retain(|m| !erased.contains(m));
            self.admins.retain(|m| !erased.contains(m));
            if self.admins.is_empty() {
                self.admins = self.members.clone();
            }
        }
        if name_theirs {
            self.name.clear();
        }
    }
}

/// A local member's own state in a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ParticipantState {
    /// Muted: no live notifications counted as unread.
    pub(crate) muted: bool,
    /// Position (sort_ts, local seq) of the last message read.
    pub(crate) last_read: Option<(u64, u64)>,
    /// This member's profile was sent to the conversation's nodes.
    #[serde(default)]
    pub(crate) profile_shared: bool,
}

/// A participant's shared read position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MarkerRecord {
    /// The last message read.
    pub(crate) up_to: EventId,
    /// Its position here.
    pub(crate) pos: (u64, u64),
    /// The marker event's effective time and id: the newest marker a participant sent
    /// wins, so every node shows the same one whatever order messages arrived in.
    #[serde(default)]
    pub(crate) version: Option<(u64, EventId)>,
}

pub(crate) fn conversation_key(c: &ConversationId) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = b'c';
    key[1..].copy_from_slice(c.as_bytes());
    key
}

pub(crate) fn message_key(c: &ConversationId, sort_ts: u64, local_seq: u64) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = b'x';
    key[1..17].copy_from_slice(c.as_bytes());
    key[17..25].copy_from_slice(&sort_ts.to_be_bytes());
    key[25..].copy_from_slice(&local_seq.to_be_bytes());
    key
}

pub(crate) fn participant_key(member: &MemberId, c: &ConversationId) -> Vec<u8> {
    let mut key = vec![b'm'];
    push_text(&mut key, member.as_str());
    key.extend_from_slice(c.as_bytes());
    key
}

pub(crate) fn marker_key(c: &ConversationId, member: &MemberId) -> Vec<u8> {
    let mut key = vec![b'r'];
    key.extend_from_slice(c.as_bytes());
    push_text(&mut key, member.as_str());
    key
}

fn block_key(member: &MemberId, blocked: &MemberId) -> Vec<u8> {
    let mut key = vec![b'k'];
    push_text(&mut key, member.as_str());
    push_text(&mut key, blocked.as_str());
    key
}

fn message_prefix(c: &ConversationId) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = b'x';
    key[1..].copy_from_slice(c.as_bytes());
    key
}

/// Where a message sits in its conversation: (arrival time, local seq), the order this
/// node received it in. Read positions and unread counts use it too.
pub(crate) fn message_pos(meta: &super::EventMeta) -> (u64, u64) {
    (meta.received_at, meta.local_seq)
}

/// A message's place in its conversation: (arrival time, local seq), and its id.
pub(crate) type Placed = ((u64, u64), EventId);

fn decode_id(bytes: &[u8]) -> Result<EventId, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(EventId::from_bytes)
        .map_err(|e| StoreError::corrupt("chat", e))
}

fn decode_pos(key: &[u8]) -> Result<(u64, u64), StoreError> {
    let err = || StoreError::corrupt("chat", std::io::Error::other("short message key"));
    let ts = key.get(17..25).ok_or_else(err)?;
    let seq = key.get(25..33).ok_or_else(err)?;
    Ok((
        u64::from_be_bytes(ts.try_into().map_err(|_| err())?),
        u64::from_be_bytes(seq.try_into().map_err(|_| err())?),
    ))
}

impl Store {
    /// A conversation's state, if this node holds it.
    pub(crate) fn conversation(
        &self,
        c: &ConversationId,
    ) -> Result<Option<ConversationRecord>, StoreError> {
        let mut record: ConversationRecord = match self.trees().chat.get(conversation_key(c))? {
            None => return Ok(None),
            Some(v) => from_json("chat", &v)?,
        };
        if record.kind == ConversationKind::Group {
            let mut erased = Vec::new();
            for m in &record.members {
                if self.erasure(m)?.is_some() {
                    erased.push(m.clone());
                }
            }
            let name_theirs = match record.update {
                Some(u) => self
                    .event_meta(&u)?
                    .is_some_and(|m| m.kind == kindred_protocol::EventKind::Tombstone.code()),
                None => false,
            };
            record.leave_out(&erased, name_theirs);
        }
        Ok(Some(record))
    }

    /// A local member's state in a conversation; `None` if they are not in it.
    pub(crate) fn participant(
        &self,
        member: &MemberId,
        c: &ConversationId,
    ) -> Result<Option<ParticipantState>, StoreError> {
        match self.trees().chat.get(participant_key(member, c))? {
            None => Ok(None),
            Some(v) => from_json("chat", &v).map(Some),
        }
    }

    /// Changes a local member's state in a conversation with `change`, as one step: when
    /// it changed meanwhile (another request, or ingest removing them from the
    /// conversation), it is read again and `change` applied again. `None`, with nothing
    /// written, when they are not (or no longer) in it: a late write never puts a removed
    /// member back.
    pub(crate) fn update_participant<R>(
        &self,
        member: &MemberId,
        c: &ConversationId,
        mut change: impl FnMut(&mut ParticipantState) -> R,
    ) -> Result<Option<R>, StoreError> {
        let t = self.writer();
        super::update_json(
            &t.chat,
            "chat",
            &participant_key(member, c),
            || None,
            |state: &mut ParticipantState| Ok::<_, StoreError>(change(state)),
        )
    }

    /// The conversations a local member is in.
    pub(crate) fn conversations_of(
        &self,
        member: &MemberId,
    ) -> Result<Vec<(ConversationId, ParticipantState)>, StoreError> {
        let mut prefix = vec![b'm'];
        push_text(&mut prefix, member.as_str());
        let mut out = Vec::new();
        for item in self.trees().chat.scan_prefix(&prefix) {
            let (k, v) = item?;
            let id = <[u8; 16]>::try_from(&k[prefix.len()..])
                .map(ConversationId::from_bytes)
                .map_err(|e| StoreError::corrupt("chat", e))?;
            out.push((id, from_json("chat", &v)?));
        }
        Ok(out)
    }

    /// A conversation's messages, newest first, strictly before `before`.
    pub(crate) fn messages(
        &self,
        c: &ConversationId,
        before: Option<(u64, u64)>,
        limit: usize,
    ) -> Result<Vec<Placed>, StoreError> {
        let start = message_prefix(c);
        let end = match before {
            Some((ts, seq)) => message_key(c, ts, seq).to_vec(),
            None => {
                let mut e = start.to_vec();
                e.extend_from_slice(&[0xff; 17]);
                e
            }
        };
        let mut out = Vec::new();
        for item in self
            .trees()
            .chat
            .range(start.to_vec()..end)
            .rev()
            .take(limit)
        {
            let (k, v) = item?;
            out.push((decode_pos(&k)?, decode_id(&v)?));
        }
        Ok(out)
    }

    /// A conversation's messages after a position, newest first, at most `limit` of them
    /// (read from the newest end, so a long unread backlog costs only what is asked for).
    pub(crate) fn messages_after(
        &self,
        c: &ConversationId,
        after: Option<(u64, u64)>,
        limit: usize,
    ) -> Result<Vec<Placed>, StoreError> {
        let start = match after {
            Some((ts, seq)) => message_key(c, ts, seq.saturating_add(1)).to_vec(),
            None => message_prefix(c).to_vec(),
        };
        // The last possible key; `start` never passes it (the sequence saturates).
        let end = message_key(c, u64::MAX, u64::MAX).to_vec();
        let mut out = Vec::new();
        for item in self.trees().chat.range(start..=end).rev().take(limit) {
            let (k, v) = item?;
            out.push((decode_pos(&k)?, decode_id(&v)?));
        }
        Ok(out)
    }

    /// Where a message sits in its conversation here.
    pub(crate) fn message_position(
        &self,
        c: &ConversationId,
        id: &EventId,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let Some(meta) = self.event_meta(id)? else {
            return Ok(None);
        };
        let pos = message_pos(&meta);
        Ok(self
            .trees()
            .chat
            .get(message_key(c, pos.0, pos.1))?
            .map(|_| pos))
    }

    /// Shared read positions in a conversation.
    pub(crate) fn markers(
        &self,
        c: &ConversationId,
    ) -> Result<Vec<(String, MarkerRecord)>, StoreError> {
        let mut prefix = vec![b'r'];
        prefix.extend_from_slice(c.as_bytes());
        let mut out = Vec::new();
        for item in self.trees().chat.scan_prefix(&prefix) {
            let (k, v) = item?;
            let member = std::str::from_utf8(k.get(prefix.len() + 1..).unwrap_or_default())
                .map_err(|e| StoreError::corrupt("chat", e))?
                .to_owned();
            out.push((member, from_json("chat", &v)?));
        }
        Ok(out)
    }

    /// Whether a conversation held here (so with one of this node's members) includes a
    /// member of the node named `name`.
    pub(crate) fn shares_conversation_with(&self, name: &str) -> Result<bool, StoreError> {
        Ok(!self.conversations_with(name)?.is_empty())
    }

    /// The conversations held here that include a member of the node named `name`.
    pub(crate) fn conversations_with(
        &self,
        name: &str,
    ) -> Result<Vec<(ConversationId, ConversationRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().chat.scan_prefix([b'c']) {
            let (k, v) = item?;
            let Ok(id) = <[u8; 16]>::try_from(&k[1..]) else {
                continue;
            };
            let record: ConversationRecord = from_json("chat", &v)?;
            if record.members.iter().any(|m| m.node_name() == name) {
                out.push((ConversationId::from_bytes(id), record));
            }
        }
        Ok(out)
    }

    /// Whether `member` (local) blocked `other`.
    pub(crate) fn has_blocked(
        &self,
        member: &MemberId,
        other: &MemberId,
    ) -> Result<bool, StoreError> {
        Ok(self.trees().chat.contains_key(block_key(member, other))?)
    }

    /// Blocks or unblocks `other` for `member`.
    pub(crate) fn set_member_block(
        &self,
        member: &MemberId,
        other: &MemberId,
        blocked: bool,
    ) -> Result<(), StoreError> {
        let key = block_key(member, other);
        if blocked {
            self.writer().chat.insert(key, [])?;
        } else {
            self.writer().chat.remove(key)?;
        }
        Ok(())
    }

    /// Whom `member` has blocked.
    pub(crate) fn member_blocks(&self, member: &MemberId) -> Result<Vec<String>, StoreError> {
        let mut prefix = vec![b'k'];
        push_text(&mut prefix, member.as_str());
        let mut out = Vec::new();
        for item in self.trees().chat.scan_prefix(&prefix) {
            let (k, _) = item?;
            let rest = &k[prefix.len()..];
            let text = rest.get(1..).unwrap_or_default();
            out.push(
                std::str::from_utf8(text)
                    .map_err(|e| StoreError::corrupt("chat", e))?
                    .to_owned(),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layouts_are_pinned() {
        let c = ConversationId::from_bytes([7; 16]);
        let m = MemberId::parse("@a:b").unwrap();
        assert_eq!(
            &conversation_key(&c)[..],
            &[&[b'c'][..], &[7; 16]].concat()[..]
        );
        let k = message_key(&c, 1, 2);
        assert_eq!(k[0], b'x');
        assert_eq!(&k[17..25], &[0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&k[25..], &[0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(&participant_key(&m, &c)[..6], b"m\x04@a:b");
        assert_eq!(&marker_key(&c, &m)[17..], b"\x04@a:b");
    }

    #[test]
    fn a_participant_removed_meanwhile_is_not_put_back_and_changes_at_once_all_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let c = ConversationId::from_bytes([7; 16]);
        let m = MemberId::parse("@sam:a.example").unwrap();
        assert_eq!(
            store
                .update_participant(&m, &c, |s| s.muted = true)
                .unwrap(),
            None
        );
        assert_eq!(store.participant(&m, &c).unwrap(), None, "not created");
        let key = participant_key(&m, &c);
        let fresh = crate::store::to_json("chat", &ParticipantState::default()).unwrap();
        store.trees().chat.insert(&key, &fresh).unwrap();
        // A mute and a read position set at the same moment both stay.
        std::thread::scope(|scope| {
            let (store, m, c) = (&store, &m, &c);
            scope.spawn(move || {
                for _ in 0..50 {
                    store
                        .update_participant(m, c, |s| s.muted = !s.muted)
                        .unwrap();
                }
            });
            scope.spawn(move || {
                for n in 1..=50u64 {
                    store
                        .update_participant(m, c, |s| s.last_read = Some((n, n)))
                        .unwrap();
                }
            });
        });
        let state = store.participant(&m, &c).unwrap().unwrap();
        assert!(!state.muted, "fifty flips");
        assert_eq!(state.last_read, Some((50, 50)));
        // Removed (ingest takes them out of the conversation): a late change is dropped.
        store.trees().chat.remove(&key).unwrap();
        assert_eq!(
            store
                .update_participant(&m, &c, |s| s.profile_shared = true)
                .unwrap(),
            None
        );
        assert_eq!(store.participant(&m, &c).unwrap(), None, "not put back");
    }

    #[test]
    fn messages_after_a_position_come_newest_first_and_only_as_many_as_asked() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let (c, other) = (
            ConversationId::from_bytes([7; 16]),
            ConversationId::from_bytes([8; 16]),
        );
        let id = |n: u8| EventId::from_bytes([n; 32]);
        for n in 1..=5u8 {
            let key = message_key(&c, 100 + u64::from(n), 1);
            store
                .trees()
                .chat
                .insert(key, &id(n).as_bytes()[..])
                .unwrap();
        }
        // A neighbouring conversation's messages are never mixed in.
        store
            .trees()
            .chat
            .insert(message_key(&other, 1, 1), &id(9).as_bytes()[..])
            .unwrap();
        let ids = |placed: Vec<Placed>| placed.into_iter().map(|(_, i)| i).collect::<Vec<_>>();
        assert_eq!(
            ids(store.messages_after(&c, None, usize::MAX).unwrap()),
            vec![id(5), id(4), id(3), id(2), id(1)]
        );
        assert_eq!(
            ids(store
                .messages_after(&c, Some((102, 1)), usize::MAX)
                .unwrap()),
            vec![id(5), id(4), id(3)]
        );
        assert_eq!(
            ids(store.messages_after(&c, Some((102, 1)), 2).unwrap()),
            vec![id(5), id(4)]
        );
        assert!(
            store
                .messages_after(&c, Some((105, 1)), 9)
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .messages_after(&c, Some((u64::MAX, u64::MAX)), 9)
                .unwrap()
                .is_empty()
        );
    }
}
