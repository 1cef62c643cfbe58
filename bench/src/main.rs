//! `kindred-bench`: starts a real node in a child process (this same binary in `node`
//! mode, so its memory is measured alone) and measures, printing the figures:
//!
//! - acknowledged posts/s over the API with 1, 16 and 64 concurrent writers, each phase
//!   30 s of realistic 650-byte posts by default (`--bytes 0` for the earlier six-word
//!   posts), with p50/p99/max and the slowest second;
//! - live fan-out latency p50/p99 to N websocket clients while posting at R posts/s;
//! - the node's RSS when idle and with N clients connected.
//!
//! `cargo run --release -p kindred-bench -- [--clients N] [--rate R] [--seconds S] [--bytes B]`;
//! `kindred-bench load [--connections C] [--in-flight K] [--seconds S] [--bytes B]` and
//! `kindred-bench growth [sizes]` for sustained load (see `sustained.rs`);
//! `kindred-bench federation [N]`, `chat [N]`, `matching`, `gap [N]`, `search [posts]`,
//! `search-load [posts]`, `slow-flood [connections]`, `backup [posts]`, `erasure [messages]`,
//! `storage [posts]` (every engine side by side), `digest [posts] [members]` for the others.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

mod backup;
mod chat;
mod corpus;
mod digest;
mod erasure;
mod federation;
mod gap;
mod matching;
mod search;
mod security;
mod storage;
mod sustained;
use futures_util::StreamExt;
use kindred_client::Client;
use kindred_protocol::api::{CreateTopic, NewPost, SetupRequest};
pub(crate) use spawn_named as spawn;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

/// The `kindred` binary's allocator, so the node's figures (run from this binary) match.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

struct Options {
    clients: usize,
    rate: u64,
    seconds: u64,
    /// Post body size for the writer phases; 0 for the earlier six-word posts.
    bytes: usize,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        clients: 1000,
        rate: 500,
        seconds: 30,
        bytes: 650,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || -> anyhow::Result<u64> {
            args.next()
                .context("missing value")?
                .parse()
                .context("not a number")
        };
        match a.as_str() {
            "--clients" => o.clients = value()? as usize,
            "--rate" => o.rate = value()?,
            "--seconds" => o.seconds = value()?,
            "--bytes" => o.bytes = value()? as usize,
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(o)
}

fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("node") => node_mode(),
        Some("matching") => {
            matching::bench();
            Ok(())
        }
        Some("chat") => {
            let messages: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(10_000);
            tokio::runtime::Runtime::new()?.block_on(chat::bench(messages))
        }
        Some("erasure") => {
            let messages: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(10_000);
            tokio::runtime::Runtime::new()?.block_on(erasure::bench(messages))
        }
        Some("gap") => {
            let events: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(20_000);
            tokio::runtime::Runtime::new()?.block_on(gap::bench(events))
        }
        Some("search") => {
            let posts: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(100_000);
            tokio::runtime::Runtime::new()?.block_on(search::bench(posts))
        }
        Some("search-load") => {
            let posts: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(50_000);
            tokio::runtime::Runtime::new()?.block_on(security::search_load(posts))
        }
        Some("slow-flood") => {
            let connections: usize = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(2_000);
            tokio::runtime::Runtime::new()?.block_on(security::slow_flood(connections))
        }
        Some("backup") => {
            let posts: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(100_000);
            tokio::runtime::Runtime::new()?.block_on(backup::bench(posts))
        }
        Some("digest") => {
            let posts: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(100_000);
            let members: u64 = std::env::args()
                .nth(3)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(1_000);
            tokio::runtime::Runtime::new()?.block_on(digest::bench(posts, members))
        }
        Some("storage") => {
            let posts: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(20_000);
            tokio::runtime::Runtime::new()?.block_on(storage::bench(posts))
        }
        Some("load") => {
            let args: Vec<String> = std::env::args().skip(2).collect();
            let opts = sustained::Load::from_args(&args)?;
            tokio::runtime::Runtime::new()?.block_on(sustained::load(opts))
        }
        Some("growth") => {
            let sizes: Vec<u64> = match std::env::args().nth(2) {
                Some(list) => list
                    .split(',')
                    .map(|n| n.trim().parse())
                    .collect::<Result<_, _>>()?,
                None => vec![0, 100_000, 500_000],
            };
            tokio::runtime::Runtime::new()?.block_on(sustained::growth(&sizes))
        }
        Some("federation") => {
            let events: u64 = std::env::args()
                .nth(2)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(100_000);
            tokio::runtime::Runtime::new()?.block_on(federation::bench(events))
        }
        _ => {
            let opts = options()?;
            tokio::runtime::Runtime::new()?.block_on(bench(opts))
        }
    }
}

