//! Accounts: first-admin set-up, invites, sign-in, sessions, members and roles.

use serde::{Deserialize, Serialize};

use crate::{MemberId, Timestamp};

/// What a member may do on their node. Mentoring is a capability, not a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads and writes.
    Member,
    /// Also creates topics and retracts others' posts.
    Moderator,
    /// Also manages members, invites, peers and settings.
    Admin,
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Role::Member => "member",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        })
    }
}

/// `POST /api/v1/setup`: creates the first admin with the one-time set-up token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupRequest {
    /// The token the node printed on first start.
    pub token: String,
    /// Sign-in name (becomes `@username:node`).
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Password.
    pub password: String,
}

/// `POST /api/v1/invites/redeem`: creates an account from an invite.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RedeemInviteRequest {
    /// The invite code from the link.
    pub code: String,
    /// Sign-in name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Password.
    pub password: String,
}

/// `POST /api/v1/sessions`: sign in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginRequest {
    /// Sign-in name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The device token from an earlier [`SessionCreated`] for this member, if the client
    /// kept one: sign-ins carrying it are throttled on their own, so others' failed
    /// attempts never refuse this device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// A new session: the bearer token (shown once) and who it is for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionCreated {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// The session's id, as listed in `GET /api/v1/sessions`.
    pub session_id: String,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// The signed-in member.
    pub member: MemberView,
    /// A device token to keep and send with this member's next sign-in
    /// ([`LoginRequest::device`]); valid for a year. Not a credential by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// A session as listed to its owner (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// Identifies the session for revoking.
    pub id: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it expires.
    pub expires_at: Timestamp,
    /// The client's user agent when it signed in, if given.
    pub user_agent: Option<String>,
    /// Whether this is the session making the request.
    pub current: bool,
}

/// A member as the API shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// `@username:node`.
    pub id: MemberId,
    /// Sign-in name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role on this node.
    pub role: Role,
    /// Suspended members cannot sign in or post.
    pub suspended: bool,
    /// When the account was created.
    pub created_at: Timestamp,
    /// Listed in the people directory.
    #[serde(default)]
    pub listed: bool,
    /// What they are happy to talk about.
    #[serde(default)]
    pub happy_to_talk_about: String,
    /// Whether their read position is shared in conversations.
    #[serde(default)]
    pub read_markers: bool,
    /// The time zone their dates are shown in (IANA name): their own choice, or the
    /// organisation's.
    #[serde(default)]
    pub time_zone: String,
    /// Whether `time_zone` is their own choice (false: the organisation's).
    #[serde(default)]
    pub own_time_zone: bool,
    /// When their account will be deleted and erased, if a deletion is waiting out the
    /// node's grace period.
    #[serde(default)]
    pub deletion_due_at: Option<Timestamp>,
}

/// `POST /api/v1/invites`: an admin invites someone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CreateInvite {
    /// The role the new member gets (default: member).
    pub role: Option<Role>,
    /// A note for the admin's own records (e.g. who it is for).
    pub note: Option<String>,
}

/// A freshly created invite: the code is shown only now.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InviteCreated {
    /// The secret code.
    pub code: String,
    /// A link to give the person (opens the sign-up page).
    pub link: String,
    /// The invite's id for listing and revoking.
    pub id: String,
    /// The role it grants.
    pub role: Role,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// `POST /api/v1/members/{username}/reset-link`: a single-use link for the member to set
/// a new password (shown only now; a new one replaces the last).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetLinkCreated {
    /// Whose password it resets.
    pub username: String,
    /// The link to give them (opens a page where they choose a new password).
    pub link: String,
    /// The secret token in the link.
    pub token: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

/// `POST /api/v1/me/delete`: a member deletes their own account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteAccount {
    /// Their password, as at sign-in.
    pub password: String,
    /// Their username typed again, to confirm.
    pub confirm: String,
}

/// `POST /api/v1/members/{username}/delete`: an admin deletes a member's account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeleteMember {
    /// The member's username typed again, to confirm.
    pub confirm: String,
}

/// What a deletion came to: erased now, or at `erase_at` (the node's grace period) unless
/// an admin stops it (`DELETE /api/v1/members/{username}/delete`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountDeletion {
    /// Whose account.
    pub username: String,
    /// Erased now: everything they wrote is gone here, and every partner node is told.
    pub erased: bool,
    /// When it will be erased, while the grace period runs.
    pub erase_at: Option<Timestamp>,
    /// How many of their posts, replies, reactions and other shared events were erased.
    pub events_erased: u64,
}

/// `POST /api/v1/password-reset`: sets a new password with a reset link's token. Every
/// session of the member ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResetPassword {
    /// The token from the link.
    pub token: String,
    /// The new password.
    pub password: String,
}

/// An invite as listed to admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteView {
    /// Identifies the invite.
    pub id: String,
    /// The role it grants.
    pub role: Role,
    /// The admin's note.
    pub note: Option<String>,
    /// Who created it.
    pub created_by: MemberId,
    /// When.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// Who used it, once used.
    pub used_by: Option<MemberId>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// The link to send, while the invite can still be used (not used, revoked or
    /// expired); absent for invites made before links could be shown again.
    #[serde(default)]
    pub link: Option<String>,
}

/// `PATCH /api/v1/members/{username}`: an admin changes a member.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateMember {
    /// A new role.
    pub role: Option<Role>,
    /// Suspend (true) or reinstate (false).
    pub suspended: Option<bool>,
}

/// `PATCH /api/v1/me`: a member changes their own details.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UpdateMe {
    /// A new display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Appear in the federation-wide people directory (or not).
    #[serde(default)]
    pub listed: Option<bool>,
    /// What they are happy to talk about (shown in the directory).
    #[serde(default)]
    pub happy_to_talk_about: Option<String>,
    /// Share how far they have read with the others in a conversation.
    #[serde(default)]
    pub read_markers: Option<bool>,
    /// Their own time zone (an IANA name such as `Europe/Warsaw`); an empty string goes
    /// back to the organisation's.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// `POST /api/v1/me/password`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePassword {
    /// The current password.
    pub current_password: String,
    /// The new one.
    pub new_password: String,
}
