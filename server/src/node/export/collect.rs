//! Gathering what the node holds about one member: the account, the profile, sessions,
//! everything they wrote (posts, replies, reactions, edits, messages, mentoring events,
//! as their current content), the conversations they are in with every message this node
//! holds of them, their mentoring records, and moderation decisions about their content.

use std::collections::HashSet;

use kindred_protocol::api::Role;
use kindred_protocol::event::ConversationId;
use kindred_protocol::{EventBody, EventId, EventKind, MemberId, Timestamp};
use serde::Serialize;
use serde_json::Value;

use super::super::Node;
use super::SCHEMA;
use crate::node::AppError;
use crate::store::{MatchRecord, OfferRecord, RequestRecord};

/// The whole export, as `kindred-export.json` holds it.
#[derive(Debug, Serialize)]
pub(crate) struct Export {
    /// [`SCHEMA`].
    pub(crate) format: &'static str,
    /// When it was made.
    pub(crate) exported_at: Timestamp,
    /// The node that made it.
    pub(crate) node: String,
    /// The organisation running it.
    pub(crate) organisation: String,
    /// Whose data.
    pub(crate) member: MemberId,
    /// The account.
    pub(crate) account: Account,
    /// Their sign-ins.
    pub(crate) sessions: Vec<Session>,
    /// Everything they wrote that this node holds, oldest first.
    pub(crate) written: Vec<Written>,
    /// Conversations they are in, with the messages this node holds.
    pub(crate) conversations: Vec<Conversation>,
    /// Their mentor offer, buddy requests, proposals and matches.
    pub(crate) mentoring: Mentoring,
    /// What others did to what they wrote: moderators taking it down (with their
    /// reason), moderation decisions.
    pub(crate) moderation: Vec<Written>,
    /// The people they blocked.
    pub(crate) blocked: Vec<String>,
    /// Their email address and what they chose to get by email.
    pub(crate) email: kindred_protocol::api::EmailSettings,
    /// Their muted words and topics and any break: what they chose not to see.
    pub(crate) safety: kindred_protocol::api::SafetySettings,
    /// Their standing with the moderators (warnings, a pause or suspension, an appeal).
    pub(crate) standing: kindred_protocol::api::Standing,
}

/// The account as stored (never the password hash).
#[derive(Debug, Serialize)]
pub(crate) struct Account {
    pub(crate) username: String,
    pub(crate) display_name: String,
    pub(crate) role: Role,
    pub(crate) created_at: Timestamp,
    pub(crate) suspended: bool,
    pub(crate) listed_in_directory: bool,
    pub(crate) happy_to_talk_about: String,
    pub(crate) shares_read_position: bool,
    pub(crate) time_zone: Option<String>,
    pub(crate) deletion_due_at: Option<Timestamp>,
}

/// A sign-in.
#[derive(Debug, Serialize)]
pub(crate) struct Session {
    pub(crate) created_at: Timestamp,
    pub(crate) expires_at: Timestamp,
    pub(crate) device: Option<String>,
}

/// One event: its id, kind, when, where it went, and its content as JSON.
#[derive(Debug, Serialize)]
pub(crate) struct Written {
    pub(crate) id: EventId,
    pub(crate) kind: String,
    pub(crate) author: MemberId,
    pub(crate) created_at: Timestamp,
    /// `shared` (every partner node), `organisation` (this node only) or `directed` (the
    /// nodes of the people involved).
    pub(crate) reach: &'static str,
    /// Taken down (retracted, or erased).
    pub(crate) taken_down: bool,
    /// The event this one edits, answers, reacts to or takes down.
    pub(crate) refers_to: Option<EventId>,
    pub(crate) content: Value,
}

/// A conversation and the messages held here.
#[derive(Debug, Serialize)]
pub(crate) struct Conversation {
    pub(crate) id: ConversationId,
    pub(crate) name: String,
    pub(crate) members: Vec<MemberId>,
    /// They muted it.
    pub(crate) muted: bool,
    pub(crate) messages: Vec<Message>,
}

/// A message in one of their conversations.
#[derive(Debug, Serialize)]
pub(crate) struct Message {
    pub(crate) id: EventId,
    pub(crate) author: MemberId,
    pub(crate) created_at: Timestamp,
    pub(crate) body: String,
    pub(crate) deleted: bool,
}

/// Their mentoring records.
#[derive(Debug, Serialize)]
pub(crate) struct Mentoring {
    pub(crate) offer: Option<OfferRecord>,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) matches: Vec<MatchRecord>,
}

