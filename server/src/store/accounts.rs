//! Account trees:
//!
//! - `members`: username → [`MemberRecord`] (JSON).
//! - `sessions`: SHA-256 of the session token (32) → [`SessionRecord`] (JSON).
//! - `member_sessions`: username (u8 len ‖ text) ‖ token hash (32) → (), to list and
//!   revoke a member's sessions.
//! - `invites`: SHA-256 of the invite code (32) → [`InviteRecord`] (JSON).
//!
//! Tokens and codes are stored only as hashes: a copy of the database does not sign anyone in.

use super::kv::{TransactionError, TxError};
use kindred_protocol::MemberId;
use kindred_protocol::api::Role;
use serde::{Deserialize, Serialize};

use super::keys::text_prefix;
use super::{Store, StoreError, from_json, to_json};

/// A member of this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MemberRecord {
    /// Sign-in name, the local part of their member id.
    pub(crate) username: String,
    /// Name shown to others.
    pub(crate) display_name: String,
    /// Role on this node.
    pub(crate) role: Role,
    /// Suspended members cannot sign in or post.
    pub(crate) suspended: bool,
    /// argon2id PHC string.
    pub(crate) password_hash: String,
    /// Whether the hash was made from the password prepared with PRECIS OpaqueString
    /// (`node/passwords.rs`); false for accounts from before, until they next sign in.
    #[serde(default)]
    pub(crate) password_precis: bool,
    /// When the account was created (ms).
    pub(crate) created_at: u64,
    /// Whether a profile event was published (done with the member's first shared post,
    /// so members who never post are not announced to the federation).
    #[serde(default)]
    pub(crate) profile_published: bool,
    /// Listed in the federation's people directory.
    #[serde(default)]
    pub(crate) listed: bool,
    /// What they are happy to talk about (shown in the directory).
    #[serde(default)]
    pub(crate) happy_to_talk_about: String,
    /// Share their read position in conversations.
    #[serde(default = "yes")]
    pub(crate) read_markers: bool,
    /// Their own time zone (IANA name); `None`: the organisation's.
    #[serde(default)]
    pub(crate) time_zone: Option<String>,
    /// When their account is to be deleted and erased (ms), once they or an admin asked;
    /// until then they cannot sign in and an admin can stop it.
    #[serde(default)]
    pub(crate) deletion_due_at: Option<u64>,
    /// Muted words and phrases, as typed (`node/safety.rs`).
    #[serde(default)]
    pub(crate) muted_words: Vec<String>,
    /// Muted topics, by key.
    #[serde(default)]
    pub(crate) muted_topics: Vec<String>,
    /// Taking a break until then (ms).
    #[serde(default)]
    pub(crate) break_until: Option<u64>,
}

fn yes() -> bool {
    true
}

impl MemberRecord {
    /// A new account as its member first has it: listed nowhere, nothing muted, read
    /// markers shared, the organisation's time zone, nothing published yet.
    /// `password_hash` is the argon2id PHC string of the PRECIS-prepared password.
    pub(crate) fn new(
        username: &str,
        display_name: String,
        role: Role,
        password_hash: String,
        created_at: u64,
    ) -> Self {
        Self {
            username: username.to_owned(),
            display_name,
            role,
            suspended: false,
            password_hash,
            password_precis: true,
            created_at,
            profile_published: false,
            listed: false,
            happy_to_talk_about: String::new(),
            read_markers: true,
            time_zone: None,
            deletion_due_at: None,
            muted_words: Vec::new(),
            muted_topics: Vec::new(),
            break_until: None,
        }
    }
}

/// A signed-in session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SessionRecord {
    /// Public id (first 16 hex chars of the token hash), for listing and revoking.
    pub(crate) id: String,
    /// Whose session.
    pub(crate) username: String,
    /// Created (ms).
    pub(crate) created_at: u64,
    /// Expires (ms).
    pub(crate) expires_at: u64,
    /// The client's user agent at sign-in.
    pub(crate) user_agent: Option<String>,
}

/// A member invite.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InviteRecord {
    /// Public id for listing and revoking.
    pub(crate) id: String,
    /// Role granted.
    pub(crate) role: Role,
    /// Admin's note.
    pub(crate) note: Option<String>,
    /// Who created it.
    pub(crate) created_by: MemberId,
    /// Created (ms).
    pub(crate) created_at: u64,
    /// Expires (ms).
    pub(crate) expires_at: u64,
    /// Who used it.
    pub(crate) used_by: Option<MemberId>,
    /// Revoked by an admin.
    pub(crate) revoked: bool,
    /// What the code is rebuilt from, so admins can be shown it until it is used; absent
    /// on invites made before (their code cannot be shown again).
    #[serde(default)]
    pub(crate) nonce: Option<String>,
}

