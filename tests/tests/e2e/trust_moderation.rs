//! The trust rules for reports, shared decisions and safeguarding referrals, tried as a
//! hostile node would (the raw peer plays it): it cannot report as a member (so as to
//! name a reporter) or as another node, cannot make this node hide its own member's post
//! with a shared decision, and cannot flood the safeguarding leads.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::*;
use kindred_protocol::event::body::report::{Report, SharedDecision};
use kindred_protocol::event::body::safeguarding::SafeguardingReferral;
use kindred_protocol::{Audience, EventBody, References};
use kindred_tests::raw_peer::to;
use kindred_tests::{TestNode, eventually};

use super::trust_support::{hostile_via, id};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hostile_node_cannot_misuse_reports_decisions_or_referrals() {
    let a = TestNode::named("a.test").await;
    let admin = a.admin().await;
    admin
        .create_topic(&CreateTopic {
            name: "funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    let ann = a.member(&admin, "ann").await;
    let post = ann
        .create_post(
            "funding",
            &NewPost {
                title: "Our bid".into(),
                body: "What worked".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let mut h = hostile_via(&a, &admin, 71).await;
    let a_id = a.client().health().await.unwrap().node_id;
    let report = |author: &str| {
        h.sign(
            to(a_id),
            &id(author),
            References::default(),
            EventBody::Report(Report {
                target: ReportTarget::Event(post.id),
                reason: ReportReason::Harmful,
            }),
        )
    };
    // As a member (it would name a reporter) and as A itself: refused, nothing filed.
    let as_member = report("@hana:h.test");
    let as_a = report("@node:a.test");
    let as_itself = report("@node:h.test");
    for e in [as_member, as_a] {
        let _ = h.deliver(e).await;
    }
    assert_eq!(h.deliver(as_itself).await, Ok(()));
    let queue = eventually(20, || async {
        let q = admin.moderation_queue().await.ok()?;
        (!q.items.is_empty()).then_some(q)
    })
    .await;
    assert_eq!(queue.items.len(), 1);
    let reports = &queue.items[0].reports;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].reporter, None);
    assert_eq!(reports[0].from_organisation, "h.test (raw)");

    // Even followed, its decision about A's own member's post changes nothing at A.
    admin
        .set_peer_decisions(&h.node_id().to_string(), DecisionPolicy::Adopt)
        .await
        .unwrap();
    let decision = |seq: u64, author: &str| {
        h.sign(
            Audience::Shared { seq },
            &id(author),
            References::default(),
            EventBody::SharedDecision(SharedDecision {
                target: ReportTarget::Event(post.id),
                action: DecisionAction::Hide,
                reason: "gone".into(),
            }),
        )
    };
    let events = vec![decision(3, "@hana:h.test"), decision(4, "@node:h.test")];
    assert!(h.replicate(2, events).await);
    // A later post of its own, to know the decisions were read.
    let marker = h.sign(
        Audience::Shared { seq: 5 },
        &id("@hana:h.test"),
        References::default(),
        EventBody::Post(kindred_protocol::event::body::peer_learning::Post {
            topic: "funding".into(),
            title: "marker".into(),
            body: "marker".into(),
            tags: vec![],
            content_warning: None,
        }),
    );
    let marker_id = marker.id();
    assert!(h.replicate(3, vec![marker]).await);
    eventually(20, || async { ann.thread(&marker_id).await.ok() }).await;
    assert!(ann.thread(&post.id).await.unwrap().post.hidden.is_none());

    // Referrals: at most the day's allowance from one node is kept.
    for n in 0..25 {
        let e = h.sign(
            to(a_id),
            &id("@hana:h.test"),
            References::default(),
            EventBody::SafeguardingReferral(SafeguardingReferral {
                member: id("@ann:a.test"),
                content: vec![],
                concern: format!("concern {n}"),
                contact: "hana".into(),
            }),
        );
        assert_eq!(h.deliver(e).await, Ok(()));
    }
    // A report after them: once it is filed, every referral before it was read.
    let after = h.sign(
        to(a_id),
        &id("@node:h.test"),
        References::default(),
        EventBody::Report(Report {
            target: ReportTarget::Member(id("@ann:a.test")),
            reason: ReportReason::Other,
        }),
    );
    assert_eq!(h.deliver(after).await, Ok(()));
    eventually(20, || async {
        let q = admin.moderation_queue().await.ok()?;
        q.items
            .iter()
            .any(|i| i.target == ReportTarget::Member(id("@ann:a.test")))
            .then_some(())
    })
    .await;
    // With no safeguarding leads set, the admins read them: the day's allowance only.
    assert_eq!(admin.referrals().await.unwrap().len(), 20);
    // And the member concerned sees none of it.
    match ann.referrals().await.unwrap_err() {
        kindred_client::ClientError::Api { status, .. } => assert_eq!(status, 403),
        other => panic!("{other}"),
    }
}
