//! The one write path for events, local and remote alike: a group of verified events is
//! applied in a single sled transaction over the event-log and index trees, so an event
//! and every index entry it implies are stored together or not at all.
//!
//! Every validly signed event is kept (a relay must be able to pass on what it holds);
//! effects that break a rule (an edit by someone else, a retraction from another origin,
//! a reply to an unknown post) are simply not applied, and logged.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use kindred_protocol::event::ConversationId;
use kindred_protocol::event::EventKind;
use kindred_protocol::event::body::chat::{ChatMessage, ConversationUpdate, ReadMarker};
use kindred_protocol::{
    Audience, EventBody, EventId, EventPayload, MemberId, NodeId, VerifiedEvent,
};
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};

use super::chat::{
    ConversationRecord, MarkerRecord, ParticipantState, conversation_key, marker_key, message_key,
    participant_key,
};
use super::events::{
    BadRecord, EventMeta, RecordParts, corrupt, encode_record, meta_in, payload_of, signed_in,
};
use super::federation::{Announcement, announcement_key, outbox_key};
use super::keys::{Position, text_position};
use super::origin_log::{Run, decode_u64, origin_seq_key};
use super::profiles::ProfileRecord;
use super::reactions::reaction_key;
use super::timelines::thread_key;
use super::topics::{TopicStats, stats_key, topic_key};
use super::{Store, StoreError, from_json, to_json};

/// What storing an event changed, for live updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// A new visible post or reply.
    New(EventId),
    /// A post or reply (by original id) has a new version.
    Edited(EventId),
    /// A post or reply (by original id) was retracted.
    Retracted(EventId),
    /// Reactions on an entry (by original id) changed.
    Reactions(EventId),
    /// A chat message was stored (conversation, message).
    Message(ConversationId, EventId),
    /// A chat message (by original id) has a new version.
    MessageEdited(ConversationId, EventId),
    /// A chat message (by original id) was taken back.
    MessageRetracted(ConversationId, EventId),
    /// Reactions on a chat message changed.
    MessageReactions(ConversationId, EventId),
    /// A conversation changed; the local members it no longer includes are listed.
    Conversation(ConversationId, Vec<MemberId>),
    /// A participant's read marker moved.
    ReadMarker(ConversationId, MemberId, EventId),
    /// Nothing members see changed.
    None,
}

/// The result of ingesting one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IngestOutcome {
    /// Stored now.
    Stored {
        /// The event.
        id: EventId,
        /// Its place in this node's arrival log.
        local_seq: u64,
        /// What members will see change.
        change: Change,
    },
    /// Already held; nothing written.
    Duplicate(EventId),
    /// A shared-log event that is not the next one for its origin; not written.
    OutOfOrder {
        /// The event.
        id: EventId,
        /// The sequence number that would have been accepted.
        expected: u64,
    },
}

type TxError = ConflictableTransactionError<StoreError>;

/// The transactional views of the trees the ingest path writes.
struct Tx<'a> {
    events: &'a TransactionalTree,
    event_ids: &'a TransactionalTree,
    origin_runs: &'a TransactionalTree,
    origin_head: &'a TransactionalTree,
    topic_timeline: &'a TransactionalTree,
    thread_replies: &'a TransactionalTree,
    author_timeline: &'a TransactionalTree,
    reactions: &'a TransactionalTree,
    topic_stats: &'a TransactionalTree,
    outbox: &'a TransactionalTree,
    profiles: &'a TransactionalTree,
    chat: &'a TransactionalTree,
    origin_names: &'a TransactionalTree,
    /// This node, whose directed events go into the outbox.
    self_id: NodeId,
    /// This node's name, to recognise its own members.
    self_name: &'a str,
    /// Records most events of a group touch, kept here for the group's length.
    group: RefCell<GroupState>,
}

