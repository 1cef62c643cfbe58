//! Accounts: the first-admin set-up token, invites, sign-in, sessions, roles, suspension.
//! Passwords are hashed with argon2id; tokens and invite codes are random and stored only
//! as SHA-256 hashes.

use std::net::IpAddr;
use std::sync::OnceLock;

use kindred_protocol::api::{
    ChangePassword, CreateInvite, ErrorCode, InviteCreated, InviteView, LoginRequest, MemberView,
    RedeemInviteRequest, Role, SessionCreated, SessionView, SetupRequest, UpdateMe, UpdateMember,
};
use kindred_protocol::{MemberId, Timestamp};
use sha2::{Digest, Sha256};

use super::{Node, NodeError};
use crate::node::AppError;
use crate::store::accounts::RedeemError;
use crate::store::{InviteRecord, MemberRecord, SessionRecord};

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
        return Err(AppError::bad_request(
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
            return Err(AppError::bad_request(
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
            AppError::bad_request(match kindred_protocol::identity::suggest_localpart(username) {
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
        let prepared = super::passwords::prepare(password)?;
        if prepared.chars().count() < min {
            return Err(AppError::bad_request(format!(
                "Please choose a password of at least {min} characters. A few words together work well."
            )));
        }
        if password.len() > 1024 {
            return Err(AppError::bad_request(
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
        let display_name = self.display_name_for(display_name, None)?;
        self.check_password(password)?;
        let record = MemberRecord {
            username: username.to_owned(),
            display_name,
            role,
            suspended: false,
            password_hash: super::passwords::hash(super::passwords::prepare(password)?).await?,
            password_precis: true,
            created_at: now(),
            profile_published: false,
            listed: false,
            happy_to_talk_about: String::new(),
            read_markers: true,
            time_zone: None,
            deletion_due_at: None,
            muted_words: Vec::new(),
            muted_topics: Vec::new(),
            break_until: None,
        };
        Ok((record, member_id))
    }

    async fn start_session(
        &self,
        member: &MemberRecord,
        user_agent: Option<String>,
    ) -> Result<SessionCreated, AppError> {
        let (token, hash) = new_secret("kds_")?;
        let created_at = now();
        let expires_at = created_at + self.config().accounts.session_hours * 3_600_000;
        let session = SessionRecord {
            id: hex::encode(&hash[..8]),
            username: member.username.clone(),
            created_at,
            expires_at,
            user_agent: user_agent.map(|ua| ua.chars().take(200).collect()),
        };
        self.store().put_session(&hash, &session)?;
        self.store().durable().await?;
        Ok(SessionCreated {
            token,
            session_id: session.id,
            expires_at: Timestamp(expires_at),
            member: self.member_view(member)?,
            device: self
                .limits()
                .sign_in
                .issue(&member.username, created_at / DAY_MS),
        })
    }

    /// Creates the first admin with the set-up token.
    pub(crate) async fn setup(
        &self,
        req: SetupRequest,
        user_agent: Option<String>,
    ) -> Result<SessionCreated, AppError> {
        let invalid = || {
            AppError::new(
                ErrorCode::Forbidden,
                "That set-up token is not valid. It is printed when the node starts, until an admin exists.",
            )
        };
        let hash = hash_secret(req.token.trim());
        if self.store().setup_token_hash()? != Some(hash) {
            return Err(invalid());
        }
        // Checked before the token is spent, so a typo in the form does not use it up.
        let (record, _) = self
            .new_member(&req.username, &req.display_name, &req.password, Role::Admin)
            .await?;
        // The account first, so a write that fails (a full disk) leaves the token good for
        // the next try; then one admin however many set-ups race: only the one that takes
        // the token keeps its account.
        if !self.store().create_member(&record)? {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "That username is taken.",
            ));
        }
        match self.store().take_setup_token(hash) {
            Ok(true) => {}
            Ok(false) => {
                self.store().uncreate_member(&record.username)?;
                return Err(invalid());
            }
            Err(e) => {
                let _ = self.store().uncreate_member(&record.username);
                return Err(e.into());
            }
        }
        tracing::info!(username = %record.username, "first admin created");
        self.start_session(&record, user_agent)
            .await
            .map_err(created_but_not_signed_in)
    }

    /// Signs in. Wrong username and wrong password get the same answer.
    pub(crate) async fn login(
        &self,
        req: LoginRequest,
        address: IpAddr,
        user_agent: Option<String>,
    ) -> Result<SessionCreated, AppError> {
        let mut member = self.check_credentials(&req, address).await?;
        if member.deletion_due_at.is_some() {
            return Err(AppError::new(
                ErrorCode::Suspended,
                "This account is being deleted. If that is a mistake, ask your organisation's admin to stop it soon.",
            ));
        }
        if member.suspended {
            return Err(AppError::new(
                ErrorCode::Suspended,
                self.suspension_message(&member)?,
            ));
        }
        if !member.password_precis
            && let Ok(prepared) = super::passwords::prepare(&req.password)
        {
            // A hash from before passwords were prepared: replaced now the password is known.
            member.password_hash = super::passwords::hash(prepared).await?;
            member.password_precis = true;
            self.store().put_member(&member)?;
        }
        self.start_session(&member, user_agent).await
    }

    /// The member whose username and password these are, through the sign-in guard
    /// (throttled per account-and-address, address and device). Wrong username and wrong
    /// password get the same answer.
    pub(crate) async fn check_credentials(
        &self,
        req: &LoginRequest,
        address: IpAddr,
    ) -> Result<MemberRecord, AppError> {
        let guard = &self.limits().sign_in;
        let username = req.username.trim().to_lowercase();
        let device = req
            .device
            .as_deref()
            .and_then(|t| guard.device(t, &username, now() / DAY_MS));
        // What was typed may be a password in the wrong field: logs get a keyed hash.
        let typed = || super::sign_in_guard::log_tag(&self.limits().log_key, &username);
        if !guard.allows(&username, address, device) {
            tracing::warn!(%address, username = %typed(), known_device = device.is_some(), "sign-in throttled");
            return Err(AppError::new(
                ErrorCode::RateLimited,
                "Too many sign-in attempts. Please wait a few minutes and try again.",
            ));
        }
        let member = self.store().member(&username)?;
        let (hash, precis) = match &member {
            Some(m) => (m.password_hash.clone(), m.password_precis),
            None => (dummy_hash().await, true),
        };
        let ok = super::passwords::verify(hash, req.password.clone(), precis).await;
        let Some(member) = member.filter(|_| ok) else {
            guard.failed(&username, address, device);
            tracing::info!(%address, username = %typed(), known_device = device.is_some(), "failed sign-in");
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "That username and password do not match.",
            ));
        };
        Ok(member)
    }

    /// Resolves a bearer token to its member and session.
    pub(crate) fn authenticate(&self, token: &str) -> Result<Auth, AppError> {
        let hash = hash_secret(token);
        // Read the generation before the store so a concurrent change invalidates this answer.
        let generation = self.store().accounts_generation();
        let cache = &self.limits().auth_cache;
        if let Some(auth) = cache.get(&hash, generation, now()) {
            return Ok(auth);
        }
        let auth = self.authenticate_uncached(hash)?;
        cache.put(hash, generation, auth.clone());
        Ok(auth)
    }

    fn authenticate_uncached(&self, hash: [u8; 32]) -> Result<Auth, AppError> {
        let unauthorized = || {
            AppError::new(
                ErrorCode::Unauthorized,
                "Please sign in (missing or expired session).",
            )
        };
        let session = self.store().session(&hash)?.ok_or_else(unauthorized)?;
        if session.expires_at <= now() {
            self.store().remove_session(&hash)?;
            return Err(unauthorized());
        }
        let member = self
            .store()
            .member(&session.username)?
            .ok_or_else(unauthorized)?;
        if member.suspended || member.deletion_due_at.is_some() {
            return Err(AppError::new(
                ErrorCode::Suspended,
                "This account is suspended.",
            ));
        }
        let member_id = self.member_id(&member.username)?;
        Ok(Auth {
            member,
            member_id,
            session_hash: hash,
            expires_at: session.expires_at,
        })
    }

    /// Ends the current session.
    pub(crate) async fn logout(&self, auth: &Auth) -> Result<(), AppError> {
        self.store().remove_session(&auth.session_hash)?;
        Ok(self.store().durable().await?)
    }

    /// The member's sessions.
    pub(crate) fn sessions(&self, auth: &Auth) -> Result<Vec<SessionView>, AppError> {
        let mut out: Vec<SessionView> = self
            .store()
            .sessions_of(&auth.member.username)?
            .into_iter()
            .map(|(hash, s)| SessionView {
                id: s.id,
                created_at: Timestamp(s.created_at),
                expires_at: Timestamp(s.expires_at),
                user_agent: s.user_agent,
                current: hash == auth.session_hash,
            })
            .collect();
        out.sort_by_key(|s| std::cmp::Reverse(s.created_at));
        Ok(out)
    }

    /// Revokes one of the member's sessions by id.
    pub(crate) async fn revoke_session(&self, auth: &Auth, id: &str) -> Result<(), AppError> {
        let found = self
            .store()
            .sessions_of(&auth.member.username)?
            .into_iter()
            .find(|(_, s)| s.id == id);
        let Some((hash, _)) = found else {
            return Err(AppError::not_found("No such session."));
        };
        self.store().remove_session(&hash)?;
        Ok(self.store().durable().await?)
    }

    /// Creates a single-use, expiring member invite.
    pub(crate) async fn create_invite(
        &self,
        auth: &Auth,
        req: CreateInvite,
    ) -> Result<InviteCreated, AppError> {
        auth.require(Role::Admin)?;
        let nonce = super::invite_codes::new_nonce()?;
        let code = super::invite_codes::code(&self.limits().invite_key, &nonce);
        let hash = hash_secret(&code);
        let created_at = now();
        let record = InviteRecord {
            id: hex::encode(&hash[..8]),
            role: req.role.unwrap_or(Role::Member),
            note: req.note.map(|n| n.chars().take(200).collect()),
            created_by: auth.member_id.clone(),
            created_at,
            expires_at: created_at + self.config().accounts.invite_hours * 3_600_000,
            used_by: None,
            revoked: false,
            nonce: Some(nonce),
        };
        self.store().put_invite(&hash, &record)?;
        self.store().durable().await?;
        tracing::info!(by = %auth.member_id, role = ?record.role, "invite created");
        Ok(InviteCreated {
            link: format!("{}/join/{code}", self.config().public_url()),
            code,
            id: record.id,
            role: record.role,
            expires_at: Timestamp(record.expires_at),
        })
    }

    /// Every invite, newest first.
    pub(crate) fn invites(&self, auth: &Auth) -> Result<Vec<InviteView>, AppError> {
        auth.require(Role::Admin)?;
        let mut out: Vec<InviteView> = self
            .store()
            .invites()?
            .into_iter()
            .map(|(_, i)| {
                let usable = i.used_by.is_none() && !i.revoked && i.expires_at > now();
                let link = i.nonce.as_deref().filter(|_| usable).map(|nonce| {
                    let code = super::invite_codes::code(&self.limits().invite_key, nonce);
                    format!("{}/join/{code}", self.config().public_url())
                });
                InviteView {
                    id: i.id,
                    role: i.role,
                    note: i.note,
                    created_by: i.created_by,
                    created_at: Timestamp(i.created_at),
                    expires_at: Timestamp(i.expires_at),
                    used_by: i.used_by,
                    revoked: i.revoked,
                    link,
                }
            })
            .collect();
        out.sort_by_key(|i| std::cmp::Reverse(i.created_at));
        Ok(out)
    }

    /// Revokes an unused invite.
    pub(crate) async fn revoke_invite(&self, auth: &Auth, id: &str) -> Result<(), AppError> {
        auth.require(Role::Admin)?;
        let Some((hash, _)) = self
            .store()
            .invites()?
            .into_iter()
            .find(|(_, i)| i.id == id)
        else {
            return Err(AppError::not_found("No such invite."));
        };
        if !self.store().revoke_unused_invite(&hash)? {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "That invite has already been used: suspend the member instead if they should not be here.",
            ));
        }
        Ok(self.store().durable().await?)
    }

    /// Whether an invite code can still be redeemed (a clear error when not).
    pub(crate) fn check_invite(&self, code: &str) -> Result<(), AppError> {
        match self.store().invite(&hash_secret(code.trim()))? {
            None => Err(AppError::not_found("That invite code is not valid.")),
            Some(i) if i.used_by.is_some() || i.revoked || i.expires_at <= now() => {
                Err(AppError::new(
                    ErrorCode::Gone,
                    "That invite has been used, withdrawn or has expired. Please ask your admin for a new one.",
                ))
            }
            Some(_) => Ok(()),
        }
    }

    /// Creates an account from an invite code.
    pub(crate) async fn redeem_invite(
        &self,
        req: RedeemInviteRequest,
        user_agent: Option<String>,
    ) -> Result<SessionCreated, AppError> {
        let hash = hash_secret(req.code.trim());
        // Check the invite before the (slow) password hashing, for a quick clear answer.
        self.check_invite(&req.code)?;
        let (mut record, member_id) = self
            .new_member(
                &req.username,
                &req.display_name,
                &req.password,
                Role::Member,
            )
            .await?;
        match self
            .store()
            .redeem_invite(&hash, &record, &member_id, now())
        {
            Ok(invite) => {
                if invite.role != Role::Member {
                    record.role = invite.role;
                    self.store().put_member(&record)?;
                }
                tracing::info!(member = %member_id, "invite redeemed");
                self.start_session(&record, user_agent)
                    .await
                    .map_err(created_but_not_signed_in)
            }
            Err(RedeemError::Unknown) => Err(AppError::not_found("That invite code is not valid.")),
            Err(RedeemError::Spent) => Err(AppError::new(
                ErrorCode::Gone,
                "That invite has been used or has expired. Please ask your admin for a new one.",
            )),
            Err(RedeemError::UsernameTaken) => Err(AppError::new(
                ErrorCode::Conflict,
                "That username is taken. Please choose another.",
            )),
            Err(RedeemError::Store(e)) => Err(e.into()),
        }
    }

    /// Every member (admins only).
    pub(crate) fn members(&self, auth: &Auth) -> Result<Vec<MemberView>, AppError> {
        auth.require(Role::Admin)?;
        self.store()
            .members()?
            .iter()
            .map(|m| self.member_view(m))
            .collect()
    }

    /// The signed-in member.
    pub(crate) fn me(&self, auth: &Auth) -> Result<MemberView, AppError> {
        self.member_view(&auth.member)
    }

    /// Changes a member's role or suspends/reinstates them (admins only).
    pub(crate) async fn update_member(
        &self,
        auth: &Auth,
        username: &str,
        req: UpdateMember,
    ) -> Result<MemberView, AppError> {
        auth.require(Role::Admin)?;
        // Role changes, suspensions and deletions one at a time, each checked against the
        // accounts as they are then: two admins demoting each other at once cannot both
        // succeed, and the node always keeps an admin.
        let _accounts = self.limits().erasing.lock().await;
        let active_admin =
            |m: &MemberRecord| m.role == Role::Admin && !m.suspended && m.deletion_due_at.is_none();
        if !self
            .store()
            .member(&auth.member.username)?
            .is_some_and(|m| active_admin(&m))
        {
            return Err(AppError::forbidden("Only admins can change members."));
        }
        let Some(mut member) = self.store().member(username)? else {
            return Err(AppError::not_found("No such member."));
        };
        if member.username == auth.member.username
            && (req.suspended == Some(true) || req.role.is_some_and(|r| r != Role::Admin))
        {
            return Err(AppError::bad_request(
                "You cannot suspend yourself or remove your own admin role; ask another admin.",
            ));
        }
        if let Some(role) = req.role {
            member.role = role;
        }
        let suspension_changed = req.suspended.is_some_and(|s| s != member.suspended);
        if let Some(suspended) = req.suspended {
            member.suspended = suspended;
        }
        let admins_left = self
            .store()
            .members()?
            .iter()
            .filter(|m| m.username != member.username && active_admin(m))
            .count()
            + usize::from(active_admin(&member));
        if admins_left == 0 {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "The node would have no admin left: make someone else an admin first.",
            ));
        }
        self.save_member(&member, suspension_changed).await?;
        if suspension_changed {
            // One suspension, whichever page set or ended it: logged, and appealable.
            let id = self.member_id(&member.username)?;
            self.members_page_suspension(auth, &id, member.suspended)?;
        }
        tracing::info!(by = %auth.member_id, member = %member.username, role = ?member.role, suspended = member.suspended, "member updated");
        self.member_view(&member)
    }

    /// Writes a member whose role or suspension changed: a suspended member's sessions
    /// end, and other nodes are told when `suspension_changed` (they list a suspended
    /// member as not taking messages, and list them again once reinstated).
    pub(crate) async fn save_member(
        &self,
        member: &MemberRecord,
        suspension_changed: bool,
    ) -> Result<(), AppError> {
        self.store().put_member(member)?;
        if member.suspended {
            for (hash, _) in self.store().sessions_of(&member.username)? {
                self.store().remove_session(&hash)?;
            }
        }
        self.store().durable().await?;
        if suspension_changed && (member.profile_published || member.listed) {
            let id = self.member_id(&member.username)?;
            self.publish_profile(member, &id).await?;
        }
        Ok(())
    }

    /// Changes the member's own display name.
    pub(crate) async fn update_me(
        &self,
        auth: &Auth,
        req: UpdateMe,
    ) -> Result<MemberView, AppError> {
        let mut member = auth.member.clone();
        let mut publish = false;
        if let Some(name) = req.display_name {
            member.display_name = self.display_name_for(&name, Some(&member.username))?;
            publish |= member.profile_published;
        }
        if let Some(text) = req.happy_to_talk_about {
            member.happy_to_talk_about = clean_talk_about(&text)?;
            publish |= member.profile_published || member.listed;
        }
        if let Some(listed) = req.listed {
            // Unlisting must reach the other nodes too, so it is published either way.
            publish |= listed != member.listed || (listed && !member.profile_published);
            member.listed = listed;
        }
        if let Some(markers) = req.read_markers {
            member.read_markers = markers;
        }
        if let Some(zone) = req.time_zone {
            let zone = zone.trim();
            member.time_zone = if zone.is_empty() {
                None
            } else if let Some(name) = crate::calendar::canonical_name(zone) {
                Some(name)
            } else {
                return Err(AppError::bad_request(format!(
                    "“{zone}” is not a time zone we know. Use a name such as Europe/London or Asia/Karachi."
                )));
            };
        }
        self.store().put_member(&member)?;
        self.store().durable().await?;
        if publish {
            self.publish_profile(&member, &auth.member_id).await?;
        }
        let member = self.store().member(&member.username)?.unwrap_or(member);
        self.member_view(&member)
    }

    /// Changes the member's password; other sessions are signed out.
    pub(crate) async fn change_password(
        &self,
        auth: &Auth,
        req: ChangePassword,
    ) -> Result<(), AppError> {
        self.password_check_allowed(auth)?;
        if !super::passwords::verify(
            auth.member.password_hash.clone(),
            req.current_password,
            auth.member.password_precis,
        )
        .await
        {
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "Your current password is not right.",
            ));
        }
        self.check_password(&req.new_password)?;
        let mut member = auth.member.clone();
        member.password_hash =
            super::passwords::hash(super::passwords::prepare(&req.new_password)?).await?;
        member.password_precis = true;
        self.store().put_member(&member)?;
        for (hash, _) in self.store().sessions_of(&member.username)? {
            if hash != auth.session_hash {
                self.store().remove_session(&hash)?;
            }
        }
        Ok(self.store().durable().await?)
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
