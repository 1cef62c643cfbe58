//! Bylines lead to people (issue 23, items 11 and 12), over real HTTP with JavaScript
//! off, across two organisations' nodes: a profile page for the author of a post at
//! another organisation, "Send a message" only where the person takes messages, and a
//! reply to a particular reply from the web.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::{CreateTopic, NewPost, UpdateMe};
use kindred_tests::web::Browser;
use kindred_tests::{PASSWORD, TestNode, pair};

#[tokio::test]
async fn bylines_lead_to_people_and_replies_answer_replies() {
    let a = TestNode::organisation("alpha.test", "Alpha Community Health").await;
    let b = TestNode::organisation("beta.test", "Beta Wellbeing Hub").await;
    let admin_a = a.admin().await;
    let admin_b = b.admin().await;
    pair(&admin_a, &admin_b).await;
    admin_a
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let sam = a.member(&admin_a, "sam").await;
    let kim = a.member(&admin_a, "kim").await;
    kim.update_me(&UpdateMe {
        listed: Some(true),
        happy_to_talk_about: Some("volunteer rotas".into()),
        ..UpdateMe::default()
    })
    .await
    .unwrap();
    b.member(&admin_b, "bea").await;
    let post = sam
        .create_post(
            "funding",
            &NewPost {
                title: "Our first lottery bid".into(),
                body: "What we learnt.".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    kim.create_post(
        "funding",
        &NewPost {
            title: "Rotas that worked".into(),
            body: "Two shifts, not three.".into(),
            tags: vec![],
            content_warning: None,
        },
    )
    .await
    .unwrap();

    // Bea at B opens the post and follows its byline to Sam's profile.
    let mut bea = Browser::new(&b.url());
    bea.sign_in("bea", PASSWORD).await;
    let thread_path = format!("/posts/{}", post.id);
    let thread = bea.page_with(&thread_path, "Our first lottery bid").await;
    assert!(
        thread.has("href=\"/people/@sam:alpha.test\""),
        "{}",
        thread.html
    );
    let profile = bea.get("/people/@sam:alpha.test").await;
    assert_eq!(profile.status, 200, "{}", profile.html);
    assert!(profile.has("Alpha Community Health"));
    assert!(profile.has("Our first lottery bid"));
    // Sam is not in the directory: no message button, and the page says why.
    assert!(profile.has("not taking new messages"), "{}", profile.html);
    assert!(!profile.has("action=\"/chat/start\""));
    // Kim is listed: her profile says what she is happy to talk about and offers a message.
    let kims = bea
        .page_with("/people/@kim:alpha.test", "volunteer rotas")
        .await;
    assert!(kims.has("action=\"/chat/start\""), "{}", kims.html);
    assert!(kims.has("Rotas that worked"));
    let started = bea
        .submit(
            "/people/@kim:alpha.test",
            "/chat/start",
            &[("member", "@kim:alpha.test")],
        )
        .await;
    assert_eq!(started.status, 303, "{}", started.html);
    // Nobody by that name, or not a member id: not found.
    assert_eq!(bea.get("/people/@nobody:alpha.test").await.status, 404);
    assert_eq!(bea.get("/people/@no-node-part").await.status, 404);
    // A username names a member of the node itself.
    let mut kim_web = Browser::new(&a.url());
    kim_web.sign_in("kim", PASSWORD).await;
    assert!(
        kim_web
            .get("/people/sam")
            .await
            .has("Our first lottery bid")
    );

    // Bea replies to the post; Sam answers Bea's reply in particular, from the web.
    let replied = bea
        .submit(
            &thread_path,
            &format!("{thread_path}/reply"),
            &[("body", "We applied too: start early.")],
        )
        .await;
    assert_eq!(replied.status, 303, "{}", replied.html);
    let mut sam_web = Browser::new(&a.url());
    sam_web.sign_in("sam", PASSWORD).await;
    let at_a = sam_web.page_with(&thread_path, "start early").await;
    let marker = "?reply_to=";
    let start = at_a.html.find(marker).unwrap() + marker.len();
    let bea_reply = at_a.html[start..start + 64].to_owned();
    let form_path = format!("{thread_path}?reply_to={bea_reply}");
    let form = sam_web.get(&form_path).await;
    assert!(
        form.has("Reply to <bdi>bea (display)</bdi>"),
        "{}",
        form.html
    );
    assert!(form.has("We applied too: start early."));
    assert!(form.has(&format!("name=\"reply_to\" value=\"{bea_reply}\"")));
    let answered = sam_web
        .submit(
            &form_path,
            &format!("{thread_path}/reply"),
            &[("body", "How early is early?"), ("reply_to", &bea_reply)],
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.html);
    let shown = sam_web.follow(&answered).await;
    assert!(shown.has("In reply to <a"), "{}", shown.html);
    // Answering something that is not a reply in this thread: said beside the form, and
    // what was typed is kept.
    let wrong = sam_web
        .submit(
            &form_path,
            &format!("{thread_path}/reply"),
            &[("body", "Kept words"), ("reply_to", &"ab".repeat(32))],
        )
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.html);
    assert!(wrong.has("not in this thread any more"), "{}", wrong.html);
    assert!(wrong.has(">Kept words</textarea>"), "{}", wrong.html);
    // Naming the post itself is a plain reply to it, as in the API.
    let plain = sam_web
        .submit(
            &thread_path,
            &format!("{thread_path}/reply"),
            &[("body", "To the post"), ("reply_to", &post.id.to_string())],
        )
        .await;
    assert_eq!(plain.status, 303, "{}", plain.html);
    // At B too, the reply says whom it answers.
    let at_b = bea.page_with(&thread_path, "How early is early?").await;
    assert!(at_b.has("In reply to <a"), "{}", at_b.html);
}

/// People at a blocked node, even one never paired (known through a hub), and people
/// suspended at their own node, leave the directory and their profiles everywhere; sending
/// to a blocked node's member says why.
#[tokio::test]
async fn blocked_and_suspended_people_leave_other_nodes_directories() {
    use kindred_protocol::MemberId;
    use kindred_protocol::api::{CreateConversation, ErrorCode, UpdateMember};
    use kindred_tests::eventually;

    let a = TestNode::organisation("alpha.test", "Alpha Community Health").await;
    let hub = TestNode::organisation("hub.test", "Hub Trust").await;
    let c = TestNode::organisation("cedar.test", "Cedar Hub").await;
    let (admin_a, admin_hub, admin_c) = (a.admin().await, hub.admin().await, c.admin().await);
    pair(&admin_a, &admin_hub).await;
    pair(&admin_hub, &admin_c).await;
    let reader = a.member(&admin_a, "rae").await;
    let listed = UpdateMe {
        listed: Some(true),
        happy_to_talk_about: Some("rotas".into()),
        ..UpdateMe::default()
    };
    c.member(&admin_c, "cy")
        .await
        .update_me(&listed)
        .await
        .unwrap();
    hub.member(&admin_hub, "hal")
        .await
        .update_me(&listed)
        .await
        .unwrap();
    let cy = MemberId::parse("@cy:cedar.test").unwrap();
    let hal = MemberId::parse("@hal:hub.test").unwrap();
    let listed_at_a = |who: MemberId| {
        let reader = reader.clone();
        async move {
            let page = reader.people_page(None, None, None).await.unwrap();
            page.items.iter().any(|p| p.member == who)
        }
    };
    eventually(20, || async {
        (listed_at_a(cy.clone()).await && listed_at_a(hal.clone()).await).then_some(())
    })
    .await;
    assert!(reader.person(&cy).await.unwrap().can_message);

    // A blocks C by name (never paired with it): its people are gone from A.
    admin_a.block_peer_named("cedar.test").await.unwrap();
    assert!(!listed_at_a(cy.clone()).await);
    assert_eq!(
        reader.person(&cy).await.unwrap_err().code(),
        Some(ErrorCode::NotFound)
    );
    let e = reader
        .create_conversation(&CreateConversation {
            members: vec![cy.clone()],
            name: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    assert!(e.to_string().contains("blocked"), "{e}");

    // Rae talks with Hal; then the hub suspends Hal: A stops listing Hal, offers no way to
    // write, and a message in their conversation is refused with the reason.
    let talk = reader
        .create_conversation(&CreateConversation {
            members: vec![hal.clone()],
            name: None,
        })
        .await
        .unwrap();
    admin_hub
        .update_member(
            "hal",
            &UpdateMember {
                suspended: Some(true),
                ..UpdateMember::default()
            },
        )
        .await
        .unwrap();
    eventually(20, || async {
        (!listed_at_a(hal.clone()).await).then_some(())
    })
    .await;
    let seen = reader.person(&hal).await.unwrap();
    assert!(seen.away && !seen.can_message, "{seen:?}");
    let e = reader
        .post_message(
            &talk.id,
            &kindred_protocol::api::NewMessage {
                body: "Are you there?".into(),
                reply_to: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    assert!(e.to_string().contains("not taking messages"), "{e}");
}
