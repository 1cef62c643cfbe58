//! The email queue, in the `notifications` tree (`q ‖ job` → [`MailJob`], job a
//! big-endian number; see `notifications` for the tree's other keys).

use kindred_protocol::MemberId;
use serde::{Deserialize, Serialize};

use super::notifications::{NotifySettings, TREE, member_key, note_key, seq_of};
use super::{Store, StoreError, from_json, to_json};

/// An email waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MailJob {
    /// The member it is for (`None`: an address check by the operator).
    pub(crate) member: Option<MemberId>,
    /// The address, as it was when the email was made.
    pub(crate) to: String,
    /// Subject line.
    pub(crate) subject: String,
    /// Plain text part.
    pub(crate) text: String,
    /// HTML part.
    pub(crate) html: String,
    /// The one-click unsubscribe link (RFC 8058), for notification and digest emails.
    pub(crate) unsubscribe: Option<String>,
    /// Tries so far.
    pub(crate) attempts: u32,
    /// Not before (ms).
    pub(crate) next_at: u64,
    /// Made (ms).
    pub(crate) created_at: u64,
}

impl MailJob {
    /// A new email, due at `now` (ms), not tried yet.
    pub(crate) fn new(
        member: Option<&MemberId>,
        to: &str,
        subject: String,
        (text, html): (String, String),
        unsubscribe: Option<String>,
        now: u64,
    ) -> Self {
        Self {
            member: member.cloned(),
            to: to.to_owned(),
            subject,
            text,
            html,
            unsubscribe,
            attempts: 0,
            next_at: now,
            created_at: now,
        }
    }
}

fn job_key(id: u64) -> Vec<u8> {
    let mut key = vec![b'q'];
    key.extend_from_slice(&id.to_be_bytes());
    key
}

impl Store {
    /// Queues a new email under the next free number; returns the number. Two callers
    /// at once never take the same one (the key is claimed by a compare-and-swap).
    pub(crate) fn enqueue_mail(&self, job: &MailJob) -> Result<u64, StoreError> {
        let json = to_json(TREE, job)?;
        let t = self.writer();
        let mut id = self.next_mail_job()?;
        loop {
            match t
                .notifications
                .compare_and_swap(job_key(id), None::<&[u8]>, Some(&json))?
            {
                Ok(()) => return Ok(id),
                Err(_) => id += 1,
            }
        }
    }

    /// Writes a queued email again under its number with a retry's new time, only if it
    /// is still queued as `before` (not removed with its member meanwhile).
    pub(crate) fn requeue_mail(
        &self,
        job_id: u64,
        before: &MailJob,
        job: &MailJob,
    ) -> Result<(), StoreError> {
        let old = to_json(TREE, before)?;
        let new = to_json(TREE, job)?;
        // Err: it is gone or changed, and stays so.
        let _ = self.writer().notifications.compare_and_swap(
            job_key(job_id),
            Some(&old),
            Some(&new),
        )?;
        Ok(())
    }

    /// A number for a new email job: one above the highest queued.
    fn next_mail_job(&self) -> Result<u64, StoreError> {
        let mut end = vec![b'q'];
        end.extend_from_slice(&[0xFF; 8]);
        let last = self
            .trees()
            .notifications
            .range([b'q'].as_slice()..end.as_slice())
            .rev()
            .next()
            .transpose()?
            .map_or(0, |(k, _)| seq_of(&k));
        Ok(last + 1)
    }

    /// Queued emails, in the order they were queued.
    pub(crate) fn mail_queue(&self) -> Result<Vec<(u64, MailJob)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().notifications.scan_prefix([b'q']) {
            let (k, v) = item?;
            out.push((seq_of(&k), from_json(TREE, &v)?));
        }
        Ok(out)
    }

    /// Removes a sent (or given up) email.
    pub(crate) fn unqueue_mail(&self, job_id: u64) -> Result<(), StoreError> {
        let mut key = vec![b'q'];
        key.extend_from_slice(&job_id.to_be_bytes());
        self.writer().notifications.remove(key)?;
        Ok(())
    }
}

impl Store {
    /// Queues `job` for `member`, marks `seqs` considered and applies `record` to their
    /// settings (the mailer counts the send), in one transaction: an email is never both
    /// lost and marked sent, nor queued twice, and the settings are read inside it, so a
    /// change the member made meanwhile stays.
    pub(crate) fn queue_batch(
        &self,
        member: &MemberId,
        seqs: &[u64],
        job: &MailJob,
        record: impl Fn(&mut NotifySettings),
    ) -> Result<(), StoreError> {
        let job_json = to_json(TREE, job)?;
        let settings_key = member_key(b's', member);
        let _writing = self.writer();
        let mut id = self.next_mail_job()?;
        loop {
            let key = job_key(id);
            let result = self.transaction([&self.trees().notifications], |[t]| {
                if t.get(&key)?.is_some() {
                    // Taken by an email queued at the same moment: the next number.
                    return Err(super::kv::TxError::Abort(None));
                }
                for seq in seqs {
                    t.remove(note_key(b'p', member, *seq))?;
                }
                t.insert(&key, &job_json)?;
                let mut settings: NotifySettings = match t.get(&settings_key)? {
                    None => NotifySettings::default(),
                    Some(v) => {
                        from_json(TREE, &v).map_err(|e| super::kv::TxError::Abort(Some(e)))?
                    }
                };
                record(&mut settings);
                let settings_json =
                    to_json(TREE, &settings).map_err(|e| super::kv::TxError::Abort(Some(e)))?;
                t.insert(&settings_key, &settings_json)?;
                Ok::<_, super::kv::TxError<Option<StoreError>>>(())
            });
            match result {
                Ok(()) => return Ok(()),
                Err(super::kv::TransactionError::Abort(None)) => id += 1,
                Err(super::kv::TransactionError::Abort(Some(e))) => return Err(e),
                Err(super::kv::TransactionError::Storage(e)) => return Err(e.into()),
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    pub(in crate::store) fn job(n: usize) -> MailJob {
        MailJob {
            member: None,
            to: format!("n{n}@x.example"),
            subject: String::new(),
            text: String::new(),
            html: String::new(),
            unsubscribe: None,
            attempts: 0,
            next_at: 0,
            created_at: 0,
        }
    }

    #[test]
    fn emails_queued_at_once_all_keep_their_own_number() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        let member: MemberId = "@sam:a.example".parse().unwrap();
        std::thread::scope(|s| {
            for t in 0..4 {
                let store = &store;
                let member = &member;
                s.spawn(move || {
                    for i in 0..25 {
                        if i % 2 == 0 {
                            store.enqueue_mail(&job(t * 100 + i)).unwrap();
                        } else {
                            store
                                .queue_batch(member, &[], &job(t * 100 + i), |_| {})
                                .unwrap();
                        }
                    }
                });
            }
        });
        let queue = store.mail_queue().unwrap();
        assert_eq!(queue.len(), 100);
        let mut to: Vec<&str> = queue.iter().map(|(_, j)| j.to.as_str()).collect();
        to.sort_unstable();
        to.dedup();
        assert_eq!(to.len(), 100, "no email replaced another");
    }

    #[test]
    fn key_layout_is_pinned() {
        assert_eq!(job_key(7), [b'q', 0, 0, 0, 0, 0, 0, 0, 7]);
    }
}
