//! `kindred-bench storage [posts]`: every durable storage engine side by side in one run.
//! For each, a fresh node is filled with `posts` posts (default 20,000; about 500 bytes of
//! text each) by 16 writers; then half of them are retracted, and the node restarted.
//! Printed per engine: acknowledged posts/s, the data folder's size on disk (allocated
//! blocks) and bytes per post,
//! what the retractions added or gave back, the size after a restart, and the node's RSS.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use kindred_protocol::EventId;

use crate::corpus::write_posts;
use crate::{bench_topic, rss_mb, setup_admin, spawn_with_env};

pub(crate) async fn bench(posts: u64) -> anyhow::Result<()> {
    println!("Kindred storage engines side by side ({posts} posts, 16 writers)");
    println!(
        "{:<6} {:>9} {:>10} {:>10} {:>14} {:>14} {:>14} {:>9}",
        "engine",
        "posts/s",
        "folder MB",
        "B/post",
        "after retract",
        "after restart",
        "re-indexed",
        "RSS MB"
    );
    let engines: Vec<String> = match std::env::var("KINDRED_BENCH_ENGINES") {
        Ok(list) => list.split(',').map(str::to_owned).collect(),
        Err(_) => vec!["sled".into(), "redb".into()],
    };
    for engine in &engines {
        let engine = engine.as_str();
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("node");
        let env = [("KINDRED_STORAGE__ENGINE", engine)];
        let node = spawn_with_env(&data, "storage.bench", &env)?;
        let (admin, token) = setup_admin(&node).await?;
        bench_topic(&admin).await?;
        let started = Instant::now();
        write_posts(&admin, 0, posts).await?;
        let rate = posts as f64 / started.elapsed().as_secs_f64();
        // The search index catches up before anything is measured (a search waits for it).
        admin.search("grant0 fund1", Some(1)).await?;
        let filled = disk_usage(&data.join("db"));
        let rss = rss_mb(node.child.id())?;
        // Half the posts taken down by their author, by 16 writers.
        let mut ids: Vec<EventId> = Vec::new();
        let mut before = None;
        loop {
            let page = admin
                .topic_posts("Bench", before.as_deref(), Some(500))
                .await?;
            ids.extend(page.items.iter().map(|p| p.id));
            match page.next_cursor {
                Some(next) if ids.len() < posts as usize => before = Some(next),
                _ => break,
            }
        }
        let half: Arc<Vec<EventId>> = Arc::new(ids.into_iter().step_by(2).collect());
        let next = Arc::new(AtomicU64::new(0));
        let writers: Vec<_> = (0..16)
            .map(|_| {
                let (admin, half, next) = (admin.clone(), half.clone(), next.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                        let Some(id) = half.get(i) else { break };
                        admin.retract(id, None).await?;
                    }
                    Ok::<_, anyhow::Error>(())
                })
            })
            .collect();
        for w in writers {
            w.await??;
        }
        admin.search("grant0 fund1", Some(1)).await?;
        let retracted = disk_usage(&data.join("db"));
        drop(node);
        let t = Instant::now();
        let node = spawn_with_env(&data, "storage.bench", &env)?;
        let start_secs = t.elapsed().as_secs_f64();
        let restarted = disk_usage(&data.join("db"));
        // And once the search index is whole again (a start that compacted rebuilds it).
        let client = kindred_client::Client::new(&node.url)?.with_token(token);
        client.search("grant0 fund1", Some(1)).await?;
        let reindexed = disk_usage(&data.join("db"));
        drop(node);
        // Where the bytes are: the biggest keyspaces by key and value bytes.
        let mut trees: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
        kindred_server::storage::each_record(&data, |tree, k, v| {
            let t = trees.entry(tree.to_owned()).or_default();
            t.0 += 1;
            t.1 += (k.len() + v.len()) as u64;
        })?;
        let mut trees: Vec<_> = trees.into_iter().collect();
        trees.sort_by_key(|(_, (_, bytes))| std::cmp::Reverse(*bytes));
        let biggest: Vec<String> = trees
            .iter()
            .take(12)
            .map(|(name, (n, bytes))| format!("{name} {n} records {:.1} MB", *bytes as f64 / 1e6))
            .collect();
        println!(
            "{engine:<6} {rate:>9.0} {:>10.1} {:>10.0} {:>14.1} {:>14.1} {:>14.1} {rss:>9.0}",
            filled as f64 / 1e6,
            filled as f64 / posts as f64,
            retracted as f64 / 1e6,
            restarted as f64 / 1e6,
            reindexed as f64 / 1e6,
        );
        println!(
            "       restart (checks included) {start_secs:.1} s; live data: {}",
            biggest.join(", ")
        );
    }
    Ok(())
}

/// Bytes the files under `path` occupy on disk (allocated blocks: a file an engine has
/// grown but not written is sparse and costs nothing).
fn disk_usage(path: &std::path::Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => disk_usage(&e.path()),
            Ok(m) => m.blocks() * 512,
            Err(_) => 0,
        })
        .sum()
}
