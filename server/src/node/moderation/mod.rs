//! Keeping people safe: members report posts, replies, chat messages and people
//! ([`reports`]); moderators work through a queue ([`queue`]) and act ([`actions`]):
//! dismiss, hide here, retract, warn, suspend on a ladder, reinstate; a sanctioned member
//! may appeal once; every action is in the audit log.
//!
//! Who may do what is `rules::moderation`; the records are `store/moderation.rs`. What
//! is hidden here is mirrored in memory ([`HiddenSet`]), since every post and message
//! shown is checked against it.

mod actions;
mod closing;
mod decisions;
mod queue;
mod referrals;
mod reports;
mod standing;

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use kindred_protocol::api::{NotificationKind, ReportTarget};
use kindred_protocol::{EventId, MemberId};

use super::Node;
use crate::store::{AuditRecord, HiddenRecord, NoteRecord, Store, StoreError, event_seq};

/// What is hidden on this node, loaded at start and kept in step with the store.
#[derive(Default)]
pub(crate) struct HiddenSet {
    any: AtomicBool,
    items: RwLock<HashMap<ReportTarget, HiddenRecord>>,
}

impl HiddenSet {
    /// Loads what the store holds.
    pub(crate) fn load(store: &Store) -> Result<Self, StoreError> {
        let items: HashMap<_, _> = store.hidden_all()?.into_iter().collect();
        Ok(Self {
            any: AtomicBool::new(!items.is_empty()),
            items: RwLock::new(items),
        })
    }

    /// Why `target` is hidden, if it is.
    pub(crate) fn get(&self, target: &ReportTarget) -> Option<HiddenRecord> {
        if !self.any.load(Ordering::Acquire) {
            return None;
        }
        self.items
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(target)
            .cloned()
    }

    /// Sets `target` hidden (or shown, with `None`) after `persist` has written it, under
    /// one lock: two decisions at once leave the store and the memory agreeing.
    fn set(
        &self,
        target: ReportTarget,
        record: Option<HiddenRecord>,
        persist: impl FnOnce(&ReportTarget, Option<&HiddenRecord>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut items = self.items.write().unwrap_or_else(|p| p.into_inner());
        persist(&target, record.as_ref())?;
        match record {
            Some(r) => {
                items.insert(target, r);
            }
            None => {
                items.remove(&target);
            }
        }
        self.any.store(!items.is_empty(), Ordering::Release);
        Ok(())
    }
}

impl Node {
    /// Why an entry (post, reply, message) by `author` is hidden on this node: hidden
    /// itself, or everything by its author hidden here. `None` when shown.
    pub(crate) fn hidden_reason(&self, id: &EventId, author: &MemberId) -> Option<String> {
        let hidden = self.hidden_set();
        hidden
            .get(&ReportTarget::Event(*id))
            .or_else(|| hidden.get(&ReportTarget::Member(author.clone())))
            .map(|h| h.reason)
    }

    /// Holds what is hidden here, and which reports are open, still while the caller
    /// changes them (`limits().hiding`): reports counted, moderators' hides, shows and
    /// closings, and other nodes' decisions followed happen one at a time. Never held
    /// across an await, and never taken twice on one path.
    pub(crate) fn hiding(&self) -> std::sync::MutexGuard<'_, ()> {
        self.limits()
            .hiding
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Hides `target` here (or shows it again, with `None`), in the store and in memory.
    pub(crate) fn set_hidden(
        &self,
        target: &ReportTarget,
        record: Option<HiddenRecord>,
    ) -> Result<(), StoreError> {
        self.hidden_set()
            .set(target.clone(), record, |target, record| match record {
                Some(r) => self.store().put_hidden(target, r),
                None => self.store().remove_hidden(target),
            })
    }

    /// The community guidelines as safe HTML: `moderation.guidelines` (Markdown), or a
    /// short default naming the organisation.
    pub(crate) fn guidelines_html(&self) -> String {
        let text = &self.config().moderation.guidelines;
        if text.trim().is_empty() {
            super::markdown::render(&default_guidelines(&self.config().node.organisation))
        } else {
            super::markdown::render(text)
        }
    }

