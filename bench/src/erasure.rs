//! `kindred-bench erasure [messages]`: three real nodes on loopback, A paired with the hub
//! B, B with C. A member at A writes 1,000 posts and sends `messages` chat messages to a
//! member at C (through their own nodes). Then:
//!
//! - export: the time and size of the member's data export (`GET /api/v1/me/export`);
//! - erasure: an admin at A deletes the member; the time until A answers (its erasure
//!   published, the account gone), until B no longer shows the member's last post, and
//!   until C shows none of their posts and every one of their messages as deleted (the
//!   check itself reads all the messages, about 0.1 s of the figure).

use std::time::{Duration, Instant};

use kindred_client::Client;
use kindred_protocol::MemberId;
use kindred_protocol::api::{CreateInvite, DeleteMember, NewMessage, NewPost, RedeemInviteRequest};

use crate::{bench_topic, setup_admin, spawn};

const POSTS: u64 = 1_000;

async fn member(admin: &Client, url: &str, username: &str) -> anyhow::Result<Client> {
    let invite = admin.create_invite(&CreateInvite::default()).await?;
    let (client, _) = Client::new(url)?
        .redeem_invite(&RedeemInviteRequest {
            code: invite.code,
            username: username.into(),
            display_name: username.into(),
            password: "benchmark password".into(),
        })
        .await?;
    Ok(client)
}

/// How many messages `client` sees in the conversation, and how many of them deleted.
async fn counted(
    client: &Client,
    conversation: &kindred_protocol::event::ConversationId,
) -> anyhow::Result<(u64, u64)> {
    let (mut all, mut deleted) = (0, 0);
    let mut before: Option<String> = None;
    loop {
        let page = client
            .history(conversation, before.as_deref(), Some(100))
            .await?;
        all += page.items.len() as u64;
        deleted += page.items.iter().filter(|m| m.deleted).count() as u64;
        match page.next_cursor {
            Some(next) => before = Some(next),
            None => return Ok((all, deleted)),
        }
    }
}

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(600);
    while !check().await {
        if Instant::now() > deadline {
            anyhow::bail!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

pub(crate) async fn bench(messages: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let a = spawn(&dir.path().join("a"), "a.bench")?;
    let b = spawn(&dir.path().join("b"), "b.bench")?;
    let c = spawn(&dir.path().join("c"), "c.bench")?;
    let (admin_a, _) = setup_admin(&a).await?;
    let (admin_b, _) = setup_admin(&b).await?;
    let (admin_c, _) = setup_admin(&c).await?;
    for admin in [&admin_a, &admin_b, &admin_c] {
        bench_topic(admin).await?;
    }
    admin_b
        .add_peer(&admin_a.create_peer_invite().await?.token)
        .await?;
    admin_c
        .add_peer(&admin_b.create_peer_invite().await?.token)
        .await?;
    let sam = member(&admin_a, &a.url, "sam").await?;
    let cy = member(&admin_c, &c.url, "cy").await?;
    println!(
        "Kindred erasure benchmark: three nodes on loopback (A - hub B - C), {POSTS} posts and {messages} messages by one member"
    );

    let mut last = None;
    for i in 0..POSTS {
        let post = sam
            .create_post(
                "Bench",
                &NewPost {
                    title: format!("Reflection {i}"),
                    body: format!("What we learnt at event {i}: start small, ask early."),
                    tags: vec![],
                    content_warning: None,
                },
            )
            .await?;
        last = Some(post.id);
    }
    let last = last.ok_or_else(|| anyhow::anyhow!("no posts"))?;
    let first = sam
        .send_message(&MemberId::parse("@cy:c.bench")?, "Hello from A")
        .await?;
    let conversation = first.conversation;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let writers = 16;
    for w in 0..writers {
        let sam = sam.clone();
        tasks.spawn(async move {
            let mut i = w;
            while i < messages.saturating_sub(1) {
                sam.post_message(
                    &conversation,
                    &NewMessage {
                        body: format!("Message {i}: how did the bid go? Any news on the grant?"),
                        reply_to: None,
                    },
                )
                .await?;
                i += writers;
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    println!(
        "  wrote {messages} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    until("C to hold every post and message", async || {
        cy.thread(&last).await.is_ok()
            && counted(&cy, &conversation)
                .await
                .is_ok_and(|(all, deleted)| all == messages && deleted == 0)
    })
    .await?;

    // Export, three times (the first warms the caches).
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..3 {
        let t = Instant::now();
        size = sam.export_me().await?.len();
        times.push(t.elapsed().as_secs_f64());
    }
    println!(
        "  export of a member with {POSTS} posts and {messages} messages: {:.2} s (first {:.2} s), {:.1} MB",
        times[1..].iter().sum::<f64>() / 2.0,
        times[0],
        size as f64 / 1e6
    );

    // Erasure across three nodes.
    let t = Instant::now();
    let done = admin_a
        .delete_member(
            "sam",
            &DeleteMember {
                confirm: "sam".into(),
            },
        )
        .await?;
    let at_a = t.elapsed().as_secs_f64();
    until("B to drop the posts", async || {
        admin_b.thread(&last).await.is_err()
    })
    .await?;
    let at_b = t.elapsed().as_secs_f64();
    until("C to drop the posts and messages", async || {
        admin_c.thread(&last).await.is_err()
            && counted(&cy, &conversation)
                .await
                .is_ok_and(|(_, deleted)| deleted == messages)
    })
    .await?;
    let at_c = t.elapsed().as_secs_f64();
    println!(
        "  erasure of {} shared-log events and {messages} messages: A {at_a:.2} s, hub B {at_b:.2} s, C (through B) {at_c:.2} s",
        done.events_erased
    );
    Ok(())
}
