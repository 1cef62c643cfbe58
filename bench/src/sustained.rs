//! Sustained load, measured in phases long enough for the node's background work (search
//! indexing above all) to run while it is being written to:
//!
//! - `kindred-bench load [--connections C] [--in-flight K] [--seconds S] [--bytes B]`:
//!   one phase of C x K concurrent writers of B-byte posts (defaults 64 x 1, 30 s, 650
//!   bytes), the load shape of the other servers' benchmarks (nostr-rs-relay, Synapse):
//!   acknowledged posts/s, p50/p99/max per request, and the slowest second (a stall shows
//!   there, not in the mean);
//! - `kindred-bench growth [sizes]` (default `0,100000,500000`): fills one node to each
//!   size in turn with realistic posts and measures, at each, two-word search p50/p99,
//!   timeline reads (a topic's newest page and a page far back) p50/p99, the catch-up of
//!   a freshly paired node (time, rate, both nodes' peak RSS), then a 30-s ingest phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kindred_client::Client;
use kindred_protocol::api::NewPost;

use crate::corpus::{Words, percentile, realistic_post, vocabulary};
use crate::{NodeProcess, bench_topic, rss_mb, setup_admin, spawn};

/// What one phase of writing did.
pub(crate) struct Phase {
    pub(crate) acknowledged: u64,
    pub(crate) failed: u64,
    pub(crate) seconds: f64,
    /// Request times in microseconds, sorted.
    pub(crate) latencies: Vec<u64>,
    /// Acknowledgements in each whole second of the phase.
    pub(crate) per_second: Vec<u64>,
}

impl Phase {
    pub(crate) fn report(&self, label: &str) {
        let slowest = self.per_second.iter().copied().min().unwrap_or(0);
        let stalled = self
            .per_second
            .iter()
            .filter(|&&n| (n as f64) < self.rate() / 4.0)
            .count();
        println!(
            "  {label}: {:.0} acknowledged posts/s ({} in {:.1} s, {} failed); p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; slowest second {slowest}, seconds under a quarter of the mean {stalled}",
            self.rate(),
            self.acknowledged,
            self.seconds,
            self.failed,
            percentile(&self.latencies, 0.5),
            percentile(&self.latencies, 0.99),
            self.latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
        );
    }

    fn rate(&self) -> f64 {
        self.acknowledged as f64 / self.seconds.max(0.001)
    }
}

/// Writes realistic posts of about `bytes` bytes from `connections` x `in_flight`
/// concurrent writers for `seconds`, each connection its own HTTP client (HTTP/1.1 does
/// not multiplex, so each request in flight has its own keep-alive connection).
pub(crate) async fn write_phase(
    node: &NodeProcess,
    token: &str,
    connections: usize,
    in_flight: usize,
    seconds: u64,
    bytes: usize,
) -> anyhow::Result<Phase> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let per_second: Arc<Vec<AtomicU64>> =
        Arc::new((0..=seconds).map(|_| AtomicU64::new(0)).collect());
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let client = Client::new(&node.url)?.with_token(token);
        for k in 0..in_flight {
            let client = client.clone();
            let per_second = per_second.clone();
            let failed = failed.clone();
            let seed = (c * in_flight + k) as u64 + 1;
            tasks.push(tokio::spawn(async move {
                let mut words = Words {
                    state: 0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x2545_f491_4f6c_dd1d),
                    vocabulary: vocabulary(),
                };
                let mut times = Vec::new();
                while Instant::now() < deadline {
                    let post = match bytes {
                        // The earlier benchmarks' six-word posts, for comparison with them.
                        0 => crate::post(format!("w{seed} {}", words.next())),
                        650 => realistic_post(&mut words),
                        n => NewPost {
                            body: words.prose(n),
                            ..realistic_post(&mut words)
                        },
                    };
                    let sent = Instant::now();
                    match client.create_post("Bench", &post).await {
                        Ok(_) => {
                            times.push(sent.elapsed().as_micros() as u64);
                            let second = start.elapsed().as_secs() as usize;
                            if let Some(slot) = per_second.get(second) {
                                slot.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                times
            }));
        }
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await?);
    }
    let seconds_taken = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    // Whole seconds only: the last, partial one would look like a stall.
    let whole = (seconds_taken as usize).min(seconds as usize);
    Ok(Phase {
        acknowledged: latencies.len() as u64,
        failed: failed.load(Ordering::Relaxed),
        seconds: seconds_taken,
        latencies,
        per_second: per_second
            .iter()
            .take(whole)
            .map(|n| n.load(Ordering::Relaxed))
            .collect(),
    })
}

/// Options of `kindred-bench load`.
pub(crate) struct Load {
    pub(crate) connections: usize,
    pub(crate) in_flight: usize,
    pub(crate) seconds: u64,
    pub(crate) bytes: usize,
}