/// Working copies of the small records that most events of a group read and change (their
/// origin's head, run and node name, their topic's counts): each is read once and written
/// once per group instead of once per event, which matters when a catch-up stores hundreds of
/// one origin's posts in one topic per group.
#[derive(Default)]
struct GroupState {
    /// Each origin's head as stored before this group (read once).
    heads: HashMap<NodeId, u64>,
    /// Each origin's run of events this group is storing, written when it ends; its last
    /// event is the origin's new head.
    runs: HashMap<NodeId, Run>,
    /// The node name each origin writes as.
    names: HashMap<NodeId, Vec<u8>>,
    /// The topic counts this group changed, by `stats_key`.
    stats: HashMap<Vec<u8>, TopicStats>,
}

fn abort(e: StoreError) -> TxError {
    ConflictableTransactionError::Abort(e)
}

impl Store {
    /// Stores a group of verified events, in order, in one transaction. `now` is the
    /// arrival time (ms). Returns one outcome per event. Not durable until
    /// [`Store::durable`] or [`Store::when_durable`] says so.
    pub(crate) fn ingest(
        &self,
        events: &[VerifiedEvent],
        now: u64,
        self_id: NodeId,
        self_name: &str,
    ) -> Result<Vec<IngestOutcome>, StoreError> {
        let start_seq = self.last_local_seq()?;
        let t = self.trees();
        let result = (
            &t.events,
            &t.event_ids,
            &t.origin_runs,
            &t.origin_head,
            &t.topic_timeline,
            &t.thread_replies,
            &t.author_timeline,
            &t.reactions,
            &t.topic_stats,
            &t.outbox,
            &t.profiles,
            &t.chat,
            &t.origin_names,
        )
            .transaction(|(ev, ids, os, oh, tt, tr, at, rx, ts, ob, pr, cm, on)| {
                let tx = Tx {
                    events: ev,
                    event_ids: ids,
                    origin_runs: os,
                    origin_head: oh,
                    topic_timeline: tt,
                    thread_replies: tr,
                    author_timeline: at,
                    reactions: rx,
                    topic_stats: ts,
                    outbox: ob,
                    profiles: pr,
                    chat: cm,
                    origin_names: on,
                    self_id,
                    self_name,
                    group: RefCell::default(),
                };
                let mut local_seq = start_seq;
                let outcomes = events
                    .iter()
                    .map(|event| tx.apply(event, now, &mut local_seq))
                    .collect::<Result<Vec<_>, _>>()?;
                tx.finish_group()?;
                Ok(outcomes)
            });
        match result {
            Ok(outcomes) => Ok(outcomes),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }
}

impl Tx<'_> {
    fn apply(
        &self,
        event: &VerifiedEvent,
        now: u64,
        local_seq: &mut u64,
    ) -> Result<IngestOutcome, TxError> {
        let id = event.id();
        let p = event.payload();
        if let Some(seq) = p.seq() {
            let head = self.head(&p.origin)?;
            // The id covers origin and seq, so an event at or below the head is held
            // already (or is a different event its origin signed with a used number, which
            // is refused the same way); one above the head cannot be held yet.
            if seq <= head {
                return Ok(IngestOutcome::Duplicate(id));
            }
            if seq != head + 1 {
                return Ok(IngestOutcome::OutOfOrder {
                    id,
                    expected: head + 1,
                });
            }
            self.add_to_run(&p.origin, seq, *local_seq + 1)?;
        } else if self.event_ids.get(id.as_bytes())?.is_some() {
            return Ok(IngestOutcome::Duplicate(id));
        }
        *local_seq += 1;
        self.event_ids
            .insert(id.as_bytes(), &local_seq.to_be_bytes())?;
        let signed = event.signed().to_bytes();

        let created = p.created_at.as_millis();
        let mut meta = EventMeta {
            local_seq: *local_seq,
            received_at: now,
            sort_ts: created.min(now),
            kind: p.body.kind_code(),
            ..EventMeta::default()
        };
        let pos = Position {
            sort_ts: meta.sort_ts,
            local_seq: *local_seq,
            id,
        };
        if !self.author_matches_origin(p)? {
            tracing::warn!(%id, author = %p.author, origin = %p.origin, "event names an author from another node; kept, not shown");
            meta.quarantined = true;
            self.put_new(&id, &meta, &signed)?;
            return Ok(IngestOutcome::Stored {
                id,
                local_seq: *local_seq,
                change: Change::None,
            });
        }
        let change = match (&p.body, p.refs.replaces) {
            (EventBody::Post(_) | EventBody::Reply(_), Some(replaced)) => {
                self.edit(id, p, replaced, &mut meta)?
            }
            (EventBody::Post(post), None) => {
                let topic = topic_key(&post.topic);
                self.topic_timeline
                    .insert(text_position(&topic, pos), &[])?;
                self.author_timeline
                    .insert(text_position(p.author.as_str(), pos), &[])?;
                self.bump_stats(
                    &topic,
                    &p.origin,
                    1,
                    0,
                    Some(meta.sort_ts),
                    Some(&post.topic),
                )?;
                meta.topic = Some(topic);
                Change::New(id)
            }
            (EventBody::Reply(_), None) => self.reply(id, p, pos, &mut meta)?,
            (EventBody::Reaction(r), _) => match self.original_of(r.target)? {
                Some((target, _)) => {
                    let key = reaction_key(&target, &r.reaction, p.author.as_str());
                    if r.removed {
                        self.reactions.remove(key)?;
                    } else {
                        self.reactions.insert(key, id.as_bytes())?;
                    }
                    Change::Reactions(target)
                }
                None => {
                    tracing::debug!(%id, target = %r.target, "reaction to an unknown entry kept, not shown");
                    Change::None
                }
            },
            (EventBody::Retraction(_), _) => match p.refs.retracts {
                Some(target) => self.retract(id, p, target)?,
                None => Change::None,
            },
            (EventBody::Profile(profile), _) => {
                self.profile(p, profile)?;
                Change::None
            }
            (EventBody::ChatMessage(chat), _) => self.chat_message(id, p, chat, &mut meta)?,
            (EventBody::ConversationUpdate(update), _) => self.conversation_update(p, update)?,
            (EventBody::ChatReaction(r), _) => match self.original_of(r.target)? {
                Some((target, _)) => {
                    let key = reaction_key(&target, &r.reaction, p.author.as_str());
                    if r.removed {
                        self.reactions.remove(key)?;
                    } else {
                        self.reactions.insert(key, id.as_bytes())?;
                    }
                    Change::MessageReactions(r.conversation, target)
                }
                None => Change::None,
            },
            (EventBody::ReadMarker(marker), _) => self.read_marker(p, marker)?,
            (EventBody::NodeAnnouncement(a), _) if p.author.localpart() == "node" => {
                let key = announcement_key(&p.origin);
                let newer = match self.origin_names.get(&key[..])? {
                    None => true,
                    Some(old) => {
                        let old: Announcement = from_json("origin_names", &old).map_err(abort)?;
                        old.updated_at <= p.created_at.as_millis()
                    }
                };
                if newer {
                    let record = Announcement {
                        name: p.author.node_name().to_owned(),
                        address: a.address.clone(),
                        organisation: a.organisation.clone(),
                        updated_at: p.created_at.as_millis(),
                    };
                    self.origin_names
                        .insert(&key[..], to_json("origin_names", &record).map_err(abort)?)?;
                }
                Change::None
            }
            _ => Change::None,
        };
        if let Audience::Directed { recipients } = &p.audience
            && p.origin == self.self_id
        {
            for peer in recipients.iter().filter(|r| **r != self.self_id) {
                self.outbox
                    .insert(&outbox_key(peer, *local_seq)[..], id.as_bytes())?;
            }
        }
        self.put_new(&id, &meta, &signed)?;
        Ok(IngestOutcome::Stored {
            id,
            local_seq: *local_seq,
            change,
        })
    }

