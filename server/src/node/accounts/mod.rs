//! Accounts: the first-admin set-up token, invites, sign-in, sessions, roles, suspension.
//! Passwords are hashed with argon2id; tokens and invite codes are random and stored only
//! as SHA-256 hashes.

mod invites;
mod members;
mod sessions;
use std::sync::OnceLock;

use kindred_protocol::api::{ErrorCode, MemberView, Role};
use kindred_protocol::{MemberId, Timestamp};
use sha2::{Digest, Sha256};

use super::{Node, NodeError};
use crate::node::AppError;
use crate::store::MemberRecord;

/// Who is making a request.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    /// Their account.
    pub(crate) member: MemberRecord,
    /// Their federation-wide id.
    pub(crate) member_id: MemberId,
    /// Hash of the session token used.
    pub(crate) session_hash: [u8; 32],
    /// When the session expires (ms).
    pub(crate) expires_at: u64,
}

/// Recently checked sessions, valid while the accounts generation is unchanged.
#[derive(Default)]
pub(crate) struct AuthCache {
    /// Token hash → (generation when checked, the answer).
    entries: std::sync::Mutex<std::collections::HashMap<[u8; 32], (u64, Auth)>>,
}

impl AuthCache {
    fn get(&self, hash: &[u8; 32], generation: u64, now: u64) -> Option<Auth> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash)
            .filter(|(g, a)| *g == generation && a.expires_at > now)
            .map(|(_, a)| a.clone())
    }

    fn put(&self, hash: [u8; 32], generation: u64, auth: Auth) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= 10_000 {
            entries.clear();
        }
        entries.retain(|_, (g, _)| *g == generation);
        entries.insert(hash, (generation, auth));
    }
}

impl Auth {
    /// Refuses unless the member has at least `role`.
    pub(crate) fn require(&self, role: Role) -> Result<(), AppError> {
        if self.member.role >= role {
            Ok(())
        } else {
            Err(AppError::forbidden(match role {
                Role::Admin => "Only an admin can do that.",
                _ => "Only a moderator or admin can do that.",
            }))
        }
    }
}

/// SHA-256 of a token or code, the form it is stored in.
pub(crate) fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// SHA-256 of raw secret bytes (federation invite secrets).
pub(crate) fn hash_bytes(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// A new random secret with a readable prefix, and its hash.
pub(super) fn new_secret(prefix: &str) -> Result<(String, [u8; 32]), AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
    let secret = format!("{prefix}{}", hex::encode(bytes));
    let hash = hash_secret(&secret);
    Ok((secret, hash))
}

/// Computes the dummy hash ahead of the first sign-in, which would otherwise take twice
/// as long for an unknown username (hashing, then verifying).
pub(crate) async fn prepare_dummy_hash() {
    dummy_hash().await;
}

/// A hash to check against when the username does not exist, so a wrong username takes as
/// long as a wrong password and reveals nothing.
async fn dummy_hash() -> String {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(h) = DUMMY.get() {
        return h.clone();
    }
    let h = super::passwords::hash("kindred-dummy-password".to_owned())
        .await
        .unwrap_or_default();
    DUMMY.get_or_init(|| h).clone()
}

const DAY_MS: u64 = 86_400_000;

fn now() -> u64 {
    Timestamp::now().as_millis()
}

/// What a member is happy to talk about, trimmed and checked.
fn clean_talk_about(text: &str) -> Result<String, AppError> {
    let text = text.trim().to_owned();
    if text.len() > kindred_protocol::limits::MAX_NOTE_BYTES || text.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "happy_to_talk_about",
            "\"Happy to talk about\" is too long or has control characters.",
        ));
    }
    Ok(text)
}

/// The problems with a change to `username`'s own profile, by field (for forms that show
/// each next to its field).
pub(crate) fn check_profile(
    node: &Node,
    username: &str,
    display_name: &str,
    happy_to_talk_about: &str,
) -> Vec<(&'static str, AppError)> {
    let mut problems = Vec::new();
    if let Err(e) = node.display_name_for(display_name, Some(username)) {
        problems.push(("display_name", e));
    }
    if let Err(e) = clean_talk_about(happy_to_talk_about) {
        problems.push(("happy_to_talk_about", e));
    }
    problems
}

impl Node {
    /// While no admin exists, makes a fresh set-up token (printed at start) and stores its hash.
    pub(crate) fn refresh_setup_token(&self) -> Result<Option<String>, NodeError> {
        let store = self.store();
        if store.admin_exists()? {
            store.set_setup_token_hash(None)?;
            return Ok(None);
        }
        let (token, hash) = new_secret("kdsetup_").map_err(|_| {
            NodeError::Randomness(kindred_protocol::RandomnessError(
                getrandom::Error::UNSUPPORTED,
            ))
        })?;
        store.set_setup_token_hash(Some(hash))?;
        Ok(Some(token))
    }

    /// A member id at this node.
    pub(crate) fn member_id(&self, username: &str) -> Result<MemberId, AppError> {
        self.any_member_id(username)
    }

