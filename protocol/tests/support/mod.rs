//! Proptest strategies for every event kind, payload and frame.
#![allow(dead_code, unreachable_pub)]

use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::{
    ChatMessage, ChatReaction, ConversationKind, ConversationUpdate, ReadMarker,
};
use kindred_protocol::event::body::mentoring::*;
use kindred_protocol::event::body::moderation::{ModerationAction, ModerationDecision};
use kindred_protocol::event::body::peer_learning::{Post, Reaction, Reply, Retraction};
use kindred_protocol::event::body::profile::{NodeAnnouncement, Profile};
use kindred_protocol::peer::{ErrorCode, HaveEntry, Hello, Nonce, PeerFrame, Proof};
use kindred_protocol::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

pub fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("\\PC{{0,{}}}", max.min(40)))
        .expect("valid regex")
        .prop_filter("within byte limit", move |s| s.len() <= max)
}

pub fn list(max_items: usize, max_bytes: usize) -> impl Strategy<Value = Vec<String>> {
    vec(text(max_bytes), 0..max_items.min(5))
}

pub fn event_id() -> impl Strategy<Value = EventId> {
    any::<[u8; 32]>().prop_map(EventId::from_bytes)
}

pub fn node_id() -> impl Strategy<Value = NodeId> {
    any::<[u8; 32]>().prop_map(NodeId::from_bytes)
}

pub fn node_name() -> impl Strategy<Value = NodeName> {
    "[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}"
        .prop_map(|s| NodeName::new(s).expect("strategy makes valid names"))
}

pub fn member_id() -> impl Strategy<Value = MemberId> {
    ("[a-z0-9][a-z0-9._-]{0,20}", node_name())
        .prop_map(|(l, n)| MemberId::new(&l, &n).expect("strategy makes valid ids"))
}

fn mode() -> impl Strategy<Value = Mode> {
    proptest::sample::select(Mode::ALL)
}

fn availability() -> impl Strategy<Value = Availability> {
    (any::<u16>(), 0u8..128).prop_map(|(hours_per_month, days)| Availability {
        hours_per_month,
        days,
    })
}

fn post() -> impl Strategy<Value = Post> {
    (
        text(80),
        text(300),
        text(2000),
        list(10, 40),
        option::of(text(200)),
    )
        .prop_map(|(topic, title, body, tags, content_warning)| Post {
            topic,
            title,
            body,
            tags,
            content_warning,
        })
}

fn offer() -> impl Strategy<Value = MentorOffer> {
    (
        proptest::sample::select(OfferStatus::ALL),
        list(32, 100),
        text(200),
        list(32, 100),
        list(32, 100),
        text(100),
        mode(),
        availability(),
        any::<(u16, u16)>(),
        text(200),
        any::<bool>(),
    )
        .prop_map(
            |(status, topics, other_topics, lived, languages, region, mode, av, cap, bio, pref)| {
                MentorOffer {
                    status,
                    topics,
                    other_topics,
                    lived_experience: lived,
                    languages,
                    region,
                    mode,
                    availability: av,
                    capacity: cap.0,
                    places_left: cap.1,
                    bio,
                    prefers_other_orgs: pref,
                }
            },
        )
}

fn request() -> impl Strategy<Value = BuddyRequest> {
    (
        list(32, 100),
        text(200),
        list(32, 100),
        text(100),
        mode(),
        availability(),
        list(32, 100),
        vec((text(100), 0u8..=100), 0..4),
        any::<bool>(),
    )
        .prop_map(
            |(topics, goals, languages, region, mode, availability, must, nice, other)| {
                BuddyRequest {
                    topics,
                    goals,
                    languages,
                    region,
                    mode,
                    availability,
                    must,
                    nice_to_have: nice
                        .into_iter()
                        .map(|(criterion, weight)| Weighted { criterion, weight })
                        .collect(),
                    wants_other_org: other,
                }
            },
        )
}

