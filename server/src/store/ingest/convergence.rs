//! Convergence in any order, as a property: every node that receives the same events ends
//! up showing the same threads, counts, reactions, edits, take-downs, profiles,
//! conversations, chat reactions and read markers, whatever order they arrived in, in
//! whatever groups, with restarts in between; and when a member is erased, no node shows
//! anything of theirs, whichever of their events arrived before or after the erasure.
//!
//! Why receivers of generated streams model every topology: a relay (line, hub, mesh)
//! passes on each origin's shared log in order and never alters it, and directed events
//! come straight from their origin, in order; so what any topology, partition or restart
//! can do to a node is deliver the origins' streams in some interleaving, at some pace.
//! Each case draws an interleaving, group sizes and restart points per receiving node,
//! and compares what the nodes show. The origins write as if they had seen everything
//! written before (as nodes that are well connected do), which gives the most references
//! to arrive ahead of their targets.

use std::collections::{BTreeMap, BTreeSet};

use kindred_protocol::event::body::chat::{
    ChatMessage, ChatReaction, ConversationKind, ConversationUpdate, ReadMarker,
};
use kindred_protocol::event::body::peer_learning::{Post, Reaction, Reply, Retraction};
use kindred_protocol::event::body::profile::{NodeAnnouncement, Profile};
use kindred_protocol::event::{ConversationId, EventKind};
use kindred_protocol::{
    Audience, EventBody, EventId, EventPayload, MemberId, NodeId, NodeKeypair, References,
    Timestamp, VerifiedEvent,
};
use proptest::prelude::*;

use super::IngestContext;
use crate::store::Store;

const ORIGINS: u8 = 3;
const RECEIVERS: u8 = 3;

fn key(n: u8) -> NodeKeypair {
    NodeKeypair::from_seed(&[n + 1; 32])
}

fn member(name: &str) -> MemberId {
    name.parse()
        .unwrap_or_else(|_| unreachable!("test member ids are valid"))
}

/// The events the origins write, each origin's shared and directed streams in order.
struct Script {
    /// Per origin: its shared-log events, then its directed events, each in order.
    streams: Vec<Vec<VerifiedEvent>>,
}

impl Script {
    /// Whether origin 1's member was erased.
    fn erased(&self) -> bool {
        self.streams
            .iter()
            .flatten()
            .any(|e| matches!(e.payload().body, EventBody::Erasure(_)))
    }
}

/// What an origin may refer to when it writes.
#[derive(Default)]
struct Written {
    posts: Vec<(EventId, u8)>,
    entries: Vec<(EventId, u8)>,
    messages: Vec<(EventId, u8)>,
    time: u64,
    /// Every shared-log event written: origin, number, id, author.
    log: Vec<(u8, u64, EventId, MemberId)>,
}

fn group() -> ConversationId {
    ConversationId::from_bytes([9; 16])
}

