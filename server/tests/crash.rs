//! Crash safety: the real `kindred` binary is killed with SIGKILL in the middle of a burst
//! of posts, many times over; after each restart every post the client got an
//! acknowledgement for is still there, and the database opens cleanly.
#![allow(clippy::unwrap_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kindred_client::Client;
use kindred_protocol::EventId;
use kindred_protocol::api::NewPost;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_posts_survive_sigkill_mid_burst_on_redb() {
    sigkill_rounds("redb").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_posts_survive_sigkill_mid_burst_on_sled() {
    sigkill_rounds("sled").await;
}

async fn sigkill_rounds(engine: &str) {
    let rounds: usize = std::env::var("KINDRED_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let mut node = support::start_on(&data, "localhost", "127.0.0.1:0", engine);
    let (_, session) = support::admin_with_funding(&node).await;
    let token = session.token;
    let acked: Arc<Mutex<Vec<EventId>>> = Arc::default();

    for round in 0..rounds {
        let client = Client::new(&node.url).unwrap().with_token(token.clone());
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let client = client.clone();
                let acked = acked.clone();
                tokio::spawn(async move {
                    for i in 0.. {
                        let post = NewPost {
                            title: format!("round {round} writer {w} post {i}"),
                            body: "x".repeat(500),
                            tags: vec![],
                            content_warning: None,
                        };
                        match client.create_post("Funding", &post).await {
                            Ok(p) => acked.lock().unwrap().push(p.id),
                            // The node was killed: unacknowledged, so no promise.
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        // Kill at a different moment each round, mid-burst.
        tokio::time::sleep(Duration::from_millis(150 + 37 * (round as u64 % 7))).await;
        node.kill();
        for w in writers {
            w.await.unwrap();
        }

        node = support::start_on(&data, "localhost", "127.0.0.1:0", engine);
        let client = Client::new(&node.url).unwrap().with_token(token.clone());
        let ids = acked.lock().unwrap().clone();
        assert!(
            !ids.is_empty(),
            "round {round}: the burst acknowledged something"
        );
        for id in &ids {
            let thread = client.thread(id).await;
            assert!(
                thread.is_ok(),
                "round {round}: acknowledged post {id} lost: {thread:?}"
            );
        }
        let listed = client.topics().await.unwrap()[0].posts;
        assert!(
            listed >= ids.len() as u64,
            "round {round}: counts {listed} < {}",
            ids.len()
        );
    }
    node.kill();
    // And the files are whole: every record reads back, every event verifies.
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["storage", "check", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{engine}: the check after the last kill: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    eprintln!(
        "{engine}: {} acknowledged posts survived {rounds} SIGKILLs",
        acked.lock().unwrap().len()
    );
}

/// A post sent with an `Idempotency-Key` and answered 201, then the node killed at once
/// (its answer never written anywhere), then the same request sent again: the retry is
/// told the request was carried out (409, marked replayed), and the topic holds the post
/// once. The key is written with the event in the event's own commit. The same key with
/// another body is refused (422).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_retried_after_sigkill_is_not_posted_twice() {
    for engine in ["redb", "sled"] {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut node = support::start_on(&data, "localhost", "127.0.0.1:0", engine);
        let (_, session) = support::admin_with_funding(&node).await;
        let auth = format!("Authorization: Bearer {}", session.token);
        let headers = [
            auth.as_str(),
            "Content-Type: application/json",
            "Idempotency-Key: crash-retry-1",
        ];
        let body = r#"{"title":"Sent once","body":"Retried after a crash","tags":[]}"#;
        let path = "/api/v1/topics/Funding/posts";
        let (status, first) = support::http(&node.url, "POST", path, &headers, body).await;
        assert_eq!(status, 201, "{engine}: {first}");
        node.kill();
        let node = support::start_on(&data, "localhost", "127.0.0.1:0", engine);
        for _ in 0..2 {
            let (status, again) = support::http(&node.url, "POST", path, &headers, body).await;
            assert_eq!(status, 409, "{engine}: {again}");
            assert!(again.contains("carried out"), "{engine}: {again}");
            assert!(
                again.to_lowercase().contains("idempotent-replayed: true"),
                "{engine}: {again}"
            );
        }
        let (status, listing) = support::http(&node.url, "GET", path, &[auth.as_str()], "").await;
        assert_eq!(status, 200, "{engine}: {listing}");
        assert_eq!(
            listing.matches("\"title\":\"Sent once\"").count(),
            1,
            "{engine}: the topic holds the post once: {listing}"
        );
        // The key names that request: another body with it is refused, after a restart
        // too.
        let other = r#"{"title":"Another","body":"Not the same request","tags":[]}"#;
        let (status, refused) = support::http(&node.url, "POST", path, &headers, other).await;
        assert_eq!(status, 422, "{engine}: {refused}");
        // Without a crash, a retry gets the first answer again, from memory.
        let headers = [
            auth.as_str(),
            "Content-Type: application/json",
            "Idempotency-Key: no-crash-1",
        ];
        let (status, first) = support::http(&node.url, "POST", path, &headers, other).await;
        assert_eq!(status, 201, "{engine}: {first}");
        let (status, again) = support::http(&node.url, "POST", path, &headers, other).await;
        assert_eq!(status, 201, "{engine}: {again}");
        let id = |answer: &str| answer.split("\"id\":\"").nth(1).map(|r| r[..64].to_owned());
        assert_eq!(id(&first), id(&again), "{engine}");
    }
}

/// Requests retried after a SIGKILL that lost their answers are not carried out again, so
/// they never write over what changed since: an edit that would fill a field in from the
/// post as it was is not made over a newer edit, and a retraction is told it was carried
/// out instead of "not found".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_after_sigkill_never_write_over_newer_changes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut node = support::start_on(&data, "localhost", "127.0.0.1:0", "redb");
    let (_, session) = support::admin_with_funding(&node).await;
    let auth = format!("Authorization: Bearer {}", session.token);
    let json = "Content-Type: application/json";
    let body = r#"{"title":"First title","body":"First words","tags":[]}"#;
    let (status, created) = support::http(
        &node.url,
        "POST",
        "/api/v1/topics/Funding/posts",
        &[auth.as_str(), json],
        body,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created.split("\"id\":\"").nth(1).unwrap()[..64].to_owned();
    let path = format!("/api/v1/posts/{id}");
    let edit_key = [auth.as_str(), json, "Idempotency-Key: edit-1"];
    let (status, edited) =
        support::http(&node.url, "PUT", &path, &edit_key, r#"{"body":"Old edit"}"#).await;
    assert_eq!(status, 200, "{edited}");
    node.kill();
    let mut node = support::start_on(&data, "localhost", "127.0.0.1:0", "redb");
    let newer = r#"{"title":"Newer title","body":"Newer words"}"#;
    let (status, answer) =
        support::http(&node.url, "PUT", &path, &[auth.as_str(), json], newer).await;
    assert_eq!(status, 200, "{answer}");
    let (status, again) =
        support::http(&node.url, "PUT", &path, &edit_key, r#"{"body":"Old edit"}"#).await;
    assert_eq!(status, 409, "{again}");
    let (_, shown) = support::http(&node.url, "GET", &path, &[auth.as_str()], "").await;
    assert!(shown.contains("Newer words"), "{shown}");
    assert!(
        !shown.contains("Old edit"),
        "the old edit was made again: {shown}"
    );

    // A setting stores no event: its answer is written before it is sent, so the retry
    // after a SIGKILL gets it back instead of setting it again over a newer change.
    let tz_key = [auth.as_str(), json, "Idempotency-Key: zone-1"];
    let tokyo = r#"{"time_zone":"Asia/Tokyo"}"#;
    let (status, answer) = support::http(&node.url, "PATCH", "/api/v1/me", &tz_key, tokyo).await;
    assert_eq!(status, 200, "{answer}");
    node.kill();
    let mut node = support::start_on(&data, "localhost", "127.0.0.1:0", "redb");
    let new_york = r#"{"time_zone":"America/New_York"}"#;
    let (status, answer) = support::http(
        &node.url,
        "PATCH",
        "/api/v1/me",
        &[auth.as_str(), json],
        new_york,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let (status, again) = support::http(&node.url, "PATCH", "/api/v1/me", &tz_key, tokyo).await;
    assert_eq!(status, 200, "{again}");
    assert!(
        again.to_lowercase().contains("idempotent-replayed: true"),
        "{again}"
    );
    let (_, me) = support::http(&node.url, "GET", "/api/v1/me", &[auth.as_str()], "").await;
    assert!(
        me.contains("America/New_York"),
        "the old setting came back: {me}"
    );

    let retract_key = [auth.as_str(), "Idempotency-Key: retract-1"];
    let (status, answer) = support::http(&node.url, "DELETE", &path, &retract_key, "").await;
    assert_eq!(status, 204, "{answer}");
    node.kill();
    let node = support::start_on(&data, "localhost", "127.0.0.1:0", "redb");
    let (status, again) = support::http(&node.url, "DELETE", &path, &retract_key, "").await;
    assert_eq!(status, 409, "{again}");
    assert!(again.contains("carried out"), "{again}");
    assert!(
        again.to_lowercase().contains("idempotent-replayed: true"),
        "{again}"
    );
}