/// Any shared-log body with references that satisfy its kind's rules.
pub fn shared_body() -> impl Strategy<Value = (EventBody, References)> {
    let refs = (option::of(event_id()), option::of(event_id()));
    prop_oneof![
        (post(), option::of(event_id())).prop_map(|(p, replaces)| (
            EventBody::Post(p),
            References {
                replaces,
                ..Default::default()
            }
        )),
        (text(2000), option::of(text(200)), event_id(), event_id()).prop_map(
            |(body, content_warning, root, parent)| (
                EventBody::Reply(Reply {
                    body,
                    content_warning
                }),
                References {
                    thread_root: Some(root),
                    reply_to: Some(parent),
                    ..Default::default()
                }
            )
        ),
        (event_id(), text(32), any::<bool>(), refs).prop_map(|(target, reaction, removed, r)| (
            EventBody::Reaction(Reaction {
                target,
                reaction,
                removed
            }),
            References {
                thread_root: r.0,
                reply_to: r.1,
                ..Default::default()
            }
        )),
        (option::of(text(500)), event_id()).prop_map(|(reason, id)| (
            EventBody::Retraction(Retraction { reason }),
            References {
                retracts: Some(id),
                ..Default::default()
            }
        )),
        (
            text(100),
            text(100),
            text(500),
            text(500),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(
                |(display_name, organisation, bio, happy_to_talk_about, listed, away)| (
                    EventBody::Profile(Profile {
                        display_name,
                        organisation,
                        bio,
                        happy_to_talk_about,
                        listed,
                        away
                    }),
                    References::default()
                )
            ),
        offer().prop_map(|o| (EventBody::MentorOffer(o), References::default())),
        (text(300), text(100)).prop_map(|(address, organisation)| (
            EventBody::NodeAnnouncement(NodeAnnouncement {
                address,
                organisation
            }),
            References::default()
        )),
        (
            event_id(),
            proptest::sample::select(ModerationAction::ALL),
            option::of(text(300))
        )
            .prop_map(|(target, action, reason)| (
                EventBody::ModerationDecision(ModerationDecision {
                    target,
                    action,
                    reason
                }),
                References::default()
            )),
        // Kinds this version does not define (new ones are added over time, so ask).
        (
            any::<u16>().prop_filter("an undefined kind", |k| {
                kindred_protocol::event::EventKind::from_code(*k).is_none()
            }),
            vec(any::<u8>(), 0..200)
        )
            .prop_map(|(kind, bytes)| (EventBody::Unknown { kind, bytes }, References::default())),
    ]
}

/// Any directed body.
pub fn directed_body() -> impl Strategy<Value = (EventBody, References)> {
    prop_oneof![
        (text(100), text(100), any::<bool>()).prop_map(|(display_name, organisation, listed)| (
            EventBody::Profile(Profile {
                display_name,
                organisation,
                bio: String::new(),
                happy_to_talk_about: String::new(),
                listed,
                away: false
            }),
            References::default()
        )),
        request().prop_map(|r| (EventBody::BuddyRequest(r), References::default())),
        (
            event_id(),
            member_id(),
            text(500),
            option::of((
                proptest::collection::vec(text(30), 0..4),
                proptest::collection::vec(text(30), 0..4),
                mode()
            ))
        )
            .prop_map(|(offer, mentor, note, asked)| (
                EventBody::MatchProposal(MatchProposal {
                    offer,
                    mentor,
                    note,
                    asked: asked.map(|(topics, languages, mode)| Asked {
                        topics,
                        languages,
                        mode
                    }),
                }),
                References::default()
            )),
        (
            event_id(),
            proptest::sample::select(Answer::ALL),
            option::of(text(200))
        )
            .prop_map(|(proposal, answer, message)| (
                EventBody::MatchAnswer(MatchAnswer {
                    proposal,
                    answer,
                    message
                }),
                References::default()
            )),
        (
            any::<[u8; 16]>(),
            text(2000),
            option::of(event_id()),
            option::of(event_id())
        )
            .prop_map(|(c, body, reply_to, replaces)| (
                EventBody::ChatMessage(ChatMessage {
                    conversation: ConversationId::from_bytes(c),
                    body
                }),
                References {
                    reply_to,
                    replaces,
                    ..Default::default()
                }
            )),
        (
            event_id(),
            1u8..=4,
            option::of(proptest::sample::select(Fit::ALL)),
            option::of(text(200))
        )
            .prop_map(|(proposal, pulse, fit, note)| (
                EventBody::CheckIn(CheckIn {
                    proposal,
                    pulse,
                    fit,
                    note
                }),
                References::default()
            )),
        (
            any::<[u8; 16]>(),
            proptest::sample::select(ConversationKind::ALL),
            text(100),
            vec(member_id(), 0..5),
            vec(member_id(), 0..2)
        )
            .prop_map(|(c, kind, name, members, admins)| (
                EventBody::ConversationUpdate(ConversationUpdate {
                    conversation: ConversationId::from_bytes(c),
                    kind,
                    name,
                    members,
                    admins
                }),
                References::default()
            )),
        (any::<[u8; 16]>(), event_id(), text(32), any::<bool>()).prop_map(
            |(c, target, reaction, removed)| (
                EventBody::ChatReaction(ChatReaction {
                    conversation: ConversationId::from_bytes(c),
                    target,
                    reaction,
                    removed
                }),
                References::default()
            )
        ),
        (
            event_id(),
            option::of((text(200), any::<u16>(), any::<u64>())),
            option::of((text(200), 0u8..=5)),
            option::of(event_id())
        )
            .prop_map(|(proposal, agreement, closing, confirms)| (
                EventBody::MatchUpdate(MatchUpdate {
                    proposal,
                    agreement: agreement.map(|(goals, rhythm_days, ends_at)| Agreement {
                        goals,
                        rhythm_days,
                        ends_at
                    }),
                    closing: closing.map(|(reason, rating)| Closing { reason, rating }),
                    confirms,
                }),
                References::default()
            )),
        (any::<[u8; 16]>(), event_id()).prop_map(|(c, up_to)| (
            EventBody::ReadMarker(ReadMarker {
                conversation: ConversationId::from_bytes(c),
                up_to
            }),
            References::default()
        )),
    ]
}

/// A payload of any kind, from origin `origin`.
pub fn payload_from(origin: NodeId) -> impl Strategy<Value = EventPayload> {
    let shared = (
        prop_oneof![
            (1u64..).prop_map(|seq| Audience::Shared { seq }),
            Just(Audience::Local)
        ],
        shared_body(),
    )
        .prop_map(|(audience, (body, refs))| (audience, body, refs));
    let directed = (vec(node_id(), 1..5), directed_body()).prop_map(|(mut r, (body, refs))| {
        r.sort();
        r.dedup();
        (Audience::Directed { recipients: r }, body, refs)
    });
    (prop_oneof![shared, directed], member_id(), any::<u64>()).prop_map(
        move |((audience, body, refs), author, created_at)| EventPayload {
            origin,
            created_at: Timestamp(created_at),
            audience,
            author,
            refs,
            body,
        },
    )
}

pub fn payload() -> impl Strategy<Value = EventPayload> {
    node_id().prop_flat_map(payload_from)
}

pub fn signed_event() -> impl Strategy<Value = SignedEvent> {
    (
        any::<[u8; 32]>(),
        vec(any::<u8>(), 0..300),
        any::<[u8; 32]>(),
        any::<[u8; 32]>(),
    )
        .prop_map(|(_, payload, s1, s2)| {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&s1);
            sig[32..].copy_from_slice(&s2);
            SignedEvent::from_parts(payload, sig)
        })
}

