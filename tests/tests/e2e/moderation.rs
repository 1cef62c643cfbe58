//! Keeping people safe across organisations: moderators hide others' content on their own
//! node, the sanctions ladder and the appeal, and the audit log; the helpers the other
//! moderation suites share. Reports are in `moderation_reports.rs`.
#![allow(clippy::unwrap_used)]

use kindred_client::{Client, ClientError};
use kindred_protocol::api::*;
use kindred_protocol::{MemberId, Timestamp};
use kindred_tests::{PASSWORD, TestNode, eventually, pair};

pub(super) fn id(text: &str) -> MemberId {
    MemberId::parse(text).unwrap()
}

pub(super) async fn topic(admin: &Client) {
    admin
        .create_topic(&CreateTopic {
            name: "funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
}

pub(super) async fn post(client: &Client, title: &str) -> PostView {
    client
        .create_post(
            "funding",
            &NewPost {
                title: title.into(),
                body: format!("{title}: the body"),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap()
}

pub(super) fn report_of(target: ReportTarget, reason: ReportReason, note: &str) -> ReportRequest {
    ReportRequest {
        target,
        reason,
        note: note.into(),
    }
}

pub(super) async fn act(
    client: &Client,
    target: ReportTarget,
    action: ModerationAction,
    note: &str,
) {
    moderate(client, target, action, note, false).await;
}

/// As [`act`], with the decision shared with the organisations that follow this one.
pub(super) async fn act_shared(
    client: &Client,
    target: ReportTarget,
    action: ModerationAction,
    note: &str,
) {
    moderate(client, target, action, note, true).await;
}

async fn moderate(
    client: &Client,
    target: ReportTarget,
    action: ModerationAction,
    note: &str,
    share: bool,
) {
    client
        .moderate(&ModerationRequest {
            target,
            action,
            note: note.into(),
            share,
        })
        .await
        .unwrap();
}

pub(super) fn status(e: ClientError) -> u16 {
    match e {
        ClientError::Api { status, .. } => status,
        other => panic!("not an API refusal: {other}"),
    }
}

/// The notifications' texts of kind `moderation`.
pub(super) async fn moderation_news(client: &Client) -> Vec<String> {
    client
        .notifications(None)
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|n| n.kind == NotificationKind::Moderation)
        .map(|n| n.text)
        .collect()
}

/// A moderator hides another organisation's post, and one of its members, on their own
/// node: the reason shows in place, through an edit, a restart and a catch-up.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hidden_remote_content_stays_hidden() {
    let mut a = TestNode::organisation("a.test", "Riverside Hub").await;
    let c = TestNode::organisation("c.test", "Carers Together").await;
    let (admin_a, admin_c) = (a.admin().await, c.admin().await);
    pair(&admin_a, &admin_c).await;
    topic(&admin_c).await;
    let cal = c.member(&admin_c, "cal").await;
    let ceri = c.member(&admin_c, "ceri").await;
    let bo = a.member(&admin_a, "bo").await;
    let first = post(&cal, "First from cal").await;
    let other = post(&ceri, "From ceri").await;
    eventually(30, || async { bo.thread(&other.id).await.ok() }).await;
    eventually(30, || async { bo.thread(&first.id).await.ok() }).await;

    act(
        &admin_a,
        ReportTarget::Event(first.id),
        ModerationAction::Hide,
        "Shares a person's details",
    )
    .await;
    let seen = bo.thread(&first.id).await.unwrap().post;
    assert_eq!(seen.hidden.as_deref(), Some("Shares a person's details"));
    // Still shown at its own node.
    assert!(cal.thread(&first.id).await.unwrap().post.hidden.is_none());
    // An edit arriving later stays hidden.
    cal.edit(
        &first.id,
        &EditPost {
            title: Some("Edited title".into()),
            body: "edited".into(),
            tags: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();

    // A whole member: everything they write is hidden here, what is already here too.
    act(
        &admin_a,
        ReportTarget::Member(id("@ceri:c.test")),
        ModerationAction::Hide,
        "Repeated abuse",
    )
    .await;
    a.restart().await;
    let bo = a.client().login("bo", PASSWORD).await.unwrap().0;
    assert!(bo.thread(&first.id).await.unwrap().post.hidden.is_some());
    assert_eq!(
        bo.thread(&other.id).await.unwrap().post.hidden.as_deref(),
        Some("Repeated abuse")
    );
    let later = post(&ceri, "After the hide").await;
    let seen = eventually(30, || async { bo.thread(&later.id).await.ok() }).await;
    assert_eq!(seen.post.hidden.as_deref(), Some("Repeated abuse"));
    assert!(seen.post.body.is_empty());
    let edited = eventually(30, || async {
        let t = bo.thread(&first.id).await.ok()?;
        t.post.edited_at.is_some().then_some(t)
    })
    .await;
    assert!(edited.post.hidden.is_some() && edited.post.body.is_empty());

    let admin_a = a.client().login("admin", PASSWORD).await.unwrap().0;
    act(
        &admin_a,
        ReportTarget::Member(id("@ceri:c.test")),
        ModerationAction::Restore,
        "",
    )
    .await;
    assert!(bo.thread(&later.id).await.unwrap().post.hidden.is_none());
}

/// Warn, then suspend for two weeks, a month, then for good; a suspended member appeals
/// without signing in, once; a moderator who is not an admin cannot suspend.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sanctions_ladder_and_the_appeal() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let admin = a.admin().await;
    topic(&admin).await;
    let ann = a.member(&admin, "ann").await;
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
    let written = post(&ann, "A post").await;
    let by_post = ReportTarget::Event(written.id);

    act(
        &mo,
        by_post.clone(),
        ModerationAction::Warn,
        "Please keep it kind",
    )
    .await;
    let standing = ann.standing().await.unwrap();
    assert_eq!(standing.warnings, 1);
    assert!(standing.can_appeal);
    let news = moderation_news(&ann).await;
    assert!(news[0].contains("Please keep it kind"), "{news:?}");
    let refused = mo
        .moderate(&ModerationRequest {
            target: by_post.clone(),
            action: ModerationAction::Suspend,
            note: "again".into(),
            share: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status(refused), 403);
    // Nobody moderates themselves, and a reason is needed.
    let empty = admin
        .moderate(&ModerationRequest {
            target: by_post.clone(),
            action: ModerationAction::Suspend,
            note: " ".into(),
            share: false,
        })
        .await
        .unwrap_err();
    assert_eq!(status(empty), 400);

    let ann_id = || ReportTarget::Member(id("@ann:a.test"));
    let suspend = |note: &'static str| {
        let admin = admin.clone();
        async move {
            admin
                .moderate(&ModerationRequest {
                    target: ReportTarget::Member(id("@ann:a.test")),
                    action: ModerationAction::Suspend,
                    note: note.into(),
                    share: false,
                })
                .await
        }
    };
    let days_until = |done: &ModerationDone| {
        done.until.map(|t| {
            let left = t.as_millis() - Timestamp::now().as_millis();
            (left + 60_000) / (24 * 60 * 60 * 1000)
        })
    };
    let first = suspend("first").await.unwrap();
    assert_eq!(days_until(&first), Some(14));
    assert!(
        first.message.starts_with("Suspended for 14 days"),
        "{}",
        first.message
    );
    // Suspending again while suspended is refused, saying until when.
    let again = suspend("again").await.unwrap_err();
    assert_eq!(status(again), 409);
    let refused = a.client().login("ann", PASSWORD).await.unwrap_err();
    let ClientError::Api { code, message, .. } = refused else {
        panic!("a refusal");
    };
    assert_eq!(code, ErrorCode::Suspended);
    assert!(
        message.contains("moderators") && message.contains("review"),
        "{message}"
    );

    // The appeal, made without signing in; once; with the right password only.
    let appeal = SignedOutAppeal {
        credentials: LoginRequest {
            username: "ann".into(),
            password: PASSWORD.into(),
            device: None,
        },
        note: "I was quoting someone else".into(),
    };
    a.client().appeal_signed_out(&appeal).await.unwrap();
    let twice = a.client().appeal_signed_out(&appeal).await.unwrap_err();
    assert_eq!(status(twice), 409);
    let wrong = SignedOutAppeal {
        credentials: LoginRequest {
            password: "not it".into(),
            ..appeal.credentials.clone()
        },
        ..appeal
    };
    assert_eq!(
        status(a.client().appeal_signed_out(&wrong).await.unwrap_err()),
        401
    );
    let q = mo.moderation_queue().await.unwrap();
    let item = q.items.iter().find(|i| i.appeal.is_some()).unwrap();
    assert_eq!(item.appeal.as_deref(), Some("I was quoting someone else"));
    assert_eq!(item.target, ann_id());
    assert!(item.history.iter().any(|h| h.action == "suspend"));
    // Upheld: reinstated, and the overturned suspension does not count.
    act(
        &admin,
        ann_id(),
        ModerationAction::Reinstate,
        "Agreed on review",
    )
    .await;
    let (back, _) = a.client().login("ann", PASSWORD).await.unwrap();
    assert!(!back.standing().await.unwrap().suspended);
    assert_eq!(days_until(&suspend("second").await.unwrap()), Some(14));
    // Reinstated without an appeal, the ladder goes on: a month, then for good.
    act(&admin, ann_id(), ModerationAction::Reinstate, "").await;
    assert_eq!(days_until(&suspend("third").await.unwrap()), Some(30));
    act(&admin, ann_id(), ModerationAction::Reinstate, "").await;
    let last = suspend("fourth").await.unwrap();
    assert_eq!(last.until, None);
    assert!(
        last.message.starts_with("Suspended permanently"),
        "{}",
        last.message
    );
    // The Members page and moderation are one suspension.
    admin
        .update_member(
            "ann",
            &UpdateMember {
                role: None,
                suspended: Some(false),
            },
        )
        .await
        .unwrap();
    let (back, _) = a.client().login("ann", PASSWORD).await.unwrap();
    let standing = back.standing().await.unwrap();
    assert!(!standing.suspended && standing.suspended_until.is_none());

    let log = admin.moderation_audit(None).await.unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "reinstate",
            "suspend",
            "reinstate",
            "suspend",
            "reinstate",
            "suspend",
            "reinstate",
            "appeal",
            "suspend",
            "warn"
        ]
    );
}
