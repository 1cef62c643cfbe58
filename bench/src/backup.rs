//! `kindred-bench backup [posts]`: a node holding `posts` posts (default 100,000, about 500
//! bytes of text each) is backed up while a member keeps posting: how long the backup
//! takes, how big it is, how long a post waited at worst while the snapshot was read, and
//! how long a restore into an empty folder takes. Also the node's disk and memory per
//! 10,000 posts, for sizing (docs/running-a-node.md).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use kindred_protocol::api::NewPost;

use crate::corpus::{percentile, write_posts};
use crate::search::dir_size;
use crate::{bench_topic, rss_mb, setup_admin, spawn};

pub(crate) async fn bench(posts: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let node = spawn(&data, "backup.bench")?;
    let (admin, _) = setup_admin(&node).await?;
    bench_topic(&admin).await?;
    println!("Kindred backup benchmark ({posts} posts)");
    let started = Instant::now();
    write_posts(&admin, 0, posts).await?;
    // The search index catches up before anything is measured.
    admin.search("grant0 fund1", Some(1)).await?;
    let folder = dir_size(&data);
    let rss = rss_mb(node.child.id())?;
    println!(
        "  filled in {:.0} s; data folder {:.0} MB ({:.1} MB per 10,000 posts); node RSS {:.0} MB",
        started.elapsed().as_secs_f64(),
        folder as f64 / 1e6,
        folder as f64 / 1e6 / (posts as f64 / 10_000.0),
        rss
    );

    // One member keeps posting through the backup; each post's latency is recorded.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (admin, stop) = (admin.clone(), stop.clone());
        tokio::spawn(async move {
            let mut times = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let post = NewPost {
                    title: format!("During the backup {n}"),
                    body: "Still writing while the node is backed up.".into(),
                    tags: vec![],
                    content_warning: None,
                };
                let t = Instant::now();
                admin.create_post("Bench", &post).await?;
                times.push(t.elapsed().as_micros() as u64);
                n += 1;
            }
            Ok::<_, anyhow::Error>(times)
        })
    };
    let file = dir.path().join("node.kbak");
    let (from, to) = (data.clone(), file.clone());
    let t = Instant::now();
    let summary =
        tokio::task::spawn_blocking(move || kindred_server::backup::backup(&from, &to, |_| {}))
            .await??;
    let took = t.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut times = writer.await??;
    times.sort_unstable();
    println!(
        "  online backup: {:.1} s, {:.0} MB ({:.0} MB/s), {} records; {} posts written meanwhile, latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        took.as_secs_f64(),
        summary.bytes as f64 / 1e6,
        summary.bytes as f64 / 1e6 / took.as_secs_f64().max(0.001),
        summary.records,
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
    if let Ok(keep) = std::env::var("KINDRED_BENCH_KEEP_BACKUP") {
        // For looking inside afterwards (which trees take the space).
        std::fs::copy(&file, keep)?;
    }
    let target = dir.path().join("restored");
    let t = Instant::now();
    let restored = tokio::task::spawn_blocking(move || {
        kindred_server::backup::restore(&file, &target, |_| {})
    })
    .await??;
    println!(
        "  restore into an empty folder: {:.1} s, {} records",
        t.elapsed().as_secs_f64(),
        restored.records
    );
    Ok(())
}
