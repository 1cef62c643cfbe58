//! The `notifications` tree: what each of this node's members is told of, their email
//! settings, and (in `mail_queue`) the email queue. Keys start with a tag:
//!
//! - `n ‖ member ‖ seq` → [`NoteRecord`]: a notification (seq: the arrival number of the
//!   event it is about, see [`event_seq`]);
//! - `p ‖ member ‖ seq` → empty: a notification still to be considered for email;
//! - `s ‖ member` → [`NotifySettings`]: read mark and email settings;
//! - `q ‖ job` → [`MailJob`]: an email waiting to be sent (job: a big-endian number);
//! - `w` → the notifier's watermark (the last arrival number it has read);
//! - `r ‖ reminder key` → empty: a reminder already given (so it is given once).

use kindred_protocol::api::{DigestFrequency, EmailKinds, NotificationKind};
use kindred_protocol::{EventId, MemberId};
use serde::{Deserialize, Serialize};

use super::keys::push_text;
use super::mail_queue::MailJob;
use super::{Store, StoreError, from_json, to_json};

pub(super) const TREE: &str = "notifications";

/// The number of the notification about the event at arrival number `local_seq`. The
/// numbers between two events' are for reminders given after the first was read (see
/// `node/notifications/reminders.rs`), so a member's notifications are numbered in the
/// order they were given and a read mark never passes one not yet given.
pub(crate) fn event_seq(local_seq: u64) -> u64 {
    local_seq << 8
}

/// One notification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NoteRecord {
    /// What it is about.
    pub(crate) kind: NotificationKind,
    /// When it arrived (ms).
    pub(crate) at: u64,
    /// The event it is about (a reply, reaction, message, mentoring event).
    pub(crate) event: Option<EventId>,
    /// Who did it.
    pub(crate) actor: Option<MemberId>,
    /// For reminders and other notifications with no event: the match or proposal.
    #[serde(default)]
    pub(crate) subject: Option<EventId>,
    /// For reminders and moderation notices: what happened, in plain words.
    #[serde(default)]
    pub(crate) text: Option<String>,
    /// For moderation notices: the page on this node's website to see.
    #[serde(default)]
    pub(crate) link: Option<String>,
    /// Seen on the website where it happened (the thread, the match) before the
    /// notifications were: it is not unread, and not emailed.
    #[serde(default)]
    pub(crate) seen: bool,
}

/// A member's read mark and email settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct NotifySettings {
    /// Notifications up to this number are seen.
    pub(crate) read_up_to: u64,
    /// The email address given, verified or not.
    pub(crate) address: Option<String>,
    /// When the address was verified (ms); `None` while unverified.
    pub(crate) verified_at: Option<u64>,
    /// When the last verification link was sent (ms), so links are not sent in a stream.
    pub(crate) link_sent_at: Option<u64>,
    /// When verification links were sent in the last hour (ms), whatever the address: a
    /// member cannot make the node email strangers.
    pub(crate) links_sent: Vec<u64>,
    /// What is emailed.
    pub(crate) kinds: EmailKinds,
    /// The digest.
    pub(crate) digest: DigestFrequency,
    /// When the last digest was sent, or settings began (ms).
    pub(crate) digest_since: Option<u64>,
    /// Followed topics' keys ([`crate::rules::topic_key`]); empty: every topic.
    pub(crate) topics: Vec<String>,
    /// Reply previews.
    pub(crate) previews: bool,
    /// Quiet hours (local hours, 0-23); equal means none.
    pub(crate) quiet_from: u8,
    /// See `quiet_from`.
    pub(crate) quiet_to: u8,
    /// When emails were sent to this member in the last hour (ms), for the rate limit.
    pub(crate) sent: Vec<u64>,
    /// Why the last email failed for good, until one gets through.
    pub(crate) last_failure: Option<String>,
}

pub(super) fn member_key(tag: u8, member: &MemberId) -> Vec<u8> {
    let mut key = vec![tag];
    push_text(&mut key, member.as_str());
    key
}

