//! The mailer: turns notifications marked for email into emails, and sends the queue.
//!
//! - Batching: a member's notifications wait `email.batch_minutes` after the oldest, then
//!   go as one email; what the member saw on the website meanwhile (the notification
//!   list read, the conversation read) is left out, and nothing is sent if all was seen.
//!   Quiet hours and the per-member hourly limit make them wait longer (and merge).
//! - Delivery is durable: an email is queued in storage in the same write that marks its
//!   notifications done, and removed only once the relay took it. Failures the relay
//!   calls temporary are tried again with growing waits for a day; permanent ones (and
//!   a day of temporary ones) are given up and shown to the member in their settings.

use std::collections::VecDeque;
use std::time::Duration;

use kindred_protocol::MemberId;
use kindred_protocol::api::NotificationKind;

use super::smtp::{Relay, SendError};
use crate::node::Node;
use crate::store::{MailJob, StoreError};

const HOUR_MS: u64 = 60 * 60 * 1000;

/// Temporary failures are retried this long after the email was made.
const GIVE_UP_AFTER_MS: u64 = 24 * HOUR_MS;

/// Waits before the next try after `attempts` failed ones: 1, 2, 4 ... minutes, at most
/// an hour.
fn backoff(attempts: u32) -> u64 {
    (60_000u64 << attempts.saturating_sub(1).min(6)).min(HOUR_MS)
}

/// Whether `hour` falls in quiet hours from `from` to `to` (equal: none).
pub(crate) fn in_quiet_hours(hour: u8, from: u8, to: u8) -> bool {
    if from == to {
        false
    } else if from < to {
        (from..to).contains(&hour)
    } else {
        hour >= from || hour < to
    }
}

impl Node {
    /// Queues an email and wakes the mailer.
    pub(crate) fn queue_mail(&self, job: MailJob) -> Result<(), StoreError> {
        self.store().enqueue_mail(&job)?;
        self.signals().mail.notify_one();
        Ok(())
    }

    /// Batches the notifications waiting for email into emails (see the module).
    pub(crate) fn batch_email(&self, now: u64) -> Result<usize, StoreError> {
        let mut queued = 0;
        for (member, seqs) in self.store().pending_email()? {
            if self.batch_member(&member, &seqs, now)? {
                queued += 1;
            }
        }
        Ok(queued)
    }

    fn batch_member(&self, member: &MemberId, seqs: &[u64], now: u64) -> Result<bool, StoreError> {
        let store = self.store();
        let settings = store.notify_settings(member)?;
        let account = store.member(member.localpart())?;
        let (Some(address), Some(_), Some(account)) = (
            settings.address.clone(),
            settings.verified_at,
            account.filter(|a| !a.suspended),
        ) else {
            store.email_considered(member, seqs)?;
            return Ok(false);
        };
        let mut lines = Vec::new();
        let mut oldest = None;
        let mut chats: Vec<(String, usize)> = Vec::new();
        for &seq in seqs {
            let Some(note) = store.note(member, seq)? else {
                continue;
            };
            // The list never shows chat, so its read mark says nothing of chat: whether a
            // message was seen is the conversation's read position (`chat_seen`).
            if (seq <= settings.read_up_to && note.kind != NotificationKind::Chat)
                || note.seen
                || !settings.kinds.wants(note.kind)
                || self.chat_seen(member, &note)?
            {
                continue;
            }
            let Some(line) = self.email_line(member, &note, settings.previews)? else {
                continue;
            };
            oldest = Some(oldest.map_or(note.at, |o: u64| o.min(note.at)));
            if note.kind == NotificationKind::Chat {
                // One line per conversation: "sent you 3 messages".
                if let Some((_, n)) = chats.iter_mut().find(|(url, _)| *url == line.url) {
                    *n += 1;
                    continue;
                }
                chats.push((line.url.clone(), 1));
            }
            lines.push(line);
        }
        let Some(oldest) = oldest else {
            // Everything was seen, or is gone.
            store.email_considered(member, seqs)?;
            return Ok(false);
        };
        let wait = self.config().email.batch_minutes * 60_000;
        let hour = jiff::Timestamp::from_millisecond(i64::try_from(now).unwrap_or(i64::MAX))
            .map(|t| t.to_zoned(self.time_zone_of(&account)).hour())
            .unwrap_or(12);
        let sent_in_hour = settings.sent.iter().filter(|&&t| now < t + HOUR_MS).count();
        if now < oldest + wait
            || in_quiet_hours(
                u8::try_from(hour).unwrap_or(12),
                settings.quiet_from,
                settings.quiet_to,
            )
            || sent_in_hour >= self.config().email.per_member_per_hour as usize
        {
            return Ok(false);
        }
        for line in &mut lines {
            if let Some((_, n)) = chats.iter().find(|(url, _)| *url == line.url)
                && *n > 1
            {
                line.text =
                    line.text
                        .replacen("sent you a message", &format!("sent you {n} messages"), 1);
            }
        }
        let job = self.notification_email(member, &account.display_name, &address, &lines, now);
        store.queue_batch(member, seqs, &job, |s| {
            s.sent.retain(|t| now < t + HOUR_MS);
            s.sent.push(now);
        })?;
        Ok(true)
    }