/// Child-process mode: run a node with benchmark-friendly limits until killed.
fn node_mode() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(2)
        .context("usage: kindred-bench node <data dir>")?;
    let mut config = kindred_server::Config::default();
    config.server.data_dir = dir.into();
    if let Some(name) = std::env::args().nth(3) {
        config.node.name = name.parse()?;
    }
    config.log.filter = "error".into();
    if let Ok(filter) = std::env::var("KINDRED_BENCH_LOG") {
        // Diagnosing a run: the node's logs (e.g. `kindred_server::store=trace`) on stderr.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .init();
    }
    config.limits.requests_per_minute = 100_000_000;
    config.limits.connections_per_address = 100_000;
    config.limits.stream_queue = 1024;
    // The fan-out run opens its thousand live streams with one session from one address.
    config.limits.streams_per_session = 100_000;
    config.limits.streams_per_address = 100_000;
    if let Some(cap) = std::env::var("KINDRED_BENCH_MAX_CONNECTIONS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        // As if the open-file limit were lower (the slow-flood benchmark).
        config.limits.max_connections = cap;
    }
    config.chat.messages_per_minute = 100_000_000;
    if let Some(port) = std::env::var("KINDRED_BENCH_SMTP_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
    {
        // Email to the benchmark's SMTP sink (the digest benchmark).
        config.email.smtp_host = Some("127.0.0.1".into());
        config.email.smtp_port = Some(port);
        config.email.security = kindred_server::config::SmtpSecurity::None;
        config.email.from = "Kindred bench <bench@bench.example>".into();
        config.email.batch_minutes = 0;
        config.email.per_node_per_hour = 10_000_000;
    }
    // A clock the benchmark moves on by writing an offset (ms) into a file (digests due a
    // week later).
    let clock: Arc<dyn kindred_server::Clock> = match std::env::var("KINDRED_BENCH_CLOCK_FILE") {
        Ok(file) => Arc::new(digest::FileClock::follow(file.into())),
        Err(_) => Arc::new(kindred_server::SystemClock),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        kindred_server::run_with_clock(listener, config, clock, std::future::pending()).await?;
        Ok(())
    })
}

pub(crate) struct NodeProcess {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) token: Option<String>,
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // Best effort: the benchmark is over.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_node(dir: &std::path::Path) -> anyhow::Result<NodeProcess> {
    spawn_named(dir, "localhost")
}

fn spawn_named(dir: &std::path::Path, name: &str) -> anyhow::Result<NodeProcess> {
    spawn_with_env(dir, name, &[])
}

