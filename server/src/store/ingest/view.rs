//! The rules' read-only view of the node, read through the ingest transaction so that an
//! event sees the effects of the events before it in the same group.

use kindred_protocol::event::ConversationId;
use kindred_protocol::{EventId, MemberId, NodeId};

use super::super::chat::{ConversationRecord, conversation_key};
use super::super::federation::{
    Announcement, announcement_key, listed_count_key, profile_count_key,
};
use super::super::from_json;
use super::super::held::gone_key;
use super::super::names::decode_binding;
use super::super::profiles::ProfileRecord;
use super::super::topics::TopicRecord;
use super::tx::{Tx, TxError, abort};
use crate::rules::{ConversationState, Entry, ProfileCounts, View};

/// Where an id-less record sorts among versions (its id is unknown).
fn no_id() -> EventId {
    EventId::from_bytes([0; 32])
}

impl Tx<'_> {
    pub(super) fn conversation_record(
        &self,
        c: &ConversationId,
    ) -> Result<Option<ConversationRecord>, TxError> {
        let mut record: ConversationRecord = match self.chat.get(conversation_key(c))? {
            None => return Ok(None),
            Some(v) => from_json("chat", &v).map_err(abort)?,
        };
        if record.kind == kindred_protocol::event::body::chat::ConversationKind::Group {
            let mut erased = Vec::new();
            for m in &record.members {
                if View::erased(self, m)? {
                    erased.push(m.clone());
                }
            }
            let name_theirs = match record.update {
                Some(u) => self
                    .meta(&u)?
                    .is_some_and(|m| m.kind == kindred_protocol::EventKind::Tombstone.code()),
                None => false,
            };
            record.leave_out(&erased, name_theirs);
        }
        Ok(Some(record))
    }
}

impl View for Tx<'_> {
    type Error = TxError;

    fn erased(&self, member: &MemberId) -> Result<bool, TxError> {
        Ok(self
            .erasures
            .get(super::super::erasures::member_key(member))?
            .is_some())
    }

    fn bound_node(&self, name: &str) -> Result<Option<(NodeId, bool)>, TxError> {
        if name == self.ctx.self_name {
            return Ok(Some((self.ctx.self_id, true)));
        }
        self.node_names
            .get(name.as_bytes())?
            .map(|v| decode_binding(&v).map_err(abort))
            .transpose()
    }

    fn bound_name(&self, node: &NodeId) -> Result<Option<String>, TxError> {
        if *node == self.ctx.self_id {
            return Ok(Some(self.ctx.self_name.to_owned()));
        }
        match self.origin_names.get(node.as_bytes())? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|e| abort(super::super::StoreError::corrupt("origin_names", e))),
        }
    }

    fn entry(&self, id: &EventId) -> Result<Option<Entry>, TxError> {
        let Some(meta) = self.meta(id)? else {
            return Ok(None);
        };
        let Some(p) = self.payload(id)? else {
            return Ok(None);
        };
        let mut entry = Entry::of(&p, meta.original, meta.retracted_by.is_some());
        // The node's view of the entry: its topic key and thread as stored (a reply's
        // topic is its thread's), and whether the rules held or refused it.
        entry.topic = meta.topic;
        entry.thread_root = meta.thread_root;
        entry.held = meta.held;
        entry.refused = meta.quarantined;
        Ok(Some(entry))
    }

    fn local_topic(&self, topic_key: &str) -> Result<bool, TxError> {
        match self.topics.get(topic_key.as_bytes())? {
            None => Ok(false),
            Some(v) => {
                let topic: TopicRecord = from_json("topics", &v).map_err(abort)?;
                Ok(!topic.shared)
            }
        }
    }

    fn gone(&self, id: &EventId) -> Result<bool, TxError> {
        Ok(self.held.get(gone_key(id))?.is_some())
    }

    fn conversation(&self, id: &ConversationId) -> Result<Option<ConversationState>, TxError> {
        Ok(self.conversation_record(id)?.map(|r| ConversationState {
            kind: r.kind,
            name: r.name,
            members: r.members,
            admins: r.admins,
            updated_at: r.updated_at,
            update: r.update,
        }))
    }

    fn profile_version(&self, member: &MemberId) -> Result<Option<(u64, EventId)>, TxError> {
        match self.profiles.get(member.as_str().as_bytes())? {
            None => Ok(None),
            Some(v) => {
                let old: ProfileRecord = from_json("profiles", &v).map_err(abort)?;
                Ok(Some((old.updated_at, old.event.unwrap_or_else(no_id))))
            }
        }
    }

    fn profiles_from(&self, node: &NodeId) -> Result<ProfileCounts, TxError> {
        Ok(ProfileCounts {
            all: self.count(&profile_count_key(node))?,
            listed: self.count(&listed_count_key(node))?,
        })
    }

    fn profile_listed(&self, member: &MemberId) -> Result<Option<bool>, TxError> {
        match self.profiles.get(member.as_str().as_bytes())? {
            None => Ok(None),
            Some(v) => {
                let held: ProfileRecord = from_json("profiles", &v).map_err(abort)?;
                Ok(Some(held.listed))
            }
        }
    }

    fn announcement_version(&self, node: &NodeId) -> Result<Option<(u64, EventId)>, TxError> {
        match self.origin_names.get(&announcement_key(node)[..])? {
            None => Ok(None),
            Some(v) => {
                let old: Announcement = from_json("origin_names", &v).map_err(abort)?;
                Ok(Some((old.updated_at, old.event.unwrap_or_else(no_id))))
            }
        }
    }
}
