//! Client calls for notifications, email settings and keeping people safe: reports, the
//! review queue, moderation actions and log, standing and appeals, safeguarding concerns
//! and personal safety settings.

use super::{Client, ClientError};
use kindred_protocol::api::endpoints as ep;
use kindred_protocol::api::*;

impl Client {
    /// The member's notifications, newest first; `before` (a `seq`) for older ones.
    pub async fn notifications(
        &self,
        before: Option<u64>,
    ) -> Result<NotificationList, ClientError> {
        let mut url = self.url_of::<ep::Notifications>(&[])?;
        if let Some(before) = before {
            url.query_pairs_mut()
                .append_pair("before", &before.to_string());
        }
        self.call_at::<ep::Notifications>(url, None).await
    }

    /// Marks notifications up to `up_to` (a `seq`) as seen.
    pub async fn mark_notifications_read(&self, up_to: u64) -> Result<(), ClientError> {
        self.call::<ep::MarkNotificationsRead>(&[], Some(&MarkNotificationsRead { up_to }))
            .await
    }

    /// `POST /api/v1/reports`: reports a post, reply, chat message or person to the
    /// moderators.
    pub async fn report(&self, req: &ReportRequest) -> Result<ReportFiled, ClientError> {
        self.call::<ep::Report>(&[], Some(req)).await
    }

    /// `GET /api/v1/moderation/queue` (moderators and admins).
    pub async fn moderation_queue(&self) -> Result<ModerationQueue, ClientError> {
        self.call::<ep::ModerationQueue>(&[], None).await
    }

    /// `POST /api/v1/moderation/actions` (moderators and admins).
    pub async fn moderate(&self, req: &ModerationRequest) -> Result<ModerationDone, ClientError> {
        self.call::<ep::Moderate>(&[], Some(req)).await
    }

    /// `GET /api/v1/moderation/audit` (admins), newest first.
    pub async fn moderation_audit(&self, before: Option<u64>) -> Result<AuditLog, ClientError> {
        let mut url = self.url_of::<ep::AuditLog>(&[])?;
        if let Some(before) = before {
            url.query_pairs_mut()
                .append_pair("before", &before.to_string());
        }
        self.call_at::<ep::AuditLog>(url, None).await
    }

    /// `GET /api/v1/moderation/audit.csv` (admins): the whole log as CSV.
    pub async fn moderation_audit_csv(&self) -> Result<String, ClientError> {
        let bytes = self.download::<ep::AuditCsv>(&[]).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `GET /api/v1/me/standing`: the member's warnings, pause or suspension.
    pub async fn standing(&self) -> Result<Standing, ClientError> {
        self.call::<ep::Standing>(&[], None).await
    }

    /// `POST /api/v1/safeguarding/referrals`: raise a safeguarding concern.
    pub async fn refer(&self, req: &NewReferral) -> Result<ReferralView, ClientError> {
        self.call::<ep::Refer>(&[], Some(req)).await
    }

    /// `GET /api/v1/safeguarding/referrals`.
    pub async fn referrals(&self) -> Result<Vec<ReferralView>, ClientError> {
        self.call::<ep::Referrals>(&[], None).await
    }

    /// `POST /api/v1/safeguarding/referrals/{id}/acknowledge` (safeguarding leads).
    pub async fn acknowledge_referral(&self, id: u64) -> Result<ReferralView, ClientError> {
        self.call::<ep::AcknowledgeReferral>(&[&id.to_string()], None)
            .await
    }

    /// `GET /api/v1/me/safety`: muted words and topics, and a break.
    pub async fn safety(&self) -> Result<SafetySettings, ClientError> {
        self.call::<ep::Safety>(&[], None).await
    }

    /// `PUT /api/v1/me/safety`.
    pub async fn update_safety(&self, req: &UpdateSafety) -> Result<SafetySettings, ClientError> {
        self.call::<ep::UpdateSafety>(&[], Some(req)).await
    }

    /// `POST /api/v1/me/appeal`: asks for the latest decision to be reviewed (once).
    pub async fn appeal(&self, note: &str) -> Result<(), ClientError> {
        self.call::<ep::Appeal>(
            &[],
            Some(&AppealRequest {
                note: note.to_owned(),
            }),
        )
        .await
    }

    /// `POST /api/v1/appeal`: a suspended member's appeal, with their credentials.
    pub async fn appeal_signed_out(&self, req: &SignedOutAppeal) -> Result<(), ClientError> {
        self.call::<ep::AppealSignedOut>(&[], Some(req)).await
    }

    /// The member's email address and choices.
    pub async fn email_settings(&self) -> Result<EmailSettings, ClientError> {
        self.call::<ep::EmailSettings>(&[], None).await
    }

    /// Changes the member's email settings (a new address is sent a confirmation link).
    pub async fn update_email_settings(
        &self,
        req: &UpdateEmailSettings,
    ) -> Result<EmailSettings, ClientError> {
        self.call::<ep::UpdateEmailSettings>(&[], Some(req)).await
    }
}
