//! The notifier: follows the arrival log behind the mentoring processor (so a match an
//! event belongs to is known) and records who is told of what. Its watermark is stored;
//! a notification is recorded once however often an event is read again after a restart.

use tokio::sync::watch;

use super::derive::notes_for;
use crate::node::Node;
use crate::store::payload_of;
use crate::store::{StoreError, event_seq};
use kindred_protocol::{EventBody, EventKind};

/// How often due reminders are looked for.
const REMINDERS_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The stored watermark may lag this many events behind (see the mentoring processor's).
const WATERMARK_LAG: u64 = 4096;

/// Runs until shutdown, then records how far it got.
pub(crate) async fn run(node: Node) {
    let shutdown = node.shutdown_signal();
    let mut processed: watch::Receiver<u64> = node.mentoring_progress();
    let mut at = match start(&node) {
        Ok(at) => at,
        Err(e) => {
            tracing::error!(error = %e, "the notifier cannot start; members are not notified");
            return;
        }
    };
    let mut written = at;
    // Check-ins fall due by the day; seconds late is on time.
    let mut reminders = tokio::time::interval(REMINDERS_EVERY);
    loop {
        let up_to = *processed.borrow_and_update();
        if up_to > at {
            let from = at;
            let worker = node.clone();
            let done =
                tokio::task::spawn_blocking(move || follow(&worker, from, up_to, written)).await;
            match done {
                Ok(Ok((reached, mark))) => {
                    at = reached;
                    written = mark;
                }
                Ok(Err(e)) => tracing::error!(error = %e, "the notifier failed; will retry"),
                Err(e) => tracing::error!(error = %e, "the notifier stopped"),
            }
            if up_to > at {
                // Failed part-way: wait for the next event or a moment before retrying.
                tokio::select! {
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                    _ = shutdown.cancelled() => break,
                }
                continue;
            }
        }
        tokio::select! {
            r = processed.changed() => if r.is_err() { break },
            _ = reminders.tick() => {
                let worker = node.clone();
                let now = node.now().0;
                match tokio::task::spawn_blocking(move || worker.give_reminders(now, at)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "giving mentoring reminders failed"),
                    Err(e) => tracing::warn!(error = %e, "giving mentoring reminders stopped"),
                }
            }
            _ = shutdown.cancelled() => break,
        }
    }
    if at > written
        && let Err(e) = node.store().set_notifier_watermark(at)
    {
        tracing::warn!(error = %e, "cannot record the notifier's progress");
    }
}

/// Where to begin: the stored watermark, or (the first time) the end of the log: history
/// from before notifications existed is not news.
fn start(node: &Node) -> Result<u64, StoreError> {
    if let Some(at) = node.store().notifier_watermark()? {
        return Ok(at);
    }
    let end = node.store().last_local_seq()?;
    node.store().set_notifier_watermark(end)?;
    Ok(end)
}

/// Records the notifications of events after `from` up to `up_to`; returns how far it
/// got and the watermark as stored.
fn follow(node: &Node, from: u64, up_to: u64, mut written: u64) -> Result<(u64, u64), StoreError> {
    let store = node.store();
    let mut at = from;
    while at < up_to {
        let batch = store.stored_after(at, 256)?;
        let Some(last) = batch.last().map(|e| e.local_seq) else {
            break;
        };
        let mut told = false;
        for stored in batch.into_iter().filter(|e| e.local_seq <= up_to) {
            // Reports from other nodes go to the moderators' queue as they are read here,
            // once each (filing is idempotent), in the same pass as the notifications.
            if stored.meta.kind == EventKind::Report.code()
                && !stored.meta.held
                && !stored.meta.quarantined
            {
                let payload = payload_of(&stored.event)?;
                if let EventBody::Report(report) = &payload.body
                    && !node.is_self(&payload.origin)
                {
                    node.file_remote_report(&stored.id, &payload, report)?;
                }
            }
            if stored.meta.kind == EventKind::SharedDecision.code()
                && !stored.meta.held
                && !stored.meta.quarantined
            {
                let payload = payload_of(&stored.event)?;
                if let EventBody::SharedDecision(decision) = &payload.body
                    && !node.is_self(&payload.origin)
                {
                    node.receive_decision(&stored.id, &payload, decision)?;
                }
            }
            let referral = stored.meta.kind == EventKind::SafeguardingReferral.code();
            let ack = stored.meta.kind == EventKind::ReferralAcknowledged.code();
            if (referral || ack) && !stored.meta.held && !stored.meta.quarantined {
                let payload = payload_of(&stored.event)?;
                if !node.is_self(&payload.origin) {
                    match &payload.body {
                        EventBody::SafeguardingReferral(r) => {
                            node.receive_referral(&stored.id, &payload, r)?;
                        }
                        EventBody::ReferralAcknowledged(a) => {
                            node.referral_acknowledged(&payload, a)?;
                        }
                        _ => {}
                    }
                }
            }
            if stored.meta.kind == EventKind::Retraction.code()
                && !stored.meta.held
                && !stored.meta.quarantined
                && let Some(target) = payload_of(&stored.event)?.refs.retracts
            {
                node.reported_content_gone(&target)?;
            }
            for (member, note) in notes_for(node, &stored)? {
                told |= node.record_note(&member, event_seq(stored.local_seq), &note)?;
            }
            at = stored.local_seq;
        }
        if last > up_to {
            at = up_to;
        }
        if told || at - written >= WATERMARK_LAG {
            store.set_notifier_watermark(at)?;
            written = at;
        }
    }
    Ok((at.max(from), written))
}