    fn reply(
        &self,
        id: EventId,
        p: &EventPayload,
        pos: Position,
        meta: &mut EventMeta,
    ) -> Result<Change, TxError> {
        let Some(root) = p.refs.thread_root else {
            return Ok(Change::None);
        };
        let Some(mut root_meta) = self.meta(&root)? else {
            tracing::debug!(%id, %root, "reply to an unknown post kept, not shown");
            return Ok(Change::None);
        };
        if root_meta.kind != EventKind::Post.code()
            || root_meta.original.is_some()
            || root_meta.retracted_by.is_some()
        {
            return Ok(Change::None);
        }
        self.thread_replies.insert(thread_key(&root, pos), &[])?;
        self.author_timeline
            .insert(text_position(p.author.as_str(), pos), &[])?;
        root_meta.reply_count += 1;
        self.put_meta(&root, &root_meta)?;
        if let Some(topic) = &root_meta.topic {
            self.bump_stats(topic, &p.origin, 0, 1, Some(meta.sort_ts), None)?;
        }
        meta.thread_root = Some(root);
        meta.topic = root_meta.topic;
        Ok(Change::New(id))
    }

    /// A new version of a post or reply: allowed for the same author and kind only.
    fn edit(
        &self,
        id: EventId,
        p: &EventPayload,
        replaced: EventId,
        meta: &mut EventMeta,
    ) -> Result<Change, TxError> {
        let Some((original, mut original_meta)) = self.original_of(replaced)? else {
            tracing::debug!(%id, %replaced, "edit of an unknown entry kept, not shown");
            return Ok(Change::None);
        };
        let original_payload = self.payload(&original)?;
        let same_author = original_payload
            .as_ref()
            .is_some_and(|o| o.author == p.author && o.origin == p.origin);
        if !same_author
            || original_meta.kind != p.body.kind_code()
            || original_meta.retracted_by.is_some()
        {
            tracing::warn!(%id, %original, "edit by someone other than the author ignored");
            return Ok(Change::None);
        }
        original_meta.latest = Some(id);
        original_meta.edited_at = Some(p.created_at.as_millis());
        self.put_meta(&original, &original_meta)?;
        meta.original = Some(original);
        meta.topic = original_meta.topic;
        meta.thread_root = original_meta.thread_root;
        Ok(Change::Edited(original))
    }

