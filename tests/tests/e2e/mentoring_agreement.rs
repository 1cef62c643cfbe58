//! What a matched pair agree and say, across two organisations' nodes: the mentor sees
//! what the request asked for, an agreement is one person's proposal until the other
//! confirms it (kept as written), the first-meeting fit is private unless shared, and
//! each person reflects privately on how a match ended (issue 23, items 1, 2, 5 and 6).
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::MemberId;
use kindred_protocol::api::*;
use kindred_protocol::event::body::mentoring::{
    Agreement, Availability, BuddyRequest, Closing, Fit, Mode, Weighted,
};
use kindred_tests::{TestNode, eventually, pair};

fn offer() -> PublishOffer {
    PublishOffer {
        topics: vec!["funding".into(), "volunteers".into()],
        other_topics: String::new(),
        lived_experience: vec![],
        languages: vec!["English".into(), "Welsh".into()],
        region: "Powys".into(),
        mode: Mode::Online,
        availability: Availability {
            hours_per_month: 4,
            days: 0b0000_0011,
        },
        capacity: 2,
        bio: "Grants officer for a decade".into(),
        prefers_other_orgs: true,
    }
}

fn request() -> BuddyRequest {
    BuddyRequest {
        topics: vec!["funding".into()],
        goals: "A secret goal that stays home".into(),
        languages: vec!["Welsh".into()],
        region: "Cardiff".into(),
        mode: Mode::Either,
        availability: Availability {
            hours_per_month: 2,
            days: 0b0000_0001,
        },
        must: vec![],
        nice_to_have: vec![Weighted {
            criterion: "language".into(),
            weight: 50,
        }],
        wants_other_org: true,
    }
}

fn agreement(goals: &str) -> Agreement {
    Agreement {
        goals: goals.into(),
        rhythm_days: 14,
        ends_at: 0,
    }
}

