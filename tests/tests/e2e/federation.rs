//! Federation end to end: real nodes on loopback, paired by invite, replicating over
//! websockets.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kindred_client::{Client, LiveStream};
use kindred_protocol::api::*;
use kindred_protocol::{EventId, MemberId};
use kindred_tests::raw_peer::RawPeer;
use kindred_tests::{TestNode, eventually, pair};

use super::trust_support::topic;

fn post(title: &str) -> NewPost {
    NewPost {
        title: title.into(),
        body: format!("Body of {title}"),
        tags: vec![],
        content_warning: None,
    }
}

async fn next_new(stream: &mut LiveStream) -> PostView {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("a live update in time")
            .expect("stream open")
            .unwrap();
        if let StreamMessage::New { post } = msg {
            return post;
        }
    }
}

/// The ids of every post in `topic` as `client` sees it.
async fn post_ids(client: &Client, topic: &str) -> Vec<EventId> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match client
            .topic_posts(topic, cursor.as_deref(), Some(100))
            .await
        {
            Ok(p) => p,
            Err(e) if e.code() == Some(ErrorCode::NotFound) => return ids,
            Err(e) => panic!("{e}"),
        };
        ids.extend(page.items.iter().map(|p| p.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return ids,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paired_nodes_see_each_others_posts_live() {
    let a = TestNode::named("chex.test").await;
    let b = TestNode::named("wellbeing.test").await;
    let admin_a = a.admin().await;
    let admin_b = b.admin().await;
    topic(&admin_a, "Funding").await;
    topic(&admin_b, "Funding").await;
    pair(&admin_a, &admin_b).await;

    let sam = a.member(&admin_a, "sam").await;
    let kim = b.member(&admin_b, "kim").await;
    let mut kim_stream = kim.stream().await.unwrap();
    let mut sam_stream = sam.stream().await.unwrap();

    let p = sam
        .create_post("Funding", &post("From Cheshire"))
        .await
        .unwrap();
    let seen = next_new(&mut kim_stream).await;
    assert_eq!(seen.id, p.id);
    assert_eq!(seen.author.to_string(), "@sam:chex.test");
    assert_eq!(
        seen.author_name, "sam (display)",
        "the profile travelled too"
    );
    assert_eq!(seen.organisation, "My organisation");
    let _own = next_new(&mut sam_stream).await;

    let r = kim
        .create_post("funding", &post("From the wellbeing hub"))
        .await
        .unwrap();
    let seen = next_new(&mut sam_stream).await;
    assert_eq!(seen.id, r.id);

    // Replies and reactions cross too.
    kim.reply(
        &p.id,
        &NewReply {
            body: "Thanks from the hub".into(),
            reply_to: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();
    kim.react(&p.id, "helpful").await.unwrap();
    eventually(20, || async {
        let t = sam.thread(&p.id).await.unwrap();
        (t.replies.len() == 1 && t.post.reactions.first().map(|r| r.count) == Some(1)).then_some(())
    })
    .await;

    let peers = admin_a.peers().await.unwrap();
    assert_eq!(peers.len(), 1);
    assert_eq!(peers[0].name.as_str(), "wellbeing.test");
    assert!(peers[0].connected);
    eventually(20, || async {
        let p = admin_a.peers().await.unwrap().remove(0);
        (p.events_sent > 0 && p.events_received > 0 && p.we_lack == 0 && p.they_lack == 0)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_post_travels_through_a_hub_and_forgeries_are_refused() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("hub.test").await;
    let c = TestNode::named("c.test").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    for admin in [&admin_a, &admin_b, &admin_c] {
        topic(admin, "Co-production").await;
    }
    pair(&admin_a, &admin_b).await;
    pair(&admin_b, &admin_c).await;

    let p = admin_a
        .create_post("Co-production", &post("Sharing power"))
        .await
        .unwrap();
    let seen = eventually(20, || async { admin_c.thread(&p.id).await.ok() }).await;
    assert_eq!(seen.post.author.to_string(), "@admin:a.test");
    assert_eq!(seen.post.origin, p.origin);
    // A and C are not paired with each other.
    assert_eq!(admin_c.peers().await.unwrap().len(), 1);

    // A relay cannot alter what it passes on: a node paired with C sends A's post with
    // one byte changed; C refuses the batch and drops the link.
    let invite = admin_c.create_peer_invite().await.unwrap();
    let mut raw = RawPeer::paired(&c.url(), &invite.token, 77, "mallory.test")
        .await
        .unwrap();
    let original = forged_post_from(&admin_a).await;
    raw.send(&kindred_protocol::peer::PeerFrame::EventBatch {
        batch: 1,
        events: vec![original.clone()],
    })
    .await
    .unwrap();
    assert_eq!(
        raw.refusal().await,
        Some(kindred_protocol::peer::ErrorCode::BAD_SIGNATURE.0)
    );
    // The altered event is not stored at C (its id is the altered bytes' hash).
    assert!(admin_c.thread(&original.id()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_arriving_ahead_of_a_gap_are_held_until_it_fills() {
    let c = TestNode::named("c.test").await;
    let admin_c = c.admin().await;
    topic(&admin_c, "Funding").await;
    let invite = admin_c.create_peer_invite().await.unwrap();
    let mut raw = RawPeer::paired(&c.url(), &invite.token, 78, "far.test")
        .await
        .unwrap();
    let author = MemberId::new("sam", &raw.name).unwrap();
    let events: Vec<_> = (1..=3)
        .map(|seq| {
            let title = format!("Reflection {seq}");
            signed_post(&raw.keypair, &author, seq, "Funding", &title)
        })
        .collect();
    let batch = |n: u64, events: Vec<kindred_protocol::SignedEvent>| {
        kindred_protocol::peer::PeerFrame::EventBatch { batch: n, events }
    };

    // Events 2 and 3 arrive before 1: they are acknowledged but held, never shown.
    raw.send(&batch(1, events[1..].to_vec())).await.unwrap();
    assert!(raw.acknowledged(1).await);
    assert!(post_ids(&admin_c, "Funding").await.is_empty());
    assert!(admin_c.thread(&events[1].id()).await.is_err());

    // Event 1 fills the gap: all three are stored, in order.
    raw.send(&batch(2, events[..1].to_vec())).await.unwrap();
    assert!(raw.acknowledged(2).await);
    let shown = eventually(20, || async {
        let ids = post_ids(&admin_c, "Funding").await;
        (ids.len() == 3).then_some(ids)
    })
    .await;
    let newest_first: Vec<EventId> = events.iter().rev().map(|e| e.id()).collect();
    assert_eq!(shown, newest_first);

    // Sent again, they are recognised as held: nothing is stored twice.
    raw.send(&batch(3, events.clone())).await.unwrap();
    assert!(raw.acknowledged(3).await);
    assert_eq!(post_ids(&admin_c, "Funding").await.len(), 3);
    assert_eq!(funding_posts(&admin_c).await, 3);
}

/// A shared-log post numbered `seq`, signed by `key` (its origin) as `author`.
fn signed_post(
    key: &kindred_protocol::NodeKeypair,
    author: &MemberId,
    seq: u64,
    topic: &str,
    title: &str,
) -> kindred_protocol::SignedEvent {
    let payload = kindred_protocol::EventPayload {
        origin: key.node_id(),
        created_at: kindred_protocol::Timestamp::now(),
        audience: kindred_protocol::Audience::Shared { seq },
        author: author.clone(),
        refs: Default::default(),
        body: kindred_protocol::EventBody::Post(
            kindred_protocol::event::body::peer_learning::Post {
                topic: topic.into(),
                title: title.into(),
                body: format!("Body of {title}"),
                tags: vec![],
                content_warning: None,
            },
        ),
    };
    kindred_protocol::SignedEvent::sign(&payload, key).unwrap()
}

/// A post that names A (`admin_a`'s node) as its origin but is signed with another key.
async fn forged_post_from(admin_a: &Client) -> kindred_protocol::SignedEvent {
    let node_a = admin_a.health().await.unwrap();
    // Build a fresh payload as if from A and sign it with a key that is not A's: the
    // result names A as origin but cannot verify under A's key.
    let fake = kindred_protocol::NodeKeypair::from_seed(&[99; 32]);
    let author = MemberId::new("admin", &node_a.name).unwrap();
    let signed = signed_post(&fake, &author, 1_000, "Co-production", "Forged");
    // Put A's id where the origin goes: now the signature is by the wrong key.
    let mut bytes = signed.payload_bytes().to_vec();
    bytes[kindred_protocol::event::ORIGIN_RANGE].copy_from_slice(node_a.node_id.as_bytes());
    kindred_protocol::SignedEvent::from_parts(bytes, *signed.signature())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_partitioned_node_catches_up_without_duplicates() {
    let mut a = TestNode::named("a.test").await;
    let mut b = TestNode::named("hub.test").await;
    let mut c = TestNode::named("c.test").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    for admin in [&admin_a, &admin_b, &admin_c] {
        topic(admin, "Events and reflections").await;
    }
    pair(&admin_a, &admin_b).await;
    pair(&admin_b, &admin_c).await;

    b.stop().await;
    let mut written = Vec::new();
    for i in 0..150 {
        written.push(
            admin_a
                .create_post("Events and reflections", &post(&format!("A {i}")))
                .await
                .unwrap()
                .id,
        );
        written.push(
            admin_c
                .create_post("Events and reflections", &post(&format!("C {i}")))
                .await
                .unwrap()
                .id,
        );
    }
    b.start_again().await;
    let (admin_b, _) = b
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();

    written.sort();
    for client in [&admin_a, &admin_b, &admin_c] {
        let ids = eventually(60, || async {
            let mut ids = post_ids(client, "Events and reflections").await;
            ids.sort();
            (ids.len() >= written.len()).then_some(ids)
        })
        .await;
        assert_eq!(ids, written, "same set, no duplicates");
        let topics = client.topics().await.unwrap();
        let t = topics
            .iter()
            .find(|t| t.name == "Events and reflections")
            .unwrap();
        assert_eq!(t.posts, written.len() as u64);
    }
    let _ = (&mut a, &mut c);
}

/// Whether `admin`'s node lists `peer` as connected at `address`.
async fn sees_peer_at(admin: &Client, peer: &kindred_protocol::NodeId, address: &str) -> bool {
    admin
        .peers()
        .await
        .unwrap()
        .iter()
        .any(|p| p.node_id == *peer && p.connected && p.address.as_deref() == Some(address))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_that_move_are_found_at_the_address_they_announce() {
    let mut a = TestNode::named("a.test").await;
    let mut b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    for admin in [&admin_a, &admin_b] {
        topic(admin, "Funding").await;
    }
    pair(&admin_a, &admin_b).await;
    let a_id = admin_a.health().await.unwrap().node_id;
    let b_id = admin_b.health().await.unwrap().node_id;

    // B moves to a new address. It still knows where A is, dials it, and A learns B's
    // new address from B's signed announcement.
    b.restart_elsewhere().await;
    let b_url = b.url();
    eventually(60, || async {
        sees_peer_at(&admin_a, &b_id, &b_url).await.then_some(())
    })
    .await;

    // Then A moves too. B's address for A is now stale, so only A can dial: it must use
    // the address B announced, not the one from the pairing.
    a.restart_elsewhere().await;
    let login = |node: &TestNode| {
        let client = node.client();
        async move {
            client
                .login("admin", kindred_tests::PASSWORD)
                .await
                .unwrap()
                .0
        }
    };
    let (admin_a, admin_b) = (login(&a).await, login(&b).await);
    let a_url = a.url();
    eventually(60, || async {
        (sees_peer_at(&admin_a, &b_id, &b_url).await && sees_peer_at(&admin_b, &a_id, &a_url).await)
            .then_some(())
    })
    .await;

    // And posts still travel.
    let sent = admin_a
        .create_post("Funding", &post("After both moved"))
        .await
        .unwrap();
    eventually(30, || async {
        admin_b.thread(&sent.id).await.ok().map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn directed_messages_wait_for_a_stopped_node_and_arrive_once() {
    let a = TestNode::named("a.test").await;
    let mut b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;
    let sam = a.member(&admin_a, "sam").await;
    b.member(&admin_b, "kim").await;
    let kim_id = MemberId::parse("@kim:b.test").unwrap();
    let sam_id = MemberId::parse("@sam:a.test").unwrap();

    b.stop().await;
    for i in 0..20 {
        sam.send_message(&kim_id, &format!("message {i}"))
            .await
            .unwrap();
    }
    let waiting = admin_a.peers().await.unwrap()[0].outbox;
    assert_eq!(
        waiting, 22,
        "the new conversation, the sender's profile and 20 messages wait for the stopped node"
    );

    b.start_again().await;
    let (kim, _) = b
        .client()
        .login("kim", kindred_tests::PASSWORD)
        .await
        .unwrap();
    let got = eventually(60, || async {
        let m = kim.messages(&sam_id).await.unwrap();
        (m.len() >= 20).then_some(m)
    })
    .await;
    let bodies: Vec<String> = got.iter().map(|m| m.body.clone()).collect();
    let expected: Vec<String> = (0..20).map(|i| format!("message {i}")).collect();
    assert_eq!(bodies, expected, "exactly once, in order");
    eventually(20, || async {
        (admin_a.peers().await.unwrap()[0].outbox == 0).then_some(())
    })
    .await;

    // A reply goes back the other way; a third node never sees any of it.
    kim.send_message(&sam_id, "thanks").await.unwrap();
    eventually(20, || async {
        (sam.messages(&kim_id).await.unwrap().len() == 21).then_some(())
    })
    .await;
    b.restart().await;
    let (kim, _) = b
        .client()
        .login("kim", kindred_tests::PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        kim.messages(&sam_id).await.unwrap().len(),
        21,
        "nothing redelivered"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unpaired_replayed_and_blocked_nodes_are_refused() {
    let mut a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    topic(&admin_a, "Funding").await;
    topic(&admin_b, "Funding").await;

    // An unpaired node completes the handshake but is refused.
    let mut stranger = kindred_tests::raw_peer::RawPeer::connect(&a.url(), 5, "stranger.test")
        .await
        .unwrap();
    stranger.handshake().await.unwrap();
    assert_eq!(
        stranger.refusal().await,
        Some(kindred_protocol::peer::ErrorCode::UNKNOWN_PEER.0)
    );

    // A recorded handshake replayed on a new connection is refused: the node's fresh
    // nonce is not in the recorded proof.
    let mut first = kindred_tests::raw_peer::RawPeer::connect(&a.url(), 6, "replay.test")
        .await
        .unwrap();
    let recorded = first.handshake().await.unwrap();
    let mut replay = kindred_tests::raw_peer::RawPeer::connect(&a.url(), 6, "replay.test")
        .await
        .unwrap();
    replay
        .send(&kindred_protocol::peer::PeerFrame::Hello(
            recorded.hello.clone(),
        ))
        .await
        .unwrap();
    replay.send(&recorded.proof).await.unwrap();
    assert_eq!(
        replay.refusal().await,
        Some(kindred_protocol::peer::ErrorCode::HANDSHAKE_FAILED.0)
    );

    // A blocked node: its link drops, its posts disappear, it cannot come back, and the
    // block survives a restart.
    pair(&admin_a, &admin_b).await;
    let from_b = admin_b
        .create_post("Funding", &post("From B"))
        .await
        .unwrap();
    eventually(20, || async { admin_a.thread(&from_b.id).await.ok() }).await;
    assert_eq!(funding_posts(&admin_a).await, 1);
    let b_id = admin_b.health().await.unwrap().node_id;
    admin_a.block_peer(&b_id).await.unwrap();
    assert!(admin_a.thread(&from_b.id).await.is_err(), "hidden at once");
    assert_eq!(funding_posts(&admin_a).await, 0, "and out of the counts");
    eventually(20, || async {
        let p = admin_a.peers().await.unwrap();
        (p[0].blocked && !p[0].connected).then_some(())
    })
    .await;
    admin_b
        .create_post("Funding", &post("After the block"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(post_ids(&admin_a, "Funding").await.is_empty());

    a.restart().await;
    let (admin_a, _) = a
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();
    let p = admin_a.peers().await.unwrap();
    assert!(p[0].blocked, "the block survives a restart");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!admin_a.peers().await.unwrap()[0].connected);

    // Unblocking lets it back in, and what was missed arrives.
    admin_a.unblock_peer(&b_id).await.unwrap();
    eventually(60, || async {
        (post_ids(&admin_a, "Funding").await.len() == 2).then_some(())
    })
    .await;
    assert_eq!(funding_posts(&admin_a).await, 2, "counted again");
}

/// The "Funding" topic's post count as the topic list shows it.
async fn funding_posts(client: &kindred_client::Client) -> u64 {
    client
        .topics()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.name.eq_ignore_ascii_case("funding"))
        .map_or(0, |t| t.posts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_peer_sending_garbage_is_disconnected_and_members_carry_on() {
    let a = TestNode::named("a.test").await;
    let admin_a = a.admin().await;
    topic(&admin_a, "Funding").await;
    let invite = admin_a.create_peer_invite().await.unwrap();
    let secret = kindred_tests::raw_peer::invite_secret(&invite.token).unwrap();

    // Garbage before the handshake.
    let mut raw = kindred_tests::raw_peer::RawPeer::connect(&a.url(), 8, "noisy.test")
        .await
        .unwrap();
    raw.send_bytes(vec![0xff; 100]).await.unwrap();
    assert!(raw.refusal().await.is_some() || raw.recv().await.is_none());

    // A paired peer sending an oversized frame, then garbage.
    let mut raw = kindred_tests::raw_peer::RawPeer::connect(&a.url(), 9, "noisy.test")
        .await
        .unwrap();
    raw.handshake().await.unwrap();
    raw.send(&kindred_protocol::peer::PeerFrame::Pair {
        secret,
        address: String::new(),
    })
    .await
    .unwrap();
    let _ = raw.send_bytes(vec![0x04; 2 * 1024 * 1024]).await;
    assert!(
        raw.recv()
            .await
            .map(|f| matches!(f, kindred_protocol::peer::PeerFrame::Paired))
            != Some(false)
    );
    // Whatever the order, the link ends.
    while raw.recv().await.is_some() {}

    let mut raw = kindred_tests::raw_peer::RawPeer::connect(&a.url(), 9, "noisy.test")
        .await
        .unwrap();
    raw.handshake().await.unwrap();
    raw.send_bytes(vec![0x04, 1, 2, 3]).await.unwrap();
    assert_eq!(
        raw.refusal().await,
        Some(kindred_protocol::peer::ErrorCode::MALFORMED.0)
    );

    // Members are unaffected.
    admin_a
        .create_post("Funding", &post("Still here"))
        .await
        .unwrap();
    assert_eq!(admin_a.topics().await.unwrap()[0].posts, 1);
}
