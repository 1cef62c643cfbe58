//! The `erasures` tree: which members their home nodes erased, and the tombstone each
//! erasure signed for their shared-log events.
//!
//! - `m` ‖ member id → JSON [`ErasureRecord`];
//! - `s` ‖ origin (32) ‖ seq (u64 BE) → the tombstone's signed bytes, stored in that slot
//!   when the erased event arrives after the erasure (its content is never stored);
//! - `c` → () while erased content may still sit in the database files' free space: the
//!   next start compacts the database (`compact.rs`);
//! - `d` ‖ entry id → its author: a redaction this node owes (see `node/content.rs`);
//! - `r` ‖ redaction local seq ‖ version local seq (u64 BE each) → the signed bytes a
//!   redaction replaced, kept only until the search indexer has passed the redaction
//!   (it reads them to take the version's words out of the index; `ingest/redact.rs`).

use kindred_protocol::{EventId, EventPayload, MemberId, NodeId};
use serde::{Deserialize, Serialize};

use super::origin_log::origin_seq_key;
use super::{Store, StoreError, from_json};

/// A member erased by their home node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErasureRecord {
    /// When this node first carried out an erasure of them (ms).
    pub(crate) erased_at: u64,
    /// How many erasure events (parts) of them this node has applied.
    pub(crate) parts: u32,
}

/// The key of a member's record.
pub(crate) fn member_key(member: &MemberId) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + member.as_str().len());
    key.push(b'm');
    key.extend_from_slice(member.as_str().as_bytes());
    key
}

/// The key of a slot's tombstone.
pub(crate) fn slot_key(origin: &NodeId, seq: u64) -> [u8; 41] {
    let mut key = [0u8; 41];
    key[0] = b's';
    key[1..].copy_from_slice(&origin_seq_key(origin, seq));
    key
}

/// The key of a redaction this node still owes (`d` ‖ entry id).
fn due_key(entry: &EventId) -> [u8; 33] {
    let mut key = [0u8; 33];
    key[0] = b'd';
    key[1..].copy_from_slice(entry.as_bytes());
    key
}

/// The key marking that a compaction is due.
pub(crate) const COMPACT_KEY: &[u8] = b"c";

/// The key counting bytes redactions replaced since the last compaction (u64 BE): their
/// records shrank to tombstones, and the pages they filled are left partly empty, which
/// only a copy gives back ([`REDACTED_SHARE`]).
pub(crate) const REDACTED_KEY: &[u8] = b"t";

/// A compaction is due at the next start once redactions have replaced this share of the
/// database's records (one eighth of the bytes in use): a node whose members took down much of what they
/// wrote gets the space back, and one retraction now and then never costs a full copy.
const REDACTED_SHARE: u64 = 8;

/// The key marking that this node is erasing one of its own members (`p` ‖ username):
/// written before the first part is published, removed once the account is gone, so an
/// erasure a crash or a stop cut short is finished after the next start.
pub(crate) fn pending_key(username: &str) -> Vec<u8> {
    [&b"p"[..], username.as_bytes()].concat()
}

impl Store {
    /// The signed bytes a redaction replaced in version `version` (a local seq), while the
    /// indexer still needs them.
    pub(crate) fn redacted_version(
        &self,
        version: u64,
    ) -> Result<Option<kindred_protocol::SignedEvent>, StoreError> {
        for item in self.trees().erasures.scan_prefix(b"r") {
            let (k, v) = item?;
            if k.len() == 17 && k[9..] == version.to_be_bytes() {
                return super::events::signed_event(&v).map(Some);
            }
        }
        Ok(None)
    }

