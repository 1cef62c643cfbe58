//! `kindred-cli report`, `kindred-cli moderation` and `kindred-cli standing`.

use anyhow::bail;
use kindred_client::Client;
use kindred_protocol::api::{
    ModerationAction, ModerationRequest, ReportReason, ReportRequest, ReportTarget,
};

use super::args::{ActionArg, ModerationCommand, ReasonArg};
use super::commands::erased::Json;
use super::commands::{parse_member, post_id};
use super::output;

type Print<'a> = dyn Fn(String, &dyn Json) -> anyhow::Result<()> + 'a;

/// A member id (`@name:node`), or a post, reply or message id (a post or reply also by
/// its first 8 or more characters).
pub(crate) async fn target(client: &Client, what: &str) -> anyhow::Result<ReportTarget> {
    let what = what.trim();
    if what.starts_with('@') {
        return Ok(ReportTarget::Member(parse_member(what)?));
    }
    if !what.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!(
            "{what:?} is neither a member id (like @sam:riverside.example) nor an id of a post, reply or message (letters 0-9 and a-f)"
        );
    }
    if what.len() < 64 {
        // Posts and replies can be named by the start of their id; messages cannot.
        return match post_id(client, what).await {
            Ok(id) => Ok(ReportTarget::Event(id)),
            Err(e) => Err(e.context(
                "a chat message is named by its whole id (64 characters, as `chat history --json` shows)",
            )),
        };
    }
    Ok(ReportTarget::Event(post_id(client, what).await?))
}

/// Files a report.
pub(crate) async fn report(
    client: &Client,
    target: ReportTarget,
    reason: ReasonArg,
    note: String,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    let reason = match reason {
        ReasonArg::Harmful => ReportReason::Harmful,
        ReasonArg::Safety => ReportReason::Safety,
        ReasonArg::Spam => ReportReason::Spam,
        ReasonArg::Misinformation => ReportReason::Misinformation,
        ReasonArg::Guidelines => ReportReason::Guidelines,
        ReasonArg::Other => ReportReason::Other,
    };
    let filed = client
        .report(&ReportRequest {
            target,
            reason,
            note,
        })
        .await?;
    let mut text = filed.message.clone();
    if reason == ReportReason::Safety {
        text.push_str(
            "\nIf someone is in danger now, do not wait for the moderators: see the help lines on your organisation's Help page.",
        );
    }
    print(text, &filed)
}

/// The moderators' commands.
pub(crate) async fn moderation(
    client: &Client,
    cmd: ModerationCommand,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    match cmd {
        ModerationCommand::Queue => {
            let queue = client.moderation_queue().await?;
            let mut lines = Vec::new();
            for item in &queue.items {
                let what = match &item.target {
                    ReportTarget::Event(id) => format!("{} {id}", item.kind),
                    ReportTarget::Member(m) => format!("person {m}"),
                };
                lines.push(format!("{what} by {}", item.author_label));
                if !item.excerpt.is_empty() {
                    lines.push(format!("  “{}”", item.excerpt.replace('\n', " ")));
                }
                if let Some(h) = &item.hidden {
                    lines.push(format!("  hidden here: {h}"));
                }
                if let Some(appeal) = &item.appeal {
                    lines.push(format!("  APPEAL: {appeal}"));
                }
                for r in &item.reports {
                    let from = match &r.reporter {
                        Some(m) => m.to_string(),
                        None => format!("a member of {}", r.from_organisation),
                    };
                    let note = r
                        .note
                        .as_deref()
                        .map(|n| format!(": {n}"))
                        .unwrap_or_default();
                    lines.push(format!(
                        "  {}  {} from {from}{note}",
                        output::time(r.at),
                        r.reason.label()
                    ));
                }
                if !item.home_here {
                    lines.push("  written at another organisation: you can hide it here".into());
                }
            }
            if lines.is_empty() {
                lines.push("Nothing to review.".to_owned());
            }
            print(lines.join("\n"), &queue)
        }
        ModerationCommand::Act {
            what,
            action,
            note,
            yes,
            share,
        } => {
            let action = match action {
                ActionArg::Dismiss => ModerationAction::Dismiss,
                ActionArg::Hide => ModerationAction::Hide,
                ActionArg::Restore => ModerationAction::Restore,
                ActionArg::Retract => ModerationAction::Retract,
                ActionArg::Warn => ModerationAction::Warn,
                ActionArg::Suspend => ModerationAction::Suspend,
                ActionArg::Reinstate => ModerationAction::Reinstate,
            };
            let hard = matches!(
                action,
                ModerationAction::Retract | ModerationAction::Suspend
            );
            if hard && !yes {
                bail!(
                    "{} cannot be undone by itself: run the command again with --yes to go ahead.",
                    if action == ModerationAction::Retract {
                        "Taking it down everywhere"
                    } else {
                        "A suspension signs them out at once and"
                    }
                );
            }
            let target = target(client, &what).await?;
            let done = client
                .moderate(&ModerationRequest {
                    target,
                    action,
                    note,
                    share,
                })
                .await?;
            let mut text = done.message.clone();
            if let Some(until) = done.until {
                text.push_str(&format!(" Until {}.", output::time(until)));
            }
            print(text, &done)
        }
        ModerationCommand::Log { before, csv } => {
            if csv {
                let csv = client.moderation_audit_csv().await?;
                return print(csv.trim_end().to_owned(), &csv);
            }
            let log = client.moderation_audit(before).await?;
            let mut lines: Vec<String> = log
                .items
                .iter()
                .map(|e| {
                    let by =
                        e.by.as_ref()
                            .map_or_else(|| "automatic".to_owned(), ToString::to_string);
                    let about = e
                        .author
                        .as_ref()
                        .map_or_else(|| e.target.to_string(), ToString::to_string);
                    format!(
                        "{:>5}  {}  {by}  {}  {about}  {}",
                        e.seq,
                        output::time(e.at),
                        e.action,
                        e.note
                    )
                })
                .collect();
            if lines.is_empty() {
                lines.push("No moderation actions yet.".to_owned());
            }
            if let Some(older) = log.next_before {
                lines.push(format!(
                    "Older ones: kindred-cli moderation log --before {older}"
                ));
            }
            print(lines.join("\n"), &log)
        }
    }
}

