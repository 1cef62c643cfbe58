//! `[privacy]` and `[retention]`: what the node's privacy page says, and how long it keeps
//! chat messages and check-ins.

use serde::Deserialize;

/// Who is responsible for members' data (UK GDPR: the data controller), and who to ask.
/// Shown on the privacy page (`/privacy`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySection {
    /// The data controller: the organisation's legal name and address.
    pub controller: String,
    /// How to reach them (or their data protection officer) about data: an email address,
    /// phone number or postal address.
    pub contact: String,
    /// The safeguarding lead: name and how to reach them.
    pub safeguarding_lead: String,
}

/// How long content is kept; 0 keeps it until its author or an admin removes it. Applied
/// every 10 minutes; expired content loses its words on this node (others apply their own).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Chat messages older than this many months (of 30 days) are removed.
    pub chat_message_months: u32,
    /// Check-ins of matches that have closed are removed this many months after they
    /// were written.
    pub closed_match_checkin_months: u32,
}
