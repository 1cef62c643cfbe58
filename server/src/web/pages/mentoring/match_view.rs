//! How a match's page looks to one of its two people: the request, the agreement and who
//! proposed and confirmed it, check-ins (with who sees what), and how it ended. The
//! actions on it are in `matches.rs`.

use kindred_protocol::api::{AgreementStatus, MatchStatus, MatchView};
use kindred_protocol::event::body::mentoring::{Agreement, Closing, Fit};
use kindred_protocol::{MemberId, Timestamp};

use super::{CALENDAR_DATE, CLOSING_REASONS, status_code, status_text};
use crate::node::Node;
use crate::web::chrome::Chrome;
use crate::web::forms::Problems;
use crate::web::session::Viewer;
use crate::web::time::When;

struct CheckInItem {
    by_me: bool,
    who: String,
    pulse: &'static str,
    fit: Option<&'static str>,
    note: Option<String>,
    when: When,
}

fn pulse_text(pulse: u8) -> &'static str {
    match pulse {
        1 => "Hard going",
        2 => "Mixed",
        3 => "Going fine",
        _ => "Going well",
    }
}

fn fit_text(fit: Fit) -> &'static str {
    match fit {
        Fit::Good => "a good fit",
        Fit::Deciding => "still deciding",
        Fit::NotGood => "not a good fit",
    }
}

