//! A member's standing with this node's moderators: what they see of it, the one appeal
//! per decision (signed in, or signed out while suspended), suspensions ending on time, and
//! suspensions set or ended on the Members page, which are the same suspension.

use kindred_protocol::api::{
    ErrorCode, LoginRequest, MAX_MODERATION_NOTE_BYTES, ReportTarget, Standing,
};
use kindred_protocol::{MemberId, Timestamp};

use crate::node::AppError;
use crate::node::{Auth, Node};
use crate::store::{MemberRecord, StandingRecord, StoreError};

impl Node {
    /// A member's own standing.
    pub(crate) fn standing_of(&self, member: &MemberId) -> Result<Standing, AppError> {
        let s = self.store().standing(member)?;
        Ok(Standing {
            warnings: s.warnings,
            paused: s.paused,
            suspended_until: s.suspended_until.filter(|_| s.suspended).map(Timestamp),
            suspended: s.suspended,
            last_note: s.last_note.clone(),
            can_appeal: can_appeal(&s),
            appeal_pending: s.appeal.is_some(),
        })
    }

    /// The words a suspended member sees when they try to sign in.
    pub(crate) fn suspension_message(&self, member: &MemberRecord) -> Result<String, AppError> {
        let id = self.member_id(&member.username)?;
        let s = self.store().standing(&id)?;
        if !s.suspended {
            return Ok(
                "This account is suspended. Please contact your organisation's admin.".to_owned(),
            );
        }
        let until = match s.suspended_until {
            Some(t) => format!(
                " until {}",
                crate::calendar::human_date(t, &self.time_zone_of(member))
            ),
            None => String::new(),
        };
        let appeal = if can_appeal(&s) {
            " You can ask for this decision to be reviewed: choose \"Ask for a review\" on the sign-in page."
        } else {
            ""
        };
        Ok(format!(
            "This account is suspended{until} by the moderators.{appeal}"
        ))
    }

    /// A signed-in member's appeal against their latest sanction.
    pub(crate) fn appeal(&self, member: &MemberId, note: &str) -> Result<(), AppError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(AppError::bad_request(
                "Please say why the decision should be looked at again.",
            ));
        }
        if note.len() > MAX_MODERATION_NOTE_BYTES {
            return Err(AppError::bad_request(format!(
                "The note can be at most {MAX_MODERATION_NOTE_BYTES} bytes."
            )));
        }
        let now = self.now().as_millis();
        self.store().update_standing(member, |s| {
            if s.appeal.is_some() {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "Your appeal is waiting for a moderator.",
                ));
            }
            if !can_appeal(s) {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    "There is no decision to appeal, or you have appealed it already.",
                ));
            }
            s.appealed = s.sanction;
            s.appeal = Some(note.to_owned());
            s.appeal_at = Some(now);
            Ok(())
        })?;
        self.audit(
            Some(member),
            "appeal",
            &ReportTarget::Member(member.clone()),
            Some(member),
            note,
        )?;
        Ok(())
    }

    /// A suspended member's appeal, made with their username and password (they cannot
    /// sign in).
    pub(crate) async fn appeal_signed_out(
        &self,
        credentials: &LoginRequest,
        note: &str,
        address: std::net::IpAddr,
    ) -> Result<(), AppError> {
        let member = self.check_credentials(credentials, address).await?;
        let id = self.member_id(&member.username)?;
        self.appeal(&id, note)
    }

    /// Ends the suspensions whose time is up (housekeeping); returns how many.
    pub(crate) async fn end_suspensions(&self, now: u64) -> Result<usize, AppError> {
        let mut ended = 0;
        for (member, s) in self.store().standings()? {
            if !s.suspended || s.suspended_until.is_none_or(|t| t > now) {
                continue;
            }
            // Decided again on the standing as it is now: a moderator may have changed it
            // since the list was read (a longer suspension, say). The standing and the
            // account change together, as moderators' decisions do.
            // Moderators' decisions take the same lock, so what is read here stands until
            // the change below; the log entry goes first, as for every change the node
            // makes on its own.
            let _accounts = self.limits().erasing.lock().await;
            let due =
                |s: &StandingRecord| s.suspended && s.suspended_until.is_some_and(|t| t <= now);
            if !due(&self.store().standing(&member)?) {
                continue;
            }
            self.audit(
                None,
                "suspension_ended",
                &ReportTarget::Member(member.clone()),
                Some(&member),
                "",
            )?;
            let ended_now = self.store().update_standing(&member, |s| {
                let ends = due(s);
                if ends {
                    s.suspended = false;
                    s.suspended_until = None;
                    s.appeal = None;
                }
                Ok::<_, AppError>(ends)
            })?;
            if !ended_now {
                continue;
            }
            self.set_suspended(member.localpart(), false).await?;
            self.tell_moderation(
                &member,
                "Your suspension has ended: welcome back. Please read the community guidelines again before you post.".to_owned(),
                "/guidelines",
            );
            ended += 1;
        }
        Ok(ended)
    }

    /// Records a suspension set or ended on the Members page (the account is already
    /// changed): in the moderation log, and as the member's standing, so it can be
    /// appealed and moderation's reinstate ends it.
    pub(crate) fn members_page_suspension(
        &self,
        auth: &Auth,
        member: &MemberId,
        suspended: bool,
    ) -> Result<(), StoreError> {
        let target = ReportTarget::Member(member.clone());
        if suspended {
            let note = "Suspended by an admin on the Members page";
            let seq = self.audit(
                Some(&auth.member_id),
                "suspend",
                &target,
                Some(member),
                note,
            )?;
            self.store().update_standing(member, |s| {
                s.suspended = true;
                s.suspended_until = None;
                s.sanction = Some(seq);
                s.appeal = None;
                s.last_note = Some(note.to_owned());
                Ok(())
            })
        } else {
            self.audit(
                Some(&auth.member_id),
                "reinstate",
                &target,
                Some(member),
                "Reinstated on the Members page",
            )?;
            self.store().update_standing(member, |s| {
                s.suspended = false;
                s.suspended_until = None;
                s.appeal = None;
                Ok(())
            })
        }
    }

    /// Whether `member` may post now (not paused by reports).
    pub(crate) fn posting_paused(&self, member: &MemberId) -> Result<bool, StoreError> {
        Ok(self.store().standing(member)?.paused)
    }
}

/// A sanction stands and was not appealed yet.
fn can_appeal(s: &StandingRecord) -> bool {
    (s.suspended || s.paused || s.warnings > 0) && s.sanction.is_some() && s.appealed != s.sanction
}
