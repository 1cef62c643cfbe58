//! Keeping people safe beyond one node's queue: nothing hidden is emailed, moderation
//! decisions shared between organisations (reviewed, adopted or ignored), and
//! safeguarding referrals that reach only the home node's leads.
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::EventId;
use kindred_protocol::api::*;
use kindred_tests::{TestNode, eventually, pair};

use super::moderation::{act, act_shared, id, post, status, topic};

/// Nothing hidden here reaches anyone by email: no notification (so no email) about a
/// hidden member's reply, and the moderators' own words stay on the website.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hidden_content_is_not_emailed() {
    use kindred_tests::smtp_sink::{MovableClock, SmtpSink};
    let sink = SmtpSink::start().await;
    let clock = std::sync::Arc::new(MovableClock::default());
    let a = TestNode::start_with_clock(clock.clone(), |c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        sink.configure(c);
        c.email.batch_minutes = 1;
    })
    .await;
    let admin = a.admin().await;
    topic(&admin).await;
    let sam = a.member(&admin, "sam").await;
    let pest = a.member(&admin, "pest").await;
    let kit = a.member(&admin, "kit").await;
    super::notifications::confirm_address(&sam, &sink, "sam@riverside.example").await;
    sam.update_email_settings(&UpdateEmailSettings {
        previews: Some(true),
        ..UpdateEmailSettings::default()
    })
    .await
    .unwrap();
    let mine = post(&sam, "Grant tips").await;
    act(
        &admin,
        ReportTarget::Member(id("@pest:a.test")),
        ModerationAction::Hide,
        "Harassment",
    )
    .await;
    let reply = |who: &Client, body: &'static str| {
        let who = who.clone();
        async move {
            who.reply(
                &mine.id,
                &NewReply {
                    body: body.into(),
                    reply_to: None,
                    content_warning: None,
                },
            )
            .await
            .unwrap()
        }
    };
    reply(&pest, "wombat harassing words").await;
    let visible = reply(&kit, "narwhal kind words").await;
    eventually(20, || async {
        let n = sam.notifications(None).await.ok()?;
        n.items
            .iter()
            .any(|i| i.event == Some(visible.id))
            .then_some(())
    })
    .await;
    let list = sam.notifications(None).await.unwrap();
    assert_eq!(list.items.len(), 1, "{:?}", list.items);
    clock.advance(2 * 60 * 1000);
    let mail = eventually(20, || async {
        sink.mails_to("sam@riverside.example")
            .into_iter()
            .find(|m| m.readable().contains("narwhal"))
    })
    .await;
    let text = mail.readable();
    assert!(!text.contains("wombat"), "{text}");
    assert!(!text.contains("pest"), "{text}");

    // A warning's words stay on the website: the email only says there is news.
    act(
        &admin,
        ReportTarget::Member(id("@sam:a.test")),
        ModerationAction::Warn,
        "Please do not share the quokka list",
    )
    .await;
    clock.advance(2 * 60 * 1000);
    let news = eventually(20, || async {
        sink.mails_to("sam@riverside.example")
            .into_iter()
            .find(|m| m.readable().contains("moderators"))
    })
    .await;
    assert!(!news.readable().contains("quokka"), "{}", news.readable());
}

