//! A member's own safety tools end to end: muted words in any form (accents typed two
//! ways, full-width letters, Chinese without spaces) and muted topics fold posts, replies
//! and messages away for them only; blocking someone folds their posts away and leaves
//! them out of the directory; a break takes the member out of the directory and
//! silences the notification badge until it ends.
#![allow(clippy::unwrap_used)]

use kindred_client::{Client, ClientError};
use kindred_protocol::MemberId;
use kindred_protocol::api::*;
use kindred_tests::{TestNode, eventually, pair};

fn status(e: ClientError) -> u16 {
    match e {
        ClientError::Api { status, .. } => status,
        other => panic!("not an API refusal: {other}"),
    }
}

async fn post(client: &Client, topic: &str, title: &str, body: &str) -> PostView {
    client
        .create_post(
            topic,
            &NewPost {
                title: title.into(),
                body: body.into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap()
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn muted_words_topics_and_blocks_fold_things_away_for_one_reader() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;
    topic(&admin_a, "Funding").await;
    topic(&admin_a, "Wellbeing").await;
    topic(&admin_b, "Wellbeing").await;
    let ann = a.member(&admin_a, "ann").await;
    let cy = a.member(&admin_a, "cy").await;
    let bo = b.member(&admin_b, "bo").await;

    let set = ann
        .update_safety(&UpdateSafety {
            muted_words: Some(vec![
                "Café".into(),
                "self harm".into(),
                "焦虑".into(),
                "cafe".into(),
            ]),
            muted_topics: Some(vec!["FUNDING".into()]),
            break_days: None,
        })
        .await
        .unwrap();
    // The same word typed two ways is one mute; the topic keeps its name.
    assert_eq!(set.muted_words, ["Café", "self harm", "焦虑"]);
    assert_eq!(set.muted_topics, ["Funding"]);

    let cafe = post(&bo, "Wellbeing", "Our CAFE meet-up", "Come along").await;
    let han = post(&bo, "Wellbeing", "最近", "我最近很焦虑").await;
    let plain = post(&bo, "Wellbeing", "Cafeteria tips", "Bring lunch").await;
    let grant = post(&cy, "Funding", "A grant", "Closes Friday").await;
    for id in [cafe.id, han.id, plain.id] {
        eventually(30, || async { ann.thread(&id).await.ok() }).await;
    }
    let seen = |p: PostView| p.muted;
    assert_eq!(
        seen(ann.thread(&cafe.id).await.unwrap().post).as_deref(),
        Some("contains a word you muted")
    );
    assert_eq!(
        seen(ann.thread(&han.id).await.unwrap().post).as_deref(),
        Some("contains a word you muted")
    );
    assert_eq!(seen(ann.thread(&plain.id).await.unwrap().post), None);
    assert_eq!(
        seen(ann.thread(&grant.id).await.unwrap().post).as_deref(),
        Some("in a topic you muted")
    );
    // Folded away, not hidden: the words are still there to open, and nobody else is
    // affected.
    assert_eq!(ann.thread(&cafe.id).await.unwrap().post.body, "Come along");
    assert_eq!(cy.thread(&cafe.id).await.unwrap().post.muted, None);

    // A reply with a muted phrase, and a chat message.
    let reply = cy
        .reply(
            &plain.id,
            &NewReply {
                body: "Talking about Self-Harm openly helped our team".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let thread = ann.thread(&plain.id).await.unwrap();
    let r = thread.replies.iter().find(|r| r.id == reply.id).unwrap();
    assert_eq!(r.muted.as_deref(), Some("contains a word you muted"));
    let conversation = cy
        .create_conversation(&CreateConversation {
            members: vec![MemberId::parse("@ann:a.test").unwrap()],
            name: None,
        })
        .await
        .unwrap();
    cy.post_message(
        &conversation.id,
        &NewMessage {
            body: "Meet at the ｃａｆé?".into(),
            reply_to: None,
        },
    )
    .await
    .unwrap();
    let history = ann.history(&conversation.id, None, None).await.unwrap();
    assert_eq!(
        history.items[0].muted.as_deref(),
        Some("contains a word you muted")
    );

    // Blocking someone folds what they post away and leaves them out of the directory.
    bo.update_me(&UpdateMe {
        listed: Some(true),
        ..UpdateMe::default()
    })
    .await
    .unwrap();
    eventually(30, || async {
        (!ann.people(Some("bo")).await.ok()?.is_empty()).then_some(())
    })
    .await;
    ann.block_member(&MemberId::parse("@bo:b.test").unwrap())
        .await
        .unwrap();
    assert!(ann.people(Some("bo")).await.unwrap().is_empty());
    assert!(!cy.people(Some("bo")).await.unwrap().is_empty());
    assert_eq!(
        ann.thread(&plain.id).await.unwrap().post.muted.as_deref(),
        Some("from someone you blocked")
    );

    // Limits are explained.
    let long = ann
        .update_safety(&UpdateSafety {
            muted_words: Some(vec!["x".repeat(101)]),
            ..UpdateSafety::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status(long), 400);
    let unknown = ann
        .update_safety(&UpdateSafety {
            muted_topics: Some(vec!["Gardening".into()]),
            ..UpdateSafety::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status(unknown), 400);
    let too_long = ann
        .update_safety(&UpdateSafety {
            break_days: Some(400),
            ..UpdateSafety::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status(too_long), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_break_leaves_the_directory_and_silences_the_badge() {
    let a = TestNode::named("a.test").await;
    let admin = a.admin().await;
    topic(&admin, "Wellbeing").await;
    let ann = a.member(&admin, "ann").await;
    let cy = a.member(&admin, "cy").await;
    ann.update_me(&UpdateMe {
        listed: Some(true),
        ..UpdateMe::default()
    })
    .await
    .unwrap();
    assert!(!cy.people(Some("ann")).await.unwrap().is_empty());
    let mine = post(&ann, "Wellbeing", "Rest", "Taking time off").await;

    let on = ann
        .update_safety(&UpdateSafety {
            break_days: Some(7),
            ..UpdateSafety::default()
        })
        .await
        .unwrap();
    assert!(on.break_until.is_some());
    assert!(cy.people(Some("ann")).await.unwrap().is_empty());
    let person = cy
        .person(&MemberId::parse("@ann:a.test").unwrap())
        .await
        .unwrap();
    assert!(!person.can_message, "{person:?}");
    cy.reply(
        &mine.id,
        &NewReply {
            body: "Enjoy it".into(),
            reply_to: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();
    // The notification is kept, quietly.
    let list = eventually(10, || async {
        let l = ann.notifications(None).await.ok()?;
        (!l.items.is_empty()).then_some(l)
    })
    .await;
    assert_eq!(list.unread, 0);

    let off = ann
        .update_safety(&UpdateSafety {
            break_days: Some(0),
            ..UpdateSafety::default()
        })
        .await
        .unwrap();
    assert_eq!(off.break_until, None);
    assert!(!cy.people(Some("ann")).await.unwrap().is_empty());
    assert_eq!(ann.notifications(None).await.unwrap().unread, 1);
}
