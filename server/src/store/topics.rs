//! `topics`: topic key (lower-cased name) → [`TopicRecord`] (JSON), topics this node created.
//! `topic_stats`: topic key → [`TopicStats`] (JSON), counts kept by the ingest path.

use kindred_protocol::MemberId;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError, from_json, to_json};

/// A topic created on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TopicRecord {
    /// The name as written.
    pub(crate) name: String,
    /// What it is for.
    pub(crate) description: String,
    /// Posts go to the federation (true) or stay on this node (false).
    pub(crate) shared: bool,
    /// Who created it.
    pub(crate) created_by: MemberId,
    /// When (ms).
    pub(crate) created_at: u64,
}

/// Visible posts and replies in a topic, and the time of the latest.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TopicStats {
    /// The topic's name as first written (topics seen only in other nodes' posts have no
    /// local record).
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// Visible posts.
    pub(crate) posts: u64,
    /// Visible replies.
    pub(crate) replies: u64,
    /// Latest activity (ms).
    pub(crate) last_activity: Option<u64>,
}

/// The key a topic name is stored and matched under: trimmed and lower-cased.
pub(crate) fn topic_key(name: &str) -> String {
    name.trim().to_lowercase()
}

impl Store {
    /// All topics created on this node, by key.
    pub(crate) fn topics(&self) -> Result<Vec<TopicRecord>, StoreError> {
        self.trees()
            .topics
            .iter()
            .map(|item| {
                let (_, v) = item?;
                from_json("topics", &v)
            })
            .collect()
    }

    /// One topic by name (any case).
    pub(crate) fn topic(&self, name: &str) -> Result<Option<TopicRecord>, StoreError> {
        match self.trees().topics.get(topic_key(name))? {
            None => Ok(None),
            Some(v) => from_json("topics", &v).map(Some),
        }
    }

    /// Creates a topic; false if one with that name exists.
    pub(crate) fn create_topic(&self, topic: &TopicRecord) -> Result<bool, StoreError> {
        let value = to_json("topics", topic)?;
        let swapped = self.trees().topics.compare_and_swap(
            topic_key(&topic.name),
            None as Option<&[u8]>,
            Some(value),
        )?;
        Ok(swapped.is_ok())
    }

    /// Replaces a topic's record.
    pub(crate) fn put_topic(&self, topic: &TopicRecord) -> Result<(), StoreError> {
        self.trees()
            .topics
            .insert(topic_key(&topic.name), to_json("topics", topic)?)?;
        Ok(())
    }

    /// Every topic with activity, local or seen in other nodes' posts.
    pub(crate) fn all_topic_stats(&self) -> Result<Vec<(String, TopicStats)>, StoreError> {
        self.trees()
            .topic_stats
            .iter()
            .map(|item| {
                let (k, v) = item?;
                let key = String::from_utf8(k.to_vec())
                    .map_err(|e| StoreError::corrupt("topic_stats", e))?;
                Ok((key, from_json("topic_stats", &v)?))
            })
            .collect()
    }

    /// Counts for a topic.
    pub(crate) fn topic_stats(&self, name: &str) -> Result<TopicStats, StoreError> {
        match self.trees().topic_stats.get(topic_key(name))? {
            None => Ok(TopicStats::default()),
            Some(v) => from_json("topic_stats", &v),
        }
    }
}