/// Gathers `username`'s export. Errors: not found for an unknown member.
pub(crate) fn collect(node: &Node, username: &str) -> Result<Export, AppError> {
    let store = node.store();
    let record = store
        .member(username)?
        .ok_or_else(|| AppError::not_found("There is no member with that username here."))?;
    let member = node.member_id(username)?;
    let account = Account {
        username: record.username.clone(),
        display_name: record.display_name.clone(),
        role: record.role,
        created_at: Timestamp(record.created_at),
        suspended: record.suspended,
        listed_in_directory: record.listed,
        happy_to_talk_about: record.happy_to_talk_about.clone(),
        shares_read_position: record.read_markers,
        time_zone: record.time_zone.clone(),
        deletion_due_at: record.deletion_due_at.map(Timestamp),
    };
    let sessions = store
        .sessions_of(username)?
        .into_iter()
        .map(|(_, s)| Session {
            created_at: Timestamp(s.created_at),
            expires_at: Timestamp(s.expires_at),
            device: s.user_agent,
        })
        .collect();
    let (written, moderation) = written_by(node, &member)?;
    Ok(Export {
        format: SCHEMA,
        exported_at: node.now(),
        node: node.config().node.name.to_string(),
        organisation: node.config().node.organisation.clone(),
        member: member.clone(),
        account,
        sessions,
        written,
        conversations: conversations_of(node, &member)?,
        mentoring: Mentoring {
            offer: store.offer(&member)?,
            requests: store.requests_of(&member)?,
            matches: store
                .matches_of(&member)?
                .into_iter()
                .map(|m| only_theirs(m, &member))
                .collect(),
        },
        moderation,
        blocked: store.member_blocks(&member)?,
        email: node.email_settings(&member)?,
        safety: node.safety_of(&record),
        standing: node.standing_of(&member)?,
    })
}

/// A match as the member may see it: the other person's check-ins and private
/// reflection are theirs, not this member's (both may be on this node).
fn only_theirs(mut m: MatchRecord, member: &MemberId) -> MatchRecord {
    m.checkins.retain(|c| c.by == *member);
    m.reflections.retain(|r| r.by == *member);
    m
}

/// What `member` wrote, and moderation decisions about it: one pass over the log.
fn written_by(node: &Node, member: &MemberId) -> Result<(Vec<Written>, Vec<Written>), AppError> {
    let mut mine = Vec::new();
    let mut decisions = Vec::new();
    let mut ids = HashSet::new();
    let mut after = 0;
    loop {
        let page = node.store().stored_after(after, 1_000)?;
        let Some(last) = page.last().map(|e| e.local_seq) else {
            break;
        };
        after = last;
        for stored in page {
            pick(&stored, member, &mut mine, &mut decisions, &mut ids)?;
        }
    }
    let moderation = decisions
        .into_iter()
        .filter(|(target, _)| ids.contains(target))
        .map(|(_, item)| item)
        .collect();
    Ok((mine, moderation))
}

/// Files one event: among `member`'s own, or among moderation decisions.
fn pick(
    stored: &crate::store::StoredEvent,
    member: &MemberId,
    mine: &mut Vec<Written>,
    decisions: &mut Vec<(EventId, Written)>,
    ids: &mut HashSet<EventId>,
) -> Result<(), AppError> {
    {
        let p = crate::store::payload_of(&stored.event)?;
        let taken_down = stored.meta.retracted_by.is_some();
        let item = |content: Value| Written {
            id: stored.id,
            kind: kind_name(&p.body),
            author: p.author.clone(),
            created_at: p.created_at,
            reach: match p.audience {
                kindred_protocol::Audience::Shared { .. } => "shared",
                kindred_protocol::Audience::Local => "organisation",
                kindred_protocol::Audience::Directed { .. } => "directed",
            },
            taken_down,
            refers_to: p
                .refs
                .replaces
                .or(p.refs.retracts)
                .or(p.refs.reply_to)
                .or(target_of(&p.body)),
            content,
        };
        if p.author == *member && stored.meta.kind == EventKind::Tombstone.code() {
            // Taken down and redacted: its words are gone, what was decided about it stays.
            ids.insert(stored.id);
        } else if p.author == *member {
            ids.insert(stored.id);
            mine.push(item(content_of(&p.body)));
        } else if let EventBody::ModerationDecision(d) = &p.body {
            decisions.push((d.target, item(content_of(&p.body))));
        } else if let (EventBody::Retraction(_), Some(target)) = (&p.body, p.refs.retracts) {
            // Someone else taking the member's entry down: a moderator.
            decisions.push((target, item(content_of(&p.body))));
        }
    }
    Ok(())
}

