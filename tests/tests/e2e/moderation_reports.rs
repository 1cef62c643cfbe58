//! Reports across organisations: they reach the reporter's and the author's moderators
//! (the author's never learn who reported), hide content while nobody is on duty until a
//! moderator dismisses or acts on them, and pause a member's posting when many people
//! report many of their posts.
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::EventId;
use kindred_protocol::api::*;
use kindred_tests::{TestNode, eventually, pair};

use super::moderation::{act, id, moderation_news, post, report_of, status, topic};

/// A report at C about a post written at A lands in C's queue with the reporter and in
/// A's without, however the nodes are connected (C is paired with A through a hub B).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_report_reaches_both_queues_without_naming_the_reporter() {
    let mut a = TestNode::organisation("a.test", "Riverside Hub").await;
    let mut b = TestNode::organisation("b.test", "County Partnership").await;
    let c = TestNode::organisation("c.test", "Carers Together").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    pair(&admin_a, &admin_b).await;
    pair(&admin_c, &admin_b).await;
    topic(&admin_a).await;
    let ann = a.member(&admin_a, "ann").await;
    let quill = c.member(&admin_c, "quill").await;
    let written = post(&ann, "Grant tips").await;
    eventually(30, || async { quill.thread(&written.id).await.ok() }).await;

    let filed = quill
        .report(&report_of(
            ReportTarget::Event(written.id),
            ReportReason::Misinformation,
            "This grant closed last year",
        ))
        .await
        .unwrap();
    assert!(filed.message.contains("Riverside Hub"), "{}", filed.message);
    // Reporting again while it is open files nothing new.
    let again = quill
        .report(&report_of(
            ReportTarget::Event(written.id),
            ReportReason::Spam,
            "",
        ))
        .await
        .unwrap();
    assert_eq!(again.id, filed.id);

    let here = admin_c.moderation_queue().await.unwrap();
    assert_eq!(here.items.len(), 1);
    let item = &here.items[0];
    assert_eq!(item.target, ReportTarget::Event(written.id));
    assert_eq!(item.kind, "post");
    assert!(!item.home_here);
    assert_eq!(item.reports[0].reporter, Some(id("@quill:c.test")));
    assert_eq!(
        item.reports[0].note.as_deref(),
        Some("This grant closed last year")
    );

    let there = eventually(30, || async {
        let q = admin_a.moderation_queue().await.unwrap();
        (!q.items.is_empty()).then_some(q)
    })
    .await;
    let item = &there.items[0];
    assert!(item.home_here);
    assert_eq!(item.author, Some(id("@ann:a.test")));
    assert_eq!(item.reports.len(), 1);
    assert_eq!(item.reports[0].reason, ReportReason::Misinformation);
    assert_eq!(item.reports[0].reporter, None);
    assert_eq!(item.reports[0].note, None);
    assert_eq!(item.reports[0].from_organisation, "Carers Together");
    let json = serde_json::to_string(&there).unwrap();
    assert!(!json.contains("quill"), "{json}");
    // The author is not told of a report; members cannot see the queue.
    assert!(moderation_news(&ann).await.is_empty());
    assert_eq!(status(ann.moderation_queue().await.unwrap_err()), 403);

    // C's moderators cannot take down or warn at another organisation, only hide here.
    let refused = admin_c
        .moderate(&ModerationRequest {
            target: ReportTarget::Event(written.id),
            action: ModerationAction::Retract,
            note: "wrong".into(),
            share: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status(refused), 403);

    // A's moderator takes it down; it goes everywhere.
    act(
        &admin_a,
        ReportTarget::Event(written.id),
        ModerationAction::Retract,
        "Out of date and misleading",
    )
    .await;
    assert!(admin_a.moderation_queue().await.unwrap().items.is_empty());
    eventually(30, || async {
        quill.thread(&written.id).await.is_err().then_some(())
    })
    .await;
    // C's own queue still has the report until C's moderators close it; they are told
    // nothing about A's decision here, but the content is gone.
    act(
        &admin_c,
        ReportTarget::Event(written.id),
        ModerationAction::Dismiss,
        "",
    )
    .await;
    let news = eventually(10, || async {
        let n = moderation_news(&quill).await;
        (!n.is_empty()).then_some(n)
    })
    .await;
    assert!(news[0].contains("Thank you for your report"), "{news:?}");

    // Nothing anywhere at A or at the hub names the reporter.
    a.stop().await;
    b.stop().await;
    assert!(!a.stored_anywhere(b"quill"));
    assert!(!b.stored_anywhere(b"quill"));
}

