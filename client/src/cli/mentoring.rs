//! `kindred-cli mentor|buddy|matches|cohort|mentoring`.

use std::io::IsTerminal;

use anyhow::{Context, bail};
use kindred_client::Client;
use kindred_protocol::api::{
    CohortRound, Dashboard, EditRound, MatchView, NewCheckIn, Propose, PublishOffer,
};
use kindred_protocol::event::body::mentoring::{
    Agreement, Availability, BuddyRequest, Closing, Fit, Weighted,
};

use super::args::*;
use super::commands::erased::Json;
use super::commands::{parse_id, parse_member};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn availability(a: &AvailabilityArgs) -> anyhow::Result<Availability> {
    let mut days = 0u8;
    for d in &a.days {
        let d = d.trim().to_lowercase();
        let i = DAYS
            .iter()
            .position(|x| d.starts_with(x))
            .with_context(|| format!("{d:?} is not a day (mon, tue, ... sun)"))?;
        days |= 1 << i;
    }
    Ok(Availability {
        hours_per_month: a.hours,
        days,
    })
}

/// A proposal or match given by its full id or, as git takes commit ids, any unique start
/// of it of 8 or more characters among the member's own.
async fn match_id(client: &Client, text: &str) -> anyhow::Result<kindred_protocol::EventId> {
    let text = text.trim().to_ascii_lowercase();
    if text.len() == 64 || text.len() < 8 {
        return parse_id(&text);
    }
    let all = client.matches().await?;
    let mut found = all.iter().filter(|m| m.id.to_hex().starts_with(&text));
    match (found.next(), found.next()) {
        (Some(m), None) => Ok(m.id),
        (Some(_), Some(_)) => {
            bail!("more than one of your matches starts with {text}; type more of its id")
        }
        (None, _) => bail!(
            "none of your proposals or matches has an id starting with {text} (kindred-cli matches list shows them)"
        ),
    }
}

/// An agreement's terms under a heading, goals indented line by line.
fn agreement_text(
    heading: &str,
    a: &kindred_protocol::event::body::mentoring::Agreement,
) -> String {
    // The end is a calendar day, kept as 00:00 UTC of that day.
    let until = jiff::Timestamp::from_millisecond(i64::try_from(a.ends_at).unwrap_or(0))
        .ok()
        .filter(|_| a.ends_at > 0)
        .map(|t| format!(", until {}", t.strftime("%-d %B %Y")))
        .unwrap_or_default();
    format!(
        "\n    {heading} ({}{until}):\n      {}",
        kindred_protocol::text::every_days(u32::from(a.rhythm_days)),
        a.goals.replace('\n', "\n      ")
    )
}

