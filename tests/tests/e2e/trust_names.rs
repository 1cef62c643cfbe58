//! Federation you can trust, tried as a hostile node would (the raw peer plays it): one
//! name per node, private conversations no other node can enter, groups a member cannot
//! take over or freeze, and a node that cannot fill another's disk.
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::api::*;
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::{ChatMessage, ConversationKind, ConversationUpdate};
use kindred_protocol::event::body::peer_learning::Post;
use kindred_protocol::event::body::profile::Profile;
use kindred_protocol::peer::{ErrorCode, PeerFrame};
use kindred_protocol::{Audience, EventBody, MemberId, References, SignedEvent, Timestamp};
use kindred_tests::raw_peer::{RawPeer, invite_secret, to};
use kindred_tests::{TestNode, eventually, pair};

async fn topic(admin: &Client, name: &str) {
    admin
        .create_topic(&CreateTopic {
            name: name.into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
}

fn post_body(title: &str) -> EventBody {
    EventBody::Post(Post {
        topic: "Funding".into(),
        title: title.into(),
        body: format!("Body of {title}"),
        tags: vec![],
        content_warning: None,
    })
}

fn profile(name: &str) -> EventBody {
    EventBody::Profile(Profile {
        display_name: name.into(),
        organisation: "Hostile".into(),
        bio: String::new(),
        happy_to_talk_about: "funding".into(),
        listed: true,
    })
}

async fn titles(client: &Client) -> Vec<String> {
    match client.topic_posts("Funding", None, Some(100)).await {
        Ok(page) => page.items.into_iter().filter_map(|p| p.title).collect(),
        Err(_) => Vec::new(),
    }
}

fn id(text: &str) -> MemberId {
    text.parse().unwrap()
}

/// A hostile node `h.test` paired with `hub`'s node: announces itself and lists a member,
/// so every node of the federation binds `h.test` to it.
async fn hostile_via(hub: &TestNode, admin_hub: &Client, seed: u8) -> RawPeer {
    let invite = admin_hub.create_peer_invite().await.unwrap();
    let mut h = RawPeer::paired(&hub.url(), &invite.token, seed, "h.test")
        .await
        .unwrap();
    let hana = h.member("hana");
    let events = vec![
        h.announcement(1, "http://127.0.0.1:9"),
        h.sign(
            Audience::Shared { seq: 2 },
            &hana,
            References::default(),
            profile("Hana"),
        ),
    ];
    assert!(h.replicate(1, events).await);
    h
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_cannot_take_over_another_nodes_name() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("hub.test").await;
    let c = TestNode::named("c.test").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    for admin in [&admin_a, &admin_b, &admin_c] {
        topic(admin, "Funding").await;
    }
    pair(&admin_b, &admin_a).await;
    pair(&admin_b, &admin_c).await;
    let sam = a.member(&admin_a, "sam").await;
    sam.create_post(
        "Funding",
        &NewPost {
            title: "Sam's real post".into(),
            body: "x".into(),
            tags: vec![],
            content_warning: None,
        },
    )
    .await
    .unwrap();
    eventually(20, || async {
        titles(&admin_c)
            .await
            .contains(&"Sam's real post".to_owned())
            .then_some(())
    })
    .await;

    // Paired with the hub under its own name, it writes as A's node and as A's member,
    // publishes a profile for that member, then posts something of its own.
    let invite = admin_b.create_peer_invite().await.unwrap();
    let mut h = RawPeer::paired(&b.url(), &invite.token, 91, "h.test")
        .await
        .unwrap();
    let a_node = id("@node:a.test");
    let a_sam = id("@sam:a.test");
    let events = vec![
        h.announcement(1, "http://127.0.0.1:9"),
        h.sign(
            Audience::Shared { seq: 2 },
            &a_node,
            References::default(),
            post_body("Forged by node"),
        ),
        h.sign(
            Audience::Shared { seq: 3 },
            &a_sam,
            References::default(),
            post_body("Forged as Sam"),
        ),
        h.sign(
            Audience::Shared { seq: 4 },
            &a_sam,
            References::default(),
            profile("Forged Sam"),
        ),
        h.sign(
            Audience::Shared { seq: 5 },
            &h.member("hana"),
            References::default(),
            post_body("Hana's own post"),
        ),
    ];
    assert!(h.replicate(1, events).await);
    // Once each node has the hostile node's own post, it has had the forgeries too.
    for admin in [&admin_a, &admin_b, &admin_c] {
        eventually(20, || async {
            titles(admin)
                .await
                .contains(&"Hana's own post".to_owned())
                .then_some(())
        })
        .await;
        let seen = titles(admin).await;
        assert!(!seen.iter().any(|t| t.starts_with("Forged")), "{seen:?}");
        let people = admin.people(Some("Forged")).await.unwrap();
        assert!(people.is_empty(), "{people:?}");
        let sams = admin
            .member_posts("@sam:a.test", None, Some(50))
            .await
            .unwrap();
        assert!(
            sams.items
                .iter()
                .all(|p| p.title.as_deref() == Some("Sam's real post")),
            "{:?}",
            sams.items
        );
    }
    // The hub's admin is told which node claimed a name that is not its own.
    let warnings = admin_b.federation_warnings().await.unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.kind == WarningKind::NameClaim && w.node_id == h.node_id()),
        "{warnings:?}"
    );
    // A message from C to A's member goes to A.
    let carol = c.member(&admin_c, "carol").await;
    carol.send_message(&a_sam, "Hello Sam").await.unwrap();
    eventually(20, || async {
        let from_carol = sam.messages(&id("@carol:c.test")).await.ok()?;
        (from_carol.len() == 1).then_some(())
    })
    .await;

    // A node whose hello claims A's name cannot pair with the hub.
    let invite = admin_b.create_peer_invite().await.unwrap();
    let mut impostor = RawPeer::connect(&b.url(), 92, "a.test").await.unwrap();
    impostor.handshake().await.unwrap();
    impostor
        .send(&PeerFrame::Pair {
            secret: invite_secret(&invite.token).unwrap(),
            address: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(impostor.refusal().await, Some(ErrorCode::BAD_INVITE.0));
    // Nor can a paired node come back under another name.
    let mut renamed = RawPeer::connect(&b.url(), 91, "a.test").await.unwrap();
    renamed.handshake().await.unwrap();
    assert_eq!(renamed.refusal().await, Some(ErrorCode::HANDSHAKE_FAILED.0));
    let peers = admin_b.peers().await.unwrap();
    assert_eq!(
        peers.iter().filter(|p| p.name.as_str() == "a.test").count(),
        1,
        "{peers:?}"
    );
}

/// A conversation update signed by the hostile node, authored by its member Eve.
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pairing_settles_a_name_another_node_announced_first() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("hub.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_b, &admin_a).await;
    // A squatter paired with the hub announces d.test before the real d.test joins.
    let invite = admin_b.create_peer_invite().await.unwrap();
    let mut squatter = RawPeer::paired(&b.url(), &invite.token, 120, "d.test")
        .await
        .unwrap();
    let fake = vec![
        squatter.announcement(1, "http://127.0.0.1:9"),
        squatter.sign(
            Audience::Shared { seq: 2 },
            &squatter.member("dave"),
            References::default(),
            profile("Fake Dave"),
        ),
    ];
    assert!(squatter.replicate(1, fake).await);
    eventually(20, || async {
        (!admin_a.people(Some("Fake Dave")).await.ok()?.is_empty()).then_some(())
    })
    .await;

    // The real d.test pairs with A: A's admin has it first-hand, so it gets the name.
    let d = TestNode::named("d.test").await;
    let admin_d = d.admin().await;
    let dave = d.member(&admin_d, "dave").await;
    dave.update_me(&UpdateMe {
        display_name: Some("Real Dave".into()),
        listed: Some(true),
        happy_to_talk_about: Some("funding".into()),
        ..UpdateMe::default()
    })
    .await
    .unwrap();
    pair(&admin_a, &admin_d).await;
    let ann = a.member(&admin_a, "ann").await;
    ann.send_message(&id("@dave:d.test"), "Hello, real Dave")
        .await
        .unwrap();
    eventually(20, || async {
        let from_ann = dave.messages(&id("@ann:a.test")).await.ok()?;
        (from_ann.len() == 1).then_some(())
    })
    .await;
    eventually(20, || async {
        let people = admin_a.people(Some("Dave")).await.ok()?;
        (people.len() == 1 && people[0].display_name == "Real Dave").then_some(())
    })
    .await;

    // An organisation that lost its node's key pairs again under its name once the admin
    // has blocked the old node.
    let old_d = admin_d.health().await.unwrap().node_id;
    let d2 = TestNode::named("d.test").await;
    let admin_d2 = d2.admin().await;
    let invite = admin_a.create_peer_invite().await.unwrap();
    assert!(admin_d2.add_peer(&invite.token).await.is_err());
    admin_a.block_peer(&old_d).await.unwrap();
    let invite = admin_a.create_peer_invite().await.unwrap();
    admin_d2.add_peer(&invite.token).await.unwrap();
}

/// Counts connections made to a local port (a service an announcement points at).
async fn watched_port() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((_socket, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (port, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn announced_addresses_are_dialled_only_when_safe_and_needed() {
    use std::sync::atomic::Ordering;
    // The hub is paired with the announcing nodes, so it may dial them where they say;
    // here it keeps to public addresses, so only the others' dialling is seen.
    let b = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("hub.test").unwrap();
        c.federation.dial_private_addresses = Some(false);
    })
    .await;
    let admin_b = b.admin().await;
    // A is on the public internet as far as it knows: announced loopback addresses are
    // not for it to dial. A2 is a trial on one machine: it may dial them.
    let a = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.federation.dial_private_addresses = Some(false);
    })
    .await;
    let a2 = TestNode::named("a2.test").await;
    let (admin_a, admin_a2) = (a.admin().await, a2.admin().await);
    pair(&admin_b, &admin_a).await;
    pair(&admin_b, &admin_a2).await;
    let (port, connections) = watched_port().await;
    for (seed, name, address) in [
        (130u8, "h.test", format!("http://127.0.0.1:{port}")),
        (131, "j.test", "javascript:alert(1)".to_owned()),
    ] {
        let invite = admin_b.create_peer_invite().await.unwrap();
        let mut raw = RawPeer::paired(&b.url(), &invite.token, seed, name)
            .await
            .unwrap();
        let events = vec![
            raw.announcement(1, &address),
            raw.sign(
                Audience::Shared { seq: 2 },
                &raw.member("hana"),
                References::default(),
                profile(&format!("Hana of {name}")),
            ),
        ];
        assert!(raw.replicate(1, events).await);
    }
    for admin in [&admin_a, &admin_a2] {
        eventually(20, || async {
            (admin.people(Some("Hana")).await.ok()?.len() == 2).then_some(())
        })
        .await;
    }
    let quiet = || async {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        connections.load(Ordering::SeqCst)
    };
    // Nothing to deliver: nobody dials the announced address.
    assert_eq!(quiet().await, 0);
    // Something to deliver: A still does not (a loopback address), nor anyone a
    // javascript: one.
    let ann = a.member(&admin_a, "ann").await;
    ann.send_message(&id("@hana:h.test"), "Hello")
        .await
        .unwrap();
    ann.send_message(&id("@hana:j.test"), "Hello")
        .await
        .unwrap();
    assert_eq!(quiet().await, 0);
    // A2 may dial loopback addresses, and does once it has something to deliver.
    let ann2 = a2.member(&admin_a2, "ann").await;
    ann2.send_message(&id("@hana:h.test"), "Hello")
        .await
        .unwrap();
    eventually(20, || async {
        (connections.load(Ordering::SeqCst) > 0).then_some(())
    })
    .await;
}
