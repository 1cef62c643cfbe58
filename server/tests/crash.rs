//! Crash safety: the real `kindred` binary is killed with SIGKILL in the middle of a burst
//! of posts, many times over; after each restart every post the client got an
//! acknowledgement for is still there, and the database opens cleanly.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kindred_client::Client;
use kindred_protocol::EventId;
use kindred_protocol::api::{CreateTopic, NewPost, SetupRequest};

/// Starts the node on an ephemeral port; returns the process, its URL and (on first start)
/// the set-up token, read from what it prints.
fn start(data: &Path) -> (Child, String, Option<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(data)
        .env("RUST_LOG", "error")
        // The test reads back thousands of posts with one session.
        .env("KINDRED_LIMITS__REQUESTS_PER_MINUTE", "10000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut token = None;
    loop {
        let Some(Ok(line)) = lines.next() else {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("the node exited before printing its address");
        };
        if let Some(t) = line.split_whitespace().find(|w| w.starts_with("kdsetup_")) {
            token.get_or_insert_with(|| t.to_owned());
        }
        if let Some(url) = line.split("listening on ").nth(1) {
            // Keep draining stdout so the node never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (child, url.trim().to_owned(), token);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_posts_survive_sigkill_mid_burst() {
    let rounds: usize = std::env::var("KINDRED_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    let (mut child, mut url, token) = start(&data);
    let (admin, session) = Client::new(&url)
        .unwrap()
        .setup(&SetupRequest {
            token: token.unwrap(),
            username: "admin".into(),
            display_name: "Admin".into(),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap();
    admin
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let token = session.token;
    let acked: Arc<Mutex<Vec<EventId>>> = Arc::default();

    for round in 0..rounds {
        let client = Client::new(&url).unwrap().with_token(token.clone());
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
        child.kill().unwrap();
        child.wait().unwrap();
        for w in writers {
            w.await.unwrap();
        }

        let (next, next_url, _) = start(&data);
        child = next;
        url = next_url;
        let client = Client::new(&url).unwrap().with_token(token.clone());
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
    child.kill().unwrap();
    child.wait().unwrap();
    eprintln!(
        "{} acknowledged posts survived {rounds} SIGKILLs",
        acked.lock().unwrap().len()
    );
}