fn match_line(m: &MatchView) -> String {
    let other = if m.role == "mentor" {
        format!("buddy {} ({})", m.buddy_name, m.buddy)
    } else {
        format!("mentor {} ({})", m.mentor_name, m.mentor)
    };
    let status = serde_json::to_string(&m.status)
        .unwrap_or_default()
        .replace('"', "");
    let mut line = format!("{status}: {other}\n    id {}", m.id);
    if m.checkin_due {
        line.push_str(&format!(
            "\n    check-in due: kindred-cli matches checkin {} --pulse 1-4",
            m.id
        ));
    }
    if let Some(c) = &m.conversation {
        line.push_str(&format!(
            "\n    conversation {c} (kindred-cli chat read {c})"
        ));
    }
    let who = |id: &kindred_protocol::MemberId| -> String {
        if *id == m.buddy {
            format!("the buddy ({})", m.buddy_name)
        } else if *id == m.mentor {
            format!("the mentor ({})", m.mentor_name)
        } else {
            id.to_string()
        }
    };
    if let Some(a) = &m.agreement {
        line.push_str(&agreement_text("agreed", a));
        if let Some(s) = &m.agreement_status
            && let (Some(by), Some(c), Some(at)) = (&s.proposed_by, &s.confirmed_by, s.confirmed_at)
        {
            line.push_str(&format!(
                "\n    proposed by {}, confirmed by {} on {}",
                who(by),
                who(c),
                super::output::time(at)
            ));
        }
    }
    if let Some(a) = &m.proposed_agreement {
        let heading = if m.agreement.is_some() {
            "proposed change (what you agreed stands until it is confirmed)"
        } else {
            "proposed agreement"
        };
        line.push_str(&agreement_text(heading, a));
        if let Some(s) = &m.proposal_status
            && let Some(by) = &s.proposed_by
        {
            line.push_str(&format!("\n    proposed by {}", who(by)));
            if let Some(aid) = s.id {
                line.push_str(&format!(
                    "; the other person confirms it with: kindred-cli matches confirm {} --agreement {aid}",
                    m.id
                ));
            }
        }
    }
    if let Some(a) = &m.asked {
        line.push_str(&format!(
            "\n    asked for: {} ({}; {})",
            a.topics.join(", "),
            a.languages.join(", "),
            match a.mode {
                kindred_protocol::event::body::mentoring::Mode::Online => "online",
                kindred_protocol::event::body::mentoring::Mode::InPerson => "in person",
                kindred_protocol::event::body::mentoring::Mode::Either => "online or in person",
            }
        ));
    }
    if let Some(at) = m.closed_at {
        let by = m
            .closed_by
            .as_ref()
            .map(|b| format!(" by {}", who(b)))
            .unwrap_or_default();
        line.push_str(&format!("\n    ended {}{by}", super::output::time(at)));
        if let Some(c) = &m.closing {
            line.push_str(&format!(
                "\n    your reflection (private): {}{}",
                c.reason,
                if c.rating > 0 {
                    format!(", {}/5", c.rating)
                } else {
                    String::new()
                }
            ));
        }
    }
    for c in &m.checkins {
        let who = if c.by == m.buddy { "buddy" } else { "mentor" };
        let how = match c.pulse {
            1 => "hard going",
            2 => "mixed",
            3 => "going fine",
            _ => "going well",
        };
        let fit = match c.fit {
            Some(Fit::Good) => ", first meeting: a good fit",
            Some(Fit::Deciding) => ", first meeting: still deciding",
            Some(Fit::NotGood) => ", first meeting: not a good fit",
            None => "",
        };
        let fit = if c.fit.is_some() && !c.fit_shared {
            format!("{fit} (only you see the fit)")
        } else {
            fit.to_owned()
        };
        line.push_str(&format!(
            "\n    check-in by the {who}, {}: {how} ({}/4){fit}",
            super::output::time(c.at),
            c.pulse
        ));
    }
    line
}

type Print<'a> = dyn Fn(String, &dyn Json) -> anyhow::Result<()> + 'a;

pub(crate) async fn mentor(
    client: &Client,
    cmd: MentorCommand,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    let view = match cmd {
        MentorCommand::Topics => {
            let topics = client.mentoring_topics().await?;
            return print(topics.join("\n"), &topics);
        }
        MentorCommand::Offer {
            topics,
            other,
            lived_experience,
            languages,
            region,
            mode,
            availability: av,
            capacity,
            bio,
            prefer_other_orgs,
        } => {
            client
                .publish_offer(&PublishOffer {
                    topics,
                    other_topics: other,
                    lived_experience,
                    languages,
                    region,
                    mode: mode.into(),
                    availability: availability(&av)?,
                    capacity,
                    bio,
                    prefers_other_orgs: prefer_other_orgs,
                })
                .await?
        }
        MentorCommand::Pause => client.offer_action("pause").await?,
        MentorCommand::Resume => client.offer_action("resume").await?,
        MentorCommand::Withdraw => client.offer_action("withdraw").await?,
    };
    let status = match view.offer.status {
        kindred_protocol::event::body::mentoring::OfferStatus::Open => "open",
        kindred_protocol::event::body::mentoring::OfferStatus::Paused => "paused",
        kindred_protocol::event::body::mentoring::OfferStatus::Withdrawn => "withdrawn",
    };
    print(
        format!(
            "Your offer is {status}, with {} of {} free.",
            view.offer.places_left,
            kindred_protocol::text::count(u64::from(view.offer.capacity), "place", "places")
        ),
        &view,
    )
}

