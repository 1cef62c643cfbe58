//! Cohort rounds (coordinators pair many buddies with many mentors at once, optimally) and
//! the coordinator dashboard (counts only, never content).

use std::collections::BTreeMap;

use kindred_protocol::api::{
    CohortPair, CohortRound, Dashboard, EditRound, ErrorCode, MatchStatus, Propose, Role,
    WeekCounts, closing_reason_count_key,
};
use kindred_protocol::event::body::mentoring::{Fit, OfferStatus};
use kindred_protocol::{MemberId, Timestamp};

use crate::matching::assign::{Scores, assign, total};
use crate::matching::score::{OfferContext, RequestContext, score};
use crate::node::AppError;
use crate::node::{Auth, Node};
use crate::store::{MatchRecord, OfferRecord, RequestRecord, RoundRecord};

/// A pair's score and its reasons.
type Explained = (f64, Vec<String>);

impl Node {
    /// Open offers usable in a round (not blocked, open, with places).
    fn round_offers(&self) -> Result<Vec<OfferRecord>, AppError> {
        let mut out = Vec::new();
        for o in self.store().offers()? {
            let origin = self.store().event(&o.id)?.and_then(|e| e.origin().ok());
            if origin.is_some_and(|n| self.federation().is_blocked(&n)) {
                continue;
            }
            out.push(o);
        }
        Ok(out)
    }

    /// Runs a round over this organisation's open requests and every known offer, and
    /// keeps it as a draft for the coordinator to review.
    pub(crate) async fn run_round(&self, auth: &Auth) -> Result<CohortRound, AppError> {
        auth.require(Role::Moderator)?;
        self.mentoring_caught_up().await?;
        let own = self.config().node.name.clone();
        let requests: Vec<_> = self
            .store()
            .requests()?
            .into_iter()
            .filter(|r| r.status == "open")
            .collect();
        let offers = self.round_offers()?;
        // A buddy is never paired again with a mentor they are waiting on or matched with.
        let asked: std::collections::HashSet<(MemberId, MemberId)> = self
            .store()
            .matches()?
            .into_iter()
            .filter(|m| matches!(m.status, MatchStatus::Pending | MatchStatus::Active))
            .map(|m| (m.buddy, m.mentor))
            .collect();
        let contexts: Vec<Vec<Option<Explained>>> = requests
            .iter()
            .map(|r| {
                offers
                    .iter()
                    .map(|o| {
                        if o.mentor == r.member
                            || asked.contains(&(r.member.clone(), o.mentor.clone()))
                        {
                            return None;
                        }
                        score(
                            &RequestContext {
                                request: &r.request,
                                node: own.as_str(),
                                topic_names: &self.config().mentoring.extra_topics,
                            },
                            &OfferContext {
                                offer: &o.offer,
                                node: o.mentor.node_name(),
                            },
                        )
                        .map(|s| (s.score, s.reasons))
                    })
                    .collect()
            })
            .collect();
        let scores: Scores = contexts
            .iter()
            .map(|row| row.iter().map(|c| c.as_ref().map(|(s, _)| *s)).collect())
            .collect();
        let places: Vec<u32> = offers
            .iter()
            .map(|o| u32::from(o.offer.places_left))
            .collect();
        let assignment = assign(&scores, &places);
        let mut pairs = Vec::new();
        let mut unmatched = Vec::new();
        for (i, a) in assignment.iter().enumerate() {
            match a.and_then(|j| contexts[i][j].clone().map(|c| (j, c))) {
                Some((j, (s, reasons))) => pairs.push(CohortPair {
                    request: requests[i].id.clone(),
                    buddy: requests[i].member.clone(),
                    mentor: offers[j].mentor.clone(),
                    mentor_name: self.author_labels(&offers[j].mentor)?.0,
                    score: (s * 10.0).round() / 10.0,
                    reasons,
                    not_sent: None,
                }),
                None => unmatched.push(requests[i].id.clone()),
            }
        }
        let mut id = [0u8; 6];
        getrandom::fill(&mut id)
            .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
        let round = CohortRound {
            id: hex::encode(id),
            status: "draft".to_owned(),
            created_at: Timestamp::now(),
            total_score: (total(&scores, &assignment) * 10.0).round() / 10.0,
            pairs,
            unmatched,
        };
        self.store().put_round(&RoundRecord {
            round: round.clone(),
            created_by: auth.member_id.clone(),
        })?;
        self.store().durable().await?;
        tracing::info!(by = %auth.member_id, pairs = round.pairs.len(), "cohort round run");
        Ok(round)
    }

