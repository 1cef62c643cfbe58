//! Safeguarding referrals. A moderator, admin or safeguarding lead raises a concern about a
//! member of any organisation; it goes, as a directed event carrying only who, which
//! content, the concern and the referrer's contact, to that member's home node, where only
//! the safeguarding leads (`[moderation] safeguarding_leads`) read it and acknowledge it.
//! The member concerned never sees it. Both sides keep it in their audit log.

use kindred_protocol::api::{NewReferral, ReferralView, ReportTarget, Role};
use kindred_protocol::event::body::safeguarding::{
    MAX_CONCERN_BYTES, MAX_CONTACT_BYTES, MAX_REFERRAL_CONTENT, ReferralAcknowledged,
    SafeguardingReferral,
};
use kindred_protocol::{EventBody, EventId, EventPayload, MemberId, References, Timestamp};

use crate::node::AppError;
use crate::node::ingest::{Draft, Reach};
use crate::node::{Auth, Node};
use crate::store::{ReferralRecord, StoreError};

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

impl Node {
    /// Whether `member` is one of this node's safeguarding leads.
    pub(crate) fn is_safeguarding_lead(&self, member: &MemberId) -> bool {
        member.node_name() == self.config().node.name.as_str()
            && self
                .config()
                .moderation
                .safeguarding_leads
                .iter()
                .any(|u| u.eq_ignore_ascii_case(member.localpart()))
    }

    fn leads(&self) -> Vec<MemberId> {
        self.config()
            .moderation
            .safeguarding_leads
            .iter()
            .filter_map(|u| self.member_id(&u.to_lowercase()).ok())
            .filter(|m| {
                self.store()
                    .member(m.localpart())
                    .ok()
                    .flatten()
                    .is_some_and(|r| !r.suspended && r.deletion_due_at.is_none())
            })
            .collect()
    }