pub fn hello() -> impl Strategy<Value = Hello> {
    (
        any::<u16>(),
        node_id(),
        node_name(),
        any::<[u8; 32]>(),
        any::<u64>(),
    )
        .prop_map(|(v, id, name, n, t)| Hello {
            protocol_version: v,
            node_id: id,
            node_name: name,
            nonce: Nonce::from_bytes(n),
            time: kindred_protocol::Timestamp(t),
        })
}

pub fn frame() -> impl Strategy<Value = PeerFrame> {
    prop_oneof![
        hello().prop_map(PeerFrame::Hello),
        (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(a, b)| {
            let mut sig = [0u8; 64];
            sig[..32].copy_from_slice(&a);
            sig[32..].copy_from_slice(&b);
            PeerFrame::Proof(Proof(sig))
        }),
        vec((node_id(), any::<u64>(), any::<[u8; 32]>()), 0..20).prop_map(|v| {
            PeerFrame::HaveVector(
                v.into_iter()
                    .map(|(origin, seq, head)| HaveEntry {
                        origin,
                        seq,
                        head: kindred_protocol::EventId::from_bytes(head),
                    })
                    .collect(),
            )
        }),
        (any::<u64>(), vec(signed_event(), 0..8))
            .prop_map(|(batch, events)| PeerFrame::EventBatch { batch, events }),
        any::<u64>().prop_map(|batch| PeerFrame::BatchAck { batch }),
        signed_event().prop_map(PeerFrame::Directed),
        event_id().prop_map(PeerFrame::DirectedAck),
        (any::<u16>(), text(1000)).prop_map(|(c, message)| PeerFrame::Error {
            code: ErrorCode(c),
            message
        }),
        any::<u64>().prop_map(PeerFrame::Ping),
        any::<u64>().prop_map(PeerFrame::Pong),
        (any::<[u8; 32]>(), text(300))
            .prop_map(|(secret, address)| PeerFrame::Pair { secret, address }),
        Just(PeerFrame::Paired),
    ]
}