/// A node shares a decision to hide another organisation's post: a paired node reviews
/// it by default, follows it once its admin chose to adopt that node's decisions, and
/// shows the post again when the deciding node does.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn shared_decisions_are_reviewed_adopted_or_ignored() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let b = TestNode::organisation("b.test", "County Partnership").await;
    let c = TestNode::organisation("c.test", "Carers Together").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    pair(&admin_a, &admin_b).await;
    pair(&admin_c, &admin_b).await;
    topic(&admin_c).await;
    let cal = c.member(&admin_c, "cal").await;
    let bo = b.member(&admin_b, "bo").await;
    let first = post(&cal, "First").await;
    let second = post(&cal, "Second").await;
    for id in [first.id, second.id] {
        eventually(30, || async { admin_a.thread(&id).await.ok() }).await;
        eventually(30, || async { bo.thread(&id).await.ok() }).await;
    }
    let hide = |id: EventId, note: &'static str| {
        act_shared(
            &admin_a,
            ReportTarget::Event(id),
            ModerationAction::Hide,
            note,
        )
    };
    hide(first.id, "Shares a client's address").await;
    // B reviews A's decisions by default: a queue item, nothing hidden yet.
    let queue = eventually(30, || async {
        let q = admin_b.moderation_queue().await.ok()?;
        (!q.items.is_empty()).then_some(q)
    })
    .await;
    let report = &queue.items[0].reports[0];
    assert_eq!(report.decision, Some(DecisionAction::Hide));
    assert_eq!(report.note.as_deref(), Some("Shares a client's address"));
    assert_eq!(report.from_organisation, "Riverside Hub");
    assert!(bo.thread(&first.id).await.unwrap().post.hidden.is_none());
    // B follows A from now on.
    let a_id = a.client().health().await.unwrap().node_id;
    let set = admin_b
        .set_peer_decisions(&a_id.to_string(), DecisionPolicy::Adopt)
        .await
        .unwrap();
    assert_eq!(set.policy, DecisionPolicy::Adopt);
    let peers = admin_b.peers().await.unwrap();
    assert_eq!(
        peers.iter().find(|p| p.node_id == a_id).unwrap().decisions,
        DecisionPolicy::Adopt
    );
    hide(second.id, "Spam").await;
    let hidden = eventually(30, || async {
        let p = bo.thread(&second.id).await.ok()?.post;
        p.hidden
    })
    .await;
    assert_eq!(hidden, "Spam (following Riverside Hub's moderators)");
    // A shows it again: B follows.
    act_shared(
        &admin_a,
        ReportTarget::Event(second.id),
        ModerationAction::Restore,
        "Checked: a real offer",
    )
    .await;
    eventually(30, || async {
        bo.thread(&second.id)
            .await
            .ok()?
            .post
            .hidden
            .is_none()
            .then_some(())
    })
    .await;
    let log = admin_b.moderation_audit(None).await.unwrap();
    let actions: Vec<&str> = log.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["adopted_restore", "adopted_hide"]);
    // Ignored: a new decision changes nothing at B.
    admin_b
        .set_peer_decisions(&a_id.to_string(), DecisionPolicy::Ignore)
        .await
        .unwrap();
    hide(second.id, "Spam again").await;
    // A's next post comes after the decision in A's log: once B has it, B has read that.
    topic(&admin_a).await;
    let later = post(&admin_a, "After the decision").await;
    eventually(30, || async { bo.thread(&later.id).await.ok() }).await;
    assert!(bo.thread(&second.id).await.unwrap().post.hidden.is_none());
    let queue = admin_b.moderation_queue().await.unwrap();
    assert!(
        queue
            .items
            .iter()
            .all(|i| i.target != ReportTarget::Event(second.id))
    );
    // C's own member: its moderators are at C, which leaves A's decision alone.
    assert!(cal.thread(&first.id).await.unwrap().post.hidden.is_none());
    assert!(admin_c.moderation_queue().await.unwrap().items.is_empty());
    // Members cannot choose; a node unknown here cannot be chosen for.
    assert_eq!(
        status(
            bo.set_peer_decisions(&a_id.to_string(), DecisionPolicy::Ignore)
                .await
                .unwrap_err()
        ),
        403
    );
}

/// A post hidden at B while B's moderators look at reports, then hidden by A whose
/// decisions B follows: it stays hidden for A's reason when B dismisses the reports.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_followed_decision_outlasts_the_reports_it_meets() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let b = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("b.test").unwrap();
        c.node.organisation = "County Partnership".into();
        c.moderation.hide_after_reports = 1;
    })
    .await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;
    topic(&admin_a).await;
    let ann = a.member(&admin_a, "ann").await;
    let bo = b.member(&admin_b, "bo").await;
    let offer = post(&ann, "Cheap loans").await;
    eventually(30, || async { bo.thread(&offer.id).await.ok() }).await;
    bo.report(&ReportRequest {
        target: ReportTarget::Event(offer.id),
        reason: ReportReason::Guidelines,
        note: String::new(),
    })
    .await
    .unwrap();
    let hidden = bo.thread(&offer.id).await.unwrap().post.hidden;
    assert_eq!(
        hidden.as_deref(),
        Some("Hidden while moderators look at reports about it.")
    );
    let a_id = a.client().health().await.unwrap().node_id;
    admin_b
        .set_peer_decisions(&a_id.to_string(), DecisionPolicy::Adopt)
        .await
        .unwrap();
    act_shared(
        &admin_a,
        ReportTarget::Event(offer.id),
        ModerationAction::Hide,
        "Spam",
    )
    .await;
    let reason: String = eventually(30, || async {
        let p = bo.thread(&offer.id).await.ok()?.post;
        p.hidden.filter(|h| h.starts_with("Spam"))
    })
    .await;
    assert_eq!(reason, "Spam (following Riverside Hub's moderators)");
    // A shows it again: B's own reports still stand, and hide it until B looks.
    let share = |action: ModerationAction| {
        act_shared(&admin_a, ReportTarget::Event(offer.id), action, "Spam")
    };
    share(ModerationAction::Restore).await;
    eventually(30, || async {
        let p = bo.thread(&offer.id).await.ok()?.post;
        (p.hidden.as_deref() == Some("Hidden while moderators look at reports about it."))
            .then_some(())
    })
    .await;
    // B's log says why, naming whose post the reports are about.
    let log = admin_b.moderation_audit(None).await.unwrap();
    let why = log
        .items
        .iter()
        .find(|e| e.action == "hidden_by_reports" && e.note == "still reported here")
        .unwrap();
    assert_eq!(why.author, Some(id("@ann:a.test")));
    share(ModerationAction::Hide).await;
    eventually(30, || async {
        let p = bo.thread(&offer.id).await.ok()?.post;
        (p.hidden.as_deref() == Some(reason.as_str())).then_some(())
    })
    .await;
    act(
        &admin_b,
        ReportTarget::Event(offer.id),
        ModerationAction::Dismiss,
        "",
    )
    .await;
    let after = bo.thread(&offer.id).await.unwrap().post.hidden;
    assert_eq!(after.as_deref(), Some(reason.as_str()));
}

