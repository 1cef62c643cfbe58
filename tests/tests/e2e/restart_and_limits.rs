//! Durability across restarts, and bad input getting the documented errors.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::*;
use kindred_tests::{PASSWORD, TestNode};

fn post_json() -> &'static str {
    "application/json"
}

#[tokio::test]
async fn everything_written_before_a_restart_is_there_after_it() {
    let mut node = TestNode::start().await;
    let admin = node.admin().await;
    admin
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: "Money".into(),
            shared: true,
        })
        .await
        .unwrap();
    node.member(&admin, "sam").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let p = admin
            .create_post(
                "Funding",
                &NewPost {
                    title: format!("Post {i}"),
                    body: "durable".into(),
                    tags: vec![],
                    content_warning: None,
                },
            )
            .await
            .unwrap();
        ids.push(p.id);
    }
    admin.react(&ids[0], "helpful").await.unwrap();

    node.restart().await;
    assert!(
        node.setup_token.is_none(),
        "an admin exists, so no new set-up token"
    );
    let (admin, _) = node.client().login("admin", PASSWORD).await.unwrap();
    node.client().login("sam", PASSWORD).await.unwrap();
    let page = admin.topic_posts("Funding", None, Some(100)).await.unwrap();
    assert_eq!(page.items.len(), 20);
    assert_eq!(
        admin.thread(&ids[0]).await.unwrap().post.reactions[0].count,
        1
    );
    assert_eq!(admin.search("durable", Some(100)).await.unwrap().len(), 20);

    // Numbering continues where it stopped: a new post after restart is fine and listed first.
    let after = admin
        .create_post(
            "Funding",
            &NewPost {
                title: "After restart".into(),
                body: "x".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let page = admin.topic_posts("Funding", None, Some(1)).await.unwrap();
    assert_eq!(page.items[0].id, after.id);
}

#[tokio::test]
async fn bad_input_gets_clear_json_errors() {
    let node = TestNode::start_with(|c| c.limits.max_request_bytes = 64 * 1024).await;
    let admin = node.admin().await;
    admin
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let path = ["topics", "Funding", "posts"];

    let (status, body) = admin
        .raw(
            reqwest::Method::POST,
            &path,
            post_json(),
            b"{not json".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");
    let err: ApiErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(err.error.code, ErrorCode::BadRequest);

    let huge = format!(r#"{{"title":"t","body":"{}"}}"#, "x".repeat(200 * 1024));
    let (status, body) = admin
        .raw(reqwest::Method::POST, &path, post_json(), huge.into_bytes())
        .await
        .unwrap();
    assert_eq!(status, 413, "{body}");
    let err: ApiErrorBody = serde_json::from_str(&body).unwrap();
    assert_eq!(err.error.code, ErrorCode::TooLarge);

    // Within the request limit but over the post body limit.
    let long = NewPost {
        title: "t".into(),
        body: "x".repeat(40 * 1024),
        tags: vec![],
        content_warning: None,
    };
    let e = admin.create_post("Funding", &long).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::TooLarge));

    let (status, body) = admin
        .raw(
            reqwest::Method::POST,
            &path,
            "text/plain",
            b"hello".to_vec(),
        )
        .await
        .unwrap();
    assert_eq!(status, 400, "{body}");

    let wrong = node.client().with_token("kds_forged");
    let e = wrong.topics().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Unauthorized));

    let (status, body) = admin
        .raw(
            reqwest::Method::GET,
            &["no-such-thing"],
            post_json(),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(serde_json::from_str::<ApiErrorBody>(&body).is_ok());

    let e = admin
        .create_post(
            "No such topic",
            &NewPost {
                title: "t".into(),
                body: "b".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NotFound));

    let e = admin
        .create_post(
            "Funding",
            &NewPost {
                title: "  ".into(),
                body: "b".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));

    // The node is still fine.
    assert_eq!(admin.topics().await.unwrap().len(), 1);
}

#[tokio::test]
async fn request_rate_per_session_is_limited() {
    let node = TestNode::start_with(|c| c.limits.requests_per_minute = 20).await;
    let admin = node.admin().await;
    let mut limited = false;
    for _ in 0..40 {
        if let Err(e) = admin.topics().await {
            assert_eq!(e.code(), Some(ErrorCode::RateLimited));
            limited = true;
            break;
        }
    }
    assert!(limited);
    // Other sessions are unaffected.
    let (other, _) = node.client().login("admin", PASSWORD).await.unwrap();
    other.topics().await.unwrap();
}

