//! Accounts end to end: set-up, invites, sign-in, roles, suspension, sessions.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::*;
use kindred_tests::{PASSWORD, TestNode};

#[tokio::test]
async fn setup_token_creates_the_first_admin_once() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let me = admin.me().await.unwrap();
    assert_eq!(me.role, Role::Admin);
    assert_eq!(me.id.to_string(), "@admin:localhost");

    // The token is spent.
    let again = node
        .client()
        .setup(&SetupRequest {
            token: node.setup_token.clone().unwrap(),
            username: "eve".into(),
            display_name: "Eve".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::Forbidden));
}

/// Issue 16, item 5: set-ups racing on a fresh node make one admin, not several.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_setups_make_exactly_one_admin() {
    let node = TestNode::start().await;
    let token = node.setup_token.clone().unwrap();
    let attempts = (0..8).map(|i| {
        let client = node.client();
        let token = token.clone();
        tokio::spawn(async move {
            client
                .setup(&SetupRequest {
                    token,
                    username: format!("racer{i}"),
                    display_name: format!("Racer {i}"),
                    password: PASSWORD.into(),
                })
                .await
        })
    });
    let results = futures_util::future::join_all(attempts).await;
    let mut winners = Vec::new();
    for result in results {
        match result.unwrap() {
            Ok((client, _)) => winners.push(client),
            Err(e) => assert_eq!(e.code(), Some(ErrorCode::Forbidden), "{e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one set-up wins");
    let members = winners[0].members().await.unwrap();
    let admins = members.iter().filter(|m| m.role == Role::Admin).count();
    assert_eq!((members.len(), admins), (1, 1));
}

#[tokio::test]
async fn invites_are_single_use_and_give_the_chosen_role() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let invite = admin
        .create_invite(&CreateInvite {
            role: Some(Role::Moderator),
            note: Some("for Sam".into()),
        })
        .await
        .unwrap();
    assert!(invite.link.contains(&invite.code));
    let redeem = |username: &str| RedeemInviteRequest {
        code: invite.code.clone(),
        username: username.into(),
        display_name: "Sam".into(),
        password: PASSWORD.into(),
    };
    let (sam, session) = node.client().redeem_invite(&redeem("sam")).await.unwrap();
    assert_eq!(session.member.role, Role::Moderator);
    assert_eq!(sam.me().await.unwrap().username, "sam");

    let err = node
        .client()
        .redeem_invite(&redeem("sam2"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Gone));

    let listed = admin.invites().await.unwrap();
    assert_eq!(
        listed[0].used_by.as_ref().unwrap().to_string(),
        "@sam:localhost"
    );

    // A revoked invite cannot be used either.
    let other = admin.create_invite(&CreateInvite::default()).await.unwrap();
    admin.revoke_invite(&other.id).await.unwrap();
    let err = node
        .client()
        .redeem_invite(&RedeemInviteRequest {
            code: other.code,
            ..redeem("tom")
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Gone));
}

#[tokio::test]
async fn wrong_credentials_get_one_generic_error() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    node.member(&admin, "sam").await;
    let wrong_password = node
        .client()
        .login("sam", "not the password")
        .await
        .unwrap_err();
    let wrong_user = node.client().login("nobody", PASSWORD).await.unwrap_err();
    assert_eq!(wrong_password.code(), Some(ErrorCode::InvalidCredentials));
    assert_eq!(wrong_user.code(), Some(ErrorCode::InvalidCredentials));
    assert_eq!(wrong_password.to_string(), wrong_user.to_string());
    let (sam, _) = node.client().login("sam", PASSWORD).await.unwrap();
    assert_eq!(sam.me().await.unwrap().username, "sam");
}

/// Signs in over raw HTTP as a client behind the trusted proxy at 127.0.0.1 that reports
/// `from`; returns the status and the answer.
async fn sign_in_from(
    node: &TestNode,
    from: &str,
    username: &str,
    password: &str,
    device: Option<&str>,
) -> (u16, serde_json::Value) {
    let mut body = serde_json::json!({"username": username, "password": password});
    if let Some(d) = device {
        body["device"] = d.into();
    }
    let answer = kindred_tests::http()
        .post(format!("{}/api/v1/sessions", node.url()))
        .header("x-forwarded-for", from)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap_or_default())
}