    /// Who reads a concern about `member` received here: the safeguarding leads other
    /// than the member themselves, or, when there are none, the admins other than them,
    /// so no concern goes unread and nobody reads one about themselves.
    fn readers_of(&self, member: &MemberId) -> Vec<MemberId> {
        let leads: Vec<MemberId> = self.leads().into_iter().filter(|l| l != member).collect();
        if !leads.is_empty() {
            return leads;
        }
        self.store()
            .members()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m.role == Role::Admin && !m.suspended && m.deletion_due_at.is_none())
            .filter_map(|m| self.member_id(&m.username).ok())
            .filter(|m| m != member)
            .collect()
    }

    /// Whether `auth` may read (and acknowledge) the received referral `r`.
    fn may_read(&self, auth: &Auth, r: &ReferralRecord) -> bool {
        !r.sent
            && r.member != auth.member_id
            && self.readers_of(&r.member).contains(&auth.member_id)
    }

    /// Raises a concern (moderators, admins, safeguarding leads).
    pub(crate) async fn refer(
        &self,
        auth: &Auth,
        req: NewReferral,
    ) -> Result<ReferralView, AppError> {
        if auth.member.role < Role::Moderator && !self.is_safeguarding_lead(&auth.member_id) {
            return Err(AppError::forbidden(
                "Only moderators, admins and safeguarding leads can raise a safeguarding concern.",
            ));
        }
        let concern = req.concern.trim().to_owned();
        if concern.is_empty() {
            return Err(AppError::invalid("concern", "Please describe the concern."));
        }
        if concern.len() > MAX_CONCERN_BYTES {
            return Err(AppError::invalid(
                "concern",
                format!("The concern can be at most {MAX_CONCERN_BYTES} bytes."),
            ));
        }
        if req.content.len() > MAX_REFERRAL_CONTENT {
            return Err(AppError::invalid(
                "content",
                format!("A concern can name at most {MAX_REFERRAL_CONTENT} posts or messages."),
            ));
        }
        let since = self.now().as_millis().saturating_sub(DAY_MS);
        let today = self
            .store()
            .referrals()?
            .iter()
            .filter(|(_, r)| r.referrer == auth.member_id && r.at >= since)
            .count();
        if today >= self.config().moderation.referrals_per_node_per_day as usize {
            return Err(AppError::new(
                kindred_protocol::api::ErrorCode::RateLimited,
                "You have raised as many concerns as one person can in a day. If someone is in danger, call the emergency services.",
            ));
        }
        for id in &req.content {
            if self.payload(id)?.is_none_or(|p| p.author != req.member) {
                return Err(AppError::invalid(
                    "content",
                    format!("{id} is not something they wrote that this node holds."),
                ));
            }
        }
        let own = req.member.node_name() == self.config().node.name.as_str();
        let known = if own {
            self.store().member(req.member.localpart())?.is_some()
        } else {
            self.store().profile(&req.member)?.is_some()
        };
        if !known {
            return Err(AppError::not_found("No such person is known here.").on("member"));
        }
        let mut contact = format!(
            "{} ({}) via {}",
            auth.member.display_name,
            self.config().node.organisation,
            self.config().privacy.safeguarding_lead.trim()
        );
        if self.config().privacy.safeguarding_lead.trim().is_empty() {
            contact = format!(
                "{} ({}), through Kindred",
                auth.member.display_name,
                self.config().node.organisation
            );
        }
        contact.truncate(
            (0..=MAX_CONTACT_BYTES.min(contact.len()))
                .rev()
                .find(|i| contact.is_char_boundary(*i))
                .unwrap_or(0),
        );
        let mut record = ReferralRecord {
            sent: !own,
            event: None,
            member: req.member.clone(),
            content: req.content.clone(),
            concern: concern.clone(),
            referrer: auth.member_id.clone(),
            contact: contact.clone(),
            organisation: if own {
                self.config().node.organisation.clone()
            } else {
                self.organisation_of(&req.member)
            },
            at: self.now().as_millis(),
            acknowledged_at: None,
            acknowledged_by: None,
        };
        if !own {
            let home = self
                .home_node(&req.member)?
                .filter(|n| !self.federation().is_blocked(n))
                .ok_or_else(|| {
                    AppError::not_found("Their organisation's node is not reachable from here.")
                })?;
            let (_, event) = self
                .ingest()
                .local(Draft {
                    author: auth.member_id.clone(),
                    reach: Reach::Directed(vec![home]),
                    refs: References::default(),
                    body: EventBody::SafeguardingReferral(SafeguardingReferral {
                        member: req.member.clone(),
                        content: req.content,
                        concern,
                        contact,
                    }),
                    not_before: 0,
                })
                .await?;
            record.event = Some(event.id());
        }
        let id = self.store().add_referral(&record)?;
        let target = ReportTarget::Member(req.member.clone());
        self.audit(
            Some(&auth.member_id),
            if own {
                "referral_received"
            } else {
                "referral_sent"
            },
            &target,
            Some(&req.member),
            "",
        )?;
        if own {
            self.tell_leads(&req.member);
        }
        Ok(self.referral_view(id, record))
    }

    /// A referral another node sent about this node's member: kept for the leads.
    /// Called by the notifier as it reads the arrival log; each is kept once.
    pub(crate) fn receive_referral(
        &self,
        event: &EventId,
        payload: &EventPayload,
        referral: &SafeguardingReferral,
    ) -> Result<(), StoreError> {
        if self
            .store()
            .referrals()?
            .iter()
            .any(|(_, r)| r.event == Some(*event))
        {
            return Ok(());
        }
        let day = self.now().as_millis() / DAY_MS;
        let cap = u64::from(self.config().moderation.referrals_per_node_per_day);
        if self.store().count_remote(b'R', &payload.origin, day)? > cap {
            tracing::warn!(origin = %payload.origin, %event, "too many safeguarding referrals from one node today: dropped");
            return Ok(());
        }
        if self.readers_of(&referral.member).is_empty() {
            tracing::error!(%event, member = %referral.member, "a safeguarding referral arrived, and nobody here can read it: set [moderation] safeguarding_leads");
        }
        let organisation = self
            .store()
            .announcement(&payload.origin)?
            .map(|a| a.organisation)
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| payload.author.node_name().to_owned());
        // Only content this node holds and the member wrote; words without anything that
        // could reorder or hide what the leads read.
        let mut content = Vec::new();
        for id in &referral.content {
            if !content.contains(id)
                && self
                    .payload(id)?
                    .is_some_and(|p| p.author == referral.member)
            {
                content.push(*id);
            }
        }
        let record = ReferralRecord {
            sent: false,
            event: Some(*event),
            member: referral.member.clone(),
            content,
            concern: super::remote_text(&referral.concern, true),
            referrer: payload.author.clone(),
            contact: super::remote_text(&referral.contact, true),
            organisation,
            at: self.now().as_millis(),
            acknowledged_at: None,
            acknowledged_by: None,
        };
        self.store().add_referral(&record)?;
        // The log says that one came, not from whom: it is read by admins, who may
        // include the person concerned's colleagues.
        self.audit(
            None,
            "referral_received",
            &ReportTarget::Member(referral.member.clone()),
            Some(&referral.member),
            "",
        )?;
        self.tell_leads(&referral.member);
        Ok(())
    }

    /// The other node's lead read this node's referral.
    pub(crate) fn referral_acknowledged(
        &self,
        payload: &EventPayload,
        ack: &ReferralAcknowledged,
    ) -> Result<(), StoreError> {
        for (id, r) in self.store().referrals()? {
            if r.sent
                && r.event == Some(ack.referral)
                && r.acknowledged_at.is_none()
                && self
                    .store()
                    .acknowledge_referral(id, &payload.author, self.now().as_millis())?
            {
                self.audit(
                    None,
                    "referral_acknowledged",
                    &ReportTarget::Member(r.member.clone()),
                    Some(&r.member),
                    &format!("by {}", payload.author),
                )?;
                self.tell_moderation(
                    &r.referrer,
                    format!(
                        "{}'s safeguarding lead has read the concern you raised.",
                        r.organisation
                    ),
                    "/admin/safeguarding",
                );
            }
        }
        Ok(())
    }

    /// Referrals `auth` may see: leads see those received and all sent; moderators and
    /// admins who are not leads only those they raised. Newest first.
    pub(crate) fn referrals(&self, auth: &Auth) -> Result<Vec<ReferralView>, AppError> {
        let lead = self.is_safeguarding_lead(&auth.member_id);
        if !lead && auth.member.role < Role::Moderator {
            return Err(AppError::forbidden(
                "Safeguarding referrals are for moderators, admins and safeguarding leads.",
            ));
        }
        // Received: only their readers (never the person concerned); sent: the leads and
        // whoever raised it.
        let mut out: Vec<ReferralView> = self
            .store()
            .referrals()?
            .into_iter()
            .filter(|(_, r)| {
                r.member != auth.member_id
                    && (self.may_read(auth, r) || (r.sent && lead) || r.referrer == auth.member_id)
            })
            .map(|(id, r)| self.referral_view(id, r))
            .collect();
        out.reverse();
        Ok(out)
    }

    /// A lead acknowledges a referral received (once); the referring node is told.
    pub(crate) async fn acknowledge_referral(
        &self,
        auth: &Auth,
        id: u64,
    ) -> Result<ReferralView, AppError> {
        let (_, mut record) = self
            .store()
            .referrals()?
            .into_iter()
            .find(|(n, r)| *n == id && !r.sent)
            .ok_or_else(|| AppError::not_found("No such referral was received here."))?;
        if !self.may_read(auth, &record) {
            return Err(AppError::forbidden(
                "Only this organisation's safeguarding leads acknowledge referrals.",
            ));
        }
        if record.acknowledged_at.is_some() {
            return Ok(self.referral_view(id, record));
        }
        if let Some(event) = record.event
            && let Some(stored) = self.payload(&event)?
        {
            self.ingest()
                .local(Draft {
                    author: auth.member_id.clone(),
                    reach: Reach::Directed(vec![stored.origin]),
                    refs: References::default(),
                    body: EventBody::ReferralAcknowledged(ReferralAcknowledged { referral: event }),
                    not_before: 0,
                })
                .await?;
        }
        let at = self.now().as_millis();
        if !self.store().acknowledge_referral(id, &auth.member_id, at)? {
            // Another lead acknowledged it meanwhile.
            let now = self
                .store()
                .referrals()?
                .into_iter()
                .find(|(n, _)| *n == id)
                .map_or(record, |(_, r)| r);
            return Ok(self.referral_view(id, now));
        }
        record.acknowledged_at = Some(at);
        record.acknowledged_by = Some(auth.member_id.clone());
        self.audit(
            Some(&auth.member_id),
            "referral_acknowledged",
            &ReportTarget::Member(record.member.clone()),
            Some(&record.member),
            "",
        )?;
        Ok(self.referral_view(id, record))
    }

    fn referral_view(&self, id: u64, r: ReferralRecord) -> ReferralView {
        let member_label = self
            .author_labels(&r.member)
            .map(|(n, o)| format!("{n} ({o})"))
            .unwrap_or_else(|_| r.member.to_string());
        ReferralView {
            id,
            sent: r.sent,
            member_label,
            member: r.member,
            content: r.content,
            concern: r.concern,
            referrer: r.referrer,
            contact: r.contact,
            organisation: r.organisation,
            at: Timestamp(r.at),
            acknowledged_at: r.acknowledged_at.map(Timestamp),
            acknowledged_by: r.acknowledged_by,
        }
    }

    /// Tells each reader of a concern about `member` that one is waiting (without its
    /// words).
    fn tell_leads(&self, member: &MemberId) {
        for lead in self.readers_of(member) {
            self.tell_moderation(
                &lead,
                "A safeguarding concern is waiting for you to read.".to_owned(),
                "/admin/safeguarding",
            );
        }
    }
}