    /// A round, for review.
    pub(crate) fn get_round(&self, auth: &Auth, id: &str) -> Result<CohortRound, AppError> {
        auth.require(Role::Moderator)?;
        Ok(self
            .store()
            .round(id)?
            .ok_or_else(|| AppError::not_found("No such cohort round."))?
            .round)
    }

    /// Drops pairs, or gives a request a different mentor (with that pair's reasons).
    pub(crate) async fn edit_round(
        &self,
        auth: &Auth,
        id: &str,
        edit: EditRound,
    ) -> Result<CohortRound, AppError> {
        auth.require(Role::Moderator)?;
        let _one_at_a_time = self.limits().rounds.lock().await;
        let mut record = self
            .store()
            .round(id)?
            .ok_or_else(|| AppError::not_found("No such cohort round."))?;
        if record.round.status != "draft" {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "That round has been sent already.",
            ));
        }
        let round = &mut record.round;
        round.pairs.retain(|p| !edit.drop.contains(&p.request));
        for (request_id, mentor) in edit.reassign {
            let request = self
                .store()
                .request(&request_id)?
                .ok_or_else(|| AppError::not_found(format!("No request {request_id}.")))?;
            if request.status != "open" {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    format!(
                        "{}'s request is no longer open.",
                        self.author_labels(&request.member)?.0
                    ),
                ));
            }
            if self.waiting_on(&request.member, &mentor)? {
                return Err(AppError::new(
                    ErrorCode::Conflict,
                    format!(
                        "{} is already waiting on or matched with {}.",
                        self.author_labels(&request.member)?.0,
                        self.author_labels(&mentor)?.0
                    ),
                ));
            }
            let offer = self
                .store()
                .offer(&mentor)?
                .ok_or_else(|| AppError::not_found(format!("{mentor} has no offer.")))?;
            let scored = score(
                &RequestContext {
                    request: &request.request,
                    node: self.config().node.name.as_str(),
                    topic_names: &self.config().mentoring.extra_topics,
                },
                &OfferContext {
                    offer: &offer.offer,
                    node: mentor.node_name(),
                },
            )
            .ok_or_else(|| {
                AppError::bad_request(format!(
                    "{mentor} cannot be suggested for that request (full, paused, or a \"must\" fails)."
                ))
            })?;
            round.pairs.retain(|p| p.request != request_id);
            round.pairs.push(CohortPair {
                request: request_id.clone(),
                buddy: request.member,
                mentor: mentor.clone(),
                mentor_name: self.author_labels(&mentor)?.0,
                score: (scored.score * 10.0).round() / 10.0,
                reasons: scored.reasons,
                not_sent: None,
            });
            round.unmatched.retain(|r| *r != request_id);
        }
        let mut load: BTreeMap<MemberId, u32> = BTreeMap::new();
        for p in &round.pairs {
            *load.entry(p.mentor.clone()).or_default() += 1;
        }
        for (mentor, n) in load {
            let places = self
                .store()
                .offer(&mentor)?
                .map(|o| o.offer.places_left)
                .unwrap_or(0);
            if n > u32::from(places) {
                return Err(AppError::bad_request(format!(
                    "{mentor} has {places} places but would get {n} buddies."
                )));
            }
        }
        round.total_score = round.pairs.iter().map(|p| p.score).sum();
        self.store().put_round(&record)?;
        self.store().durable().await?;
        Ok(record.round)
    }

    /// Sends every pair of a draft round as a proposal from the buddy; a pair that cannot
    /// be sent any more is marked with why (`CohortPair::not_sent`), the others still go.
    pub(crate) async fn send_round(&self, auth: &Auth, id: &str) -> Result<CohortRound, AppError> {
        auth.require(Role::Moderator)?;
        let _one_at_a_time = self.limits().rounds.lock().await;
        let mut record = self
            .store()
            .round(id)?
            .ok_or_else(|| AppError::not_found("No such cohort round."))?;
        if record.round.status != "draft" {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "That round has been sent already.",
            ));
        }
        let org = self.config().node.organisation.clone();
        self.mentoring_caught_up().await?;
        for pair in &mut record.round.pairs {
            if let Some(why) = self.unsendable(pair)? {
                pair.not_sent = Some(why.to_owned());
                continue;
            }
            let Some(member) = self.store().member(pair.buddy.localpart())? else {
                pair.not_sent = Some("Their account is gone.".to_owned());
                continue;
            };
            let buddy = crate::node::Auth {
                member_id: pair.buddy.clone(),
                member,
                session_hash: auth.session_hash,
                expires_at: auth.expires_at,
            };
            let sent = self
                .propose(
                    &buddy,
                    Propose {
                        mentor: pair.mentor.clone(),
                        note: format!("Suggested for you in {org}'s mentoring round."),
                        request: Some(pair.request.clone()),
                    },
                )
                .await;
            if let Err(e) = sent {
                tracing::warn!(error = %e, buddy = %pair.buddy, mentor = %pair.mentor, "round proposal not sent");
                pair.not_sent = Some(match e {
                    AppError::Refused { message, .. } => message,
                    AppError::Internal(_) => {
                        "It could not be sent just now: run a new round to try again.".to_owned()
                    }
                });
            }
        }
        record.round.status = "sent".to_owned();
        self.store().put_round(&record)?;
        self.store().durable().await?;
        Ok(record.round)
    }

    /// Why a pair of a round can no longer be proposed, in the coordinator's words: what
    /// changed since the round was run. `None` when it can.
    fn unsendable(&self, pair: &CohortPair) -> Result<Option<&'static str>, AppError> {
        let why = match self.store().request(&pair.request)? {
            None => Some("Their request is gone."),
            Some(r) if r.status == "withdrawn" => Some("They withdrew their request."),
            Some(r) if r.status != "open" => Some("They have a mentor already."),
            Some(_) => match self.store().offer(&pair.mentor)? {
                None => Some("The mentor's offer is gone."),
                Some(o) if o.offer.status != OfferStatus::Open => {
                    Some("The mentor paused or withdrew their offer.")
                }
                Some(o) if o.offer.places_left == 0 => Some("The mentor has no place left."),
                Some(_) if self.waiting_on(&pair.buddy, &pair.mentor)? => {
                    Some("They are already waiting on or matched with this mentor.")
                }
                Some(_) => None,
            },
        };
        Ok(why)
    }

    /// Counts for this organisation's coordinators. Never the content of conversations,
    /// notes or goals.
    pub(crate) async fn dashboard(&self, auth: &Auth) -> Result<Dashboard, AppError> {
        auth.require(Role::Moderator)?;
        self.mentoring_caught_up().await?;
        let own = self.config().node.name.clone();
        let ours = |m: &MemberId| m.node_name() == own.as_str();
        let requests = self.store().requests()?;
        let open_requests = requests.iter().filter(|r| r.status == "open").count() as u64;
        let mut pending = 0;
        let mut active = 0;
        let mut at_risk = 0;
        let mut checkin_overdue = 0;
        let mut closed: BTreeMap<String, u64> = BTreeMap::new();
        let mut fit = [0u64; 3];
        let now = self.now().as_millis();
        let matches: Vec<MatchRecord> = self
            .store()
            .matches()?
            .into_iter()
            .filter(|m| ours(&m.buddy) || ours(&m.mentor))
            .collect();
        for m in &matches {
            for c in m.checkins.iter().filter(|c| ours(&c.by)) {
                match c.fit {
                    Some(Fit::Good) => fit[0] += 1,
                    Some(Fit::Deciding) => fit[1] += 1,
                    Some(Fit::NotGood) => fit[2] += 1,
                    None => {}
                }
            }
            match m.status {
                MatchStatus::Pending => pending += 1,
                MatchStatus::Active => {
                    active += 1;
                    let rhythm = m
                        .confirmed
                        .as_ref()
                        .map(|c| u64::from(c.terms.rhythm_days))
                        .unwrap_or(14);
                    let last = m
                        .checkins
                        .iter()
                        .map(|c| c.at)
                        .max()
                        .or(m.answered_at)
                        .unwrap_or(m.created_at);
                    let quiet = now
                        > crate::calendar::days_later(
                            last,
                            2 * u32::try_from(rhythm).unwrap_or(u32::MAX / 2),
                            &self.organisation_zone(),
                        );
                    let overdue = now
                        > crate::calendar::days_later(
                            last,
                            u32::try_from(rhythm).unwrap_or(u32::MAX),
                            &self.organisation_zone(),
                        );
                    if overdue {
                        checkin_overdue += 1;
                    }
                    let unhappy = m.checkins.iter().any(|c| c.fit == Some(Fit::NotGood));
                    if quiet || unhappy {
                        at_risk += 1;
                    }
                }
                MatchStatus::Closed => {
                    // Each of this organisation's people in the match says why, privately;
                    // older matches kept the closer's reason on the match itself. Only the
                    // reasons from the list are counted by name: typed text is "other".
                    let mut reasons: Vec<String> = m
                        .reflections
                        .iter()
                        .filter(|r| ours(&r.by))
                        .map(|r| closing_reason_count_key(&r.reason))
                        .collect();
                    if reasons.is_empty() {
                        reasons.push(
                            m.closing
                                .as_ref()
                                .filter(|c| !c.reason.trim().is_empty())
                                .map(|c| closing_reason_count_key(&c.reason))
                                .unwrap_or_else(|| "no reason given yet".to_owned()),
                        );
                    }
                    for reason in reasons {
                        *closed.entry(reason).or_default() += 1;
                    }
                }
                _ => {}
            }
        }
        let weeks = weekly(&requests, &matches, now, &self.organisation_zone());
        let times: Vec<f64> = requests
            .iter()
            .filter_map(|r| {
                r.matched_at
                    .map(|m| m.saturating_sub(r.created_at) as f64 / 86_400_000.0)
            })
            .collect();
        let average_days_to_match =
            (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64);
        Ok(Dashboard {
            open_requests,
            pending_proposals: pending,
            active_matches: active,
            at_risk,
            checkin_overdue,
            closed: closed.into_iter().collect(),
            fit,
            average_days_to_match,
            weeks,
        })
    }
}