/// Why an invite could not be redeemed.
#[derive(Debug)]
pub(crate) enum RedeemError {
    /// No such invite.
    Unknown,
    /// Used, revoked or expired.
    Spent,
    /// The username is taken.
    UsernameTaken,
    /// Storage failed.
    Store(StoreError),
}

fn session_index_key(username: &str, hash: &[u8; 32]) -> Vec<u8> {
    let mut key = text_prefix(username);
    key.extend_from_slice(hash);
    key
}

impl Store {
    /// A member by username.
    pub(crate) fn member(&self, username: &str) -> Result<Option<MemberRecord>, StoreError> {
        match self.trees().members.get(username)? {
            None => Ok(None),
            Some(v) => from_json("members", &v).map(Some),
        }
    }

    /// Every member, by username.
    pub(crate) fn members(&self) -> Result<Vec<MemberRecord>, StoreError> {
        self.trees()
            .members
            .iter()
            .map(|item| {
                let (_, v) = item?;
                from_json("members", &v)
            })
            .collect()
    }

    /// Whether any admin exists.
    pub(crate) fn admin_exists(&self) -> Result<bool, StoreError> {
        Ok(self.members()?.iter().any(|m| m.role == Role::Admin))
    }

    /// Creates a member; false if the username is taken.
    pub(crate) fn create_member(&self, member: &MemberRecord) -> Result<bool, StoreError> {
        let value = to_json("members", member)?;
        let swapped = self.writer().members.compare_and_swap(
            member.username.as_bytes(),
            None as Option<&[u8]>,
            Some(value),
        )?;
        self.accounts_changed();
        Ok(swapped.is_ok())
    }

    /// Takes back a member record just created by a set-up that then lost its race.
    pub(crate) fn uncreate_member(&self, username: &str) -> Result<(), StoreError> {
        self.writer().members.remove(username.as_bytes())?;
        self.accounts_changed();
        Ok(())
    }

    /// Changes a member's record with `change`, as one step: when something else changed
    /// it meanwhile (an admin suspending them while they change their password, say), it
    /// is read again and `change` applied again, so neither change is lost. `None`, with
    /// nothing written, when there is no such member: a late write never re-creates an
    /// account erased meanwhile. `change` may run more than once, so it does nothing but
    /// change the record (and decide from it).
    ///
    /// Errors: `change`'s own, or the store's.
    pub(crate) fn update_member<R, E: From<StoreError>>(
        &self,
        username: &str,
        change: impl FnMut(&mut MemberRecord) -> Result<R, E>,
    ) -> Result<Option<R>, E> {
        let out = super::update_json(
            &self.writer().members,
            "members",
            username.as_bytes(),
            || None,
            change,
        )?;
        self.accounts_changed();
        Ok(out)
    }

