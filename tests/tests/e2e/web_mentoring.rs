//! Mentoring pages over real HTTP with JavaScript off, across two organisations: an offer,
//! a request, the explained shortlist, a proposal, the mentor's answer, the first message,
//! the agreement, a check-in, closing; and the coordinator's dashboard and cohort round.
#![allow(clippy::unwrap_used)]

use kindred_tests::web::{Browser, Page};
use kindred_tests::{PASSWORD, TestNode, pair};

/// The first `/mentoring/matches/<id>` link on a page.
fn match_path(page: &Page) -> String {
    let start = page.html.find("/mentoring/matches/").unwrap();
    let end = start + page.html[start..].find('"').unwrap();
    page.html[start..end].to_owned()
}

async fn publish_offer(browser: &mut Browser, topic: &str) {
    let done = browser
        .submit(
            "/mentoring/offer",
            "/mentoring/offer",
            &[
                ("topic", topic),
                ("topic", "volunteers"),
                ("languages", "English"),
                ("mode", "online"),
                ("hours", "4"),
                ("day", "1"),
                ("capacity", "2"),
                ("bio", "Ten years of grant bids for small charities."),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.html);
}

#[tokio::test]
async fn a_buddy_and_a_mentor_at_two_organisations_are_matched_from_the_web() {
    let a = TestNode::organisation("alpha.test", "Alpha Community Health").await;
    let b = TestNode::organisation("beta.test", "Beta Wellbeing Hub").await;
    let admin_a = a.admin().await;
    let admin_b = b.admin().await;
    pair(&admin_a, &admin_b).await;
    a.member(&admin_a, "mo").await;
    b.member(&admin_b, "bea").await;
    let mut mo = Browser::new(&a.url());
    mo.sign_in("mo", PASSWORD).await;
    let mut bea = Browser::new(&b.url());
    bea.sign_in("bea", PASSWORD).await;

    // The offer form names topics as people write them (issue 23, item 13).
    let form = mo.get("/mentoring/offer").await;
    assert!(form.has("Co-production") && !form.has("Co production"));
    assert!(!form.has("Meet every how many days"));
    // Mo offers to mentor; a mistake first.
    let overview = mo.get("/mentoring").await;
    assert!(overview.has("Offer to mentor or buddy"));
    let wrong = mo
        .submit("/mentoring/offer", "/mentoring/offer", &[("hours", "0")])
        .await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.has("id=\"topics-error\""));
    assert!(wrong.has("id=\"hours-error\""));
    publish_offer(&mut mo, "funding").await;
    let overview = mo.get("/mentoring").await;
    assert!(overview.has("Your offer is <strong>open</strong>, with 2 of 2 places free."));
    assert!(overview.has("Topics: Funding, Volunteers."));

    // Bea asks for help with funding and gets an explained shortlist with Mo on it.
    let asked = bea
        .submit(
            "/mentoring/ask",
            "/mentoring/ask",
            &[
                ("topic", "funding"),
                ("goals", "Confidence writing my first grant bid"),
                ("languages", "English"),
                ("mode", "either"),
                ("hours", "2"),
                ("c_topics", "must"),
                ("c_language", "nice"),
                ("c_other_org", "nice"),
            ],
        )
        .await;
    assert_eq!(asked.status, 303, "{}", asked.html);
    assert_eq!(asked.location.as_deref(), Some("/mentoring/suggestions"));
    let shortlist = bea
        .page_with("/mentoring/suggestions", "Alpha Community Health")
        .await;
    assert!(shortlist.has("Why this suggestion"));
    assert!(shortlist.has("Ten years of grant bids"));
    let csrf = shortlist.csrf();
    let request = shortlist.field_value("request").unwrap();
    let proposed = bea
        .post(
            "/mentoring/propose",
            &[
                ("_csrf", &csrf),
                ("mentor", "@mo:alpha.test"),
                ("request", &request),
                (
                    "note",
                    "Hello Mo, I would love some help with my first bid.",
                ),
            ],
        )
        .await;
    assert_eq!(proposed.status, 303, "{}", proposed.html);
    let at_bea = proposed.location.clone().unwrap();
    assert!(bea.get(&at_bea).await.has("Waiting for an answer"));

    // Mo sees who is waiting, reads the note and says yes.
    let overview = mo
        .page_with("/mentoring", "is waiting for your answer")
        .await;
    let at_mo = match_path(&overview);
    assert_eq!(at_mo, at_bea, "the same match id at both nodes");
    let proposal = mo.get(&at_mo).await;
    assert!(proposal.has("I would love some help with my first bid."));
    let answered = mo
        .submit(
            &at_mo,
            &format!("{at_mo}/answer"),
            &[("answer", "accept"), ("message", "Happy to help!")],
        )
        .await;
    assert_eq!(answered.status, 303, "{}", answered.html);
    let accepted = mo.follow(&answered).await;
    assert!(accepted.has("Your answer is sent."));
    assert!(accepted.has("Message "));

    // Bea sees the match, the kind word, and messages Mo in their private conversation.
    let matched = bea.page_with(&at_bea, "Happy to help!").await;
    assert!(matched.has("<strong>Matched</strong>"));
    let start = matched.html.find("href=\"/chat/").unwrap() + "href=\"".len();
    let chat = matched.html[start..start + matched.html[start..].find('"').unwrap()].to_owned();
    // The conversation is made by Mo's node and reaches Bea's a moment later.
    bea.page_with(&chat, "Your message").await;
    let sent = bea
        .submit(
            &chat,
            &format!("{chat}/send"),
            &[("body", "Thank you Mo! When suits you?")],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    mo.page_with(&chat, "When suits you?").await;

    // The agreement, then a first check-in with the fit; the note stays private.
    let agreed = bea
        .submit(
            &at_bea,
            &format!("{at_bea}/agreement"),
            &[
                ("goals", "A first bid by March\r\nA second funder"),
                ("rhythm_days", "14"),
                ("ends_on", "2027-03-31"),
            ],
        )
        .await;
    assert_eq!(agreed.status, 303, "{}", agreed.html);
    let mine = bea.follow(&agreed).await;
    assert!(mine.has("<h2 id=\"agreement-title\">Proposed agreement</h2>"));
    assert!(
        mine.has("Proposed by you on") && !mine.has("waiting for you"),
        "{}",
        mine.html
    );
    // Mo reads Bea's proposal as she wrote it (line breaks kept) and confirms it.
    let to_confirm = mo.page_with(&at_mo, "A first bid by March").await;
    assert!(
        to_confirm.has("A first bid by March\nA second funder"),
        "{}",
        to_confirm.html
    );
    assert!(to_confirm.has("waiting for you to confirm it."));
    let marker = "name=\"agreement\" value=\"";
    let start = to_confirm.html.find(marker).unwrap() + marker.len();
    let proposal_id = to_confirm.html[start..start + 64].to_owned();
    let confirmed = mo
        .submit(
            &at_mo,
            &format!("{at_mo}/agreement/confirm"),
            &[("agreement", proposal_id.as_str())],
        )
        .await;
    assert_eq!(confirmed.status, 303, "{}", confirmed.html);
    assert!(mo.follow(&confirmed).await.has("What you agreed"));
    let both = bea.page_with(&at_bea, "confirmed by").await;
    assert!(both.has("<h2 id=\"agreement-title\">What you agreed</h2>"));
    let missing = bea
        .submit(&at_bea, &format!("{at_bea}/checkins"), &[("note", "x")])
        .await;
    assert_eq!(missing.status, 400);
    assert!(missing.has("id=\"pulse-error\""));
    let checked = bea
        .submit(
            &at_bea,
            &format!("{at_bea}/checkins"),
            &[
                ("pulse", "4"),
                ("fit", "good"),
                ("note", "Felt listened to"),
            ],
        )
        .await;
    assert_eq!(checked.status, 303, "{}", checked.html);
    let page = bea.follow(&checked).await;
    assert!(page.has("You: Going well · first meeting: a good fit"));
    assert!(page.has("Your private note: Felt listened to"));
    let at_mo_page = mo.page_with(&at_mo, "Going well").await;
    assert!(!at_mo_page.has("Felt listened to"), "the note is private");
    assert!(
        !at_mo_page.has("first meeting: a good fit"),
        "the fit is private unless shared"
    );
    assert!(page.has("Who sees what:"), "the form says who sees what");

    // The coordinator's dashboard at B counts it, with a chart and the same figures as a
    // table; then the match ends.
    let mut coordinator = Browser::new(&b.url());
    coordinator.sign_in("admin", PASSWORD).await;
    let dashboard = coordinator.get("/admin/mentoring").await;
    assert_eq!(dashboard.status, 200);
    assert!(dashboard.has("<strong>1</strong> match under way"));
    assert!(dashboard.has("<svg viewBox="));
    assert!(dashboard.has("role=\"img\""));
    assert!(dashboard.has("<caption>Mentoring activity per week"));
    assert!(!dashboard.has("grant bid"), "counts only, never content");
    assert!(dashboard.has("href=\"/admin/mentoring/counts.csv\""));
    let csv = coordinator.get("/admin/mentoring/counts.csv").await;
    assert_eq!(csv.status, 200);
    assert!(csv.has("active_matches,,,1"), "{}", csv.html);
    // Ending a match asks first, keeping what was typed.
    let ask = bea
        .submit(
            &at_bea,
            &format!("{at_bea}/close"),
            &[("reason", "Goals met"), ("rating", "5")],
        )
        .await;
    assert_eq!(ask.status, 200, "{}", ask.html);
    assert!(ask.has("End this match?"));
    assert!(
        ask.has("name=\"reason\" value=\"Goals met\""),
        "{}",
        ask.html
    );
    let closed = bea
        .submit(
            &at_bea,
            &format!("{at_bea}/close"),
            &[
                ("reason", "Goals met"),
                ("rating", "5"),
                ("confirmed", "yes"),
            ],
        )
        .await;
    assert_eq!(closed.status, 303, "{}", closed.html);
    let overview = bea.get("/mentoring").await;
    assert!(
        overview.has("No current matches; earlier ones are listed below.")
            && !overview.has("None yet."),
        "{}",
        overview.html
    );
    let ended = bea.follow(&closed).await;
    assert!(ended.has("You ended this match on"), "{}", ended.html);
    assert!(
        ended.has("Your reflection: Goals met · 5 out of 5."),
        "{}",
        ended.html
    );
    let dashboard = coordinator.get("/admin/mentoring").await;
    assert!(dashboard.has("Goals met: 1") || dashboard.has("goals met: 1"));
    assert!(
        dashboard.has("<td>1</td><td>1</td><td>1</td>"),
        "this week: 1 request, 1 match, 1 ended"
    );
}

#[tokio::test]
async fn a_coordinator_runs_reviews_and_sends_a_cohort_round_from_the_web() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    for name in ["mo", "max", "bea", "bo"] {
        node.member(&admin, name).await;
    }
    for mentor in ["mo", "max"] {
        let mut b = Browser::new(&node.url());
        b.sign_in(mentor, PASSWORD).await;
        publish_offer(&mut b, "funding").await;
    }
    for buddy in ["bea", "bo"] {
        let mut b = Browser::new(&node.url());
        b.sign_in(buddy, PASSWORD).await;
        let asked = b
            .submit(
                "/mentoring/ask",
                "/mentoring/ask",
                &[
                    ("topic", "funding"),
                    ("goals", "Help with bids"),
                    ("languages", "English"),
                    ("mode", "either"),
                    ("hours", "2"),
                    ("c_topics", "must"),
                ],
            )
            .await;
        assert_eq!(asked.status, 303, "{}", asked.html);
    }

    let mut coordinator = Browser::new(&node.url());
    coordinator.sign_in("admin", PASSWORD).await;
    let ran = coordinator
        .submit("/admin/mentoring", "/admin/mentoring/rounds", &[])
        .await;
    assert_eq!(ran.status, 303, "{}", ran.html);
    let round_path = ran.location.clone().unwrap();
    let review = coordinator.follow(&ran).await;
    assert!(review.has("Send 2 proposals"), "{}", review.html);
    assert!(review.has("<h3 class=\"small-heading\">Why</h3>"));

    // Leave one pair out, then send the other.
    let start =
        review.html.find("name=\"drop\" value=\"").unwrap() + "name=\"drop\" value=\"".len();
    let request = review.html[start..start + review.html[start..].find('"').unwrap()].to_owned();
    let edited = coordinator
        .submit(
            &round_path,
            &format!("{round_path}/edit"),
            &[("drop", &request)],
        )
        .await;
    assert_eq!(edited.status, 303, "{}", edited.html);
    let review = coordinator.follow(&edited).await;
    assert!(review.has("Send 1 proposal"));
    let sent = coordinator
        .submit(&round_path, &format!("{round_path}/send"), &[])
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    let done = coordinator.follow(&sent).await;
    assert!(done.has("The proposals are sent to the mentors."));
    assert!(done.has("This round has been sent"));
    let dashboard = coordinator.get("/admin/mentoring").await;
    assert!(dashboard.has("<strong>1</strong> waiting for an answer"));
}
