//! Mentoring races across nodes: two buddies for a mentor's last place, and a buddy's
//! withdrawal crossing the mentor's acceptance while their nodes are apart.
#![allow(clippy::unwrap_used)]

use kindred_protocol::MemberId;
use kindred_protocol::api::*;
use kindred_tests::mentoring::{ask_and_propose, offer, proposals_reached, request, suggested};
use kindred_tests::{TestNode, eventually, pair};

fn id(text: &str) -> MemberId {
    MemberId::parse(text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_buddies_race_for_the_last_place_and_exactly_one_wins() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let c = TestNode::named("c.test").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    pair(&admin_a, &admin_b).await;
    pair(&admin_a, &admin_c).await;
    let mentor = a.member(&admin_a, "mo").await;
    let bea = b.member(&admin_b, "bea").await;
    let cal = c.member(&admin_c, "cal").await;
    let mentor_id = id("@mo:a.test");
    mentor
        .publish_offer(&offer(&["funding"], &["english"], 1))
        .await
        .unwrap();
    let mut proposals = Vec::new();
    for buddy in [&bea, &cal] {
        proposals.push(ask_and_propose(buddy, &mentor_id).await);
    }
    proposals_reached(&mentor, 2).await;
    let (first, second) = tokio::join!(
        mentor.answer(&proposals[0], true, None),
        mentor.answer(&proposals[1], true, None)
    );
    let results = [first, second];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one accepted: {:?}",
        results
            .iter()
            .map(|r| r.as_ref().err().map(ToString::to_string))
            .collect::<Vec<_>>()
    );
    let loser = results.iter().position(|r| r.is_err()).unwrap();
    let err = results[loser].as_ref().unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Conflict));
    assert!(err.to_string().contains("no longer available"), "{err}");
    let losing_buddy = [&bea, &cal][loser];
    eventually(20, || async {
        let m = losing_buddy.get_match(&proposals[loser]).await.unwrap();
        (m.status == MatchStatus::NoLongerAvailable).then_some(())
    })
    .await;
    // Accepting it again, with the place gone, says why (whichever answer ran first).
    let again = mentor
        .answer(&proposals[loser], true, None)
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some(ErrorCode::Conflict));
    assert!(again.to_string().contains("no longer available"), "{again}");
    // A full offer is no longer suggested to anyone.
    eventually(20, || async {
        suggested(losing_buddy, &mentor_id)
            .await
            .is_none()
            .then_some(())
    })
    .await;
}

/// The buddy withdraws while the mentor accepts, their nodes apart (each acts before it
/// hears of the other): once they meet again both hold the proposal as withdrawn, and the
/// mentor's place is free, whichever order the two answers arrive in.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_withdrawal_that_crosses_an_acceptance_wins_on_both_nodes() {
    let mut a = TestNode::named("a.test").await;
    let mut b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;
    let mentor = a.member(&admin_a, "mo").await;
    let bea = b.member(&admin_b, "bea").await;
    let mentor_id = id("@mo:a.test");
    mentor
        .publish_offer(&offer(&["funding"], &["english"], 1))
        .await
        .unwrap();
    let proposal = ask_and_propose(&bea, &mentor_id).await;
    proposals_reached(&mentor, 1).await;

    // Apart: the mentor says yes while B is down, the buddy withdraws while A is down.
    b.stop().await;
    let accepted = mentor.answer(&proposal, true, None).await.unwrap();
    assert_eq!(accepted.status, MatchStatus::Active);
    a.stop().await;
    b.start_again().await;
    bea.withdraw_proposal(&proposal).await.unwrap();
    assert_eq!(
        bea.get_match(&proposal).await.unwrap().status,
        MatchStatus::Withdrawn
    );
    a.start_again().await;

    for (who, client) in [("mentor", &mentor), ("buddy", &bea)] {
        eventually(30, || async {
            let m = client.get_match(&proposal).await.ok()?;
            (m.status == MatchStatus::Withdrawn).then_some(())
        })
        .await;
        assert_eq!(
            client.get_match(&proposal).await.unwrap().status,
            MatchStatus::Withdrawn,
            "{who}"
        );
    }
    // The place the acceptance took is free again: another buddy can be accepted.
    let ada = a.member(&admin_a, "ada").await;
    ada.create_request(&request(&["funding"], &["english"], &[]))
        .await
        .unwrap();
    let second = ada
        .propose(&Propose {
            mentor: mentor_id.clone(),
            note: String::new(),
            request: None,
        })
        .await
        .unwrap()
        .id;
    let accepted = mentor.answer(&second, true, None).await.unwrap();
    assert_eq!(accepted.status, MatchStatus::Active);
    // Her request is matched (mentor and buddy on one node), and Bea's is still open.
    eventually(20, || async {
        let r = ada.requests().await.ok()?;
        (r.iter().all(|r| r.status == "matched")).then_some(())
    })
    .await;
    assert!(
        bea.requests()
            .await
            .unwrap()
            .iter()
            .all(|r| r.status == "open")
    );
}
