//! `topics`: topic key (the folded name, `kindred_protocol::text::topic_key`) →
//! [`TopicRecord`] (JSON), topics this node created.
//! `topic_stats`: topic key (u8 len ‖ text) ‖ origin (32) → [`TopicStats`] (JSON), counts
//! kept by the ingest path per origin node, so a blocked node's posts drop out of the
//! counts at once (and come back on unblock) without recounting anything.

use std::collections::{BTreeMap, HashMap};

use kindred_protocol::{MemberId, NodeId};
use serde::{Deserialize, Serialize};

use super::events::payload_of;
use super::keys::{Position, split_text, text_prefix};
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

pub(crate) use crate::rules::topic_key;

/// Key of one origin's counts in a topic.
pub(crate) fn stats_key(topic: &str, origin: &NodeId) -> Vec<u8> {
    let mut key = text_prefix(topic);
    key.extend_from_slice(origin.as_bytes());
    key
}

/// Splits a `topic_stats` key into topic key and origin.
pub(super) fn split_stats_key(key: &[u8]) -> Option<(String, NodeId)> {
    let (topic, origin) = split_text(key)?;
    Some((topic, NodeId::from_bytes(origin.try_into().ok()?)))
}

impl TopicStats {
    /// Adds another origin's counts to these.
    pub(super) fn add(&mut self, other: TopicStats) {
        if self.name.is_none() {
            self.name = other.name;
        }
        self.posts += other.posts;
        self.replies += other.replies;
        self.last_activity = self.last_activity.max(other.last_activity);
    }
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
        let swapped = self.writer().topics.compare_and_swap(
            topic_key(&topic.name),
            None as Option<&[u8]>,
            Some(value),
        )?;
        Ok(swapped.is_ok())
    }

    /// Changes a topic's record with `change`, as one step (compare-and-swap): two
    /// moderators changing its description and its sharing at once both have their way.
    /// `None`, with nothing written, when there is no such topic.
    ///
    /// Errors: the store's.
    pub(crate) fn update_topic(
        &self,
        name: &str,
        mut change: impl FnMut(&mut TopicRecord),
    ) -> Result<Option<TopicRecord>, StoreError> {
        super::update_json(
            &self.writer().topics,
            "topics",
            topic_key(name).as_bytes(),
            || None,
            |topic: &mut TopicRecord| {
                change(topic);
                Ok::<_, StoreError>(topic.clone())
            },
        )
    }

    /// Every topic with activity, local or seen in other nodes' posts, counting only nodes
    /// that are not blocked.
    pub(crate) fn all_topic_stats(
        &self,
        is_blocked: impl Fn(&NodeId) -> bool,
    ) -> Result<Vec<(String, TopicStats)>, StoreError> {
        Ok(self.summed_stats(&[], is_blocked)?.into_iter().collect())
    }

    /// Counts for a topic, from nodes that are not blocked.
    pub(crate) fn topic_stats(
        &self,
        name: &str,
        is_blocked: impl Fn(&NodeId) -> bool,
    ) -> Result<TopicStats, StoreError> {
        let mut topics = self.summed_stats(&text_prefix(&topic_key(name)), is_blocked)?;
        Ok(topics.pop_first().map(|(_, s)| s).unwrap_or_default())
    }

    /// The per-origin counts under `prefix`, summed per topic, leaving blocked nodes out.
    fn summed_stats(
        &self,
        prefix: &[u8],
        is_blocked: impl Fn(&NodeId) -> bool,
    ) -> Result<BTreeMap<String, TopicStats>, StoreError> {
        let mut out: BTreeMap<String, TopicStats> = BTreeMap::new();
        for item in self.trees().topic_stats.scan_prefix(prefix) {
            let (k, v) = item?;
            let (topic, origin) = split_stats_key(&k).ok_or_else(|| {
                StoreError::corrupt("topic_stats", std::io::Error::other("bad key"))
            })?;
            if !is_blocked(&origin) {
                out.entry(topic)
                    .or_default()
                    .add(from_json("topic_stats", &v)?);
            }
        }
        Ok(out)
    }

    /// Rebuilds `topic_stats` (per origin) from the timelines, keeping the topic names the
    /// old records held. Used when upgrading a database whose counts were kept per topic.
    pub(super) fn rebuild_topic_stats(&self) -> Result<(), StoreError> {
        let t = self.writer();
        let mut names: HashMap<String, String> = HashMap::new();
        for item in t.topic_stats.iter() {
            let (k, v) = item?;
            let old: TopicStats = from_json("topic_stats", &v)?;
            if let (Ok(key), Some(name)) = (String::from_utf8(k.to_vec()), old.name) {
                names.insert(key, name);
            }
        }
        let origin_of = |pos: &Position| -> Result<Option<NodeId>, StoreError> {
            Ok(match self.event(&pos.id)? {
                Some(event) => Some(payload_of(&event)?.origin),
                None => None,
            })
        };
        let mut counts: BTreeMap<(String, NodeId), TopicStats> = BTreeMap::new();
        let mut count = |topic: String, pos: &Position, origin: NodeId, post: bool| {
            let stats = counts.entry((topic, origin)).or_default();
            if post {
                stats.posts += 1;
            } else {
                stats.replies += 1;
            }
            stats.last_activity = stats.last_activity.max(Some(pos.sort_ts));
        };
        for item in t.topic_timeline.iter() {
            let (k, _) = item?;
            let (Some((topic, _)), Some(pos)) = (split_text(&k), Position::from_key_suffix(&k))
            else {
                continue;
            };
            if let Some(origin) = origin_of(&pos)? {
                count(topic, &pos, origin, true);
            }
        }
        for item in t.thread_replies.iter() {
            let (k, _) = item?;
            let (Some(root), Some(pos)) = (k.get(..32), Position::from_key_suffix(&k)) else {
                continue;
            };
            let root = kindred_protocol::EventId::from_bytes(
                root.try_into()
                    .map_err(|e| StoreError::corrupt("thread_replies", e))?,
            );
            let topic = self.event_meta(&root)?.and_then(|m| m.topic);
            if let (Some(topic), Some(origin)) = (topic, origin_of(&pos)?) {
                count(topic, &pos, origin, false);
            }
        }
        t.topic_stats.clear()?;
        for ((topic, origin), mut stats) in counts {
            stats.name = names.get(&topic).cloned();
            t.topic_stats
                .insert(stats_key(&topic, &origin), to_json("topic_stats", &stats)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_key_layout_is_pinned_and_splits_back() {
        let origin = NodeId::from_bytes([9; 32]);
        let key = stats_key("funding", &origin);
        assert_eq!(&key[..8], b"\x07funding");
        assert_eq!(&key[8..], &[9; 32]);
        assert_eq!(split_stats_key(&key), Some(("funding".to_owned(), origin)));
    }

    #[test]
    fn counts_add_up_over_origins_leaving_blocked_ones_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, b) = (NodeId::from_bytes([1; 32]), NodeId::from_bytes([2; 32]));
        let put = |origin: &NodeId, stats: TopicStats| {
            store
                .trees()
                .topic_stats
                .insert(stats_key("funding", origin), to_json("t", &stats).unwrap())
                .unwrap();
        };
        put(
            &a,
            TopicStats {
                name: Some("Funding".into()),
                posts: 2,
                replies: 1,
                last_activity: Some(5),
            },
        );
        put(
            &b,
            TopicStats {
                name: None,
                posts: 3,
                replies: 0,
                last_activity: Some(9),
            },
        );
        let none = |_: &NodeId| false;
        let both = store.topic_stats("Funding", none).unwrap();
        assert_eq!(
            (both.posts, both.replies, both.last_activity),
            (5, 1, Some(9))
        );
        assert_eq!(both.name.as_deref(), Some("Funding"));

        let is_b = |n: &NodeId| *n == b;
        let without_b = store.topic_stats("funding", is_b).unwrap();
        assert_eq!((without_b.posts, without_b.last_activity), (2, Some(5)));
        let all = store.all_topic_stats(is_b).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].1.posts, 2);
    }

    #[test]
    fn upgrading_from_counts_per_topic_rebuilds_them_per_origin() {
        use kindred_protocol::event::body::peer_learning::Post;
        use kindred_protocol::{
            Audience, EventBody, EventPayload, NodeKeypair, References, Timestamp, VerifiedEvent,
        };
        let dir = tempfile::tempdir().unwrap();
        let keys = [
            NodeKeypair::generate().unwrap(),
            NodeKeypair::generate().unwrap(),
        ];
        {
            let store = Store::open(dir.path()).unwrap();
            for (n, key) in keys.iter().enumerate() {
                for seq in 1..=n as u64 + 1 {
                    let payload = EventPayload {
                        origin: key.node_id(),
                        created_at: Timestamp(1_000 + seq),
                        audience: Audience::Shared { seq },
                        author: format!("@sam:node{n}.test").parse().unwrap(),
                        refs: References::default(),
                        body: EventBody::Post(Post {
                            topic: "Funding".into(),
                            title: format!("post {seq}"),
                            body: "text".into(),
                            tags: vec![],
                            content_warning: None,
                        }),
                    };
                    let event = VerifiedEvent::sign(payload, key).unwrap();
                    // Each node's posts are stored as its own, so no names need binding.
                    let name = format!("node{n}.test");
                    let ctx = crate::store::IngestContext {
                        self_id: key.node_id(),
                        self_name: &name,
                        now: 5_000,
                        hold_quota: 1 << 20,
                        profile_quota: 1 << 20,
                        skews: &std::collections::HashMap::new(),
                    };
                    store.ingest(&[event], &ctx).unwrap();
                }
            }
            // Rewrite the counts as schema 1 kept them: one record per topic.
            let old = TopicStats {
                name: Some("Funding".into()),
                posts: 3,
                replies: 0,
                last_activity: Some(1_002),
            };
            store.trees().topic_stats.clear().unwrap();
            store
                .trees()
                .topic_stats
                .insert("funding", to_json("t", &old).unwrap())
                .unwrap();
            store
                .trees()
                .meta
                .insert("schema_version", 1u32.to_be_bytes())
                .unwrap();
            store.flush_now().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        let stats = store.topic_stats("funding", |_| false).unwrap();
        assert_eq!((stats.posts, stats.last_activity), (3, Some(1_002)));
        assert_eq!(stats.name.as_deref(), Some("Funding"));
        let second = keys[1].node_id();
        let without = store.topic_stats("funding", |n| *n == second).unwrap();
        assert_eq!(without.posts, 1);
    }
}
