//! Client calls for mentoring and buddying: offers, requests, suggestions, proposals,
//! matches, agreements, check-ins, cohort rounds and the coordinators' counts.

use super::{Client, ClientError};
use kindred_protocol::EventId;
use kindred_protocol::api::endpoints as ep;
use kindred_protocol::api::*;

impl Client {
    /// `GET /api/v1/mentoring/dashboard.csv`: the coordinator's counts as CSV (coordinators).
    pub async fn dashboard_csv(&self) -> Result<String, ClientError> {
        let bytes = self.download::<ep::DashboardCsv>(&[]).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The mentoring topic vocabulary.
    pub async fn mentoring_topics(&self) -> Result<Vec<String>, ClientError> {
        self.call::<ep::MentoringTopics>(&[], None).await
    }

    /// Open mentor offers across the federation.
    pub async fn offers(&self) -> Result<Vec<OfferView>, ClientError> {
        self.call::<ep::Offers>(&[], None).await
    }

    /// Publishes or updates the member's mentor offer.
    pub async fn publish_offer(&self, req: &PublishOffer) -> Result<OfferView, ClientError> {
        self.call::<ep::PublishOffer>(&[], Some(req)).await
    }

    /// `pause`, `resume` or `withdraw` the member's offer.
    pub async fn offer_action(&self, action: &str) -> Result<OfferView, ClientError> {
        self.call::<ep::OfferStatus>(&[action], None).await
    }

    /// Asks for a mentor or buddy (the request stays on the member's node).
    pub async fn create_request(
        &self,
        req: &kindred_protocol::event::body::mentoring::BuddyRequest,
    ) -> Result<RequestView, ClientError> {
        self.call::<ep::CreateRequest>(&[], Some(req)).await
    }

    /// The member's requests.
    pub async fn requests(&self) -> Result<Vec<RequestView>, ClientError> {
        self.call::<ep::BuddyRequests>(&[], None).await
    }

    /// Withdraws one of the member's own requests (`DELETE /api/v1/mentoring/requests/{id}`).
    pub async fn withdraw_request(&self, id: &str) -> Result<(), ClientError> {
        self.call::<ep::WithdrawRequest>(&[id], None).await
    }

    /// Ranked, explained suggestions for the member's open request.
    pub async fn suggestions(&self, limit: Option<usize>) -> Result<Vec<Suggestion>, ClientError> {
        let mut url = self.url_of::<ep::Suggestions>(&[])?;
        if let Some(l) = limit {
            url.query_pairs_mut().append_pair("limit", &l.to_string());
        }
        self.call_at::<ep::Suggestions>(url, None).await
    }

    /// Sends a proposal to a mentor.
    pub async fn propose(&self, req: &Propose) -> Result<MatchView, ClientError> {
        self.call::<ep::Propose>(&[], Some(req)).await
    }

    /// The member's proposals and matches.
    pub async fn matches(&self) -> Result<Vec<MatchView>, ClientError> {
        self.call::<ep::Matches>(&[], None).await
    }

    /// One proposal or match.
    pub async fn get_match(&self, id: &EventId) -> Result<MatchView, ClientError> {
        self.call::<ep::Match>(&[&id.to_hex()], None).await
    }

    /// The mentor accepts or declines.
    pub async fn answer(
        &self,
        id: &EventId,
        accept: bool,
        message: Option<String>,
    ) -> Result<MatchView, ClientError> {
        let req = AnswerProposal { accept, message };
        self.call::<ep::AnswerProposal>(&[&id.to_hex()], Some(&req))
            .await
    }

    /// The buddy takes back a proposal still waiting for an answer.
    pub async fn withdraw_proposal(&self, id: &EventId) -> Result<(), ClientError> {
        self.call::<ep::WithdrawProposal>(&[&id.to_hex()], None)
            .await
    }

    /// A check-in on a match.
    pub async fn check_in(&self, id: &EventId, req: &NewCheckIn) -> Result<MatchView, ClientError> {
        self.call::<ep::CheckIn>(&[&id.to_hex()], Some(req)).await
    }

    /// Sets the match's agreement.
    pub async fn agree(
        &self,
        id: &EventId,
        req: &kindred_protocol::event::body::mentoring::Agreement,
    ) -> Result<MatchView, ClientError> {
        self.call::<ep::ProposeAgreement>(&[&id.to_hex()], Some(req))
            .await
    }

    /// Confirms the agreement the other person proposed (`agreement` is
    /// `MatchView::agreement_status.id` as read). Errors: `conflict` when it changed since.
    pub async fn confirm_agreement(
        &self,
        id: &EventId,
        agreement: &EventId,
    ) -> Result<MatchView, ClientError> {
        self.call::<ep::ConfirmAgreement>(
            &[&id.to_hex()],
            Some(&kindred_protocol::api::ConfirmAgreement {
                agreement: *agreement,
            }),
        )
        .await
    }

    /// Records your own private reflection on a match that ended.
    pub async fn reflect(
        &self,
        id: &EventId,
        req: &kindred_protocol::event::body::mentoring::Closing,
    ) -> Result<MatchView, ClientError> {
        self.call::<ep::Reflect>(&[&id.to_hex()], Some(req)).await
    }

    /// Closes a match.
    pub async fn close_match(
        &self,
        id: &EventId,
        req: &kindred_protocol::event::body::mentoring::Closing,
    ) -> Result<MatchView, ClientError> {
        self.call::<ep::CloseMatch>(&[&id.to_hex()], Some(req))
            .await
    }

    /// Runs a cohort round (coordinators).
    pub async fn run_round(&self) -> Result<CohortRound, ClientError> {
        self.call::<ep::RunRound>(&[], None).await
    }

    /// A cohort round.
    pub async fn round(&self, id: &str) -> Result<CohortRound, ClientError> {
        self.call::<ep::Round>(&[id], None).await
    }

    /// Adjusts a draft round.
    pub async fn edit_round(&self, id: &str, req: &EditRound) -> Result<CohortRound, ClientError> {
        self.call::<ep::EditRound>(&[id], Some(req)).await
    }

    /// Sends a round's pairs as proposals.
    pub async fn send_round(&self, id: &str) -> Result<CohortRound, ClientError> {
        self.call::<ep::SendRound>(&[id], None).await
    }

    /// The coordinator dashboard.
    pub async fn dashboard(&self) -> Result<Dashboard, ClientError> {
        self.call::<ep::Dashboard>(&[], None).await
    }
}