/// Three different voices hide a post until a moderator looks; a dismissal shows it
/// again and tells the reporters. A report from another node counts once per node.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reports_hide_content_until_a_moderator_dismisses_them() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let c = TestNode::organisation("c.test", "Carers Together").await;
    let (admin_a, admin_c) = (a.admin().await, c.admin().await);
    pair(&admin_a, &admin_c).await;
    topic(&admin_a).await;
    let ann = a.member(&admin_a, "ann").await;
    let bo = a.member(&admin_a, "bo").await;
    let di = a.member(&admin_a, "di").await;
    let cal = c.member(&admin_c, "cal").await;
    let cy = c.member(&admin_c, "cy").await;
    let written = post(&ann, "Honest reflection").await;
    let target = ReportTarget::Event(written.id);
    eventually(30, || async { cal.thread(&written.id).await.ok() }).await;

    // Two members at C are two reports but one voice at A.
    for reporter in [&cal, &cy] {
        reporter
            .report(&report_of(target.clone(), ReportReason::Harmful, ""))
            .await
            .unwrap();
    }
    bo.report(&report_of(target.clone(), ReportReason::Harmful, "unkind"))
        .await
        .unwrap();
    eventually(30, || async {
        let q = admin_a.moderation_queue().await.unwrap();
        (q.items.first().map(|i| i.reports.len()) == Some(3)).then_some(())
    })
    .await;
    assert!(bo.thread(&written.id).await.unwrap().post.hidden.is_none());
    di.report(&report_of(target.clone(), ReportReason::Harmful, ""))
        .await
        .unwrap();
    let seen = bo.thread(&written.id).await.unwrap().post;
    assert!(seen.hidden.is_some());
    assert_eq!(seen.title.as_deref(), Some(""));
    assert!(seen.body.is_empty() && seen.body_html.is_empty());
    let q = admin_a.moderation_queue().await.unwrap();
    assert!(q.items[0].hidden_by_reports);
    // Search does not find its words while it is hidden.
    let found = bo.search("Honest reflection", None).await.unwrap();
    assert!(found.iter().all(|h| h.post.id != written.id));

    act(
        &admin_a,
        target.clone(),
        ModerationAction::Dismiss,
        "Fine on a second read",
    )
    .await;
    assert!(bo.thread(&written.id).await.unwrap().post.hidden.is_none());
    assert!(admin_a.moderation_queue().await.unwrap().items.is_empty());
    for reporter in [&bo, &di] {
        let news = moderation_news(reporter).await;
        assert_eq!(news.len(), 1, "{news:?}");
        assert!(news[0].contains("no action was needed"), "{news:?}");
    }
    let log = admin_a.moderation_audit(None).await.unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["dismiss", "hidden_by_reports"]);
    let csv = admin_a.moderation_audit_csv().await.unwrap();
    assert!(
        csv.starts_with("seq,at,by,action,target,author,note"),
        "{csv}"
    );
    assert!(csv.contains("Fine on a second read"));
    assert_eq!(status(bo.moderation_audit(None).await.unwrap_err()), 403);

    // A warning closes the reports and keeps the post hidden, for the moderator's reason.
    let eve = a.member(&admin_a, "eve").await;
    let second = post(&ann, "Another reflection").await;
    let target = ReportTarget::Event(second.id);
    for reporter in [&bo, &di, &eve] {
        reporter
            .report(&report_of(target.clone(), ReportReason::Harmful, ""))
            .await
            .unwrap();
    }
    assert!(bo.thread(&second.id).await.unwrap().post.hidden.is_some());
    act(
        &admin_a,
        target,
        ModerationAction::Warn,
        "Please keep it kind",
    )
    .await;
    let kept = bo.thread(&second.id).await.unwrap().post.hidden;
    assert_eq!(kept.as_deref(), Some("Please keep it kind"));
    assert!(admin_a.moderation_queue().await.unwrap().items.is_empty());
}

