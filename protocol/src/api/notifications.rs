//! Notifications: what happened that concerns a member (replies to their posts, reactions,
//! mentoring events), listed at `/api/v1/notifications`, and their email settings at
//! `/api/v1/me/email`.

use serde::{Deserialize, Serialize};

use crate::{EventId, MemberId, Timestamp};

/// What a notification is about. Chat messages are not listed (the chat page has its
/// own unread marks) but can be emailed; see [`EmailKinds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// Someone replied to the member's post or reply.
    Reply,
    /// Someone reacted to the member's post or reply.
    Reaction,
    /// A mentoring request, answer, agreement, check-in or closing in one of the member's
    /// proposals or matches.
    Mentoring,
    /// A mentoring reminder: a check-in is due, or a proposal is about to expire.
    Reminder,
    /// A chat message (emailed only; never listed).
    Chat,
    /// A moderators' decision: about a report the member made, or about what they wrote
    /// or their account (a warning, a pause, a suspension, an appeal's outcome).
    Moderation,
}

/// One notification, as its member sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    /// Its number: increasing, unique for the member. Pass the highest seen to
    /// `POST /api/v1/notifications/read`.
    pub seq: u64,
    /// What it is about.
    pub kind: NotificationKind,
    /// When it happened (this node's time of arrival).
    pub at: Timestamp,
    /// Who did it, when someone did.
    pub actor: Option<MemberId>,
    /// Their display name (or their id when they have none).
    pub actor_name: Option<String>,
    /// Their organisation, when known.
    pub organisation: Option<String>,
    /// What happened, in plain words ("Sam (Riverside Hub) replied to your post
    /// “Burnout after events”").
    pub text: String,
    /// Where to see it: a path on this node's website (`/posts/...`,
    /// `/mentoring/matches/...`).
    pub link: String,
    /// The event it is about, when there is one.
    pub event: Option<EventId>,
    /// Whether the member has seen it (at or below their read mark).
    pub read: bool,
}

/// `GET /api/v1/notifications`: the member's newest notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationList {
    /// Newest first.
    pub items: Vec<NotificationView>,
    /// How many are unread (capped at 100).
    pub unread: u32,
    /// Pass as `before` for older ones; absent when there are none.
    pub next_before: Option<u64>,
}

/// `POST /api/v1/notifications/read`: everything up to `up_to` is seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkNotificationsRead {
    /// The highest `seq` the member has seen.
    pub up_to: u64,
}

/// Which kinds of notification a member wants by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EmailKinds {
    /// Chat messages (the email never carries their words).
    pub chat: bool,
    /// Replies to the member's posts and replies.
    pub replies: bool,
    /// Mentoring requests, answers, agreements, check-ins, closings and reminders.
    pub mentoring: bool,
    /// Reactions to the member's posts and replies.
    pub reactions: bool,
    /// Moderators' decisions about the member's reports or account.
    #[serde(default = "yes")]
    pub moderation: bool,
}

fn yes() -> bool {
    true
}

impl Default for EmailKinds {
    fn default() -> Self {
        Self {
            chat: true,
            replies: true,
            mentoring: true,
            reactions: false,
            moderation: true,
        }
    }
}

impl EmailKinds {
    /// Whether notifications of `kind` are wanted by email.
    pub fn wants(&self, kind: NotificationKind) -> bool {
        match kind {
            NotificationKind::Chat => self.chat,
            NotificationKind::Reply => self.replies,
            NotificationKind::Reaction => self.reactions,
            NotificationKind::Mentoring | NotificationKind::Reminder => self.mentoring,
            NotificationKind::Moderation => self.moderation,
        }
    }
}

/// How often the digest of the network's learning is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DigestFrequency {
    /// Never.
    Off,
    /// Once a day.
    Daily,
    /// Once a week (the default).
    #[default]
    Weekly,
}

/// `GET /api/v1/me/email`: the member's email address and choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettings {
    /// Whether this node sends email at all (its admin configured `[email]`).
    pub available: bool,
    /// The address, when one was given.
    pub address: Option<String>,
    /// Whether the address was confirmed through the link sent to it.
    pub verified: bool,
    /// What is emailed.
    pub kinds: EmailKinds,
    /// The digest.
    pub digest: DigestFrequency,
    /// The topics the member follows: the digest covers these (every topic when empty).
    #[serde(default)]
    pub topics: Vec<String>,
    /// Whether reply emails may quote the first lines of a reply (never for chat,
    /// check-ins or anything under a content warning).
    pub previews: bool,
    /// Quiet hours, in the member's time zone: no email from `quiet_from` (hour 0-23)
    /// until `quiet_to`. Equal values mean none.
    pub quiet_from: u8,
    /// See `quiet_from`.
    pub quiet_to: u8,
    /// Why the last email could not be delivered, when it could not (the member's
    /// address bounced, say).
    pub last_failure: Option<String>,
}

/// `PUT /api/v1/me/email`: changes to the member's email settings; absent fields stay.
/// A new `address` is unverified until the link sent to it is followed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateEmailSettings {
    /// A new address; `""` removes it.
    pub address: Option<String>,
    /// What is emailed.
    pub kinds: Option<EmailKinds>,
    /// The digest.
    pub digest: Option<DigestFrequency>,
    /// The topics to follow (names; empty: every topic).
    pub topics: Option<Vec<String>>,
    /// Reply previews.
    pub previews: Option<bool>,
    /// Quiet hours' start (0-23).
    pub quiet_from: Option<u8>,
    /// Quiet hours' end (0-23).
    pub quiet_to: Option<u8>,
}
