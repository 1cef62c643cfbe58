//! Peer learning end to end: topics, posts, threads, reactions, edits, retractions,
//! pagination, search, and organisation-only topics.
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::api::*;
use kindred_tests::TestNode;

fn post(title: &str, body: &str) -> NewPost {
    NewPost {
        title: title.into(),
        body: body.into(),
        tags: vec![],
        content_warning: None,
    }
}

async fn topic(admin: &Client, name: &str, shared: bool) {
    admin
        .create_topic(&CreateTopic {
            name: name.into(),
            description: format!("About {name}"),
            shared,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn members_post_reply_and_react_and_see_each_other() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    topic(&admin, "Burnout and wellbeing", true).await;
    let sam = node.member(&admin, "sam").await;
    let kim = node.member(&admin, "kim").await;

    let mut p = post("What helped me", "Saying **no** to one more project.");
    p.tags = vec!["Boundaries".into(), "#boundaries".into(), "rest".into()];
    p.content_warning = Some("burnout".into());
    let created = sam.create_post("burnout and wellbeing", &p).await.unwrap();
    assert_eq!(created.tags, ["boundaries", "rest"]);
    assert_eq!(created.author_name, "sam (display)");
    assert_eq!(created.content_warning.as_deref(), Some("burnout"));
    assert!(created.body_html.contains("<strong>no</strong>"));

    let reply = kim
        .reply(
            &created.id,
            &NewReply {
                body: "Thank you for sharing this.".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let nested = sam
        .reply(
            &created.id,
            &NewReply {
                body: "You're welcome".into(),
                reply_to: Some(reply.id),
                content_warning: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(nested.reply_to, Some(reply.id));
    assert_eq!(nested.thread_root, Some(created.id));

    let counts = kim.react(&created.id, "i-hear-you").await.unwrap();
    assert_eq!(counts[0].count, 1);
    assert!(counts[0].mine);
    // Reacting twice changes nothing.
    let counts = kim.react(&created.id, "i-hear-you").await.unwrap();
    assert_eq!(counts[0].count, 1);
    sam.react(&created.id, "i-hear-you").await.unwrap();

    let thread = kim.thread(&created.id).await.unwrap();
    assert_eq!(thread.post.reply_count, 2);
    assert_eq!(thread.replies.len(), 2);
    assert_eq!(thread.replies[0].id, reply.id);
    let hear = &thread.post.reactions[0];
    assert_eq!(
        (hear.reaction.as_str(), hear.count, hear.mine),
        ("i-hear-you", 2, true)
    );

    let counts = kim.unreact(&created.id, "i-hear-you").await.unwrap();
    assert_eq!((counts[0].count, counts[0].mine), (1, false));

    let e = kim.react(&created.id, "thumbs-down").await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));

    let topics = kim.topics().await.unwrap();
    assert_eq!(topics.len(), 1);
    assert_eq!((topics[0].posts, topics[0].replies), (1, 2));
    assert!(topics[0].last_activity.is_some());
}

#[tokio::test]
async fn authors_edit_and_retract_and_moderators_retract_local_posts() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    topic(&admin, "Funding", true).await;
    let sam = node.member(&admin, "sam").await;
    let kim = node.member(&admin, "kim").await;

    let original = sam
        .create_post("Funding", &post("Bid tips", "Draft"))
        .await
        .unwrap();
    let edited = sam
        .edit(
            &original.id,
            &EditPost {
                title: Some("Bid tips (updated)".into()),
                body: "Start early and ask for a call.".into(),
                tags: Some(vec!["grants".into()]),
                content_warning: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.id, original.id, "the id is stable across edits");
    assert_eq!(edited.title.as_deref(), Some("Bid tips (updated)"));
    assert!(edited.edited_at.is_some());

    let e = kim
        .edit(
            &original.id,
            &EditPost {
                title: None,
                body: "hijack".into(),
                tags: None,
                content_warning: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    let e = kim.retract(&original.id, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));

    // The author retracts their own post; it disappears everywhere.
    sam.retract(&original.id, Some("posted too soon".into()))
        .await
        .unwrap();
    let e = kim.thread(&original.id).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound));
    assert!(
        kim.topic_posts("Funding", None, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(kim.topics().await.unwrap()[0].posts, 0);

    // A moderator (here the admin) can retract a member's post from this node.
    let other = kim
        .create_post("Funding", &post("Question", "Anyone?"))
        .await
        .unwrap();
    admin
        .retract(&other.id, Some("off topic".into()))
        .await
        .unwrap();
    assert!(
        kim.topic_posts("Funding", None, None)
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn timelines_page_newest_first_with_cursors() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    topic(&admin, "Events and reflections", true).await;
    let sam = node.member(&admin, "sam").await;
    for i in 0..25 {
        sam.create_post(
            "Events and reflections",
            &post(&format!("Reflection {i}"), "x"),
        )
        .await
        .unwrap();
    }
    let mut titles = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = sam
            .topic_posts("Events and reflections", cursor.as_deref(), Some(10))
            .await
            .unwrap();
        titles.extend(page.items.iter().map(|p| p.title.clone().unwrap()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).rev().map(|i| format!("Reflection {i}")).collect();
    assert_eq!(titles, expected);

    let mine = sam.member_posts("sam", None, Some(5)).await.unwrap();
    assert_eq!(mine.items.len(), 5);
    assert_eq!(mine.items[0].title.as_deref(), Some("Reflection 24"));
    let by_id = sam
        .member_posts("@sam:localhost", None, Some(100))
        .await
        .unwrap();
    assert_eq!(by_id.items.len(), 25);
}

#[tokio::test]
async fn search_ranks_titles_bodies_and_tags_and_forgets_retracted_posts() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    topic(&admin, "Co-production", true).await;
    let sam = node.member(&admin, "sam").await;
    let mut tagged = post("Working with people", "We paid people for their time.");
    tagged.tags = vec!["coproduction".into()];
    let a = sam.create_post("Co-production", &tagged).await.unwrap();
    let b = sam
        .create_post(
            "Co-production",
            &post(
                "Coproduction from the start",
                "Coproduction means sharing power early.",
            ),
        )
        .await
        .unwrap();
    sam.create_post(
        "Co-production",
        &post("Unrelated", "Minutes of the meeting."),
    )
    .await
    .unwrap();

    let hits = sam.search("coproduction", None).await.unwrap();
    let ids: Vec<_> = hits.iter().map(|h| h.post.id).collect();
    assert_eq!(ids, [b.id, a.id], "title and body beat a tag alone");
    assert!(hits[0].score > hits[1].score);

    let reply = sam
        .reply(
            &a.id,
            &NewReply {
                body: "Paying people matters: vouchers worked for us.".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let hits = sam.search("vouchers", None).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].post.id, reply.id);

    sam.retract(&b.id, None).await.unwrap();
    let hits = sam.search("coproduction", None).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.post.id).collect::<Vec<_>>(), [a.id]);

    sam.edit(
        &a.id,
        &EditPost {
            title: Some("Paying people".into()),
            body: "Honoraria".into(),
            tags: Some(vec![]),
            content_warning: None,
        },
    )
    .await
    .unwrap();
    assert!(sam.search("coproduction", None).await.unwrap().is_empty());
    assert_eq!(sam.search("honoraria", None).await.unwrap().len(), 1);
    // A second edit takes out what the first one put in (the index reads the version it
    // indexed again to know its words).
    sam.edit(
        &a.id,
        &EditPost {
            title: Some("Paying people".into()),
            body: "Stipends".into(),
            tags: Some(vec![]),
            content_warning: None,
        },
    )
    .await
    .unwrap();
    assert!(sam.search("honoraria", None).await.unwrap().is_empty());
    let hits = sam.search("stipends", None).await.unwrap();
    assert_eq!(hits.iter().map(|h| h.post.id).collect::<Vec<_>>(), [a.id]);

    let e = sam.search("a", None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
}

#[tokio::test]
async fn organisation_only_topics_are_marked_local() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    topic(&admin, "Staff room", false).await;
    topic(&admin, "Funding", true).await;
    let local = admin
        .create_post("Staff room", &post("Rota", "Who covers Friday?"))
        .await
        .unwrap();
    let shared = admin
        .create_post("Funding", &post("Bids", "Tips"))
        .await
        .unwrap();
    assert!(local.local_only);
    assert!(!shared.local_only);
    let reply = admin
        .reply(
            &local.id,
            &NewReply {
                body: "Me".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    assert!(reply.local_only, "replies stay where their thread is");
}

#[tokio::test]
async fn post_bodies_are_rendered_safely() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    topic(&admin, "Funding", true).await;
    let p = admin
        .create_post(
            "Funding",
            &post(
                "Links",
                "<script>alert(1)</script>\n\n[x](javascript:alert(1)) ![i](https://t.example/p.png)",
            ),
        )
        .await
        .unwrap();
    assert!(!p.body_html.contains("<script"), "{}", p.body_html);
    assert!(
        !p.body_html.contains("href=\"javascript"),
        "{}",
        p.body_html
    );
    assert!(p.body_html.contains("&lt;script&gt;"), "{}", p.body_html);
    assert!(!p.body_html.contains("<img"), "{}", p.body_html);
}

#[tokio::test]
async fn writing_in_a_topic_only_other_organisations_have_says_who_adds_it() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    kindred_tests::pair(&admin_a, &admin_b).await;
    admin_a
        .create_topic(&CreateTopic {
            name: "General".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let post = NewPost {
        title: "Hello".into(),
        body: "From A".into(),
        tags: vec![],
        content_warning: None,
    };
    admin_a.create_post("General", &post).await.unwrap();
    kindred_tests::eventually(20, || async {
        let topics = admin_b.topics().await.ok()?;
        topics.iter().any(|t| t.name == "General").then_some(())
    })
    .await;
    let e = admin_b.create_post("General", &post).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound));
    assert!(e.to_string().contains("a moderator here adds it"), "{e}");
}
