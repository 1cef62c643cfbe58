//! Member invites: made by admins, listed, revoked, checked, and redeemed by a newcomer
//! choosing a username and password.

use super::{Auth, created_but_not_signed_in, hash_secret, now};
use crate::node::AppError;
use crate::node::Node;
use crate::store::InviteRecord;
use crate::store::accounts::RedeemError;
use kindred_protocol::Timestamp;
use kindred_protocol::api::{
    CreateInvite, ErrorCode, InviteCreated, InviteView, RedeemInviteRequest, Role, SessionCreated,
};

impl Node {
    /// Creates a single-use, expiring member invite.
    pub(crate) async fn create_invite(
        &self,
        auth: &Auth,
        req: CreateInvite,
    ) -> Result<InviteCreated, AppError> {
        auth.require(Role::Admin)?;
        let nonce = crate::node::invite_codes::new_nonce()?;
        let code = crate::node::invite_codes::code(&self.limits().invite_key, &nonce);
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
                    let code = crate::node::invite_codes::code(&self.limits().invite_key, nonce);
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
                    self.store().update_member(&record.username, |m| {
                        m.role = invite.role;
                        Ok::<_, AppError>(())
                    })?;
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
}