/// Turns drawn actions into signed events. Actions that make no sense at that point (an
/// edit with nothing to edit) are skipped.
fn script(actions: &[(u8, u8, u8, u8)]) -> Script {
    let keys: Vec<NodeKeypair> = (0..ORIGINS).map(key).collect();
    let receivers: Vec<NodeId> = (0..RECEIVERS).map(|r| key(10 + r).node_id()).collect();
    let mut recipients = receivers.clone();
    recipients.extend(keys.iter().map(NodeKeypair::node_id));
    recipients.sort();
    let mut shared: Vec<Vec<VerifiedEvent>> = vec![Vec::new(); ORIGINS as usize];
    let mut directed: Vec<Vec<VerifiedEvent>> = vec![Vec::new(); ORIGINS as usize];
    let mut w = Written {
        time: 1_000_000,
        ..Written::default()
    };
    let author = |o: u8| member(&format!("@m:o{o}.test"));
    let mut sign =
        |o: u8, audience: Option<()>, refs: References, body: EventBody, w: &mut Written| {
            w.time += 1_000;
            let i = o as usize;
            let audience = match audience {
                Some(()) => Audience::Shared {
                    seq: shared[i].len() as u64 + 1,
                },
                None => Audience::Directed {
                    recipients: recipients.clone(),
                },
            };
            let is_shared = matches!(audience, Audience::Shared { .. });
            let seq = match audience {
                Audience::Shared { seq } => seq,
                _ => 0,
            };
            let payload = EventPayload {
                origin: keys[i].node_id(),
                created_at: Timestamp(w.time),
                audience,
                author: if let EventBody::NodeAnnouncement(_) = body {
                    member(&format!("@node:o{o}.test"))
                } else {
                    author(o)
                },
                refs,
                body,
            };
            let event = VerifiedEvent::sign(payload, &keys[i])
                .unwrap_or_else(|_| unreachable!("test events are within limits"));
            let id = event.id();
            if is_shared {
                w.log.push((o, seq, id, event.payload().author.clone()));
                shared[i].push(event);
            } else {
                directed[i].push(event);
            }
            id
        };
    for o in 0..ORIGINS {
        let body = EventBody::NodeAnnouncement(NodeAnnouncement {
            address: format!("https://o{o}.test"),
            organisation: format!("Org {o}"),
        });
        sign(o, Some(()), References::default(), body, &mut w);
    }
    let mut everyone: Vec<MemberId> = (0..ORIGINS).map(author).collect();
    everyone.extend((0..RECEIVERS).map(|r| member(&format!("@m:r{r}.test"))));
    everyone.sort();
    // Origin 1's member runs the group (and may be erased: the others then run it).
    let create = EventBody::ConversationUpdate(ConversationUpdate {
        conversation: group(),
        kind: ConversationKind::Group,
        name: "Circle".into(),
        members: everyone.clone(),
        admins: vec![author(1)],
    });
    sign(1, None, References::default(), create, &mut w);
    let mut erased = false;
    for &(o, op, a, b) in actions {
        let o = o % ORIGINS;
        if erased && o == 1 {
            // An erased member writes nothing more.
            continue;
        }
        if op % 12 == 11 {
            // After the erasure, a remaining member renames the group (everyone left is
            // its admin now); a node may get it before the erasure.
            if !erased {
                continue;
            }
            let rest: Vec<MemberId> = everyone
                .iter()
                .filter(|m| **m != author(1))
                .cloned()
                .collect();
            let body = EventBody::ConversationUpdate(ConversationUpdate {
                conversation: group(),
                kind: ConversationKind::Group,
                name: format!("Renamed {}", w.time),
                members: rest.clone(),
                admins: rest,
            });
            sign(o, None, References::default(), body, &mut w);
            continue;
        }
        if op % 12 == 10 {
            // Origin 1's member is erased: a tombstone for each of their shared events.
            let i = 1usize;
            let slots: Vec<_> = w
                .log
                .iter()
                .filter(|(origin, _, _, by)| *origin == 1 && *by == author(1))
                .map(
                    |(_, seq, id, _)| kindred_protocol::event::body::erasure::ErasedSlot {
                        seq: *seq,
                        id: *id,
                        signature: *kindred_protocol::SignedEvent::tombstone(
                            &keys[i],
                            *seq,
                            id,
                            &author(1),
                        )
                        .signature(),
                    },
                )
                .collect();
            let body =
                EventBody::Erasure(kindred_protocol::event::body::erasure::Erasure { slots });
            sign(1, Some(()), References::default(), body, &mut w);
            w.posts.retain(|(_, by)| *by != 1);
            w.entries.retain(|(_, by)| *by != 1);
            w.messages.retain(|(_, by)| *by != 1);
            erased = true;
            continue;
        }
        let pick = |list: &[(EventId, u8)], own: bool| -> Option<EventId> {
            let choices: Vec<EventId> = list
                .iter()
                .filter(|(_, by)| !own || *by == o)
                .map(|(id, _)| *id)
                .collect();
            (!choices.is_empty()).then(|| choices[a as usize % choices.len()])
        };
        match op % 12 {
            0 => {
                let topic = if a % 2 == 0 { "Funding" } else { "Burnout" };
                let body = EventBody::Post(Post {
                    topic: topic.into(),
                    title: format!("t{}", w.time),
                    body: "b".into(),
                    tags: vec![],
                    content_warning: None,
                });
                let id = sign(o, Some(()), References::default(), body, &mut w);
                w.posts.push((id, o));
                w.entries.push((id, o));
            }
            1 => {
                let Some(root) = pick(&w.posts, false) else {
                    continue;
                };
                let refs = References {
                    thread_root: Some(root),
                    reply_to: Some(root),
                    ..References::default()
                };
                let body = EventBody::Reply(Reply {
                    body: "r".into(),
                    content_warning: None,
                });
                let id = sign(o, Some(()), refs, body, &mut w);
                w.entries.push((id, o));
            }
            2 => {
                let Some(target) = pick(&w.entries, false) else {
                    continue;
                };
                let body = EventBody::Reaction(Reaction {
                    target,
                    reaction: ["helpful", "me-too"][b as usize % 2].into(),
                    removed: b % 3 == 0,
                });
                sign(o, Some(()), References::default(), body, &mut w);
            }
            3 => {
                let Some(post) = pick(&w.posts, true) else {
                    continue;
                };
                let refs = References {
                    replaces: Some(post),
                    ..References::default()
                };
                let body = EventBody::Post(Post {
                    topic: "Funding".into(),
                    title: format!("edit {}", w.time),
                    body: "e".into(),
                    tags: vec![],
                    content_warning: None,
                });
                sign(o, Some(()), refs, body, &mut w);
            }
            4 => {
                let Some(target) = pick(&w.entries, true) else {
                    continue;
                };
                let refs = References {
                    retracts: Some(target),
                    ..References::default()
                };
                let body = EventBody::Retraction(Retraction { reason: None });
                sign(o, Some(()), refs, body, &mut w);
            }
            5 => {
                let body = EventBody::Profile(Profile {
                    display_name: format!("P{}", w.time),
                    organisation: String::new(),
                    bio: String::new(),
                    happy_to_talk_about: String::new(),
                    listed: b % 2 == 0,
                    away: false,
                });
                sign(o, Some(()), References::default(), body, &mut w);
            }
            6 => {
                let body = EventBody::ChatMessage(ChatMessage {
                    conversation: group(),
                    body: format!("m{}", w.time),
                });
                let id = sign(o, None, References::default(), body, &mut w);
                w.messages.push((id, o));
            }
            7 => {
                let Some(target) = pick(&w.messages, false) else {
                    continue;
                };
                let body = EventBody::ChatReaction(ChatReaction {
                    conversation: group(),
                    target,
                    reaction: "thank-you".into(),
                    removed: b % 3 == 0,
                });
                sign(o, None, References::default(), body, &mut w);
            }
            8 => {
                let Some(up_to) = pick(&w.messages, false) else {
                    continue;
                };
                let body = EventBody::ReadMarker(ReadMarker {
                    conversation: group(),
                    up_to,
                });
                sign(o, None, References::default(), body, &mut w);
            }
            _ => {
                let Some(target) = pick(&w.messages, true) else {
                    continue;
                };
                let refs = if b % 2 == 0 {
                    References {
                        replaces: Some(target),
                        ..References::default()
                    }
                } else {
                    References {
                        retracts: Some(target),
                        ..References::default()
                    }
                };
                let body = EventBody::ChatMessage(ChatMessage {
                    conversation: group(),
                    body: if b % 2 == 0 {
                        "edited".into()
                    } else {
                        String::new()
                    },
                });
                sign(o, None, refs, body, &mut w);
            }
        }
    }
    let mut streams = Vec::new();
    for (s, d) in shared.into_iter().zip(directed) {
        streams.push(s);
        streams.push(d);
    }
    Script { streams }
}