    fn new_member_id(&self, username: &str) -> Result<MemberId, AppError> {
        if username == "node" {
            return Err(AppError::invalid(
                "username",
                "\"node\" is reserved for the node itself; please choose another username.",
            ));
        }
        let id = self.any_member_id(username)?;
        if self.store().erasure(&id)?.is_some() {
            // Every node refuses anything under an erased member's id, for ever.
            return Err(AppError::new(
                ErrorCode::Conflict,
                "That username belonged to an account that was deleted; please choose another.",
            ));
        }
        Ok(id)
    }

    /// Whether the signed-in member may have their password checked again now (changing
    /// it, deleting their account): 10 tries in 15 minutes, so a session someone else got
    /// hold of cannot be used to guess the password.
    pub(crate) fn password_check_allowed(&self, auth: &Auth) -> Result<(), AppError> {
        if self
            .limits()
            .password_checks
            .try_take(&auth.member.username)
        {
            return Ok(());
        }
        tracing::warn!(member = %auth.member_id, "too many password checks for one member");
        Err(AppError::new(
            ErrorCode::RateLimited,
            "Too many tries. Please wait a few minutes and try again.",
        ))
    }

    fn any_member_id(&self, username: &str) -> Result<MemberId, AppError> {
        MemberId::new(username, &self.config().node.name).map_err(|_| {
            let rule = "Usernames use lower-case letters, digits, '.', '_' or '-', starting with a letter or digit";
            AppError::invalid("username", match kindred_protocol::identity::suggest_localpart(username) {
                Some(s) => format!("{rule}: how about \"{s}\"?"),
                None => format!("{rule}, for example \"sam\" or \"priya.shah\"."),
            })
        })
    }

    fn member_view(&self, m: &MemberRecord) -> Result<MemberView, AppError> {
        Ok(MemberView {
            id: self.member_id(&m.username)?,
            username: m.username.clone(),
            display_name: m.display_name.clone(),
            role: m.role,
            suspended: m.suspended,
            created_at: Timestamp(m.created_at),
            listed: m.listed,
            happy_to_talk_about: m.happy_to_talk_about.clone(),
            read_markers: m.read_markers,
            time_zone: m
                .time_zone
                .clone()
                .unwrap_or_else(|| self.config().node.time_zone.clone()),
            own_time_zone: m.time_zone.is_some(),
            deletion_due_at: m.deletion_due_at.map(Timestamp),
        })
    }

    /// The organisation's time zone (`node.time_zone`, checked at start).
    pub(crate) fn organisation_zone(&self) -> jiff::tz::TimeZone {
        self.inner.organisation_zone.clone()
    }

    /// The time zone `member`'s dates are shown and worked out in: their own, or the
    /// organisation's.
    pub(crate) fn time_zone_of(&self, member: &MemberRecord) -> jiff::tz::TimeZone {
        member
            .time_zone
            .as_deref()
            .and_then(crate::calendar::zone)
            .unwrap_or_else(|| self.organisation_zone())
    }

    pub(super) fn check_password(&self, password: &str) -> Result<(), AppError> {
        let min = self.config().accounts.min_password_chars;
        let prepared = if password.is_empty() {
            String::new()
        } else {
            super::passwords::prepare(password).map_err(|e| e.on("password"))?
        };
        if prepared.chars().count() < min {
            return Err(AppError::invalid(
                "password",
                format!(
                    "Please choose a password of at least {min} characters. A few words together work well."
                ),
            ));
        }
        if password.len() > 1024 {
            return Err(AppError::invalid(
                "password",
                "That password is too long (1024 bytes at most).",
            ));
        }
        Ok(())
    }

    /// Checks a would-be account's fields one by one, so a form can say which is wrong.
    pub(crate) fn check_new_member(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
    ) -> Vec<(&'static str, AppError)> {
        let mut problems = Vec::new();
        if let Err(e) = self.display_name_for(display_name, None) {
            problems.push(("display_name", e));
        }
        if let Err(e) = self.new_member_id(username) {
            problems.push(("username", e));
        }
        if let Err(e) = self.check_password(password) {
            problems.push(("password", e));
        }
        problems
    }

    async fn new_member(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        role: Role,
    ) -> Result<(MemberRecord, MemberId), AppError> {
        let member_id = self.new_member_id(username)?;
        let display_name = self
            .display_name_for(display_name, None)
            .map_err(|e| e.on("display_name"))?;
        self.check_password(password)?;
        let password_hash = super::passwords::hash(super::passwords::prepare(password)?).await?;
        let record = MemberRecord::new(username, display_name, role, password_hash, now());
        Ok((record, member_id))
    }
}

/// The account was made but the session could not be saved (the node's own trouble, such
/// as a full disk): say so, or the person would think nothing happened and try again with
/// a used token or invite.
fn created_but_not_signed_in(e: AppError) -> AppError {
    match e {
        AppError::Refused { code, .. } if code.is_node_trouble() => AppError::new(
            code,
            "Your account was created, but this node could not sign you in just now (it cannot save anything new). Sign in with your username and password once its admin has freed some space.",
        ),
        other => other,
    }
}
