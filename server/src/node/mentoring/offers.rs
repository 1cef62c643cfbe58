//! Mentor offers, buddy requests and explained suggestions.

use kindred_protocol::api::{
    ErrorCode, MENTORING_TOPICS, OfferView, PublishOffer, RequestView, Suggestion,
};
use kindred_protocol::event::body::mentoring::{BuddyRequest, MentorOffer, OfferStatus};
use kindred_protocol::limits::{
    MAX_BIO_BYTES, MAX_LIST_ITEMS, MAX_NOTE_BYTES, MAX_SHORT_TEXT_BYTES,
};
use kindred_protocol::{EventBody, MemberId, References, Timestamp};

use crate::matching::score::{CRITERIA, OfferContext, RequestContext, score};
use crate::node::AppError;
use crate::node::{Auth, Draft, Node, Reach};
use crate::store::{OfferRecord, RequestRecord};

/// Most buddies one mentor may take at once.
const MAX_CAPACITY: u16 = 20;

/// The request field (its JSON name) a list or text named `what` in messages is sent in.
fn field_of(what: &str) -> &'static str {
    match what {
        "topic" => "topics",
        "other topics" => "other_topics",
        "lived-experience area" => "lived_experience",
        "language" => "languages",
        "region" => "region",
        "bio" => "bio",
        "goals" => "goals",
        _ => "note",
    }
}

fn clean_list(what: &str, items: &[String]) -> Result<Vec<String>, AppError> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let item = item.trim().to_lowercase();
        if item.is_empty() || out.contains(&item) {
            continue;
        }
        if item.len() > MAX_SHORT_TEXT_BYTES {
            return Err(AppError::invalid(
                field_of(what),
                format!("A {what} is at most 100 bytes."),
            ));
        }
        out.push(item);
    }
    if out.len() > MAX_LIST_ITEMS {
        return Err(AppError::invalid(
            field_of(what),
            format!("At most {MAX_LIST_ITEMS} {what}s."),
        ));
    }
    Ok(out)
}

fn check_text(what: &str, text: &str, max: usize) -> Result<String, AppError> {
    let text = text.trim();
    if text.len() > max {
        return Err(AppError::new(
            ErrorCode::TooLarge,
            format!("The {what} is too long (at most {max} bytes)."),
        )
        .on(field_of(what)));
    }
    Ok(text.to_owned())
}

impl Node {
    /// The topics offers and requests use: the shared vocabulary plus this node's own.
    pub(crate) fn vocabulary(&self) -> Vec<String> {
        let mut all: Vec<String> = MENTORING_TOPICS.iter().map(|t| (*t).to_owned()).collect();
        for t in &self.config().mentoring.extra_topics {
            let t = t.trim().to_lowercase();
            if !all.contains(&t) {
                all.push(t);
            }
        }
        all
    }

    /// The name people read for a mentoring topic: as this node's configuration spells it
    /// ("NHS-and-GP access"), or the shared vocabulary's name ("Burnout and wellbeing").
    pub(crate) fn mentoring_topic_name(&self, key: &str) -> String {
        self.config()
            .mentoring
            .extra_topics
            .iter()
            .find(|t| t.trim().to_lowercase() == key)
            .map(|t| t.trim().to_owned())
            .unwrap_or_else(|| kindred_protocol::api::topic_name(key))
    }