    /// Drops what redactions up to local seq `up_to` kept for the indexer (it has passed
    /// them). Returns how many were dropped.
    pub(crate) fn drop_redacted_up_to(&self, up_to: u64) -> Result<usize, StoreError> {
        let mut done = Vec::new();
        for item in self.trees().erasures.scan_prefix(b"r") {
            let (k, _) = item?;
            match k.get(1..9).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                Some(seq) if u64::from_be_bytes(seq) <= up_to => done.push(k),
                Some(_) => break,
                None => done.push(k),
            }
        }
        if done.is_empty() {
            return Ok(0);
        }
        if self.engine() == super::kv::Engine::Sled {
            // sled's batches take its transactions' lock (see `idempotency.rs`).
            for k in &done {
                self.writer().erasures.remove(k)?;
            }
        } else {
            // One write for them all (each its own commit would cost a disk sync apiece).
            let mut batch = super::kv::Batch::default();
            for k in &done {
                batch.remove(k);
            }
            self.writer().erasures.apply_batch(batch)?;
        }
        Ok(done.len())
    }

    /// Notes that this node owes a redaction of `entry` by `author` (written before the
    /// retraction, removed once the redaction is published), so one cut short by a crash
    /// is published later.
    pub(crate) fn redaction_due(
        &self,
        entry: &EventId,
        author: &MemberId,
    ) -> Result<(), StoreError> {
        self.writer()
            .erasures
            .insert(due_key(entry), author.as_str().as_bytes())?;
        Ok(())
    }

    /// The redaction is published (or not needed).
    pub(crate) fn redaction_done(&self, entry: &EventId) -> Result<(), StoreError> {
        self.writer().erasures.remove(due_key(entry))?;
        Ok(())
    }

    /// Redactions still owed: entry and author.
    pub(crate) fn redactions_due(&self) -> Result<Vec<(EventId, MemberId)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().erasures.scan_prefix(b"d") {
            let (k, v) = item?;
            let Some(id) = k.get(1..33).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
                continue;
            };
            let Ok(author) = std::str::from_utf8(&v)
                .map_err(drop)
                .and_then(|a| MemberId::parse(a).map_err(drop))
            else {
                continue;
            };
            out.push((EventId::from_bytes(id), author));
        }
        Ok(out)
    }

    /// Whether `member` was erased, and when.
    pub(crate) fn erasure(&self, member: &MemberId) -> Result<Option<ErasureRecord>, StoreError> {
        match self.trees().erasures.get(member_key(member))? {
            None => Ok(None),
            Some(v) => from_json("erasures", &v).map(Some),
        }
    }

    /// Every event by `member` held here: payload, stored kind and id. A full scan (an
    /// erasure, or an export, is rare).
    pub(crate) fn events_by(
        &self,
        member: &MemberId,
    ) -> Result<Vec<(EventPayload, u16, EventId)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().events.iter() {
            let (k, record) = item?;
            let local = super::origin_log::decode_u64("events", &k)?;
            let meta = super::events::meta_in(&record, local)?;
            let signed = super::events::signed_in(&record)?;
            let p = super::events::payload_of(&signed)?;
            if p.author == *member {
                out.push((p, meta.kind, signed.id()));
            }
        }
        Ok(out)
    }

    /// Removes an erased member's account and everything kept only for it: sign-in,
    /// sessions, reset links, conversation settings and blocks.
    pub(crate) fn remove_account(
        &self,
        username: &str,
        member: &MemberId,
    ) -> Result<(), StoreError> {
        let t = self.writer();
        t.members.remove(username.as_bytes())?;
        for (hash, _) in self.sessions_of(username)? {
            t.sessions.remove(hash)?;
        }
        let prefix = super::keys::text_prefix(username);
        for item in t.member_sessions.scan_prefix(&prefix) {
            t.member_sessions.remove(item?.0)?;
        }
        for item in t.password_resets.iter() {
            let (k, v) = item?;
            let reset: super::ResetRecord = from_json("password_resets", &v)?;
            if reset.username == username {
                t.password_resets.remove(k)?;
            }
        }
        for tag in [b'm', b'k'] {
            let mut prefix = vec![tag];
            super::keys::push_text(&mut prefix, member.as_str());
            for item in t.chat.scan_prefix(&prefix) {
                t.chat.remove(item?.0)?;
            }
        }
        self.remove_notifications_of(member)?;
        self.forget_in_moderation(member)?;
        Ok(())
    }

    /// Records that this node is erasing its member `username` (see [`pending_key`]).
    pub(crate) fn erasure_pending(&self, username: &str) -> Result<(), StoreError> {
        self.writer().erasures.insert(pending_key(username), [])?;
        Ok(())
    }

    /// The erasure of `username` is complete.
    pub(crate) fn erasure_done(&self, username: &str) -> Result<(), StoreError> {
        self.writer().erasures.remove(pending_key(username))?;
        Ok(())
    }

    /// This node's members whose erasure is to be finished.
    pub(crate) fn pending_erasures(&self) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().erasures.scan_prefix(b"p") {
            let (k, _) = item?;
            out.push(String::from_utf8_lossy(&k[1..]).into_owned());
        }
        Ok(out)
    }

    /// Whether erased content may still be in the database files (a compaction is due).
    /// Also true once redactions replaced an eighth of the size on disk
    /// ([`REDACTED_SHARE`]).
    pub(crate) fn compaction_due(&self) -> Result<bool, StoreError> {
        if self.trees().erasures.get(COMPACT_KEY)?.is_some() {
            return Ok(true);
        }
        let redacted = self
            .trees()
            .erasures
            .get(REDACTED_KEY)?
            .and_then(|v| <[u8; 8]>::try_from(&v[..]).ok())
            .map_or(0, u64::from_be_bytes);
        Ok(redacted > 0 && redacted >= self.size_in_use()? / REDACTED_SHARE)
    }
}
