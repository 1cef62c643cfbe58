//! `kindred-bench federation [N]`: two real nodes (child processes) paired on loopback.
//!
//! - live replication: N/10 posts written at A as fast as 64 writers can while B is
//!   connected; reports A's write rate and how far B trails (its lag when A finishes and
//!   how long it takes to reach zero);
//! - catch-up: B is stopped, N posts are written at A, B starts again; reports the time
//!   until B holds all of them, the rate, and both nodes' peak RSS meanwhile.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kindred_client::Client;
use kindred_protocol::api::CreateTopic;

use crate::{NodeProcess, post, rss_mb, setup_admin, spawn};

async fn admin(node: &NodeProcess) -> anyhow::Result<Client> {
    let (client, _) = setup_admin(node).await?;
    client
        .create_topic(&CreateTopic {
            name: "Bench".into(),
            description: String::new(),
            shared: true,
        })
        .await?;
    Ok(client)
}

async fn posts_at(client: &Client) -> u64 {
    client
        .topics()
        .await
        .ok()
        .and_then(|t| t.into_iter().find(|t| t.name == "Bench"))
        .map(|t| t.posts)
        .unwrap_or(0)
}

async fn write(client: &Client, n: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let client = client.clone();
            let done = done.clone();
            let next = next.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        break;
                    }
                    if client
                        .create_post("Bench", &post(format!("event {i}")))
                        .await
                        .is_ok()
                    {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

pub(crate) async fn bench(events: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let a = spawn(&dir.path().join("a"), "a.bench")?;
    let b = spawn(&dir.path().join("b"), "b.bench")?;
    let admin_a = admin(&a).await?;
    let admin_b = admin(&b).await?;
    let invite = admin_a.create_peer_invite().await?;
    admin_b.add_peer(&invite.token).await?;
    println!("Kindred federation benchmark: two nodes on loopback, {events} events");

    // Live replication.
    let live = events / 10;
    let rate = write(&admin_a, live).await;
    let finished = Instant::now();
    let trailing = live.saturating_sub(posts_at(&admin_b).await);
    while posts_at(&admin_b).await < live {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "live: {live} posts written at A at {rate:.0}/s; B trailed by {trailing} when A finished and caught up {:.2} s later",
        finished.elapsed().as_secs_f64()
    );

    // Catch-up after downtime.
    let b_dir = dir.path().join("b");
    drop(b);
    let rate = write(&admin_a, events).await;
    println!("catch-up: wrote {events} posts at A while B was down ({rate:.0}/s)");
    // A indexes its own burst for search once writing pauses; let that finish (a search
    // waits for it) so the catch-up below measures B's work, not A's leftover indexing.
    admin_a.search("reflection", Some(1)).await?;
    let total = live + events;
    let start = Instant::now();
    let b = spawn(&b_dir, "b.bench")?;
    let (admin_b, _) = Client::new(&b.url)?
        .login("bench", "benchmark password")
        .await?;
    let (mut peak_a, mut peak_b) = (0f64, 0f64);
    let mut first = None;
    loop {
        peak_a = peak_a.max(rss_mb(a.child.id()).unwrap_or(0.0));
        peak_b = peak_b.max(rss_mb(b.child.id()).unwrap_or(0.0));
        let held = posts_at(&admin_b).await;
        if held > live && first.is_none() {
            first = Some(start.elapsed().as_secs_f64());
        }
        if held >= total {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("B did not catch up within 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "catch-up: B received {events} missed events in {secs:.1} s ({:.0} events/s, including B's start; the first arrived after {:.1} s); peak RSS A {peak_a:.0} MB, B {peak_b:.0} MB",
        events as f64 / secs,
        first.unwrap_or(secs)
    );
    Ok(())
}
