//! Private conversations no other node can enter, groups a remote member cannot take over
//! or freeze, and a node that cannot fill another's disk; tried as a hostile node would
//! (the raw peer plays it).
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::*;
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::{ChatMessage, ConversationKind, ConversationUpdate};
use kindred_protocol::peer::ErrorCode;
use kindred_protocol::{EventBody, MemberId, References, SignedEvent, Timestamp};
use kindred_tests::raw_peer::{RawPeer, to};
use kindred_tests::{TestNode, eventually, pair};

use super::trust_support::{hostile_via, id};

fn update(
    h: &RawPeer,
    target: kindred_protocol::NodeId,
    c: ConversationId,
    members: &[&str],
    admins: &[&str],
    at: Timestamp,
) -> SignedEvent {
    h.sign_at(
        to(target),
        &h.member("eve"),
        References::default(),
        EventBody::ConversationUpdate(ConversationUpdate {
            conversation: c,
            kind: ConversationKind::Group,
            name: "Circle".into(),
            members: members.iter().map(|m| id(m)).collect(),
            admins: admins.iter().map(|m| id(m)).collect(),
        }),
        at,
    )
}

fn message(
    h: &RawPeer,
    target: kindred_protocol::NodeId,
    author: &MemberId,
    c: ConversationId,
    body: &str,
) -> SignedEvent {
    h.sign(
        to(target),
        author,
        References::default(),
        EventBody::ChatMessage(ChatMessage {
            conversation: c,
            body: body.into(),
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_other_node_can_enter_a_private_conversation() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("hub.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_b, &admin_a).await;
    let a_id = admin_a.health().await.unwrap().node_id;
    let ann = a.member(&admin_a, "ann").await;
    let bob = a.member(&admin_a, "bob").await;
    let carol = a.member(&admin_a, "carol").await;
    let _h = hostile_via(&b, &admin_b, 93).await;
    eventually(20, || async {
        (!admin_a.people(Some("Hana")).await.ok()?.is_empty()).then_some(())
    })
    .await;
    let (ann_id, bob_id, carol_id) = (id("@ann:a.test"), id("@bob:a.test"), id("@carol:a.test"));
    let direct = ConversationId::direct(&ann_id, &bob_id);

    // (a) Known only through the hub, it creates ahead of time the conversation Ann and
    // Bob will have, with its own member in it: refused, and the link closed.
    let mut h = RawPeer::directed_only(&a.url(), 93, "h.test")
        .await
        .unwrap();
    let hana = h.member("hana");
    let ahead = h.sign(
        to(a_id),
        &hana,
        References::default(),
        EventBody::ConversationUpdate(ConversationUpdate {
            conversation: direct,
            kind: ConversationKind::Direct,
            name: String::new(),
            members: vec![ann_id.clone(), bob_id.clone(), hana.clone()],
            admins: vec![ann_id.clone(), bob_id.clone(), hana.clone()],
        }),
    );
    assert_eq!(h.deliver(ahead).await, Err(ErrorCode::UNKNOWN_PEER.0));

    // (b) A message for a conversation that does not exist yet waits, and is refused
    // once Ann and Carol start theirs: the hostile node's member is not in it.
    let ann_carol = ConversationId::direct(&ann_id, &carol_id);
    let mut h = RawPeer::directed_only(&a.url(), 93, "h.test")
        .await
        .unwrap();
    assert_eq!(
        h.deliver(message(&h, a_id, &hana, ann_carol, "planted"))
            .await,
        Ok(())
    );
    // (c) Writing as Ann is refused outright.
    assert_eq!(
        h.deliver(message(&h, a_id, &ann_id, direct, "as Ann"))
            .await,
        Err(ErrorCode::UNKNOWN_PEER.0)
    );

    // (d) A group squatting on Ann and Bob's one-to-one id, with Ann in it: it may be
    // stored, but their one-to-one conversation takes the id back.
    let mut h = RawPeer::directed_only(&a.url(), 93, "h.test")
        .await
        .unwrap();
    let squat = h.sign(
        to(a_id),
        &hana,
        References::default(),
        EventBody::ConversationUpdate(ConversationUpdate {
            conversation: direct,
            kind: ConversationKind::Group,
            name: "Ann and Bob".into(),
            members: vec![ann_id.clone(), hana.clone()],
            admins: vec![hana.clone()],
        }),
    );
    assert_eq!(h.deliver(squat).await, Ok(()));
    let planted = message(&h, a_id, &hana, direct, "this is Bob, honestly");
    assert_eq!(h.deliver(planted).await, Ok(()));

    ann.send_message(&bob_id, "Hi Bob").await.unwrap();
    ann.send_message(&carol_id, "Hi Carol").await.unwrap();
    for (reader, with, expected) in [(&bob, &ann_id, "Hi Bob"), (&carol, &ann_id, "Hi Carol")] {
        let seen = reader.messages(with).await.unwrap();
        let bodies: Vec<&str> = seen.iter().map(|m| m.body.as_str()).collect();
        assert_eq!(bodies, vec![expected]);
        let c = reader.conversation(&seen[0].conversation).await.unwrap();
        let members: Vec<String> = c.members.iter().map(|m| m.member.to_string()).collect();
        assert_eq!(members.len(), 2, "{members:?}");
        assert!(
            !members.iter().any(|m| m.ends_with(":h.test")),
            "{members:?}"
        );
        assert_eq!(c.kind, ConversationKind::Direct);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_remote_member_cannot_take_over_or_freeze_a_group() {
    let a = TestNode::named("a.test").await;
    let admin_a = a.admin().await;
    let a_id = admin_a.health().await.unwrap().node_id;
    let ann = a.member(&admin_a, "ann").await;
    let bob = a.member(&admin_a, "bob").await;
    let invite = admin_a.create_peer_invite().await.unwrap();
    let mut h = RawPeer::paired(&a.url(), &invite.token, 94, "h.test")
        .await
        .unwrap();
    assert!(
        h.replicate(1, vec![h.announcement(1, "http://127.0.0.1:9")])
            .await
    );
    let group = ann
        .create_conversation(&CreateConversation {
            members: vec![id("@bob:a.test"), id("@eve:h.test")],
            name: Some("Circle".into()),
        })
        .await
        .unwrap();
    let c = group.id;
    // The hostile node is told of the group (it is one of its nodes).
    let told = h.next_directed().await.unwrap();
    assert_eq!(told.origin().unwrap(), a_id);
    let all = ["@ann:a.test", "@bob:a.test", "@eve:h.test"];
    let now = Timestamp::now();
    let year = Timestamp(now.0 + 365 * 24 * 3_600_000);
    let attacks = [
        // Leaves while naming itself sole admin.
        update(
            &h,
            a_id,
            c,
            &["@ann:a.test", "@bob:a.test"],
            &["@eve:h.test"],
            now,
        ),
        // Makes itself admin.
        update(&h, a_id, c, &all, &["@eve:h.test"], now),
        // Removes the real admin.
        update(
            &h,
            a_id,
            c,
            &["@bob:a.test", "@eve:h.test"],
            &["@ann:a.test"],
            now,
        ),
    ];
    for attack in attacks {
        h.deliver(attack).await.unwrap();
    }
    let view = ann.conversation(&c).await.unwrap();
    assert_eq!(view.admins, vec![id("@ann:a.test")]);
    assert_eq!(view.members.len(), 3);

    // A leave dated a year ahead counts as made when it arrived: Ann can add Eve back
    // and remove her again, and Bob can leave; each answer says what happened.
    let leave = update(
        &h,
        a_id,
        c,
        &["@ann:a.test", "@bob:a.test"],
        &["@ann:a.test"],
        year,
    );
    h.deliver(leave).await.unwrap();
    let view = ann.conversation(&c).await.unwrap();
    assert_eq!(view.members.len(), 2);
    let view = ann
        .add_participant(&c, &id("@eve:h.test"), false)
        .await
        .unwrap();
    assert!(view.members.iter().any(|m| m.member == id("@eve:h.test")));
    ann.remove_participant(&c, &id("@eve:h.test"))
        .await
        .unwrap();
    let view = ann.conversation(&c).await.unwrap();
    assert!(
        !view.members.iter().any(|m| m.member == id("@eve:h.test")),
        "{view:?}"
    );
    bob.remove_participant(&c, &id("@bob:a.test"))
        .await
        .unwrap();
    assert!(bob.conversation(&c).await.is_err());
    let view = ann.conversation(&c).await.unwrap();
    assert_eq!(view.members.len(), 1, "{view:?}");
    // A member who is not an admin is told no rather than shown success.
    let err = bob
        .remove_participant(&c, &id("@ann:a.test"))
        .await
        .unwrap_err();
    assert!(err.code().is_some(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_cannot_fill_another_nodes_disk() {
    let a = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.federation.hold_bytes_per_node = 20_000;
    })
    .await;
    let b = TestNode::named("hub.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_b, &admin_a).await;
    let a_id = admin_a.health().await.unwrap().node_id;
    let ann = a.member(&admin_a, "ann").await;
    let _h = hostile_via(&b, &admin_b, 95).await;
    eventually(20, || async {
        (!admin_a.people(Some("Hana")).await.ok()?.is_empty()).then_some(())
    })
    .await;

    // Unknown kinds of 61 KB from a node no member here talks to: refused, link closed.
    for round in 0..3u8 {
        let mut h = RawPeer::directed_only(&a.url(), 95, "h.test")
            .await
            .unwrap();
        let mut bytes = vec![b'U'; 60 * 1024 - 256];
        bytes[..12].copy_from_slice(format!("UNKNOWN-{round:03}-").as_bytes());
        let flood = h.sign(
            to(a_id),
            &h.member("hana"),
            References::default(),
            EventBody::Unknown { kind: 999, bytes },
        );
        assert_eq!(h.deliver(flood).await, Err(ErrorCode::UNKNOWN_PEER.0));
    }

    // Once Ann talks to Hana, messages for conversations that do not exist wait, but only
    // up to the node's quota; the rest are refused.
    ann.send_message(&id("@hana:h.test"), "Hello Hana")
        .await
        .unwrap();
    let mut h = RawPeer::directed_only(&a.url(), 95, "h.test")
        .await
        .unwrap();
    // Ann's message reaches the hostile node on this link (it has something to deliver).
    assert!(h.next_directed().await.is_some());
    for n in 0..8u8 {
        let body = format!("HELD-{n}-{}", "x".repeat(7_900));
        let c = ConversationId::from_bytes([n + 1; 16]);
        let m = message(&h, a_id, &h.member("hana"), c, &body);
        h.deliver(m).await.unwrap();
    }
    drop(h);
    let mut a = a;
    a.stop().await;
    assert!(!a.stored_anywhere(b"UNKNOWN-000-"));
    assert!(a.stored_anywhere(b"HELD-0-"));
    assert!(!a.stored_anywhere(b"HELD-7-"));
}