/// Issue 16, item 2: failed sign-ins are throttled per account-and-address and per
/// address, never per account; a device that signed in before is never refused because
/// of someone else's failures; successful sign-ins do not count.
#[tokio::test]
async fn an_attacker_cannot_lock_a_member_out() {
    let node = TestNode::start_with(|c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.limits.login_failures_per_account_address = 3;
        c.limits.login_failures_per_address = 5;
    })
    .await;
    let admin = node.admin().await;
    node.member(&admin, "sam").await;
    const ATTACKER: &str = "203.0.113.66";
    const SAM_AT_HOME: &str = "198.51.100.7";
    const SAM_AT_WORK: &str = "198.51.100.8";

    // Sam has signed in from home before; the CLI or browser kept the device token.
    let (status, first) = sign_in_from(&node, SAM_AT_HOME, "sam", PASSWORD, None).await;
    assert_eq!(status, 201);
    let device = first["device"].as_str().unwrap().to_owned();

    // A training room: many successful sign-ins from one address are never throttled.
    for _ in 0..12 {
        let (status, _) = sign_in_from(&node, SAM_AT_WORK, "sam", PASSWORD, None).await;
        assert_eq!(status, 201);
    }

    // The attacker guesses Sam's password and sprays made-up usernames.
    for _ in 0..3 {
        let (status, body) = sign_in_from(&node, ATTACKER, "sam", "guess guess", None).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }
    let (status, _) = sign_in_from(&node, ATTACKER, "sam", PASSWORD, None).await;
    assert_eq!(
        status, 429,
        "the attacker's own pair is throttled, right password or not"
    );
    for i in 0..2 {
        sign_in_from(&node, ATTACKER, &format!("nobody{i}"), "guess guess", None).await;
    }
    let (status, _) = sign_in_from(&node, ATTACKER, "admin", PASSWORD, None).await;
    assert_eq!(
        status, 429,
        "the attacker's address is throttled for every account"
    );

    // Sam is never refused: not from another address, not with the known device even
    // from the attacker's own address (a shared office behind one proxy).
    let (status, _) = sign_in_from(&node, SAM_AT_WORK, "sam", PASSWORD, None).await;
    assert_eq!(status, 201);
    let (status, _) = sign_in_from(&node, ATTACKER, "sam", PASSWORD, Some(&device)).await;
    assert_eq!(
        status, 201,
        "a known device is never refused for others' failures"
    );

    // A device token is not a key: it is checked against its member, and a forged one is
    // no better than none.
    let (status, _) = sign_in_from(&node, ATTACKER, "admin", PASSWORD, Some(&device)).await;
    assert_eq!(status, 429);
    // The last character changed (to one it is not: a token ending in 0 stayed valid).
    let last = if device.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &device[..device.len() - 1]);
    let (status, _) = sign_in_from(&node, ATTACKER, "sam", PASSWORD, Some(&forged)).await;
    assert_eq!(status, 429);

    // Forwarded-for headers from a client that is not a trusted proxy are ignored.
    let direct = TestNode::start_with(|c| c.limits.login_failures_per_address = 2).await;
    let direct_admin = direct.admin().await;
    direct.member(&direct_admin, "sam").await;
    for from in ["192.0.2.1", "192.0.2.2"] {
        sign_in_from(&direct, from, "nobody", "guess guess", None).await;
    }
    let (status, _) = sign_in_from(&direct, "192.0.2.3", "sam", PASSWORD, None).await;
    assert_eq!(status, 429, "spoofed addresses all count as the real one");

    // Behind the proxy, a client's own `Forwarded` header (the proxy passes it through)
    // neither frames a victim nor spreads the attacker over made-up addresses.
    let proxied = TestNode::start_with(|c| {
        c.server.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        c.limits.login_failures_per_account_address = 3;
        c.limits.login_failures_per_address = 5;
    })
    .await;
    let proxied_admin = proxied.admin().await;
    proxied.member(&proxied_admin, "sam").await;
    let http = kindred_tests::http();
    let attempt = |forwarded: String, password: &'static str| {
        http.post(format!("{}/api/v1/sessions", proxied.url()))
            .header("x-forwarded-for", ATTACKER)
            .header("forwarded", forwarded)
            .json(&serde_json::json!({"username": "sam", "password": password}))
            .send()
    };
    for i in 0..4 {
        attempt(format!("for={SAM_AT_HOME}"), "guess guess")
            .await
            .unwrap();
        attempt(format!("for=10.0.0.{i}"), "guess guess")
            .await
            .unwrap();
    }
    let spread = attempt("for=10.9.9.9".to_owned(), "guess guess")
        .await
        .unwrap();
    assert_eq!(
        spread.status(),
        429,
        "all counted at the attacker's address"
    );
    let (status, _) = sign_in_from(&proxied, SAM_AT_HOME, "sam", PASSWORD, None).await;
    assert_eq!(status, 201, "the framed address is not throttled");
}

