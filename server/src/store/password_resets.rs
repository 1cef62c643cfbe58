//! The `password_resets` tree: single-use password-reset links, by the SHA-256 of their
//! token (the token itself is never stored). One link per member: a new one replaces the
//! last.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError, from_json, to_json};

/// A reset link waiting to be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ResetRecord {
    /// Whose password it resets.
    pub(crate) username: String,
    /// Who made it: an admin's member id, or "the server's operator".
    pub(crate) made_by: String,
    /// Made (ms).
    pub(crate) created_at: u64,
    /// Stops working (ms).
    pub(crate) expires_at: u64,
}

impl Store {
    /// Stores a reset link for `record.username`, removing any earlier one for them.
    pub(crate) fn put_reset(
        &self,
        hash: &[u8; 32],
        record: &ResetRecord,
    ) -> Result<(), StoreError> {
        let t = self.writer();
        for item in t.password_resets.iter() {
            let (k, v) = item?;
            let old: ResetRecord = from_json("password_resets", &v)?;
            if old.username == record.username {
                t.password_resets.remove(k)?;
            }
        }
        t.password_resets
            .insert(hash, to_json("password_resets", record)?)?;
        Ok(())
    }

    /// The reset link with this token hash, if it exists.
    pub(crate) fn reset(&self, hash: &[u8; 32]) -> Result<Option<ResetRecord>, StoreError> {
        match self.trees().password_resets.get(hash)? {
            None => Ok(None),
            Some(v) => from_json("password_resets", &v).map(Some),
        }
    }

    /// Uses up a reset link: `Some(record)` for exactly one caller however many race.
    pub(crate) fn take_reset(&self, hash: &[u8; 32]) -> Result<Option<ResetRecord>, StoreError> {
        match self.writer().password_resets.remove(hash)? {
            None => Ok(None),
            Some(v) => from_json("password_resets", &v).map(Some),
        }
    }
}
