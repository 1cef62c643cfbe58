//! Issue 16's benchmarks: what one member searching hard, or an attacker opening slow
//! connections, does to everyone else.
//!
//! - `kindred-bench search-load [posts]`: a node with `posts` posts (default 50,000);
//!   50 members each open the home page about once a second (think time 0.5-1 s). The
//!   home page p50/p99 is measured for 20 s alone, then for 30 s while 4 more members
//!   run 16-word searches back to back.
//! - `kindred-bench slow-flood [connections]`: `connections` (default 2,000) clients each
//!   send half a request header and stall (reconnecting whenever the node cuts them off),
//!   while a real client opens a fresh connection and signs-in-checks (`GET
//!   /api/v1/me`) ten times a second for 30 s. Reports how many of its requests failed
//!   and its p99.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kindred_client::Client;
use kindred_protocol::api::{CreateInvite, RedeemInviteRequest};
use kindred_tests::web::Browser;
use tokio::io::AsyncWriteExt;

use crate::corpus::{Words, percentile, vocabulary, write_posts};
use crate::{bench_topic, setup_admin, spawn};

async fn member(admin: &Client, url: &str, name: &str) -> anyhow::Result<()> {
    let invite = admin.create_invite(&CreateInvite::default()).await?;
    Client::new(url)?
        .redeem_invite(&RedeemInviteRequest {
            code: invite.code,
            username: name.into(),
            display_name: name.into(),
            password: "benchmark password".into(),
        })
        .await?;
    Ok(())
}

/// Loads the home page as `readers` members until `stop`; returns each load's time (µs).
async fn home_pages(url: &str, readers: usize, stop: Arc<AtomicBool>) -> Vec<u64> {
    let mut tasks = Vec::new();
    for r in 0..readers {
        let url = url.to_owned();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut browser = Browser::new(&url);
            browser
                .sign_in(&format!("reader{r}"), "benchmark password")
                .await;
            let mut times = Vec::new();
            // Spread the readers out over the first second.
            tokio::time::sleep(Duration::from_millis(20 * r as u64)).await;
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let page = browser.get("/").await;
                if page.status.is_success() {
                    times.push(started.elapsed().as_micros() as u64);
                }
                tokio::time::sleep(Duration::from_millis(500 + 10 * r as u64)).await;
            }
            times
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        if let Ok(times) = t.await {
            all.extend(times);
        }
    }
    all.sort_unstable();
    all
}

