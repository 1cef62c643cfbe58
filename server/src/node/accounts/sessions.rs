//! Signing in and out: the first admin's set-up, sign-in with its throttles, checking a
//! session token (cached), listing and ending sessions, and changing one's password.

use super::{Auth, DAY_MS, created_but_not_signed_in, dummy_hash, hash_secret, new_secret, now};
use crate::node::AppError;
use crate::node::Node;
use crate::store::{MemberRecord, SessionRecord};
use kindred_protocol::Timestamp;
use kindred_protocol::api::{
    ChangePassword, ErrorCode, LoginRequest, Role, SessionCreated, SessionView, SetupRequest,
};
use std::net::IpAddr;

impl Node {
    pub(super) async fn start_session(
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
        let member = self.check_credentials(&req, address).await?;
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
            && let Ok(prepared) = crate::node::passwords::prepare(&req.password)
        {
            // A hash from before passwords were prepared: replaced now the password is known,
            // unless the password was changed meanwhile.
            let new_hash = crate::node::passwords::hash(prepared).await?;
            self.store().update_member(&member.username, |m| {
                if m.password_hash == member.password_hash {
                    m.password_hash.clone_from(&new_hash);
                    m.password_precis = true;
                }
                Ok::<_, AppError>(())
            })?;
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
        let typed = || crate::node::sign_in_guard::log_tag(&self.limits().log_key, &username);
        let Some(attempt) = guard.attempt(&username, address, device).await else {
            tracing::warn!(%address, username = %typed(), known_device = device.is_some(), "sign-in throttled");
            return Err(AppError::new(
                ErrorCode::RateLimited,
                "Too many sign-in attempts. Please wait a few minutes and try again.",
            ));
        };
        let member = self.store().member(&username)?;
        let (hash, precis) = match &member {
            Some(m) => (m.password_hash.clone(), m.password_precis),
            None => (dummy_hash().await, true),
        };
        let ok = crate::node::passwords::verify(hash, req.password.clone(), precis).await;
        let Some(member) = member.filter(|_| ok) else {
            // The attempt stays counted.
            tracing::info!(%address, username = %typed(), known_device = device.is_some(), "failed sign-in");
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "That username and password do not match.",
            ));
        };
        guard.succeeded(attempt);
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

    pub(super) fn authenticate_uncached(&self, hash: [u8; 32]) -> Result<Auth, AppError> {
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

    /// Changes the member's password; other sessions are signed out.
    pub(crate) async fn change_password(
        &self,
        auth: &Auth,
        req: ChangePassword,
    ) -> Result<(), AppError> {
        self.password_check_allowed(auth)?;
        if !crate::node::passwords::verify(
            auth.member.password_hash.clone(),
            req.current_password,
            auth.member.password_precis,
        )
        .await
        {
            return Err(AppError::new(
                ErrorCode::InvalidCredentials,
                "Your current password is not right.",
            )
            .on("current_password"));
        }
        self.check_password(&req.new_password)
            .map_err(|e| e.on("new_password"))?;
        let new_hash =
            crate::node::passwords::hash(crate::node::passwords::prepare(&req.new_password)?)
                .await?;
        // Set on the record as it is now (not the one read when the request began), and
        // only if the password checked above is still the account's: a suspension, or a
        // reset, made during the (slow) hashing stands.
        let changed = self
            .store()
            .update_member(&auth.member.username, |member| {
                if member.suspended || member.deletion_due_at.is_some() {
                    return Err(AppError::forbidden(
                        "This account was suspended or is being deleted: the password was not changed.",
                    ));
                }
                if member.password_hash != auth.member.password_hash {
                    return Err(AppError::new(
                        ErrorCode::Conflict,
                        "Your password was changed somewhere else just now: sign in again with the new one.",
                    ));
                }
                member.password_hash.clone_from(&new_hash);
                member.password_precis = true;
                Ok(())
            })?;
        if changed.is_none() {
            return Err(AppError::not_found("Your account is not here any more."));
        }
        for (hash, _) in self.store().sessions_of(&auth.member.username)? {
            if hash != auth.session_hash {
                self.store().remove_session(&hash)?;
            }
        }
        Ok(self.store().durable().await?)
    }
}