    /// A retraction is honoured only from the retracted entry's own origin node, which
    /// vouches that its author or one of its moderators asked for it.
    fn retract(&self, id: EventId, p: &EventPayload, target: EventId) -> Result<Change, TxError> {
        let Some((original, mut original_meta)) = self.original_of(target)? else {
            return Ok(Change::None);
        };
        let Some(original_payload) = self.payload(&original)? else {
            return Ok(Change::None);
        };
        if original_payload.origin != p.origin {
            tracing::warn!(%id, %original, "retraction from a node other than the origin ignored");
            return Ok(Change::None);
        }
        if original_meta.retracted_by.is_some() {
            return Ok(Change::None);
        }
        original_meta.retracted_by = Some(id);
        let pos = Position {
            sort_ts: original_meta.sort_ts,
            local_seq: original_meta.local_seq,
            id: original,
        };
        self.author_timeline
            .remove(text_position(original_payload.author.as_str(), pos))?;
        let topic = original_meta.topic.clone();
        if original_meta.kind == EventKind::Post.code() {
            if let Some(topic) = &topic {
                self.topic_timeline.remove(text_position(topic, pos))?;
                self.bump_stats(topic, &original_payload.origin, -1, 0, None, None)?;
            }
        } else if let Some(root) = original_meta.thread_root {
            self.thread_replies.remove(thread_key(&root, pos))?;
            if let Some(mut root_meta) = self.meta(&root)? {
                root_meta.reply_count = root_meta.reply_count.saturating_sub(1);
                self.put_meta(&root, &root_meta)?;
            }
            if let Some(topic) = &topic {
                self.bump_stats(topic, &original_payload.origin, 0, -1, None, None)?;
            }
        }
        self.put_meta(&original, &original_meta)?;
        Ok(Change::Retracted(original))
    }

    fn conversation_record(
        &self,
        c: &ConversationId,
    ) -> Result<Option<ConversationRecord>, TxError> {
        match self.chat.get(conversation_key(c))? {
            None => Ok(None),
            Some(v) => from_json("chat", &v).map(Some).map_err(abort),
        }
    }

    fn put_conversation(&self, c: &ConversationId, r: &ConversationRecord) -> Result<(), TxError> {
        self.chat
            .insert(&conversation_key(c)[..], to_json("chat", r).map_err(abort)?)?;
        Ok(())
    }

