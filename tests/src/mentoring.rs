//! Mentoring fixtures shared by the end-to-end suites: an offer, a buddy request, the
//! suggestion for a given mentor, and a buddy's proposal reaching the mentor.

use kindred_client::Client;
use kindred_protocol::api::{Propose, PublishOffer, Suggestion};
use kindred_protocol::event::body::mentoring::{Availability, BuddyRequest, Mode, Weighted};
use kindred_protocol::{EventId, MemberId};

/// A mentor's offer on `topics` in `languages` with `capacity` places (online, Highlands).
pub fn offer(topics: &[&str], languages: &[&str], capacity: u16) -> PublishOffer {
    PublishOffer {
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        other_topics: String::new(),
        lived_experience: vec![],
        languages: languages.iter().map(|t| (*t).to_owned()).collect(),
        region: "Highlands".into(),
        mode: Mode::Online,
        availability: Availability {
            hours_per_month: 4,
            days: 0b0000_0011,
        },
        capacity,
        bio: "Twenty years of community fundraising".into(),
        prefers_other_orgs: true,
    }
}

/// A buddy's request on `topics` in `languages`, with `must` as hard criteria (language
/// also weighted as nice to have).
pub fn request(topics: &[&str], languages: &[&str], must: &[&str]) -> BuddyRequest {
    BuddyRequest {
        topics: topics.iter().map(|t| (*t).to_owned()).collect(),
        goals: "Write our first lottery bid".into(),
        languages: languages.iter().map(|t| (*t).to_owned()).collect(),
        region: "Glasgow".into(),
        mode: Mode::Either,
        availability: Availability {
            hours_per_month: 2,
            days: 0b0000_0001,
        },
        must: must.iter().map(|t| (*t).to_owned()).collect(),
        nice_to_have: vec![Weighted {
            criterion: "language".into(),
            weight: 50,
        }],
        wants_other_org: true,
    }
}

/// The suggestion of `mentor`'s offer among `client`'s first ten, if there is one.
pub async fn suggested(client: &Client, mentor: &MemberId) -> Option<Suggestion> {
    client
        .suggestions(Some(10))
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.offer.mentor == *mentor)
}

/// `buddy` asks for a mentor on funding in English (the topic and language of
/// `offer(&["funding"], &["english"], _)`), waits until `mentor`'s offer is suggested and
/// proposes to it. The proposal's id.
pub async fn ask_and_propose(buddy: &Client, mentor: &MemberId) -> EventId {
    buddy
        .create_request(&request(&["funding"], &["english"], &[]))
        .await
        .unwrap();
    crate::eventually(20, || suggested(buddy, mentor)).await;
    buddy
        .propose(&Propose {
            mentor: mentor.clone(),
            note: String::new(),
            request: None,
        })
        .await
        .unwrap()
        .id
}

/// Waits until `mentor` holds `n` proposals or matches.
pub async fn proposals_reached(mentor: &Client, n: usize) {
    crate::eventually(20, || async {
        (mentor.matches().await.unwrap().len() == n).then_some(())
    })
    .await;
}
