//! Carrying out what the rules decided: each [`Effect`] becomes writes to the timelines,
//! counts, reactions, profiles, name bindings and conversations. Nothing here decides
//! whether an event may do something; the rules already have.

use std::collections::hash_map::Entry as MapEntry;

use kindred_protocol::event::EventKind;
use kindred_protocol::event::body::chat::ConversationUpdate;
use kindred_protocol::{EventBody, EventId, EventPayload, MemberId, NodeId};

use super::super::chat::{
    ConversationRecord, MarkerRecord, ParticipantState, conversation_key, marker_key, message_key,
    participant_key,
};
use super::super::events::EventMeta;
use super::super::federation::{
    Announcement, announcement_key, listed_count_key, profile_count_key,
};
use super::super::keys::{Position, text_position};
use super::super::profiles::ProfileRecord;
use super::super::reactions::{decode_reaction, reaction_key, reaction_value};
use super::super::timelines::thread_key;
use super::super::topics::{TopicStats, stats_key, topic_key};
use super::super::{from_json, to_json};
use super::Change;
use super::tx::{Tx, TxError, abort};
use crate::rules::{ConversationState, Effect};

/// Whether an edit is newer (its origin's time, then id) than the version shown: edits of
/// one entry come from one origin, but may be released from waiting out of order.
fn newest_version(original: &EventMeta, p: &EventPayload, id: EventId) -> bool {
    match (original.latest, original.edited_at) {
        (Some(latest), Some(at)) => (p.created_at.as_millis(), id) > (at, latest),
        _ => true,
    }
}

/// Where an event sits in time-ordered indexes.
fn position(meta: &EventMeta, id: EventId) -> Position {
    Position {
        sort_ts: meta.sort_ts,
        local_seq: meta.local_seq,
        id,
    }
}

