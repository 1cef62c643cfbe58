//! Client calls for accounts: set-up, signing in and out, sessions, one's own account and
//! password, invites, members (admins), data exports and deletion.

use super::{Client, ClientError};
use kindred_protocol::api::endpoints as ep;
use kindred_protocol::api::*;

impl Client {
    /// `GET /api/v1/me/export`: everything the node holds about the signed-in member, as a
    /// ZIP (`kindred-export.json` and a readable `index.html`).
    pub async fn export_me(&self) -> Result<Vec<u8>, ClientError> {
        self.download::<ep::ExportMe>(&[]).await
    }

    /// `GET /api/v1/members/{username}/export`: a member's data export (admins, for a
    /// subject-access request).
    pub async fn export_member(&self, username: &str) -> Result<Vec<u8>, ClientError> {
        self.download::<ep::ExportMember>(&[username]).await
    }

    /// Creates the first admin with the set-up token; returns a signed-in client.
    pub async fn setup(&self, req: &SetupRequest) -> Result<(Client, SessionCreated), ClientError> {
        let s: SessionCreated = self.call::<ep::Setup>(&[], Some(req)).await?;
        Ok((self.clone().with_token(s.token.clone()), s))
    }

    /// Signs in; returns a signed-in client.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Client, SessionCreated), ClientError> {
        self.login_on_device(username, password, None).await
    }

    /// Signs in from a device that signed in as this member before: `device` is
    /// [`SessionCreated::device`] from that time. Others' failed attempts never refuse it.
    pub async fn login_on_device(
        &self,
        username: &str,
        password: &str,
        device: Option<&str>,
    ) -> Result<(Client, SessionCreated), ClientError> {
        let req = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device: device.map(str::to_owned),
        };
        let s: SessionCreated = self.call::<ep::Login>(&[], Some(&req)).await?;
        Ok((self.clone().with_token(s.token.clone()), s))
    }

    /// Creates an account from an invite code; returns a signed-in client.
    pub async fn redeem_invite(
        &self,
        req: &RedeemInviteRequest,
    ) -> Result<(Client, SessionCreated), ClientError> {
        let s: SessionCreated = self.call::<ep::RedeemInvite>(&[], Some(req)).await?;
        Ok((self.clone().with_token(s.token.clone()), s))
    }

    /// Signs out (revokes this session).
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.call::<ep::Logout>(&[], None).await
    }

    /// The signed-in member's sessions.
    pub async fn sessions(&self) -> Result<Vec<SessionView>, ClientError> {
        self.call::<ep::Sessions>(&[], None).await
    }

    /// Revokes one of the member's sessions.
    pub async fn revoke_session(&self, id: &str) -> Result<(), ClientError> {
        self.call::<ep::RevokeSession>(&[id], None).await
    }

    /// Who is signed in.
    pub async fn me(&self) -> Result<MemberView, ClientError> {
        self.call::<ep::Me>(&[], None).await
    }

    /// Changes the member's display name.
    pub async fn update_me(&self, req: &UpdateMe) -> Result<MemberView, ClientError> {
        self.call::<ep::UpdateMe>(&[], Some(req)).await
    }

    /// Changes the member's password.
    pub async fn change_password(&self, req: &ChangePassword) -> Result<(), ClientError> {
        self.call::<ep::ChangePassword>(&[], Some(req)).await
    }

    /// Creates a member invite (admins).
    pub async fn create_invite(&self, req: &CreateInvite) -> Result<InviteCreated, ClientError> {
        self.call::<ep::CreateInvite>(&[], Some(req)).await
    }

    /// Lists invites (admins).
    pub async fn invites(&self) -> Result<Vec<InviteView>, ClientError> {
        self.call::<ep::Invites>(&[], None).await
    }

    /// Revokes an invite (admins).
    pub async fn revoke_invite(&self, id: &str) -> Result<(), ClientError> {
        self.call::<ep::RevokeInvite>(&[id], None).await
    }

    /// Lists members (admins).
    pub async fn members(&self) -> Result<Vec<MemberView>, ClientError> {
        self.call::<ep::Members>(&[], None).await
    }

    /// Changes a member's role or suspension (admins).
    pub async fn update_member(
        &self,
        username: &str,
        req: &UpdateMember,
    ) -> Result<MemberView, ClientError> {
        self.call::<ep::UpdateMember>(&[username], Some(req)).await
    }

    /// Makes a single-use password-reset link for a member (admins); a new one replaces
    /// the last.
    pub async fn reset_link(&self, username: &str) -> Result<ResetLinkCreated, ClientError> {
        self.call::<ep::ResetLink>(&[username], None::<&()>).await
    }

    /// Deletes the signed-in member's own account (password and username typed again):
    /// erased now, or after the node's grace period.
    pub async fn delete_me(&self, req: &DeleteAccount) -> Result<AccountDeletion, ClientError> {
        self.call::<ep::DeleteMe>(&[], Some(req)).await
    }

    /// Deletes a member's account (admins; username typed again).
    pub async fn delete_member(
        &self,
        username: &str,
        req: &DeleteMember,
    ) -> Result<AccountDeletion, ClientError> {
        self.call::<ep::DeleteMember>(&[username], Some(req)).await
    }

    /// Stops a member's scheduled deletion during the grace period (admins).
    pub async fn stop_deletion(&self, username: &str) -> Result<(), ClientError> {
        self.call::<ep::StopDeletion>(&[username], None::<&()>)
            .await
    }

    /// Sets a new password with a reset link's token (no sign-in needed); every session of
    /// the member ends.
    pub async fn reset_password(&self, req: &ResetPassword) -> Result<(), ClientError> {
        self.call::<ep::ResetPassword>(&[], Some(req)).await
    }
}
