//! Issue 16, item 9: no list is sent whole. A hostile node cannot fill the people
//! directory, and the directory and long threads come a page at a time (API and web).
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use kindred_protocol::api::*;
use kindred_protocol::{Audience, References};
use kindred_tests::raw_peer::RawPeer;
use kindred_tests::web::Browser;
use kindred_tests::{PASSWORD, TestNode};

use super::trust_support::profile;

#[tokio::test]
async fn a_hostile_node_cannot_fill_the_people_directory() {
    let a = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.federation.profiles_per_node = 60;
    })
    .await;
    let admin = a.admin().await;
    let invite = admin.create_peer_invite().await.unwrap();
    let mut h = RawPeer::paired(&a.url(), &invite.token, 97, "h.test")
        .await
        .unwrap();
    // A hundred made-up members, each with a listed profile.
    let mut events = vec![h.announcement(1, "http://127.0.0.1:9")];
    for i in 0..100u64 {
        events.push(h.sign(
            Audience::Shared { seq: i + 2 },
            &h.member(&format!("fake{i:03}")),
            References::default(),
            profile(&format!("Fake {i:03}")),
        ));
    }
    assert!(h.replicate(1, events).await);
    // An update of a profile already held still applies.
    let renamed = h.sign(
        Audience::Shared { seq: 102 },
        &h.member("fake000"),
        References::default(),
        profile("Renamed Fake"),
    );
    assert!(h.replicate(2, vec![renamed]).await);

    // Walk the directory a page at a time: each page is small, nobody is listed twice,
    // the order is by name, and only the node's share of profiles is there.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = admin
            .people_page(Some("Hostile"), after.as_deref(), Some(25))
            .await
            .unwrap();
        assert!(page.items.len() <= 25);
        seen.extend(page.items.iter().map(|p| p.display_name.clone()));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60, "{seen:?}");
    let distinct: HashSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), 60);
    let mut sorted = seen.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert_eq!(seen, sorted);
    assert!(seen.contains(&"Renamed Fake".to_owned()));
    // The rest were refused, and the admin can see that on the Peers page.
    let peers = admin.peers().await.unwrap();
    let hostile = peers.iter().find(|p| p.name.as_str() == "h.test").unwrap();
    assert!(hostile.refused >= 40, "{hostile:?}");
    // A made-up cursor is a clear error, not a crash.
    let e = admin
        .people_page(None, Some("not-a-cursor"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    // The web page shows one page and a link to the next.
    let mut browser = Browser::new(&a.url());
    browser.sign_in("admin", PASSWORD).await;
    let page = browser.get("/people?q=Hostile").await;
    assert!(page.has("More people"));
    assert!(page.html.matches("card-title").count() <= 50);
}

#[tokio::test]
async fn a_long_thread_comes_a_page_at_a_time() {
    let node = TestNode::start_with(|c| c.limits.requests_per_minute = 100_000).await;
    let admin = node.admin().await;
    super::trust_support::topic(&admin, "Funding").await;
    let post = admin
        .create_post(
            "Funding",
            &NewPost {
                title: "A busy thread".into(),
                body: "Tell us what worked".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let mut written = Vec::new();
    for i in 0..120 {
        let r = admin
            .reply(
                &post.id,
                &NewReply {
                    body: format!("Reply number {i}"),
                    reply_to: None,
                    content_warning: None,
                },
            )
            .await
            .unwrap();
        written.push(r.id);
    }
    // The first page: 50 replies, the oldest, and a cursor.
    let first = admin.thread(&post.id).await.unwrap();
    assert_eq!(first.replies.len(), 50);
    assert!(first.next_cursor.is_some());
    // Every reply once, in order, page after page.
    let mut read = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = admin
            .thread_page(&post.id, after.as_deref(), Some(40))
            .await
            .unwrap();
        assert_eq!(page.post.id, post.id);
        read.extend(page.replies.iter().map(|r| r.id));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(read, written);
    let e = admin
        .thread_page(&post.id, Some("1.2"), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));

    // The web page: the first 50, "Show more replies", and a link to a late reply opens
    // the page it is on.
    let mut browser = Browser::new(&node.url());
    browser.sign_in("admin", PASSWORD).await;
    let page = browser.get(&format!("/posts/{}", post.id)).await;
    assert!(page.has("Reply number 0"));
    assert!(!page.has("Reply number 50<"));
    assert!(page.has("Show more replies"));
    let more = page
        .html
        .split("href=\"")
        .find(|s| s.contains("after="))
        .unwrap();
    let more = more.split('"').next().unwrap().replace("&amp;", "&");
    let next = browser.get(&more).await;
    assert!(next.has("Reply number 50"), "{more}");
    assert!(next.has("Show the first replies"));
    let late = written[110];
    let at = browser.get(&format!("/posts/{}?at={late}", post.id)).await;
    assert!(at.has(&format!("id=\"post-{late}\"")));
}