    /// Whether a chat notification's message was read on the website.
    fn chat_seen(
        &self,
        member: &MemberId,
        note: &crate::store::NoteRecord,
    ) -> Result<bool, StoreError> {
        if note.kind != NotificationKind::Chat {
            return Ok(false);
        }
        let Some(id) = note.event else {
            return Ok(true);
        };
        let Some(payload) = self.payload(&id)? else {
            return Ok(true);
        };
        let kindred_protocol::EventBody::ChatMessage(m) = payload.body else {
            return Ok(true);
        };
        let Some(state) = self.store().participant(member, &m.conversation)? else {
            return Ok(true);
        };
        let Some(pos) = self.store().message_position(&m.conversation, &id)? else {
            return Ok(true);
        };
        Ok(state.muted || state.last_read.is_some_and(|r| r >= pos))
    }

    /// Whether a queued email should still go: a notification or digest only to the
    /// member's current, confirmed address; a confirmation link only to the address
    /// still waiting for it.
    fn still_wanted(&self, job: &MailJob) -> bool {
        let Some(member) = &job.member else {
            return true;
        };
        let Ok(s) = self.store().notify_settings(member) else {
            return true;
        };
        let same = s.address.as_deref() == Some(job.to.as_str());
        if job.unsubscribe.is_some() {
            same && s.verified_at.is_some()
        } else {
            same
        }
    }

    /// Records what became of an email: sent (`None`), or given up with why.
    fn mail_done(&self, id: u64, job: &MailJob, failure: Option<String>) -> Result<(), StoreError> {
        self.store().unqueue_mail(id)?;
        if let Some(member) = &job.member {
            self.store().update_notify_settings(member, |s| {
                match &failure {
                    Some(why) if s.address.as_deref() == Some(job.to.as_str()) => {
                        s.last_failure = Some(why.clone());
                    }
                    None => s.last_failure = None,
                    Some(_) => {}
                }
                Ok::<_, StoreError>(())
            })?;
        }
        Ok(())
    }
}

