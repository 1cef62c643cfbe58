//! Who may do what: for every event kind, a pure rule over a verified event and a
//! read-only [`View`] of what the node holds. It decides whether the event is applied
//! (with the typed [`Effect`] storage then carries out), held until a named target arrives,
//! or refused (with a [`Refusal`] that is logged and counted per origin).
//!
//! The same rules serve local writes and remote events, so a member's own node can never
//! accept what its peers will refuse. Nothing here reads storage or the clock: the caller
//! passes the arrival time in [`Context`]. `docs/protocol.md` ("Authority") is the
//! specification; each module's tests are its table.
//!
//! - `names`: one name, one node (author checks and node announcements);
//! - `content`: posts, replies, reactions, edits, retractions, profiles;
//! - `chat`: conversations, messages, chat reactions, read markers;
//! - `mentoring`: the directed mentoring kinds, at ingest and in the mentoring processor;
//! - `erasure`: a member's erasure, and that nothing of an erased member applies again;
//! - `moderation`: reports from other nodes, and which moderation action a role may take.

mod chat;
mod content;
mod erasure;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod mentoring;
pub(crate) mod moderation;
mod names;

use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::ConversationKind;
use kindred_protocol::{Audience, EventBody, EventId, EventPayload, MemberId, NodeId};
use thiserror::Error;

/// The key a topic name is stored and matched under, the same on every node
/// ([`kindred_protocol::text::topic_key`]).
pub(crate) fn topic_key(name: &str) -> String {
    kindred_protocol::text::topic_key(name)
}

/// What the rules need to know about the node deciding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    /// This node's key.
    pub(crate) self_id: NodeId,
    /// This node's name (bound to `self_id` and to no other node, ever).
    pub(crate) self_name: &'a str,
    /// When the event reached this node (ms, this node's clock). Times from the future
    /// are capped at it.
    pub(crate) arrival: u64,
    /// How many members' profiles another node may have listed here (and ten times as
    /// many stored, listed or not).
    pub(crate) profile_quota: u64,
}

impl Context<'_> {
    /// The time an event counts as made at: its origin's claim, capped at its arrival, so
    /// no node can make its changes win for ever by dating them in the future.
    pub(crate) fn effective_time(&self, p: &EventPayload) -> u64 {
        p.created_at.as_millis().min(self.arrival)
    }
}

/// What the rules decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Apply the event: storage writes this effect.
    Apply(Effect),
    /// Keep the event aside until the target arrives; it is decided again then.
    Hold(Awaiting),
    /// Do not apply the event, ever.
    Refuse(Refusal),
}

/// What a held event waits for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Awaiting {
    /// An event (a reply's post, a reaction's target, an edit's original ...).
    Event(EventId),
    /// A conversation this node does not know yet.
    Conversation(ConversationId),
    /// A node name no node is bound to yet.
    Name(String),
}

impl std::fmt::Display for Awaiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Awaiting::Event(id) => write!(f, "event {id}"),
            Awaiting::Conversation(id) => write!(f, "conversation {id}"),
            Awaiting::Name(name) => write!(f, "the node named {name}"),
        }
    }
}

