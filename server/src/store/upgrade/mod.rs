//! Upgrades of databases written by older Kindred versions, run once when they are opened.
//!
//! - 1 → 2: search postings are kept per indexing batch and topic counts per origin node;
//!   the search index is dropped (the indexer rebuilds it from the event log) and the
//!   counts are rebuilt from the timelines.
//! - 2 → 3: events move from `events_by_id` + `event_meta` (JSON) + `local_log` +
//!   `origin_seq_event` to the arrival-ordered `events` tree with binary meta, `event_ids`
//!   and `origin_seq` (see `events.rs`).
//! - 3 → 4: `search_docs` is keyed by arrival and binary; the search index is dropped and
//!   rebuilt by the indexer.
//! - 4 → 5: `origin_seq` (one key per shared-log event) becomes `origin_runs` (one key per
//!   run of an origin's events stored in a row; see `origin_log.rs`).
//!
//! - 5 → 6: names bound to nodes, and conversations in arrival order (`v6.rs`).
//! - 6 → 7: profiles counted per node, for `federation.profiles_per_node` (`v7.rs`).
//! - 7 → 8: topics keyed by their folded name (`v8.rs`).
//!
//! Each step can be interrupted by a crash and run again: the version is recorded last.

mod v6;
mod v7;
mod v8;

use kindred_protocol::{EventId, NodeId};

use super::events::{EventMeta, encode_record};
use super::meta::record_schema;
use super::origin_log::{Run, decode_u64, origin_seq_key, split_origin_seq_key};
use super::{SCHEMA_VERSION, Store, StoreError, from_json};

/// The schema 2 event trees. `local_log` is first: while it exists, the move has not
/// finished, so it is dropped first and the others after it.
const LEGACY_EVENT_TREES: [&str; 4] = [
    "local_log",
    "events_by_id",
    "event_meta",
    "origin_seq_event",
];

/// The schema 3 and 4 index of the shared log: origin (32) ‖ seq (u64 BE) → local seq.
const LEGACY_ORIGIN_SEQ: &str = "origin_seq";

/// Entries written per sled batch while moving events.
const MOVE_BATCH: usize = 1024;

impl Store {
    /// Upgrades a database written with schema `from` to this one.
    pub(super) fn upgrade_schema(&self, from: u32) -> Result<(), StoreError> {
        tracing::info!(from, to = SCHEMA_VERSION, "upgrading the database");
        if from < 3 {
            self.move_events_to_arrival_order()?;
        }
        if from < 4 {
            // The index is derived from the event log: the indexer rebuilds it.
            let t = self.trees();
            t.search_postings.clear()?;
            t.search_docs.clear()?;
            t.search_meta.clear()?;
        }
        if from < 5 {
            self.gather_origin_runs()?;
        }
        if from < 6 {
            self.bind_names_and_order_chat_by_arrival()?;
        }
        if from < 7 {
            self.count_profiles_per_node()?;
        }
        if from < 8 {
            self.key_topics_by_folded_name()?;
        }
        if from < 2 {
            self.rebuild_topic_stats()?;
        }
        record_schema(&self.trees().meta)?;
        tracing::info!(to = SCHEMA_VERSION, "database upgraded");
        Ok(())
    }