    /// A session by token hash.
    pub(crate) fn session(&self, hash: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError> {
        match self.trees().sessions.get(hash)? {
            None => Ok(None),
            Some(v) => from_json("sessions", &v).map(Some),
        }
    }

    /// Stores a new session.
    pub(crate) fn put_session(
        &self,
        hash: &[u8; 32],
        session: &SessionRecord,
    ) -> Result<(), StoreError> {
        let t = self.writer();
        t.sessions.insert(hash, to_json("sessions", session)?)?;
        t.member_sessions
            .insert(session_index_key(&session.username, hash), [])?;
        Ok(())
    }

    /// Ends a session.
    pub(crate) fn remove_session(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        let t = self.writer();
        if let Some(session) = self.session(hash)? {
            t.member_sessions
                .remove(session_index_key(&session.username, hash))?;
        }
        t.sessions.remove(hash)?;
        self.accounts_changed();
        Ok(())
    }

    /// How many sessions exist (expired ones included until they are swept).
    pub(crate) fn session_count(&self) -> u64 {
        self.trees().sessions.len() as u64
    }

    /// A member's sessions with their token hashes.
    pub(crate) fn sessions_of(
        &self,
        username: &str,
    ) -> Result<Vec<([u8; 32], SessionRecord)>, StoreError> {
        let prefix = text_prefix(username);
        let mut out = Vec::new();
        for item in self.trees().member_sessions.scan_prefix(&prefix) {
            let (key, _) = item?;
            let Ok(hash) = <[u8; 32]>::try_from(&key[prefix.len()..]) else {
                return Err(StoreError::corrupt(
                    "member_sessions",
                    std::io::Error::other("malformed key"),
                ));
            };
            if let Some(session) = self.session(&hash)? {
                out.push((hash, session));
            }
        }
        Ok(out)
    }

    /// Stores an invite under its code's hash.
    pub(crate) fn put_invite(
        &self,
        hash: &[u8; 32],
        invite: &InviteRecord,
    ) -> Result<(), StoreError> {
        self.writer()
            .invites
            .insert(hash, to_json("invites", invite)?)?;
        Ok(())
    }

    /// An invite by code hash.
    pub(crate) fn invite(&self, hash: &[u8; 32]) -> Result<Option<InviteRecord>, StoreError> {
        match self.trees().invites.get(hash)? {
            None => Ok(None),
            Some(v) => from_json("invites", &v).map(Some),
        }
    }

    /// Every invite with its key.
    pub(crate) fn invites(&self) -> Result<Vec<([u8; 32], InviteRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().invites.iter() {
            let (k, v) = item?;
            let hash =
                <[u8; 32]>::try_from(k.as_ref()).map_err(|e| StoreError::corrupt("invites", e))?;
            out.push((hash, from_json("invites", &v)?));
        }
        Ok(out)
    }

    /// Revokes an invite unless it has been used: `Ok(false)` when it has (nothing
    /// changes). A compare-and-swap, so a revocation racing a redemption never undoes it.
    pub(crate) fn revoke_unused_invite(&self, hash: &[u8; 32]) -> Result<bool, StoreError> {
        loop {
            let Some(old) = self.writer().invites.get(hash)? else {
                return Ok(false);
            };
            let mut invite: InviteRecord = from_json("invites", &old)?;
            if invite.used_by.is_some() {
                return Ok(false);
            }
            invite.revoked = true;
            let new = to_json("invites", &invite)?;
            match self
                .writer()
                .invites
                .compare_and_swap(hash, Some(old), Some(new))?
            {
                Ok(()) => return Ok(true),
                // Changed meanwhile (redeemed, most likely): read it again.
                Err(_) => continue,
            }
        }
    }

    /// Uses an invite and creates the member in one transaction, so an invite can never
    /// create two accounts and a username can never be taken twice.
    pub(crate) fn redeem_invite(
        &self,
        hash: &[u8; 32],
        member: &MemberRecord,
        member_id: &MemberId,
        now: u64,
    ) -> Result<InviteRecord, RedeemError> {
        let t = self.writer();
        let member_json = to_json("members", member).map_err(RedeemError::Store)?;
        let result = self.transaction([&t.invites, &t.members], |[invites, members]| {
            let abort = |e: RedeemError| TxError::Abort(e);
            let Some(bytes) = invites.get(hash)? else {
                return Err(abort(RedeemError::Unknown));
            };
            let mut invite: InviteRecord =
                from_json("invites", &bytes).map_err(|e| abort(RedeemError::Store(e)))?;
            if invite.used_by.is_some() || invite.revoked || invite.expires_at <= now {
                return Err(abort(RedeemError::Spent));
            }
            if members.get(member.username.as_bytes())?.is_some() {
                return Err(abort(RedeemError::UsernameTaken));
            }
            members.insert(member.username.as_bytes(), member_json.clone())?;
            invite.used_by = Some(member_id.clone());
            let json = to_json("invites", &invite).map_err(|e| abort(RedeemError::Store(e)))?;
            invites.insert(hash, json)?;
            Ok(invite)
        });
        match result {
            Ok(invite) => Ok(invite),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(RedeemError::Store(e.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(username: &str) -> MemberRecord {
        MemberRecord::new(username, "Sam".into(), Role::Member, "old".into(), 0)
    }

    /// A change made while another is being worked out (an admin's suspension while the
    /// member's new password is hashed) survives it; an account erased meanwhile stays
    /// erased.
    #[test]
    fn a_member_change_never_undoes_one_made_meanwhile() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("open");
        assert!(store.create_member(&member("sam")).expect("create"));
        let mut runs = 0;
        let out = store
            .update_member("sam", |m| {
                runs += 1;
                if runs == 1 {
                    // Another request writes between this one's read and its write.
                    let mut other = m.clone();
                    other.suspended = true;
                    let value = to_json("members", &other).expect("json");
                    store.writer().members.insert(b"sam", value).expect("write");
                }
                m.password_hash = "new".into();
                Ok::<_, StoreError>(m.suspended)
            })
            .expect("update");
        assert_eq!(
            out,
            Some(true),
            "the change ran again on the record as changed"
        );
        assert_eq!(runs, 2);
        let now = store.member("sam").expect("read").expect("there");
        assert!(now.suspended, "the suspension made meanwhile stands");
        assert_eq!(now.password_hash, "new");

        store.uncreate_member("sam").expect("erase");
        let out = store
            .update_member("sam", |m| {
                m.display_name = "Back".into();
                Ok::<_, StoreError>(())
            })
            .expect("update");
        assert_eq!(out, None);
        assert!(
            store.member("sam").expect("read").is_none(),
            "not re-created"
        );
    }

    #[test]
    fn session_index_layout_is_pinned() {
        let key = session_index_key("sam", &[5; 32]);
        assert_eq!(&key[..4], b"\x03sam");
        assert_eq!(&key[4..], &[5; 32]);
    }
}
