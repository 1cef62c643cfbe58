//! People and chat pages over real HTTP with JavaScript off, across two organisations'
//! nodes: the directory, starting a conversation, sending, unread counts, read markers,
//! groups, muting and leaving.
#![allow(clippy::unwrap_used)]

use kindred_tests::web::Browser;
use kindred_tests::{PASSWORD, TestNode, pair};

/// Lists the signed-in member in the directory from their settings page.
async fn list_me(browser: &mut Browser, name: &str, topics: &str) {
    let saved = browser
        .submit(
            "/settings",
            "/settings/profile",
            &[
                ("display_name", name),
                ("listed", "on"),
                ("read_markers", "on"),
                ("happy_to_talk_about", topics),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
}

#[tokio::test]
async fn two_organisations_chat_from_the_web() {
    let a = TestNode::organisation("alpha.test", "Alpha Community Health").await;
    let b = TestNode::organisation("beta.test", "Beta Wellbeing Hub").await;
    let admin_a = a.admin().await;
    let admin_b = b.admin().await;
    pair(&admin_a, &admin_b).await;
    a.member(&admin_a, "sam").await;
    b.member(&admin_b, "bea").await;
    b.member(&admin_b, "cy").await;

    let mut sam = Browser::new(&a.url());
    sam.sign_in("sam", PASSWORD).await;
    let mut bea = Browser::new(&b.url());
    bea.sign_in("bea", PASSWORD).await;
    let mut cy = Browser::new(&b.url());
    cy.sign_in("cy", PASSWORD).await;

    // Not listed yet: the directory says how to change that.
    let people = sam.get("/people").await;
    assert!(people.has("You are not listed yourself"));
    list_me(&mut sam, "Sam Patel", "volunteer burnout").await;
    list_me(&mut bea, "Bea Brown", "grant writing").await;
    list_me(&mut cy, "Cy Jones", "co-production").await;

    // Bea finds Sam (another organisation) by topic and starts a conversation.
    let found = bea.page_with("/people?q=burnout", "Sam Patel").await;
    assert!(!found.has("Cy Jones"), "the search narrows the list");
    let csrf = found.csrf();
    let started = bea
        .post(
            "/chat/start",
            &[("_csrf", &csrf), ("member", "@sam:alpha.test")],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.html);
    let conversation = started.location.clone().unwrap();
    assert!(conversation.starts_with("/chat/"));
    let open = bea.follow(&started).await;
    assert!(open.has("<h1>Sam Patel</h1>"));
    assert!(open.has("No messages yet"));

    // An empty message is refused next to the field.
    let empty = bea
        .submit(
            &conversation,
            &format!("{conversation}/send"),
            &[("body", "  ")],
        )
        .await;
    assert_eq!(empty.status, 400);
    assert!(empty.has("id=\"body-error\""));
    let sent = bea
        .submit(
            &conversation,
            &format!("{conversation}/send"),
            &[("body", "Hello Sam, how did the **grant** go?")],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    assert!(sent.location.clone().unwrap().contains("#message-"));

    // Sam sees it arrive with an unread count, opens it, and answers.
    let list = sam.page_with("/chat", "1 unread").await;
    assert!(list.has("Bea Brown"));
    assert!(list.has("Bea Brown: Hello Sam, how did the grant go?"));
    assert!(
        sam.get("/")
            .await
            .has(">Chat <span class=\"badge unread\">new</span>"),
        "every page's Chat link says there is something new"
    );
    let open = sam.get(&conversation).await;
    assert_eq!(open.status, 200, "the same conversation id at both nodes");
    assert!(
        !open.has("badge unread\">new"),
        "reading it clears the mark at once"
    );
    assert!(open.has("<strong>grant</strong>"), "Markdown is rendered");
    assert!(
        open.has("(<bdi>Beta Wellbeing Hub</bdi>)"),
        "the author's organisation is shown"
    );
    assert!(!sam.get("/chat").await.has("unread"), "opening it read it");
    let reply = sam
        .submit(
            &conversation,
            &format!("{conversation}/send"),
            &[("body", "It went well, thank you!")],
        )
        .await;
    assert_eq!(reply.status, 303);

    // Bea sees the answer; once Bea has read it, Sam sees "Seen by Bea Brown".
    bea.page_with(&conversation, "It went well, thank you!")
        .await;
    sam.page_with(&conversation, "Seen by Bea Brown").await;

    // Sam corrects a message, then takes another back; Bea sees both at her node.
    let open = sam.get(&conversation).await;
    let start = open.html.find("/messages/").unwrap() + "/messages/".len();
    let mid = open.html[start..start + 64].to_owned();
    let edit_path = format!("{conversation}/messages/{mid}/edit");
    let form = sam.get(&edit_path).await;
    assert_eq!(form.status, 200);
    assert!(form.has("It went well, thank you!"));
    assert_eq!(
        bea.get(&edit_path).await.status,
        403,
        "only the author edits"
    );
    let edited = sam
        .submit(
            &edit_path,
            &edit_path,
            &[("body", "It went really well, thank you!")],
        )
        .await;
    assert_eq!(edited.status, 303, "{}", edited.html);
    let extra = sam
        .submit(
            &conversation,
            &format!("{conversation}/send"),
            &[("body", "Oops, wrong conversation")],
        )
        .await;
    let extra_id = extra.location.clone().unwrap();
    let extra_id = extra_id.rsplit("#message-").next().unwrap().to_owned();
    let retract_path = format!("{conversation}/messages/{extra_id}/retract");
    assert!(sam.get(&retract_path).await.has("Oops, wrong conversation"));
    let taken = sam.submit(&retract_path, &retract_path, &[]).await;
    assert_eq!(taken.status, 303, "{}", taken.html);
    assert!(sam.follow(&taken).await.has("Your message is taken back."));
    let at_bea = bea
        .page_with(&conversation, "It went really well, thank you!")
        .await;
    assert!(at_bea.has(" · edited"));
    let mut gone = false;
    for _ in 0..100 {
        if !bea.get(&conversation).await.has("Oops, wrong conversation") {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        gone,
        "the taken-back message disappears at the other node too"
    );

    // Someone not in it gets a clear "not found", at either node.
    assert_eq!(cy.get(&conversation).await.status, 404);

    // A group across both organisations, started from the web.
    let form = cy.page_with("/chat/new", "Sam Patel").await;
    let problem = cy
        .post(
            "/chat/new",
            &[("_csrf", &form.csrf()), ("name", "Peer group")],
        )
        .await;
    assert_eq!(problem.status, 400);
    assert!(problem.has("id=\"people-error\""));
    let group = cy
        .post(
            "/chat/new",
            &[
                ("_csrf", &form.csrf()),
                ("name", "Peer group"),
                ("member", "@sam:alpha.test"),
                ("member", "@bea:beta.test"),
            ],
        )
        .await;
    assert_eq!(group.status, 303, "{}", group.html);
    let group_path = group.location.clone().unwrap();
    let sent = cy
        .submit(
            &group_path,
            &format!("{group_path}/send"),
            &[("body", "Welcome to the peer group")],
        )
        .await;
    assert_eq!(sent.status, 303);
    let list = sam.page_with("/chat", "Peer group").await;
    assert!(list.has("Group"));
    sam.page_with(&group_path, "Welcome to the peer group")
        .await;

    // Mute, then leave: the group is gone from Sam's list.
    let muted = sam
        .submit(
            &group_path,
            &format!("{group_path}/mute"),
            &[("muted", "yes")],
        )
        .await;
    assert_eq!(muted.status, 303);
    assert!(sam.get("/chat").await.has("Muted"));
    let left = sam
        .submit(&group_path, &format!("{group_path}/leave"), &[])
        .await;
    assert_eq!(left.status, 303);
    let list = sam.follow(&left).await;
    assert!(list.has("You have left the conversation."));
    assert!(!list.has("Peer group"));
}