fn conversations_of(node: &Node, member: &MemberId) -> Result<Vec<Conversation>, AppError> {
    let store = node.store();
    let mut out = Vec::new();
    for (id, state) in store.conversations_of(member)? {
        let Some(record) = store.conversation(&id)? else {
            continue;
        };
        let mut messages = Vec::new();
        let mut before = None;
        loop {
            let page = store.messages(&id, before, 500)?;
            let Some(((ts, seq), _)) = page.last() else {
                break;
            };
            before = Some((*ts, *seq));
            for (_, mid) in &page {
                if let Some(m) = node.message_view(mid, Some(member))? {
                    messages.push(Message {
                        id: m.id,
                        author: m.author,
                        created_at: m.created_at,
                        body: m.body,
                        deleted: false,
                    });
                } else if let Some(stored) = store.stored(mid)?
                    && stored.meta.kind == EventKind::Tombstone.code()
                {
                    messages.push(Message {
                        id: *mid,
                        author: crate::store::payload_of(&stored.event)?.author,
                        created_at: Timestamp(stored.meta.sort_ts),
                        body: String::new(),
                        deleted: true,
                    });
                }
            }
            if page.len() < 500 {
                break;
            }
        }
        messages.reverse();
        out.push(Conversation {
            id,
            name: record.name,
            members: record.members,
            muted: state.muted,
            messages,
        });
    }
    Ok(out)
}

fn kind_name(body: &EventBody) -> String {
    match body.kind() {
        Some(kind) => serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("{kind:?}")),
        None => format!("unknown_{}", body.kind_code()),
    }
}

fn target_of(body: &EventBody) -> Option<EventId> {
    match body {
        EventBody::Reaction(r) => Some(r.target),
        EventBody::ChatReaction(r) => Some(r.target),
        EventBody::ModerationDecision(d) => Some(d.target),
        EventBody::ReadMarker(m) => Some(m.up_to),
        EventBody::MatchAnswer(a) => Some(a.proposal),
        EventBody::CheckIn(c) => Some(c.proposal),
        EventBody::MatchUpdate(u) => Some(u.proposal),
        _ => None,
    }
}

/// An event's content as JSON (each body's own fields).
fn content_of(body: &EventBody) -> Value {
    let value = match body {
        EventBody::Post(b) => serde_json::to_value(b),
        EventBody::Reply(b) => serde_json::to_value(b),
        EventBody::Reaction(b) => serde_json::to_value(b),
        EventBody::Retraction(b) => serde_json::to_value(b),
        EventBody::Profile(b) => serde_json::to_value(b),
        EventBody::MentorOffer(b) => serde_json::to_value(b),
        EventBody::BuddyRequest(b) => serde_json::to_value(b),
        EventBody::MatchProposal(b) => serde_json::to_value(b),
        EventBody::MatchAnswer(b) => serde_json::to_value(b),
        EventBody::ChatMessage(b) => serde_json::to_value(b),
        EventBody::CheckIn(b) => serde_json::to_value(b),
        EventBody::ModerationDecision(b) => serde_json::to_value(b),
        EventBody::ConversationUpdate(b) => serde_json::to_value(b),
        EventBody::ChatReaction(b) => serde_json::to_value(b),
        EventBody::ReadMarker(b) => serde_json::to_value(b),
        EventBody::MatchUpdate(b) => serde_json::to_value(b),
        EventBody::NodeAnnouncement(b) => serde_json::to_value(b),
        EventBody::Erasure(b) => serde_json::to_value(b),
        EventBody::Redaction(b) => serde_json::to_value(b),
        EventBody::Report(b) => serde_json::to_value(b),
        EventBody::SharedDecision(b) => serde_json::to_value(b),
        EventBody::SafeguardingReferral(_) | EventBody::ReferralAcknowledged(_) => {
            // Never in anyone's export: a concern is for safeguarding leads only.
            Ok(Value::Null)
        }
        EventBody::Tombstone(b) => serde_json::to_value(b),
        EventBody::Unknown { .. } => Ok(Value::Null),
    };
    value.unwrap_or(Value::Null)
}