/// Starts a node child process with extra environment variables.
pub(crate) fn spawn_with_env(
    dir: &std::path::Path,
    name: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<NodeProcess> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("node")
        .arg(dir)
        .arg(name)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().context("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let mut token = None;
    loop {
        let line = lines.next().context("node exited")??;
        if let Some(t) = line.split_whitespace().find(|w| w.starts_with("kdsetup_")) {
            token.get_or_insert_with(|| t.to_owned());
        }
        if let Some(url) = line.split("listening on ").nth(1) {
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(NodeProcess {
                child,
                url: url.trim().to_owned(),
                token,
            });
        }
    }
}

/// Creates the shared topic `Bench` the benchmarks post in.
pub(crate) async fn bench_topic(admin: &Client) -> anyhow::Result<()> {
    admin
        .create_topic(&CreateTopic {
            name: "Bench".into(),
            description: String::new(),
            shared: true,
        })
        .await?;
    Ok(())
}

/// Creates the node's first admin (`bench`); returns the signed-in client and its token.
pub(crate) async fn setup_admin(node: &NodeProcess) -> anyhow::Result<(Client, String)> {
    let (client, session) = Client::new(&node.url)?
        .setup(&SetupRequest {
            token: node
                .token
                .clone()
                .context("fresh node has a set-up token")?,
            username: "bench".into(),
            display_name: "Bench".into(),
            password: "benchmark password".into(),
        })
        .await?;
    Ok((client, session.token))
}

pub(crate) fn rss_mb(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .context("no VmRSS")?
        .parse()?;
    Ok(kb / 1024.0)
}

pub(crate) fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

pub(crate) fn post(title: String) -> NewPost {
    NewPost {
        title,
        body: "A short reflection from the benchmark.".into(),
        tags: vec![],
        content_warning: None,
    }
}

async fn bench(opts: Options) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = spawn_node(dir.path())?;
    let pid = node.child.id();
    let (admin, session_token) = setup_admin(&node).await?;
    bench_topic(&admin).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "Kindred node benchmark ({} cores)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );
    println!("idle RSS: {:.1} MB", rss_mb(pid)?);

    for writers in writer_counts() {
        let phase =
            sustained::write_phase(&node, &session_token, writers, 1, opts.seconds, opts.bytes)
                .await?;
        phase.report(&format!("{writers:>2} writers, {} s", opts.seconds));
    }
    println!("RSS after writing: {:.1} MB", rss_mb(pid)?);

    // Live fan-out.
    let url = format!("{}/api/v1/stream", node.url.replacen("http", "ws", 1));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let connected = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    for _ in 0..opts.clients {
        let mut request = url.as_str().into_client_request()?;
        request.headers_mut().insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {session_token}"))?,
        );
        // tungstenite zero-fills its whole read buffer (128 KiB by default) before each
        // read; with 1,000 clients on the node's own two cores that memset alone took
        // most of the load generator's CPU, so the clients use small buffers.
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let (mut socket, _) =
            tokio_tungstenite::connect_async_with_config(request, Some(config), false).await?;
        let latencies = latencies.clone();
        let connected = connected.clone();
        readers.push(tokio::spawn(async move {
            connected.fetch_add(1, Ordering::Relaxed);
            let mut mine = Vec::new();
            while let Some(Ok(msg)) = socket.next().await {
                let Message::Text(text) = msg else { continue };
                if let Some(sent) = sent_at(&text) {
                    mine.push(now_micros().saturating_sub(sent));
                }
            }
            if let Ok(mut all) = latencies.lock() {
                all.extend(mine);
            }
        }));
    }
    while connected.load(Ordering::Relaxed) < opts.clients as u64 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    println!(
        "RSS with {} live clients: {:.1} MB",
        opts.clients,
        rss_mb(pid)?
    );

    let total = opts.rate * opts.seconds;
    let interval = Duration::from_micros(1_000_000 / opts.rate.max(1));
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut in_flight = Vec::new();
    let start = Instant::now();
    for _ in 0..total {
        ticker.tick().await;
        let client = admin.clone();
        in_flight.push(tokio::spawn(async move {
            let _ = client
                .create_post("Bench", &post(format!("t={}", now_micros())))
                .await;
        }));
    }
    for t in in_flight {
        t.await?;
    }
    let achieved = total as f64 / start.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("RSS during fan-out: {:.1} MB", rss_mb(pid)?);
    drop(node);
    for r in readers {
        let _ = r.await;
    }
    let mut all = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0) as f64
            / 1000.0
    };
    println!(
        "fan-out to {} clients at {:.0} posts/s: {} deliveries, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms (expected {})",
        opts.clients,
        achieved,
        all.len(),
        pct(0.50),
        pct(0.99),
        all.last().copied().unwrap_or(0) as f64 / 1000.0,
        total * opts.clients as u64
    );
    Ok(())
}

/// The send time in a post titled `t=<micros>`. The load generator shares the node's two
/// cores, so this is kept cheap: the first `=` (a byte search) is the title's, as nothing
/// before the title in a post message contains one.
fn sent_at(text: &str) -> Option<u64> {
    let eq = text.find('=')?;
    if !text[..eq].ends_with("\"t") {
        return None;
    }
    let rest = &text[eq + 1..];
    rest[..rest.find('"')?].parse().ok()
}

/// Writer counts to measure (`KINDRED_BENCH_WRITERS=1,16,64` by default).
fn writer_counts() -> Vec<usize> {
    std::env::var("KINDRED_BENCH_WRITERS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 16, 64])
}
