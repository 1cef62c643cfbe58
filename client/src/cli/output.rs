//! How `kindred-cli` prints things for people (`--json` prints the API's JSON instead).

use kindred_protocol::Timestamp;
use kindred_protocol::api::{PostView, StreamMessage, TopicView};
use kindred_protocol::text::count;

/// "29 Nov 2026 21:16 GMT": a time in this computer's time zone.
pub(crate) fn time(ts: Timestamp) -> String {
    // In this computer's time zone, as other command-line tools show times.
    time_in(ts, jiff::tz::TimeZone::system())
}

fn time_in(ts: Timestamp, zone: jiff::tz::TimeZone) -> String {
    i64::try_from(ts.as_millis())
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.to_zoned(zone).strftime("%-d %b %Y %H:%M %Z").to_string())
        .unwrap_or_default()
}

pub(crate) fn topic(t: &TopicView) -> String {
    let scope = if t.shared {
        "shared"
    } else {
        "organisation only"
    };
    let last = t
        .last_activity
        .map(|ts| format!(", last active {}", time(ts)))
        .unwrap_or_default();
    let mut line = format!(
        "{} ({scope}): {}, {}{last}",
        t.name,
        count(t.posts, "post", "posts"),
        count(t.replies, "reply", "replies")
    );
    if !t.description.is_empty() {
        line.push_str(&format!("\n    {}", t.description));
    }
    line
}

/// A post or reply, with its body unless a content warning hides it.
pub(crate) fn post(p: &PostView, show_body: bool) -> String {
    let mut out = String::new();
    let open_with = format!(
        "(open with: kindred-cli thread {})",
        p.thread_root.unwrap_or(p.id)
    );
    // In lists, nothing under a warning, folded away by the reader's mutes, or hidden
    // by moderators is shown: not even its title or tags.
    let closed = !show_body && (p.content_warning.is_some() || p.muted.is_some());
    let heading = match (&p.hidden, &p.muted, &p.content_warning, &p.title) {
        (Some(reason), _, _, _) => format!("Hidden by moderators here: {reason}"),
        (None, Some(why), _, _) if !show_body => format!("Folded away: {why} {open_with}"),
        (None, _, Some(cw), Some(_)) if !show_body => {
            format!("Post with a content warning: {cw} {open_with}")
        }
        (None, _, _, Some(title)) => title.clone(),
        (None, _, _, None) => match &p.thread_title {
            Some(thread) => format!("Reply in “{thread}”"),
            None => "Reply".to_owned(),
        },
    };
    out.push_str(&format!(
        "{heading}\n  by {} ({}, {}) on {}{}\n  id {}\n",
        p.author_name,
        p.author,
        p.organisation,
        time(p.created_at),
        if p.edited_at.is_some() {
            ", edited"
        } else {
            ""
        },
        p.id
    ));
    if !p.tags.is_empty() && !closed {
        out.push_str(&format!("  tags: {}\n", p.tags.join(", ")));
    }
    let mut counts: Vec<String> = p
        .reactions
        .iter()
        .map(|r| {
            format!(
                "{} {}{}",
                r.reaction,
                r.count,
                if r.mine { " (you)" } else { "" }
            )
        })
        .collect();
    if p.thread_root.is_none() {
        counts.push(count(p.reply_count, "reply", "replies"));
    }
    if !counts.is_empty() {
        out.push_str(&format!("  {}\n", counts.join(" · ")));
    }
    if closed || p.hidden.is_some() {
        return out;
    }
    if let Some(cw) = &p.content_warning {
        out.push_str(&format!("  Content warning: {cw}\n"));
    }
    if let Some(why) = &p.muted {
        out.push_str(&format!("  Folded away: {why}\n"));
    }
    for line in p.body.lines() {
        out.push_str(&format!("  | {line}\n"));
    }
    out
}