    /// How long `member`'s next suspension would last, in days; `None`: permanently.
    pub(crate) fn next_suspension_days(
        &self,
        member: &MemberId,
    ) -> Result<Option<u32>, StoreError> {
        let done = self.store().standing(member)?.suspensions;
        Ok(self.config().moderation.suspension_length(done + 1))
    }

    /// Open reports and appeals waiting for `auth` to review (the Admin link's count).
    pub(crate) fn open_reports(&self, auth: &super::Auth) -> Result<usize, StoreError> {
        let appeals = self
            .store()
            .standings()?
            .iter()
            .filter(|(m, s)| s.appeal.is_some() && self.may_review(auth, m))
            .count();
        let reports = self
            .store()
            .reports()?
            .iter()
            .filter(|(_, r)| r.open && r.author.as_ref().is_none_or(|a| self.may_review(auth, a)))
            .count();
        Ok(reports + appeals)
    }

    /// Writes one audit entry; returns its number.
    pub(crate) fn audit(
        &self,
        by: Option<&MemberId>,
        action: &str,
        target: &ReportTarget,
        author: Option<&MemberId>,
        note: &str,
    ) -> Result<u64, StoreError> {
        let record = AuditRecord {
            at: self.now().as_millis(),
            by: by.cloned(),
            action: action.to_owned(),
            target: target.clone(),
            author: author.cloned(),
            note: note.to_owned(),
        };
        let seq = self.store().audit(&record)?;
        tracing::info!(by = ?by.map(MemberId::as_str), action, %target, "moderation");
        Ok(seq)
    }

    /// Tells a member of this node about a moderation decision (a notification of kind
    /// `moderation`, emailed when they chose so), in plain words, linking to `link`.
    pub(crate) fn tell_moderation(&self, member: &MemberId, text: String, link: &str) {
        let result = (|| -> Result<bool, StoreError> {
            let after = self.store().last_local_seq()?;
            for k in 1..=255u64 {
                let seq = event_seq(after) + k;
                if self.store().note(member, seq)?.is_none() {
                    let note = NoteRecord {
                        kind: NotificationKind::Moderation,
                        at: self.now().as_millis(),
                        event: None,
                        actor: None,
                        subject: None,
                        text: Some(text),
                        link: Some(link.to_owned()),
                        seen: false,
                    };
                    return self.record_note(member, seq, &note);
                }
            }
            Ok(false)
        })();
        if let Err(e) = result {
            tracing::warn!(%member, error = %e, "a moderation notification could not be recorded");
        }
    }
}

/// The guidelines a node shows until its admins write their own.
fn default_guidelines(organisation: &str) -> String {
    format!(
        "Kindred at {organisation} is a place for people from community and health \
organisations to learn from each other. To keep it safe and useful:\n\n\
- **Be kind and assume good intent.** People share honestly here, often about hard things.\n\
- **Respect privacy.** Do not share anyone's personal details, or stories that are not \
yours to tell, without their permission.\n\
- **Use content warnings** for posts about suicide, self-harm, abuse, bereavement or other \
things that may be hard to read.\n\
- **No harassment, hate or discrimination**, and no spam or advertising.\n\
- **Share what you know to be accurate**, and say when you are not sure.\n\
- **This is peer support, not a crisis service.** If someone is at risk, use the help \
lines on every page and tell a moderator.\n\n\
If something here breaks these guidelines, use **Report** next to it. Moderators look at \
every report; the person you report is never told who reported them."
    )
}

/// Another node's words as shown here: without control or default-ignorable characters
/// (a direction override could make what follows read as something else), keeping line
/// breaks when `lines`.
pub(crate) fn remote_text(text: &str, lines: bool) -> String {
    kindred_protocol::text::without_default_ignorable(text)
        .chars()
        .filter(|c| !c.is_control() || (lines && *c == '\n'))
        .collect()
}
