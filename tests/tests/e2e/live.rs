//! Live updates over the member websocket.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kindred_client::LiveStream;
use kindred_protocol::api::*;
use kindred_tests::TestNode;

async fn next(stream: &mut LiveStream) -> StreamMessage {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a live update within 10 s")
        .expect("stream open")
        .unwrap()
}

#[tokio::test]
async fn new_posts_replies_reactions_edits_and_retractions_arrive_live() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    admin
        .create_topic(&CreateTopic {
            name: "Lived experience".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let sam = node.member(&admin, "sam").await;
    let kim = node.member(&admin, "kim").await;

    let mut stream = kim.stream().await.unwrap();
    match next(&mut stream).await {
        StreamMessage::Ready { member } => assert_eq!(member.to_string(), "@kim:localhost"),
        other => panic!("expected ready, got {other:?}"),
    }

    let p = sam
        .create_post(
            "Lived experience",
            &NewPost {
                title: "Peer support groups".into(),
                body: "What we learned running them.".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    match next(&mut stream).await {
        StreamMessage::New { post } => {
            assert_eq!(post.id, p.id);
            assert_eq!(post.title.as_deref(), Some("Peer support groups"));
        }
        other => panic!("expected the new post, got {other:?}"),
    }

    let r = sam
        .reply(
            &p.id,
            &NewReply {
                body: "More soon".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(next(&mut stream).await, StreamMessage::New { post } if post.id == r.id));

    sam.react(&p.id, "thank-you").await.unwrap();
    match next(&mut stream).await {
        StreamMessage::Reactions { id, reactions, .. } => {
            assert_eq!(id, p.id);
            assert_eq!(reactions[0].count, 1);
        }
        other => panic!("expected reactions, got {other:?}"),
    }

    sam.edit(
        &p.id,
        &EditPost {
            title: None,
            body: "Edited".into(),
            tags: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();
    assert!(
        matches!(next(&mut stream).await, StreamMessage::Edited { post } if post.body == "Edited")
    );

    sam.retract(&p.id, None).await.unwrap();
    assert!(matches!(next(&mut stream).await, StreamMessage::Retracted { id } if id == p.id));
}

#[tokio::test]
async fn the_stream_needs_a_valid_session() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let stranger = node.client().with_token("kds_not-a-real-token");
    assert!(stranger.stream().await.is_err());
    assert!(node.client().stream().await.is_err());
    assert!(admin.stream().await.is_ok());
}

#[tokio::test]
async fn a_client_that_does_not_read_is_disconnected_without_slowing_others() {
    // Two stream slots per session: the stalled stream's is free again once it is closed.
    let node = TestNode::start_with(|c| {
        c.limits.stream_queue = 4;
        c.limits.streams_per_session = 2;
    })
    .await;
    let admin = node.admin().await;
    admin
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    // This one never reads; the other reads as updates come.
    let mut stalled = admin.stream().await.unwrap();
    let mut reader = admin.stream().await.unwrap();
    assert!(matches!(
        next(&mut reader).await,
        StreamMessage::Ready { .. }
    ));
    // Enough data (about 4.5 MB) to fill the stalled client's socket buffers. The reader
    // keeps up with every post: the stalled one slows nobody.
    let posts = 150;
    for i in 0..posts {
        admin
            .create_post(
                "Funding",
                &NewPost {
                    title: format!("Post {i}"),
                    body: "x".repeat(30 * 1024),
                    tags: vec![],
                    content_warning: None,
                },
            )
            .await
            .unwrap();
        assert!(matches!(next(&mut reader).await, StreamMessage::New { .. }));
    }
    // The node gives up on the stalled stream (it has not read for seconds): its slot
    // comes free, so a new stream can open while the reader's is still open.
    let mut freed = false;
    for _ in 0..300 {
        match admin.stream().await {
            Ok(_) => {
                freed = true;
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(freed, "the stalled stream was not closed");
    // It gets what was already buffered, then the stream ends.
    let mut received = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stalled.next()).await {
            Ok(Some(Ok(_))) => received += 1,
            Ok(Some(Err(_)) | None) => break,
            Err(_) => panic!("the stalled stream did not end"),
        }
    }
    assert!(
        received < posts + 1,
        "the stalled client was cut off (got {received})"
    );
}
