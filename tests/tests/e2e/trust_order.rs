//! Convergence whatever the order, clock or backup: replies and reactions that arrive
//! before what they answer, a node with a slow clock, a node restored from a backup, a
//! post taken down with its thread, and counts through blocks.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use kindred_protocol::api::*;
use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::{
    ChatMessage, ChatReaction, ConversationKind, ConversationUpdate, ReadMarker,
};
use kindred_protocol::event::body::peer_learning::{Post, Reaction, Reply};
use kindred_protocol::{Audience, EventBody, References};
use kindred_tests::raw_peer::{RawPeer, to};
use kindred_tests::{TestNode, copy_dir, eventually, pair};

use super::trust_support::{id, titles, topic};

fn new_post(title: &str) -> NewPost {
    NewPost {
        title: title.into(),
        body: format!("Body of {title}"),
        tags: vec![],
        content_warning: None,
    }
}

fn new_reply(body: &str) -> NewReply {
    NewReply {
        body: body.into(),
        reply_to: None,
        content_warning: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replies_and_reactions_that_arrive_first_wait_for_their_post() {
    let c = TestNode::named("c.test").await;
    let admin_c = c.admin().await;
    topic(&admin_c, "Funding").await;
    let first = admin_c.create_peer_invite().await.unwrap();
    let mut r1 = RawPeer::paired(&c.url(), &first.token, 101, "r1.test")
        .await
        .unwrap();
    let second = admin_c.create_peer_invite().await.unwrap();
    let mut r2 = RawPeer::paired(&c.url(), &second.token, 102, "r2.test")
        .await
        .unwrap();
    let (ann, ron) = (r1.member("ann"), r2.member("ron"));
    let post = r1.sign(
        Audience::Shared { seq: 2 },
        &ann,
        References::default(),
        EventBody::Post(Post {
            topic: "Funding".into(),
            title: "Small grants".into(),
            body: "What worked".into(),
            tags: vec![],
            content_warning: None,
        }),
    );
    let refs = References {
        thread_root: Some(post.id()),
        reply_to: Some(post.id()),
        ..References::default()
    };
    // r2's reply and reaction reach C before r1's post does.
    let early = vec![
        r2.announcement(1, "http://127.0.0.1:9"),
        r2.sign(
            Audience::Shared { seq: 2 },
            &ron,
            refs,
            EventBody::Reply(Reply {
                body: "Same here".into(),
                content_warning: None,
            }),
        ),
        r2.sign(
            Audience::Shared { seq: 3 },
            &ron,
            References::default(),
            EventBody::Reaction(Reaction {
                target: post.id(),
                reaction: "helpful".into(),
                removed: false,
            }),
        ),
    ];
    assert!(r2.replicate(1, early).await);
    assert!(
        r1.replicate(
            1,
            vec![r1.announcement(1, "http://127.0.0.1:9"), post.clone()]
        )
        .await
    );
    let check = |thread: ThreadView| {
        assert_eq!(thread.replies.len(), 1);
        assert_eq!(thread.post.reply_count, 1);
        assert_eq!(thread.post.reactions.len(), 1);
        assert_eq!(thread.post.reactions[0].count, 1);
    };
    let thread = eventually(10, || async { admin_c.thread(&post.id()).await.ok() }).await;
    check(thread);
    let mut c = c;
    c.restart().await;
    let (admin_c, _) = c
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();
    check(admin_c.thread(&post.id()).await.unwrap());

    // In a group: a reaction and a read marker before the message they are about.
    let carol = c.member(&admin_c, "carol").await;
    let c_id = admin_c.health().await.unwrap().node_id;
    let (mut r1, mut r2) = (
        RawPeer::connect(&c.url(), 101, "r1.test").await.unwrap(),
        RawPeer::connect(&c.url(), 102, "r2.test").await.unwrap(),
    );
    r1.handshake().await.unwrap();
    r2.handshake().await.unwrap();
    let group = ConversationId::from_bytes([42; 16]);
    let members = vec![ann.clone(), id("@carol:c.test"), ron.clone()];
    let create = r1.sign(
        to(c_id),
        &ann,
        References::default(),
        EventBody::ConversationUpdate(ConversationUpdate {
            conversation: group,
            kind: ConversationKind::Group,
            name: "Grants circle".into(),
            members,
            admins: vec![ann.clone()],
        }),
    );
    r1.deliver(create).await.unwrap();
    let message = r1.sign(
        to(c_id),
        &ann,
        References::default(),
        EventBody::ChatMessage(ChatMessage {
            conversation: group,
            body: "Welcome".into(),
        }),
    );
    let reaction = r2.sign(
        to(c_id),
        &ron,
        References::default(),
        EventBody::ChatReaction(ChatReaction {
            conversation: group,
            target: message.id(),
            reaction: "thank-you".into(),
            removed: false,
        }),
    );
    let marker = r2.sign(
        to(c_id),
        &ron,
        References::default(),
        EventBody::ReadMarker(ReadMarker {
            conversation: group,
            up_to: message.id(),
        }),
    );
    r2.deliver(reaction).await.unwrap();
    r2.deliver(marker).await.unwrap();
    let welcome = message.id();
    r1.deliver(message).await.unwrap();
    let history = carol.history(&group, None, None).await.unwrap();
    assert_eq!(history.items.len(), 1);
    assert_eq!(history.items[0].id, welcome);
    assert_eq!(history.items[0].reactions.len(), 1);
    let view = carol.conversation(&group).await.unwrap();
    let ron_read = view.members.iter().find(|m| m.member == ron).unwrap();
    assert_eq!(ron_read.read_up_to, Some(welcome));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_node_catches_up_replies_through_a_hub_in_any_order() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("hub.test").await;
    let mut c = TestNode::named("c.test").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    for admin in [&admin_a, &admin_b, &admin_c] {
        topic(admin, "Funding").await;
    }
    pair(&admin_b, &admin_a).await;
    pair(&admin_b, &admin_c).await;
    c.stop().await;
    let p = admin_a
        .create_post("Funding", &new_post("From A"))
        .await
        .unwrap();
    eventually(20, || async { admin_b.thread(&p.id).await.ok() }).await;
    admin_b
        .reply(&p.id, &new_reply("From the hub"))
        .await
        .unwrap();
    admin_b.react(&p.id, "me-too").await.unwrap();
    c.start_again().await;
    let (admin_c, _) = c
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();
    let thread = eventually(30, || async {
        let t = admin_c.thread(&p.id).await.ok()?;
        (t.replies.len() == 1 && !t.post.reactions.is_empty()).then_some(t)
    })
    .await;
    assert_eq!(thread.post.reply_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_clock_cannot_bury_a_message_and_admins_are_warned() {
    let a = TestNode::named("a.test").await;
    let slow = kindred_server::SkewedClock(-2 * 3_600_000);
    let s = TestNode::start_with_clock(Arc::new(slow), |c| {
        c.node.name = kindred_protocol::NodeName::new("slow.test").unwrap();
    })
    .await;
    let (admin_a, admin_s) = (a.admin().await, s.admin().await);
    pair(&admin_a, &admin_s).await;
    let ann = a.member(&admin_a, "ann").await;
    let sam = s.member(&admin_s, "sam").await;
    let first = ann
        .send_message(&id("@sam:slow.test"), "How did the bid go?")
        .await
        .unwrap();
    let c = first.conversation;
    eventually(20, || async {
        (sam.history(&c, None, None).await.ok()?.items.len() == 1).then_some(())
    })
    .await;
    let reply = sam
        .post_message(
            &c,
            &NewMessage {
                body: "We got it!".into(),
                reply_to: None,
            },
        )
        .await
        .unwrap();
    // At A the reply is the newest message and unread, though its clock says two hours
    // before Ann's question.
    let history = eventually(20, || async {
        let h = ann.history(&c, None, None).await.ok()?;
        (h.items.len() == 2).then_some(h)
    })
    .await;
    assert_eq!(history.items[0].id, reply.id, "newest first");
    assert!(history.items[0].created_at < history.items[1].created_at);
    let view = ann.conversation(&c).await.unwrap();
    assert_eq!(view.unread, 1);
    // A post from the slow node, written after one of A's, is above it at A too.
    topic(&admin_a, "Funding").await;
    topic(&admin_s, "Funding").await;
    ann.create_post("Funding", &new_post("Older"))
        .await
        .unwrap();
    sam.create_post("Funding", &new_post("Newer"))
        .await
        .unwrap();
    eventually(20, || async {
        (titles(&admin_a).await == ["Newer", "Older"]).then_some(())
    })
    .await;
    // Both admins see that the clocks disagree.
    for (admin, other) in [(&admin_a, "slow.test"), (&admin_s, "a.test")] {
        let peers = admin.peers().await.unwrap();
        let offset = peers[0].clock_offset_ms.unwrap();
        assert!(offset.unsigned_abs() > 7_000_000, "{other}: {offset}");
        let warnings = admin.federation_warnings().await.unwrap();
        assert!(
            warnings.iter().any(|w| w.kind == WarningKind::Clock),
            "{warnings:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_restored_from_a_backup_catches_up_instead_of_forking() {
    let mut a = TestNode::named("a.test").await;
    let mut b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    topic(&admin_a, "Funding").await;
    topic(&admin_b, "Funding").await;
    pair(&admin_a, &admin_b).await;
    admin_a
        .create_post("Funding", &new_post("P1"))
        .await
        .unwrap();
    let backup = tempfile::tempdir().unwrap();
    a.stop().await;
    copy_dir(&a.data_dir(), backup.path());
    a.start_again().await;
    let (admin_a, _) = a
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();
    admin_a
        .create_post("Funding", &new_post("P2"))
        .await
        .unwrap();
    eventually(20, || async {
        titles(&admin_b)
            .await
            .contains(&"P2".to_owned())
            .then_some(())
    })
    .await;

    // Restored from the backup (which does not have P2): A fetches P2 back from B before
    // it writes, so P3 and P4 take new numbers.
    a.stop().await;
    std::fs::remove_dir_all(a.data_dir()).unwrap();
    copy_dir(backup.path(), &a.data_dir());
    a.start_again().await;
    let (admin_a, _) = a
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();
    admin_a
        .create_post("Funding", &new_post("P3"))
        .await
        .unwrap();
    admin_a
        .create_post("Funding", &new_post("P4"))
        .await
        .unwrap();
    let all = ["P1", "P2", "P3", "P4"];
    for admin in [&admin_a, &admin_b] {
        eventually(20, || async {
            let mut seen = titles(admin).await;
            seen.sort();
            (seen == all).then_some(())
        })
        .await;
        assert!(admin.federation_warnings().await.unwrap().is_empty());
    }

    // Restored again while B is down: after waiting, A writes anyway, reusing a number B
    // holds. Once they meet, both admins are told.
    b.stop().await;
    a.stop().await;
    std::fs::remove_dir_all(a.data_dir()).unwrap();
    copy_dir(backup.path(), &a.data_dir());
    a.start_again().await;
    let (admin_a, _) = a
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();
    admin_a
        .create_post("Funding", &new_post("P5"))
        .await
        .unwrap();
    b.start_again().await;
    let (admin_b, _) = b
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();
    for admin in [&admin_a, &admin_b] {
        eventually(30, || async {
            let w = admin.federation_warnings().await.ok()?;
            w.iter().any(|w| w.kind == WarningKind::Fork).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_post_taken_down_takes_its_thread_and_counts_follow_blocks() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    topic(&admin_a, "Funding").await;
    topic(&admin_b, "Funding").await;
    pair(&admin_a, &admin_b).await;
    let ann = a.member(&admin_a, "ann").await;
    let bob = b.member(&admin_b, "bob").await;
    let p = ann
        .create_post("Funding", &new_post("Burnout"))
        .await
        .unwrap();
    eventually(20, || async { bob.thread(&p.id).await.ok() }).await;
    bob.reply(&p.id, &new_reply("zebracrossing one"))
        .await
        .unwrap();
    bob.reply(&p.id, &new_reply("zebracrossing two"))
        .await
        .unwrap();
    bob.react(&p.id, "i-hear-you").await.unwrap();
    eventually(20, || async {
        (ann.thread(&p.id).await.ok()?.replies.len() == 2).then_some(())
    })
    .await;
    ann.retract(&p.id, None).await.unwrap();
    for (who, client) in [("A", &ann), ("B", &bob)] {
        eventually(20, || async {
            client.thread(&p.id).await.is_err().then_some(())
        })
        .await;
        let hits = client.search("zebracrossing", None).await.unwrap();
        assert!(hits.is_empty(), "{who}: {hits:?}");
        let bobs = client
            .member_posts("@bob:b.test", None, Some(50))
            .await
            .unwrap();
        assert!(bobs.items.is_empty(), "{who}: {:?}", bobs.items);
        let funding = client.topics().await.unwrap();
        let t = funding.iter().find(|t| t.name == "Funding").unwrap();
        assert_eq!((t.posts, t.replies), (0, 0), "{who}");
    }

    // While B is blocked, its reply and reaction are neither shown nor counted at A.
    let q = ann
        .create_post("Funding", &new_post("Volunteers"))
        .await
        .unwrap();
    eventually(20, || async { bob.thread(&q.id).await.ok() }).await;
    bob.reply(&q.id, &new_reply("Count me")).await.unwrap();
    bob.react(&q.id, "helpful").await.unwrap();
    let counted = |t: &ThreadView| (t.post.reply_count, t.post.reactions.len());
    eventually(20, || async {
        let t = ann.thread(&q.id).await.ok()?;
        (counted(&t) == (1, 1)).then_some(())
    })
    .await;
    let b_id = admin_b.health().await.unwrap().node_id;
    admin_a.block_peer(&b_id).await.unwrap();
    let t = ann.thread(&q.id).await.unwrap();
    assert_eq!((counted(&t), t.replies.len()), ((0, 0), 0));
    let listed = ann.topic_posts("Funding", None, None).await.unwrap();
    assert_eq!(listed.items[0].reply_count, 0);
    admin_a.unblock_peer(&b_id).await.unwrap();
    let t = ann.thread(&q.id).await.unwrap();
    assert_eq!((counted(&t), t.replies.len()), ((1, 1), 1));
}