#[derive(askama::Template)]
#[template(path = "mentoring_match.html", whitespace = "minimize")]
pub(super) struct MatchPage {
    pub(super) chrome: Chrome,
    csrf: String,
    id: String,
    as_mentor: bool,
    other: String,
    status: &'static str,
    pending: bool,
    active: bool,
    note: String,
    answer_message: Option<String>,
    /// What both agreed.
    agreed: Option<AgreementBlock>,
    /// A proposal waiting for a confirmation.
    proposal: Option<AgreementBlock>,
    /// The proposal the viewer may confirm (its id), when the other person proposed it.
    confirm_id: Option<String>,
    /// The terms the "propose" form starts from.
    draft: Option<Agreement>,
    /// The draft's end as a date field's value.
    draft_ends: String,
    /// What the buddy's request asked for, in words, for the mentor.
    asked: Vec<(&'static str, String)>,
    checkins: Vec<CheckInItem>,
    checkin_due: bool,
    first_checkin: bool,
    closing: Option<Closing>,
    /// "Ann ended this match on 3 March 2027." when it has ended.
    ended: Option<String>,
    conversation: Option<String>,
    reasons: [&'static str; 4],
    pub(super) problems: Problems,
}

/// An agreement as the page shows it.
struct AgreementBlock {
    /// Goals as written.
    goals: String,
    /// "every week", "every 2 weeks".
    rhythm: String,
    /// Its end as people read it ("31 March 2027"), or empty.
    ends: String,
    /// Who proposed and confirmed it, in words ("Proposed by you on 3 March; confirmed by
    /// Ann on 4 March.").
    state: String,
}

/// `terms` with `status` in words for the viewer: names through `name_of`, days in `tz`.
fn agreement_block(
    terms: &Agreement,
    status: Option<&AgreementStatus>,
    name_of: &dyn Fn(&MemberId) -> String,
    waiting_for: &str,
    tz: &jiff::tz::TimeZone,
) -> AgreementBlock {
    let day = |t: Timestamp| crate::calendar::human_date(t.as_millis(), tz);
    let state = match status.map(|s| {
        (
            &s.proposed_by,
            s.proposed_at,
            &s.confirmed_by,
            s.confirmed_at,
        )
    }) {
        Some((Some(by), Some(at), Some(c), Some(cat))) => format!(
            "Proposed by {} on {}; confirmed by {} on {}.",
            name_of(by),
            day(at),
            name_of(c),
            day(cat)
        ),
        Some((Some(by), Some(at), _, _)) => format!(
            "Proposed by {} on {}; waiting for {waiting_for} to confirm it.",
            name_of(by),
            day(at)
        ),
        _ => "Written before agreements were confirmed: propose it again for you both to agree it."
            .to_owned(),
    };
    AgreementBlock {
        goals: terms.goals.clone(),
        rhythm: crate::calendar::every_days(u32::from(terms.rhythm_days)),
        ends: if terms.ends_at > 0 {
            crate::calendar::human_date(terms.ends_at, &CALENDAR_DATE)
        } else {
            String::new()
        },
        state,
    }
}

/// The page for `m` as `viewer` sees it.
pub(super) fn match_page(node: &Node, viewer: &Viewer, m: MatchView) -> MatchPage {
    let now = Timestamp::now();
    let as_mentor = m.role == "mentor";
    let me = &viewer.auth.member_id;
    let other = if as_mentor {
        m.buddy_name.clone()
    } else {
        m.mentor_name.clone()
    };
    let checkins: Vec<CheckInItem> = m
        .checkins
        .iter()
        .map(|c| CheckInItem {
            by_me: c.by == *me,
            who: if c.by == m.mentor {
                m.mentor_name.clone()
            } else {
                m.buddy_name.clone()
            },
            pulse: pulse_text(c.pulse),
            fit: c.fit.map(fit_text),
            note: c.note.clone(),
            when: When::new(c.at, now, &viewer.tz),
        })
        .collect();
    let name_of = |who: &MemberId| -> String {
        if who == me {
            "you".to_owned()
        } else if *who == m.mentor {
            m.mentor_name.clone()
        } else {
            m.buddy_name.clone()
        }
    };
    let day = |t: Timestamp| crate::calendar::human_date(t.as_millis(), &viewer.tz);
    let agreed = m.agreement.as_ref().map(|terms| {
        agreement_block(
            terms,
            m.agreement_status.as_ref(),
            &name_of,
            &other,
            &viewer.tz,
        )
    });
    let proposed_by_other = m
        .proposal_status
        .as_ref()
        .and_then(|s| s.proposed_by.as_ref())
        .is_some_and(|by| by != me);
    let waiting_for = if proposed_by_other {
        "you"
    } else {
        other.as_str()
    };
    let proposal = m.proposed_agreement.as_ref().map(|terms| {
        agreement_block(
            terms,
            m.proposal_status.as_ref(),
            &name_of,
            waiting_for,
            &viewer.tz,
        )
    });
    let confirm_id = m
        .proposal_status
        .as_ref()
        .filter(|_| proposed_by_other)
        .and_then(|s| s.id)
        .map(|id| id.to_string());
    // The live script redraws the agreement when this changes (see `tell_match`).
    let live_agreement = match (&m.proposal_status, &m.agreement_status) {
        (Some(p), _) => p.id.map(|id| id.to_string()).unwrap_or_default(),
        (None, Some(a)) => a.id.map(|id| format!("{id}+confirmed")).unwrap_or_default(),
        (None, None) => String::new(),
    };
    let draft = m.proposed_agreement.clone().or_else(|| m.agreement.clone());
    let asked = m
        .asked
        .as_ref()
        .map(|a| {
            let mut out = Vec::new();
            if !a.topics.is_empty() {
                out.push(("Topics", node.mentoring_topic_names(&a.topics)));
            }
            if !a.languages.is_empty() {
                // Kept folded for matching ("welsh"); read as a name ("Welsh").
                let names: Vec<String> = a
                    .languages
                    .iter()
                    .map(|l| {
                        let mut c = l.chars();
                        c.next()
                            .map(|f| f.to_uppercase().chain(c).collect())
                            .unwrap_or_default()
                    })
                    .collect();
                out.push(("Languages", names.join(", ")));
            }
            out.push(("How to meet", super::mode_text(a.mode).to_owned()));
            out
        })
        .unwrap_or_default();
    let ended = m.closed_at.map(|at| match &m.closed_by {
        Some(by) if by == me => format!("You ended this match on {}.", day(at)),
        Some(by) => format!("{} ended this match on {}.", name_of(by), day(at)),
        None => format!("This match ended on {}.", day(at)),
    });
    let mut chrome = Chrome::member(node, viewer, format!("Match with {other}"), "/mentoring");
    chrome.live_data.push(("match", m.id.to_string()));
    chrome.live_data.push(("agreement", live_agreement));
    chrome
        .live_data
        .push(("match-status", status_code(m.status)));
    MatchPage {
        chrome,
        csrf: viewer.csrf.clone(),
        id: m.id.to_string(),
        as_mentor,
        status: status_text(m.status),
        pending: m.status == MatchStatus::Pending,
        active: m.status == MatchStatus::Active,
        note: m.note.clone(),
        answer_message: m.answer_message.clone(),
        draft_ends: draft
            .as_ref()
            .filter(|a| a.ends_at > 0)
            .map(|a| crate::calendar::date_value(a.ends_at, &CALENDAR_DATE))
            .unwrap_or_default(),
        draft,
        agreed,
        proposal,
        confirm_id,
        asked,
        ended,
        first_checkin: !checkins.iter().any(|c| c.by_me),
        checkins,
        checkin_due: m.checkin_due,
        closing: m.closing.clone(),
        conversation: m.conversation.map(|c| c.to_string()),
        reasons: CLOSING_REASONS,
        problems: Problems::default(),
        other,
    }
}