/// The member's standing, and their appeal.
pub(crate) async fn standing(
    client: &Client,
    appeal: Option<String>,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    if let Some(note) = appeal {
        client.appeal(&note).await?;
    }
    let s = client.standing().await?;
    let mut lines = Vec::new();
    if s.suspended {
        lines.push(match s.suspended_until {
            Some(t) => format!("Your account is suspended until {}.", output::time(t)),
            None => "Your account is suspended.".to_owned(),
        });
    } else if s.paused {
        lines.push(
            "Your posting is paused while moderators look at reports; you can still read."
                .to_owned(),
        );
    } else if s.warnings > 0 {
        lines.push(format!("Warnings from the moderators: {}.", s.warnings));
    } else {
        lines.push("Nothing to say: the moderators have not needed to contact you.".to_owned());
    }
    if let Some(n) = &s.last_note {
        lines.push(format!("Their last words: “{n}”"));
    }
    if s.appeal_pending {
        lines.push("Your request for a review is with the moderators.".to_owned());
    } else if s.can_appeal {
        lines.push(
            "You can ask once for a review: kindred-cli standing --appeal \"why\"".to_owned(),
        );
    }
    print(lines.join("\n"), &s)
}

/// Shows or changes the member's mutes and break.
pub(crate) async fn safety(
    client: &Client,
    cmd: super::args::SafetyCommand,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    use super::args::SafetyCommand;
    let settings = match cmd {
        SafetyCommand::Show => client.safety().await?,
        SafetyCommand::Set {
            mute,
            unmute,
            mute_topic,
            unmute_topic,
            break_days,
            end_break,
        } => {
            let current = client.safety().await?;
            for u in &unmute {
                let folded = kindred_protocol::text::fold(u.trim());
                if !current
                    .muted_words
                    .iter()
                    .any(|w| kindred_protocol::text::fold(w.trim()) == folded)
                {
                    eprintln!("{u:?} was not muted.");
                }
            }
            let same = |a: &str, b: &str| {
                kindred_protocol::text::fold(a.trim()) == kindred_protocol::text::fold(b.trim())
            };
            let mut words: Vec<String> = current
                .muted_words
                .into_iter()
                .filter(|w| !unmute.iter().any(|u| same(u, w)))
                .collect();
            words.extend(mute);
            let mut topics: Vec<String> = current
                .muted_topics
                .into_iter()
                .filter(|t| !unmute_topic.iter().any(|u| same(u, t)))
                .collect();
            topics.extend(mute_topic);
            client
                .update_safety(&kindred_protocol::api::UpdateSafety {
                    muted_words: Some(words),
                    muted_topics: Some(topics),
                    break_days: if end_break { Some(0) } else { break_days },
                })
                .await?
        }
    };
    let mut lines = vec![
        if settings.muted_words.is_empty() {
            "No muted words.".to_owned()
        } else {
            format!("Muted words: {}", settings.muted_words.join(", "))
        },
        if settings.muted_topics.is_empty() {
            "No muted topics.".to_owned()
        } else {
            format!("Muted topics: {}", settings.muted_topics.join(", "))
        },
    ];
    if let Some(until) = settings.break_until {
        lines.push(format!(
            "On a break until {}: out of the directory, no badges or emails.",
            output::time(until)
        ));
    }
    print(lines.join("\n"), &settings)
}

/// Safeguarding referrals.
pub(crate) async fn safeguarding(
    client: &Client,
    cmd: super::args::SafeguardingCommand,
    print: &Print<'_>,
) -> anyhow::Result<()> {
    use super::args::SafeguardingCommand as C;
    match cmd {
        C::List => {
            let all = client.referrals().await?;
            let mut lines = Vec::new();
            for r in &all {
                let state = match (r.acknowledged_at, &r.acknowledged_by) {
                    (Some(t), Some(by)) => format!("read by {by} {}", output::time(t)),
                    _ => "not read yet".to_owned(),
                };
                if r.sent {
                    lines.push(format!(
                        "{:>4}  sent {} to {} about {}: {state}",
                        r.id,
                        output::time(r.at),
                        r.organisation,
                        r.member_label
                    ));
                } else {
                    lines.push(format!(
                        "{:>4}  from {} ({}) {} about {}: {state}\n      {}\n      reach them: {}",
                        r.id,
                        r.referrer,
                        r.organisation,
                        output::time(r.at),
                        r.member_label,
                        r.concern.replace('\n', " "),
                        r.contact
                    ));
                }
            }
            if lines.is_empty() {
                lines.push("No safeguarding concerns.".to_owned());
            }
            print(lines.join("\n"), &all)
        }
        C::Refer {
            member,
            concern,
            content,
        } => {
            let content = content
                .iter()
                .map(|c| super::commands::parse_id(c))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let sent = client
                .refer(&kindred_protocol::api::NewReferral {
                    member: parse_member(&member)?,
                    content,
                    concern,
                })
                .await?;
            print(
                format!(
                    "Sent to {}'s safeguarding leads. You will be told when one has read it.",
                    sent.organisation
                ),
                &sent,
            )
        }
        C::Ack { id } => {
            let r = client.acknowledge_referral(id).await?;
            print(
                format!("Marked as read; {} has been told.", r.organisation),
                &r,
            )
        }
    }
}
