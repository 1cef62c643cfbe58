//! Notifications end to end: replies, reactions and mentoring events from another
//! organisation's node reach the member's notification list (API, badge), and go away
//! when retracted or blocked; email through a real SMTP server: confirming an address,
//! a chat message across nodes emailed once without its words, batching, what was seen
//! not sent, one-click unsubscribe without signing in, a queued email surviving a
//! restart, retries after a busy relay, and a refused address shown to the member.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use kindred_client::Client;
use kindred_protocol::api::*;
use kindred_protocol::{EventId, MemberId};
use kindred_tests::smtp_sink::{Mail, Mode, MovableClock, SmtpSink};
use kindred_tests::{TestNode, eventually, http, pair};

use super::trust_support::topic;

fn id(text: &str) -> MemberId {
    MemberId::parse(text).unwrap()
}

fn post(title: &str) -> NewPost {
    NewPost {
        title: title.into(),
        body: format!("Body of {title}"),
        tags: vec![],
        content_warning: None,
    }
}

/// Waits until `client` has a notification for `event`.
async fn notified(client: &Client, event: EventId) -> NotificationView {
    eventually(20, || async {
        client
            .notifications(None)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|n| n.event == Some(event))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replies_reactions_and_mentoring_from_another_node_are_notified() {
    let a = TestNode::organisation("a.test", "Riverside Hub").await;
    let b = TestNode::organisation("b.test", "Hillside Wellbeing").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    topic(&admin_a, "Burnout").await;
    topic(&admin_b, "Burnout").await;
    pair(&admin_a, &admin_b).await;
    let sam = a.member(&admin_a, "sam").await;
    let kim = b.member(&admin_b, "kim").await;

    let p = sam
        .create_post("Burnout", &post("After the event"))
        .await
        .unwrap();
    eventually(20, || async { kim.thread(&p.id).await.ok() }).await;
    let reply = kim
        .reply(
            &p.id,
            &NewReply {
                body: "We felt the same; rest days helped.".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let n = notified(&sam, reply.id).await;
    assert_eq!(n.kind, NotificationKind::Reply);
    assert_eq!(n.actor, Some(id("@kim:b.test")));
    assert_eq!(n.organisation.as_deref(), Some("Hillside Wellbeing"));
    assert_eq!(
        n.text,
        "kim (display) (Hillside Wellbeing) replied to your post “After the event”"
    );
    assert!(
        n.link.starts_with(&format!("/posts/{}", p.id)),
        "{}",
        n.link
    );
    assert!(!n.read);

    // Sam thanking Kim for her reply notifies Kim on her own node.
    sam.react(&reply.id, "thank-you").await.unwrap();
    let thanks = eventually(20, || async {
        kim.notifications(None)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|n| n.kind == NotificationKind::Reaction)
    })
    .await;
    assert!(
        thanks.text.starts_with(
            "sam (display) (Riverside Hub) reacted “Thank you” to your reply in “After the event”"
        ),
        "{}",
        thanks.text
    );
    assert!(
        sam.notifications(None)
            .await
            .unwrap()
            .items
            .iter()
            .all(|n| n.kind != NotificationKind::Reaction)
    );

    // Seen: the count goes to nothing, the items stay, marked read.
    let list = sam.notifications(None).await.unwrap();
    assert_eq!(list.unread, 1);
    // A mark far ahead stops at the newest notification: what comes later is unread.
    sam.mark_notifications_read(u64::MAX).await.unwrap();
    let list = sam.notifications(None).await.unwrap();
    assert_eq!(list.unread, 0);
    assert!(list.items[0].read);

    let later = kim
        .reply(
            &p.id,
            &NewReply {
                body: "One more thought".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    assert!(!notified(&sam, later.id).await.read);
    assert_eq!(sam.notifications(None).await.unwrap().unread, 1);
    kim.retract(&later.id, None).await.unwrap();

    // A retracted reply leaves nothing behind in the list.
    kim.retract(&reply.id, None).await.unwrap();
    eventually(20, || async {
        sam.notifications(None)
            .await
            .unwrap()
            .items
            .is_empty()
            .then_some(())
    })
    .await;

    // Mentoring: a request from Kim to Sam, and Sam's yes.
    sam.publish_offer(&PublishOffer {
        topics: vec!["burnout-and-wellbeing".into()],
        other_topics: String::new(),
        lived_experience: vec![],
        languages: vec!["English".into()],
        region: String::new(),
        mode: kindred_protocol::event::body::mentoring::Mode::Online,
        availability: kindred_protocol::event::body::mentoring::Availability {
            hours_per_month: 2,
            days: 1,
        },
        capacity: 1,
        bio: "Ran events for ten years".into(),
        prefers_other_orgs: false,
    })
    .await
    .unwrap();
    eventually(20, || async {
        kim.offers()
            .await
            .unwrap()
            .iter()
            .any(|o| o.mentor == id("@sam:a.test"))
            .then_some(())
    })
    .await;
    kim.create_request(&kindred_protocol::event::body::mentoring::BuddyRequest {
        topics: vec!["burnout-and-wellbeing".into()],
        goals: "Rest after big events".into(),
        languages: vec!["English".into()],
        region: String::new(),
        mode: kindred_protocol::event::body::mentoring::Mode::Either,
        availability: kindred_protocol::event::body::mentoring::Availability {
            hours_per_month: 2,
            days: 1,
        },
        must: vec![],
        nice_to_have: vec![],
        wants_other_org: true,
    })
    .await
    .unwrap();
    let proposal = kim
        .propose(&Propose {
            mentor: id("@sam:a.test"),
            note: "Could we talk about rest after big days?".into(),
            request: None,
        })
        .await
        .unwrap();
    let asked = notified(&sam, proposal.id).await;
    assert_eq!(asked.kind, NotificationKind::Mentoring);
    assert_eq!(
        asked.text,
        "kim (display) (Hillside Wellbeing) asked you to be their mentor"
    );
    assert_eq!(asked.link, format!("/mentoring/matches/{}", proposal.id));
    assert!(!asked.text.contains("rest after big days"));
    sam.answer(&proposal.id, true, None).await.unwrap();
    let yes = eventually(20, || async {
        kim.notifications(None)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|n| n.kind == NotificationKind::Mentoring)
    })
    .await;
    assert_eq!(
        yes.text,
        "sam (display) (Riverside Hub) said yes to being your mentor"
    );

    // Blocking someone hides what they did from the list.
    sam.block_member(&id("@kim:b.test")).await.unwrap();
    assert!(sam.notifications(None).await.unwrap().items.is_empty());
    assert_eq!(sam.notifications(None).await.unwrap().unread, 0);
}

/// The link in an email, by its path.
fn link_in(mail: &Mail, path: &str) -> String {
    let text = mail.readable();
    let start = text
        .find(path)
        .unwrap_or_else(|| panic!("{path} in {text}"));
    let from = text[..start].rfind("http").unwrap();
    let end = text[from..]
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .map_or(text.len(), |e| from + e);
    text[from..end].replace("&amp;", "&")
}

/// Sets `client`'s address and follows the link the node sends to it.
pub(super) async fn confirm_address(client: &Client, sink: &SmtpSink, address: &str) {
    let settings = client
        .update_email_settings(&UpdateEmailSettings {
            address: Some(address.into()),
            ..UpdateEmailSettings::default()
        })
        .await
        .unwrap();
    assert!(!settings.verified);
    let mail = eventually(20, || async { sink.mails_to(address).pop() }).await;
    assert!(
        mail.header("Subject")
            .unwrap()
            .contains("Confirm your email address")
    );
    assert!(mail.header("List-Unsubscribe").is_none());
    let link = link_in(&mail, "/email/verify");
    // A damaged link is refused and changes nothing.
    let bad = http()
        .get(format!("{}x", link.trim_end_matches(|c| c != '.')))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(!client.email_settings().await.unwrap().verified);
    let ok = http().get(&link).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert!(
        ok.text()
            .await
            .unwrap()
            .contains("Your email address is confirmed")
    );
    assert!(client.email_settings().await.unwrap().verified);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_chat_message_across_nodes_is_emailed_once_without_its_words() {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(MovableClock::default());
    let a = TestNode::start_with_clock(clock.clone(), |c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.node.organisation = "Riverside Hub".into();
        sink.configure(c);
        c.email.batch_minutes = 3;
    })
    .await;
    let b = TestNode::organisation("b.test", "Hillside Wellbeing").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;
    let sam = a.member(&admin_a, "sam").await;
    let kim = b.member(&admin_b, "kim").await;
    confirm_address(&sam, &sink, "sam@riverside.example").await;

    // Two messages within the batching time: one email, saying two, with neither's words.
    let c = kim
        .create_conversation(&CreateConversation {
            members: vec![id("@sam:a.test")],
            name: None,
        })
        .await
        .unwrap();
    for body in ["the zebrafinch report is late", "and the heron budget too"] {
        let m = kim
            .post_message(
                &c.id,
                &NewMessage {
                    body: body.into(),
                    reply_to: None,
                },
            )
            .await
            .unwrap();
        eventually(20, || async {
            sam.history(&c.id, None, None)
                .await
                .ok()?
                .items
                .iter()
                .any(|x| x.id == m.id)
                .then_some(())
        })
        .await;
    }
    // Nothing before the batching time is up. Reading the notification list (which never
    // shows chat) does not count as reading the messages.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(sink.mails_to("sam@riverside.example").len(), 1);
    sam.notifications(None).await.unwrap();
    sam.mark_notifications_read(u64::MAX).await.unwrap();
    clock.advance(4 * 60 * 1000);
    let mail = eventually(20, || async {
        let all = sink.mails_to("sam@riverside.example");
        (all.len() == 2).then(|| all[1].clone())
    })
    .await;
    let text = mail.readable();
    assert!(
        text.contains("kim (display) (Hillside Wellbeing) sent you 2 messages"),
        "{text}"
    );
    for secret in ["zebrafinch", "heron"] {
        assert!(
            !mail.raw.contains(secret) && !text.contains(secret),
            "{secret} in {text}"
        );
    }
    assert!(text.contains(&format!("/chat/{}", c.id)));
    // RFC 8058 one-click unsubscribe headers.
    let unsubscribe = mail.header("List-Unsubscribe").unwrap();
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    let url = unsubscribe.trim_matches(['<', '>']).to_owned();
    assert!(url.contains("choice=chat"), "{url}");

    // A message Sam reads on the website before the batching time is up is not sent.
    let m = kim
        .post_message(
            &c.id,
            &NewMessage {
                body: "seen already".into(),
                reply_to: None,
            },
        )
        .await
        .unwrap();
    eventually(20, || async {
        sam.history(&c.id, None, None)
            .await
            .ok()?
            .items
            .iter()
            .any(|x| x.id == m.id)
            .then_some(())
    })
    .await;
    sam.mark_read(&c.id, &m.id).await.unwrap();
    clock.advance(4 * 60 * 1000);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(sink.mails_to("sam@riverside.example").len(), 2);

    // One click in the mail program: no cookie, no form token.
    let page = http().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        sam.email_settings().await.unwrap().kinds.chat,
        "a GET changes nothing"
    );
    let done = http()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    let settings = sam.email_settings().await.unwrap();
    assert!(!settings.kinds.chat);
    assert!(settings.kinds.replies, "only chat emails stop");
    // A link changed to another member's does not work.
    let forged = url.replace("%40sam%3Aa.test", "%40admin%3Aa.test");
    assert_ne!(forged, url);
    let refused = http()
        .post(&forged)
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_queued_email_survives_a_restart_and_a_busy_relay() {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(MovableClock::default());
    let mut a = TestNode::start_with_clock(clock.clone(), |c| {
        sink.configure(c);
        c.email.batch_minutes = 0;
    })
    .await;
    let admin = a.admin().await;
    let sam = a.member(&admin, "sam").await;

    sink.set_mode(Mode::Busy);
    sam.update_email_settings(&UpdateEmailSettings {
        address: Some("sam@riverside.example".into()),
        ..UpdateEmailSettings::default()
    })
    .await
    .unwrap();
    eventually(20, || async { (sink.turned_away() >= 1).then_some(()) }).await;
    a.restart().await;
    // Still busy after the restart: the email is tried again once its wait is over.
    clock.advance(2 * 60 * 1000);
    eventually(20, || async { (sink.turned_away() >= 2).then_some(()) }).await;
    assert!(sink.mails().is_empty());
    sink.set_mode(Mode::Accept);
    clock.advance(5 * 60 * 1000);
    let mail = eventually(20, || async {
        sink.mails_to("sam@riverside.example").pop()
    })
    .await;
    assert!(mail.readable().contains("/email/verify"));
    assert_eq!(sink.mails().len(), 1, "sent once");

    // An email waiting for a busy relay is not sent to an address the member replaced.
    confirm_address(&sam, &sink, "sam@riverside.example").await;
    let topic_admin = admin.clone();
    super::trust_support::topic(&topic_admin, "Funding").await;
    let p = sam
        .create_post(
            "Funding",
            &NewPost {
                title: "Hello".into(),
                body: "Hi".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    sink.set_mode(Mode::Busy);
    let away = sink.turned_away();
    admin
        .reply(
            &p.id,
            &NewReply {
                body: "Welcome".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    eventually(20, || async { (sink.turned_away() > away).then_some(()) }).await;
    sam.update_email_settings(&UpdateEmailSettings {
        address: Some("sam.new@riverside.example".into()),
        ..UpdateEmailSettings::default()
    })
    .await
    .unwrap();
    // Both the reply's email and the new address's link were turned away, and are
    // waiting to be tried again (moving the clock on before then would only move their
    // next try on with it).
    eventually(20, || async {
        (sink.turned_away() > away + 1).then_some(())
    })
    .await;
    let delivered = sink.mails_to("sam@riverside.example").len();
    sink.set_mode(Mode::Accept);
    clock.advance(10 * 60 * 1000);
    eventually(20, || async {
        sink.mails_to("sam.new@riverside.example").pop()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        sink.mails_to("sam@riverside.example").len(),
        delivered,
        "nothing more to the old address"
    );

    // A relay that refuses the address for good: given up, and the member is told. (An
    // hour on: a member has three confirmation links an hour.)
    clock.advance(60 * 60 * 1000);
    sink.set_mode(Mode::Refuse);
    sam.update_email_settings(&UpdateEmailSettings {
        address: Some("nobody@riverside.example".into()),
        ..UpdateEmailSettings::default()
    })
    .await
    .unwrap();
    let failure = eventually(20, || async {
        sam.email_settings().await.unwrap().last_failure
    })
    .await;
    assert!(
        failure.contains("550") || failure.contains("no such mailbox"),
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_email_set_up_an_address_is_refused_clearly_and_the_test_command_says_why() {
    let a = TestNode::start().await;
    let admin = a.admin().await;
    let refused = admin
        .update_email_settings(&UpdateEmailSettings {
            address: Some("sam@riverside.example".into()),
            ..UpdateEmailSettings::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Unavailable));
    assert!(!admin.email_settings().await.unwrap().available);
    let why = kindred_server::send_test_email(&a.config, "x@y.example")
        .await
        .unwrap_err();
    assert!(why.contains("not set up"), "{why}");

    let sink = SmtpSink::start().await;
    let mut config = a.config.clone();
    sink.configure(&mut config);
    kindred_server::send_test_email(&config, "ops@riverside.example")
        .await
        .unwrap();
    assert_eq!(sink.mails_to("ops@riverside.example").len(), 1);
    assert!(
        kindred_server::send_test_email(&config, "not an address")
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_weekly_digest_gathers_three_nodes_learning_in_followed_topics() {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(MovableClock::default());
    let a = TestNode::start_with_clock(clock.clone(), |c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.node.organisation = "Riverside Hub".into();
        sink.configure(c);
        c.email.batch_minutes = 0;
    })
    .await;
    let b = TestNode::organisation("b.test", "Hillside Wellbeing").await;
    let c = TestNode::organisation("c.test", "Coastal Carers").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    for admin in [&admin_a, &admin_b, &admin_c] {
        topic(admin, "Funding").await;
        topic(admin, "Burnout").await;
    }
    pair(&admin_a, &admin_b).await;
    pair(&admin_a, &admin_c).await;
    let sam = a.member(&admin_a, "sam").await;
    let kim = b.member(&admin_b, "kim").await;
    let lee = c.member(&admin_c, "lee").await;
    confirm_address(&sam, &sink, "sam@riverside.example").await;
    let settings = sam
        .update_email_settings(&UpdateEmailSettings {
            topics: Some(vec!["funding".into()]),
            kinds: Some(EmailKinds {
                chat: false,
                replies: false,
                mentoring: false,
                reactions: false,
                moderation: false,
            }),
            ..UpdateEmailSettings::default()
        })
        .await
        .unwrap();
    assert_eq!(settings.topics, vec!["Funding".to_owned()]);
    assert_eq!(settings.digest, DigestFrequency::Weekly);
    let unknown = sam
        .update_email_settings(&UpdateEmailSettings {
            topics: Some(vec!["Knitting".into()]),
            ..UpdateEmailSettings::default()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Some(ErrorCode::BadRequest));

    let discussed = kim
        .create_post("Funding", &post("Our lottery bid, step by step"))
        .await
        .unwrap();
    let thanked = lee
        .create_post("Funding", &post("A budget template that worked"))
        .await
        .unwrap();
    let warned = lee
        .create_post(
            "Funding",
            &NewPost {
                content_warning: Some("job losses".into()),
                ..post("When the grant ended")
            },
        )
        .await
        .unwrap();
    let elsewhere = kim
        .create_post("Burnout", &post("Rest days after events"))
        .await
        .unwrap();
    for p in [discussed.id, thanked.id, warned.id, elsewhere.id] {
        eventually(20, || async { sam.thread(&p).await.ok() }).await;
    }
    for body in ["Thank you, this helps", "We did the same"] {
        sam.reply(
            &discussed.id,
            &NewReply {
                body: body.into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    }
    sam.reply(
        &elsewhere.id,
        &NewReply {
            body: "Yes".into(),
            reply_to: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();
    sam.reply(
        &warned.id,
        &NewReply {
            body: "So sorry".into(),
            reply_to: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();
    sam.react(&thanked.id, "thank-you").await.unwrap();
    let before = sink.mails_to("sam@riverside.example").len();
    clock.advance(8 * 24 * 60 * 60 * 1000);
    let digest = eventually(20, || async {
        sink.mails_to("sam@riverside.example")
            .into_iter()
            .skip(before)
            .find(|m| {
                m.header("Subject")
                    .is_some_and(|s| s.contains("what the network learned"))
            })
    })
    .await;
    let text = digest.readable();
    assert!(
        text.contains(
            "“Our lottery bid, step by step” (Hillside Wellbeing, in Funding; 2 replies)"
        ),
        "{text}"
    );
    assert!(
        text.contains("“A budget template that worked” (Coastal Carers, in Funding; 1 thanks)"),
        "{text}"
    );
    assert!(
        text.contains("A post with a content warning: job losses"),
        "{text}"
    );
    assert!(
        !text.contains("When the grant ended"),
        "a title under a warning: {text}"
    );
    assert!(
        !text.contains("Rest days after events"),
        "a topic not followed: {text}"
    );
    let unsubscribe = digest.header("List-Unsubscribe").unwrap();
    assert!(unsubscribe.contains("choice=digest"), "{unsubscribe}");
    // Sent once: the next is a week later.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let digests = sink
        .mails_to("sam@riverside.example")
        .iter()
        .filter(|m| {
            m.header("Subject")
                .is_some_and(|s| s.contains("what the network learned"))
        })
        .count();
    assert_eq!(digests, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_check_in_due_by_the_agreed_rhythm_reminds_on_the_web_and_by_email() {
    let sink = SmtpSink::start().await;
    let clock = Arc::new(MovableClock::default());
    let a = TestNode::start_with_clock(clock.clone(), |c| {
        sink.configure(c);
        c.email.batch_minutes = 0;
    })
    .await;
    let admin = a.admin().await;
    let sam = a.member(&admin, "sam").await;
    let kim = a.member(&admin, "kim").await;
    confirm_address(&sam, &sink, "sam@riverside.example").await;
    sam.publish_offer(&PublishOffer {
        topics: vec!["funding".into()],
        other_topics: String::new(),
        lived_experience: vec![],
        languages: vec!["English".into()],
        region: String::new(),
        mode: kindred_protocol::event::body::mentoring::Mode::Online,
        availability: kindred_protocol::event::body::mentoring::Availability {
            hours_per_month: 2,
            days: 1,
        },
        capacity: 1,
        bio: "Bids".into(),
        prefers_other_orgs: false,
    })
    .await
    .unwrap();
    kim.create_request(&kindred_protocol::event::body::mentoring::BuddyRequest {
        topics: vec!["funding".into()],
        goals: "A first bid".into(),
        languages: vec!["English".into()],
        region: String::new(),
        mode: kindred_protocol::event::body::mentoring::Mode::Either,
        availability: kindred_protocol::event::body::mentoring::Availability {
            hours_per_month: 2,
            days: 1,
        },
        must: vec![],
        nice_to_have: vec![],
        wants_other_org: false,
    })
    .await
    .unwrap();
    let proposal = kim
        .propose(&Propose {
            mentor: id("@sam:localhost"),
            note: String::new(),
            request: None,
        })
        .await
        .unwrap();
    // The request reaches Sam's list, and his email after the batching time.
    notified(&sam, proposal.id).await;
    let asked = eventually(20, || async {
        sink.mails_to("sam@riverside.example")
            .into_iter()
            .find(|m| m.readable().contains("asked you to be their mentor"))
    })
    .await;
    assert!(
        asked
            .readable()
            .contains(&format!("/mentoring/matches/{}", proposal.id))
    );
    sam.answer(&proposal.id, true, None).await.unwrap();

    // Two weeks on (no agreement yet: the default rhythm), both are reminded.
    clock.advance(15 * 24 * 60 * 60 * 1000);
    let reminder = eventually(30, || async {
        sam.notifications(None)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|n| n.kind == NotificationKind::Reminder)
    })
    .await;
    assert_eq!(
        reminder.text,
        "A check-in with kim (display) is due: a minute to say how your match is going"
    );
    assert_eq!(reminder.link, format!("/mentoring/matches/{}", proposal.id));
    eventually(30, || async {
        kim.notifications(None)
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|n| n.kind == NotificationKind::Reminder)
    })
    .await;
    eventually(20, || async {
        sink.mails_to("sam@riverside.example")
            .into_iter()
            .find(|m| {
                m.readable()
                    .contains("A check-in with kim (display) is due")
            })
    })
    .await;
    // The coordinator's dashboard counts the match as overdue.
    assert_eq!(admin.dashboard().await.unwrap().checkin_overdue, 1);
    // Given once per due date.
    tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    let reminders = sam
        .notifications(None)
        .await
        .unwrap()
        .items
        .iter()
        .filter(|n| n.kind == NotificationKind::Reminder)
        .count();
    assert_eq!(reminders, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_notifications_page_shows_and_clears_its_badge_and_email_settings_save() {
    let sink = SmtpSink::start().await;
    let a = TestNode::start_with(|c| sink.configure(c)).await;
    let admin = a.admin().await;
    topic(&admin, "Funding").await;
    let sam = a.member(&admin, "sam").await;
    let kim = a.member(&admin, "kim").await;
    let p = sam
        .create_post("Funding", &post("Our first bid"))
        .await
        .unwrap();
    let reply = kim
        .reply(
            &p.id,
            &NewReply {
                body: "Good luck".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    notified(&sam, reply.id).await;

    let mut web = kindred_tests::web::Browser::new(&a.url());
    web.sign_in("sam", kindred_tests::PASSWORD).await;
    let home = web.get("/").await;
    assert!(
        home.has("Notifications <span class=\"badge unread\">1 new</span>"),
        "{}",
        home.html
    );
    let list = web.get("/notifications").await;
    assert_eq!(list.status, 200);
    assert!(list.has("kim (display) ("), "{}", list.html);
    assert!(
        list.has(") replied to your post “Our first bid”"),
        "{}",
        list.html
    );
    assert!(list.has(&format!("/posts/{}?at={}", p.id, reply.id)));
    assert!(
        !list.has("class=\"badge unread\">1 new"),
        "the badge goes on the page itself"
    );
    let home = web.get("/").await;
    assert!(!home.has("1 new"), "seen");
    assert_eq!(sam.notifications(None).await.unwrap().unread, 0);

    // Reading the thread where a reply arrived is seeing it: not unread, not emailed.
    let again = kim
        .reply(
            &p.id,
            &NewReply {
                body: "And again".into(),
                reply_to: None,
                content_warning: None,
            },
        )
        .await
        .unwrap();
    notified(&sam, again.id).await;
    assert_eq!(sam.notifications(None).await.unwrap().unread, 1);
    let thread = web.get(&format!("/posts/{}", p.id)).await;
    assert_eq!(thread.status, 200);
    assert!(
        !thread.has("badge unread\">1 new"),
        "the thread page counts it seen"
    );
    let list = sam.notifications(None).await.unwrap();
    assert_eq!(list.unread, 0);
    assert!(
        list.items
            .iter()
            .find(|n| n.event == Some(again.id))
            .unwrap()
            .read
    );

    // Email settings through the form: the address waits for its confirmation.
    let saved = web
        .submit(
            "/settings/email",
            "/settings/email",
            &[
                ("address", "sam@riverside.example"),
                ("replies", "on"),
                ("digest", "daily"),
                ("topic", "Funding"),
                ("quiet_from", "22"),
                ("quiet_to", "7"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let page = web.get("/settings/email").await;
    assert!(
        page.has("We sent a link to <strong>sam@riverside.example</strong>"),
        "{}",
        page.html
    );
    let s = sam.email_settings().await.unwrap();
    assert!(!s.kinds.chat && s.kinds.replies && !s.kinds.mentoring);
    assert_eq!(s.digest, DigestFrequency::Daily);
    assert_eq!((s.quiet_from, s.quiet_to), (22, 7));
    assert_eq!(s.topics, vec!["Funding".to_owned()]);
    eventually(20, || async {
        sink.mails_to("sam@riverside.example").pop()
    })
    .await;
    // Saving other choices while the address waits sends no second link, and is no error.
    let again = web
        .submit(
            "/settings/email",
            "/settings/email",
            &[("address", "sam@riverside.example"), ("chat", "on")],
        )
        .await;
    assert_eq!(again.status, 303, "{}", again.html);
    assert!(sam.email_settings().await.unwrap().kinds.chat);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(sink.mails_to("sam@riverside.example").len(), 1);
    // A reaction taken back at once leaves nothing in the list.
    kim.react(&p.id, "me-too").await.unwrap();
    kim.unreact(&p.id, "me-too").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(
        sam.notifications(None)
            .await
            .unwrap()
            .items
            .iter()
            .all(|n| n.kind != NotificationKind::Reaction)
    );
    // A bad address is refused on its field.
    let bad = web
        .submit(
            "/settings/email",
            "/settings/email",
            &[("address", "sam at riverside")],
        )
        .await;
    assert_eq!(bad.status, 400);
    assert!(
        bad.has("does not look like an email address"),
        "{}",
        bad.html
    );
    // A form without its token changes nothing.
    let forged = web
        .post("/settings/email", &[("address", "evil@example.org")])
        .await;
    assert_ne!(forged.status, 303);
    assert_eq!(
        sam.email_settings().await.unwrap().address.as_deref(),
        Some("sam@riverside.example")
    );
    // A member cannot make the node email strangers: three confirmation links an hour.
    let mut confirm = None;
    for n in 1..=2 {
        let address = format!("someone{n}@elsewhere.example");
        sam.update_email_settings(&UpdateEmailSettings {
            address: Some(address.clone()),
            ..UpdateEmailSettings::default()
        })
        .await
        .unwrap();
        // Waited for before the next change: a link goes only to the address still
        // waiting for it, so a change before the mailer sends it drops it.
        let mail = eventually(20, || async { sink.mails_to(&address).pop() }).await;
        confirm.get_or_insert(mail);
    }
    let refused = sam
        .update_email_settings(&UpdateEmailSettings {
            address: Some("someone3@elsewhere.example".into()),
            ..UpdateEmailSettings::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::RateLimited));
    let removed = sam
        .update_email_settings(&UpdateEmailSettings {
            address: Some(String::new()),
            ..UpdateEmailSettings::default()
        })
        .await
        .unwrap();
    assert_eq!(removed.address, None);
    let still = sam
        .update_email_settings(&UpdateEmailSettings {
            address: Some("someone4@elsewhere.example".into()),
            ..UpdateEmailSettings::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        still.code(),
        Some(ErrorCode::RateLimited),
        "removing the address resets nothing"
    );
    let confirm = confirm.expect("two links sent");
    assert!(
        !confirm.readable().contains("sam (display)"),
        "a stranger is not greeted with a name the member chose"
    );
    sam.update_email_settings(&UpdateEmailSettings {
        address: Some("sam@riverside.example".into()),
        ..UpdateEmailSettings::default()
    })
    .await
    .unwrap_err();
}