async fn checked_in(client: &Client, id: &kindred_protocol::EventId, n: usize) -> MatchView {
    eventually(20, || async {
        let m = client.get_match(id).await.unwrap();
        (m.checkins.len() == n).then_some(m)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pair_agrees_in_both_words_and_keeps_what_is_private_private() {
    let mut a = TestNode::named("a.test").await;
    let mut c = TestNode::named("c.test").await;
    let (admin_a, admin_c) = (a.admin().await, c.admin().await);
    pair(&admin_a, &admin_c).await;
    let mentor = a.member(&admin_a, "meg").await;
    let buddy = c.member(&admin_c, "cai").await;
    let mentor_id = MemberId::parse("@meg:a.test").unwrap();
    let buddy_id = MemberId::parse("@cai:c.test").unwrap();
    mentor.publish_offer(&offer()).await.unwrap();
    buddy.create_request(&request()).await.unwrap();
    eventually(20, || async {
        let s = buddy.suggestions(Some(10)).await.unwrap();
        s.into_iter().find(|s| s.offer.mentor == mentor_id)
    })
    .await;

    // Item 5: no note, yet the mentor sees what was asked for (never the goals or region).
    let proposal = buddy
        .propose(&Propose {
            mentor: mentor_id.clone(),
            note: String::new(),
            request: None,
        })
        .await
        .unwrap();
    let waiting = eventually(20, || async { mentor.get_match(&proposal.id).await.ok() }).await;
    // Nothing to agree before the mentor says yes, and the answer says so.
    let early = buddy
        .agree(&proposal.id, &agreement("Too soon"))
        .await
        .unwrap_err();
    assert!(
        early.to_string().contains("not been answered yet"),
        "{early}"
    );
    let asked = waiting.asked.expect("what the request asked for");
    assert_eq!(asked.topics, vec!["funding".to_owned()]);
    assert_eq!(asked.languages.len(), 1);
    assert!(asked.languages[0].eq_ignore_ascii_case("Welsh"));
    assert_eq!(asked.mode, Mode::Either);
    mentor.answer(&proposal.id, true, None).await.unwrap();
    eventually(20, || async {
        let m = buddy.get_match(&proposal.id).await.unwrap();
        (m.status == MatchStatus::Active).then_some(())
    })
    .await;

    // Item 1: the buddy proposes, with line breaks; it is a proposal on both sides.
    let goals = "1. Draft the bid\n2. Find a second funder";
    let proposed = buddy.agree(&proposal.id, &agreement(goals)).await.unwrap();
    let status = proposed.proposal_status.clone().unwrap();
    assert_eq!(status.proposed_by.as_ref(), Some(&buddy_id));
    assert_eq!(status.confirmed_by, None);
    assert_eq!(proposed.agreement, None, "nothing agreed yet");
    let first = status.id.unwrap();
    let seen = eventually(20, || async {
        let m = mentor.get_match(&proposal.id).await.unwrap();
        (m.proposal_status.as_ref()?.id == Some(first)).then_some(m)
    })
    .await;
    assert_eq!(
        seen.proposed_agreement.unwrap().goals,
        goals,
        "kept as written"
    );
    // Nobody confirms their own proposal.
    let e = buddy
        .confirm_agreement(&proposal.id, &first)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));
    // The buddy changes it while the mentor reads the first: confirming what was read
    // no longer confirms anything.
    let changed = buddy
        .agree(
            &proposal.id,
            &agreement("1. Draft the bid\n2. Find two funders"),
        )
        .await
        .unwrap();
    let second = changed.proposal_status.unwrap().id.unwrap();
    eventually(20, || async {
        let m = mentor.get_match(&proposal.id).await.unwrap();
        (m.proposal_status.as_ref()?.id == Some(second)).then_some(())
    })
    .await;
    let e = mentor
        .confirm_agreement(&proposal.id, &first)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Conflict));
    let confirmed = mentor
        .confirm_agreement(&proposal.id, &second)
        .await
        .unwrap();
    let st = confirmed.agreement_status.unwrap();
    assert_eq!(st.confirmed_by.as_ref(), Some(&mentor_id));
    assert!(st.confirmed_at.is_some());
    assert_eq!(confirmed.proposed_agreement, None);
    eventually(20, || async {
        let m = buddy.get_match(&proposal.id).await.unwrap();
        (m.agreement_status?.confirmed_by.as_ref() == Some(&mentor_id)).then_some(())
    })
    .await;
    // One person alone cannot undo what both agreed: a new proposal waits beside it.
    let third = buddy
        .agree(&proposal.id, &agreement("Just chat now and then"))
        .await
        .unwrap();
    assert_eq!(
        third.agreement.as_ref().map(|a| a.goals.as_str()),
        Some("1. Draft the bid\n2. Find two funders")
    );
    assert_eq!(
        third.proposed_agreement.as_ref().map(|a| a.goals.as_str()),
        Some("Just chat now and then")
    );
    let at_mentor = eventually(20, || async {
        let m = mentor.get_match(&proposal.id).await.unwrap();
        m.proposed_agreement.is_some().then_some(m)
    })
    .await;
    assert_eq!(
        at_mentor.agreement.map(|a| a.goals),
        Some("1. Draft the bid\n2. Find two funders".to_owned())
    );
    // Terms a person could not mean are refused with the reason.
    for bad in [
        Agreement {
            rhythm_days: 91,
            ..agreement("x")
        },
        Agreement {
            ends_at: 1_000_000_000_000,
            ..agreement("x")
        },
        Agreement {
            ends_at: 1,
            ..agreement("x")
        },
        agreement("   "),
    ] {
        let e = buddy.agree(&proposal.id, &bad).await.unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::BadRequest), "{bad:?}");
    }

    // Item 2: the buddy keeps the fit to themselves; the mentor shares theirs.
    buddy
        .check_in(
            &proposal.id,
            &NewCheckIn {
                pulse: 4,
                fit: Some(Fit::Good),
                note: None,
                share_fit: false,
            },
        )
        .await
        .unwrap();
    mentor
        .check_in(
            &proposal.id,
            &NewCheckIn {
                pulse: 3,
                fit: Some(Fit::Deciding),
                note: None,
                share_fit: true,
            },
        )
        .await
        .unwrap();
    let at_mentor = checked_in(&mentor, &proposal.id, 2).await;
    let at_buddy = checked_in(&buddy, &proposal.id, 2).await;
    let fit_of =
        |m: &MatchView, who: &MemberId| m.checkins.iter().find(|c| c.by == *who).unwrap().fit;
    assert_eq!(fit_of(&at_mentor, &buddy_id), None, "not shared");
    assert_eq!(fit_of(&at_buddy, &buddy_id), Some(Fit::Good), "their own");
    assert_eq!(fit_of(&at_buddy, &mentor_id), Some(Fit::Deciding), "shared");
    // Each organisation's coordinators count their own people's fit.
    assert_eq!(admin_c.dashboard().await.unwrap().fit, [1, 0, 0]);
    assert_eq!(admin_a.dashboard().await.unwrap().fit, [0, 1, 0]);

    // Item 6: the mentor ends it; each says privately why and how it went.
    let closed = mentor
        .close_match(
            &proposal.id,
            &Closing {
                reason: "No longer have the time".into(),
                rating: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(closed.closing.unwrap().reason, "No longer have the time");
    let ended = eventually(20, || async {
        let m = buddy.get_match(&proposal.id).await.unwrap();
        (m.status == MatchStatus::Closed).then_some(m)
    })
    .await;
    assert_eq!(ended.closed_by.as_ref(), Some(&mentor_id));
    assert!(ended.closed_at.is_some());
    assert_eq!(ended.closing, None, "the mentor's reflection is theirs");
    let mine = buddy
        .reflect(
            &proposal.id,
            &Closing {
                reason: "Goals met".into(),
                rating: 5,
            },
        )
        .await
        .unwrap();
    assert_eq!(mine.closing.unwrap().rating, 5);
    let theirs = mentor.get_match(&proposal.id).await.unwrap();
    assert_eq!(theirs.closing.unwrap().reason, "No longer have the time");
    assert_eq!(
        admin_c.dashboard().await.unwrap().closed,
        vec![("goals met".to_owned(), 1)]
    );
    assert_eq!(
        admin_a.dashboard().await.unwrap().closed,
        vec![("no longer have the time".to_owned(), 1)]
    );
    // Item 7: the same counts as CSV for a funder report, never content; members are
    // not coordinators.
    let csv = admin_c.dashboard_csv().await.unwrap();
    assert!(
        csv.starts_with("measure,category,week_starting,count"),
        "{csv}"
    );
    assert!(csv.contains("\nended_by_reason,goals met,,1"), "{csv}");
    assert!(csv.contains("\nfirst_meeting_fit,good,,1"), "{csv}");
    assert!(!csv.contains("funder") && !csv.contains("secret"), "{csv}");
    let e = buddy.dashboard_csv().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    // Typed reasons stay with their writer: a dashboard counts them as "other".
    mentor
        .reflect(
            &proposal.id,
            &Closing {
                reason: "Cai told me about a hard time at home".into(),
                rating: 2,
            },
        )
        .await
        .unwrap();
    let csv = admin_a.dashboard_csv().await.unwrap();
    assert!(csv.contains("\nended_by_reason,other,,1"), "{csv}");
    assert!(!csv.contains("hard time"), "{csv}");
    let d = admin_a.dashboard().await.unwrap();
    assert_eq!(d.closed, vec![("other".to_owned(), 1)]);
    // A match still running cannot be reflected on.
    let e = mentor
        .reflect(
            &proposal.id,
            &Closing {
                reason: String::new(),
                rating: 0,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BadRequest));

    // Nothing private left its node: the buddy's node never held the mentor's reason, nor
    // the mentor's node the request's goals.
    c.stop().await;
    assert!(!c.stored_anywhere(b"No longer have the time"));
    assert!(c.stored_anywhere(b"Goals met"));
    a.stop().await;
    assert!(!a.stored_anywhere(b"A secret goal that stays home"));
    assert!(!a.stored_anywhere(b"Goals met"));
}

/// Item 3: a face-to-face mentor elsewhere is suggested to someone who asked to meet
/// online only with the mismatch said; marked essential, it is not suggested at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn suggestions_say_what_does_not_fit() {
    let a = TestNode::named("a.test").await;
    let c = TestNode::named("c.test").await;
    let (admin_a, admin_c) = (a.admin().await, c.admin().await);
    pair(&admin_a, &admin_c).await;
    let mentor = a.member(&admin_a, "kit").await;
    let buddy = c.member(&admin_c, "dee").await;
    let mentor_id = MemberId::parse("@kit:a.test").unwrap();
    mentor
        .publish_offer(&PublishOffer {
            mode: Mode::InPerson,
            region: "Kent".into(),
            ..offer()
        })
        .await
        .unwrap();
    let online = BuddyRequest {
        mode: Mode::Online,
        ..request()
    };
    buddy.create_request(&online).await.unwrap();
    let s = eventually(20, || async {
        let s = buddy.suggestions(Some(10)).await.unwrap();
        s.into_iter().find(|s| s.offer.mentor == mentor_id)
    })
    .await;
    assert!(
        s.trade_offs
            .contains(&"meets in person only, in Kent".to_owned()),
        "{:?}",
        s.trade_offs
    );
    assert!(
        !s.reasons.iter().any(|r| r.contains("online")),
        "{:?}",
        s.reasons
    );

    // The same, with the way of meeting marked essential (a newer request, which is the
    // one suggestions answer): not suggested.
    buddy
        .create_request(&BuddyRequest {
            must: vec!["mode".into()],
            ..online
        })
        .await
        .unwrap();
    let s = buddy.suggestions(Some(10)).await.unwrap();
    assert!(s.iter().all(|s| s.offer.mentor != mentor_id), "{s:?}");
}
