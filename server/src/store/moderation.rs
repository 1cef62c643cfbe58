//! The `moderation` tree: reports, what moderators hid on this node, members' standing
//! (warnings, suspensions, pauses, appeals) and the audit log. Keys start with a tag:
//!
//! - `r ‖ id` → [`ReportRecord`] (id: a big-endian number, one above the highest);
//! - `e ‖ event id` → the report filed for a report event from another node (so reading
//!   the arrival log again files it once);
//! - `h ‖ target` → [`HiddenRecord`]: hidden here (target: `e ‖ event id` or
//!   `m ‖ member id`);
//! - `s ‖ member id` → [`StandingRecord`] (this node's members only);
//! - `a ‖ seq` → [`AuditRecord`], in the order actions were taken;
//! - `d ‖ node id ‖ day` → reports filed from that node that day (u64); `D` the same
//!   for its shared decisions, `R` for its safeguarding referrals;
//! - `f ‖ id` → [`ReferralRecord`]: a safeguarding referral sent or received;
//! - `p ‖ node id` → what this node does with that node's shared decisions (1 adopt,
//!   2 review, 3 ignore).
//!
//! The decisions are made in `node/moderation/`; this module only keeps them.

use kindred_protocol::api::{ReportReason, ReportTarget};
use kindred_protocol::{EventId, MemberId, NodeId};
use serde::{Deserialize, Serialize};

use super::keys::push_text;
use super::origin_log::decode_u64;
use super::{Store, StoreError, from_json, to_json};

const TREE: &str = "moderation";

/// One report, from a member here or from another node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReportRecord {
    /// What is reported (content by its original id).
    pub(crate) target: ReportTarget,
    /// Why.
    pub(crate) reason: ReportReason,
    /// The reporter's note (members here only).
    pub(crate) note: Option<String>,
    /// The reporter (members here only).
    pub(crate) reporter: Option<MemberId>,
    /// The node it came from (`None`: this node).
    pub(crate) from_node: Option<NodeId>,
    /// The reporter's organisation.
    pub(crate) from_organisation: String,
    /// Who wrote the content, or who is reported.
    pub(crate) author: Option<MemberId>,
    /// Filed (ms).
    pub(crate) at: u64,
    /// Waiting for a moderator.
    pub(crate) open: bool,
    /// What was decided, in the moderator's words, once closed.
    pub(crate) outcome: Option<String>,
    /// Another node's shared decision waiting for review, rather than a report.
    #[serde(default)]
    pub(crate) decision: Option<kindred_protocol::api::DecisionAction>,
}

/// A safeguarding referral sent from or received by this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ReferralRecord {
    /// Sent from this node.
    pub(crate) sent: bool,
    /// The referral event (none for a concern about this node's own member).
    pub(crate) event: Option<EventId>,
    /// The member of concern.
    pub(crate) member: MemberId,
    /// The content it is about.
    pub(crate) content: Vec<EventId>,
    /// The concern.
    pub(crate) concern: String,
    /// Who raised it.
    pub(crate) referrer: MemberId,
    /// How to reach them.
    pub(crate) contact: String,
    /// The other organisation.
    pub(crate) organisation: String,
    /// Raised (ms).
    pub(crate) at: u64,
    /// Read by a safeguarding lead at the member's organisation (ms).
    pub(crate) acknowledged_at: Option<u64>,
    /// Who read it.
    pub(crate) acknowledged_by: Option<MemberId>,
}

/// Something hidden on this node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct HiddenRecord {
    /// The reason shown in its place.
    pub(crate) reason: String,
    /// The moderator (`None`: hidden by reports, waiting for review).
    pub(crate) by: Option<MemberId>,
    /// When (ms).
    pub(crate) at: u64,
    /// Hidden by following this node's shared decision.
    #[serde(default)]
    pub(crate) from_node: Option<NodeId>,
}

impl HiddenRecord {
    /// Hidden automatically by reports, not yet reviewed.
    pub(crate) fn by_reports(&self) -> bool {
        self.by.is_none() && self.from_node.is_none()
    }
}

/// A member's standing with this node's moderators.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct StandingRecord {
    /// Warnings received.
    pub(crate) warnings: u32,
    /// Suspensions so far (the ladder's step).
    pub(crate) suspensions: u32,
    /// Suspended until (ms); with `suspended` and no end: permanently.
    pub(crate) suspended_until: Option<u64>,
    /// Suspended by moderation now (an admin's plain suspension is the account's).
    pub(crate) suspended: bool,
    /// Posting paused by reports until a moderator looks.
    pub(crate) paused: bool,
    /// The last decision's note.
    pub(crate) last_note: Option<String>,
    /// The number of the last sanction (audit seq): one appeal per sanction.
    pub(crate) sanction: Option<u64>,
    /// The sanction an appeal was made against.
    pub(crate) appealed: Option<u64>,
    /// The appeal's note, while it waits for review.
    pub(crate) appeal: Option<String>,
    /// When the appeal was made (ms).
    pub(crate) appeal_at: Option<u64>,
    /// When a moderator last reviewed reports about them (ms): earlier reports no longer
    /// count towards a pause.
    pub(crate) reviewed_at: Option<u64>,
}