    /// A chat message, an edit of one (`replaces`) or a retraction (`retracts`). Accepted
    /// from members of the conversation; edits and retractions from the author only.
    fn chat_message(
        &self,
        id: EventId,
        p: &EventPayload,
        chat: &ChatMessage,
        meta: &mut EventMeta,
    ) -> Result<Change, TxError> {
        let c = chat.conversation;
        if let Some(record) = self.conversation_record(&c)?
            && !record.members.contains(&p.author)
        {
            tracing::warn!(%id, author = %p.author, "message from someone not in the conversation ignored");
            return Ok(Change::None);
        }
        let target = p.refs.replaces.or(p.refs.retracts);
        if let Some(target) = target {
            let Some((original, mut original_meta)) = self.original_of(target)? else {
                return Ok(Change::None);
            };
            let same_author = self
                .payload(&original)?
                .is_some_and(|o| o.author == p.author && o.origin == p.origin);
            if !same_author || original_meta.retracted_by.is_some() {
                return Ok(Change::None);
            }
            meta.original = Some(original);
            if p.refs.retracts.is_some() {
                original_meta.retracted_by = Some(id);
                self.put_meta(&original, &original_meta)?;
                return Ok(Change::MessageRetracted(c, original));
            }
            original_meta.latest = Some(id);
            original_meta.edited_at = Some(p.created_at.as_millis());
            self.put_meta(&original, &original_meta)?;
            return Ok(Change::MessageEdited(c, original));
        }
        let key = message_key(&c, meta.sort_ts, meta.local_seq);
        self.chat.insert(&key[..], id.as_bytes())?;
        if let Some(mut record) = self.conversation_record(&c)? {
            record.last_activity = Some(record.last_activity.unwrap_or(0).max(meta.sort_ts));
            self.put_conversation(&c, &record)?;
        }
        Ok(Change::Message(c, id))
    }

    /// A conversation's new state. Created by one of its members; changed by its admins;
    /// anyone may leave. Newer updates (by origin time) replace older ones.
    fn conversation_update(
        &self,
        p: &EventPayload,
        update: &ConversationUpdate,
    ) -> Result<Change, TxError> {
        let c = update.conversation;
        let updated_at = p.created_at.as_millis();
        let current = self.conversation_record(&c)?;
        let allowed = match &current {
            None => update.members.contains(&p.author) && update.admins.contains(&p.author),
            Some(r) => {
                let leaving = r.members.contains(&p.author)
                    && !update.members.contains(&p.author)
                    && update.members.iter().all(|m| r.members.contains(m))
                    && update.members.len() + 1 == r.members.len();
                r.admins.contains(&p.author) || leaving
            }
        };
        if !allowed {
            tracing::warn!(author = %p.author, conversation = %c, "conversation change by someone not allowed ignored");
            return Ok(Change::None);
        }
        if current.as_ref().is_some_and(|r| r.updated_at > updated_at) {
            return Ok(Change::None);
        }
        let before: Vec<MemberId> = current
            .as_ref()
            .map(|r| r.members.clone())
            .unwrap_or_default();
        let record = ConversationRecord {
            kind: update.kind,
            name: update.name.clone(),
            members: update.members.clone(),
            admins: update.admins.clone(),
            updated_at,
            last_activity: current.and_then(|r| r.last_activity),
        };
        self.put_conversation(&c, &record)?;
        let ours = |m: &&MemberId| m.node_name() == self.self_name;
        for m in record.members.iter().filter(ours) {
            let key = participant_key(m, &c);
            if self.chat.get(&key)?.is_none() {
                let state = to_json("chat", &ParticipantState::default()).map_err(abort)?;
                self.chat.insert(key, state)?;
            }
        }
        let removed: Vec<MemberId> = before
            .iter()
            .filter(ours)
            .filter(|m| !record.members.contains(m))
            .cloned()
            .collect();
        for m in &removed {
            self.chat.remove(participant_key(m, &c))?;
        }
        Ok(Change::Conversation(c, removed))
    }