/// Runs until shutdown when email is configured: batches and sends.
pub(crate) async fn run(node: Node) {
    if !node.config().email.enabled() {
        return;
    }
    let relay = match Relay::new(&node.config().email) {
        Ok(relay) => relay,
        Err(e) => {
            tracing::error!(error = %e, "email is set up but cannot be used; no email is sent");
            return;
        }
    };
    let shutdown = node.shutdown_signal();
    let wake = node.signals().mail.clone();
    let tick = if node.config().email.batch_minutes == 0 {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(15)
    };
    let mut sent: VecDeque<u64> = VecDeque::new();
    loop {
        let now = node.now().0;
        let batcher = node.clone();
        match tokio::task::spawn_blocking(move || batcher.batch_email(now)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "batching emails failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "batching emails stopped"),
        }
        let digests = node.clone();
        let started = std::time::Instant::now();
        match tokio::task::spawn_blocking(move || digests.send_digests(now)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(
                digests = n,
                ms = started.elapsed().as_millis() as u64,
                "digests queued"
            ),
            Ok(Err(e)) => tracing::warn!(error = %e, "making digests failed; will retry"),
            Err(e) => tracing::warn!(error = %e, "making digests stopped"),
        }
        send_due(&node, &relay, &mut sent, &shutdown).await;
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = wake.notified() => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Sends the queued emails that are due, within the node's hourly limit.
async fn send_due(
    node: &Node,
    relay: &Relay,
    sent: &mut VecDeque<u64>,
    shutdown: &tokio_util::sync::CancellationToken,
) {
    let queue = match node.store().mail_queue() {
        Ok(q) => q,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the email queue");
            return;
        }
    };
    let limit = node.config().email.per_node_per_hour as usize;
    for (id, mut job) in queue {
        if shutdown.is_cancelled() {
            return;
        }
        let now = node.now().0;
        while sent.front().is_some_and(|t| now >= t + HOUR_MS) {
            sent.pop_front();
        }
        if sent.len() >= limit {
            tracing::warn!(
                limit,
                "the node's hourly email limit is reached; the rest wait"
            );
            return;
        }
        if job.next_at > now {
            continue;
        }
        if !node.still_wanted(&job) {
            // The member changed or removed their address, or unsubscribed from everything,
            // since it was made: it is not sent to the old one.
            if let Err(e) = node.store().unqueue_mail(id) {
                tracing::warn!(error = %e, "cannot drop an email no longer wanted");
            }
            continue;
        }
        let outcome = relay.send(id, &job).await;
        let now = node.now().0;
        let result = match outcome {
            Ok(()) => {
                sent.push_back(now);
                tracing::info!(job = id, "email sent");
                node.mail_done(id, &job, None)
            }
            Err(SendError::Recipient(why)) => {
                tracing::warn!(job = id, %why, "email given up: the address was refused");
                node.mail_done(id, &job, Some(why))
            }
            Err(e) if now < job.created_at + GIVE_UP_AFTER_MS => {
                if let SendError::Permanent(why) = &e {
                    tracing::error!(job = id, %why, "email not sent: the node's [email] settings do not work (deploy/email.md); it is kept and tried again");
                } else {
                    tracing::warn!(job = id, error = %e, "email not sent; will try again");
                }
                let before = job.clone();
                job.attempts += 1;
                job.next_at = now + backoff(job.attempts);
                // Only while it is still queued: an account erased meanwhile took its
                // emails with it.
                node.store().requeue_mail(id, &before, &job)
            }
            Err(e) => {
                // A day of failures that were not the address's: nothing to tell the member.
                tracing::error!(job = id, error = %e, "email given up after a day of tries");
                node.store().unqueue_mail(id)
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot record what became of an email");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_hours_wrap_around_midnight() {
        assert!(!in_quiet_hours(3, 0, 0));
        assert!(in_quiet_hours(22, 22, 7));
        assert!(in_quiet_hours(3, 22, 7));
        assert!(!in_quiet_hours(7, 22, 7));
        assert!(!in_quiet_hours(12, 22, 7));
        assert!(in_quiet_hours(13, 12, 14));
        assert!(!in_quiet_hours(14, 12, 14));
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        assert_eq!(backoff(1), 60_000);
        assert_eq!(backoff(2), 120_000);
        assert_eq!(backoff(3), 240_000);
        assert_eq!(backoff(20), HOUR_MS);
    }
}