/// One moderation action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditRecord {
    /// When (ms).
    pub(crate) at: u64,
    /// Who (`None`: the node itself).
    pub(crate) by: Option<MemberId>,
    /// What: the action's name.
    pub(crate) action: String,
    /// What it was about.
    pub(crate) target: ReportTarget,
    /// The author concerned.
    pub(crate) author: Option<MemberId>,
    /// The note.
    pub(crate) note: String,
}

fn target_key(target: &ReportTarget) -> Vec<u8> {
    let mut key = vec![b'h'];
    match target {
        ReportTarget::Event(id) => {
            key.push(b'e');
            key.extend_from_slice(id.as_bytes());
        }
        ReportTarget::Member(m) => {
            key.push(b'm');
            push_text(&mut key, m.as_str());
        }
    }
    key
}

fn numbered(tag: u8, n: u64) -> Vec<u8> {
    let mut key = vec![tag];
    key.extend_from_slice(&n.to_be_bytes());
    key
}

fn standing_key(member: &MemberId) -> Vec<u8> {
    let mut key = vec![b's'];
    push_text(&mut key, member.as_str());
    key
}

fn number_of(key: &[u8]) -> u64 {
    key.get(1..9)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

impl Store {
    /// Files a report under the next free number; returns it.
    pub(crate) fn add_report(&self, report: &ReportRecord) -> Result<u64, StoreError> {
        self.append_numbered(b'r', &to_json(TREE, report)?)
    }

    /// Files the report of report event `event` from another node, once: `None` when it
    /// was filed before.
    pub(crate) fn add_remote_report(
        &self,
        event: &EventId,
        report: &ReportRecord,
    ) -> Result<Option<u64>, StoreError> {
        let mut mark = vec![b'e'];
        mark.extend_from_slice(event.as_bytes());
        if self.trees().moderation.contains_key(&mark)? {
            return Ok(None);
        }
        let id = self.add_report(report)?;
        self.writer()
            .moderation
            .insert(mark, id.to_be_bytes().as_slice())?;
        Ok(Some(id))
    }

    /// Changes report `id` with `change`, as one step (compare-and-swap): closing a report
    /// never puts back the reporter's name that an erasure took out meanwhile, and two
    /// moderators closing it at once leave one outcome. `None`, with nothing written, when
    /// there is no such report.
    ///
    /// Errors: the store's.
    pub(crate) fn update_report<R>(
        &self,
        id: u64,
        mut change: impl FnMut(&mut ReportRecord) -> R,
    ) -> Result<Option<R>, StoreError> {
        super::update_json(
            &self.writer().moderation,
            TREE,
            &numbered(b'r', id),
            || None,
            |report: &mut ReportRecord| Ok::<_, StoreError>(change(report)),
        )
    }

    /// Every report, oldest first.
    pub(crate) fn reports(&self) -> Result<Vec<(u64, ReportRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().moderation.scan_prefix([b'r']) {
            let (key, value) = item?;
            out.push((number_of(&key), from_json(TREE, &value)?));
        }
        Ok(out)
    }

    /// Hides `target` here.
    pub(crate) fn put_hidden(
        &self,
        target: &ReportTarget,
        record: &HiddenRecord,
    ) -> Result<(), StoreError> {
        self.writer()
            .moderation
            .insert(target_key(target), to_json(TREE, record)?)?;
        Ok(())
    }

    /// Shows `target` again.
    pub(crate) fn remove_hidden(&self, target: &ReportTarget) -> Result<(), StoreError> {
        self.writer().moderation.remove(target_key(target))?;
        Ok(())
    }

    /// Everything hidden here.
    pub(crate) fn hidden_all(&self) -> Result<Vec<(ReportTarget, HiddenRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().moderation.scan_prefix([b'h']) {
            let (key, value) = item?;
            let target = match key.get(1) {
                Some(b'e') => key
                    .get(2..34)
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(|b| ReportTarget::Event(EventId::from_bytes(b))),
                Some(b'm') => key
                    .get(3..)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .and_then(|t| MemberId::parse(t).ok())
                    .map(ReportTarget::Member),
                _ => None,
            };
            let Some(target) = target else {
                return Err(StoreError::corrupt(
                    TREE,
                    std::io::Error::other("a hidden entry's key cannot be read"),
                ));
            };
            out.push((target, from_json(TREE, &value)?));
        }
        Ok(out)
    }

    /// A member's standing (the default when they have none).
    pub(crate) fn standing(&self, member: &MemberId) -> Result<StandingRecord, StoreError> {
        Ok(match self.trees().moderation.get(standing_key(member))? {
            Some(v) => from_json(TREE, &v)?,
            None => StandingRecord::default(),
        })
    }

    /// Changes a member's standing with `change` (from the default when they have none),
    /// as one step: when another decision changed it meanwhile, it is read again and
    /// `change` applied again, so a warning, suspension or appeal is never undone by a
    /// late write. `change` may run more than once.
    ///
    /// Errors: `change`'s own, or the store's.
    pub(crate) fn update_standing<R, E: From<StoreError>>(
        &self,
        member: &MemberId,
        change: impl FnMut(&mut StandingRecord) -> Result<R, E>,
    ) -> Result<R, E> {
        super::update_json_or_default(
            &self.writer().moderation,
            TREE,
            &standing_key(member),
            change,
        )
    }

    /// Every member with a standing record.
    pub(crate) fn standings(&self) -> Result<Vec<(MemberId, StandingRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().moderation.scan_prefix([b's']) {
            let (key, value) = item?;
            let member = key
                .get(2..)
                .and_then(|b| std::str::from_utf8(b).ok())
                .and_then(|t| MemberId::parse(t).ok());
            if let Some(member) = member {
                out.push((member, from_json(TREE, &value)?));
            }
        }
        Ok(out)
    }

    /// Appends to the audit log; returns the entry's number.
    pub(crate) fn audit(&self, record: &AuditRecord) -> Result<u64, StoreError> {
        self.append_numbered(b'a', &to_json(TREE, record)?)
    }

    /// Audit entries older than `before`, newest first, at most `limit`.
    pub(crate) fn audit_log(
        &self,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<(u64, AuditRecord)>, StoreError> {
        let start = numbered(b'a', 0);
        let end = numbered(b'a', before.unwrap_or(u64::MAX));
        let mut out = Vec::new();
        for item in self
            .trees()
            .moderation
            .range(start.as_slice()..end.as_slice())
            .rev()
            .take(limit)
        {
            let (key, value) = item?;
            out.push((number_of(&key), from_json(TREE, &value)?));
        }
        Ok(out)
    }

    /// Counts one more report from `node` on `day` (days since the epoch); returns the
    /// count including it.
    pub(crate) fn count_remote_report(&self, node: &NodeId, day: u64) -> Result<u64, StoreError> {
        self.count_remote(b'd', node, day)
    }

    /// Counts one more of what `tag` counts (`d` reports, `D` shared decisions, `R`
    /// referrals) from `node` on `day`; returns the count including it.
    pub(crate) fn count_remote(&self, tag: u8, node: &NodeId, day: u64) -> Result<u64, StoreError> {
        let mut key = vec![tag];
        key.extend_from_slice(node.as_bytes());
        key.extend_from_slice(&day.to_be_bytes());
        let count = match self.trees().moderation.get(&key)? {
            Some(v) => decode_u64(TREE, &v)?,
            None => 0,
        } + 1;
        self.writer()
            .moderation
            .insert(key, count.to_be_bytes().as_slice())?;
        Ok(count)
    }

    /// Writes `value` under `tag ‖ n` for the first free `n` above the highest, claimed by
    /// compare-and-swap so two writers never take the same number.
    fn append_numbered(&self, tag: u8, value: &[u8]) -> Result<u64, StoreError> {
        let start = numbered(tag, 0);
        let end = numbered(tag, u64::MAX);
        let mut n = self
            .trees()
            .moderation
            .range(start.as_slice()..end.as_slice())
            .rev()
            .next()
            .transpose()?
            .map_or(0, |(k, _)| number_of(&k))
            + 1;
        loop {
            match self.writer().moderation.compare_and_swap(
                numbered(tag, n),
                None::<&[u8]>,
                Some(value),
            )? {
                Ok(()) => return Ok(n),
                Err(_) => n += 1,
            }
        }
    }

    /// Records a referral; returns its number.
    pub(crate) fn add_referral(&self, referral: &ReferralRecord) -> Result<u64, StoreError> {
        self.append_numbered(b'f', &to_json(TREE, referral)?)
    }

    /// Marks referral `id` acknowledged by `by` at `at` (ms), as one step: true when this
    /// call did it, false when it was acknowledged already (two leads at once: one
    /// acknowledgement) or there is no such referral.
    ///
    /// Errors: the store's.
    pub(crate) fn acknowledge_referral(
        &self,
        id: u64,
        by: &MemberId,
        at: u64,
    ) -> Result<bool, StoreError> {
        let done = super::update_json(
            &self.writer().moderation,
            TREE,
            &numbered(b'f', id),
            || None,
            |r: &mut ReferralRecord| {
                let first = r.acknowledged_at.is_none();
                if first {
                    r.acknowledged_at = Some(at);
                    r.acknowledged_by = Some(by.clone());
                }
                Ok::<_, StoreError>(first)
            },
        )?;
        Ok(done == Some(true))
    }

    /// Every referral, oldest first.
    pub(crate) fn referrals(&self) -> Result<Vec<(u64, ReferralRecord)>, StoreError> {
        let mut out = Vec::new();
        for item in self.trees().moderation.scan_prefix([b'f']) {
            let (key, value) = item?;
            out.push((number_of(&key), from_json(TREE, &value)?));
        }
        Ok(out)
    }

    /// What this node does with `node`'s shared decisions, when an admin chose.
    pub(crate) fn decision_policy(
        &self,
        node: &NodeId,
    ) -> Result<Option<kindred_protocol::api::DecisionPolicy>, StoreError> {
        use kindred_protocol::api::DecisionPolicy as P;
        let mut key = vec![b'p'];
        key.extend_from_slice(node.as_bytes());
        Ok(self
            .trees()
            .moderation
            .get(key)?
            .and_then(|v| match v.first() {
                Some(1) => Some(P::Adopt),
                Some(2) => Some(P::Review),
                Some(3) => Some(P::Ignore),
                _ => None,
            }))
    }

    /// Records what this node does with `node`'s shared decisions.
    pub(crate) fn set_decision_policy(
        &self,
        node: &NodeId,
        policy: kindred_protocol::api::DecisionPolicy,
    ) -> Result<(), StoreError> {
        use kindred_protocol::api::DecisionPolicy as P;
        let mut key = vec![b'p'];
        key.extend_from_slice(node.as_bytes());
        let code = match policy {
            P::Adopt => 1u8,
            P::Review => 2,
            P::Ignore => 3,
        };
        self.writer().moderation.insert(key, [code].as_slice())?;
        Ok(())
    }

    /// Forgets a member who is erased: their standing, and their name as a reporter (the
    /// reports stay, without it, so the content's history is whole).
    pub(crate) fn forget_in_moderation(&self, member: &MemberId) -> Result<(), StoreError> {
        self.writer().moderation.remove(standing_key(member))?;
        for (id, report) in self.reports()? {
            if report.reporter.as_ref() == Some(member) {
                self.update_report(id, |report| {
                    if report.reporter.as_ref() == Some(member) {
                        report.reporter = None;
                        report.note = None;
                    }
                })?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two decisions about one member at once (a warning while an appeal is made) both
    /// stand; a decision that changes nothing writes nothing.
    #[test]
    fn standing_changes_made_meanwhile_stand() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Store::open(dir.path()).expect("open");
        let ann: MemberId = "@ann:a.org".parse().expect("id");
        let unchanged = store
            .update_standing(&ann, |s| Ok::<_, StoreError>(s.paused))
            .expect("update");
        assert!(!unchanged);
        assert!(
            store.standings().expect("list").is_empty(),
            "nothing written"
        );
        let mut runs = 0;
        store
            .update_standing(&ann, |s| {
                runs += 1;
                if runs == 1 {
                    let other = StandingRecord {
                        appeal: Some("please look again".into()),
                        ..StandingRecord::default()
                    };
                    store
                        .writer()
                        .moderation
                        .insert(standing_key(&ann), to_json(TREE, &other).expect("json"))
                        .expect("write");
                }
                s.warnings += 1;
                Ok::<_, StoreError>(())
            })
            .expect("update");
        let now = store.standing(&ann).expect("read");
        assert_eq!(now.warnings, 1);
        assert_eq!(now.appeal.as_deref(), Some("please look again"));
    }

    #[test]
    fn key_layout() {
        let id = EventId::from_bytes([7; 32]);
        let mut k = vec![b'h', b'e'];
        k.extend_from_slice(&[7; 32]);
        assert_eq!(target_key(&ReportTarget::Event(id)), k);
        let m: MemberId = "@ann:a.org".parse().unwrap();
        assert_eq!(
            target_key(&ReportTarget::Member(m.clone())),
            [b"hm\x0a".as_slice(), b"@ann:a.org"].concat()
        );
        assert_eq!(
            standing_key(&m),
            [b"s\x0a".as_slice(), b"@ann:a.org"].concat()
        );
        assert_eq!(numbered(b'a', 258), vec![b'a', 0, 0, 0, 0, 0, 0, 1, 2]);
        assert_eq!(number_of(&numbered(b'r', 99)), 99);
    }
}