/// A moderator at A raises a safeguarding concern about a member of B: only B's
/// safeguarding lead reads it (not B's admin, not the member), acknowledges it, and A's
/// moderator is told; both sides log it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_safeguarding_referral_reaches_only_the_home_nodes_leads() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let b = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("b.test").unwrap();
        c.node.organisation = "County Partnership".into();
        c.moderation.safeguarding_leads = vec!["lee".into()];
        c.privacy.safeguarding_lead = "Lee Jones, 01234 567890".into();
    })
    .await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;
    topic(&admin_b).await;
    let lee = b.member(&admin_b, "lee").await;
    let bo = b.member(&admin_b, "bo").await;
    let worrying = post(&bo, "I can't go on like this").await;
    let leads_post = post(&lee, "Who to talk to here").await;
    eventually(30, || async { admin_a.thread(&worrying.id).await.ok() }).await;
    eventually(30, || async { admin_a.thread(&leads_post.id).await.ok() }).await;
    let member = a.member(&admin_a, "ann").await;

    // Members cannot raise one.
    let refused = member
        .refer(&NewReferral {
            member: id("@bo:b.test"),
            content: vec![worrying.id],
            concern: "worried".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status(refused), 403);
    let sent = admin_a
        .refer(&NewReferral {
            member: id("@bo:b.test"),
            content: vec![worrying.id],
            concern: "Bo's post reads as a risk to themselves; please check in today.".into(),
        })
        .await
        .unwrap();
    assert!(sent.sent);
    assert_eq!(sent.organisation, "County Partnership");

    let received = eventually(30, || async {
        let r = lee.referrals().await.ok()?;
        (!r.is_empty()).then_some(r)
    })
    .await;
    let r = &received[0];
    assert!(!r.sent);
    assert_eq!(r.member, id("@bo:b.test"));
    assert_eq!(r.content, vec![worrying.id]);
    assert_eq!(r.referrer, id("@admin:a.test"));
    assert_eq!(r.organisation, "Riverside Hub");
    assert!(r.concern.contains("check in today"));
    // B's admin is not a lead: nothing received is shown to them; the member sees nothing.
    assert!(admin_b.referrals().await.unwrap().is_empty());
    assert_eq!(status(bo.referrals().await.unwrap_err()), 403);
    assert!(
        bo.notifications(None)
            .await
            .unwrap()
            .items
            .iter()
            .all(|n| !n.text.contains("safeguarding"))
    );
    let news = lee.notifications(None).await.unwrap();
    assert!(
        news.items
            .iter()
            .any(|n| n.text.contains("safeguarding concern"))
    );
    assert_eq!(
        status(admin_b.acknowledge_referral(r.id).await.unwrap_err()),
        403
    );

    lee.acknowledge_referral(r.id).await.unwrap();
    let acked = eventually(30, || async {
        let r = admin_a.referrals().await.ok()?;
        r.into_iter().find(|r| r.acknowledged_at.is_some())
    })
    .await;
    assert_eq!(acked.acknowledged_by, Some(id("@lee:b.test")));
    eventually(10, || async {
        let told = admin_a.notifications(None).await.ok()?;
        told.items
            .iter()
            .any(|n| n.text.contains("has read the concern"))
            .then_some(())
    })
    .await;
    for log in [
        admin_a.moderation_audit(None).await.unwrap(),
        admin_b.moderation_audit(None).await.unwrap(),
    ] {
        assert!(log.items.iter().any(|e| e.action.starts_with("referral_")));
    }

    // A concern about the lead themselves: never shown to them; with no other lead, B's
    // admins read it instead.
    admin_a
        .refer(&NewReferral {
            member: id("@lee:b.test"),
            content: vec![],
            concern: "A member says Lee was dismissive about a disclosure.".into(),
        })
        .await
        .unwrap();
    let about_lee = eventually(30, || async {
        let r = admin_b.referrals().await.ok()?;
        r.into_iter().find(|r| r.member == id("@lee:b.test"))
    })
    .await;
    assert!(
        lee.referrals()
            .await
            .unwrap()
            .iter()
            .all(|r| r.member != id("@lee:b.test"))
    );
    assert_eq!(
        status(lee.acknowledge_referral(about_lee.id).await.unwrap_err()),
        403
    );
    assert!(
        lee.moderation_audit(None).await.is_err(),
        "lee is not an admin"
    );
    admin_b.acknowledge_referral(about_lee.id).await.unwrap();
    // Content named in a concern must be something the member wrote.
    let wrong = admin_a
        .refer(&NewReferral {
            member: id("@lee:b.test"),
            content: vec![worrying.id],
            concern: "x".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(status(wrong), 400);
}