    /// Schema 2 → 3: rewrites the event log keyed by arrival, then drops the old trees.
    fn move_events_to_arrival_order(&self) -> Result<(), StoreError> {
        if self.tree_exists(LEGACY_EVENT_TREES[0]) {
            let t = self.trees();
            // A move a crash interrupted starts again from nothing.
            t.events.clear()?;
            t.event_ids.clear()?;
            let origin_seq = self.db.keyspace(LEGACY_ORIGIN_SEQ)?;
            origin_seq.clear()?;
            let local_log = self.db.keyspace("local_log")?;
            let events_by_id = self.db.keyspace("events_by_id")?;
            let event_meta = self.db.keyspace("event_meta")?;
            let origin_seq_event = self.db.keyspace("origin_seq_event")?;
            tracing::info!(events = local_log.len(), "moving events to arrival order");
            let mut events = super::kv::Batch::default();
            let mut ids = super::kv::Batch::default();
            let mut pending = 0;
            for item in local_log.iter() {
                let (key, id) = item?;
                let seq = decode_u64("local_log", &key)?;
                let id = legacy_id("local_log", &id)?;
                let Some(signed) = events_by_id.get(id.as_bytes())? else {
                    tracing::warn!(%id, seq, "event listed in the log but not stored; skipped");
                    continue;
                };
                let mut meta: EventMeta = match event_meta.get(id.as_bytes())? {
                    Some(json) => from_json("event_meta", &json)?,
                    None => EventMeta::default(),
                };
                meta.local_seq = seq;
                events.insert(&key, encode_record(&id, &meta, &signed));
                ids.insert(id.as_bytes(), seq.to_be_bytes());
                pending += 1;
                if pending == MOVE_BATCH {
                    t.events.apply_batch(std::mem::take(&mut events))?;
                    t.event_ids.apply_batch(std::mem::take(&mut ids))?;
                    pending = 0;
                }
            }
            t.events.apply_batch(events)?;
            t.event_ids.apply_batch(ids)?;
            let mut by_origin = super::kv::Batch::default();
            for item in origin_seq_event.iter() {
                let (key, id) = item?;
                let id = legacy_id("origin_seq_event", &id)?;
                if let Some(seq) = t.event_ids.get(id.as_bytes())? {
                    by_origin.insert(key, seq);
                }
            }
            origin_seq.apply_batch(by_origin)?;
            self.db.flush()?;
        }
        for name in LEGACY_EVENT_TREES {
            if self.tree_exists(name) {
                self.db.drop_keyspace(name)?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// Schema 4 → 5: gathers `origin_seq`'s one key per event into `origin_runs`, then drops
    /// it. While `origin_seq` exists the step has not finished, so it starts again.
    fn gather_origin_runs(&self) -> Result<(), StoreError> {
        if !self.tree_exists(LEGACY_ORIGIN_SEQ) {
            return Ok(());
        }
        let t = self.trees();
        t.origin_runs.clear()?;
        let origin_seq = self.db.keyspace(LEGACY_ORIGIN_SEQ)?;
        let mut runs = super::kv::Batch::default();
        let mut put = |origin: &NodeId, run: &Run| {
            runs.insert(&origin_seq_key(origin, run.first_seq)[..], &run.value()[..]);
        };
        let mut open: Option<(NodeId, Run)> = None;
        for item in origin_seq.iter() {
            let (key, local) = item?;
            let (origin, seq) = split_origin_seq_key("origin_seq", &key)?;
            let local = decode_u64("origin_seq", &local)?;
            if let Some((o, run)) = &mut open
                && *o == origin
                && run.extend(seq, local)
            {
                continue;
            }
            if let Some((o, run)) = open.replace((origin, Run::new(seq, local))) {
                put(&o, &run);
            }
        }
        if let Some((o, run)) = open {
            put(&o, &run);
        }
        t.origin_runs.apply_batch(runs)?;
        self.db.flush()?;
        self.db.drop_keyspace(LEGACY_ORIGIN_SEQ)?;
        self.db.flush()?;
        Ok(())
    }

    /// Whether the database has a tree of this name (a legacy one, during upgrades).
    fn tree_exists(&self, name: &str) -> bool {
        self.db
            .keyspace_names()
            .is_ok_and(|names| names.iter().any(|n| n == name))
    }
}

fn legacy_id(tree: &'static str, bytes: &[u8]) -> Result<EventId, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(EventId::from_bytes)
        .map_err(|e| StoreError::corrupt(tree, e))
}

#[cfg(test)]
mod tests {
    use kindred_protocol::event::body::peer_learning::{Post, Reply};
    use kindred_protocol::{
        Audience, EventBody, EventPayload, NodeKeypair, References, Timestamp, VerifiedEvent,
    };

    use super::*;
    use crate::store::origin_log::origin_seq_key;
    use crate::store::to_json;

    fn event(key: &NodeKeypair, seq: u64, body: EventBody, refs: References) -> VerifiedEvent {
        let payload = EventPayload {
            origin: key.node_id(),
            created_at: Timestamp(1_000 + seq),
            audience: Audience::Shared { seq },
            author: "@sam:a.test".parse().unwrap(),
            refs,
            body,
        };
        VerifiedEvent::sign(payload, key).unwrap()
    }

    #[test]
    fn a_version_2_event_log_is_moved_to_arrival_order() {
        let dir = tempfile::tempdir().unwrap();
        let key = NodeKeypair::generate().unwrap();
        let post = event(
            &key,
            1,
            EventBody::Post(Post {
                topic: "Funding".into(),
                title: "A grant that worked".into(),
                body: "text".into(),
                tags: vec![],
                content_warning: None,
            }),
            References::default(),
        );
        let reply = event(
            &key,
            2,
            EventBody::Reply(Reply {
                body: "thanks".into(),
                content_warning: None,
            }),
            References {
                thread_root: Some(post.id()),
                reply_to: Some(post.id()),
                ..References::default()
            },
        );
        let metas = [
            EventMeta {
                local_seq: 1,
                received_at: 5_000,
                sort_ts: 1_001,
                kind: post.payload().body.kind_code(),
                topic: Some("funding".into()),
                reply_count: 1,
                ..EventMeta::default()
            },
            EventMeta {
                local_seq: 2,
                received_at: 5_000,
                sort_ts: 1_002,
                kind: reply.payload().body.kind_code(),
                topic: Some("funding".into()),
                thread_root: Some(post.id()),
                ..EventMeta::default()
            },
        ];
        {
            // The schema 2 layout, written by hand.
            let db = sled::open(dir.path()).unwrap();
            let tree = |name: &str| db.open_tree(name).unwrap();
            tree("meta")
                .insert("schema_version", &2u32.to_be_bytes())
                .unwrap();
            for (seq, (e, meta)) in [(1u64, (&post, &metas[0])), (2, (&reply, &metas[1]))] {
                let id = e.id();
                tree("local_log")
                    .insert(seq.to_be_bytes(), id.as_bytes())
                    .unwrap();
                tree("events_by_id")
                    .insert(id.as_bytes(), e.signed().to_bytes())
                    .unwrap();
                tree("event_meta")
                    .insert(id.as_bytes(), to_json("t", meta).unwrap())
                    .unwrap();
                tree("origin_seq_event")
                    .insert(&origin_seq_key(&key.node_id(), seq)[..], id.as_bytes())
                    .unwrap();
                tree("origin_head")
                    .insert(key.node_id().as_bytes(), &seq.to_be_bytes())
                    .unwrap();
            }
            db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        for (e, meta) in [(&post, &metas[0]), (&reply, &metas[1])] {
            assert_eq!(store.event_meta(&e.id()).unwrap().as_ref(), Some(meta));
            assert_eq!(store.event(&e.id()).unwrap().unwrap(), *e.signed());
        }
        let second = store.event_at(&key.node_id(), 2).unwrap().unwrap();
        assert_eq!(second, *reply.signed());
        assert_eq!(store.last_local_seq().unwrap(), 2);
        let after = store.stored_after(0, 10).unwrap();
        let ids: Vec<_> = after.iter().map(|s| (s.local_seq, s.id)).collect();
        assert_eq!(ids, vec![(1, post.id()), (2, reply.id())]);
        for legacy in LEGACY_EVENT_TREES {
            assert!(!store.tree_exists(legacy));
        }
        drop(store);
        // Opening again finds the current schema and changes nothing.
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(
            store.event_meta(&post.id()).unwrap().as_ref(),
            Some(&metas[0])
        );
    }

    #[test]
    fn a_version_4_shared_log_index_is_gathered_into_runs() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (
            NodeKeypair::generate().unwrap(),
            NodeKeypair::generate().unwrap(),
        );
        let reaction = |key: &NodeKeypair, seq: u64| {
            let target = EventId::from_bytes([7; 32]);
            event(
                key,
                seq,
                EventBody::Reaction(kindred_protocol::event::body::peer_learning::Reaction {
                    target,
                    reaction: "thank you".into(),
                    removed: false,
                }),
                References::default(),
            )
        };
        // Arrival order: a1 a2 b1 a3 a4, so a's events make two runs around b's.
        let arrivals = [
            reaction(&a, 1),
            reaction(&a, 2),
            reaction(&b, 1),
            reaction(&a, 3),
            reaction(&a, 4),
        ];
        {
            // The schema 4 layout, written by hand.
            let db = sled::open(dir.path()).unwrap();
            let tree = |name: &str| db.open_tree(name).unwrap();
            tree("meta")
                .insert("schema_version", &4u32.to_be_bytes())
                .unwrap();
            for (local, e) in (1u64..).zip(&arrivals) {
                let meta = EventMeta {
                    local_seq: local,
                    kind: e.payload().body.kind_code(),
                    ..EventMeta::default()
                };
                let signed = e.signed().to_bytes();
                tree("events")
                    .insert(local.to_be_bytes(), encode_record(&e.id(), &meta, &signed))
                    .unwrap();
                tree("event_ids")
                    .insert(e.id().as_bytes(), &local.to_be_bytes())
                    .unwrap();
                let seq = e.payload().seq().unwrap();
                tree(LEGACY_ORIGIN_SEQ)
                    .insert(
                        &origin_seq_key(&e.payload().origin, seq)[..],
                        &local.to_be_bytes(),
                    )
                    .unwrap();
            }
            db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        for e in &arrivals {
            let p = e.payload();
            let found = store.event_at(&p.origin, p.seq().unwrap()).unwrap();
            assert_eq!(found.as_ref(), Some(e.signed()));
        }
        assert_eq!(store.event_at(&a.node_id(), 5).unwrap(), None);
        assert_eq!(store.event_at(&b.node_id(), 2).unwrap(), None);
        assert_eq!(store.trees().origin_runs.len(), 3);
        assert!(!store.tree_exists(LEGACY_ORIGIN_SEQ));
    }
}