/// A visible entry: its newest version, reply count and reaction counts.
type EntryShown = (Option<EventId>, u64, BTreeMap<String, u64>);

/// What members of a node see, without anything that depends on arrival order.
#[derive(Debug, PartialEq, Eq)]
struct Shown {
    entries: BTreeMap<EventId, EntryShown>,
    topics: BTreeMap<String, (u64, u64)>,
    members: Vec<MemberId>,
    admins: Vec<MemberId>,
    group_name: String,
    markers: BTreeMap<String, EventId>,
    profiles: BTreeMap<String, (String, bool)>,
}

fn shown(store: &Store, ids: &BTreeSet<EventId>) -> Shown {
    let mut entries = BTreeMap::new();
    for id in ids {
        let Some(meta) = store.event_meta(id).unwrap_or_else(|e| panic!("{e}")) else {
            continue;
        };
        // What members see: posts, replies and chat messages (reactions, edits and the
        // like show through them).
        let entry_kinds = [
            EventKind::Post.code(),
            EventKind::Reply.code(),
            EventKind::ChatMessage.code(),
        ];
        let visible = entry_kinds.contains(&meta.kind)
            && meta.retracted_by.is_none()
            && !meta.quarantined
            && !meta.held
            && meta.original.is_none();
        if !visible {
            continue;
        }
        let reactions = store
            .reactions(id, None)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|(r, (n, _))| (r, n))
            .collect();
        entries.insert(*id, (meta.latest, meta.reply_count, reactions));
    }
    let topics = store
        .all_topic_stats(|_| false)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(t, s)| (t, (s.posts, s.replies)))
        .collect();
    let conversation = store
        .conversation(&group())
        .unwrap_or_else(|e| panic!("{e}"));
    let members = conversation
        .as_ref()
        .map(|c| c.members.clone())
        .unwrap_or_default();
    let admins = conversation
        .as_ref()
        .map(|c| c.admins.clone())
        .unwrap_or_default();
    let group_name = conversation.map(|c| c.name).unwrap_or_default();
    let markers = store
        .markers(&group())
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(m, r)| (m, r.up_to))
        .collect();
    let profiles = store
        .profiles()
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(m, p)| (m, (p.display_name, p.listed)))
        .collect();
    Shown {
        entries,
        topics,
        members,
        admins,
        group_name,
        markers,
        profiles,
    }
}