pub(super) fn note_key(tag: u8, member: &MemberId, seq: u64) -> Vec<u8> {
    let mut key = member_key(tag, member);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

pub(super) fn seq_of(key: &[u8]) -> u64 {
    key.len()
        .checked_sub(8)
        .and_then(|at| <[u8; 8]>::try_from(&key[at..]).ok())
        .map_or(0, u64::from_be_bytes)
}

impl Store {
    /// Records a notification for `member` (once: the same `seq` again replaces it), and
    /// marks it for email when `email` is true.
    pub(crate) fn put_note(
        &self,
        member: &MemberId,
        seq: u64,
        note: &NoteRecord,
        email: bool,
    ) -> Result<(), StoreError> {
        let t = self.writer();
        t.notifications
            .insert(note_key(b'n', member, seq), to_json(TREE, note)?)?;
        if email {
            t.notifications.insert(note_key(b'p', member, seq), [])?;
        }
        Ok(())
    }

    /// A member's notifications, newest first, below `before`, at most `limit`.
    pub(crate) fn notes(
        &self,
        member: &MemberId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, NoteRecord)>, StoreError> {
        let start = note_key(b'n', member, 0);
        let end = note_key(b'n', member, before.unwrap_or(u64::MAX));
        let mut out = Vec::new();
        for item in self.trees().notifications.range(start..end).rev() {
            let (k, v) = item?;
            out.push((seq_of(&k), from_json(TREE, &v)?));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// One notification.
    pub(crate) fn note(
        &self,
        member: &MemberId,
        seq: u64,
    ) -> Result<Option<NoteRecord>, StoreError> {
        match self
            .trees()
            .notifications
            .get(note_key(b'n', member, seq))?
        {
            None => Ok(None),
            Some(v) => from_json(TREE, &v).map(Some),
        }
    }

    /// Marks a notification seen, leaving its email mark as it is, as one step: one
    /// removed meanwhile (its event gone, or pruned as too old) is not put back. Whether
    /// it was there.
    ///
    /// Errors: the store's.
    pub(crate) fn mark_note_seen(&self, member: &MemberId, seq: u64) -> Result<bool, StoreError> {
        let done = super::update_json(
            &self.writer().notifications,
            TREE,
            &note_key(b'n', member, seq),
            || None,
            |note: &mut NoteRecord| {
                note.seen = true;
                Ok::<_, StoreError>(())
            },
        )?;
        Ok(done.is_some())
    }

    /// Removes a notification (its event is gone, or it is too old).
    pub(crate) fn remove_note(&self, member: &MemberId, seq: u64) -> Result<(), StoreError> {
        let t = self.writer();
        t.notifications.remove(note_key(b'n', member, seq))?;
        t.notifications.remove(note_key(b'p', member, seq))?;
        Ok(())
    }

    /// The number of a member's newest notification.
    pub(crate) fn newest_note_seq(&self, member: &MemberId) -> Result<Option<u64>, StoreError> {
        let start = note_key(b'n', member, 0);
        let end = note_key(b'n', member, u64::MAX);
        Ok(self
            .trees()
            .notifications
            .range(start..end)
            .rev()
            .next()
            .transpose()?
            .map(|(k, _)| seq_of(&k)))
    }

    /// Removes notifications older than `cutoff` (ms); returns how many.
    pub(crate) fn prune_notes(&self, cutoff: u64) -> Result<usize, StoreError> {
        let mut old = Vec::new();
        for item in self.trees().notifications.scan_prefix([b'n']) {
            let (k, v) = item?;
            let note: NoteRecord = from_json(TREE, &v)?;
            if note.at < cutoff
                && let Some((member, rest)) = super::keys::split_text(&k[1..])
                && let Ok(member) = member.parse::<MemberId>()
            {
                old.push((member, seq_of(rest)));
            }
        }
        for (member, seq) in &old {
            self.remove_note(member, *seq)?;
        }
        Ok(old.len())
    }

    /// The numbers of a member's notifications above `after`, oldest first, at most
    /// `limit` (for counting unread ones).
    pub(crate) fn note_seqs_after(
        &self,
        member: &MemberId,
        after: u64,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let start = note_key(b'n', member, after.saturating_add(1));
        let end = note_key(b'n', member, u64::MAX);
        let mut out = Vec::new();
        for item in self.trees().notifications.range(start..end) {
            out.push(seq_of(&item?.0));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Members with notifications waiting to be considered for email, and the numbers of
    /// those notifications (oldest first).
    pub(crate) fn pending_email(&self) -> Result<Vec<(MemberId, Vec<u64>)>, StoreError> {
        let mut out: Vec<(MemberId, Vec<u64>)> = Vec::new();
        for item in self.trees().notifications.scan_prefix([b'p']) {
            let (k, _) = item?;
            let Some((member, rest)) = super::keys::split_text(&k[1..]) else {
                continue;
            };
            let Ok(member) = member.parse::<MemberId>() else {
                continue;
            };
            let seq = seq_of(rest);
            match out.last_mut() {
                Some((m, seqs)) if *m == member => seqs.push(seq),
                _ => out.push((member, vec![seq])),
            }
        }
        Ok(out)
    }

    /// Notifications considered for email (sent, or skipped because seen).
    pub(crate) fn email_considered(
        &self,
        member: &MemberId,
        seqs: &[u64],
    ) -> Result<(), StoreError> {
        let t = self.writer();
        for seq in seqs {
            t.notifications.remove(note_key(b'p', member, *seq))?;
        }
        Ok(())
    }

    /// A member's settings (defaults when none were saved).
    pub(crate) fn notify_settings(&self, member: &MemberId) -> Result<NotifySettings, StoreError> {
        match self.trees().notifications.get(member_key(b's', member))? {
            None => Ok(NotifySettings::default()),
            Some(v) => from_json(TREE, &v),
        }
    }

    /// Changes `member`'s settings with `change` as one step: when something else (the
    /// mailer, another request, a digest) saved them meanwhile, they are read again and
    /// `change` applied again, so no one's change overwrites another's. Nothing is
    /// written when `change` fails or leaves them as they were.
    ///
    /// Errors: `change`'s own, or the store's.
    pub(crate) fn update_notify_settings<R, E: From<StoreError>>(
        &self,
        member: &MemberId,
        change: impl FnMut(&mut NotifySettings) -> Result<R, E>,
    ) -> Result<R, E> {
        super::update_json_or_default(
            &self.writer().notifications,
            TREE,
            &member_key(b's', member),
            change,
        )
    }

    /// Every member with saved settings.
    pub(crate) fn all_notify_settings(
        &self,
    ) -> Result<Vec<(MemberId, NotifySettings)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().notifications.scan_prefix([b's']) {
            let (k, v) = item?;
            let Some((member, _)) = super::keys::split_text(&k[1..]) else {
                continue;
            };
            if let Ok(member) = member.parse::<MemberId>() {
                out.push((member, from_json(TREE, &v)?));
            }
        }
        Ok(out)
    }

    /// The notifier's progress through the arrival log.
    pub(crate) fn notifier_watermark(&self) -> Result<Option<u64>, StoreError> {
        match self.trees().notifications.get([b'w'])? {
            None => Ok(None),
            Some(v) => <[u8; 8]>::try_from(&v[..])
                .map(|b| Some(u64::from_be_bytes(b)))
                .map_err(|e| StoreError::corrupt(TREE, e)),
        }
    }

    /// Records the notifier's progress.
    pub(crate) fn set_notifier_watermark(&self, seq: u64) -> Result<(), StoreError> {
        self.writer()
            .notifications
            .insert([b'w'], seq.to_be_bytes())?;
        Ok(())
    }

    /// Records that the reminder `key` was given; `false` if it had been already.
    pub(crate) fn reminder_once(&self, key: &str) -> Result<bool, StoreError> {
        let mut k = vec![b'r'];
        k.extend_from_slice(key.as_bytes());
        let t = self.writer();
        Ok(t.notifications.insert(k, [])?.is_none())
    }

    /// Removes everything kept for `member` (their account is erased).
    pub(crate) fn remove_notifications_of(&self, member: &MemberId) -> Result<(), StoreError> {
        let t = self.writer();
        for tag in [b'n', b'p'] {
            for item in t.notifications.scan_prefix(member_key(tag, member)) {
                t.notifications.remove(item?.0)?;
            }
        }
        t.notifications.remove(member_key(b's', member))?;
        for item in t.notifications.scan_prefix([b'q']) {
            let (k, v) = item?;
            let job: MailJob = from_json(TREE, &v)?;
            if job.member.as_ref() == Some(member) {
                t.notifications.remove(k)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn settings_changed_at_once_keep_every_change() {
        // The mailer counting a send and a member's own change at the same moment: each
        // is read, changed and saved as one step, so neither loses the other's.
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let member: MemberId = "@sam:a.example".parse().unwrap();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let store = &store;
                let member = &member;
                s.spawn(move || {
                    for i in 0..25 {
                        if i % 2 == 0 {
                            store
                                .update_notify_settings(member, |s| {
                                    s.links_sent.push(t * 100 + i);
                                    Ok::<_, StoreError>(())
                                })
                                .unwrap();
                        } else {
                            store
                                .queue_batch(
                                    member,
                                    &[],
                                    &super::super::mail_queue::tests::job(0),
                                    |s| s.sent.push(t * 100 + i),
                                )
                                .unwrap();
                        }
                    }
                });
            }
        });
        let settings = store.notify_settings(&member).unwrap();
        assert_eq!(settings.links_sent.len() + settings.sent.len(), 100);
        // A change that fails, or changes nothing, writes nothing.
        let refused = store.update_notify_settings(&member, |s| {
            s.links_sent.clear();
            Err::<(), _>(StoreError::Corrupt {
                tree: TREE,
                source: Box::new(std::io::Error::other("refused")),
            })
        });
        assert!(refused.is_err());
        assert_eq!(store.notify_settings(&member).unwrap(), settings);
    }

    #[test]
    fn key_layout_is_pinned() {
        let sam: MemberId = "@sam:a.example".parse().unwrap();
        let key = note_key(b'n', &sam, event_seq(2) + 1);
        assert_eq!(key[0], b'n');
        assert_eq!(usize::from(key[1]), "@sam:a.example".len());
        assert_eq!(&key[2..16], b"@sam:a.example");
        assert_eq!(key[16..], [0, 0, 0, 0, 0, 0, 2, 1]);
        assert_eq!(seq_of(&key), 513);
    }
}
