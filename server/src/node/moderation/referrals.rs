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

use crate::error::AppError;
use crate::node::ingest::{Draft, Reach};
use crate::node::{Auth, Node};
use crate::store::{ReferralRecord, StoreError};

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
            .collect()
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
            return Err(AppError::bad_request("Please describe the concern."));
        }
        if concern.len() > MAX_CONCERN_BYTES {
            return Err(AppError::bad_request(format!(
                "The concern can be at most {MAX_CONCERN_BYTES} bytes."
            )));
        }
        if req.content.len() > MAX_REFERRAL_CONTENT {
            return Err(AppError::bad_request(format!(
                "A concern can name at most {MAX_REFERRAL_CONTENT} posts or messages."
            )));
        }
        let own = req.member.node_name() == self.config().node.name.as_str();
        let known = if own {
            self.store().member(req.member.localpart())?.is_some()
        } else {
            self.store().profile(&req.member)?.is_some()
        };
        if !known {
            return Err(AppError::not_found("No such person is known here."));
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
            self.tell_leads();
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
        let organisation = self
            .store()
            .announcement(&payload.origin)?
            .map(|a| a.organisation)
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| payload.author.node_name().to_owned());
        let record = ReferralRecord {
            sent: false,
            event: Some(*event),
            member: referral.member.clone(),
            content: referral.content.clone(),
            concern: referral.concern.clone(),
            referrer: payload.author.clone(),
            contact: referral.contact.clone(),
            organisation,
            at: self.now().as_millis(),
            acknowledged_at: None,
            acknowledged_by: None,
        };
        self.store().add_referral(&record)?;
        self.audit(
            None,
            "referral_received",
            &ReportTarget::Member(referral.member.clone()),
            Some(&referral.member),
            &format!("from {}", payload.author),
        )?;
        self.tell_leads();
        Ok(())
    }

    /// The other node's lead read this node's referral.
    pub(crate) fn referral_acknowledged(
        &self,
        payload: &EventPayload,
        ack: &ReferralAcknowledged,
    ) -> Result<(), StoreError> {
        for (id, mut r) in self.store().referrals()? {
            if r.sent && r.event == Some(ack.referral) && r.acknowledged_at.is_none() {
                r.acknowledged_at = Some(self.now().as_millis());
                r.acknowledged_by = Some(payload.author.clone());
                self.store().put_referral(id, &r)?;
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
        let mut out: Vec<ReferralView> = self
            .store()
            .referrals()?
            .into_iter()
            .filter(|(_, r)| lead || (r.sent && r.referrer == auth.member_id))
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
        if !self.is_safeguarding_lead(&auth.member_id) {
            return Err(AppError::forbidden(
                "Only this organisation's safeguarding leads acknowledge referrals.",
            ));
        }
        let (_, mut record) = self
            .store()
            .referrals()?
            .into_iter()
            .find(|(n, r)| *n == id && !r.sent)
            .ok_or_else(|| AppError::not_found("No such referral was received here."))?;
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
        record.acknowledged_at = Some(self.now().as_millis());
        record.acknowledged_by = Some(auth.member_id.clone());
        self.store().put_referral(id, &record)?;
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

    /// Tells each safeguarding lead a concern is waiting (without its words).
    fn tell_leads(&self) {
        for lead in self.leads() {
            self.tell_moderation(
                &lead,
                "A safeguarding concern is waiting for you to read.".to_owned(),
                "/admin/safeguarding",
            );
        }
    }
}
