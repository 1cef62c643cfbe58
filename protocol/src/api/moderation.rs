//! Reports, the moderators' review queue, their actions and the audit log
//! (`/api/v1/reports`, `/api/v1/moderation/...`), and a member's appeal
//! (`/api/v1/me/appeal`). See `docs/api.md` ("Keeping people safe").

use serde::{Deserialize, Serialize};

pub use crate::event::body::report::{DecisionAction, ReportReason, ReportTarget};
use crate::{MemberId, Timestamp};

/// Longest note a reporter, moderator or appealing member may write (bytes).
pub const MAX_MODERATION_NOTE_BYTES: usize = 2000;

/// `POST /api/v1/reports`: asks this node's moderators (and, without naming the
/// reporter, the content's home node's) to look at a post, reply, chat message or person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportRequest {
    /// What is reported.
    pub target: ReportTarget,
    /// Why, from the short list.
    pub reason: ReportReason,
    /// Anything the moderators should know (up to [`MAX_MODERATION_NOTE_BYTES`]); stays
    /// on this node.
    #[serde(default)]
    pub note: String,
}

/// The answer to a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportFiled {
    /// The report's number on this node.
    pub id: u64,
    /// What happens next, in plain words.
    pub message: String,
}

/// What moderators can do about reported content or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModerationAction {
    /// Close the reports: nothing needs doing (content hidden by reports comes back).
    Dismiss,
    /// Hide it on this node, with a reason shown in its place (a person: everything they
    /// wrote, and they leave the directory here).
    Hide,
    /// Show hidden content or a hidden person again.
    Restore,
    /// Take it down everywhere (only for content written on this node).
    Retract,
    /// Tell the author (a member of this node) that it broke the guidelines.
    Warn,
    /// Suspend the author (a member of this node): the next step of the ladder.
    Suspend,
    /// End a suspension or a pause on posting early.
    Reinstate,
}

impl ModerationAction {
    /// Every action, in the order the queue offers them.
    pub const ALL: [ModerationAction; 7] = [
        ModerationAction::Dismiss,
        ModerationAction::Hide,
        ModerationAction::Restore,
        ModerationAction::Retract,
        ModerationAction::Warn,
        ModerationAction::Suspend,
        ModerationAction::Reinstate,
    ];

    /// Its name, as in JSON, web forms and the audit log (`dismiss`, `hide` ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ModerationAction::Dismiss => "dismiss",
            ModerationAction::Hide => "hide",
            ModerationAction::Restore => "restore",
            ModerationAction::Retract => "retract",
            ModerationAction::Warn => "warn",
            ModerationAction::Suspend => "suspend",
            ModerationAction::Reinstate => "reinstate",
        }
    }

    /// The action named `name` ([`ModerationAction::as_str`]).
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

/// `POST /api/v1/moderation/actions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationRequest {
    /// What it is about. For warn, suspend and reinstate an event means its author.
    pub target: ReportTarget,
    /// What to do.
    pub action: ModerationAction,
    /// For hide and restore: also publish the decision (without the moderator's name) for
    /// partner organisations to follow, review or ignore, as each has chosen for this
    /// node. The note is published with it, so at most 1,000 bytes.
    #[serde(default)]
    pub share: bool,
    /// Why, in words the author (warn, suspend), the reporters (every outcome) and, for
    /// hide, everyone who sees the notice in its place may read. Required except for
    /// dismiss, restore and reinstate (up to [`MAX_MODERATION_NOTE_BYTES`]).
    #[serde(default)]
    pub note: String,
}

/// The answer to a moderation action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationDone {
    /// What was done, in plain words.
    pub message: String,
    /// For a suspension: when it ends; absent when permanent.
    #[serde(default)]
    pub until: Option<Timestamp>,
    /// Reports closed by this action.
    pub reports_closed: u32,
}

/// One report as moderators see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    /// Its number on this node.
    pub id: u64,
    /// Why.
    pub reason: ReportReason,
    /// The reporter's note (reports from this node's members only).
    #[serde(default)]
    pub note: Option<String>,
    /// The reporter, for reports by this node's members; other nodes never say.
    #[serde(default)]
    pub reporter: Option<MemberId>,
    /// The organisation whose member reported it.
    pub from_organisation: String,
    /// When it was filed (this node's clock).
    pub at: Timestamp,
    /// Open (not yet decided).
    pub open: bool,
    /// Not a member's report but another node's shared decision waiting for review:
    /// what its moderators did ("hide" or "restore"); `note` is their reason.
    #[serde(default)]
    pub decision: Option<DecisionAction>,
}

/// One line of context around reported content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContextLine {
    /// Who wrote it.
    pub author_name: String,
    /// What it says (cut to a few hundred characters).
    pub text: String,
    /// The reported line itself.
    pub reported: bool,
}

/// Reported content or a reported person, with its reports: one row of the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueItem {
    /// What is reported.
    pub target: ReportTarget,
    /// `post`, `reply`, `message`, `person`, or `gone` when it was taken down or erased.
    pub kind: String,
    /// Who wrote it (or who is reported).
    #[serde(default)]
    pub author: Option<MemberId>,
    /// Their display name and organisation.
    pub author_label: String,
    /// The title, or the start of the text.
    pub excerpt: String,
    /// A few lines around it: the thread's post for a reply, the messages around it in a
    /// conversation the reporter is in.
    pub context: Vec<ContextLine>,
    /// Where to see it on this node's website, when members can.
    #[serde(default)]
    pub link: Option<String>,
    /// Its reports, newest first.
    pub reports: Vec<ReportView>,
    /// Hidden here: the reason shown in its place.
    #[serde(default)]
    pub hidden: Option<String>,
    /// Hidden automatically by reports, waiting for a moderator.
    pub hidden_by_reports: bool,
    /// Written by a member of this node: retract, warn and suspend are possible.
    pub home_here: bool,
    /// Earlier actions on the same author, newest first (at most 10).
    pub history: Vec<AuditEntry>,
    /// Reports ever made about the author's content here.
    pub author_reports: u32,
    /// An appeal by the author, waiting for review.
    #[serde(default)]
    pub appeal: Option<String>,
}

