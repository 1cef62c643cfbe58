//! Chat end to end: the directory, one-to-one and group conversations across nodes, live
//! delivery only to participants, removal, blocking, and access control.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kindred_client::LiveStream;
use kindred_protocol::MemberId;
use kindred_protocol::api::*;
use kindred_tests::{PASSWORD, TestNode, eventually, pair, paired_nodes};

fn id(text: &str) -> MemberId {
    MemberId::parse(text).unwrap()
}

fn text(body: &str) -> NewMessage {
    NewMessage {
        body: body.into(),
        reply_to: None,
    }
}

/// The next chat message pushed to `stream`.
async fn next_message(stream: &mut LiveStream) -> MessageView {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(20), stream.next())
            .await
            .expect("a live message in time")
            .expect("stream open")
            .unwrap();
        if let StreamMessage::Message { message } = msg {
            return message;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_members_find_each_other_and_chat_live() {
    let (a, b, admin_a, admin_b) = paired_nodes("a.test", "b.test").await;
    let sam = a.member(&admin_a, "sam").await;
    let kim = b.member(&admin_b, "kim").await;

    // Kim lists herself; Sam finds her at the other organisation.
    kim.update_me(&UpdateMe {
        listed: Some(true),
        happy_to_talk_about: Some("volunteer burnout, peer groups".into()),
        ..UpdateMe::default()
    })
    .await
    .unwrap();
    let found = eventually(20, || async {
        let p = sam.people(Some("burnout")).await.unwrap();
        (!p.is_empty()).then_some(p)
    })
    .await;
    assert_eq!(found[0].member, id("@kim:b.test"));
    assert_eq!(found[0].display_name, "kim (display)");
    assert!(!found[0].local);
    // Unlisted members are not in the directory.
    assert!(sam.people(Some("sam")).await.unwrap().is_empty());

    let mut kim_stream = kim.stream().await.unwrap();
    let conversation = sam
        .create_conversation(&CreateConversation {
            members: vec![id("@kim:b.test")],
            name: None,
        })
        .await
        .unwrap();
    assert_eq!(
        conversation.kind,
        kindred_protocol::event::body::chat::ConversationKind::Direct
    );
    let sent = sam
        .post_message(&conversation.id, &text("Hello from Cheshire"))
        .await
        .unwrap();
    let live = next_message(&mut kim_stream).await;
    assert_eq!(live.id, sent.id);
    assert_eq!(live.author_name, "sam (display)");

    let listed = kim.conversations().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].unread, 1);
    assert_eq!(listed[0].name, "sam (display)");

    // Kim replies, reacts and reads; Sam sees all of it.
    let reply = kim
        .post_message(
            &conversation.id,
            &NewMessage {
                body: "Hi! Happy to talk".into(),
                reply_to: Some(sent.id),
            },
        )
        .await
        .unwrap();
    kim.react_message(&conversation.id, &sent.id, "thank-you")
        .await
        .unwrap();
    kim.mark_read(&conversation.id, &sent.id).await.unwrap();
    assert_eq!(kim.conversations().await.unwrap()[0].unread, 0);
    eventually(20, || async {
        let c = sam.conversation(&conversation.id).await.unwrap();
        let history = sam.history(&conversation.id, None, None).await.unwrap();
        let kim_read = c
            .members
            .iter()
            .find(|m| m.member == id("@kim:b.test"))
            .and_then(|m| m.read_up_to);
        let reacted = history
            .items
            .iter()
            .any(|m| m.id == sent.id && m.reactions.len() == 1);
        (history.items.len() == 2 && kim_read == Some(sent.id) && reacted).then_some(())
    })
    .await;
    let history = sam.history(&conversation.id, None, None).await.unwrap();
    assert_eq!(history.items[0].id, reply.id, "newest first");
    assert_eq!(history.items[0].reply_to, Some(sent.id));

    // Edits and retractions by the author reach the other side.
    sam.edit_message(&conversation.id, &sent.id, "Hello from Cheshire (edited)")
        .await
        .unwrap();
    eventually(20, || async {
        let h = kim.history(&conversation.id, None, None).await.unwrap();
        h.items
            .iter()
            .any(|m| m.body.ends_with("(edited)") && m.edited_at.is_some())
            .then_some(())
    })
    .await;
    let e = kim
        .edit_message(&conversation.id, &sent.id, "not mine")
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    kim.retract_message(&conversation.id, &reply.id)
        .await
        .unwrap();
    eventually(20, || async {
        (sam.history(&conversation.id, None, None)
            .await
            .unwrap()
            .items
            .len()
            == 1)
            .then_some(())
    })
    .await;

    // Opening the same one-to-one again gives the same conversation.
    let again = kim
        .create_conversation(&CreateConversation {
            members: vec![id("@sam:a.test")],
            name: None,
        })
        .await
        .unwrap();
    assert_eq!(again.id, conversation.id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_spans_three_nodes_and_nothing_reaches_a_fourth() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let c = TestNode::named("c.test").await;
    let mut d = TestNode::named("d.test").await;
    let admins = [
        a.admin().await,
        b.admin().await,
        c.admin().await,
        d.admin().await,
    ];
    pair(&admins[0], &admins[1]).await;
    pair(&admins[1], &admins[2]).await;
    pair(&admins[0], &admins[2]).await;
    pair(&admins[0], &admins[3]).await;
    let ann = a.member(&admins[0], "ann").await;
    let bob = b.member(&admins[1], "bob").await;
    let cat = c.member(&admins[2], "cat").await;
    let dan = d.member(&admins[3], "dan").await;

    let mut bob_stream = bob.stream().await.unwrap();
    let mut cat_stream = cat.stream().await.unwrap();
    let group = ann
        .create_conversation(&CreateConversation {
            members: vec![id("@bob:b.test"), id("@cat:c.test")],
            name: Some("Joint session planning".into()),
        })
        .await
        .unwrap();
    assert_eq!(group.members.len(), 3);
    let first = ann
        .post_message(&group.id, &text("Shall we meet on the 5th?"))
        .await
        .unwrap();
    assert_eq!(next_message(&mut bob_stream).await.id, first.id);
    assert_eq!(next_message(&mut cat_stream).await.id, first.id);
    let from_cat = cat
        .post_message(&group.id, &text("Works for me"))
        .await
        .unwrap();
    assert_eq!(next_message(&mut bob_stream).await.id, from_cat.id);
    for member in [&ann, &bob, &cat] {
        eventually(20, || async {
            let h = member.history(&group.id, None, None).await.unwrap();
            (h.items.len() == 2).then_some(())
        })
        .await;
        let c = member.conversation(&group.id).await.unwrap();
        assert_eq!(c.name, "Joint session planning");
    }

    // Dan (at a fourth node, paired with A) cannot read it and his node holds nothing of it.
    let e = dan.history(&group.id, None, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    assert!(dan.conversations().await.unwrap().is_empty());
    // An admin at a participant's node who is not in it cannot read it either.
    let e = admins[0].history(&group.id, None, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    d.stop().await;
    assert!(!d.stored_anywhere(group.id.as_bytes()));
    assert!(!d.stored_anywhere(first.id.as_bytes()));
    assert!(!d.stored_anywhere(b"Shall we meet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removed_members_get_nothing_more_and_blocks_are_silent() {
    let (a, b, admin_a, admin_b) = paired_nodes("a.test", "b.test").await;
    let ann = a.member(&admin_a, "ann").await;
    let amy = a.member(&admin_a, "amy").await;
    let bob = b.member(&admin_b, "bob").await;

    let group = ann
        .create_conversation(&CreateConversation {
            members: vec![id("@bob:b.test"), id("@amy:a.test")],
            name: Some("Buddies".into()),
        })
        .await
        .unwrap();
    ann.post_message(&group.id, &text("before")).await.unwrap();
    eventually(20, || async {
        (bob.history(&group.id, None, None).await.ok()?.items.len() == 1).then_some(())
    })
    .await;

    // Only admins remove people; Bob is removed and gets nothing after.
    let e = amy
        .remove_participant(&group.id, &id("@bob:b.test"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    ann.remove_participant(&group.id, &id("@bob:b.test"))
        .await
        .unwrap();
    eventually(20, || async {
        let gone = bob.history(&group.id, None, None).await.is_err();
        gone.then_some(())
    })
    .await;
    ann.post_message(&group.id, &text("after Bob left"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(bob.conversations().await.unwrap().is_empty());
    let e = bob
        .post_message(&group.id, &text("can I still?"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    // Amy leaves by herself.
    amy.remove_participant(&group.id, &id("@amy:a.test"))
        .await
        .unwrap();
    assert!(amy.conversations().await.unwrap().is_empty());

    // Bob blocks Ann: her messages never reach him, and she is not told.
    let direct = bob
        .create_conversation(&CreateConversation {
            members: vec![id("@ann:a.test")],
            name: None,
        })
        .await
        .unwrap();
    bob.block_member(&id("@ann:a.test")).await.unwrap();
    // The conversation Bob opened reaches Ann's node a moment later.
    eventually(20, || async {
        let theirs = ann.conversations().await.ok()?;
        theirs.iter().any(|c| c.id == direct.id).then_some(())
    })
    .await;
    let mut bob_stream = bob.stream().await.unwrap();
    let sent = ann
        .post_message(&direct.id, &text("are you there?"))
        .await
        .unwrap();
    assert_eq!(sent.body, "are you there?", "the sender sees no difference");
    // A message from someone else still arrives live; Ann's never does.
    let b2 = b.member(&admin_b, "bea").await;
    b2.send_message(&id("@bob:b.test"), "hello from Bea")
        .await
        .unwrap();
    let live = next_message(&mut bob_stream).await;
    assert_eq!(live.body, "hello from Bea");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        bob.history(&direct.id, None, None)
            .await
            .map(|h| h.items.is_empty())
            .unwrap_or(true)
    );
    assert!(
        bob.conversations()
            .await
            .unwrap()
            .iter()
            .all(|c| c.id != direct.id || c.unread == 0)
    );

    // After unblocking, the conversation shows again.
    bob.unblock_member(&id("@ann:a.test")).await.unwrap();
    let h = bob.history(&direct.id, None, None).await.unwrap();
    assert_eq!(h.items.len(), 1);
    let _ = PASSWORD;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conversation_pages_and_limits() {
    let a = TestNode::start_with(|c| c.chat.max_group_members = 3).await;
    let admin = a.admin().await;
    let ann = a.member(&admin, "ann").await;
    a.member(&admin, "bob").await;
    a.member(&admin, "cy").await;
    a.member(&admin, "di").await;
    let e = ann
        .create_conversation(&CreateConversation {
            members: vec![
                id("@bob:localhost"),
                id("@cy:localhost"),
                id("@di:localhost"),
            ],
            name: Some("Too big".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    let direct = ann
        .create_conversation(&CreateConversation {
            members: vec![id("@bob:localhost")],
            name: None,
        })
        .await
        .unwrap();
    for i in 0..25 {
        ann.post_message(&direct.id, &text(&format!("m{i}")))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = ann
            .history(&direct.id, cursor.as_deref(), Some(10))
            .await
            .unwrap();
        seen.extend(page.items.iter().map(|m| m.body.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).rev().map(|i| format!("m{i}")).collect();
    assert_eq!(seen, expected);
    let e = ann
        .post_message(&direct.id, &text(&"x".repeat(9 * 1024)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::TooLarge));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_markers_are_shared_only_when_allowed() {
    let a = TestNode::start().await;
    let admin = a.admin().await;
    let ann = a.member(&admin, "ann").await;
    let bob = a.member(&admin, "bob").await;
    let c = ann
        .create_conversation(&CreateConversation {
            members: vec![id("@bob:localhost")],
            name: None,
        })
        .await
        .unwrap();
    let first = ann.post_message(&c.id, &text("one")).await.unwrap();
    let second = ann.post_message(&c.id, &text("two")).await.unwrap();
    let bobs_marker = |view: ConversationView| {
        view.members
            .into_iter()
            .find(|m| m.member == id("@bob:localhost"))
            .and_then(|m| m.read_up_to)
    };

    bob.mark_read(&c.id, &first.id).await.unwrap();
    assert_eq!(
        bobs_marker(ann.conversation(&c.id).await.unwrap()),
        Some(first.id)
    );

    bob.update_me(&UpdateMe {
        read_markers: Some(false),
        ..UpdateMe::default()
    })
    .await
    .unwrap();
    bob.mark_read(&c.id, &second.id).await.unwrap();
    assert_eq!(
        bob.conversation(&c.id).await.unwrap().unread,
        0,
        "his own position moves"
    );
    assert_eq!(
        bobs_marker(ann.conversation(&c.id).await.unwrap()),
        Some(first.id),
        "but others no longer see it"
    );
}

/// The same words sent again at once (a double tap, two devices) are two messages, not
/// one: identical messages signed in the same millisecond are dated apart, so none is
/// lost as a duplicate, here and at the other node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_message_sent_twice_at_once_is_kept_twice() {
    let (a, b, admin_a, admin_b) = paired_nodes("a.test", "b.test").await;
    let sam = a.member(&admin_a, "sam").await;
    let kim = b.member(&admin_b, "kim").await;
    let conversation = sam
        .create_conversation(&CreateConversation {
            members: vec![id("@kim:b.test")],
            name: None,
        })
        .await
        .unwrap();
    let sends: Vec<_> = (0..20)
        .map(|_| {
            let sam = sam.clone();
            let id = conversation.id;
            tokio::spawn(async move { sam.post_message(&id, &text("ok")).await })
        })
        .collect();
    for s in sends {
        s.await.unwrap().unwrap();
    }
    let here = sam.history(&conversation.id, None, None).await.unwrap();
    assert_eq!(here.items.len(), 20);
    eventually(30, || async {
        let there = kim.history(&conversation.id, None, None).await.ok()?;
        (there.items.len() == 20).then_some(())
    })
    .await;
}