pub(crate) fn peer(p: &kindred_protocol::api::PeerView) -> String {
    use kindred_protocol::api::PeerStatus;
    let status = match p.status() {
        PeerStatus::Blocked => "Blocked: nothing is exchanged with it".to_owned(),
        PeerStatus::UpToDate => "Connected, up to date".to_owned(),
        PeerStatus::CatchingUp(n) => format!(
            "Connected, catching up: {} to go",
            count(n, "update", "updates")
        ),
        PeerStatus::Connecting => "Not connected yet: trying".to_owned(),
        PeerStatus::Unreachable { since, reason } => match since {
            Some(t) => format!("Not reachable since {}: {reason}", time(t)),
            None => format!("Not reachable: {reason}"),
        },
    };
    let who = match &p.organisation {
        Some(org) => format!("{org} ({})", p.name),
        None => p.name.to_string(),
    };
    let mut line = format!("{who}\n    {status}");
    if let Some(offset) = p.clock_offset_ms
        && offset.unsigned_abs() > 60_000
    {
        line.push_str(&format!(
            "\n    WARNING: its clock is {} this node's",
            kindred_protocol::api::clock_offset_words(offset)
        ));
    }
    if p.protocol_version
        .is_some_and(|v| v < kindred_protocol::ERASURE_PROTOCOL_VERSION)
    {
        line.push_str(
            "\n    WARNING: it runs an older Kindred that cannot carry out erasures (deleted accounts stay there); ask its admin to upgrade",
        );
    }
    if p.refused > 0 {
        line.push_str(&format!(
            "\n    {} of its events broke the federation's rules (see the node's log)",
            p.refused
        ));
    }
    // The details, for whoever needs them.
    line.push_str(&format!("\n    id {}", p.node_id));
    if let Some(a) = &p.address {
        line.push_str(&format!("; address {a}"));
    }
    if let Some(since) = p.connected_since {
        line.push_str(&format!("\n    connected since {}", time(since)));
    }
    line.push_str(&format!(
        "\n    since this node started: {} updates sent, {} received; still to exchange: {} for them, {} for this node, {} private messages waiting",
        p.events_sent, p.events_received, p.they_lack, p.we_lack, p.outbox
    ));
    match (&p.last_error, p.connected) {
        (Some(e), false) => line.push_str(&format!("\n    technical message: {e}")),
        // Still worth seeing (a link that keeps dropping), but not as a current problem.
        (Some(e), true) => line.push_str(&format!("\n    technical message before this link: {e}")),
        (None, _) => {}
    }
    line
}

pub(crate) fn warning(w: &kindred_protocol::api::FederationWarning) -> String {
    let times = if w.count > 1 {
        format!(" ({} times, last {})", w.count, time(w.last_seen))
    } else {
        String::new()
    };
    format!("  ! {}{times}", w.message)
}

pub(crate) fn conversation(c: &kindred_protocol::api::ConversationView) -> String {
    let people: Vec<String> = c.members.iter().map(|m| m.member.to_string()).collect();
    let unread = if c.unread > 0 {
        format!(", {} unread", c.unread)
    } else {
        String::new()
    };
    let muted = if c.muted { ", muted" } else { "" };
    let mut line = format!(
        "{}{unread}{muted}\n    id {}\n    with {}",
        c.name,
        c.id,
        people.join(", ")
    );
    if let Some(m) = &c.last_message {
        line.push_str(&format!(
            "\n    last: {}: {}",
            m.author_name,
            message_text(m, true)
        ));
    }
    line
}

pub(crate) fn message(m: &kindred_protocol::api::MessageView) -> String {
    let edited = if m.edited_at.is_some() {
        " (edited)"
    } else {
        ""
    };
    let reactions: Vec<String> = m
        .reactions
        .iter()
        .map(|r| format!("{} {}", r.reaction, r.count))
        .collect();
    let mut line = format!(
        "[{}] {}{edited}: {}",
        time(m.created_at),
        m.author_name,
        message_text(m, false)
    );
    if !reactions.is_empty() {
        line.push_str(&format!("  ({})", reactions.join(", ")));
    }
    line
}

/// A message's words, or why they are not shown (hidden here, folded away for the
/// reader: `--json` has them).
fn message_text(m: &kindred_protocol::api::MessageView, first_line: bool) -> String {
    match (&m.hidden, &m.muted) {
        (Some(reason), _) => format!("(hidden by moderators here: {reason})"),
        (None, Some(why)) => format!("(folded away: {why}; --json shows it)"),
        (None, None) if first_line => m.body.lines().next().unwrap_or_default().to_owned(),
        (None, None) => m.body.clone(),
    }
}