/// Why an event is refused. Logged with the event id and origin, and counted per origin.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum Refusal {
    /// Another node wrote as a member of this node.
    #[error("the author {0} is a member of this node, but another node signed it")]
    ThisNodesName(MemberId),
    /// The author's node name is bound to another node.
    #[error("the author {author} belongs to another node than the one that signed it")]
    NameBoundElsewhere {
        /// The author the event claims.
        author: MemberId,
        /// The node that name is bound to.
        bound_to: NodeId,
    },
    /// The origin already writes under another name.
    #[error("this node writes as {known}, not as {claimed}")]
    OriginHasAnotherName {
        /// Its name.
        known: String,
        /// The name the event uses.
        claimed: String,
    },
    /// A node announcement not authored as `@node:<name>`.
    #[error("a node announcement must be authored as @node:<name>")]
    AnnouncementAuthor,
    /// Not the entry's author (edits, chat edits and retractions).
    #[error("only the author may change {0}")]
    NotTheAuthor(EventId),
    /// A retraction from a node other than the entry's origin.
    #[error("only the node {0} came from may take it down")]
    NotTheOrigin(EventId),
    /// A post from another node in one of this node's organisation-only topics.
    #[error("{0:?} is an organisation-only topic here")]
    LocalTopic(String),
    /// Something from another node about an organisation-only entry.
    #[error("{0} is organisation-only")]
    LocalEntry(EventId),
    /// An edit that moves a post to another topic.
    #[error("an edit cannot move {0} to another topic")]
    TopicChanged(EventId),
    /// A reaction that is not one of the reactions in use.
    #[error("{0:?} is not a reaction in use")]
    UnknownReaction(String),
    /// The target was itself refused.
    #[error("{0} was refused, so nothing can refer to it")]
    TargetRefused(EventId),
    /// The target is not of a kind this event can refer to.
    #[error("{0} is not something this event can refer to")]
    WrongTarget(EventId),
    /// The target was taken down.
    #[error("{0} was taken down")]
    TakenDown(EventId),
    /// Someone confirming the agreement they proposed themselves.
    #[error("{0} proposed this agreement; only the other person can confirm it")]
    OwnAgreement(MemberId),
    /// The author is not in the conversation.
    #[error("{0} is not in this conversation")]
    NotAMember(MemberId),
    /// The author may not make this change to the conversation.
    #[error("{0} may not make this change to the conversation")]
    ConversationChange(MemberId),
    /// The conversation update is not well formed.
    #[error("malformed event: {0}")]
    Malformed(&'static str),
    /// An update made for an earlier state of what it changes (a conversation, or a
    /// proposal or match that was answered, closed or withdrawn meanwhile).
    #[error("what it changes has changed since")]
    Superseded,
    /// A directed event that concerns none of this node's members.
    #[error("this concerns none of this node's members")]
    NotForThisNode,
    /// A directed event of a kind this node does not know.
    #[error("directed events of kind {0} are not accepted")]
    UnknownDirectedKind(u16),
    /// A buddy request: they never leave their node.
    #[error("buddy requests never leave their node")]
    BuddyRequestRelayed,
    /// A mentoring event from someone not in the match.
    #[error("{0} is not part of this match")]
    NotInTheMatch(MemberId),
    /// A local write about something this node does not hold (yet); says what.
    #[error("what this refers to is not here (yet): {0}")]
    NotArrived(String),
    /// A profile of one more member than its node may have stored, or listed, here.
    #[error("this node already has as many member profiles here as one node may")]
    ProfileQuota,
    /// A profile whose display name or organisation hides characters (zero-width,
    /// direction overrides, fillers): it could pass as someone else on a byline.
    #[error("the profile's names hold invisible or direction-changing characters")]
    DeceptiveName,
    /// The author's account was deleted and their home node erased them.
    #[error("{0} was erased at their home node")]
    Erased(MemberId),
    /// A report or shared decision signed as a member rather than as its node (it would
    /// name the reporter or the moderator).
    #[error(
        "reports and shared decisions are written as their node (@node:<name>), never as a member"
    )]
    ReportAuthor,
    /// The origin's quota of held directed events is used up.
    #[error("too many events from this node wait for something that has not arrived")]
    HoldQuota,
}