impl Load {
    pub(crate) fn from_args(args: &[String]) -> anyhow::Result<Self> {
        let mut load = Load {
            connections: 64,
            in_flight: 1,
            seconds: 30,
            bytes: 650,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let value: u64 = it
                .next()
                .ok_or_else(|| anyhow::anyhow!("{a} needs a value"))?
                .parse()?;
            match a.as_str() {
                "--connections" => load.connections = value as usize,
                "--in-flight" => load.in_flight = value as usize,
                "--seconds" => load.seconds = value,
                "--bytes" => load.bytes = value as usize,
                other => anyhow::bail!("unknown argument {other}"),
            }
        }
        Ok(load)
    }
}

pub(crate) async fn load(opts: Load) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = spawn(&dir.path().join("node"), "load.bench")?;
    let (admin, token) = setup_admin(&node).await?;
    bench_topic(&admin).await?;
    println!(
        "Kindred sustained ingest: {} connections x {} in flight, {}-byte posts, {} s",
        opts.connections, opts.in_flight, opts.bytes, opts.seconds
    );
    let phase = write_phase(
        &node,
        &token,
        opts.connections,
        opts.in_flight,
        opts.seconds,
        opts.bytes,
    )
    .await?;
    phase.report("ingest");
    let caught_up = index_caught_up(&admin).await?;
    println!(
        "  search index caught up {caught_up:.1} s after the phase; node RSS {:.0} MB; database {:.0} bytes per post",
        rss_mb(node.child.id())?,
        crate::search::dir_size(&dir.path().join("node")) as f64 / phase.acknowledged.max(1) as f64,
    );
    Ok(())
}

async fn posts_held(client: &Client) -> u64 {
    client
        .topics()
        .await
        .ok()
        .and_then(|t| t.into_iter().find(|t| t.name == "Bench"))
        .map(|t| t.posts)
        .unwrap_or(0)
}

/// Waits until the search index covers every post: a search waits (up to two seconds)
/// for the index, so one that answers well within that means the index had caught up.
/// Returns the seconds taken.
pub(crate) async fn index_caught_up(admin: &Client) -> anyhow::Result<f64> {
    let start = Instant::now();
    loop {
        let asked = Instant::now();
        admin.search("grant0 fund1", Some(1)).await?;
        if asked.elapsed() < Duration::from_millis(1_500) {
            return Ok(start.elapsed().as_secs_f64());
        }
    }
}

/// Writes realistic posts with 64 writers until the topic holds `target`; returns the rate.
async fn fill(admin: &Client, target: u64) -> anyhow::Result<f64> {
    let held = posts_held(admin).await;
    if held >= target {
        return Ok(0.0);
    }
    let next = Arc::new(AtomicU64::new(held));
    let start = Instant::now();
    let writers: Vec<_> = (0..64u64)
        .map(|w| {
            let admin = admin.clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut words = Words {
                    state: 0x6a09_e667_f3bc_c908 ^ (w + 1 + target),
                    vocabulary: vocabulary(),
                };
                while next.fetch_add(1, Ordering::Relaxed) < target {
                    admin
                        .create_post("Bench", &realistic_post(&mut words))
                        .await?;
                }
                Ok::<_, anyhow::Error>(())
            })
        })
        .collect();
    for w in writers {
        w.await??;
    }
    Ok((target - held) as f64 / start.elapsed().as_secs_f64())
}

