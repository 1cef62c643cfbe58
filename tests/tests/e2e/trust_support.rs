//! What the trust tests share: topics, posts and profiles as a hostile node signs them,
//! and a hostile node introduced through a hub.
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::api::*;
use kindred_protocol::event::body::peer_learning::Post;
use kindred_protocol::event::body::profile::Profile;
use kindred_protocol::{Audience, EventBody, MemberId, References};
use kindred_tests::TestNode;
use kindred_tests::raw_peer::RawPeer;

pub(crate) async fn topic(admin: &Client, name: &str) {
    admin
        .create_topic(&CreateTopic {
            name: name.into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
}

pub(crate) fn post_body(title: &str) -> EventBody {
    EventBody::Post(Post {
        topic: "Funding".into(),
        title: title.into(),
        body: format!("Body of {title}"),
        tags: vec![],
        content_warning: None,
    })
}

pub(crate) fn profile(name: &str) -> EventBody {
    EventBody::Profile(Profile {
        display_name: name.into(),
        organisation: "Hostile".into(),
        bio: String::new(),
        happy_to_talk_about: "funding".into(),
        listed: true,
        away: false,
    })
}

pub(crate) async fn titles(client: &Client) -> Vec<String> {
    match client.topic_posts("Funding", None, Some(100)).await {
        Ok(page) => page.items.into_iter().filter_map(|p| p.title).collect(),
        Err(_) => Vec::new(),
    }
}

pub(crate) fn id(text: &str) -> MemberId {
    text.parse().unwrap()
}

/// A hostile node `h.test` paired with `hub`'s node: announces itself and lists a member,
/// so every node of the federation binds `h.test` to it.
pub(crate) async fn hostile_via(hub: &TestNode, admin_hub: &Client, seed: u8) -> RawPeer {
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
