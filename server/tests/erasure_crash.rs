//! An erasure cut short: the real `kindred` binary is killed (SIGKILL) at different moments
//! while it erases a member with more than one erasure part's worth of posts; after a
//! restart it finishes the erasure by itself (nothing of theirs is left, the account is
//! gone), whatever moment the kill came at.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use kindred_client::Client;
use kindred_protocol::api::{
    CreateInvite, CreateTopic, DeleteMember, NewPost, RedeemInviteRequest, SetupRequest,
};

const PASSWORD: &str = "correct horse battery";

async fn count(client: &Client) -> usize {
    let mut n = 0;
    let mut cursor: Option<String> = None;
    loop {
        let Ok(page) = client
            .topic_posts("Funding", cursor.as_deref(), Some(100))
            .await
        else {
            return n;
        };
        n += page.items.len();
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return n,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_killed_part_way_is_finished_after_a_restart() {
    // 1,200 posts: three erasure parts of at most 500 tombstones.
    // The kill lands at a different point each round (before the request, before the
    // first part, between parts, after the last), whatever the machine's speed.
    for (round, delay_ms) in [0u64, 30, 60, 100, 150, 220, 320].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let mut node = support::start(&data, "a.test", "127.0.0.1:0");
        let (admin, _) = Client::new(&node.url)
            .unwrap()
            .setup(&SetupRequest {
                token: node.token.clone().unwrap(),
                username: "admin".into(),
                display_name: "Admin".into(),
                password: PASSWORD.into(),
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
        let invite = admin.create_invite(&CreateInvite::default()).await.unwrap();
        let (kim, _) = Client::new(&node.url)
            .unwrap()
            .redeem_invite(&RedeemInviteRequest {
                code: invite.code,
                username: "kim".into(),
                display_name: "Kim".into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
        let mut writers = tokio::task::JoinSet::new();
        for w in 0..8 {
            let kim = kim.clone();
            writers.spawn(async move {
                for i in 0..150 {
                    kim.create_post(
                        "Funding",
                        &NewPost {
                            title: format!("Kim's post {w}-{i}"),
                            body: "What worked for us".into(),
                            tags: vec![],
                            content_warning: None,
                        },
                    )
                    .await
                    .unwrap();
                }
            });
        }
        while let Some(done) = writers.join_next().await {
            done.unwrap();
        }
        assert_eq!(count(&admin).await, 1_200);

        // The deletion is asked for, and the node killed a moment later.
        let asking = admin.clone();
        let request = tokio::spawn(async move {
            let _ = asking
                .delete_member(
                    "kim",
                    &DeleteMember {
                        confirm: "kim".into(),
                    },
                )
                .await;
        });
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        node.kill();
        let _ = request.await;

        // After a restart the erasure is finished, by the node itself.
        let node = support::start(&data, "a.test", "127.0.0.1:0");
        let (admin, _) = Client::new(&node.url)
            .unwrap()
            .login("admin", PASSWORD)
            .await
            .unwrap();
        let untouched = count(&admin).await == 1_200
            && admin
                .members()
                .await
                .unwrap()
                .iter()
                .any(|m| m.username == "kim" && !m.suspended && m.deletion_due_at.is_none());
        if untouched {
            // Killed before the request reached it: the admin asks again, as they would.
            admin
                .delete_member(
                    "kim",
                    &DeleteMember {
                        confirm: "kim".into(),
                    },
                )
                .await
                .unwrap();
        }
        let mut tries = 0;
        loop {
            let left = count(&admin).await;
            let account = admin
                .members()
                .await
                .unwrap()
                .iter()
                .any(|m| m.username == "kim");
            if left == 0 && !account {
                break;
            }
            tries += 1;
            assert!(
                tries < 600,
                "round {round}: {left} of Kim's posts and her account ({account}) are left"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