    fn read_marker(&self, p: &EventPayload, marker: &ReadMarker) -> Result<Change, TxError> {
        let c = marker.conversation;
        let Some(meta) = self.meta(&marker.up_to)? else {
            return Ok(Change::None);
        };
        let pos = (meta.sort_ts, meta.local_seq);
        let key = marker_key(&c, &p.author);
        if let Some(old) = self.chat.get(&key)? {
            let old: MarkerRecord = from_json("chat", &old).map_err(abort)?;
            if old.pos >= pos {
                return Ok(Change::None);
            }
        }
        let record = MarkerRecord {
            up_to: marker.up_to,
            pos,
        };
        self.chat
            .insert(key, to_json("chat", &record).map_err(abort)?)?;
        Ok(Change::ReadMarker(c, p.author.clone(), marker.up_to))
    }

    /// Each origin may only write as members of one node name: the first name it uses.
    fn author_matches_origin(&self, p: &EventPayload) -> Result<bool, TxError> {
        let name = p.author.node_name().as_bytes();
        if let Some(known) = self.group.borrow().names.get(&p.origin) {
            return Ok(known.as_slice() == name);
        }
        let known = match self.origin_names.get(p.origin.as_bytes())? {
            Some(known) => known.to_vec(),
            None => {
                self.origin_names.insert(p.origin.as_bytes(), name)?;
                name.to_vec()
            }
        };
        let matches = known.as_slice() == name;
        self.group.borrow_mut().names.insert(p.origin, known);
        Ok(matches)
    }

    /// The highest contiguous sequence number held from `origin`, this group included.
    fn head(&self, origin: &NodeId) -> Result<u64, TxError> {
        let group = self.group.borrow();
        if let Some(run) = group.runs.get(origin) {
            return Ok(run.last_seq());
        }
        if let Some(head) = group.heads.get(origin) {
            return Ok(*head);
        }
        drop(group);
        let head = match self.origin_head.get(origin.as_bytes())? {
            None => 0,
            Some(v) => decode_u64("origin_head", &v).map_err(abort)?,
        };
        self.group.borrow_mut().heads.insert(*origin, head);
        Ok(head)
    }

    /// Records that `origin`'s event `seq` (the next after its head) is stored at arrival
    /// number `local`.
    fn add_to_run(&self, origin: &NodeId, seq: u64, local: u64) -> Result<(), TxError> {
        let mut group = self.group.borrow_mut();
        match group.runs.entry(*origin) {
            Entry::Occupied(mut e) => {
                if !e.get_mut().extend(seq, local) {
                    let ended = e.insert(Run::new(seq, local));
                    self.put_run(origin, &ended)?;
                }
            }
            Entry::Vacant(e) => {
                e.insert(Run::new(seq, local));
            }
        }
        Ok(())
    }

    fn put_run(&self, origin: &NodeId, run: &Run) -> Result<(), TxError> {
        self.origin_runs
            .insert(&origin_seq_key(origin, run.first_seq)[..], &run.value())?;
        Ok(())
    }

    /// Writes the group's runs with their origins' new heads, and its topic counts.
    fn finish_group(&self) -> Result<(), TxError> {
        let group = self.group.borrow();
        for (origin, run) in &group.runs {
            self.put_run(origin, run)?;
            self.origin_head
                .insert(origin.as_bytes(), &run.last_seq().to_be_bytes())?;
        }
        for (key, stats) in &group.stats {
            self.topic_stats.insert(
                key.as_slice(),
                to_json("topic_stats", stats).map_err(abort)?,
            )?;
        }
        Ok(())
    }

    /// Keeps the newest profile of a member.
    fn profile(
        &self,
        p: &EventPayload,
        profile: &kindred_protocol::event::body::profile::Profile,
    ) -> Result<(), TxError> {
        let key = p.author.as_str().as_bytes();
        let updated_at = p.created_at.as_millis();
        if let Some(old) = self.profiles.get(key)? {
            let old: ProfileRecord = from_json("profiles", &old).map_err(abort)?;
            if old.updated_at > updated_at {
                return Ok(());
            }
        }
        let record = ProfileRecord {
            display_name: profile.display_name.clone(),
            organisation: profile.organisation.clone(),
            updated_at,
            listed: profile.listed,
            happy_to_talk_about: profile.happy_to_talk_about.clone(),
        };
        self.profiles
            .insert(key, to_json("profiles", &record).map_err(abort)?)?;
        Ok(())
    }

