//! An in-memory [`View`] for the rules' tests, with a small applier that records what each
//! decision does, so a test can build up a node's state event by event.

use std::collections::HashMap;
use std::convert::Infallible;

use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::peer_learning::Post;
use kindred_protocol::event::body::profile::Profile;
use kindred_protocol::{
    Audience, EventBody, EventId, EventPayload, MemberId, NodeId, NodeKeypair, References,
    Timestamp,
};

use super::{Context, ConversationState, Decision, Effect, Entry, View, decide};

/// The key of test node `n` (this node is 0).
pub(crate) fn node(n: u8) -> NodeId {
    NodeKeypair::from_seed(&[n; 32]).node_id()
}

pub(crate) fn member(text: &str) -> MemberId {
    text.parse().unwrap()
}

pub(crate) fn shared() -> Audience {
    Audience::Shared { seq: 1 }
}

pub(crate) fn directed() -> Audience {
    Audience::Directed {
        recipients: vec![node(0)],
    }
}

/// An event from test node `origin` by `author`, made at 1 s after the epoch.
pub(crate) fn event(origin: u8, author: &str, audience: Audience, body: EventBody) -> EventPayload {
    EventPayload {
        origin: node(origin),
        created_at: Timestamp(1_000),
        audience,
        author: member(author),
        refs: References::default(),
        body,
    }
}

/// What a node named `self.org` (test node 0) holds.
pub(crate) struct Memory {
    self_name: String,
    arrival: u64,
    names: HashMap<String, (NodeId, bool)>,
    entries: HashMap<EventId, Entry>,
    conversations: HashMap<ConversationId, ConversationState>,
    profiles: HashMap<MemberId, (u64, EventId)>,
    profile_counts: HashMap<NodeId, super::ProfileCounts>,
    listed: HashMap<MemberId, bool>,
    announcements: HashMap<NodeId, (u64, EventId)>,
    erased: std::collections::HashSet<MemberId>,
}

impl Memory {
    pub(crate) fn new() -> Self {
        Self {
            self_name: "self.org".into(),
            arrival: 10_000_000,
            names: HashMap::new(),
            entries: HashMap::new(),
            conversations: HashMap::new(),
            profiles: HashMap::new(),
            profile_counts: HashMap::new(),
            listed: HashMap::new(),
            announcements: HashMap::new(),
            erased: std::collections::HashSet::new(),
        }
    }