/// `GET /api/v1/moderation/queue`: open reports grouped by what they are about, oldest
/// first, then appeals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModerationQueue {
    /// The rows.
    pub items: Vec<QueueItem>,
}

/// One moderation action in the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its number.
    pub seq: u64,
    /// When.
    pub at: Timestamp,
    /// Who: a moderator or admin, or absent when the node acted by itself (hidden by
    /// reports, a suspension ending).
    #[serde(default)]
    pub by: Option<MemberId>,
    /// What was done: an action's name, or `hidden_by_reports`, `paused_by_reports`,
    /// `appeal`, `suspension_ended`.
    pub action: String,
    /// What it was about.
    pub target: ReportTarget,
    /// The author concerned, when known.
    #[serde(default)]
    pub author: Option<MemberId>,
    /// The note.
    pub note: String,
}

/// `GET /api/v1/moderation/audit`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLog {
    /// One page.
    pub items: Vec<AuditEntry>,
    /// Pass as `before` for the next page; absent on the last.
    #[serde(default)]
    pub next_before: Option<u64>,
}

/// `POST /api/v1/me/appeal`: a sanctioned member asks for a review, once per sanction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppealRequest {
    /// Why the decision should be looked at again.
    pub note: String,
}

/// `GET /api/v1/me/standing`: the member's own sanctions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    /// Warnings received.
    pub warnings: u32,
    /// Posting paused by reports until a moderator looks.
    pub paused: bool,
    /// Suspended until then (absent: not suspended, or permanently when `suspended`).
    #[serde(default)]
    pub suspended_until: Option<Timestamp>,
    /// Suspended now.
    pub suspended: bool,
    /// The last decision's note, in the moderator's words.
    #[serde(default)]
    pub last_note: Option<String>,
    /// An appeal can be made (a sanction stands and none was made against it).
    pub can_appeal: bool,
    /// An appeal waits for review.
    pub appeal_pending: bool,
}

/// `POST /api/v1/appeal`: a suspended member's appeal, made with their username and
/// password since they cannot sign in (throttled like signing in).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedOutAppeal {
    /// Their username and password.
    #[serde(flatten)]
    pub credentials: crate::api::LoginRequest,
    /// Why the decision should be looked at again.
    pub note: String,
}

/// Most words or phrases a member may mute, and most topics.
pub const MAX_MUTES: usize = 100;
/// Longest muted word or phrase (bytes).
pub const MAX_MUTE_BYTES: usize = 100;
/// Longest break (days).
pub const MAX_BREAK_DAYS: u32 = 365;

/// `GET /api/v1/me/safety`: the member's personal safety tools.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SafetySettings {
    /// Words and phrases whose posts, replies and messages are collapsed behind a notice
    /// (whole words, ignoring case, accents and width).
    pub muted_words: Vec<String>,
    /// Topics whose posts are collapsed, by name.
    pub muted_topics: Vec<String>,
    /// Taking a break until then: out of the people directory, shown as away to others,
    /// and notifications come without badges or emails.
    #[serde(default)]
    pub break_until: Option<Timestamp>,
}

/// `PUT /api/v1/me/safety`: absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateSafety {
    /// The whole list of muted words and phrases.
    #[serde(default)]
    pub muted_words: Option<Vec<String>>,
    /// The whole list of muted topics.
    #[serde(default)]
    pub muted_topics: Option<Vec<String>>,
    /// Take a break for this many days (1 to [`MAX_BREAK_DAYS`]); 0 ends a break.
    #[serde(default)]
    pub break_days: Option<u32>,
}

/// What this node does with another node's shared moderation decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionPolicy {
    /// Follow them: what they hide is hidden here too (with their reason), until they
    /// show it again or a moderator here restores it.
    Adopt,
    /// Put them in the review queue for a moderator here to follow or not.
    Review,
    /// Do nothing with them.
    Ignore,
}

/// `PUT /api/v1/peers/{node}/decisions`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetDecisionPolicy {
    /// The new policy.
    pub policy: DecisionPolicy,
}

/// `POST /api/v1/safeguarding/referrals`: raise a safeguarding concern about a member of
/// any organisation (moderators, admins and safeguarding leads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewReferral {
    /// The member of concern.
    pub member: MemberId,
    /// Posts, replies or messages it is about (at most 20).
    #[serde(default)]
    pub content: Vec<crate::EventId>,
    /// The concern, in your words (at most 4,000 bytes).
    pub concern: String,
}

/// One safeguarding referral, sent or received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferralView {
    /// Its number on this node.
    pub id: u64,
    /// Sent from this node (`true`) or received by it.
    pub sent: bool,
    /// The member of concern.
    pub member: MemberId,
    /// Their display name and organisation.
    pub member_label: String,
    /// The content it is about.
    pub content: Vec<crate::EventId>,
    /// The concern.
    pub concern: String,
    /// Who raised it, and how to reach them.
    pub referrer: MemberId,
    /// The referrer's contact route.
    pub contact: String,
    /// The other organisation (where it went, or where it came from).
    pub organisation: String,
    /// When it was raised.
    pub at: Timestamp,
    /// When a safeguarding lead at the member's organisation read it.
    #[serde(default)]
    pub acknowledged_at: Option<Timestamp>,
    /// Who acknowledged it.
    #[serde(default)]
    pub acknowledged_by: Option<MemberId>,
}