#[tokio::test]
async fn members_cannot_do_admin_things() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let sam = node.member(&admin, "sam").await;
    let e = sam
        .create_invite(&CreateInvite::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    let e = sam.members().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    let e = sam
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    let e = sam
        .update_member(
            "admin",
            &UpdateMember {
                role: Some(Role::Member),
                suspended: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
}

#[tokio::test]
async fn suspended_members_cannot_sign_in_or_post_until_reinstated() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    admin
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let sam = node.member(&admin, "sam").await;
    let suspend = |s| UpdateMember {
        role: None,
        suspended: Some(s),
    };
    let view = admin.update_member("sam", &suspend(true)).await.unwrap();
    assert!(view.suspended);

    let post = NewPost {
        title: "Hello".into(),
        body: "Hi".into(),
        tags: vec![],
        content_warning: None,
    };
    let e = sam.create_post("Funding", &post).await.unwrap_err();
    assert!(
        matches!(
            e.code(),
            Some(ErrorCode::Unauthorized | ErrorCode::Suspended)
        ),
        "{e:?}"
    );
    let e = node.client().login("sam", PASSWORD).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Suspended));

    admin.update_member("sam", &suspend(false)).await.unwrap();
    let (sam, _) = node.client().login("sam", PASSWORD).await.unwrap();
    sam.create_post("Funding", &post).await.unwrap();
}

#[tokio::test]
async fn sessions_are_listed_revoked_and_ended_by_logout() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    node.member(&admin, "sam").await;
    let (first, s1) = node.client().login("sam", PASSWORD).await.unwrap();
    let (second, _) = node.client().login("sam", PASSWORD).await.unwrap();
    let listed = second.sessions().await.unwrap();
    assert!(listed.len() >= 2);
    assert_eq!(listed.iter().filter(|s| s.current).count(), 1);

    second.revoke_session(&s1.session_id).await.unwrap();
    let e = first.me().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unauthorized));

    second.logout().await.unwrap();
    let e = second.me().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unauthorized));
}