/// Counts what a live stream receives, in the background.
struct StreamWatch {
    updates: Arc<AtomicU64>,
    resyncs: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

fn watch_stream(mut stream: kindred_client::LiveStream) -> StreamWatch {
    let updates = Arc::new(AtomicU64::new(0));
    let resyncs = Arc::new(AtomicU64::new(0));
    let (u, r) = (updates.clone(), resyncs.clone());
    let task = tokio::spawn(async move {
        while let Some(Ok(message)) = stream.next().await {
            match message {
                kindred_protocol::api::StreamMessage::Resync { .. } => {
                    r.fetch_add(1, Ordering::Relaxed);
                }
                _ => {
                    u.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    });
    StreamWatch {
        updates,
        resyncs,
        task,
    }
}

impl StreamWatch {
    /// Updates, resyncs, and whether the stream is still open.
    fn report(&self) -> (u64, u64, bool) {
        (
            self.updates.load(Ordering::Relaxed),
            self.resyncs.load(Ordering::Relaxed),
            !self.task.is_finished(),
        )
    }
}

/// Times `n` calls of `f`, one at a time; sorted microseconds.
async fn timed<F, Fut>(n: usize, mut f: F) -> anyhow::Result<Vec<u64>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await?;
        times.push(t.elapsed().as_micros() as u64);
    }
    times.sort_unstable();
    Ok(times)
}

fn p50_p99(times: &[u64]) -> String {
    format!(
        "p50 {:.1} ms, p99 {:.1} ms",
        percentile(times, 0.5),
        percentile(times, 0.99)
    )
}

/// A freshly started node pairs with `origin` and takes everything it holds; returns
/// (seconds, events/s, peak RSS of the origin, peak RSS of the new node).
async fn catch_up(
    dir: &std::path::Path,
    origin: &NodeProcess,
    origin_admin: &Client,
    held: u64,
    name: &str,
) -> anyhow::Result<(f64, f64, f64, f64)> {
    let fresh = spawn(dir, name)?;
    let (fresh_admin, _) = setup_admin(&fresh).await?;
    bench_topic(&fresh_admin).await?;
    // A member online at the new node while it catches up: their live stream should stay
    // open through it (skipping ahead with `resync` when it cannot keep up).
    let watcher = watch_stream(fresh_admin.stream().await?);
    let invite = origin_admin.create_peer_invite().await?;
    let start = Instant::now();
    fresh_admin.add_peer(&invite.token).await?;
    let (mut peak_origin, mut peak_fresh) = (0f64, 0f64);
    loop {
        peak_origin = peak_origin.max(rss_mb(origin.child.id()).unwrap_or(0.0));
        peak_fresh = peak_fresh.max(rss_mb(fresh.child.id()).unwrap_or(0.0));
        if posts_held(&fresh_admin).await >= held {
            break;
        }
        if start.elapsed() > Duration::from_secs(900) {
            anyhow::bail!("the new node did not catch up within 15 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let (updates, resyncs, open) = watcher.report();
    println!(
        "  a member online at the new node meanwhile: {updates} live updates, {resyncs} resyncs, stream {}",
        if open { "still open" } else { "closed" }
    );
    // The origin would keep redialling the new node: block it so later phases measure one.
    origin_admin.block_peer_named(name).await?;
    drop(fresh);
    let _ = std::fs::remove_dir_all(dir);
    Ok((secs, held as f64 / secs, peak_origin, peak_fresh))
}

pub(crate) async fn growth(sizes: &[u64]) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("node");
    let node = spawn(&data, "growth.bench")?;
    let (admin, token) = setup_admin(&node).await?;
    bench_topic(&admin).await?;
    println!(
        "Kindred growth benchmark: realistic 650-byte posts, measured at {sizes:?} posts held"
    );
    let mut queries = Words {
        state: 0x3c6e_f372_fe94_f82b,
        vocabulary: vocabulary(),
    };
    for (round, &size) in sizes.iter().enumerate() {
        let rate = fill(&admin, size).await?;
        let caught_up = index_caught_up(&admin).await?;
        let held = posts_held(&admin).await;
        println!(
            "at {held} posts (filled at {rate:.0}/s; index caught up {caught_up:.1} s after):"
        );
        let qs: Vec<String> = (0..300)
            .map(|_| {
                let first = queries.skewed().to_owned();
                format!("{first} {}", queries.skewed())
            })
            .collect();
        let search = timed(qs.len(), |i| {
            let admin = admin.clone();
            let q = qs[i].clone();
            async move {
                admin.search(&q, Some(20)).await?;
                Ok(())
            }
        })
        .await?;
        println!("  two-word search (300 queries): {}", p50_p99(&search));
        let newest = timed(300, |_| {
            let admin = admin.clone();
            async move {
                admin.topic_posts("Bench", None, Some(20)).await?;
                Ok(())
            }
        })
        .await?;
        // A page far back: follow cursors 10 pages deep once, then read that page.
        let mut cursor = None;
        for _ in 0..10 {
            let page = admin
                .topic_posts("Bench", cursor.as_deref(), Some(20))
                .await?;
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let deep = timed(300, |_| {
            let admin = admin.clone();
            let cursor = cursor.clone();
            async move {
                admin
                    .topic_posts("Bench", cursor.as_deref(), Some(20))
                    .await?;
                Ok(())
            }
        })
        .await?;
        println!(
            "  timeline, newest page: {}; ten pages back: {}",
            p50_p99(&newest),
            p50_p99(&deep)
        );
        if held > 0 {
            let (secs, per_sec, origin, fresh) = catch_up(
                &dir.path().join(format!("fresh{round}")),
                &node,
                &admin,
                held,
                &format!("fresh{round}.bench"),
            )
            .await?;
            println!(
                "  catch-up of a newly paired node: {secs:.1} s ({per_sec:.0} events/s); peak RSS origin {origin:.0} MB, new node {fresh:.0} MB"
            );
        }
        let phase = write_phase(&node, &token, 64, 1, 30, 650).await?;
        phase.report("ingest, 64 connections, 30 s");
        println!(
            "  database {:.0} bytes per post; node RSS {:.0} MB",
            crate::search::dir_size(&data) as f64 / posts_held(&admin).await.max(1) as f64,
            rss_mb(node.child.id())?
        );
    }
    Ok(())
}
