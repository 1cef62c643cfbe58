//! A write sent twice (a retry after a timeout or a 500, a double click, a reload) is done
//! once: the API's `Idempotency-Key` header and the web forms' `_idem` field.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::{CreateTopic, PostView};
use kindred_tests::web::Browser;
use kindred_tests::{PASSWORD, TestNode, http};

async fn post_with_key(
    node: &TestNode,
    token: &str,
    key: &str,
    title: &str,
) -> (u16, Option<String>, String) {
    let r = http()
        .post(format!("{}/api/v1/topics/Funding/posts", node.url()))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&serde_json::json!({"title": title, "body": "What worked for our grant."}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let replayed = r
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, r.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_sent_again_with_its_key_is_done_once() {
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
    let token = sam.token().unwrap().to_owned();

    let (status, replayed, first) = post_with_key(&node, &token, "key-1", "Our grant").await;
    assert_eq!((status, replayed), (201, None), "{first}");
    let (status, replayed, again) = post_with_key(&node, &token, "key-1", "Our grant").await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(replayed.as_deref(), Some("true"));
    let a: PostView = serde_json::from_str(&first).unwrap();
    let b: PostView = serde_json::from_str(&again).unwrap();
    assert_eq!(a.id, b.id, "the same post, not a second one");
    assert_eq!(admin.topics().await.unwrap()[0].posts, 1);

    // The same key for another request is a mistake, said plainly; nothing is written.
    let (status, _, body) = post_with_key(&node, &token, "key-1", "Something else").await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("different request"), "{body}");
    // Another member's key of the same name is theirs.
    let bea = node.member(&admin, "bea").await;
    let (status, replayed, _) =
        post_with_key(&node, bea.token().unwrap(), "key-1", "Our grant").await;
    assert_eq!((status, replayed), (201, None));
    assert_eq!(admin.topics().await.unwrap()[0].posts, 2);
    // A key must be a short visible string.
    let (status, _, body) = post_with_key(&node, &token, &"x".repeat(300), "Long key").await;
    assert_eq!(status, 400, "{body}");
    // A refusal is kept like any answer: the same key, the same refusal.
    let r = http()
        .post(format!("{}/api/v1/topics/Nowhere/posts", node.url()))
        .bearer_auth(&token)
        .header("Idempotency-Key", "key-2")
        .json(&serde_json::json!({"title": "x", "body": "y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // The client sends a key with every write on its own.
    let p = sam
        .create_post(
            "Funding",
            &kindred_protocol::api::NewPost {
                title: "From the client".into(),
                body: "Sent once.".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    assert!(sam.thread(&p.id).await.is_ok());
    assert_eq!(admin.topics().await.unwrap()[0].posts, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_form_sent_twice_posts_once() {
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
    node.member(&admin, "sam").await;
    let mut browser = Browser::new(&node.url());
    browser.sign_in("sam", PASSWORD).await;
    let path = "/topics/Funding/new";
    let csrf = browser.get(path).await.csrf();
    let fields = [
        ("_csrf", csrf.as_str()),
        ("_idem", "5d1c-form-key"),
        ("title", "After the wellbeing day"),
        ("body", "What we would do again."),
    ];
    let first = browser.post(path, &fields).await;
    assert_eq!(first.status, 303, "{}", first.html);
    // A double click, or a reload after a slow answer: the same form again.
    let second = browser.post(path, &fields).await;
    assert_eq!(second.status, 303, "{}", second.html);
    assert_eq!(second.location, first.location, "sent to the same post");
    assert_eq!(admin.topics().await.unwrap()[0].posts, 1);
}
