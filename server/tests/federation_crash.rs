//! Partition by SIGKILL: three real `kindred` processes in a line (A - B - C).
//!
//! - B is killed with SIGKILL while A and C are writing; A and C keep writing; B starts
//!   again on the same data folder. All three converge to the same set of posts, with no
//!   duplicates.
//! - The origin A is killed again and again while it writes (some rounds while B catches
//!   up on a backlog): every acknowledged post reaches B and C, they hold nothing A lost,
//!   and no sequence number is signed twice.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use kindred_client::Client;
use kindred_protocol::EventId;
use kindred_protocol::api::{CreateTopic, NewPost, SetupRequest};

async fn admin(p: &support::Proc) -> Client {
    let (client, _) = Client::new(&p.url)
        .unwrap()
        .setup(&SetupRequest {
            token: p.token.clone().unwrap(),
            username: "admin".into(),
            display_name: "Admin".into(),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap();
    client
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    client
}

async fn ids(client: &Client) -> Vec<EventId> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let Ok(page) = client
            .topic_posts("Funding", cursor.as_deref(), Some(100))
            .await
        else {
            return out;
        };
        out.extend(page.items.iter().map(|p| p.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

async fn write(client: Client, tag: &'static str, n: usize) -> Vec<EventId> {
    let mut written = Vec::new();
    for i in 0..n {
        let post = NewPost {
            title: format!("{tag} {i}"),
            body: "x".into(),
            tags: vec![],
            content_warning: None,
        };
        written.push(client.create_post("Funding", &post).await.unwrap().id);
    }
    written
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_killed_mid_stream_converges_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let a = support::start(&dir.path().join("a"), "a.test", "127.0.0.1:0");
    let mut b = support::start(&dir.path().join("b"), "hub.test", "127.0.0.1:0");
    let c = support::start(&dir.path().join("c"), "c.test", "127.0.0.1:0");
    let (admin_a, admin_b, admin_c) = (admin(&a).await, admin(&b).await, admin(&c).await);
    let invite = admin_b.create_peer_invite().await.unwrap();
    admin_a.add_peer(&invite.token).await.unwrap();
    let invite = admin_b.create_peer_invite().await.unwrap();
    admin_c.add_peer(&invite.token).await.unwrap();

    // Writing at both ends while the hub is killed part-way, then more while it is down.
    let wa = tokio::spawn(write(admin_a.clone(), "A", 200));
    let wc = tokio::spawn(write(admin_c.clone(), "C", 200));
    tokio::time::sleep(Duration::from_millis(100)).await;
    b.kill();
    let mut written: BTreeSet<EventId> = wa.await.unwrap().into_iter().collect();
    written.extend(wc.await.unwrap());
    written.extend(write(admin_a.clone(), "A later", 100).await);
    written.extend(write(admin_c.clone(), "C later", 100).await);
    assert_eq!(written.len(), 600);
    assert!(
        ids(&admin_a).await.len() < 600,
        "A has not seen C's posts written while the hub was down"
    );

    let b = support::start(&dir.path().join("b"), "hub.test", "127.0.0.1:0");
    let (admin_b, _) = Client::new(&b.url)
        .unwrap()
        .login("admin", "correct horse battery")
        .await
        .unwrap();
    for client in [&admin_a, &admin_b, &admin_c] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        loop {
            let seen = ids(client).await;
            let unique: BTreeSet<EventId> = seen.iter().copied().collect();
            assert_eq!(unique.len(), seen.len(), "no duplicates");
            if unique == written {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "did not converge: {} of {}",
                unique.len(),
                written.len()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    drop((a, c));
}

/// Posts to A as fast as four writers can until A dies; returns what A acknowledged.
async fn write_until_killed(client: &Client, round: usize) -> BTreeSet<EventId> {
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = client.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0.. {
                let post = NewPost {
                    title: format!("round {round} writer {w} post {i}"),
                    body: "x".into(),
                    tags: vec![],
                    content_warning: None,
                };
                match client.create_post("Funding", &post).await {
                    Ok(p) => acked.push(p.id),
                    Err(_) => break,
                }
            }
            acked
        }));
    }
    let mut acked = BTreeSet::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    acked
}

/// The port a node process listens on.
fn listen_of(p: &support::Proc) -> String {
    p.url.trim_start_matches("http://").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_killed_again_and_again_never_sends_what_it_loses_nor_reuses_a_number() {
    let rounds: usize = std::env::var("KINDRED_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32);
    let dir = tempfile::tempdir().unwrap();
    let mut a = support::start(&dir.path().join("a"), "a.test", "127.0.0.1:0");
    let mut b = support::start(&dir.path().join("b"), "b.test", "127.0.0.1:0");
    // C hears of A only through B: A - B - C.
    let c = support::start(&dir.path().join("c"), "c.test", "127.0.0.1:0");
    let (a_listen, b_listen) = (listen_of(&a), listen_of(&b));
    let (admin_a, admin_b, admin_c) = (admin(&a).await, admin(&b).await, admin(&c).await);
    let invite = admin_b.create_peer_invite().await.unwrap();
    admin_a.add_peer(&invite.token).await.unwrap();
    let invite = admin_b.create_peer_invite().await.unwrap();
    admin_c.add_peer(&invite.token).await.unwrap();

    let mut acked = BTreeSet::new();
    for round in 0..rounds {
        let catch_up = round % 3 == 2;
        if catch_up {
            // B is down while A writes a backlog; A is then killed while B catches up.
            b.kill();
            acked.extend(write(admin_a.clone(), "backlog", 150).await);
            b = support::start(&dir.path().join("b"), "b.test", &b_listen);
        }
        // B writes too, so A's links are busy (acks and batches both ways) when it dies.
        let b_writing = tokio::spawn(write(admin_b.clone(), "from B", 60));
        let writing = write_until_killed(&admin_a, round);
        let killer = async {
            let ms = 30 + (round as u64 * 97) % 400;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            a.kill();
        };
        let (written, ()) = tokio::join!(writing, killer);
        acked.extend(written);
        let _ = b_writing.await;
        a = support::start(&dir.path().join("a"), "a.test", &a_listen);
    }
    acked.extend(write(admin_a.clone(), "after", 20).await);
    eprintln!("{} posts acknowledged over {rounds} kills", acked.len());

    // Every acknowledged post reaches B and C, and the three converge on the same posts:
    // nothing was sent before it was on A's disk (B and C would then hold posts A lost),
    // and no number was signed twice (no fork).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let sets: Vec<BTreeSet<EventId>> = vec![
            ids(&admin_a).await.into_iter().collect(),
            ids(&admin_b).await.into_iter().collect(),
            ids(&admin_c).await.into_iter().collect(),
        ];
        let complete = sets.iter().all(|s| acked.is_subset(s));
        if complete && sets[0] == sets[1] && sets[1] == sets[2] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not converged: A {}, B {}, C {} posts; {} acknowledged at A, of which B has {} and C {}",
            sets[0].len(),
            sets[1].len(),
            sets[2].len(),
            acked.len(),
            acked.intersection(&sets[1]).count(),
            acked.intersection(&sets[2]).count(),
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for admin in [&admin_a, &admin_b, &admin_c] {
        let warnings = admin.federation_warnings().await.unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }
    drop((a, b, c));
}