/// Delivers every stream to receiver `r` in the interleaving `choices` draws, in groups
/// of 1 to 4 events, restarting (closing and reopening the store) where `restarts` says.
fn receive(r: u8, script: &Script, choices: &[u8], restarts: &[u8]) -> Shown {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("db");
    let mut store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
    let name = format!("r{r}.test");
    let mut next = vec![0usize; script.streams.len()];
    let mut step = 0usize;
    let mut now = 10_000_000_000u64;
    let mut all = BTreeSet::new();
    loop {
        let open: Vec<usize> = (0..script.streams.len())
            .filter(|s| next[*s] < script.streams[*s].len())
            .collect();
        if open.is_empty() {
            break;
        }
        let choice = choices[step % choices.len()] as usize;
        let stream = open[choice % open.len()];
        let take = 1 + choice / 64;
        let end = (next[stream] + take).min(script.streams[stream].len());
        let group = &script.streams[stream][next[stream]..end];
        next[stream] = end;
        all.extend(group.iter().map(VerifiedEvent::id));
        now += 1;
        let ctx = IngestContext {
            self_id: key(10 + r).node_id(),
            self_name: &name,
            now,
            hold_quota: 1 << 24,
            profile_quota: 1 << 20,
            skews: &std::collections::HashMap::new(),
        };
        store.ingest(group, &ctx).unwrap_or_else(|e| panic!("{e}"));
        if restarts.contains(&(step as u8)) {
            store.flush_now().unwrap_or_else(|e| panic!("{e}"));
            drop(store);
            store = reopen(&path);
        }
        step += 1;
    }
    assert!(
        store.nothing_held(),
        "everything awaited has arrived, so nothing is left waiting"
    );
    shown(&store, &all)
}

/// Opens the database again after a "restart" in this process. sled lets go of a
/// dropped database from its own threads a moment later, and one CI run in thousands of
/// cases saw the reopen fail then ("database error"): a few tries, then the error.
fn reopen(path: &std::path::Path) -> Store {
    let mut last = None;
    for _ in 0..20 {
        match Store::open(path) {
            Ok(store) => return store,
            Err(e) => {
                last = Some(e);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
    panic!("reopening {} failed: {last:?}", path.display())
}

proptest! {
    // Each case opens a few real databases: 256 cases locally (about 15 s in a debug
    // build); CI's PROPTEST_CASES (2048) overrides it.
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_node_shows_the_same_whatever_the_order(
        actions in proptest::collection::vec(any::<(u8, u8, u8, u8)>(), 0..40),
        orders in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..64), RECEIVERS as usize),
        restarts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3), RECEIVERS as usize),
    ) {
        let script = script(&actions);
        // A read position on a message of the erased member depends on whether the message
        // came before a change that left its author out of the group (the documented
        // limit: a message from someone removed at the same moment): a node that refused
        // the message keeps the reader's earlier position. The message itself is gone
        // everywhere, so the positions of readers whose newest marker is on it are not
        // compared.
        let theirs: BTreeSet<EventId> = script
            .streams
            .iter()
            .flatten()
            .filter(|e| script.erased() && e.payload().author == member("@m:o1.test"))
            .map(VerifiedEvent::id)
            .collect();
        let mut newest_marker = BTreeMap::new();
        for e in script.streams.iter().flatten() {
            if let EventBody::ReadMarker(m) = &e.payload().body {
                // Each origin signs in time order, so its last marker is its newest.
                newest_marker.insert(e.payload().author.as_str().to_owned(), m.up_to);
            }
        }
        let comparable = |mut shown: Shown| {
            shown.markers.retain(|reader, up_to| {
                !theirs.contains(up_to)
                    && !newest_marker.get(reader).is_some_and(|n| theirs.contains(n))
            });
            shown
        };
        let first = comparable(receive(0, &script, &orders[0], &restarts[0]));
        if script.erased() {
            let gone = member("@m:o1.test");
            prop_assert!(!first.members.contains(&gone), "an erased member left the group");
            prop_assert!(!first.profiles.contains_key(gone.as_str()));
            prop_assert!(!first.markers.keys().any(|m| m == gone.as_str()));
            prop_assert!(first.entries.keys().all(|id| !theirs.contains(id)));
        }
        for r in 1..RECEIVERS {
            let other = comparable(receive(r, &script, &orders[r as usize], &restarts[r as usize]));
            prop_assert_eq!(&first, &other);
        }
    }
}