impl Refusal {
    /// The kind of refusal, a short stable name for metrics (the variant's name).
    pub(crate) fn name(&self) -> String {
        let debug = format!("{self:?}");
        debug
            .split(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or("Other")
            .to_owned()
    }

    /// Whether this refusal is a claim on a name that is bound elsewhere, which the admin
    /// is shown on the Peers page.
    pub(crate) fn is_name_conflict(&self) -> bool {
        matches!(
            self,
            Refusal::ThisNodesName(_)
                | Refusal::NameBoundElsewhere { .. }
                | Refusal::OriginHasAnotherName { .. }
        )
    }
}

/// What applying an event changes. Storage carries these out and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Stored; nothing else changes now (mentor offers and mentoring events, which the
    /// mentoring processor applies; unknown shared-log kinds, kept for relaying).
    Keep,
    /// A new post in a topic (by topic key, lower-cased).
    Post {
        /// The topic as written.
        topic: String,
    },
    /// A new reply in a post's thread.
    Reply {
        /// The thread's post.
        root: EventId,
    },
    /// A new version of a post or reply.
    Edit {
        /// The original entry.
        original: EventId,
    },
    /// A post or reply is taken down; a post takes its thread with it.
    Retract {
        /// The original entry.
        original: EventId,
    },
    /// A reaction added or removed on a post, reply (`conversation` none) or chat message.
    React {
        /// The original entry.
        target: EventId,
        /// The chat conversation, for chat reactions.
        conversation: Option<ConversationId>,
    },
    /// A member's profile; `newer` when it replaces the one held.
    Profile {
        /// Newer than the held profile.
        newer: bool,
    },
    /// A node's announcement: binds its name when `bind`, updates its address when
    /// `newer`.
    Announce {
        /// The name is bound to the origin now (first binding).
        bind: bool,
        /// Newer than the announcement held.
        newer: bool,
    },
    /// A new chat message.
    Message {
        /// Its conversation.
        conversation: ConversationId,
    },
    /// A new version of a chat message.
    MessageEdit {
        /// Its conversation.
        conversation: ConversationId,
        /// The original message.
        original: EventId,
    },
    /// A chat message taken back.
    MessageRetract {
        /// Its conversation.
        conversation: ConversationId,
        /// The original message.
        original: EventId,
    },
    /// A conversation's new state.
    Conversation(ConversationState),
    /// A member is erased: their profile, the content of the shared-log events this
    /// erasure lists (replaced by their tombstones) and every directed event they wrote are
    /// dropped.
    Erase,
    /// A tombstone stored in an erased event's slot: held as taken down.
    Tombstone,
    /// The listed slots' content is replaced by their tombstones (their events are the
    /// redaction's author's taken-down posts and replies, and edits of them, signed by the
    /// same origin); slots that are not are left as they are.
    Redact {
        /// The slots to redact.
        slots: Vec<kindred_protocol::event::body::erasure::ErasedSlot>,
    },
    /// A participant's shared read position.
    ReadMarker {
        /// The conversation.
        conversation: ConversationId,
        /// The last message read.
        up_to: EventId,
    },
}

/// What the rules know of a held event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The event's kind code.
    pub(crate) kind: u16,
    /// Who wrote it.
    pub(crate) author: MemberId,
    /// The node that signed it.
    pub(crate) origin: NodeId,
    /// For edits: the original this is a version of.
    pub(crate) original: Option<EventId>,
    /// Taken down.
    pub(crate) retracted: bool,
    /// Held: not applied yet, as if it were not there (events referring to it wait).
    pub(crate) held: bool,
    /// Refused: never applied (events referring to it are refused too).
    pub(crate) refused: bool,
    /// For chat messages: their conversation.
    pub(crate) conversation: Option<ConversationId>,
    /// For match proposals: the buddy (author) and the mentor.
    pub(crate) mentor: Option<MemberId>,
    /// For posts and replies: the topic key.
    pub(crate) topic: Option<String>,
    /// For replies: the thread's post.
    pub(crate) thread_root: Option<EventId>,
    /// Organisation-only: it never left its origin node.
    pub(crate) local: bool,
}

impl Entry {
    /// What the rules know of an event from its payload, given what the node made of it.
    pub(crate) fn of(p: &EventPayload, original: Option<EventId>, retracted: bool) -> Self {
        Self {
            kind: p.body.kind_code(),
            author: p.author.clone(),
            origin: p.origin,
            original,
            retracted,
            held: false,
            refused: false,
            conversation: match &p.body {
                EventBody::ChatMessage(m) => Some(m.conversation),
                _ => None,
            },
            mentor: match &p.body {
                EventBody::MatchProposal(m) => Some(m.mentor.clone()),
                _ => None,
            },
            topic: match &p.body {
                EventBody::Post(post) => Some(topic_key(&post.topic)),
                _ => None,
            },
            thread_root: p.refs.thread_root,
            local: matches!(p.audience, Audience::Local),
        }
    }
}