pub(crate) async fn buddy(
    client: &Client,
    cmd: BuddyCommand,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    match cmd {
        BuddyCommand::Request {
            topics,
            goals,
            languages,
            region,
            mode,
            availability: av,
            must,
            nice,
            other_org,
        } => {
            let nice_to_have = nice
                .iter()
                .map(|n| {
                    let (c, w) = n.split_once('=').unwrap_or((n, "50"));
                    Ok(Weighted {
                        criterion: c.trim().to_owned(),
                        weight: w.trim().parse().context("a weight is 0 to 100")?,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let r = client
                .create_request(&BuddyRequest {
                    topics,
                    goals,
                    languages,
                    region,
                    mode: mode.into(),
                    availability: availability(&av)?,
                    must,
                    nice_to_have,
                    wants_other_org: other_org,
                })
                .await?;
            print(
                format!(
                    "Request {} recorded (it stays on your node). See suggestions with: kindred-cli buddy suggestions",
                    r.id
                ),
                &r,
            )
        }
        BuddyCommand::Suggestions { limit } => {
            let suggestions = client.suggestions(Some(limit)).await?;
            let text = if suggestions.is_empty() {
                "No mentor fits yet. Offers from other organisations arrive as they are published."
                    .to_owned()
            } else {
                suggestions
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let not_fitting = if s.trade_offs.is_empty() {
                            String::new()
                        } else {
                            format!("\n    does not fit: {}", s.trade_offs.join("; "))
                        };
                        format!(
                            "{}. {} ({}, {}) - score {:.0}\n    why: {}{not_fitting}\n    ask: kindred-cli buddy propose {} --note \"...\"",
                            i + 1,
                            s.offer.mentor_name,
                            s.offer.mentor,
                            s.offer.organisation,
                            s.score,
                            s.reasons.join("; "),
                            s.offer.mentor
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            };
            print(text, &suggestions)
        }
        BuddyCommand::Propose { mentor, note } => {
            let m = client
                .propose(&Propose {
                    mentor: parse_member(&mentor)?,
                    note,
                    request: None,
                })
                .await?;
            print(
                format!(
                    "Proposal sent to {}. You will hear when they answer.",
                    m.mentor_name
                ),
                &m,
            )
        }
    }
}

pub(crate) async fn matches(
    client: &Client,
    cmd: MatchesCommand,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    let view = match cmd {
        MatchesCommand::List => {
            let all = client.matches().await?;
            let text = if all.is_empty() {
                "No proposals or matches yet.".to_owned()
            } else {
                all.iter().map(match_line).collect::<Vec<_>>().join("\n")
            };
            return print(text, &all);
        }
        MatchesCommand::Show { id } => client.get_match(&match_id(client, &id).await?).await?,
        MatchesCommand::Accept { id, message } => {
            client
                .answer(&match_id(client, &id).await?, true, message)
                .await?
        }
        MatchesCommand::Decline { id, message } => {
            client
                .answer(&match_id(client, &id).await?, false, message)
                .await?
        }
        MatchesCommand::Agree {
            id,
            goals,
            rhythm_days,
        } => {
            client
                .agree(
                    &match_id(client, &id).await?,
                    &Agreement {
                        goals,
                        rhythm_days,
                        ends_at: 0,
                    },
                )
                .await?
        }
        MatchesCommand::Confirm { id, agreement } => {
            let id = match_id(client, &id).await?;
            // Confirm exactly what was read: the proposal named, or the one shown here
            // and agreed to at a prompt.
            let proposal = match agreement {
                Some(aid) => parse_id(&aid)?,
                None => {
                    let m = client.get_match(&id).await?;
                    let (Some(terms), Some(aid)) = (
                        m.proposed_agreement.as_ref(),
                        m.proposal_status.as_ref().and_then(|s| s.id),
                    ) else {
                        bail!("there is no proposed agreement to confirm on this match");
                    };
                    if !std::io::stdin().is_terminal() {
                        bail!(
                            "name the agreement you read: --agreement {aid} (kindred-cli matches show {id} prints it)"
                        );
                    }
                    eprintln!(
                        "{}",
                        agreement_text("proposed agreement", terms).trim_start()
                    );
                    eprint!("Confirm this agreement? [y/N] ");
                    let mut answer = String::new();
                    std::io::stdin().read_line(&mut answer)?;
                    if !answer.trim().eq_ignore_ascii_case("y") {
                        bail!("not confirmed");
                    }
                    aid
                }
            };
            client.confirm_agreement(&id, &proposal).await?
        }
        MatchesCommand::Checkin {
            id,
            pulse,
            fit,
            note,
            share_fit,
        } => {
            let fit = match fit.as_deref() {
                None => None,
                Some("good") => Some(Fit::Good),
                Some("deciding") => Some(Fit::Deciding),
                Some("not-good") => Some(Fit::NotGood),
                Some(other) => bail!("unknown fit {other:?}"),
            };
            client
                .check_in(
                    &match_id(client, &id).await?,
                    &NewCheckIn {
                        pulse,
                        fit,
                        note,
                        share_fit,
                    },
                )
                .await?
        }
        MatchesCommand::Close { id, reason, rating } => {
            client
                .close_match(&match_id(client, &id).await?, &Closing { reason, rating })
                .await?
        }
        MatchesCommand::Reflect { id, reason, rating } => {
            client
                .reflect(&match_id(client, &id).await?, &Closing { reason, rating })
                .await?
        }
    };
    print(match_line(&view), &view)
}

fn round_text(r: &CohortRound) -> String {
    let mut lines = vec![format!(
        "Round {} ({}): {} pairs, total score {:.0}",
        r.id,
        r.status,
        r.pairs.len(),
        r.total_score
    )];
    for p in &r.pairs {
        lines.push(format!(
            "  request {}: {} with {} ({}) - {:.0}\n      why: {}",
            p.request,
            p.buddy,
            p.mentor_name,
            p.mentor,
            p.score,
            p.reasons.join("; ")
        ));
        if let Some(why) = &p.not_sent {
            lines.push(format!("      not sent: {why}"));
        }
    }
    if !r.unmatched.is_empty() {
        lines.push(format!("  no eligible mentor: {}", r.unmatched.join(", ")));
    }
    lines.join("\n")
}

pub(crate) async fn cohort(
    client: &Client,
    cmd: CohortCommand,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    let round = match cmd {
        CohortCommand::Run => client.run_round().await?,
        CohortCommand::Review { id } => client.round(&id).await?,
        CohortCommand::Drop { id, request } => {
            client
                .edit_round(
                    &id,
                    &EditRound {
                        drop: vec![request],
                        reassign: vec![],
                    },
                )
                .await?
        }
        CohortCommand::Send { id } => client.send_round(&id).await?,
    };
    print(round_text(&round), &round)
}

pub(crate) fn dashboard_text(d: &Dashboard) -> String {
    let closed: Vec<String> = d.closed.iter().map(|(r, n)| format!("{r}: {n}")).collect();
    format!(
        "open requests {}\npending proposals {}\nactive matches {}\ncheck-in overdue {}\nat risk {}\nclosed: {}\nfirst-meeting fit: good {}, deciding {}, not good {}\naverage days to match: {}",
        d.open_requests,
        d.pending_proposals,
        d.active_matches,
        d.checkin_overdue,
        d.at_risk,
        if closed.is_empty() {
            "none".to_owned()
        } else {
            closed.join(", ")
        },
        d.fit[0],
        d.fit[1],
        d.fit[2],
        d.average_days_to_match
            .map(|x| format!("{x:.1}"))
            .unwrap_or_else(|| "-".to_owned())
    )
}