/// Reports on five of one member's posts in a day, from several people, pause their
/// posting until a moderator looks; one person reporting everything does not; what a
/// moderator reviewed no longer counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_reports_pause_posting_until_reviewed() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let admin = a.admin().await;
    topic(&admin).await;
    let ann = a.member(&admin, "ann").await;
    let bo = a.member(&admin, "bo").await;
    let cy = a.member(&admin, "cy").await;
    let di = a.member(&admin, "di").await;
    let mut ids: Vec<EventId> = Vec::new();
    for i in 0..6 {
        ids.push(post(&ann, &format!("Post {i}")).await.id);
    }
    let report = |who: &Client, id: EventId| {
        let who = who.clone();
        async move {
            who.report(&report_of(ReportTarget::Event(id), ReportReason::Spam, ""))
                .await
                .unwrap();
        }
    };
    // One person reporting everything is one voice.
    for id in &ids[..5] {
        report(&bo, *id).await;
    }
    assert!(!ann.standing().await.unwrap().paused);
    post(&ann, "Still posting").await;
    report(&cy, ids[0]).await;
    report(&di, ids[1]).await;
    assert!(ann.standing().await.unwrap().paused);
    let refused = ann
        .create_post(
            "funding",
            &NewPost {
                title: "more".into(),
                body: "more".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(status(refused), 403);
    assert!(ann.thread(&ids[0]).await.is_ok());
    // Reporting oneself is refused.
    let own = ann
        .report(&report_of(
            ReportTarget::Event(ids[0]),
            ReportReason::Spam,
            "",
        ))
        .await
        .unwrap_err();
    assert_eq!(status(own), 400);
    let done = admin
        .moderate(&ModerationRequest {
            target: ReportTarget::Member(id("@ann:a.test")),
            action: ModerationAction::Dismiss,
            note: String::new(),
            share: false,
        })
        .await
        .unwrap();
    assert!(
        done.message.contains("no longer paused"),
        "{}",
        done.message
    );
    assert!(!ann.standing().await.unwrap().paused);
    post(&ann, "Back again").await;
    // The reports a moderator reviewed do not pause them again.
    report(&cy, ids[5]).await;
    assert!(!ann.standing().await.unwrap().paused);
    // Moderators are never paused automatically, and nobody sees reports about
    // themselves; a moderator's are for admins.
    let mo = a.member(&admin, "mo").await;
    admin
        .update_member(
            "mo",
            &UpdateMember {
                role: Some(Role::Moderator),
                suspended: None,
            },
        )
        .await
        .unwrap();
    let by_mo = post(&mo, "Moderator's post").await;
    report(&bo, by_mo.id).await;
    let mine = mo.moderation_queue().await.unwrap();
    assert!(
        mine.items
            .iter()
            .all(|i| i.target != ReportTarget::Event(by_mo.id))
    );
    let refused = mo
        .moderate(&ModerationRequest {
            target: ReportTarget::Event(by_mo.id),
            action: ModerationAction::Dismiss,
            note: String::new(),
            share: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status(refused), 403);
    let theirs = admin.moderation_queue().await.unwrap();
    assert!(
        theirs
            .items
            .iter()
            .any(|i| i.target == ReportTarget::Event(by_mo.id))
    );
    // Nobody who does not exist can be acted on (a later account must not inherit it).
    let ghost = admin
        .moderate(&ModerationRequest {
            target: ReportTarget::Member(id("@ghost:a.test")),
            action: ModerationAction::Warn,
            note: "pre-warned".into(),
            share: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status(ghost), 404);
}

/// What a moderator is told matches what happened: a dismissal that shows a post again says
/// so; showing a post again closes the reports that hid it (so the next report does not
/// hide it straight away) and is refused for what is not hidden; a retraction counts the
/// reports it closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moderators_answer_says_what_their_action_did_to_the_reports() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let admin = a.admin().await;
    topic(&admin).await;
    let ann = a.member(&admin, "ann").await;
    let mut reporters = Vec::new();
    for name in ["bo", "cy", "di", "eve"] {
        reporters.push(a.member(&admin, name).await);
    }
    let reported = |id: EventId| {
        let three = reporters[..3].to_vec();
        async move {
            for r in &three {
                r.report(&report_of(
                    ReportTarget::Event(id),
                    ReportReason::Harmful,
                    "",
                ))
                .await
                .unwrap();
            }
        }
    };
    let moderate = |id: EventId, action: ModerationAction, note: &str| {
        let (admin, note) = (admin.clone(), note.to_owned());
        async move {
            admin
                .moderate(&ModerationRequest {
                    target: ReportTarget::Event(id),
                    action,
                    note,
                    share: false,
                })
                .await
        }
    };

    let first = post(&ann, "First").await.id;
    reported(first).await;
    let done = moderate(first, ModerationAction::Dismiss, "")
        .await
        .unwrap();
    assert_eq!(
        done.message,
        "Dismissed: it is shown again. 3 reports closed."
    );
    assert_eq!(done.reports_closed, 3);

    let second = post(&ann, "Second").await.id;
    reported(second).await;
    let done = moderate(second, ModerationAction::Restore, "Fine on a second read")
        .await
        .unwrap();
    assert_eq!(done.message, "Shown again. 3 reports closed.");
    assert_eq!(done.reports_closed, 3);
    assert!(admin.moderation_queue().await.unwrap().items.is_empty());
    let news = moderation_news(&reporters[0]).await;
    assert!(
        news.iter().any(|n| n.contains("decided it can be shown")),
        "{news:?}"
    );
    reporters[3]
        .report(&report_of(
            ReportTarget::Event(second),
            ReportReason::Harmful,
            "",
        ))
        .await
        .unwrap();
    assert!(ann.thread(&second).await.unwrap().post.hidden.is_none());
    // The three whose reports the moderator looked at report it again: their reports reach
    // the queue, but do not hide it again by themselves.
    reported(second).await;
    assert!(ann.thread(&second).await.unwrap().post.hidden.is_none());
    assert_eq!(admin.moderation_queue().await.unwrap().items.len(), 1);
    let again = moderate(second, ModerationAction::Restore, "")
        .await
        .unwrap_err();
    assert_eq!(status(again), 409);

    let third = post(&ann, "Third").await.id;
    reported(third).await;
    let done = moderate(third, ModerationAction::Retract, "Out of date")
        .await
        .unwrap();
    assert_eq!(done.message, "Taken down, on every node. 3 reports closed.");
    assert_eq!(done.reports_closed, 3);
}