/// Chat updates for `chat follow`; other updates are skipped.
pub(crate) fn chat_live(message: &StreamMessage) -> Option<String> {
    match message {
        StreamMessage::Message { message: m } => Some(format!(
            "{} in {}: {}",
            m.author_name, m.conversation, m.body
        )),
        StreamMessage::MessageEdited { message: m } => {
            Some(format!("{} edited: {}", m.author_name, m.body))
        }
        StreamMessage::MessageRetracted { id, .. } => Some(format!("Message {id} was taken back.")),
        StreamMessage::Conversation {
            conversation: Some(c),
            ..
        } => Some(format!("Conversation updated: {}", conversation(c))),
        StreamMessage::Conversation {
            conversation: None,
            id,
        } => Some(format!("You are no longer in conversation {id}.")),
        StreamMessage::Ready { member } => Some(format!(
            "Following your conversations as {member}. Ctrl-C to stop."
        )),
        _ => None,
    }
}

pub(crate) fn live(message: &StreamMessage) -> String {
    match message {
        StreamMessage::Ready { member } => {
            format!("Following live updates as {member}. Ctrl-C to stop.")
        }
        StreamMessage::New { post: p } => format!("New in {}:\n{}", p.topic, post(p, false)),
        StreamMessage::Edited { post: p } => format!("Edited in {}:\n{}", p.topic, post(p, false)),
        StreamMessage::Retracted { id } => format!("Retracted: {id}"),
        StreamMessage::Reactions {
            id,
            reactions,
            title,
            reply,
        } => {
            let counts: Vec<String> = reactions
                .iter()
                .map(|r| format!("{} {}", r.reaction, r.count))
                .collect();
            let what = match (title, reply) {
                (Some(t), false) => format!("“{t}”"),
                (Some(t), true) => format!("a reply in “{t}”"),
                (None, _) => format!("{id}"),
            };
            let counts = if counts.is_empty() {
                "none now".to_owned()
            } else {
                counts.join(", ")
            };
            format!("Reactions on {what}: {counts}\n  id {id}")
        }
        other => chat_live(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_the_local_zone_with_its_name() {
        let utc = jiff::tz::TimeZone::UTC;
        assert_eq!(time_in(Timestamp(0), utc.clone()), "1 Jan 1970 00:00 UTC");
        assert_eq!(
            time_in(Timestamp(951_782_400_000), utc),
            "29 Feb 2000 00:00 UTC"
        );
        let london = jiff::tz::TimeZone::get("Europe/London").unwrap();
        // 23:30 UTC on 30 June is 00:30 BST on 1 July.
        assert_eq!(
            time_in(Timestamp(1_814_398_200_000), london.clone()),
            "1 Jul 2027 00:30 BST"
        );
        assert_eq!(
            time_in(Timestamp(1_795_394_978_714), london),
            "23 Nov 2026 00:49 GMT"
        );
    }

    #[test]
    fn a_links_last_error_reads_as_past_once_it_is_back_up() {
        let mut p = kindred_protocol::api::PeerView {
            node_id: kindred_protocol::NodeId::from_bytes([1; 32]),
            name: kindred_protocol::NodeName::new("b.test").unwrap(),
            address: Some("https://b.test".into()),
            paired: true,
            blocked: false,
            connected: false,
            connected_since: None,
            last_error: Some("connection refused".into()),
            events_sent: 0,
            events_received: 0,
            we_lack: 0,
            they_lack: 0,
            outbox: 0,
            added_at: None,
            refused: 0,
            clock_offset_ms: Some(-7_200_000),
            protocol_version: Some(2),
            organisation: Some("Beta Wellbeing Hub".into()),
            down_since: Some(Timestamp(0)),
            decisions: kindred_protocol::api::DecisionPolicy::Review,
        };
        let down = peer(&p);
        assert!(
            down.contains("clock is 2 h 0 min behind this node's"),
            "{down}"
        );
        assert!(down.starts_with("Beta Wellbeing Hub (b.test)"), "{down}");
        assert!(down.contains("cannot carry out erasures"), "{down}");
        assert!(
            down.contains(&format!(
                "Not reachable since {}: their address did not answer",
                time(Timestamp(0))
            )),
            "{down}"
        );
        assert!(
            down.contains("technical message: connection refused"),
            "{down}"
        );
        p.connected = true;
        p.connected_since = Some(Timestamp(0));
        let up = peer(&p);
        assert!(up.contains("Connected, up to date"), "{up}");
        p.we_lack = 1_204;
        assert!(peer(&p).contains("Connected, catching up: 1,204 updates to go"));
        assert!(
            up.contains(&format!("connected since {}", time(Timestamp(0)))),
            "{up}"
        );
        assert!(
            up.contains("technical message before this link: connection refused"),
            "{up}"
        );
    }
}