/// Weeks shown on the dashboard's chart.
const DASHBOARD_WEEKS: usize = 12;

/// Requests, starts and closures per week (Monday to Sunday in `tz`) for the last
/// [`DASHBOARD_WEEKS`] weeks.
fn weekly(
    requests: &[RequestRecord],
    matches: &[MatchRecord],
    now: u64,
    tz: &jiff::tz::TimeZone,
) -> Vec<WeekCounts> {
    // Week starts, oldest first; a week across a clock change is 167 or 169 hours.
    let mut starts = vec![crate::calendar::week_start(now, tz)];
    while starts.len() < DASHBOARD_WEEKS {
        let previous = crate::calendar::week_start(starts[0].saturating_sub(1), tz);
        starts.insert(0, previous);
    }
    let mut weeks: Vec<WeekCounts> = starts
        .iter()
        .map(|s| WeekCounts {
            starts_at: Timestamp(*s),
            requests: 0,
            matches: 0,
            closures: 0,
        })
        .collect();
    let first = starts[0];
    let slot = |at: u64| -> Option<usize> {
        if at < first || at > now {
            return None;
        }
        starts.iter().rposition(|s| *s <= at)
    };
    for r in requests {
        if let Some(i) = slot(r.created_at) {
            weeks[i].requests += 1;
        }
    }
    for m in matches {
        let started = matches!(m.status, MatchStatus::Active | MatchStatus::Closed);
        if let (true, Some(at)) = (started, m.answered_at)
            && let Some(i) = slot(at)
        {
            weeks[i].matches += 1;
        }
        if let Some(i) = m.closed_at.and_then(slot) {
            weeks[i].closures += 1;
        }
    }
    weeks
}