    pub(crate) fn context(&self) -> Context<'_> {
        Context {
            self_id: node(0),
            self_name: &self.self_name,
            arrival: self.arrival,
            profile_quota: 3,
        }
    }

    /// Moves this node's clock on.
    pub(crate) fn advance(&mut self, ms: u64) {
        self.arrival += ms;
    }

    /// Binds a name first-hand (as a pairing does).
    pub(crate) fn bind(&mut self, name: &str, node: NodeId) {
        self.names.insert(name.to_owned(), (node, true));
    }

    /// Records that a member was erased.
    pub(crate) fn erase(&mut self, member: MemberId) {
        self.erased.insert(member);
    }

    /// Binds a name by announcement.
    pub(crate) fn bind_announced(&mut self, name: &str, node: NodeId) {
        self.names.insert(name.to_owned(), (node, false));
    }

    pub(crate) fn id_of(&self, p: &EventPayload) -> EventId {
        EventId::of_payload(&p.to_bytes().unwrap())
    }

    pub(crate) fn post_body(topic: &str) -> EventBody {
        EventBody::Post(Post {
            topic: topic.into(),
            title: "What helped".into(),
            body: "Saying no.".into(),
            tags: Vec::new(),
            content_warning: None,
        })
    }

    pub(crate) fn profile_body(name: &str) -> EventBody {
        EventBody::Profile(Profile {
            display_name: name.into(),
            organisation: String::new(),
            bio: String::new(),
            happy_to_talk_about: String::new(),
            listed: true,
            away: false,
        })
    }

    /// A conversation state as an update would leave it (without the update's id).
    pub(crate) fn state_of(
        &self,
        _c: ConversationId,
        members: &[&str],
        admins: &[&str],
        at: u64,
    ) -> ConversationState {
        ConversationState {
            kind: kindred_protocol::event::body::chat::ConversationKind::Group,
            name: "Joint session".into(),
            members: members.iter().map(|m| member(m)).collect(),
            admins: admins.iter().map(|m| member(m)).collect(),
            updated_at: at,
            update: None,
        }
    }

    /// Decides `p` and records what the decision does; returns its id.
    pub(crate) fn apply(&mut self, p: &EventPayload) -> EventId {
        let id = self.id_of(p);
        let decision = decide(&self.context(), id, p, self).unwrap();
        let mut entry = Entry::of(p, None, false);
        entry.held = matches!(decision, Decision::Hold(_));
        entry.refused = matches!(decision, Decision::Refuse(_));
        let at = self.context().effective_time(p);
        if let Decision::Apply(effect) = decision {
            match effect {
                Effect::Edit { original }
                | Effect::MessageEdit { original, .. }
                | Effect::MessageRetract { original, .. } => {
                    entry.original = Some(original);
                    if p.refs.retracts.is_some()
                        && let Some(o) = self.entries.get_mut(&original)
                    {
                        o.retracted = true;
                    }
                }
                Effect::Retract { original } => {
                    if let Some(o) = self.entries.get_mut(&original) {
                        o.retracted = true;
                    }
                }
                Effect::Conversation(mut state) => {
                    if let EventBody::ConversationUpdate(u) = &p.body {
                        state.update = Some(id);
                        self.conversations.insert(u.conversation, state);
                    }
                }
                Effect::Profile { newer } => {
                    let counts = self.profile_counts.entry(p.origin).or_default();
                    if !self.profiles.contains_key(&p.author) {
                        counts.all += 1;
                    }
                    if newer {
                        let lists = matches!(&p.body, EventBody::Profile(pr) if pr.listed);
                        let was = self.listed.insert(p.author.clone(), lists).unwrap_or(false);
                        match (was, lists) {
                            (false, true) => counts.listed += 1,
                            (true, false) => counts.listed -= 1,
                            _ => {}
                        }
                        self.profiles.insert(p.author.clone(), (at, id));
                    }
                }
                Effect::Announce { bind, newer } => {
                    if bind {
                        self.bind_announced(p.author.node_name(), p.origin);
                    }
                    if newer {
                        self.announcements.insert(p.origin, (at, id));
                    }
                }
                _ => {}
            }
        }
        self.entries.insert(id, entry);
        id
    }
}

impl View for Memory {
    type Error = Infallible;

    fn bound_node(&self, name: &str) -> Result<Option<(NodeId, bool)>, Infallible> {
        if name == self.self_name {
            return Ok(Some((node(0), true)));
        }
        Ok(self.names.get(name).copied())
    }

    fn bound_name(&self, node: &NodeId) -> Result<Option<String>, Infallible> {
        Ok(self
            .names
            .iter()
            .find(|(_, (n, _))| n == node)
            .map(|(name, _)| name.clone()))
    }

    fn entry(&self, id: &EventId) -> Result<Option<Entry>, Infallible> {
        Ok(self.entries.get(id).cloned())
    }

    fn gone(&self, _id: &EventId) -> Result<bool, Infallible> {
        Ok(false)
    }

    fn local_topic(&self, topic_key: &str) -> Result<bool, Infallible> {
        Ok(topic_key == "staff only")
    }

    fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, Infallible> {
        Ok(self.conversations.get(id).cloned())
    }

    fn profile_version(&self, member: &MemberId) -> Result<Option<(u64, EventId)>, Infallible> {
        Ok(self.profiles.get(member).copied())
    }

    fn announcement_version(&self, node: &NodeId) -> Result<Option<(u64, EventId)>, Infallible> {
        Ok(self.announcements.get(node).copied())
    }

    fn profiles_from(&self, node: &NodeId) -> Result<super::ProfileCounts, Infallible> {
        Ok(self.profile_counts.get(node).copied().unwrap_or_default())
    }

    fn profile_listed(&self, member: &MemberId) -> Result<Option<bool>, Infallible> {
        Ok(self.listed.get(member).copied())
    }

    fn erased(&self, member: &MemberId) -> Result<bool, Infallible> {
        Ok(self.erased.contains(member))
    }
}
