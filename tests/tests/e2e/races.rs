//! Decisions racing each other on one node, round after round, each round checked against
//! the rule it must keep: reports arriving together hide a post once; a moderator's
//! dismissal racing a new report never leaves a post hidden with no report open; a buddy's
//! withdrawal racing the mentor's acceptance never loses or double-counts a place.
//! (Each round is a race the scheduler decides; many rounds make both orders likely.)
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::api::*;
use kindred_protocol::event::body::mentoring::Closing;
use kindred_protocol::{EventId, MemberId};
use kindred_tests::mentoring::{offer, request};
use kindred_tests::{TestNode, eventually};

use super::moderation::{post, report_of, topic};

const ROUNDS: usize = 30;

async fn report(who: &Client, id: EventId) {
    who.report(&report_of(
        ReportTarget::Event(id),
        ReportReason::Harmful,
        "",
    ))
    .await
    .unwrap();
}

/// How many times the moderation log says reports hid `id`.
async fn hidden_by_reports_logged(admin: &Client, id: EventId) -> usize {
    let log = admin.moderation_audit(None).await.unwrap();
    log.items
        .iter()
        .filter(|e| e.action == "hidden_by_reports" && e.target == ReportTarget::Event(id))
        .count()
}

/// The open reports about `id` in the moderators' queue.
async fn open_reports(admin: &Client, id: EventId) -> usize {
    let queue = admin.moderation_queue().await.unwrap();
    queue
        .items
        .iter()
        .filter(|i| i.target == ReportTarget::Event(id))
        .map(|i| i.reports.len())
        .sum()
}

/// A node with a topic, its admin, an author and `names` as reporters.
struct Reporting {
    _node: TestNode,
    admin: Client,
    author: Client,
    reporters: Vec<Client>,
}

async fn reporting(names: &[&str]) -> Reporting {
    // Every round is a day's worth of reports: no limit on them here, and no pause for
    // the author they are about (both tested in `moderation_reports`).
    let node = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.moderation.reports_per_member_per_day = 1_000;
        c.moderation.pause_after_reports_per_day = 0;
    })
    .await;
    let admin = node.admin().await;
    topic(&admin).await;
    let author = node.member(&admin, "ann").await;
    let mut reporters = Vec::new();
    for name in names {
        reporters.push(node.member(&admin, name).await);
    }
    Reporting {
        _node: node,
        admin,
        author,
        reporters,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_and_a_dismissal_racing_keep_what_is_hidden_true_to_the_open_reports() {
    let Reporting {
        _node,
        admin,
        author: ann,
        reporters,
    } = reporting(&["bo", "cy", "di", "eve"]).await;
    for round in 0..ROUNDS {
        let written = post(&ann, &format!("Reflection {round}")).await;
        let id = written.id;
        // The third voice arrives twice at once: the post is hidden, and logged, once.
        report(&reporters[0], id).await;
        tokio::join!(report(&reporters[1], id), report(&reporters[2], id));
        let seen = reporters[3].thread(&id).await.unwrap().post;
        assert!(seen.hidden.is_some(), "round {round}: three voices hide it");
        assert_eq!(
            hidden_by_reports_logged(&admin, id).await,
            1,
            "round {round}: hidden by reports once"
        );
        // A dismissal and a fourth report at once: the three are closed and the post shown
        // again; the fourth, closed with them or open alone, is one voice and hides nothing.
        let dismiss = ModerationRequest {
            target: ReportTarget::Event(id),
            action: ModerationAction::Dismiss,
            note: "Fine on a second read".into(),
            share: false,
        };
        let (dismissed, ()) = tokio::join!(admin.moderate(&dismiss), report(&reporters[3], id));
        dismissed.unwrap();
        let after = ann.thread(&id).await.unwrap().post;
        assert!(
            after.hidden.is_none(),
            "round {round}: hidden with {} report(s) open",
            open_reports(&admin, id).await
        );
        assert!(open_reports(&admin, id).await <= 1, "round {round}");
    }
}

/// Two moderators showing the same post again at once: one shows it (and closes the
/// reports), the other is told there is nothing to show; the log has one entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_moderators_showing_a_post_again_at_once_show_it_once() {
    let Reporting {
        _node,
        admin,
        author: ann,
        reporters,
    } = reporting(&["bo", "cy", "di"]).await;
    for round in 0..ROUNDS {
        let id = post(&ann, &format!("Reflection {round}")).await.id;
        for r in &reporters {
            report(r, id).await;
        }
        let restore = ModerationRequest {
            target: ReportTarget::Event(id),
            action: ModerationAction::Restore,
            note: String::new(),
            share: false,
        };
        let (first, second) = tokio::join!(admin.moderate(&restore), admin.moderate(&restore));
        let answers = [first, second];
        let shown: Vec<&ModerationDone> = answers.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(shown.len(), 1, "round {round}: {answers:?}");
        assert_eq!(shown[0].reports_closed, 3, "round {round}");
        let log = admin.moderation_audit(None).await.unwrap();
        let restores = log
            .items
            .iter()
            .filter(|e| e.action == "restore" && e.target == ReportTarget::Event(id))
            .count();
        assert_eq!(restores, 1, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_withdrawal_racing_an_acceptance_keeps_the_mentors_places_counted() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let admin = a.admin().await;
    let mentor = a.member(&admin, "mo").await;
    let mentor_id = MemberId::parse("@mo:a.test").unwrap();
    mentor
        .publish_offer(&offer(&["funding"], &["english"], 1))
        .await
        .unwrap();
    for round in 0..ROUNDS {
        let buddy = a.member(&admin, &format!("bea{round}")).await;
        buddy
            .create_request(&request(&["funding"], &["english"], &[]))
            .await
            .unwrap();
        let proposal = buddy
            .propose(&Propose {
                mentor: mentor_id.clone(),
                note: String::new(),
                request: None,
            })
            .await
            .unwrap()
            .id;
        let (accepted, withdrawn) = tokio::join!(
            mentor.answer(&proposal, true, None),
            buddy.withdraw_proposal(&proposal)
        );
        // Whichever came first stands; the other may be refused for it.
        assert!(
            accepted.is_ok() || withdrawn.is_ok(),
            "round {round}: {accepted:?} {withdrawn:?}"
        );
        let status = mentor.get_match(&proposal).await.unwrap().status;
        if status == MatchStatus::Active {
            // Accepted and kept: the place is taken until the match closes.
            eventually(20, || async {
                (places_left(&buddy, &mentor_id).await == 0).then_some(())
            })
            .await;
            mentor
                .close_match(
                    &proposal,
                    &Closing {
                        reason: "goals met".into(),
                        rating: 0,
                    },
                )
                .await
                .unwrap();
        } else {
            assert_eq!(status, MatchStatus::Withdrawn, "round {round}");
        }
        // Nothing active: the one place is free again, as published and as counted.
        eventually(20, || async {
            (places_left(&buddy, &mentor_id).await == 1).then_some(())
        })
        .await;
    }
}

/// The places left in `mentor`'s offer as `viewer` sees it published.
async fn places_left(viewer: &Client, mentor: &MemberId) -> u16 {
    viewer
        .offers()
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.mentor == *mentor)
        .map(|o| o.offer.places_left)
        .unwrap_or(0)
}
