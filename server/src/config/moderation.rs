//! `[moderation]`: when reports hide content before a moderator looks, and the sanctions
//! ladder. See README "Keeping people safe".

use serde::Deserialize;

/// Thresholds and the suspension ladder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationSection {
    /// Reports from this many different members (a report from another organisation's
    /// node counts once per node) hide a post, reply or message here until a moderator
    /// reviews it. 0 turns hiding by reports off.
    pub hide_after_reports: u32,
    /// Reports about this many different pieces of one member's content within a day
    /// pause their posting until a moderator reviews it. 0 turns pausing off.
    pub pause_after_reports_per_day: u32,
    /// The suspension ladder in days: the first suspension lasts the first number, the
    /// next the second, and so on; one more suspension after the last is permanent.
    pub suspension_days: Vec<u32>,
    /// At most this many reports a day from one other node are filed here (more are
    /// dropped and logged), so a hostile node cannot flood the queue.
    pub remote_reports_per_node_per_day: u32,
    /// At most this many reports a day from one member of this node (more are refused
    /// with `rate_limited`), so one person cannot flood the queue or use up what other
    /// nodes accept from this one.
    pub reports_per_member_per_day: u32,
    /// At most this many safeguarding referrals a day from one other node (more are
    /// dropped and logged), and from one person here.
    pub referrals_per_node_per_day: u32,
    /// This node's designated safeguarding leads, by username: they alone read the
    /// safeguarding concerns other organisations raise about this node's members, and
    /// may raise concerns themselves. Their contact route is `[privacy]
    /// safeguarding_lead`.
    pub safeguarding_leads: Vec<String>,
    /// The community guidelines (Markdown), shown at `/guidelines` and linked from the
    /// footer, the sign-up page and the report form. Empty: a short default.
    pub guidelines: String,
}

impl Default for ModerationSection {
    fn default() -> Self {
        Self {
            hide_after_reports: 3,
            pause_after_reports_per_day: 5,
            suspension_days: vec![14, 30],
            remote_reports_per_node_per_day: 200,
            reports_per_member_per_day: 20,
            referrals_per_node_per_day: 20,
            safeguarding_leads: Vec::new(),
            guidelines: String::new(),
        }
    }
}

impl ModerationSection {
    /// How long the `n`th suspension of a member (from 1) lasts, in days; `None` when it
    /// is permanent.
    pub fn suspension_length(&self, n: u32) -> Option<u32> {
        let i = usize::try_from(n.max(1) - 1).ok()?;
        self.suspension_days.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_ends_in_a_permanent_suspension() {
        let s = ModerationSection::default();
        assert_eq!(s.suspension_length(1), Some(14));
        assert_eq!(s.suspension_length(2), Some(30));
        assert_eq!(s.suspension_length(3), None);
        assert_eq!(s.suspension_length(9), None);
        let none = ModerationSection {
            suspension_days: Vec::new(),
            ..ModerationSection::default()
        };
        assert_eq!(none.suspension_length(1), None);
    }
}