    /// Topic keys as people read them, joined with commas ("Funding, Volunteers").
    pub(crate) fn mentoring_topic_names(&self, keys: &[String]) -> String {
        keys.iter()
            .map(|t| self.mentoring_topic_name(t))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn check_topics(&self, topics: &[String]) -> Result<Vec<String>, AppError> {
        let topics = clean_list("topic", topics)?;
        let vocabulary = self.vocabulary();
        if let Some(unknown) = topics.iter().find(|t| !vocabulary.contains(t)) {
            return Err(AppError::invalid(
                "topics",
                format!(
                    "{unknown:?} is not in the topic list ({}); put other topics in your own words instead.",
                    vocabulary.join(", ")
                ),
            ));
        }
        Ok(topics)
    }

    pub(crate) fn offer_view(&self, record: OfferRecord) -> Result<OfferView, AppError> {
        let (mentor_name, organisation) = self.author_labels(&record.mentor)?;
        Ok(OfferView {
            mentor: record.mentor,
            mentor_name,
            organisation,
            offer: record.offer,
            id: record.id,
            updated_at: Timestamp(record.updated_at),
        })
    }

    /// Publishes (or replaces) the member's mentor offer.
    pub(crate) async fn publish_offer(
        &self,
        auth: &Auth,
        req: PublishOffer,
    ) -> Result<OfferView, AppError> {
        if req.capacity == 0 || req.capacity > MAX_CAPACITY {
            return Err(AppError::invalid(
                "capacity",
                format!("Capacity is how many buddies at once: 1 to {MAX_CAPACITY}."),
            ));
        }
        // Published as republishing is (`republish_places`): one at a time, so neither
        // replaces the other's newer offer with one read before it.
        let _places = self.limits().places.lock().await;
        let active = self.store().active_count(&auth.member_id)?;
        let offer = MentorOffer {
            status: OfferStatus::Open,
            topics: self.check_topics(&req.topics)?,
            other_topics: check_text("other topics", &req.other_topics, MAX_NOTE_BYTES)?,
            lived_experience: clean_list("lived-experience area", &req.lived_experience)?,
            languages: clean_list("language", &req.languages)?,
            region: check_text("region", &req.region, MAX_SHORT_TEXT_BYTES)?,
            mode: req.mode,
            availability: req.availability,
            capacity: req.capacity,
            places_left: u16::try_from(u32::from(req.capacity).saturating_sub(active)).unwrap_or(0),
            bio: check_text("bio", &req.bio, MAX_BIO_BYTES)?,
            prefers_other_orgs: req.prefers_other_orgs,
        };
        if offer.topics.is_empty() && offer.other_topics.is_empty() {
            return Err(AppError::invalid(
                "topics",
                "Please say what you can help with.",
            ));
        }
        self.publish_own_offer(auth, offer).await
    }

    /// Pauses, reopens or withdraws the member's offer, everywhere.
    pub(crate) async fn set_offer_status(
        &self,
        auth: &Auth,
        status: OfferStatus,
    ) -> Result<OfferView, AppError> {
        let _places = self.limits().places.lock().await;
        let Some(current) = self.store().offer(&auth.member_id)? else {
            return Err(AppError::not_found("You have not published an offer."));
        };
        let mut offer = current.offer;
        offer.status = status;
        self.publish_own_offer(auth, offer).await
    }

    /// Signs and shares the member's offer, and returns it as now stored.
    async fn publish_own_offer(
        &self,
        auth: &Auth,
        offer: MentorOffer,
    ) -> Result<OfferView, AppError> {
        self.write(
            auth,
            Reach::Shared,
            References::default(),
            EventBody::MentorOffer(offer),
        )
        .await?;
        self.mentoring_caught_up().await?;
        let record = self
            .store()
            .offer(&auth.member_id)?
            .ok_or_else(|| AppError::internal(std::io::Error::other("offer vanished")))?;
        self.offer_view(record)
    }

    /// Republishes a local mentor's offer with their current places left (after a match
    /// starts or ends). Runs in the background.
    pub(crate) fn mentoring_changed(&self, mentor: &MemberId) {
        let node = self.clone();
        let mentor = mentor.clone();
        self.tasks().spawn(async move {
            if let Err(e) = node.republish_places(&mentor).await {
                tracing::error!(error = %e, %mentor, "cannot republish the offer's places");
            }
        });
    }

    pub(crate) async fn republish_places(&self, mentor: &MemberId) -> Result<(), AppError> {
        // The offer read here is the last one the processor applied: one republishing at
        // a time, each waiting until its offer is applied, so the next compares against it.
        let _places = self.limits().places.lock().await;
        let Some(record) = self.store().offer(mentor)? else {
            return Ok(());
        };
        let active = self.store().active_count(mentor)?;
        let places =
            u16::try_from(u32::from(record.offer.capacity).saturating_sub(active)).unwrap_or(0);
        if places == record.offer.places_left {
            return Ok(());
        }
        let mut offer = record.offer;
        offer.places_left = places;
        self.ingest()
            .local(Draft {
                author: mentor.clone(),
                reach: Reach::Shared,
                refs: References::default(),
                body: EventBody::MentorOffer(offer),
                not_before: 0,
            })
            .await?;
        self.mentoring_caught_up().await?;
        Ok(())
    }

    /// Open offers across the federation (blocked nodes' left out).
    pub(crate) async fn offers(&self) -> Result<Vec<OfferView>, AppError> {
        self.mentoring_caught_up().await?;
        let mut out = Vec::new();
        for record in self.store().offers()? {
            if record.offer.status != OfferStatus::Open || self.offer_blocked(&record)? {
                continue;
            }
            out.push(self.offer_view(record)?);
        }
        Ok(out)
    }

    fn offer_blocked(&self, record: &OfferRecord) -> Result<bool, AppError> {
        let origin = self
            .store()
            .event(&record.id)?
            .and_then(|e| e.origin().ok());
        Ok(origin.is_some_and(|o| self.federation().is_blocked(&o)))
    }

    /// Records a request for a mentor or buddy (it stays on this node).
    pub(crate) async fn create_request(
        &self,
        auth: &Auth,
        mut request: BuddyRequest,
    ) -> Result<RequestView, AppError> {
        request.topics = self.check_topics(&request.topics)?;
        request.languages = clean_list("language", &request.languages)?;
        request.goals = check_text("goals", &request.goals, MAX_NOTE_BYTES)?;
        request.region = check_text("region", &request.region, MAX_SHORT_TEXT_BYTES)?;
        if let Some(bad) = request
            .must
            .iter()
            .chain(request.nice_to_have.iter().map(|w| &w.criterion))
            .find(|c| !CRITERIA.contains(&c.as_str()))
        {
            return Err(AppError::bad_request(format!(
                "Unknown criterion {bad:?}; use one of: {}.",
                CRITERIA.join(", ")
            )));
        }
        if request.nice_to_have.iter().any(|w| w.weight > 100) {
            return Err(AppError::bad_request("Weights go from 0 to 100."));
        }
        if request.topics.is_empty() {
            return Err(AppError::invalid(
                "topics",
                "Please choose at least one topic.",
            ));
        }
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes)
            .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
        let record = RequestRecord {
            id: hex::encode(bytes),
            member: auth.member_id.clone(),
            request,
            status: "open".to_owned(),
            created_at: Timestamp::now().as_millis(),
            matched_at: None,
        };
        self.store().put_request(&record)?;
        self.store().durable().await?;
        Ok(request_view(record))
    }