    /// The original entry behind `id` (itself, or what it is an edit of), with its meta.
    fn original_of(&self, id: EventId) -> Result<Option<(EventId, EventMeta)>, TxError> {
        let Some(meta) = self.meta(&id)? else {
            return Ok(None);
        };
        match meta.original {
            None => Ok(Some((id, meta))),
            Some(original) => Ok(self.meta(&original)?.map(|m| (original, m))),
        }
    }

    /// The arrival number of a held event.
    fn local_seq_of(&self, id: &EventId) -> Result<Option<u64>, TxError> {
        match self.event_ids.get(id.as_bytes())? {
            None => Ok(None),
            Some(v) => decode_u64("event_ids", &v).map(Some).map_err(abort),
        }
    }

    /// A held event's arrival number and record.
    fn record(&self, id: &EventId) -> Result<Option<(u64, sled::IVec)>, TxError> {
        let Some(seq) = self.local_seq_of(id)? else {
            return Ok(None);
        };
        Ok(self
            .events
            .get(seq.to_be_bytes())?
            .map(|record| (seq, record)))
    }

    fn payload(&self, id: &EventId) -> Result<Option<EventPayload>, TxError> {
        let Some((_, record)) = self.record(id)? else {
            return Ok(None);
        };
        signed_in(&record)
            .and_then(|signed| payload_of(&signed))
            .map(Some)
            .map_err(abort)
    }

    fn meta(&self, id: &EventId) -> Result<Option<EventMeta>, TxError> {
        let Some((seq, record)) = self.record(id)? else {
            return Ok(None);
        };
        meta_in(&record, seq).map(Some).map_err(abort)
    }

    /// Writes a new event's record.
    fn put_new(&self, id: &EventId, meta: &EventMeta, signed: &[u8]) -> Result<(), TxError> {
        self.events.insert(
            &meta.local_seq.to_be_bytes(),
            encode_record(id, meta, signed),
        )?;
        Ok(())
    }

    /// Rewrites a held event's meta, keeping its signed bytes.
    fn put_meta(&self, id: &EventId, meta: &EventMeta) -> Result<(), TxError> {
        let key = meta.local_seq.to_be_bytes();
        let Some(record) = self.events.get(key)? else {
            return Err(abort(corrupt(BadRecord)));
        };
        let parts = RecordParts::split(&record).map_err(|e| abort(corrupt(e)))?;
        self.events
            .insert(&key, encode_record(id, meta, parts.signed))?;
        Ok(())
    }

    /// Adjusts a topic's counts for one origin's entries; `name` records how the topic is
    /// written the first time.
    fn bump_stats(
        &self,
        topic: &str,
        origin: &NodeId,
        posts: i64,
        replies: i64,
        activity: Option<u64>,
        name: Option<&str>,
    ) -> Result<(), TxError> {
        let key = stats_key(topic, origin);
        let mut group = self.group.borrow_mut();
        let stats = match group.stats.entry(key) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let stats = match self.topic_stats.get(e.key())? {
                    None => TopicStats::default(),
                    Some(v) => from_json("topic_stats", &v).map_err(abort)?,
                };
                e.insert(stats)
            }
        };
        if stats.name.is_none() {
            stats.name = name.map(|n| n.trim().to_owned());
        }
        stats.posts = stats.posts.saturating_add_signed(posts);
        stats.replies = stats.replies.saturating_add_signed(replies);
        if let Some(ts) = activity {
            stats.last_activity = Some(stats.last_activity.map_or(ts, |t| t.max(ts)));
        }
        Ok(())
    }
}

impl From<UnabortableTransactionError> for StoreError {
    fn from(e: UnabortableTransactionError) -> Self {
        match e {
            UnabortableTransactionError::Storage(e) => StoreError::Db(e),
            UnabortableTransactionError::Conflict => {
                StoreError::corrupt("transaction", std::io::Error::other("conflict"))
            }
        }
    }
}
