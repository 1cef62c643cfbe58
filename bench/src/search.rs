//! `kindred-bench search [posts]`: search at 10,000 posts and at `posts` (default 100,000):
//! how long the index takes to catch up with posts written as fast as the node takes
//! them, two-word query p50/p99 (500 queries, one at a time, once indexing is done), and
//! the database's size per post. Posts are drawn from the same 1,920-word vocabulary as
//! `search-load`.

use std::time::{Duration, Instant};

use crate::corpus::{Words, percentile, vocabulary, write_posts};
use crate::{bench_topic, setup_admin, spawn};

pub(crate) fn dir_size(path: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

pub(crate) async fn bench(posts: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let node = spawn(&data, "search.bench")?;
    let (admin, _) = setup_admin(&node).await?;
    bench_topic(&admin).await?;
    println!("Kindred search benchmark (two-word queries, 1,920-word vocabulary)");
    let mut written = 0;
    for size in [10_000u64.min(posts), posts] {
        if size <= written {
            continue;
        }
        let started = Instant::now();
        write_posts(&admin, written, size).await?;
        let wrote = started.elapsed();
        let rate = (size - written) as f64 / wrote.as_secs_f64().max(0.001);
        written = size;
        // A search waits for the index to cover everything stored before it.
        let indexing = Instant::now();
        admin.search("grant0 fund1", Some(1)).await?;
        let caught_up = indexing.elapsed();
        // Let background work settle before measuring queries.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let mut words = Words {
            state: 0x2545_f491_4f6c_dd1d,
            vocabulary: vocabulary(),
        };
        let mut times = Vec::new();
        for _ in 0..500 {
            let q = words.text(2);
            let t = Instant::now();
            admin.search(&q, Some(20)).await?;
            times.push(t.elapsed().as_micros() as u64);
        }
        times.sort_unstable();
        println!(
            "  {size} posts: written at {:.0}/s; index caught up {:.1} s after the last; query p50 {:.1} ms, p99 {:.1} ms; database {:.0} bytes per post",
            rate,
            caught_up.as_secs_f64(),
            percentile(&times, 0.5),
            percentile(&times, 0.99),
            dir_size(&data) as f64 / size as f64,
        );
    }
    Ok(())
}
