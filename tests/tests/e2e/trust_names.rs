//! One name, one node, tried as a hostile node would (the raw peer plays it): no node can
//! write as another's members or take its name, a pairing settles a name another node
//! announced first, announced addresses are dialled only when safe and needed, and
//! made-up nodes are held to a daily number and go with the node that brought them.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::*;
use kindred_protocol::peer::{ErrorCode, PeerFrame};
use kindred_protocol::{Audience, EventBody, References};
use kindred_tests::raw_peer::{RawPeer, invite_secret};
use kindred_tests::{TestNode, eventually, pair};

use super::trust_support::{id, post_body, profile, titles, topic};

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
    // The hub's admin can block it from the warning on the Peers page.
    let mut web = kindred_tests::web::Browser::new(&b.url());
    web.sign_in("admin", kindred_tests::PASSWORD).await;
    let page = web.get("/admin/peers").await;
    assert!(page.has("Needs your attention"), "{}", page.html);
    assert!(
        page.has(&format!("/admin/peers/{}/block", h.node_id())),
        "{}",
        page.html
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
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_name_another_node_announced_first_is_settled_by_the_admin() {
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

    // Ann writes to "Dave" while the squatter holds the name.
    let ann = a.member(&admin_a, "ann").await;
    ann.send_message(&id("@dave:d.test"), "Early")
        .await
        .unwrap();

    // The real d.test cannot pair while another node holds its name, however it was bound:
    // A's admin is told, and settles it by blocking the squatter (by name).
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
    let d_id = admin_d.health().await.unwrap().node_id;
    let invite = admin_a.create_peer_invite().await.unwrap();
    let refused = admin_d.add_peer(&invite.token).await.unwrap_err();
    assert!(
        refused.to_string().contains("belongs to another node"),
        "{refused}"
    );
    let warnings = admin_a.federation_warnings().await.unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.kind == WarningKind::NameClaim && w.node_id == d_id),
        "{warnings:?}"
    );
    admin_a.block_peer_named("d.test").await.unwrap();
    pair(&admin_a, &admin_d).await;
    // The conversation Ann started is sent again to the real Dave's node, so what she
    // writes now reaches him; the squatter's profile is gone.
    ann.send_message(&id("@dave:d.test"), "Hello, real Dave")
        .await
        .unwrap();
    eventually(20, || async {
        let from_ann = dave.messages(&id("@ann:a.test")).await.ok()?;
        from_ann
            .iter()
            .any(|m| m.body == "Hello, real Dave")
            .then_some(())
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

    // Unblocking the old node later does not quietly leave messages for its name going
    // elsewhere: the admin is told which node holds the name now.
    admin_a.unblock_peer_named(&old_d.to_hex()).await.unwrap();
    let warnings = admin_a.federation_warnings().await.unwrap();
    assert!(
        warnings.iter().any(|w| w.kind == WarningKind::NameClaim
            && w.node_id == old_d
            && w.message.contains("was unblocked")),
        "{warnings:?}"
    );
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn made_up_nodes_are_held_to_a_daily_number_and_go_with_their_introducer() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("hub.test").unwrap();
        c.federation.new_origins_per_peer_per_day = 3;
    })
    .await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    for admin in [&admin_a, &admin_b] {
        topic(admin, "Funding").await;
    }
    pair(&admin_b, &admin_a).await;
    let invite = admin_b.create_peer_invite().await.unwrap();
    let mut h = RawPeer::paired(&b.url(), &invite.token, 140, "h.test")
        .await
        .unwrap();
    assert!(
        h.replicate(1, vec![h.announcement(1, "http://127.0.0.1:9")])
            .await
    );
    // Five keys it made up, each announcing itself and posting.
    let mut batch = 2;
    for n in 0..5u8 {
        let key = kindred_protocol::NodeKeypair::from_seed(&[150 + n; 32]);
        let name = format!("made{n}.test");
        let node_member = id(&format!("@node:{name}"));
        let member = id(&format!("@m:{name}"));
        let events = vec![
            kindred_tests::raw_peer::sign_as(
                &key,
                Audience::Shared { seq: 1 },
                &node_member,
                References::default(),
                EventBody::NodeAnnouncement(
                    kindred_protocol::event::body::profile::NodeAnnouncement {
                        address: String::new(),
                        organisation: name.clone(),
                    },
                ),
            ),
            kindred_tests::raw_peer::sign_as(
                &key,
                Audience::Shared { seq: 2 },
                &member,
                References::default(),
                post_body(&format!("Junk from {name}")),
            ),
        ];
        assert!(h.replicate(batch, events).await);
        batch += 1;
    }
    let hana = h.sign(
        Audience::Shared { seq: 2 },
        &h.member("hana"),
        References::default(),
        post_body("Hana's marker"),
    );
    assert!(h.replicate(batch, vec![hana]).await);
    let junk = |titles: Vec<String>| titles.iter().filter(|t| t.starts_with("Junk")).count();
    for admin in [&admin_b, &admin_a] {
        eventually(20, || async {
            titles(admin)
                .await
                .contains(&"Hana's marker".to_owned())
                .then_some(())
        })
        .await;
        assert_eq!(junk(titles(admin).await), 3, "three a day from one peer");
    }
    // Blocking the peer blocks what it brought.
    admin_b.block_peer(&h.node_id()).await.unwrap();
    assert_eq!(junk(titles(&admin_b).await), 0);
    assert!(!titles(&admin_b).await.contains(&"Hana's marker".to_owned()));
}
