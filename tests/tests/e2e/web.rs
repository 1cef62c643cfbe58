//! The web pages over real HTTP with JavaScript off: every flow is plain forms and
//! redirects. (Browser tests with JavaScript, keyboard and axe run in `tests/browser`.)
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::api::{CreateInvite, CreateTopic};
use kindred_tests::web::{Browser, Page};
use kindred_tests::{PASSWORD, TestNode};

/// Sets the node up from its printed link, as a new admin would.
async fn set_up_in_browser(node: &TestNode) -> Browser {
    let mut browser = Browser::new(&node.url());
    let home = browser.get("/").await;
    assert_eq!(home.status, 303);
    assert_eq!(home.location.as_deref(), Some("/signin?next=%2F"));
    let signin = browser.follow(&home).await;
    assert_eq!(
        signin.location.as_deref(),
        Some("/setup"),
        "a new node asks for set-up"
    );

    let token = node.setup_token.clone().unwrap();
    let form = browser.get(&format!("/setup?token={token}")).await;
    assert_eq!(form.status, 200);
    assert!(form.has("Create the first admin account"));
    assert!(
        !form.has("id=\"token\""),
        "the token from the link is not asked for again"
    );
    // The first admin sees the node's name and address, and that a loopback address
    // would not reach anyone else (issue 20, first start).
    assert!(form.has("every member's id ends with it"), "{}", form.html);
    assert!(form.has(&node.url()), "{}", form.html);
    assert!(
        form.has("This address only works on this computer."),
        "{}",
        form.html
    );

    // A mistake is shown next to its field, and nothing is created.
    let csrf = form.csrf();
    let wrong = browser
        .post(
            "/setup",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("display_name", "Ada"),
                ("username", "ada"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.has("There is a problem"));
    assert!(wrong.has("id=\"password-error\""));
    assert!(
        wrong.has("aria-invalid=\"true\" aria-describedby=\"password-error\"")
            || wrong.has("password-hint password-error")
    );
    assert!(wrong.has("value=\"ada\""), "what was typed is kept");

    let done = browser
        .post(
            "/setup",
            &[
                ("_csrf", &csrf),
                ("token", &token),
                ("display_name", "Ada Admin"),
                ("username", "ada"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
    assert_eq!(done.location.as_deref(), Some("/"));
    assert!(browser.cookie("kindred_session").is_some());
    let home = browser.follow(&done).await;
    assert_eq!(home.status, 200);
    assert!(home.has("Welcome to Kindred. Your account is ready."));
    browser
}

/// An API client for the browser's session (topics are created by admins).
fn api_for(node: &TestNode, browser: &Browser) -> Client {
    node.client()
        .with_token(browser.cookie("kindred_session").unwrap())
}

async fn create_topic(api: &Client, name: &str) {
    api.create_topic(&CreateTopic {
        name: name.into(),
        description: "Looking after ourselves and each other".into(),
        shared: true,
    })
    .await
    .unwrap();
}

fn post_id(page: &Page) -> String {
    let location = page.location.clone().unwrap();
    location.trim_start_matches("/posts/").to_owned()
}

#[tokio::test]
async fn set_up_write_reply_react_and_search_without_javascript() {
    let node = TestNode::start().await;
    let mut browser = set_up_in_browser(&node).await;
    create_topic(&api_for(&node, &browser), "Burnout and wellbeing").await;

    let home = browser.get("/").await;
    assert!(home.has("Burnout and wellbeing"));
    let topic_path = "/topics/Burnout%20and%20wellbeing";
    assert!(home.has(&format!("href=\"{topic_path}/new\"")));

    // A post without a title is refused with the problem tied to the field.
    let compose = browser.get(&format!("{topic_path}/new")).await;
    assert_eq!(compose.status, 200);
    let csrf = compose.csrf();
    let missing = browser
        .post(
            &format!("{topic_path}/new"),
            &[("_csrf", &csrf), ("title", " "), ("body", "Some words")],
        )
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.has("<a href=\"#title\">Give your post a title.</a>"));
    assert!(missing.has("Some words"), "the body typed so far is kept");

    let posted = browser
        .post(
            &format!("{topic_path}/new"),
            &[
                ("_csrf", &csrf),
                ("title", "What helped after a hard week"),
                (
                    "body",
                    "**Walking** meetings <script>alert(1)</script> helped.",
                ),
                ("tags", "self-care, teams"),
                ("content_warning", "work stress"),
            ],
        )
        .await;
    assert_eq!(posted.status, 303, "{}", posted.html);
    let id = post_id(&posted);
    let thread = browser.follow(&posted).await;
    assert!(thread.has("Your post is published."));
    // Behind its content warning, the title and tags too are shown only once opened.
    assert!(thread.has("<h1 id=\"post-title\">Content warning: work stress</h1>"));
    assert!(thread.has("<h2 class=\"cw-title\">What helped after a hard week</h2>"));
    assert!(thread.has("<title>Content warning: work stress"));
    let listed = browser.get(topic_path).await;
    assert!(
        !listed.has("What helped after a hard week"),
        "{}",
        listed.html
    );
    assert!(listed.has("Content warning: work stress"));
    assert!(thread.has("<strong>Walking</strong>"));
    assert!(thread.has("&lt;script&gt;"), "raw HTML is shown as text");
    assert!(!thread.has("<script>alert"));
    assert!(
        thread.has("<summary>Content warning: work stress."),
        "collapsed behind its warning"
    );
    assert!(thread.has("<li>self-care</li>"));

    // The notice shows once.
    let again = browser.get(&format!("/posts/{id}")).await;
    assert!(!again.has("Your post is published."));

    // Reply, then react.
    let replied = browser
        .post(
            &format!("/posts/{id}/reply"),
            &[
                ("_csrf", &csrf),
                ("body", "Same here: short walks helped me too."),
            ],
        )
        .await;
    assert_eq!(replied.status, 303);
    assert!(
        replied
            .location
            .as_deref()
            .unwrap()
            .starts_with(&format!("/posts/{id}?at="))
    );
    let thread = browser.follow(&replied).await;
    assert!(thread.has("Same here: short walks helped me too."));
    assert!(thread.has("Your reply is posted."));
    // Hovering a byline's name shows the member id: a look-alike name can be told apart.
    assert!(thread.has("title=\"@ada:localhost\""), "{}", thread.html);

    let reacted = browser
        .post(
            &format!("/posts/{id}/react"),
            &[
                ("_csrf", &csrf),
                ("reaction", "i-hear-you"),
                ("action", "add"),
            ],
        )
        .await;
    assert_eq!(reacted.status, 303);
    let thread = browser.follow(&reacted).await;
    assert!(thread.has(
        "value=\"i-hear-you\" aria-pressed=\"true\">I hear you <span class=\"count\">1</span>"
    ));
    // Pressing it again takes the reaction back.
    browser
        .post(
            &format!("/posts/{id}/react"),
            &[
                ("_csrf", &csrf),
                ("reaction", "i-hear-you"),
                ("action", "remove"),
            ],
        )
        .await;
    let thread = browser.get(&format!("/posts/{id}")).await;
    assert!(thread.has("aria-pressed=\"false\">I hear you <span class=\"count\">0</span>"));

    // Edit, then find it by search.
    let edit = browser.get(&format!("/posts/{id}/edit")).await;
    assert!(edit.has("value=\"What helped after a hard week\""));
    let edited = browser
        .post(
            &format!("/posts/{id}/edit"),
            &[
                ("_csrf", &csrf),
                ("title", "What helped after a hard week"),
                ("body", "Walking meetings and a rota for quiet days."),
                ("tags", "self-care"),
                ("content_warning", ""),
            ],
        )
        .await;
    assert_eq!(edited.status, 303);
    let thread = browser.follow(&edited).await;
    assert!(thread.has("a rota for quiet days"));
    assert!(!thread.has("Content warning: work stress"));

    let results = browser.get("/search?q=rota").await;
    assert!(results.has("1 result for “rota”"), "{}", results.html);
    assert!(results.has("What helped after a hard week"));
    let none = browser.get("/search?q=zebra").await;
    assert!(none.has("No results for “zebra”"));
    // A search the node will not run says why; it is not "no results".
    let long = browser
        .get(&format!("/search?q={}", "rota+".repeat(300)))
        .await;
    assert_eq!(long.status, 413);
    assert!(long.has("That search is too long"), "{}", long.html);
    assert!(!long.has("No results"));
    // A method a page does not take gets a page, not an empty answer.
    let wrong = browser.send_raw(reqwest::Method::DELETE, "/search").await;
    assert_eq!(wrong.status, 405);
    assert!(
        wrong.has("does not take that kind of request"),
        "{}",
        wrong.html
    );

    // Take it down: it is gone from the topic.
    let confirm = browser.get(&format!("/posts/{id}/retract")).await;
    assert!(confirm.has("Take down this post?"));
    let gone = browser
        .post(&format!("/posts/{id}/retract"), &[("_csrf", &csrf)])
        .await;
    assert_eq!(gone.status, 303);
    let topic = browser.follow(&gone).await;
    assert!(topic.has("It has been taken down everywhere it was shared."));
    assert!(!topic.has("What helped after a hard week"));
    assert_eq!(browser.get(&format!("/posts/{id}")).await.status, 404);
}

#[tokio::test]
async fn forms_refuse_missing_tokens_and_other_sites() {
    let node = TestNode::start().await;
    let mut browser = set_up_in_browser(&node).await;
    create_topic(&api_for(&node, &browser), "Funding").await;
    let path = "/topics/Funding/new";
    let fields = [("title", "Grant tips"), ("body", "Start early.")];

    let no_token = browser.post(path, &fields).await;
    assert_eq!(no_token.status, 403);
    assert!(no_token.has("This form has expired"));

    let csrf = browser.get(path).await.csrf();
    browser.origin = Some("http://evil.example".into());
    let foreign = browser
        .post(path, &[("_csrf", &csrf), fields[0], fields[1]])
        .await;
    assert_eq!(foreign.status, 403);
    assert!(foreign.has("sent from another website"));

    // Another session's token does not work either.
    browser.origin = Some(node.url());
    let mut other = Browser::new(&node.url());
    other.sign_in("ada", PASSWORD).await;
    let other_csrf = other.get(path).await.csrf();
    assert_ne!(other_csrf, csrf);
    let swapped = browser
        .post(path, &[("_csrf", &other_csrf), fields[0], fields[1]])
        .await;
    assert_eq!(swapped.status, 403);

    // Nothing was posted.
    let topic = browser.get("/topics/Funding").await;
    assert!(topic.has("No posts yet."));
}

#[tokio::test]
async fn invite_links_sign_up_once_and_sign_in_and_out_works() {
    let node = TestNode::start().await;
    let browser = set_up_in_browser(&node).await;
    let invite = api_for(&node, &browser)
        .create_invite(&CreateInvite::default())
        .await
        .unwrap();
    let path = invite.link.trim_start_matches(&node.url()).to_owned();
    assert!(path.starts_with("/join/"));

    let mut newcomer = Browser::new(&node.url());
    let form = newcomer.get(&path).await;
    assert_eq!(form.status, 200);
    assert!(form.has("You have been invited"));
    // A username typed as a name: the page suggests one that works (issue 23, item 13).
    let typed = newcomer
        .post(
            &path,
            &[
                ("_csrf", &form.csrf()),
                ("display_name", "Sam Patel"),
                ("username", "Sam Patel"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(typed.status, 400, "{}", typed.html);
    assert!(
        typed.has("how about &quot;sam.patel&quot;?")
            || typed.has("how about &#34;sam.patel&#34;?"),
        "{}",
        typed.html
    );
    assert!(!typed.has("it contains"), "{}", typed.html);
    let joined = newcomer
        .post(
            &path,
            &[
                ("_csrf", &form.csrf()),
                ("display_name", "Sam Patel"),
                ("username", "sam"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status, 303, "{}", joined.html);
    let home = newcomer.follow(&joined).await;
    assert!(home.has("Sign out <span class=\"visually-hidden\">(Sam Patel)</span>"));

    // The link works once: opening it again says so, and so does a stale form.
    let mut third = Browser::new(&node.url());
    let used = third.get(&path).await;
    assert_eq!(used.status, 410);
    assert!(used.has("has been used, withdrawn or has expired"));
    let signin = third.get("/signin").await;
    let reused = third
        .post(
            &path,
            &[
                ("_csrf", &signin.csrf()),
                ("display_name", "Someone"),
                ("username", "someone"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(reused.status, 410);
    assert!(reused.has("has been used, withdrawn or has expired"));

    // Sign out ends the session for good.
    let session = newcomer.cookie("kindred_session").unwrap().to_owned();
    let csrf = home.csrf();
    let out = newcomer.post("/signout", &[("_csrf", &csrf)]).await;
    assert_eq!(out.location.as_deref(), Some("/signin"));
    assert!(newcomer.cookie("kindred_session").is_none());
    let signin = newcomer.follow(&out).await;
    assert!(signin.has("You are signed out."));
    assert!(node.client().with_token(session).me().await.is_err());

    // Wrong password: one generic message, the username kept; then the right one.
    let csrf = signin.csrf();
    let wrong = newcomer
        .post(
            "/signin",
            &[
                ("_csrf", &csrf),
                ("username", "sam"),
                ("password", "not it at all"),
                ("next", "/search"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.has("That username and password do not match."));
    assert!(wrong.has("value=\"sam\""));
    let right = newcomer
        .post(
            "/signin",
            &[
                ("_csrf", &csrf),
                ("username", "sam"),
                ("password", PASSWORD),
                ("next", "/search"),
            ],
        )
        .await;
    assert_eq!(
        right.location.as_deref(),
        Some("/search"),
        "back to the page they wanted"
    );
}

#[tokio::test]
async fn pages_are_private_small_and_accessible_by_construction() {
    let node = TestNode::start().await;
    let mut browser = set_up_in_browser(&node).await;
    let home = browser.get("/").await;
    let headers = &home.headers;
    assert_eq!(headers["cache-control"], "no-store");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    assert!(!home.has("<script>"), "no inline script");
    assert!(home.html.len() < 50 * 1024);

    // Help is the first thing a keyboard reaches, then the skip link; both on every page.
    let help_at = home.html.find("id=\"help-now\"").unwrap();
    let skip_at = home.html.find("class=\"skip\"").unwrap();
    let first_link = home.html.find("<a ").unwrap();
    assert_eq!(first_link, home.html[..help_at].rfind("<a ").unwrap());
    assert!(help_at < skip_at);
    assert!(home.has("<main id=\"main\""));
    assert!(home.has("Samaritans"));

    // The help page works signed out too.
    let mut stranger = Browser::new(&node.url());
    let help = stranger.get("/help").await;
    assert_eq!(help.status, 200);
    assert!(help.has("href=\"tel:116123\""));

    // Unknown pages get the site's own 404 page, with the banner.
    let missing = browser.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert!(missing.has("Page not found") && missing.has("id=\"help-now\""));

    // Assets are content-hashed and cached for good.
    let css = home
        .html
        .split("href=\"/assets/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    let asset = browser.get(&format!("/assets/{css}")).await;
    assert_eq!(asset.status, 200);
    assert!(
        asset.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(browser.get("/assets/kindred.0000.css").await.status, 404);

    // A phone can add the site to its home screen: a manifest (allowed by the policy)
    // named after the organisation, with an icon the tab shows too.
    assert!(csp.contains("manifest-src 'self'"));
    assert!(home.has("<link rel=\"manifest\" href=\"/manifest.webmanifest\">"));
    assert!(home.has("<meta name=\"theme-color\""));
    let manifest = stranger.get("/manifest.webmanifest").await;
    assert_eq!(manifest.status, 200);
    assert_eq!(
        manifest.headers["content-type"],
        "application/manifest+json"
    );
    let m: serde_json::Value = serde_json::from_str(&manifest.html).unwrap();
    assert_eq!(m["start_url"], "/");
    assert_eq!(m["display"], "standalone");
    assert!(m["name"].as_str().unwrap().contains("Kindred"));
    let icon = m["icons"][0]["src"].as_str().unwrap().to_owned();
    assert!(home.has(&format!("<link rel=\"icon\" href=\"{icon}\"")));
    let icon = stranger.get(&icon).await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.headers["content-type"], "image/svg+xml");
    assert!(icon.html.starts_with("<svg"));
}

/// Issue 16, item 4: a sign-in link that carries a hostile `next` never sends the member
/// to another site after signing in, and never fails after the session was made.
#[tokio::test]
async fn signing_in_never_redirects_off_the_node() {
    let node = TestNode::start().await;
    set_up_in_browser(&node).await;

    let mut member = Browser::new(&node.url());
    let link = member.get("/signin?next=/%09/evil.example/phish").await;
    assert_eq!(link.status, 200);
    assert!(
        !link.has("evil.example"),
        "the hostile target is not even kept"
    );
    let csrf = link.csrf();
    for hostile in [
        "/\t/evil.example/phish",
        "/\n/evil.example",
        "/\r\nSet-Cookie: x=1",
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "javascript:alert(1)",
    ] {
        let signed_in = member
            .post(
                "/signin",
                &[
                    ("_csrf", &csrf),
                    ("username", "ada"),
                    ("password", PASSWORD),
                    ("next", hostile),
                ],
            )
            .await;
        assert_eq!(signed_in.status, 303, "{hostile:?}: {}", signed_in.html);
        assert_eq!(signed_in.location.as_deref(), Some("/"), "{hostile:?}");
    }
}

/// Issue 16, item 2 in the browser: a browser that signed in before keeps a device cookie
/// after signing out, and an attacker's failures on the same address never refuse it.
#[tokio::test]
async fn a_browser_that_signed_in_before_is_never_locked_out() {
    let node = TestNode::start().await;
    let mut browser = set_up_in_browser(&node).await;
    assert!(browser.cookie("kindred_device").is_some());
    let home = browser.get("/").await;
    let out = browser.post("/signout", &[("_csrf", &home.csrf())]).await;
    assert_eq!(out.status, 303);
    assert!(browser.cookie("kindred_session").is_none());
    assert!(
        browser.cookie("kindred_device").is_some(),
        "kept after signing out"
    );

    // Someone on the same address guesses the admin's password until throttled.
    let attacker = node.client();
    let mut throttled = false;
    for _ in 0..12 {
        let e = attacker.login("ada", "a wrong guess").await.unwrap_err();
        throttled |= e.code() == Some(kindred_protocol::api::ErrorCode::RateLimited);
    }
    assert!(throttled, "the attacker is throttled");
    let e = attacker.login("ada", PASSWORD).await.unwrap_err();
    assert_eq!(
        e.code(),
        Some(kindred_protocol::api::ErrorCode::RateLimited)
    );

    // The admin's own browser signs straight in.
    browser.sign_in("ada", PASSWORD).await;
}

/// Issue 16, item 1: the session cookie is for web pages. A page of another site on the
/// same host (the browser sends the cookie along) can neither call the API with it nor
/// open the live stream; the node's own pages still can.
#[tokio::test]
async fn the_session_cookie_does_not_open_the_api_to_other_sites() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;

    let node = TestNode::start().await;
    let browser = set_up_in_browser(&node).await;
    let session = browser.cookie("kindred_session").unwrap().to_owned();
    let cookie = format!("kindred_session={session}");
    let http = kindred_tests::http();
    let evil = "http://127.0.0.1:9";

    // State-changing and reading calls with the cookie alone are refused, body or not.
    for (method, path) in [
        (reqwest::Method::POST, "/api/v1/mentoring/offer/pause"),
        (reqwest::Method::POST, "/api/v1/peers/invites"),
        (reqwest::Method::GET, "/api/v1/me"),
        (reqwest::Method::GET, "/api/v1/conversations"),
    ] {
        let answer = http
            .request(method.clone(), format!("{}{path}", node.url()))
            .header("cookie", &cookie)
            .header("origin", evil)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 401, "{method} {path}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }

    // The live stream: the cookie works only with this node's own Origin.
    let ws_url = format!("{}/api/v1/stream", node.url().replacen("http", "ws", 1));
    let host = node.url().trim_start_matches("http://").to_owned();
    for (origin, opens) in [
        (Some(evil.to_owned()), false),
        (Some(format!("http://localhost.{host}")), false),
        (Some("null".to_owned()), false),
        (None, false),
        (Some(node.url()), true),
    ] {
        let mut request = ws_url.as_str().into_client_request().unwrap();
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
        if let Some(o) = &origin {
            request.headers_mut().insert("origin", o.parse().unwrap());
        }
        let result = tokio_tungstenite::connect_async(request).await;
        assert_eq!(result.is_ok(), opens, "{origin:?}");
        if let Err(tokio_tungstenite::tungstenite::Error::Http(answer)) = result {
            assert_eq!(answer.status(), 403, "{origin:?}");
        }
    }
}