pub(crate) async fn search_load(posts: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = spawn(&dir.path().join("node"), "search.bench")?;
    let (admin, _) = setup_admin(&node).await?;
    bench_topic(&admin).await?;
    println!("Kindred search-load benchmark: {posts} posts, 50 readers, 4 searchers");
    let started = Instant::now();
    write_posts(&admin, 0, posts).await?;
    println!("  written in {:.1} s", started.elapsed().as_secs_f64());
    // Let the indexer catch up: a search waits for it (a few seconds at most each time).
    let indexing = Instant::now();
    for _ in 0..120 {
        if admin.search("grant0", Some(1)).await.is_ok() {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    admin.search("grant0 fund1", Some(1)).await?;
    println!(
        "  indexed (searches answer) after {:.1} s more",
        indexing.elapsed().as_secs_f64()
    );
    for r in 0..50 {
        member(&admin, &node.url, &format!("reader{r}")).await?;
    }
    for s in 0..4 {
        member(&admin, &node.url, &format!("searcher{s}")).await?;
    }

    let stop = Arc::new(AtomicBool::new(false));
    let url = node.url.clone();
    let alone = {
        let stop = stop.clone();
        tokio::spawn(async move { home_pages(&url, 50, stop).await })
    };
    tokio::time::sleep(Duration::from_secs(20)).await;
    stop.store(true, Ordering::Relaxed);
    let alone = alone.await?;
    println!(
        "  home page alone:            p50 {:.1} ms, p99 {:.1} ms ({} loads)",
        percentile(&alone, 0.5),
        percentile(&alone, 0.99),
        alone.len()
    );

    let stop = Arc::new(AtomicBool::new(false));
    let searches = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let mut searchers = Vec::new();
    for s in 0..4u64 {
        let (client, _) = Client::new(&node.url)?
            .login(&format!("searcher{s}"), "benchmark password")
            .await?;
        let stop = stop.clone();
        let searches = searches.clone();
        let refused = refused.clone();
        searchers.push(tokio::spawn(async move {
            let mut words = Words {
                state: 0x2545_f491_4f6c_dd1d ^ (s + 1),
                vocabulary: vocabulary(),
            };
            while !stop.load(Ordering::Relaxed) {
                match client.search(&words.text(16), Some(20)).await {
                    Ok(_) => searches.fetch_add(1, Ordering::Relaxed),
                    Err(_) => refused.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let url = node.url.clone();
    let loaded = {
        let stop = stop.clone();
        tokio::spawn(async move { home_pages(&url, 50, stop).await })
    };
    tokio::time::sleep(Duration::from_secs(30)).await;
    stop.store(true, Ordering::Relaxed);
    let loaded = loaded.await?;
    for s in searchers {
        s.await?;
    }
    println!(
        "  home page with 4 searchers: p50 {:.1} ms, p99 {:.1} ms ({} loads; {} searches answered, {} asked to wait, in 30 s)",
        percentile(&loaded, 0.5),
        percentile(&loaded, 0.99),
        loaded.len(),
        searches.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
    );
    Ok(())
}

pub(crate) async fn slow_flood(connections: usize) -> anyhow::Result<()> {
    raise_open_files();
    println!("Kindred slow-flood benchmark: {connections} connections sending half a header");
    println!(" with the node's own connection cap (from its open-file limit):");
    flood_round(connections).await?;
    println!(" with the cap at 768 (as from an open-file limit of 1,024), so the node must shed:");
    flood_round_capped(connections, 768).await
}

async fn flood_round_capped(connections: usize, cap: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = crate::spawn_with_env(
        &dir.path().join("node"),
        "flood.bench",
        &[("KINDRED_BENCH_MAX_CONNECTIONS", &cap.to_string())],
    )?;
    flood_against(node, connections).await
}

async fn flood_round(connections: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = spawn(&dir.path().join("node"), "flood.bench")?;
    flood_against(node, connections).await
}

async fn flood_against(node: crate::NodeProcess, connections: usize) -> anyhow::Result<()> {
    let (_, token) = setup_admin(&node).await?;
    let address = node.url.trim_start_matches("http://").to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let open = Arc::new(AtomicU64::new(0));
    let cut_off = Arc::new(AtomicU64::new(0));
    let mut flood = Vec::new();
    for _ in 0..connections {
        let address = address.clone();
        let stop = stop.clone();
        let open = open.clone();
        let cut_off = cut_off.clone();
        flood.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let Ok(mut s) = tokio::net::TcpStream::connect(&address).await else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                if s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.is_err() {
                    continue;
                }
                open.fetch_add(1, Ordering::Relaxed);
                // Stall until the node hangs up, then come back.
                let mut buf = [0u8; 256];
                loop {
                    tokio::select! {
                        r = tokio::io::AsyncReadExt::read(&mut s, &mut buf) => {
                            if matches!(r, Ok(0) | Err(_)) { break; }
                        }
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {
                            if stop.load(Ordering::Relaxed) { break; }
                        }
                    }
                }
                open.fetch_sub(1, Ordering::Relaxed);
                cut_off.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Let the flood build up before the real client starts.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut times = Vec::new();
    let mut failed = 0u64;
    let mut longest_out = Duration::ZERO;
    let mut out_since: Option<Instant> = None;
    let mut peak_open = 0;
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        peak_open = peak_open.max(open.load(Ordering::Relaxed));
        let started = Instant::now();
        // A fresh client each time: a new connection, as a member arriving would open.
        let client = Client::new(&node.url)?.with_token(token.clone());
        let result = tokio::time::timeout(Duration::from_secs(10), client.me()).await;
        match result {
            Ok(Ok(_)) => {
                times.push(started.elapsed().as_micros() as u64);
                if let Some(since) = out_since.take() {
                    longest_out = longest_out.max(since.elapsed());
                }
            }
            _ => {
                failed += 1;
                out_since.get_or_insert(started);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if let Some(since) = out_since {
        longest_out = longest_out.max(since.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    times.sort_unstable();
    println!(
        "  flood connections open at once (peak): {peak_open}; cut off by the node: {}",
        cut_off.load(Ordering::Relaxed)
    );
    println!(
        "  real client: {} served, {} refused or timed out; p50 {:.1} ms, p99 {:.1} ms; longest time kept out: {:.1} s",
        times.len(),
        failed,
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        longest_out.as_secs_f64()
    );
    for f in flood {
        f.abort();
    }
    Ok(())
}

/// The flood needs more descriptors than the usual soft limit of 1,024.
fn raise_open_files() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let Some(max) = limit.maximum {
        // Best effort: with a low hard limit the flood is simply smaller.
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(max),
                maximum: Some(max),
            },
        );
    }
}
