//! Admin and settings pages over real HTTP with JavaScript off: members, invites, roles,
//! suspension, topics, pairing two nodes from the web, blocking, and a member's settings.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kindred_tests::web::Browser;
use kindred_tests::{PASSWORD, TestNode};

/// A browser signed in as the node's admin (created through the API helper).
async fn admin_browser(node: &TestNode) -> Browser {
    node.admin().await;
    let mut browser = Browser::new(&node.url());
    browser.sign_in("admin", PASSWORD).await;
    browser
}

#[tokio::test]
async fn an_admin_runs_members_invites_and_topics_from_the_web() {
    let node = TestNode::start().await;
    let mut admin = admin_browser(&node).await;

    // The admin section is in the navigation and opens on members.
    let home = admin.get("/").await;
    assert!(home.has("href=\"/admin\""));
    let admin_index = admin.get("/admin").await;
    assert_eq!(admin_index.location.as_deref(), Some("/admin/members"));

    // Topics: create one, with a problem first.
    let empty = admin
        .submit("/admin/topics", "/admin/topics", &[("name", "  ")])
        .await;
    assert_eq!(empty.status, 400);
    assert!(empty.has("id=\"name-error\""));
    let created = admin
        .submit(
            "/admin/topics",
            "/admin/topics",
            &[
                ("name", "Funding"),
                ("description", "Grants and bids"),
                ("shared", "on"),
            ],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    let topics = admin.follow(&created).await;
    assert!(topics.has("The topic is saved."));
    assert!(topics.has("value=\"Grants and bids\""));
    assert!(topics.has("<span class=\"badge\">Shared</span>"));
    // Keep it to this organisation only (the checkbox left unticked).
    let kept = admin
        .submit(
            "/admin/topics",
            "/admin/topics/Funding",
            &[("description", "Grants, bids and budgets")],
        )
        .await;
    assert_eq!(kept.status, 303, "{}", kept.html);
    let topics = admin.follow(&kept).await;
    assert!(topics.has("value=\"Grants, bids and budgets\""));
    assert!(!topics.has("<span class=\"badge\">Shared</span>"));

    // An invite link, shown once on the page, that a newcomer joins with.
    let made = admin
        .submit(
            "/admin/members",
            "/admin/invites",
            &[("role", "member"), ("note", "for Sam")],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.html);
    let link = made.value_of_id("invite-link").unwrap();
    let path = link.trim_start_matches(&node.url()).to_owned();
    assert!(path.starts_with("/join/"), "{link}");
    // Shown again to admins, on a later visit, until it is used (issue 23, item 9).
    let later = admin.get("/admin/members").await;
    assert!(later.has(&format!("value=\"{link}\"")), "{}", later.html);
    assert!(later.has("; expires <time"));
    let mut sam = Browser::new(&node.url());
    let joined = sam
        .submit(
            &path,
            &path,
            &[
                ("display_name", "Sam Patel"),
                ("username", "sam"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status, 303, "{}", joined.html);
    let members = admin.get("/admin/members").await;
    assert!(members.has("Sam Patel"));
    assert!(members.has("Used: a new member"));
    assert!(!members.has(&link), "a used invite's link is not shown");
    assert!(
        !sam.get("/").await.has("href=\"/admin\""),
        "members see no admin link"
    );
    assert_eq!(sam.get("/admin/members").await.status, 403);

    // Make Sam a moderator: Sam can now manage topics but not members.
    let promoted = admin
        .submit(
            "/admin/members",
            "/admin/members/sam",
            &[("role", "moderator")],
        )
        .await;
    assert_eq!(promoted.status, 303, "{}", promoted.html);
    assert_eq!(sam.get("/admin/topics").await.status, 200);
    assert_eq!(sam.get("/admin/members").await.status, 403);

    // Suspend: Sam's session ends and signing in is refused; reinstate lets Sam back.
    let suspended = admin
        .submit(
            "/admin/members",
            "/admin/members/sam",
            &[("suspend", "yes")],
        )
        .await;
    assert_eq!(suspended.status, 303);
    assert!(admin.follow(&suspended).await.has("Suspended"));
    assert_eq!(
        sam.get("/").await.status,
        303,
        "a suspended member is signed out"
    );
    let form = sam.get("/signin").await;
    let refused = sam
        .post(
            "/signin",
            &[
                ("_csrf", &form.csrf()),
                ("username", "sam"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_ne!(refused.status, 303);
    admin
        .submit("/admin/members", "/admin/members/sam", &[("suspend", "no")])
        .await;
    sam.sign_in("sam", PASSWORD).await;

    // An admin cannot lock themselves out.
    let own = admin
        .submit(
            "/admin/members",
            "/admin/members/admin",
            &[("suspend", "yes")],
        )
        .await;
    assert_eq!(own.status, 400);
    assert!(own.has("ask another admin"));

    // Revoking an open invite.
    let made = admin
        .submit("/admin/members", "/admin/invites", &[("role", "member")])
        .await;
    let path = made
        .value_of_id("invite-link")
        .unwrap()
        .trim_start_matches(&node.url())
        .to_owned();
    let members = admin.get("/admin/members").await;
    let start = members.html.find("/admin/invites/").unwrap() + "/admin/invites/".len();
    let id = &members.html[start..start + members.html[start..].find('/').unwrap()];
    let revoked = admin
        .submit(
            "/admin/members",
            &format!("/admin/invites/{id}/revoke"),
            &[],
        )
        .await;
    assert_eq!(revoked.status, 303);
    let mut late = Browser::new(&node.url());
    let form = late.get(&path).await;
    assert_ne!(form.status, 200, "a revoked link no longer opens the form");
}

#[tokio::test]
async fn a_member_changes_their_settings_from_the_web() {
    let node = TestNode::start().await;
    let admin_api = node.admin().await;
    node.member(&admin_api, "sam").await;
    let mut phone = Browser::new(&node.url());
    phone.sign_in("sam", PASSWORD).await;
    let mut laptop = Browser::new(&node.url());
    laptop.sign_in("sam", PASSWORD).await;

    let settings = laptop.get("/settings").await;
    assert_eq!(settings.status, 200);
    assert!(settings.has("Where you are signed in"));
    assert!(settings.has("This device"));

    let saved = laptop
        .submit(
            "/settings",
            "/settings/profile",
            &[
                ("display_name", "Sam P."),
                ("listed", "on"),
                ("happy_to_talk_about", "grant writing"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let settings = laptop.follow(&saved).await;
    assert!(settings.has("Your changes are saved."));
    assert!(settings.has("value=\"Sam P.\""));
    assert!(settings.has("id=\"listed\" name=\"listed\" value=\"on\" checked"));
    assert!(
        !settings.has("id=\"read_markers\" name=\"read_markers\" value=\"on\" checked"),
        "read markers were left unticked"
    );
    let me = node
        .client()
        .with_token(laptop.cookie("kindred_session").unwrap())
        .me()
        .await
        .unwrap();
    assert_eq!(me.display_name, "Sam P.");
    assert!(me.listed && !me.read_markers);
    assert_eq!(me.happy_to_talk_about, "grant writing");

    // A blank name is refused next to the field.
    let blank = laptop
        .submit("/settings", "/settings/profile", &[("display_name", " ")])
        .await;
    assert_eq!(blank.status, 400);
    assert!(blank.has("id=\"display_name-error\""));

    // Wrong current password: an error on that field; the right one signs out the phone.
    let wrong = laptop
        .submit(
            "/settings",
            "/settings/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.has("id=\"current_password-error\""));
    let changed = laptop
        .submit(
            "/settings",
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status, 303, "{}", changed.html);
    assert_eq!(phone.get("/").await.status, 303, "the phone is signed out");
    assert_eq!(laptop.get("/").await.status, 200, "this device stays in");

    // Sign out other devices from the list.
    phone.sign_in("sam", "a brand new passphrase").await;
    let out = laptop
        .submit("/settings", "/settings/devices/sign-out-others", &[])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(phone.get("/").await.status, 303);
    assert_eq!(laptop.get("/settings").await.status, 200);
}

#[tokio::test]
async fn admins_pair_two_nodes_and_block_from_the_web() {
    let a = TestNode::organisation("alpha.test", "Alpha Community Health").await;
    let mut b = TestNode::organisation("beta.test", "Beta Wellbeing Hub").await;
    let mut admin_a = admin_browser(&a).await;
    let mut admin_b = admin_browser(&b).await;

    let made = admin_a
        .submit("/admin/peers", "/admin/peers/invites", &[])
        .await;
    assert_eq!(made.status, 201, "{}", made.html);
    let token = made.value_of_id("peer-invite").unwrap();
    assert!(token.starts_with("kdpeer1_"), "{token}");

    let garbage = admin_b
        .submit("/admin/peers", "/admin/peers", &[("token", "not a token")])
        .await;
    assert_eq!(garbage.status, 400);
    assert!(garbage.has("id=\"token-error\""));

    let paired = admin_b
        .submit("/admin/peers", "/admin/peers", &[("token", &token)])
        .await;
    assert_eq!(paired.status, 303, "{}", paired.html);

    // Both admins see the other node connected (the page is reloaded, as a person would).
    // Each peer leads with its organisation's name and a plain status (issue 23, item 8).
    for (browser, other) in [
        (&mut admin_a, "Beta Wellbeing Hub"),
        (&mut admin_b, "Alpha Community Health"),
    ] {
        let mut connected = false;
        for _ in 0..100 {
            let page = browser.get("/admin/peers").await;
            if page.has(&format!("<p class=\"card-title\">{other}"))
                && page.has("Connected, up to date")
            {
                connected = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(connected, "{other} shows as connected");
    }

    // Block B from A's page: it shows as blocked, and unblocking reconnects.
    let page = admin_a.get("/admin/peers").await;
    let end = page.html.find("/block\"").unwrap();
    let id = page.html[end - 64..end].to_owned();
    // Blocking asks first: it may cut the organisation off from most of the network.
    let ask = admin_a
        .submit("/admin/peers", &format!("/admin/peers/{id}/block"), &[])
        .await;
    assert_eq!(ask.status, 200, "{}", ask.html);
    assert!(ask.has("Yes, block it"), "{}", ask.html);
    let blocked = admin_a
        .submit(
            "/admin/peers",
            &format!("/admin/peers/{id}/block"),
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(blocked.status, 303, "{}", blocked.html);
    let page = admin_a.follow(&blocked).await;
    assert!(page.has("Blocked. Nothing more is exchanged with that node."));
    assert!(page.has("<span class=\"badge\">Blocked</span>"));
    let unblocked = admin_a
        .submit("/admin/peers", &format!("/admin/peers/{id}/unblock"), &[])
        .await;
    assert_eq!(unblocked.status, 303);
    let mut connected = false;
    for _ in 0..100 {
        if admin_a
            .get("/admin/peers")
            .await
            .has("Connected, up to date")
        {
            connected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(connected, "unblocked peers reconnect");

    // B goes away: A's admin reads when and why in plain words; the technical message
    // stays in the details.
    b.stop().await;
    let mut page = admin_a.get("/admin/peers").await;
    for _ in 0..100 {
        if page.has("Not reachable since") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        page = admin_a.get("/admin/peers").await;
    }
    assert!(page.has("Not reachable since"), "{}", page.html);
    let status = &page.html[page.html.find("Not reachable since").unwrap()..];
    let status = &status[..status.find("</p>").unwrap()];
    assert!(
        !status.contains("os error") && !status.contains("IO error"),
        "{status}"
    );
}