/// A conversation's state as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConversationState {
    /// One-to-one or group.
    pub(crate) kind: ConversationKind,
    /// The group's name.
    pub(crate) name: String,
    /// Everyone in it.
    pub(crate) members: Vec<MemberId>,
    /// Who may change it.
    pub(crate) admins: Vec<MemberId>,
    /// Effective time of the update it comes from (ms).
    pub(crate) updated_at: u64,
    /// The update it comes from (ties between updates of the same millisecond go to the
    /// larger id, so every node picks the same one).
    pub(crate) update: Option<EventId>,
}

/// A read-only view of what the node holds. Storage implements it over its transaction
/// (so a group of events sees its own earlier writes); tests over memory.
pub(crate) trait View {
    /// Why a read failed.
    type Error;

    /// The node a name is bound to, and whether first-hand (this node's own name, or a
    /// paired node's) rather than by that node's announcement.
    fn bound_node(&self, name: &str) -> Result<Option<(NodeId, bool)>, Self::Error>;
    /// The name a node is bound to.
    fn bound_name(&self, node: &NodeId) -> Result<Option<String>, Self::Error>;
    /// A held event.
    fn entry(&self, id: &EventId) -> Result<Option<Entry>, Self::Error>;
    /// Whether `id` was a directed event that waited here and was then refused (it is not
    /// kept, but what refers to it is refused rather than left waiting).
    fn gone(&self, id: &EventId) -> Result<bool, Self::Error>;
    /// A conversation with a member on this node.
    fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, Self::Error>;
    /// Whether `topic_key` is one of this node's organisation-only topics.
    fn local_topic(&self, topic_key: &str) -> Result<bool, Self::Error>;
    /// When the held profile of `member` was made, and by which event.
    fn profile_version(&self, member: &MemberId) -> Result<Option<(u64, EventId)>, Self::Error>;
    /// When the held announcement of `node` was made, and by which event.
    fn announcement_version(&self, node: &NodeId) -> Result<Option<(u64, EventId)>, Self::Error>;
    /// How many members' profiles from `node` are stored here, and how many of them are
    /// listed in the people directory.
    fn profiles_from(&self, node: &NodeId) -> Result<ProfileCounts, Self::Error>;
    /// Whether the profile held for `member` is listed; `None` when none is held.
    fn profile_listed(&self, member: &MemberId) -> Result<Option<bool>, Self::Error>;
    /// Whether `member` was erased by their home node.
    fn erased(&self, member: &MemberId) -> Result<bool, Self::Error>;
}

/// Members' profiles one other node has stored here (its quota, `profiles_per_node`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ProfileCounts {
    /// Every member with a profile here.
    pub(crate) all: u64,
    /// Those listed in the people directory.
    pub(crate) listed: u64,
}

/// How many profiles (listed or not) a node may store here for every one it may list:
/// unlisted profiles name the people in conversations, and are bounded too.
pub(crate) const PROFILES_PER_LISTED: u64 = 10;

