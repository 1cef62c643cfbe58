//! Mentoring reminders, given by the notifier: a check-in due by the rhythm the pair
//! agreed (each person, once per due date), and a proposal to this node's mentor that
//! expires within a day (once). Each is a notification of kind `reminder`, emailed like
//! the others when the member chose mentoring emails.

use kindred_protocol::MemberId;
use kindred_protocol::api::{MatchStatus, NotificationKind};

use crate::node::Node;
use crate::node::mentoring::checkin_due_at;
use crate::store::{NoteRecord, StoreError, event_seq};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

impl Node {
    /// Gives the reminders that are due at `now`; `after` is how far the notifier has
    /// read the arrival log (a reminder is numbered just after it). Returns how many
    /// were given.
    pub(crate) fn give_reminders(&self, now: u64, after: u64) -> Result<usize, StoreError> {
        let own = self.config().node.name.as_str();
        let expiry = self.config().mentoring.proposal_expiry_minutes * 60_000;
        let mut given = 0;
        for m in self.store().matches()? {
            match m.status {
                MatchStatus::Active => {
                    for (member, other) in [(&m.buddy, &m.mentor), (&m.mentor, &m.buddy)] {
                        if member.node_name() != own {
                            continue;
                        }
                        let Some(account) = self.store().member(member.localpart())? else {
                            continue;
                        };
                        let due = checkin_due_at(&m, member, &self.time_zone_of(&account));
                        if now < due
                            || !self
                                .store()
                                .reminder_once(&format!("checkin/{}/{member}/{due}", m.id))?
                        {
                            continue;
                        }
                        let name = self.author_labels(other)?.0;
                        let text = format!(
                            "A check-in with {name} is due: a minute to say how your match is going"
                        );
                        given += usize::from(self.remind(member, &m.id, text, now, after)?);
                    }
                }
                MatchStatus::Pending if m.mentor.node_name() == own && expiry > 0 => {
                    let expires = m.created_at + expiry;
                    // Only proposals that live longer than a day get a day's notice.
                    if expiry <= DAY_MS
                        || now + DAY_MS < expires
                        || now >= expires
                        || !self.store().reminder_once(&format!("expiring/{}", m.id))?
                    {
                        continue;
                    }
                    let name = self.author_labels(&m.buddy)?.0;
                    let text = format!(
                        "{name}'s request for a mentor expires within a day: please answer it, yes or no"
                    );
                    given += usize::from(self.remind(&m.mentor, &m.id, text, now, after)?);
                }
                _ => {}
            }
        }
        Ok(given)
    }

    /// Records one reminder for `member` about the match `subject`.
    fn remind(
        &self,
        member: &MemberId,
        subject: &kindred_protocol::EventId,
        text: String,
        now: u64,
        after: u64,
    ) -> Result<bool, StoreError> {
        // The first free number after the notifier's place in the log.
        for k in 1..=255u64 {
            let seq = event_seq(after) + k;
            if self.store().note(member, seq)?.is_none() {
                let note = NoteRecord {
                    kind: NotificationKind::Reminder,
                    at: now,
                    event: None,
                    actor: None,
                    subject: Some(*subject),
                    text: Some(text),
                    link: None,
                    seen: false,
                };
                return self.record_note(member, seq, &note);
            }
        }
        Ok(false)
    }
}
