//! Getting back in: a single-use, expiring link an admin makes for a member who forgot
//! their password (or the server's operator makes with `kindred admin reset-link`, when
//! no admin can sign in). Following it, the member chooses a new password; every session
//! they had ends. Tokens are stored only as SHA-256 hashes; a new link replaces the last.

use kindred_protocol::Timestamp;
use kindred_protocol::api::{ErrorCode, ResetLinkCreated, Role};

use super::Node;
use super::accounts::{Auth, hash_secret, new_secret};
use crate::node::AppError;
use crate::store::ResetRecord;

/// What a reset token starts with.
const PREFIX: &str = "kdreset_";

fn now() -> u64 {
    Timestamp::now().as_millis()
}

fn gone() -> AppError {
    AppError::new(
        ErrorCode::Gone,
        "This link has expired or has been used. Ask your organisation's admin for a new one.",
    )
}

/// Makes and stores a reset link for `username` (not yet flushed). Used by the node and,
/// with the node stopped, by `kindred admin reset-link` on the host.
///
/// Errors: not found for an unknown member; storage errors.
pub(crate) fn create(
    store: &crate::store::Store,
    config: &crate::config::Config,
    made_by: &str,
    username: &str,
) -> Result<ResetLinkCreated, AppError> {
    let username = username.trim().trim_start_matches('@');
    let username = username
        .split(':')
        .next()
        .unwrap_or(username)
        .to_lowercase();
    if store.member(&username)?.is_none() {
        return Err(AppError::not_found(format!(
            "No member here is called {username:?}."
        )));
    }
    let (token, hash) = new_secret(PREFIX)?;
    let created_at = now();
    let record = ResetRecord {
        username: username.clone(),
        made_by: made_by.to_owned(),
        created_at,
        expires_at: created_at + config.accounts.reset_link_hours * 3_600_000,
    };
    store.put_reset(&hash, &record)?;
    tracing::info!(by = made_by, member = %username, "password-reset link made");
    Ok(ResetLinkCreated {
        link: format!("{}/reset/{token}", config.public_url()),
        username,
        token,
        expires_at: Timestamp(record.expires_at),
    })
}

impl Node {
    /// An admin makes a reset link for `username`.
    ///
    /// Errors: forbidden for non-admins, not found for an unknown member.
    pub(crate) async fn admin_reset_link(
        &self,
        auth: &Auth,
        username: &str,
    ) -> Result<ResetLinkCreated, AppError> {
        auth.require(Role::Admin)?;
        self.make_reset_link(&auth.member_id.to_string(), username)
            .await
    }

    /// Makes a reset link for `username` on behalf of `made_by` (logged).
    ///
    /// Errors: not found for an unknown member.
    pub(crate) async fn make_reset_link(
        &self,
        made_by: &str,
        username: &str,
    ) -> Result<ResetLinkCreated, AppError> {
        let created = create(self.store(), self.config(), made_by, username)?;
        self.store().durable().await?;
        Ok(created)
    }

    /// Whose password a reset token would reset, while it is usable.
    ///
    /// Errors: gone when the token is unknown, used or expired.
    pub(crate) fn reset_for(&self, token: &str) -> Result<String, AppError> {
        match self.store().reset(&hash_secret(token.trim()))? {
            Some(r) if r.expires_at > now() => Ok(r.username),
            _ => Err(gone()),
        }
    }

    /// Sets a new password with a reset token: once. Every session of the member ends.
    /// Returns the username.
    ///
    /// Errors: gone (unknown, used or expired token), bad request (a password the node
    /// does not accept; the link stays usable), forbidden (a suspended member).
    pub(crate) async fn reset_password(
        &self,
        token: &str,
        password: &str,
    ) -> Result<String, AppError> {
        let hash = hash_secret(token.trim());
        let username = self.reset_for(token)?;
        // Checked before the link is used up, so a too-short password can be retried.
        self.check_password(password)?;
        let Some(record) = self.store().take_reset(&hash)? else {
            return Err(gone());
        };
        if record.expires_at <= now() {
            return Err(gone());
        }
        let suspended = || {
            AppError::new(
                ErrorCode::Suspended,
                "This account is suspended. Please contact your organisation's admin.",
            )
        };
        match self.store().member(&username)? {
            None => return Err(gone()),
            Some(m) if m.suspended => return Err(suspended()),
            Some(_) => {}
        }
        let new_hash = super::passwords::hash(super::passwords::prepare(password)?).await?;
        // Checked again as the password is set: a suspension made during the (slow)
        // hashing stands, and an account erased meanwhile is not re-created.
        let Some(member) = self.store().update_member(&username, |member| {
            if member.suspended {
                return Err(suspended());
            }
            member.password_hash.clone_from(&new_hash);
            member.password_precis = true;
            Ok(member.clone())
        })?
        else {
            return Err(gone());
        };
        for (session, _) in self.store().sessions_of(&member.username)? {
            self.store().remove_session(&session)?;
        }
        self.store().accounts_changed();
        self.store().durable().await?;
        tracing::info!(member = %member.username, made_by = %record.made_by, "password reset with a link; every session ended");
        Ok(member.username)
    }
}