/// Issue 16, item 7: every API answer is kept out of caches and never sniffed, and every
/// error, including the ones the framework makes (a bad query string, an unknown method, a
/// stream opened without an upgrade), is the documented JSON shape.
#[tokio::test]
async fn every_api_answer_is_private_and_every_error_is_json() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let token = admin.token().unwrap().to_owned();
    let http = kindred_tests::http();
    let url = |path: &str| format!("{}{path}", node.url());
    let bearer = format!("Bearer {token}");

    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            http.get(url("/api/v1/topics/Funding/posts?limit=-1")),
            400,
            "bad_request",
        ),
        (
            http.get(url("/api/v1/search?q=x&limit=lots")),
            400,
            "bad_request",
        ),
        (http.get(url("/api/v1/search")), 400, "bad_request"),
        (
            http.delete(url("/api/v1/topics")),
            405,
            "method_not_allowed",
        ),
        (http.put(url("/api/v1/me")), 405, "method_not_allowed"),
        (http.get(url("/api/v1/stream")), 400, "bad_request"),
        (http.get(url("/api/v1/nothing/here")), 404, "not_found"),
        (
            http.post(url("/api/v1/topics"))
                .header("content-type", "application/json")
                .body("{\"name\": 12"),
            400,
            "bad_request",
        ),
        (
            http.post(url("/api/v1/topics")).body("name=x"),
            400,
            "bad_request",
        ),
    ];
    for (request, status, code) in cases {
        let answer = request
            .header("authorization", &bearer)
            .send()
            .await
            .unwrap();
        let what = format!("{} {}", answer.url(), answer.status());
        assert_eq!(answer.status().as_u16(), status, "{what}");
        let headers = answer.headers().clone();
        assert_eq!(headers["cache-control"], "no-store", "{what}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{what}"
        );
        let body: ApiErrorBody = answer.json().await.unwrap();
        assert_eq!(
            serde_json::to_value(body.error.code).unwrap(),
            code,
            "{what}: {}",
            body.error.message
        );
        assert!(!body.error.message.is_empty());
    }

    // Answers that succeed are private too, and so is the unauthenticated health check.
    for (path, auth) in [("/api/v1/me", true), ("/healthz", false)] {
        let mut request = http.get(url(path));
        if auth {
            request = request.header("authorization", &bearer);
        }
        let answer = request.send().await.unwrap();
        assert_eq!(answer.status(), 200, "{path}");
        assert_eq!(answer.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(
            answer.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
    }
}

/// Issue 16, item 10: a search is bounded (its text, its words, how many run at once), so
/// one member searching hard cannot slow everyone else; within the bounds it still finds.
#[tokio::test]
async fn searches_are_bounded_and_wait_their_turn() {
    let node = TestNode::start_with(|c| {
        c.limits.concurrent_searches = 1;
        // Long enough that a search waiting for its turn always gets one here.
        c.limits.search_wait_ms = 120_000;
    })
    .await;
    let admin = node.admin().await;
    super::trust_support::topic(&admin, "Funding").await;
    admin
        .create_post(
            "Funding",
            &NewPost {
                title: "Small grants for peer groups".into(),
                body: "What worked for our application".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    // Too long a query: a clear refusal, nothing searched.
    let long = "grants ".repeat(400);
    let e = admin.search(&long, None).await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::TooLarge), "{e}");
    assert!(e.to_string().contains("too long"), "{e}");
    // Many words: the first sixteen are used, and the post is found.
    let many: Vec<String> = (0..40).map(|i| format!("word{i}")).collect();
    let query = format!("grants {}", many.join(" "));
    let hits = admin.search(&query, None).await.unwrap();
    assert_eq!(hits.len(), 1);
    // Eight at once with one allowed to run: each waits its turn and none is lost.
    let searches = (0..8).map(|_| admin.search("grants application", None));
    for result in futures_util::future::join_all(searches).await {
        assert_eq!(result.unwrap().len(), 1);
    }
}