/// Decides what a verified event may do. `id` is the event's id.
pub(crate) fn decide<V: View>(
    ctx: &Context<'_>,
    id: EventId,
    p: &EventPayload,
    view: &V,
) -> Result<Decision, V::Error> {
    if let EventBody::NodeAnnouncement(_) = &p.body {
        return names::announcement(ctx, id, p, view);
    }
    if let Some(decision) = names::author(ctx, p, view)? {
        return Ok(decision);
    }
    // A conversation update by an erased member still shapes the group for the others
    // (who is in it, who runs it), as it would have had it come before the erasure;
    // storage drops their words (the name) and leaves them out.
    let erasing = matches!(
        p.body,
        EventBody::Erasure(_) | EventBody::Tombstone(_) | EventBody::ConversationUpdate(_)
    );
    if !erasing && view.erased(&p.author)? {
        return Ok(Decision::Refuse(Refusal::Erased(p.author.clone())));
    }
    let directed = matches!(p.audience, Audience::Directed { .. });
    Ok(match &p.body {
        EventBody::Erasure(_) => erasure::erasure(),
        EventBody::Tombstone(_) => Decision::Apply(Effect::Tombstone),
        EventBody::Post(_) | EventBody::Reply(_) if p.refs.replaces.is_some() => {
            content::edit(ctx, p, view)?
        }
        EventBody::Post(post) => content::post(ctx, p, post, view)?,
        EventBody::Reply(_) => content::reply(ctx, p, view)?,
        EventBody::Reaction(r) => content::reaction(ctx, p, r, view)?,
        EventBody::Retraction(_) => content::retraction(ctx, p, view)?,
        EventBody::Redaction(r) => content::redaction(p, r, view)?,
        EventBody::Profile(_) => content::profile(ctx, id, p, view)?,
        EventBody::ChatMessage(m) => chat::message(p, m, view)?,
        EventBody::ConversationUpdate(u) => chat::update(ctx, id, p, u, view)?,
        EventBody::ChatReaction(r) => chat::reaction(p, r, view)?,
        EventBody::ReadMarker(m) => chat::marker(p, m, view)?,
        EventBody::BuddyRequest(_) => Decision::Refuse(Refusal::BuddyRequestRelayed),
        EventBody::MatchProposal(proposal) => mentoring::proposal(ctx, p, proposal),
        EventBody::MatchAnswer(a) => mentoring::in_match(p, &a.proposal, view)?,
        EventBody::CheckIn(c) => mentoring::in_match(p, &c.proposal, view)?,
        EventBody::MatchUpdate(u) => mentoring::update(p, u, view)?,
        EventBody::Report(r) => moderation::report(ctx, p, r, view)?,
        EventBody::SharedDecision(_) => moderation::decision(p),
        EventBody::SafeguardingReferral(r) => moderation::referral(ctx, p, r),
        EventBody::ReferralAcknowledged(a) => moderation::acknowledged(ctx, p, a, view)?,
        EventBody::MentorOffer(_) | EventBody::ModerationDecision(_) => {
            Decision::Apply(Effect::Keep)
        }
        EventBody::NodeAnnouncement(_) => Decision::Apply(Effect::Keep),
        EventBody::Unknown { kind, .. } if directed => {
            Decision::Refuse(Refusal::UnknownDirectedKind(*kind))
        }
        EventBody::Unknown { .. } => Decision::Apply(Effect::Keep),
    })
}

/// The entry behind `id` once it has been applied: itself, or the original it is a
/// version of. `Err(decision)` when it must wait (unknown or not applied yet).
fn applied_original<V: View>(
    id: EventId,
    view: &V,
) -> Result<Result<(EventId, Entry), Decision>, V::Error> {
    let Some(entry) = view.entry(&id)? else {
        return Ok(Err(missing(id, view)?));
    };
    if let Some(wait) = unusable(id, &entry) {
        return Ok(Err(wait));
    }
    match entry.original {
        None => Ok(Ok((id, entry))),
        Some(original) => match view.entry(&original)? {
            Some(o) => match unusable(original, &o) {
                Some(wait) => Ok(Err(wait)),
                None => Ok(Ok((original, o))),
            },
            None => Ok(Err(missing(original, view)?)),
        },
    }
}

/// What an event referring to `id`, which this node does not hold, must do: wait for it,
/// or be refused if it was refused here before.
fn missing<V: View>(id: EventId, view: &V) -> Result<Decision, V::Error> {
    Ok(if view.gone(&id)? {
        Decision::Refuse(Refusal::TargetRefused(id))
    } else {
        Decision::Hold(Awaiting::Event(id))
    })
}

/// What an event referring to `entry` must do while it is held (wait) or if it was
/// refused (be refused too); `None` when it is applied.
fn unusable(id: EventId, entry: &Entry) -> Option<Decision> {
    if entry.refused {
        Some(Decision::Refuse(Refusal::TargetRefused(id)))
    } else if entry.held {
        Some(Decision::Hold(Awaiting::Event(id)))
    } else {
        None
    }
}
