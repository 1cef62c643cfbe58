//! Schema 7 → 8: topics are keyed by their folded name (`kindred_protocol::text::topic_key`:
//! case, accents, Unicode normal form and spacing aside), so a topic named one way on one
//! node and another way on another is one topic. Topic records, timelines, counts and the
//! topic each post and reply records are moved to the new keys; two topics that now share
//! a key are merged (the first record kept, the counts added).

use super::super::events::{RecordParts, corrupt, encode_record};
use super::super::keys::{split_text, text_prefix};
use super::super::origin_log::decode_u64;
use super::super::topics::{TopicRecord, TopicStats, split_stats_key, stats_key, topic_key};
use super::super::{Store, StoreError, from_json, to_json};

impl Store {
    pub(super) fn key_topics_by_folded_name(&self) -> Result<(), StoreError> {
        let t = self.trees();
        // Records: the first under each new key is kept.
        let mut moves = Vec::new();
        for item in t.topics.iter() {
            let (k, v) = item?;
            let record: TopicRecord = from_json("topics", &v)?;
            let key = topic_key(&record.name);
            if key.as_bytes() != k.as_ref() {
                moves.push((k, key, v));
            }
        }
        for (old, new, value) in moves {
            if !t.topics.contains_key(new.as_bytes())? {
                t.topics.insert(new.as_bytes(), value)?;
            }
            t.topics.remove(old)?;
        }
        // Timelines.
        let mut moves = Vec::new();
        for item in t.topic_timeline.iter() {
            let (k, v) = item?;
            let Some((topic, rest)) = split_text(&k) else {
                continue;
            };
            let key = topic_key(&topic);
            if key != topic {
                let mut new = text_prefix(&key);
                new.extend_from_slice(rest);
                moves.push((k, new, v));
            }
        }
        for (old, new, value) in moves {
            t.topic_timeline.insert(new, value)?;
            t.topic_timeline.remove(old)?;
        }
        // Counts per origin, added together where two topics meet.
        let mut moves = Vec::new();
        for item in t.topic_stats.iter() {
            let (k, v) = item?;
            let Some((topic, origin)) = split_stats_key(&k) else {
                continue;
            };
            let key = topic_key(&topic);
            if key != topic {
                moves.push((
                    k,
                    stats_key(&key, &origin),
                    from_json::<TopicStats>("topic_stats", &v)?,
                ));
            }
        }
        for (old, new, stats) in moves {
            let mut merged = match t.topic_stats.get(&new)? {
                Some(v) => from_json::<TopicStats>("topic_stats", &v)?,
                None => TopicStats::default(),
            };
            merged.add(stats);
            t.topic_stats
                .insert(new, to_json("topic_stats", &merged)?)?;
            t.topic_stats.remove(old)?;
        }
        // The topic each post and reply records.
        let mut rewrites = Vec::new();
        for item in t.events.iter() {
            let (k, v) = item?;
            let seq = decode_u64("events", &k)?;
            let parts = RecordParts::split(&v).map_err(corrupt)?;
            let mut meta = parts.meta(seq).map_err(corrupt)?;
            let Some(topic) = &meta.topic else {
                continue;
            };
            let key = topic_key(topic);
            if key != *topic {
                meta.topic = Some(key);
                rewrites.push((k, encode_record(&parts.id, &meta, parts.signed)));
            }
        }
        for (k, record) in rewrites {
            t.events.insert(k, record)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use kindred_protocol::event::body::peer_learning::Post;
    use kindred_protocol::{
        Audience, EventBody, EventPayload, NodeKeypair, References, Timestamp, VerifiedEvent,
    };

    use super::*;

    /// Moves everything stored under the key `from` to the key `to`, as an older Kindred
    /// (which keyed topics by their lower-cased name) would have stored it.
    fn rekey(store: &Store, from: &str, to: &str) {
        let t = store.trees();
        for item in t.topic_timeline.scan_prefix(text_prefix(from)) {
            let (k, v) = item.unwrap();
            let (_, rest) = split_text(&k).unwrap();
            let mut new = text_prefix(to);
            new.extend_from_slice(rest);
            t.topic_timeline.insert(new, v).unwrap();
            t.topic_timeline.remove(k).unwrap();
        }
        for item in t.topic_stats.scan_prefix(text_prefix(from)) {
            let (k, v) = item.unwrap();
            let (_, origin) = split_stats_key(&k).unwrap();
            t.topic_stats.insert(stats_key(to, &origin), v).unwrap();
            t.topic_stats.remove(k).unwrap();
        }
        for item in t.events.iter() {
            let (k, v) = item.unwrap();
            let seq = decode_u64("events", &k).unwrap();
            let parts = RecordParts::split(&v).unwrap();
            let mut meta = parts.meta(seq).unwrap();
            if meta.topic.as_deref() == Some(from) {
                meta.topic = Some(to.to_owned());
                t.events
                    .insert(k, encode_record(&parts.id, &meta, parts.signed))
                    .unwrap();
            }
        }
    }

    #[test]
    fn topics_written_two_ways_become_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let key = NodeKeypair::generate().unwrap();
        let ctx = crate::store::IngestContext {
            self_id: key.node_id(),
            self_name: "a.test",
            now: 5_000,
            hold_quota: 1 << 20,
            profile_quota: 1 << 20,
            skews: &std::collections::HashMap::new(),
        };
        for (seq, topic) in [(1, "Caf\u{e9}"), (2, "Cafe\u{301}")] {
            let payload = EventPayload {
                origin: key.node_id(),
                created_at: Timestamp(1_000 + seq),
                audience: Audience::Shared { seq },
                author: "@sam:a.test".parse().unwrap(),
                refs: References::default(),
                body: EventBody::Post(Post {
                    topic: topic.into(),
                    title: format!("post {seq}"),
                    body: "text".into(),
                    tags: vec![],
                    content_warning: None,
                }),
            };
            store
                .ingest(&[VerifiedEvent::sign(payload, &key).unwrap()], &ctx)
                .unwrap();
            // Stored the old way: each spelling its own lower-cased key.
            rekey(&store, "cafe", &topic.to_lowercase());
        }
        store
            .trees()
            .topics
            .insert(
                "caf\u{e9}",
                to_json(
                    "topics",
                    &TopicRecord {
                        name: "Caf\u{e9}".into(),
                        description: String::new(),
                        shared: true,
                        created_by: "@sam:a.test".parse().unwrap(),
                        created_at: 1,
                    },
                )
                .unwrap(),
            )
            .unwrap();
        assert_eq!(store.topic_timeline("cafe", None, 10).unwrap().len(), 0);

        store.key_topics_by_folded_name().unwrap();
        // Run twice: a crash mid-way starts it again.
        store.key_topics_by_folded_name().unwrap();

        assert_eq!(store.topic_timeline("cafe", None, 10).unwrap().len(), 2);
        let stats = store.topic_stats("CAFE", |_| false).unwrap();
        assert_eq!(stats.posts, 2);
        assert_eq!(
            store.topic("Cafe\u{301}").unwrap().unwrap().name,
            "Caf\u{e9}"
        );
        for pos in store.topic_timeline("cafe", None, 10).unwrap() {
            let meta = store.event_meta(&pos.id).unwrap().unwrap();
            assert_eq!(meta.topic.as_deref(), Some("cafe"));
        }
        let keys: Vec<_> = store.trees().topics.iter().collect();
        assert_eq!(keys.len(), 1);
    }
}
