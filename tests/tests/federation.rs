//! Federation end to end: real nodes on loopback, paired by invite, replicating over
//! websockets.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kindred_client::{Client, LiveStream};
use kindred_protocol::api::*;
use kindred_protocol::{EventId, MemberId};
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
