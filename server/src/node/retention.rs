//! Applying the node's retention settings (`[retention]` in the config): chat messages and
//! closed matches' check-ins older than the node keeps them lose their content, on a
//! timer (`housekeeping.rs`). Shown on the privacy page.

use super::Node;
use crate::node::AppError;
use crate::store::Expiry;

/// A month, for retention: 30 days (ms).
const MONTH_MS: u64 = 30 * 24 * 3_600_000;

impl Node {
    /// Expires what the retention settings say is too old; returns how many events.
    pub(crate) async fn apply_retention(&self) -> Result<u64, AppError> {
        let r = &self.config().retention;
        if (r.chat_message_months > 0 || r.closed_match_checkin_months > 0)
            && let Some(why) = self.clock_in_doubt()
        {
            tracing::warn!(%why, "retention waits: this node's clock is in doubt");
            return Ok(0);
        }
        let now = self.now().as_millis();
        let before = |months: u32| {
            (months > 0).then(|| now.saturating_sub(u64::from(months).saturating_mul(MONTH_MS)))
        };
        let expiry = Expiry {
            messages_before: before(r.chat_message_months),
            checkins_before: before(r.closed_match_checkin_months),
        };
        if expiry == Expiry::default() {
            return Ok(0);
        }
        let expired = self.ingest().expire(expiry).await?;
        if expired > 0 {
            tracing::info!(expired, "retention: old messages and check-ins removed");
        }
        Ok(expired)
    }
}
