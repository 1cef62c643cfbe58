//! Keeping people safe from the web with JavaScript off: a member reports a post with the
//! help lines in view, a moderator works the queue (hiding shows the reason in place;
//! suspending asks first), the suspended member asks for a review from the sign-in page,
//! and the guidelines are linked from every page.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::*;
use kindred_tests::web::Browser;
use kindred_tests::{PASSWORD, TestNode};

#[tokio::test]
async fn a_report_from_the_web_to_a_decision() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    admin
        .create_topic(&CreateTopic {
            name: "funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let ann = node.member(&admin, "ann").await;
    node.member(&admin, "bo").await;
    let post = ann
        .create_post(
            "funding",
            &NewPost {
                title: "Grant tips".into(),
                body: "Apply early".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let thread = format!("/posts/{}", post.id);

    let mut bo = Browser::new(&node.url());
    bo.sign_in("bo", PASSWORD).await;
    let page = bo.get(&thread).await;
    let report_link = format!("/report?event={}", post.id);
    assert!(page.has(&report_link), "{}", page.html);
    assert!(page.has("href=\"/guidelines\""));
    let form = bo.get(&report_link).await;
    assert_eq!(form.status, 200);
    assert!(
        form.has("the post “Grant tips” by ann (display)"),
        "{}",
        form.html
    );
    assert!(form.has("Samaritans"));
    // No reason chosen: the form comes back with the problem.
    let missing = bo
        .submit(
            &report_link,
            "/report",
            &[("event", &post.id.to_string()), ("back", &thread)],
        )
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.has("Choose the reason closest to your concern."));
    let sent = bo
        .submit(
            &report_link,
            "/report",
            &[
                ("event", &post.id.to_string()),
                ("reason", "harmful"),
                ("note", "Names a client"),
                ("back", &thread),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    assert_eq!(sent.location.as_deref(), Some(thread.as_str()));
    assert!(bo.follow(&sent).await.has("Thank you for telling us."));
    // Off-site "back" addresses go home instead.
    let elsewhere = bo
        .submit(
            &report_link,
            "/report",
            &[
                ("event", &post.id.to_string()),
                ("reason", "spam"),
                ("back", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(elsewhere.location.as_deref(), Some("/"));

    let mut mod_b = Browser::new(&node.url());
    mod_b.sign_in("admin", PASSWORD).await;
    let home = mod_b.get("/").await;
    assert!(home.has("1 to review"), "{}", home.html);
    let queue = mod_b.get("/admin/moderation").await;
    assert!(queue.has("Names a client"));
    assert!(queue.has("value=\"hide\""));
    assert!(queue.has("value=\"suspend\""));
    // Hiding needs a reason.
    let no_reason = mod_b
        .submit(
            "/admin/moderation",
            "/admin/moderation/act",
            &[
                ("event", &post.id.to_string()),
                ("action", "hide"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(no_reason.status, 400);
    let hidden = mod_b
        .submit(
            "/admin/moderation",
            "/admin/moderation/act",
            &[
                ("event", &post.id.to_string()),
                ("action", "hide"),
                ("note", "Shares a client's details"),
            ],
        )
        .await;
    assert_eq!(hidden.status, 303, "{}", hidden.html);
    let seen = bo.get(&thread).await;
    assert!(
        seen.has("Hidden by moderators here: <bdi>Shares a client&#39;s details</bdi>"),
        "{}",
        seen.html
    );
    assert!(!seen.has("Apply early"));

    // Suspending asks first, then suspends.
    let ask = mod_b
        .submit(
            "/admin/moderation",
            "/admin/moderation/act",
            &[
                ("member", "@ann:localhost"),
                ("action", "suspend"),
                ("note", "Repeated sharing of clients' details"),
            ],
        )
        .await;
    assert_eq!(ask.status, 200, "{}", ask.html);
    assert!(ask.has("for 14 days?"), "{}", ask.html);
    assert!(node.client().login("ann", PASSWORD).await.is_ok());
    let done = mod_b
        .submit(
            "/admin/moderation",
            "/admin/moderation/act",
            &[
                ("member", "@ann:localhost"),
                ("action", "suspend"),
                ("note", "Repeated sharing of clients' details"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert!(node.client().login("ann", PASSWORD).await.is_err());

    // Ann asks for a review without signing in.
    let mut ann_b = Browser::new(&node.url());
    let signin = ann_b.get("/signin").await;
    assert!(signin.has("href=\"/appeal\""));
    let appealed = ann_b
        .submit(
            "/appeal",
            "/appeal",
            &[
                ("username", "ann"),
                ("password", PASSWORD),
                ("note", "The details were made up for the example"),
            ],
        )
        .await;
    assert_eq!(appealed.status, 200, "{}", appealed.html);
    assert!(appealed.has("Your request is with the moderators"));
    let queue = mod_b.get("/admin/moderation").await;
    assert!(queue.has("The details were made up for the example"));
    assert!(queue.has("value=\"reinstate\""));
    let log = mod_b.get("/admin/moderation/log").await;
    assert!(log.has("Repeated sharing of clients"));
    let csv = mod_b.get("/admin/moderation/log.csv").await;
    assert!(csv.html.starts_with("seq,at,by,action"), "{}", csv.html);

    let guidelines = ann_b.get("/guidelines").await;
    assert_eq!(guidelines.status, 200);
    assert!(guidelines.has("Be kind"));
}

#[tokio::test]
async fn muting_blocking_and_a_break_from_the_web() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    admin
        .create_topic(&CreateTopic {
            name: "funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let bo = node.member(&admin, "bo").await;
    node.member(&admin, "ann").await;
    let post = bo
        .create_post(
            "funding",
            &NewPost {
                title: "Our café grant".into(),
                body: "It worked".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let mut ann = Browser::new(&node.url());
    ann.sign_in("ann", PASSWORD).await;
    let settings = ann.get("/settings").await;
    assert!(settings.has("href=\"/settings/safety\""));
    let saved = ann
        .submit(
            "/settings/safety",
            "/settings/safety",
            &[("words", "CAFE\n\nself harm"), ("break", "keep")],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let page = ann.follow(&saved).await;
    assert!(page.has("Saved. Only what you see has changed."));
    assert!(page.has("CAFE\nself harm"), "{}", page.html);
    let thread = ann.get(&format!("/posts/{}", post.id)).await;
    assert!(
        thread.has("Collapsed: contains a word you muted"),
        "{}",
        thread.html
    );
    assert!(
        thread.has("<title>Collapsed: contains a word you muted"),
        "{}",
        thread.html
    );
    assert!(!thread.has("<h1 id=\"post-title\">Our café grant"));

    // Block from the profile page, unblock from the safety page.
    let profile = ann.get("/people/@bo:localhost").await;
    assert!(
        profile.has("Block <bdi>bo (display)</bdi>"),
        "{}",
        profile.html
    );
    let blocked = ann
        .submit("/people/@bo:localhost", "/people/@bo:localhost/block", &[])
        .await;
    assert_eq!(blocked.status, 303, "{}", blocked.html);
    let safety = ann.get("/settings/safety").await;
    assert!(safety.has("bo (display)"));
    let unblocked = ann
        .submit("/settings/safety", "/people/%40bo%3Alocalhost/unblock", &[])
        .await;
    assert_eq!(unblocked.status, 303, "{}", unblocked.html);
    let none = ann.get("/settings/safety").await;
    assert!(none.has("Nobody."));
    let odd = ann
        .submit("/settings/safety", "/people/@bo:localhost/delete", &[])
        .await;
    assert_eq!(odd.status, 404);

    // A break of three days.
    let on = ann
        .submit(
            "/settings/safety",
            "/settings/safety",
            &[("words", ""), ("break", "3")],
        )
        .await;
    assert_eq!(on.status, 303);
    assert!(
        ann.get("/settings/safety")
            .await
            .has("You are on a break until")
    );
}

#[tokio::test]
async fn a_safeguarding_concern_from_the_web() {
    let node = TestNode::start_with(|c| {
        c.moderation.safeguarding_leads = vec!["lee".into()];
    })
    .await;
    let admin = node.admin().await;
    node.member(&admin, "lee").await;
    node.member(&admin, "bo").await;
    let mut mod_b = Browser::new(&node.url());
    mod_b.sign_in("admin", PASSWORD).await;
    let page = mod_b.get("/admin/safeguarding?member=@bo:localhost").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.has("value=\"@bo:localhost\""));
    let missing = mod_b
        .submit(
            "/admin/safeguarding",
            "/admin/safeguarding",
            &[("member", "@bo:localhost"), ("concern", " ")],
        )
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.has("Please describe the concern."));
    let sent = mod_b
        .submit(
            "/admin/safeguarding",
            "/admin/safeguarding",
            &[
                ("member", "@bo:localhost"),
                ("concern", "Said they feel unsafe at home"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let mut lee = Browser::new(&node.url());
    lee.sign_in("lee", PASSWORD).await;
    let mine = lee.get("/admin/safeguarding").await;
    assert!(mine.has("Said they feel unsafe at home"), "{}", mine.html);
    let ack = lee
        .submit(
            "/admin/safeguarding",
            "/admin/safeguarding/1/acknowledge",
            &[],
        )
        .await;
    assert_eq!(ack.status, 303, "{}", ack.html);
    assert!(lee.get("/admin/safeguarding").await.has(">Read</span>"));
    // The member concerned cannot open the page.
    let mut bo = Browser::new(&node.url());
    bo.sign_in("bo", PASSWORD).await;
    assert_eq!(bo.get("/admin/safeguarding").await.status, 403);
}
