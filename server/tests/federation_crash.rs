//! Partition by SIGKILL: three real `kindred` processes in a line (A - B - C). B is killed
//! with SIGKILL while A and C are writing; A and C keep writing; B starts again on the
//! same data folder. All three converge to the same set of posts, with no duplicates.
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