impl Tx<'_> {
    /// Writes what `effect` does; `meta` is the event's own, written by the caller.
    pub(super) fn carry_out(
        &self,
        id: EventId,
        p: &EventPayload,
        effect: &Effect,
        meta: &mut EventMeta,
    ) -> Result<Change, TxError> {
        Ok(match effect {
            Effect::Keep => Change::None,
            Effect::Erase => match &p.body {
                EventBody::Erasure(e) => self.erase(id, p, e)?,
                _ => Change::None,
            },
            Effect::Tombstone => {
                meta.retracted_by = Some(id);
                Change::None
            }
            Effect::Redact { slots } => self.redact(id, p, meta.local_seq, slots)?,
            Effect::Post { topic } => {
                let key = topic_key(topic);
                let pos = position(meta, id);
                self.topic_timeline.insert(text_position(&key, pos), [])?;
                self.author_timeline
                    .insert(text_position(p.author.as_str(), pos), [])?;
                self.bump_stats(&key, &p.origin, 1, 0, Some(meta.sort_ts), Some(topic))?;
                meta.topic = Some(key);
                Change::New(id)
            }
            Effect::Reply { root } => self.reply(id, p, *root, meta)?,
            Effect::Edit { original } => {
                let Some(mut original_meta) = self.meta(original)? else {
                    return Ok(Change::None);
                };
                meta.original = Some(*original);
                meta.topic = original_meta.topic.clone();
                meta.thread_root = original_meta.thread_root;
                if !newest_version(&original_meta, p, id) {
                    return Ok(Change::None);
                }
                original_meta.latest = Some(id);
                original_meta.edited_at = Some(p.created_at.as_millis());
                self.put_meta(original, &original_meta)?;
                Change::Edited(*original)
            }
            Effect::Retract { original } => self.retract(id, *original)?,
            Effect::React {
                target,
                conversation,
            } => {
                let (reaction, removed) = match &p.body {
                    EventBody::Reaction(r) => (&r.reaction, r.removed),
                    EventBody::ChatReaction(r) => (&r.reaction, r.removed),
                    _ => return Ok(Change::None),
                };
                let key = reaction_key(target, reaction, p.author.as_str());
                // The newest of a member's adding and taking back wins, in any order.
                let version = (self.rules_context().effective_time(p), id);
                let newer = match self.reactions.get(&key)? {
                    None => true,
                    Some(v) => decode_reaction(&v).is_none_or(|(held, _)| version > held),
                };
                if !newer {
                    return Ok(Change::None);
                }
                self.reactions
                    .insert(key, &reaction_value(&id, version.0, removed)[..])?;
                match conversation {
                    Some(c) => Change::MessageReactions(*c, *target),
                    None => Change::Reactions(*target),
                }
            }
            Effect::Profile { newer } => {
                let key = p.author.as_str().as_bytes();
                if p.origin != self.ctx.self_id {
                    // That node's share of profiles stored and listed here (its quota).
                    let held: Option<ProfileRecord> = match self.profiles.get(key)? {
                        None => None,
                        Some(v) => Some(from_json("profiles", &v).map_err(abort)?),
                    };
                    if held.is_none() {
                        self.add_to_count(&profile_count_key(&p.origin), 1)?;
                    }
                    if *newer {
                        let was = held.is_some_and(|h| h.listed);
                        let lists = matches!(&p.body, EventBody::Profile(pr) if pr.listed);
                        match (was, lists) {
                            (false, true) => self.add_to_count(&listed_count_key(&p.origin), 1)?,
                            (true, false) => self.add_to_count(&listed_count_key(&p.origin), -1)?,
                            _ => {}
                        }
                    }
                }
                if let (true, EventBody::Profile(profile)) = (newer, &p.body) {
                    let record = ProfileRecord {
                        display_name: profile.display_name.clone(),
                        organisation: profile.organisation.clone(),
                        updated_at: self.rules_context().effective_time(p),
                        event: Some(id),
                        listed: profile.listed,
                        happy_to_talk_about: profile.happy_to_talk_about.clone(),
                        away: profile.away,
                    };
                    self.profiles.insert(
                        p.author.as_str().as_bytes(),
                        to_json("profiles", &record).map_err(abort)?,
                    )?;
                }
                Change::None
            }
            Effect::Announce { bind, newer } => {
                let name = p.author.node_name();
                if *bind {
                    self.node_names.insert(
                        name.as_bytes(),
                        &super::super::names::binding_value(&p.origin, false)[..],
                    )?;
                    self.origin_names
                        .insert(p.origin.as_bytes(), name.as_bytes())?;
                    tracing::info!(%name, node = %p.origin, "node name bound by its announcement");
                }
                if let (true, EventBody::NodeAnnouncement(a)) = (newer, &p.body) {
                    let record = Announcement {
                        name: name.to_owned(),
                        address: a.address.clone(),
                        organisation: a.organisation.clone(),
                        updated_at: self.rules_context().effective_time(p),
                        event: Some(id),
                    };
                    self.origin_names.insert(
                        &announcement_key(&p.origin)[..],
                        to_json("origin_names", &record).map_err(abort)?,
                    )?;
                }
                if *bind {
                    Change::NameBound(name.to_owned())
                } else {
                    Change::None
                }
            }
            Effect::Message { conversation } => {
                // Conversations are in the order this node received their messages.
                let key = message_key(conversation, meta.received_at, meta.local_seq);
                self.chat.insert(&key[..], id.as_bytes())?;
                if let Some(mut record) = self.conversation_record(conversation)? {
                    record.last_activity =
                        Some(record.last_activity.unwrap_or(0).max(meta.received_at));
                    self.put_conversation(conversation, &record)?;
                }
                Change::Message(*conversation, id)
            }
            Effect::MessageEdit {
                conversation,
                original,
            } => {
                let Some(mut original_meta) = self.meta(original)? else {
                    return Ok(Change::None);
                };
                meta.original = Some(*original);
                if !newest_version(&original_meta, p, id) {
                    return Ok(Change::None);
                }
                original_meta.latest = Some(id);
                original_meta.edited_at = Some(p.created_at.as_millis());
                self.put_meta(original, &original_meta)?;
                Change::MessageEdited(*conversation, *original)
            }
            Effect::MessageRetract {
                conversation,
                original,
            } => {
                let Some(mut original_meta) = self.meta(original)? else {
                    return Ok(Change::None);
                };
                meta.original = Some(*original);
                original_meta.retracted_by = Some(id);
                self.put_meta(original, &original_meta)?;
                Change::MessageRetracted(*conversation, *original)
            }
            Effect::Conversation(state) => match &p.body {
                EventBody::ConversationUpdate(u) => self.conversation(u, state, &p.author)?,
                _ => Change::None,
            },
            Effect::ReadMarker {
                conversation,
                up_to,
            } => {
                let version = (self.rules_context().effective_time(p), id);
                self.read_marker(&p.author, conversation, up_to, version)?
            }
        })
    }

    fn reply(
        &self,
        id: EventId,
        p: &EventPayload,
        root: EventId,
        meta: &mut EventMeta,
    ) -> Result<Change, TxError> {
        let Some(mut root_meta) = self.meta(&root)? else {
            return Ok(Change::None);
        };
        // A reply is never earlier than its post: one dated in the past cannot jump to the
        // top of the thread.
        meta.sort_ts = meta.sort_ts.max(root_meta.sort_ts);
        let pos = position(meta, id);
        // The reply's origin, so counts can leave out blocked nodes' replies.
        self.thread_replies
            .insert(thread_key(&root, pos), &p.origin.as_bytes()[..])?;
        self.author_timeline
            .insert(text_position(p.author.as_str(), pos), [])?;
        root_meta.reply_count += 1;
        self.put_meta(&root, &root_meta)?;
        if let Some(topic) = &root_meta.topic {
            self.bump_stats(topic, &p.origin, 0, 1, Some(meta.sort_ts), None)?;
        }
        self.group
            .borrow_mut()
            .replies
            .entry(root)
            .or_default()
            .push(pos);
        meta.thread_root = Some(root);
        meta.topic = root_meta.topic;
        Ok(Change::New(id))
    }

    /// Takes an entry down; a post takes its whole thread with it (replies leave their
    /// authors' pages, search and the counts).
    pub(super) fn retract(&self, id: EventId, original: EventId) -> Result<Change, TxError> {
        let Some(mut original_meta) = self.meta(&original)? else {
            return Ok(Change::None);
        };
        let Some(original_payload) = self.payload(&original)? else {
            return Ok(Change::None);
        };
        original_meta.retracted_by = Some(id);
        let pos = position(&original_meta, original);
        self.author_timeline
            .remove(text_position(original_payload.author.as_str(), pos))?;
        let topic = original_meta.topic.clone();
        if original_meta.kind == EventKind::Post.code() {
            if let Some(topic) = &topic {
                self.topic_timeline.remove(text_position(topic, pos))?;
                self.bump_stats(topic, &original_payload.origin, -1, 0, None, None)?;
            }
            self.take_down_thread(id, original)?;
            original_meta.reply_count = 0;
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

    /// Marks every reply of a post taken down with it.
    fn take_down_thread(&self, retraction: EventId, root: EventId) -> Result<(), TxError> {
        let mut replies = self.threads.get(&root).cloned().unwrap_or_default();
        if let Some(added) = self.group.borrow().replies.get(&root) {
            replies.extend(added.iter().map(|p| p.id));
        }
        replies.sort();
        replies.dedup();
        for reply in replies {
            let Some(mut reply_meta) = self.meta(&reply)? else {
                continue;
            };
            if reply_meta.retracted_by.is_some() || reply_meta.thread_root != Some(root) {
                continue;
            }
            let Some(payload) = self.payload(&reply)? else {
                continue;
            };
            reply_meta.retracted_by = Some(retraction);
            let pos = position(&reply_meta, reply);
            self.author_timeline
                .remove(text_position(payload.author.as_str(), pos))?;
            if let Some(topic) = &reply_meta.topic {
                self.bump_stats(topic, &payload.origin, 0, -1, None, None)?;
            }
            self.put_meta(&reply, &reply_meta)?;
        }
        Ok(())
    }

    pub(super) fn put_conversation(
        &self,
        c: &kindred_protocol::event::ConversationId,
        r: &ConversationRecord,
    ) -> Result<(), TxError> {
        self.chat
            .insert(&conversation_key(c)[..], to_json("chat", r).map_err(abort)?)?;
        Ok(())
    }

    /// A conversation's new state, with this node's members added or removed.
    fn conversation(
        &self,
        update: &ConversationUpdate,
        state: &ConversationState,
        author: &MemberId,
    ) -> Result<Change, TxError> {
        let c = update.conversation;
        let current = self.conversation_record(&c)?;
        let before: Vec<MemberId> = current
            .as_ref()
            .map(|r| r.members.clone())
            .unwrap_or_default();
        let mut record = ConversationRecord {
            kind: state.kind,
            name: state.name.clone(),
            members: state.members.clone(),
            admins: state.admins.clone(),
            updated_at: state.updated_at,
            update: state.update,
            last_activity: current.and_then(|r| r.last_activity),
        };
        let mut erased = Vec::new();
        for m in &record.members {
            if crate::rules::View::erased(self, m)? {
                erased.push(m.clone());
            }
        }
        // The name an erased member gave goes, as it does when the erasure comes after.
        record.leave_out(&erased, crate::rules::View::erased(self, author)?);
        self.put_conversation(&c, &record)?;
        let ours = |m: &&MemberId| m.node_name() == self.ctx.self_name;
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

    /// A participant's read marker: the newest they sent (effective time, then id) wins.
    /// Each node keeps messages in its own arrival order, so "further down" is not the
    /// same everywhere; the order in which a person sent their markers is.
    fn read_marker(
        &self,
        author: &MemberId,
        c: &kindred_protocol::event::ConversationId,
        up_to: &EventId,
        version: (u64, EventId),
    ) -> Result<Change, TxError> {
        let Some(meta) = self.meta(up_to)? else {
            return Ok(Change::None);
        };
        let pos = super::super::chat::message_pos(&meta);
        let key = marker_key(c, author);
        if let Some(old) = self.chat.get(&key)? {
            let old: MarkerRecord = from_json("chat", &old).map_err(abort)?;
            let newer = match old.version {
                Some(held) => version > held,
                // Written before markers carried their version: go by position.
                None => pos > old.pos,
            };
            if !newer {
                return Ok(Change::None);
            }
        }
        let record = MarkerRecord {
            up_to: *up_to,
            pos,
            version: Some(version),
        };
        self.chat
            .insert(key, to_json("chat", &record).map_err(abort)?)?;
        Ok(Change::ReadMarker(*c, author.clone(), *up_to))
    }

    /// Adjusts a topic's counts for one origin's entries; `name` records how the topic is
    /// written the first time.
    pub(super) fn bump_stats(
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
            MapEntry::Occupied(e) => e.into_mut(),
            MapEntry::Vacant(e) => {
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