#[tokio::test]
async fn members_change_their_name_and_password() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let sam = node.member(&admin, "sam").await;
    let me = sam
        .update_me(&UpdateMe {
            display_name: Some("Sam O'Neill".into()),
            ..UpdateMe::default()
        })
        .await
        .unwrap();
    assert_eq!(me.display_name, "Sam O'Neill");

    let e = sam
        .change_password(&ChangePassword {
            current_password: "wrong".into(),
            new_password: "a brand new passphrase".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::InvalidCredentials));
    let e = sam
        .change_password(&ChangePassword {
            current_password: PASSWORD.into(),
            new_password: "short".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    sam.change_password(&ChangePassword {
        current_password: PASSWORD.into(),
        new_password: "a brand new passphrase".into(),
    })
    .await
    .unwrap();
    assert!(node.client().login("sam", PASSWORD).await.is_err());
    node.client()
        .login("sam", "a brand new passphrase")
        .await
        .unwrap();
}

async fn join(
    node: &TestNode,
    admin: &kindred_client::Client,
    name: &str,
    password: &str,
) -> Result<kindred_client::Client, kindred_client::ClientError> {
    let invite = admin.create_invite(&CreateInvite::default()).await.unwrap();
    node.client()
        .redeem_invite(&RedeemInviteRequest {
            code: invite.code,
            username: format!("m{}", name.len() + password.len()),
            display_name: name.into(),
            password: password.into(),
        })
        .await
        .map(|(client, _)| client)
}

#[tokio::test]
async fn names_that_hide_or_imitate_are_refused_and_passwords_match_however_typed() {
    let node = TestNode::start().await;
    let admin = node.admin().await; // "Admin"
    // Invisible characters, fillers and direction overrides: refused, saying which.
    for (name, says) in [
        ("Admin\u{200B}", "zero-width space"),
        ("\u{3164}", "Hangul filler"),
        ("\u{202E}nimdA", "text direction override"),
        ("   ", "Please give a display name"),
    ] {
        let e = join(&node, &admin, name, PASSWORD).await.err().unwrap();
        assert_eq!(e.code(), Some(ErrorCode::BadRequest), "{name:?}");
        assert!(e.to_string().contains(says), "{name:?}: {e}");
    }
    // A name that looks like another member's: refused without naming them.
    for lookalike in ["Αdmin", "admin", "ADMIN"] {
        let e = join(&node, &admin, lookalike, PASSWORD)
            .await
            .err()
            .unwrap();
        assert_eq!(e.code(), Some(ErrorCode::Conflict), "{lookalike:?}");
        assert!(e.to_string().contains("looks the same"), "{e}");
    }
    // Full-width letters become ordinary ones; spaces are tidied.
    let ann = join(&node, &admin, "  Ａｎｎ   Lee ", PASSWORD)
        .await
        .unwrap();
    assert_eq!(ann.me().await.unwrap().display_name, "Ann Lee");
    // Renaming to a lookalike of someone else is refused too; one's own name is fine.
    let e = ann
        .update_me(&UpdateMe {
            display_name: Some("Аdmin".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Conflict));
    ann.update_me(&UpdateMe {
        display_name: Some("ann lee".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    // Emoji of any Unicode version, skin tones and joined sequences are names too; a
    // Braille blank is not.
    let me = ann
        .update_me(&UpdateMe {
            display_name: Some("Ann 🙂 👋🏽 🏳\u{FE0F}\u{200D}🌈".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(me.display_name, "Ann 🙂 👋🏽 🏳\u{FE0F}\u{200D}🌈");
    let e = ann
        .update_me(&UpdateMe {
            display_name: Some("Admin\u{2800}".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Braille blank"), "{e}");
    // Topics that look the same are one, whatever script the letters are from.
    admin
        .create_topic(&CreateTopic {
            name: "General".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let e = admin
        .create_topic(&CreateTopic {
            name: "G\u{0435}neral".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Conflict));

    // A password chosen with "é" as one character signs in typed as "e" plus an accent.
    let composed = "café con leche every morning";
    let decomposed = "cafe\u{301} con leche every morning";
    join(&node, &admin, "Bea", composed).await.unwrap();
    let username = format!("m{}", "Bea".len() + composed.len());
    node.client().login(&username, decomposed).await.unwrap();
    node.client().login(&username, composed).await.unwrap();
    assert_eq!(
        node.client()
            .login(&username, "cafe con leche every morning")
            .await
            .err()
            .and_then(|e| e.code()),
        Some(ErrorCode::InvalidCredentials)
    );
}

#[tokio::test]
async fn an_admin_gets_a_member_back_in_with_a_single_use_link() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let sam = node.member(&admin, "sam").await;
    // Only admins make links.
    let e = sam.reset_link("admin").await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    let e = admin.reset_link("nobody").await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound));

    // A newer link replaces an older one.
    let first = admin.reset_link("sam").await.unwrap();
    let link = admin.reset_link("sam").await.unwrap();
    assert!(
        link.link.ends_with(&format!("/reset/{}", link.token)),
        "{}",
        link.link
    );
    let anyone = node.client();
    let e = anyone
        .reset_password(&ResetPassword {
            token: first.token.clone(),
            password: "a brand new password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Gone));

    // A password the node does not accept leaves the link usable.
    let e = anyone
        .reset_password(&ResetPassword {
            token: link.token.clone(),
            password: "short".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    anyone
        .reset_password(&ResetPassword {
            token: link.token.clone(),
            password: "a brand new password".into(),
        })
        .await
        .unwrap();
    // Every session Sam had has ended; the old password is gone; the new one works.
    assert_eq!(
        sam.me().await.unwrap_err().code(),
        Some(ErrorCode::Unauthorized)
    );
    assert_eq!(
        node.client()
            .login("sam", PASSWORD)
            .await
            .err()
            .and_then(|e| e.code()),
        Some(ErrorCode::InvalidCredentials)
    );
    node.client()
        .login("sam", "a brand new password")
        .await
        .unwrap();
    // Once only.
    let e = anyone
        .reset_password(&ResetPassword {
            token: link.token,
            password: "another new password".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Gone));
}

#[tokio::test]
async fn a_reset_link_from_the_members_page_opens_a_page_to_choose_a_new_password() {
    use kindred_tests::web::Browser;
    let node = TestNode::start().await;
    let admin = node.admin().await;
    node.member(&admin, "sam").await;
    let mut web = Browser::new(&node.url());
    web.sign_in("admin", PASSWORD).await;
    let made = web
        .submit("/admin/members", "/admin/members/sam/reset-link", &[])
        .await;
    assert_eq!(made.status, 201, "{}", made.html);
    let link = made.value_of_id("reset-link").expect("the link is shown");
    let path = link
        .split_once("/reset/")
        .map(|(_, t)| format!("/reset/{t}"))
        .unwrap();

    let mut sam = Browser::new(&node.url());
    let form = sam.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.has("Choose a new password for sam"), "{}", form.html);
    let short = sam.submit(&path, &path, &[("password", "short")]).await;
    assert_eq!(short.status, 400);
    assert!(short.has("at least"), "{}", short.html);
    let done = sam
        .submit(&path, &path, &[("password", "a brand new password")])
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    let signin = sam.follow(&done).await;
    assert!(signin.has("Your new password is set"), "{}", signin.html);
    sam.sign_in("sam", "a brand new password").await;
    // The link is spent.
    let again = sam.get(&path).await;
    assert_eq!(again.status, 410, "{}", again.html);
}