    /// The member's requests, newest first.
    pub(crate) fn my_requests(&self, auth: &Auth) -> Result<Vec<RequestView>, AppError> {
        let mut out: Vec<RequestView> = self
            .store()
            .requests_of(&auth.member_id)?
            .into_iter()
            .map(request_view)
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.created_at));
        Ok(out)
    }

    /// The member's open request (the newest), or a named one of theirs.
    pub(crate) fn own_request(
        &self,
        auth: &Auth,
        id: Option<&str>,
    ) -> Result<RequestRecord, AppError> {
        let found = match id {
            Some(id) => self
                .store()
                .request(id)?
                .filter(|r| r.member == auth.member_id),
            None => {
                let mut open: Vec<RequestRecord> = self
                    .store()
                    .requests_of(&auth.member_id)?
                    .into_iter()
                    .filter(|r| r.status == "open")
                    .collect();
                open.sort_by_key(|r| std::cmp::Reverse(r.created_at));
                open.into_iter().next()
            }
        };
        found.ok_or_else(|| {
            AppError::not_found("No open request found. Ask for a mentor first (buddy request).")
        })
    }

    /// Withdraws one of the member's requests.
    pub(crate) async fn withdraw_request(&self, auth: &Auth, id: &str) -> Result<(), AppError> {
        let r = self.own_request(auth, Some(id))?;
        self.store().update_request(&r.id, |r| {
            r.status = "withdrawn".to_owned();
            Ok::<_, AppError>(())
        })?;
        Ok(self.store().durable().await?)
    }

    /// Scores every known offer against a request and returns the best `limit`, with
    /// reasons. Paused, full, blocked and "must"-failing offers never appear.
    pub(crate) async fn suggestions(
        &self,
        auth: &Auth,
        request: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Suggestion>, AppError> {
        let request = self.own_request(auth, request)?;
        self.mentoring_caught_up().await?;
        self.score_offers(&auth.member_id, &request, limit)
    }

    /// The best `limit` offers for `member`'s `request`, as [`Node::suggestions`] (which
    /// waits for the mentoring processor first).
    pub(crate) fn score_offers(
        &self,
        member: &MemberId,
        request: &crate::store::RequestRecord,
        limit: usize,
    ) -> Result<Vec<Suggestion>, AppError> {
        let own = self.config().node.name.as_str();
        let already: Vec<MemberId> = self
            .store()
            .matches_of(member)?
            .into_iter()
            .filter(|m| {
                matches!(
                    m.status,
                    kindred_protocol::api::MatchStatus::Pending
                        | kindred_protocol::api::MatchStatus::Active
                )
            })
            .map(|m| m.mentor)
            .collect();
        let mut scored = Vec::new();
        for record in self.store().offers()? {
            if record.mentor == *member
                || already.contains(&record.mentor)
                || self.offer_blocked(&record)?
            {
                continue;
            }
            let Some(s) = score(
                &RequestContext {
                    request: &request.request,
                    node: own,
                    topic_names: &self.config().mentoring.extra_topics,
                },
                &OfferContext {
                    offer: &record.offer,
                    node: record.mentor.node_name(),
                },
            ) else {
                continue;
            };
            scored.push((s, record));
        }
        scored.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
        scored.truncate(limit.clamp(1, 50));
        scored
            .into_iter()
            .map(|(s, record)| {
                Ok(Suggestion {
                    offer: self.offer_view(record)?,
                    score: (s.score * 10.0).round() / 10.0,
                    reasons: s.reasons,
                    trade_offs: s.trade_offs,
                })
            })
            .collect()
    }
}

pub(crate) fn request_view(r: RequestRecord) -> RequestView {
    RequestView {
        id: r.id,
        member: r.member,
        status: r.status,
        created_at: Timestamp(r.created_at),
        request: r.request,
    }
}
