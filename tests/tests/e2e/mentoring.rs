//! Mentoring end to end on real nodes: offers travel through the federation, requests stay
//! home, explained suggestions, proposals with atomic capacity, the match lifecycle,
//! cohort rounds and the dashboard.
#![allow(clippy::unwrap_used)]

use kindred_protocol::MemberId;
use kindred_protocol::api::*;
use kindred_protocol::event::body::mentoring::{Agreement, Closing, Fit, OfferStatus};
use kindred_tests::mentoring::{offer, request, suggested};
use kindred_tests::{TestNode, eventually, pair};

fn id(text: &str) -> MemberId {
    MemberId::parse(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_buddy_finds_a_mentor_across_the_federation_and_they_work_together() {
    let a = TestNode::named("a.test").await;
    let mut b = TestNode::named("hub.test").await;
    let c = TestNode::named("c.test").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    // A and C are not paired: they know each other only through the hub B. The offer
    // reaches C through B; proposals and messages go straight between A and C (each
    // node announced its address on the shared log), never through B.
    pair(&admin_a, &admin_b).await;
    pair(&admin_b, &admin_c).await;
    let mentor = a.member(&admin_a, "morag").await;
    let buddy = c.member(&admin_c, "callum").await;
    let mentor_id = id("@morag:a.test");

    mentor
        .publish_offer(&offer(
            &["funding", "volunteers", "co-production"],
            &["English", "Gaelic"],
            2,
        ))
        .await
        .unwrap();
    buddy
        .create_request(&request(
            &["funding", "volunteers", "co-production"],
            &["gaelic"],
            &["language"],
        ))
        .await
        .unwrap();
    let s = eventually(20, || suggested(&buddy, &mentor_id)).await;
    assert_eq!(s.offer.mentor_name, "morag (display)");
    for reason in [
        "shares 3 of your topics: co-production, funding, volunteers",
        "speaks Gaelic",
        "meets online",
        "from another organisation",
    ] {
        assert!(
            s.reasons.iter().any(|r| r == reason),
            "{reason:?} in {:?}",
            s.reasons
        );
    }

    let proposal = buddy
        .propose(&Propose {
            mentor: mentor_id.clone(),
            note: "I would love help with our first bid.".into(),
            request: None,
        })
        .await
        .unwrap();
    assert_eq!(proposal.status, MatchStatus::Pending);
    let waiting = eventually(20, || async {
        mentor
            .matches()
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.id == proposal.id)
    })
    .await;
    assert_eq!(waiting.role, "mentor");
    assert_eq!(waiting.note, "I would love help with our first bid.");

    let accepted = mentor
        .answer(&proposal.id, true, Some("Delighted!".into()))
        .await
        .unwrap();
    assert_eq!(accepted.status, MatchStatus::Active);
    let seen = eventually(20, || async {
        let m = buddy.get_match(&proposal.id).await.unwrap();
        (m.status == MatchStatus::Active).then_some(m)
    })
    .await;
    assert_eq!(seen.answer_message.as_deref(), Some("Delighted!"));
    let conversation = seen.conversation.unwrap();
    let requests = buddy.requests().await.unwrap();
    assert!(
        requests.iter().all(|r| r.status == "matched"),
        "{requests:?}"
    );

    // They talk in their private conversation.
    buddy
        .post_message(
            &conversation,
            &NewMessage {
                body: "Thank you! When shall we meet?".into(),
                reply_to: None,
            },
        )
        .await
        .unwrap();
    eventually(20, || async {
        let h = mentor.history(&conversation, None, None).await.ok()?;
        (h.items.len() == 1).then_some(())
    })
    .await;

    // Agreement, a check-in with a private note, the place taken shows everywhere.
    mentor
        .agree(
            &proposal.id,
            &Agreement {
                goals: "A bid by March".into(),
                rhythm_days: 14,
                ends_at: 0,
            },
        )
        .await
        .unwrap();
    buddy
        .check_in(
            &proposal.id,
            &NewCheckIn {
                pulse: 4,
                fit: Some(Fit::Good),
                note: Some("private".into()),
                share_fit: true,
            },
        )
        .await
        .unwrap();
    let at_mentor = eventually(20, || async {
        let m = mentor.get_match(&proposal.id).await.unwrap();
        (m.checkins.len() == 1 && m.proposed_agreement.is_some()).then_some(m)
    })
    .await;
    assert_eq!(at_mentor.checkins[0].pulse, 4);
    assert_eq!(
        at_mentor.checkins[0].note, None,
        "check-in notes stay with their author"
    );
    let at_buddy = buddy.get_match(&proposal.id).await.unwrap();
    assert_eq!(at_buddy.checkins[0].note.as_deref(), Some("private"));
    assert!(!at_buddy.checkin_due, "just checked in");
    eventually(20, || async {
        let o = admin_b
            .offers()
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.mentor == mentor_id)?;
        (o.offer.places_left == 1).then_some(())
    })
    .await;

    // The hub relayed the offer but never held the proposal or the conversation.
    b.stop().await;
    assert!(b.stored_anywhere(b"Twenty years of community fundraising"));
    assert!(!b.stored_anywhere(proposal.id.as_bytes()));
    assert!(!b.stored_anywhere(b"I would love help"));
    assert!(!b.stored_anywhere(conversation.as_bytes()));
    b.start_again().await;

    // Closing frees the place, and the dashboards count without content.
    buddy
        .close_match(
            &proposal.id,
            &Closing {
                reason: "Goals met".into(),
                rating: 5,
            },
        )
        .await
        .unwrap();
    eventually(20, || async {
        let m = mentor.get_match(&proposal.id).await.unwrap();
        let o = buddy
            .offers()
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.mentor == mentor_id)?;
        (m.status == MatchStatus::Closed && o.offer.places_left == 2).then_some(())
    })
    .await;
    let e = buddy
        .check_in(
            &proposal.id,
            &NewCheckIn {
                pulse: 3,
                fit: None,
                note: None,
                share_fit: false,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(
        e.code(),
        Some(ErrorCode::BadRequest),
        "closed matches are read-only"
    );
    let d = admin_c.dashboard().await.unwrap();
    assert_eq!(d.closed, vec![("goals met".to_owned(), 1)]);
    assert_eq!(d.fit, [1, 0, 0]);
    assert_eq!(d.active_matches, 0);
    assert!(d.average_days_to_match.is_some());
    let e = buddy.dashboard().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filters_pauses_and_blocks_are_respected_everywhere() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let c = TestNode::named("c.test").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    pair(&admin_a, &admin_c).await;
    pair(&admin_b, &admin_c).await;
    let welsh = a.member(&admin_a, "wyn").await;
    let english = b.member(&admin_b, "eve").await;
    let buddy = c.member(&admin_c, "cal").await;
    welsh
        .publish_offer(&offer(&["funding"], &["welsh"], 2))
        .await
        .unwrap();
    english
        .publish_offer(&offer(&["funding"], &["english"], 2))
        .await
        .unwrap();
    buddy
        .create_request(&request(&["funding"], &["welsh"], &["language"]))
        .await
        .unwrap();
    let wyn = id("@wyn:a.test");
    eventually(20, || suggested(&buddy, &wyn)).await;
    assert!(
        suggested(&buddy, &id("@eve:b.test")).await.is_none(),
        "a \"must\" (language) is never violated"
    );

    // Paused: gone from suggestions on every node.
    welsh.offer_action("pause").await.unwrap();
    eventually(20, || async {
        suggested(&buddy, &id("@wyn:a.test"))
            .await
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        admin_c
            .offers()
            .await
            .unwrap()
            .iter()
            .all(|o| o.mentor != id("@wyn:a.test"))
    );
    let back = welsh.offer_action("resume").await.unwrap();
    assert_eq!(back.offer.status, OfferStatus::Open);
    eventually(20, || suggested(&buddy, &wyn)).await;

    // A blocked node's mentors are never suggested.
    let a_id = admin_a.health().await.unwrap().node_id;
    admin_c.block_peer(&a_id).await.unwrap();
    assert!(suggested(&buddy, &id("@wyn:a.test")).await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_coordinator_runs_a_cohort_round_and_sends_it() {
    let a = TestNode::named("a.test").await;
    let c = TestNode::named("c.test").await;
    let (admin_a, admin_c) = (a.admin().await, c.admin().await);
    pair(&admin_a, &admin_c).await;
    let m1 = a.member(&admin_a, "m1").await;
    let m2 = a.member(&admin_a, "m2").await;
    m1.publish_offer(&offer(&["funding", "governance"], &["english"], 1))
        .await
        .unwrap();
    m2.publish_offer(&offer(&["funding"], &["english"], 1))
        .await
        .unwrap();
    // Greedy would give the first buddy m1 (best for both); the optimum gives m1 to the one
    // only m1 can help.
    let b1 = c.member(&admin_c, "b1").await;
    let b2 = c.member(&admin_c, "b2").await;
    b1.create_request(&request(&["funding"], &["english"], &[]))
        .await
        .unwrap();
    b2.create_request(&request(&["governance"], &["english"], &["topics"]))
        .await
        .unwrap();
    eventually(20, || async {
        (admin_c.offers().await.unwrap().len() == 2).then_some(())
    })
    .await;

    let round = admin_c.run_round().await.unwrap();
    assert_eq!(round.pairs.len(), 2, "{round:?}");
    let for_b2 = round
        .pairs
        .iter()
        .find(|p| p.buddy == id("@b2:c.test"))
        .unwrap();
    assert_eq!(for_b2.mentor, id("@m1:a.test"));
    assert!(!for_b2.reasons.is_empty());
    let for_b1 = round
        .pairs
        .iter()
        .find(|p| p.buddy == id("@b1:c.test"))
        .unwrap();
    assert_eq!(for_b1.mentor, id("@m2:a.test"));

    // The coordinator drops one pair, then sends the rest.
    let edited = admin_c
        .edit_round(
            &round.id,
            &EditRound {
                drop: vec![for_b1.request.clone()],
                reassign: vec![],
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.pairs.len(), 1);
    let sent = admin_c.send_round(&round.id).await.unwrap();
    assert_eq!(sent.status, "sent");
    eventually(20, || async {
        (m1.matches().await.unwrap().len() == 1).then_some(())
    })
    .await;
    assert!(b1.matches().await.unwrap().is_empty());
    let e = b1.run_round().await.unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::Forbidden));
    let d = admin_c.dashboard().await.unwrap();
    assert_eq!((d.open_requests, d.pending_proposals), (2, 1));

    // The next round pairs b1 with a mentor (b2 waits on m1 already and is not paired with
    // m1 again); that mentor pauses before the round is sent: the round is sent, and that
    // pair says why it was not.
    let next = admin_c.run_round().await.unwrap();
    assert_eq!(next.pairs.len(), 1, "{next:?}");
    assert_eq!(next.pairs[0].buddy, id("@b1:c.test"));
    assert_eq!(next.pairs[0].not_sent, None);
    // Nor can the coordinator pair them by hand.
    let again = admin_c
        .edit_round(
            &next.id,
            &EditRound {
                drop: vec![],
                reassign: vec![(for_b2.request.clone(), id("@m1:a.test"))],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::Conflict), "{again}");
    assert!(again.to_string().contains("already waiting on"), "{again}");
    let mentor = next.pairs[0].mentor.clone();
    let paused = if mentor == id("@m1:a.test") { &m1 } else { &m2 };
    paused.offer_action("pause").await.unwrap();
    eventually(20, || async {
        let offers = admin_c.offers().await.unwrap();
        offers.iter().all(|o| o.mentor != mentor).then_some(())
    })
    .await;
    let sent = admin_c.send_round(&next.id).await.unwrap();
    assert_eq!(sent.status, "sent");
    assert_eq!(
        sent.pairs[0].not_sent.as_deref(),
        Some("The mentor paused or withdrew their offer.")
    );
    assert_eq!(admin_c.round(&next.id).await.unwrap(), sent);
    assert!(b1.matches().await.unwrap().is_empty());

    // A buddy who withdraws their request between the round and its sending is not
    // proposed for in their name.
    paused.offer_action("resume").await.unwrap();
    eventually(20, || async {
        let offers = admin_c.offers().await.unwrap();
        offers.iter().any(|o| o.mentor == mentor).then_some(())
    })
    .await;
    let last = admin_c.run_round().await.unwrap();
    assert_eq!(last.pairs.len(), 1, "{last:?}");
    b1.withdraw_request(&last.pairs[0].request).await.unwrap();
    let sent = admin_c.send_round(&last.id).await.unwrap();
    assert_eq!(
        sent.pairs[0].not_sent.as_deref(),
        Some("They withdrew their request.")
    );
    assert!(b1.matches().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unanswered_proposals_expire_and_the_buddy_is_told() {
    let a = TestNode::start_with(|c| c.mentoring.proposal_expiry_minutes = 0).await;
    let admin = a.admin().await;
    let mentor = a.member(&admin, "mo").await;
    let buddy = a.member(&admin, "bo").await;
    mentor
        .publish_offer(&offer(&["funding"], &["english"], 1))
        .await
        .unwrap();
    buddy
        .create_request(&request(&["funding"], &["english"], &[]))
        .await
        .unwrap();
    let p = buddy
        .propose(&Propose {
            mentor: id("@mo:localhost"),
            note: String::new(),
            request: None,
        })
        .await
        .unwrap();
    eventually(20, || async {
        let m = buddy.get_match(&p.id).await.unwrap();
        (m.status == MatchStatus::Expired).then_some(())
    })
    .await;
}

/// Issue 22, item 7: topics read as the organisation wrote them, not as keys.
#[tokio::test]
async fn topics_are_named_as_people_wrote_them() {
    let node = TestNode::start_with(|c| {
        c.mentoring.extra_topics = vec!["NHS-and-GP access".into()];
    })
    .await;
    let admin = node.admin().await;
    let mentor = node.member(&admin, "mo").await;
    let buddy = node.member(&admin, "bea").await;
    mentor
        .publish_offer(&offer(
            &["nhs-and-gp access", "burnout-and-wellbeing"],
            &["english"],
            2,
        ))
        .await
        .unwrap();
    buddy
        .create_request(&request(&["nhs-and-gp access"], &["english"], &[]))
        .await
        .unwrap();
    let mentor_id = id("@mo:localhost");
    let s = eventually(20, || suggested(&buddy, &mentor_id)).await;
    let reasons = s.reasons.join("; ");
    assert!(
        reasons.contains("can help with NHS-and-GP access"),
        "{reasons}"
    );
    assert!(reasons.contains("has 4 hours a month"), "{reasons}");
    let mut browser = kindred_tests::web::Browser::new(&node.url());
    browser.sign_in("mo", kindred_tests::PASSWORD).await;
    let page = browser.get("/mentoring").await;
    assert!(page.has("NHS-and-GP access"), "{}", page.html);
    assert!(page.has("Burnout and wellbeing"), "{}", page.html);
    assert!(!page.has("nhs-and-gp access") && !page.has("Nhs and gp"));
}
