//! `kindred-bench gap [N]`: what a paired node that sends far ahead of a gap costs. A fake
//! node (the raw peer) pairs with a real node (a child process), sends its announcement,
//! then N events of 60 KB each numbered from 3 on, leaving number 2 out, so none of
//! them can be stored. Reports the node's RSS when idle, at its peak while the events
//! arrive, and once the link has closed. The node holds at most
//! `federation.gap_bytes_per_origin` of them (8 MiB by default) and drops the rest.

use std::time::{Duration, Instant};

use anyhow::Context;
use kindred_protocol::{Audience, EventBody, References};
use kindred_tests::raw_peer::RawPeer;

use crate::{rss_mb, setup_admin, spawn};

pub(crate) async fn bench(events: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let node = spawn(&dir.path().join("node"), "node.bench")?;
    let (admin, _) = setup_admin(&node).await?;
    let pid = node.child.id();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = rss_mb(pid)?;
    let invite = admin.create_peer_invite().await?;
    let mut raw = RawPeer::paired(&node.url, &invite.token, 200, "ahead.bench").await?;
    let author = raw.member("sam");
    if !raw
        .replicate(1, vec![raw.announcement(1, "http://127.0.0.1:9")])
        .await
    {
        anyhow::bail!("the node did not take the announcement");
    }
    println!(
        "Kindred gap benchmark: {events} events of about 60 KB sent ahead of a gap (about {} MB)",
        events * 60 / 1024
    );
    let start = Instant::now();
    let mut peak = idle;
    let mut seq = 3;
    let mut batch = 2;
    while seq < events + 3 {
        let mut frame = Vec::new();
        for _ in 0..16 {
            if seq >= events + 3 {
                break;
            }
            // An unknown kind: the largest body a shared-log event may have.
            let body = EventBody::Unknown {
                kind: 999,
                bytes: vec![b'x'; 60 * 1024],
            };
            let event = raw.sign(
                Audience::Shared { seq },
                &author,
                References::default(),
                body,
            );
            frame.push(event);
            seq += 1;
        }
        if !raw.replicate(batch, frame).await {
            anyhow::bail!("the node closed the link at batch {batch}");
        }
        batch += 1;
        peak = peak.max(rss_mb(pid).context("node gone")?);
    }
    let sent = start.elapsed().as_secs_f64();
    drop(raw);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = rss_mb(pid)?;
    println!(
        "RSS idle {idle:.1} MB; peak while receiving {peak:.1} MB ({:+.1} MB above idle); {after:.1} MB 3 s after the link closed; sent in {sent:.1} s",
        peak - idle
    );
    Ok(())
}
