//! `kindred-bench chat [N]`: two real nodes paired on loopback, one member at each.
//!
//! - throughput: N messages sent by the member at A (16 requests in flight), timed until
//!   B holds all of them (its member's unread count; each one durably stored at A,
//!   delivered through A's outbox, durably stored at B, acknowledged);
//! - latency: 100 and then 1,000 messages/s for 10 s each; for each message, the time from
//!   sending at A to the live push at B (and how often B's stream had to resync).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kindred_protocol::MemberId;
use kindred_protocol::api::{CreateConversation, NewMessage};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, http::HeaderValue};

use crate::{now_micros, setup_admin, spawn};

pub(crate) async fn bench(messages: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let a = spawn(&dir.path().join("a"), "a.bench")?;
    let b = spawn(&dir.path().join("b"), "b.bench")?;
    let (at_a, _) = setup_admin(&a).await?;
    let (at_b, b_token) = setup_admin(&b).await?;
    let invite = at_a.create_peer_invite().await?;
    at_b.add_peer(&invite.token).await?;
    let conversation = at_a
        .create_conversation(&CreateConversation {
            members: vec![MemberId::parse("@bench:b.bench")?],
            name: None,
        })
        .await?;
    println!("Kindred chat benchmark: two nodes on loopback");

    // B's member listens; every message's body carries its send time.
    let received = Arc::new(AtomicU64::new(0));
    let resyncs = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let url = format!("{}/api/v1/stream", b.url.replacen("http", "ws", 1));
    let mut request = url.as_str().into_client_request()?;
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {b_token}"))?,
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await?;
    let (r, l, skipped) = (received.clone(), latencies.clone(), resyncs.clone());
    tokio::spawn(async move {
        while let Some(Ok(Message::Text(text))) = socket.next().await {
            if text.contains("\"type\":\"resync\"") {
                skipped.fetch_add(1, Ordering::Relaxed);
            }
            if !text.contains("\"type\":\"message\"") {
                continue;
            }
            r.fetch_add(1, Ordering::Relaxed);
            if let Some(rest) = text.split("\"body\":\"t=").nth(1)
                && let Some(sent) = rest.split('"').next().and_then(|s| s.parse::<u64>().ok())
                && let Ok(mut all) = l.lock()
            {
                all.push(now_micros().saturating_sub(sent));
            }
        }
    });

    // Throughput.
    let start = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let client = at_a.clone();
            let next = next.clone();
            let id = conversation.id;
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= messages {
                        break;
                    }
                    let msg = NewMessage {
                        body: format!("message {i}"),
                        reply_to: None,
                    };
                    if client.post_message(&id, &msg).await.is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    let sent_at = start.elapsed().as_secs_f64();
    // B's member's unread count: every message stored at B, whether or not the live
    // stream showed it (it may skip ahead in a burst).
    let unread_at_b = || async {
        at_b.conversations()
            .await
            .map(|c| c.iter().map(|c| c.unread).sum::<u64>())
            .unwrap_or(0)
    };
    while unread_at_b().await < messages {
        if start.elapsed() > Duration::from_secs(300) {
            anyhow::bail!("messages did not all arrive");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = start.elapsed().as_secs_f64();
    println!(
        "throughput: {messages} messages A -> B in {total:.2} s: {:.0} messages/s delivered (A accepted them at {:.0}/s); B's live stream resynced {} times",
        messages as f64 / total,
        messages as f64 / sent_at,
        resyncs.load(Ordering::Relaxed)
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    for rate in [100u64, 1_000] {
        latency(
            &at_a,
            conversation.id,
            rate,
            &received,
            &latencies,
            &resyncs,
        )
        .await?;
    }
    Ok(())
}

/// `rate` messages/s for 10 s from A; the time from sending at A to the live push at B.
async fn latency(
    at_a: &kindred_client::Client,
    conversation: kindred_protocol::event::ConversationId,
    rate: u64,
    received: &AtomicU64,
    latencies: &std::sync::Mutex<Vec<u64>>,
    resyncs: &AtomicU64,
) -> anyhow::Result<()> {
    if let Ok(mut l) = latencies.lock() {
        l.clear();
    }
    let resynced = resyncs.load(Ordering::Relaxed);
    let count = rate * 10;
    let before = received.load(Ordering::Relaxed);
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut in_flight = Vec::new();
    for _ in 0..count {
        ticker.tick().await;
        let client = at_a.clone();
        in_flight.push(tokio::spawn(async move {
            let msg = NewMessage {
                body: format!("t={}", now_micros()),
                reply_to: None,
            };
            let _ = client.post_message(&conversation, &msg).await;
        }));
    }
    for t in in_flight {
        let _ = t.await;
    }
    let waited = Instant::now();
    while received.load(Ordering::Relaxed) < before + count
        && resyncs.load(Ordering::Relaxed) == resynced
        && waited.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
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
        "latency at {rate} messages/s (send at A to live push at B), {} of {count} messages pushed live: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; resyncs {}",
        all.len(),
        pct(0.5),
        pct(0.99),
        all.last().copied().unwrap_or(0) as f64 / 1000.0,
        resyncs.load(Ordering::Relaxed) - resynced
    );
    Ok(())
}
