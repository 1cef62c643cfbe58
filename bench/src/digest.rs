//! `kindred-bench digest [posts] [members]`: the cost of a weekly digest. A node holding
//! `posts` posts (default 100,000, in ten topics, 1% with replies and 1% thanked, all in
//! the week) and `members` members (default 1,000) with confirmed addresses, each
//! following two topics, has its clock moved on eight days; the digests then go to an
//! SMTP sink in this process. Printed: the time until the first digest arrives (building
//! every digest: the week's posts read and ranked once, then one email per member,
//! queued), until the last (and the sending), and the node's RSS before and at its peak.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use kindred_client::Client;
use kindred_protocol::api::{
    CreateInvite, CreateTopic, EmailKinds, NewPost, NewReply, RedeemInviteRequest,
    UpdateEmailSettings,
};
use kindred_tests::smtp_sink::SmtpSink;

use crate::corpus::{Words, vocabulary};
use crate::{rss_mb, setup_admin, spawn_with_env};

const TOPICS: u64 = 10;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The system clock plus an offset (ms) read from a file every 100 ms.
pub(crate) struct FileClock {
    offset: Arc<AtomicI64>,
}

impl FileClock {
    pub(crate) fn follow(file: PathBuf) -> Self {
        let offset = Arc::new(AtomicI64::new(0));
        let shared = offset.clone();
        std::thread::spawn(move || {
            loop {
                if let Some(v) = std::fs::read_to_string(&file)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
                {
                    shared.store(v, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self { offset }
    }
}

impl kindred_server::Clock for FileClock {
    fn now(&self) -> kindred_protocol::Timestamp {
        kindred_server::SkewedClock(self.offset.load(Ordering::SeqCst)).now()
    }
}

fn topic_name(i: u64) -> String {
    format!("Topic{i}")
}

pub(crate) async fn bench(posts: u64, members: u64) -> anyhow::Result<()> {
    println!("Kindred weekly digest: {posts} posts, {members} members with email");
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir()?;
    let clock_file = dir.path().join("clock");
    std::fs::write(&clock_file, "0")?;
    let port = sink.addr.port().to_string();
    let clock_path = clock_file.display().to_string();
    let env = [
        ("KINDRED_BENCH_SMTP_PORT", port.as_str()),
        ("KINDRED_BENCH_CLOCK_FILE", clock_path.as_str()),
    ];
    let node = spawn_with_env(&dir.path().join("node"), "localhost", &env)?;
    let (admin, _) = setup_admin(&node).await?;
    for i in 0..TOPICS {
        admin
            .create_topic(&CreateTopic {
                name: topic_name(i),
                description: String::new(),
                shared: true,
            })
            .await?;
    }

    // Members, each confirming an address and following two topics.
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (admin, next, url) = (admin.clone(), next.clone(), node.url.clone());
            tokio::spawn(async move {
                let mut clients = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= members {
                        break;
                    }
                    let invite = admin.create_invite(&CreateInvite::default()).await?;
                    let (member, _) = Client::new(&url)?
                        .redeem_invite(&RedeemInviteRequest {
                            code: invite.code,
                            username: format!("member{i}"),
                            display_name: format!("Member {i}"),
                            password: "benchmark password".into(),
                        })
                        .await?;
                    member
                        .update_email_settings(&UpdateEmailSettings {
                            address: Some(format!("member{i}@bench.example")),
                            kinds: Some(EmailKinds {
                                chat: false,
                                replies: false,
                                mentoring: false,
                                reactions: false,
                                moderation: false,
                            }),
                            topics: Some(vec![
                                topic_name(i % TOPICS),
                                topic_name((i + 3) % TOPICS),
                            ]),
                            ..UpdateEmailSettings::default()
                        })
                        .await?;
                    clients.push(member);
                }
                Ok::<_, anyhow::Error>(clients)
            })
        })
        .collect();
    let mut clients = Vec::new();
    for t in tasks {
        clients.extend(t.await??);
    }
    let links = wait_for(
        &sink,
        members as usize,
        "/email/verify",
        Duration::from_secs(300),
    )
    .await?;
    let http = kindred_tests::http();
    for link in links {
        let answer = http.get(&link).send().await?;
        anyhow::ensure!(
            answer.status().is_success(),
            "confirming {link}: {}",
            answer.status()
        );
    }
    println!(
        "  {members} members with confirmed addresses in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The week's posts: ten topics, sixty words each; 1% replied to, 1% thanked.
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let writers: Vec<_> = (0..16)
        .map(|w| {
            let (admin, next) = (admin.clone(), next.clone());
            tokio::spawn(async move {
                let mut words = Words {
                    state: 0x9e37_79b9_7f4a_7c15 ^ (w + 1),
                    vocabulary: vocabulary(),
                };
                let mut chosen = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= posts {
                        break;
                    }
                    let post = NewPost {
                        title: words.text(6),
                        body: words.text(60),
                        tags: vec![],
                        content_warning: None,
                    };
                    let p = admin.create_post(&topic_name(i % TOPICS), &post).await?;
                    // About 1% of posts, in every topic (97 is prime to the ten topics).
                    if i % 97 == 7 {
                        chosen.push((i, p.id));
                    }
                }
                Ok::<_, anyhow::Error>(chosen)
            })
        })
        .collect();
    let mut chosen = Vec::new();
    for w in writers {
        chosen.extend(w.await??);
    }
    let fill = started.elapsed().as_secs_f64();
    let reactor = clients.first().context("no members")?.clone();
    for (i, id) in &chosen {
        for r in 0..(1 + i % 5) {
            admin
                .reply(
                    id,
                    &NewReply {
                        body: format!("Reply {r}: this helped us too"),
                        reply_to: None,
                        content_warning: None,
                    },
                )
                .await?;
        }
        reactor.react(id, "thank-you").await?;
    }
    println!(
        "  {posts} posts in {fill:.1} s; {} with replies and thanks",
        chosen.len()
    );

    // A week and a day later: every member's digest is due at once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before_rss = rss_mb(node.child.id())?;
    let pid = node.child.id();
    let peak = Arc::new(AtomicU64::new(before_rss as u64));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                if let Ok(rss) = rss_mb(pid) {
                    peak.fetch_max(rss as u64, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let already = sink.count();
    std::fs::write(&clock_file, (8 * DAY_MS).to_string())?;
    let started = Instant::now();
    let mut first = None;
    let (mut digests, mut last_change) = (0, Instant::now());
    loop {
        let now = sink.count() - already;
        if now > 0 && first.is_none() {
            first = Some(started.elapsed());
        }
        if now != digests {
            (digests, last_change) = (now, Instant::now());
        }
        // Every member follows topics with discussed posts, so each gets one; a member
        // with nothing to read would get none (the wait then ends ten seconds on).
        if digests >= members as usize
            || (digests > 0 && last_change.elapsed() > Duration::from_secs(10))
        {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "only {digests} of {members} digests after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let all = last_change.duration_since(started);
    sampling.abort();
    let sample = sink.mails().pop().context("a digest")?;
    anyhow::ensure!(
        sample.readable().contains("Most discussed"),
        "a digest lists the most discussed posts"
    );
    println!(
        "  {digests} digests for {members} members: the first after {:.2} s (all built and queued by then; includes the clock's 0.1 s poll), the last sent after {:.2} s",
        first.map_or(0.0, |f| f.as_secs_f64()),
        all.as_secs_f64()
    );
    println!(
        "  node RSS {before_rss:.0} MB before, {} MB at the peak",
        peak.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Waits until `count` emails hold a link to `path`; returns those links.
async fn wait_for(
    sink: &SmtpSink,
    count: usize,
    path: &str,
    within: Duration,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    loop {
        let links: Vec<String> = sink
            .mails()
            .iter()
            .filter_map(|m| {
                let text = m.readable();
                let at = text.find(path)?;
                let from = text[..at].rfind("http")?;
                let end = text[from..]
                    .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
                    .map_or(text.len(), |e| from + e);
                Some(text[from..end].replace("&amp;", "&"))
            })
            .collect();
        if links.len() >= count {
            return Ok(links);
        }
        anyhow::ensure!(
            started.elapsed() < within,
            "only {} of {count} emails after {within:?}",
            links.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
