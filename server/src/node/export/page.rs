//! The export's readable page (`index.html`): the same data as the JSON, for a person.
//! Dates are in the member's time zone, with the year; every field of what they wrote is
//! shown as words (numbers, yes/no, lists), not only the text ones.

use askama::Template;
use jiff::tz::TimeZone;
use serde_json::Value;

use super::collect::{Export, Written};
use crate::node::AppError;

#[derive(Template)]
#[template(path = "export.html", whitespace = "minimize")]
struct ExportPage<'a> {
    e: &'a Export,
    zone: String,
    exported: String,
    joined: String,
    deletion: Option<String>,
    sessions: Vec<String>,
    conversations: Vec<ConversationItem>,
    written: Vec<Row>,
    moderation: Vec<Row>,
    /// Mentoring records, each a title and its fields as words.
    mentoring: Vec<(String, String)>,
    /// The email address and choices, as words.
    email: String,
}

/// A conversation: its title, whether muted, and messages (when, who, words; `None`
/// when deleted).
struct ConversationItem {
    title: String,
    muted: bool,
    messages: Vec<(String, String, Option<String>)>,
}

/// One event as a row: when, what, where, and its fields as words.
struct Row {
    when: String,
    kind: String,
    reach: &'static str,
    taken_down: bool,
    text: String,
}

/// A JSON value as words: text as it is, numbers, yes/no, lists joined, objects as
/// "name: value" lines (nested ones indented by their name).
fn words(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(words).collect::<Vec<_>>().join(", "),
        Value::Object(fields) => fields
            .iter()
            .filter_map(|(k, v)| {
                let text = words(v);
                (!text.is_empty()).then(|| format!("{}: {text}", k.replace('_', " ")))
            })
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

fn row(w: &Written, tz: &TimeZone) -> Row {
    Row {
        when: when(w.created_at, tz),
        kind: w.kind.replace('_', " "),
        reach: w.reach,
        taken_down: w.taken_down,
        text: words(&w.content),
    }
}

fn when(t: kindred_protocol::Timestamp, tz: &TimeZone) -> String {
    crate::calendar::date_time(t.as_millis(), tz)
}

/// Renders the page, dates in `tz`.
pub(super) fn render(e: &Export, tz: &TimeZone) -> Result<String, AppError> {
    let value = |v: &dyn erased::Json| v.json();
    let mut mentoring = Vec::new();
    if let Some(offer) = &e.mentoring.offer {
        mentoring.push(("Your mentor offer".to_owned(), words(&value(offer))));
    }
    for r in &e.mentoring.requests {
        mentoring.push((
            format!(
                "Your request of {}",
                when(kindred_protocol::Timestamp(r.created_at), tz)
            ),
            words(&value(r)),
        ));
    }
    for m in &e.mentoring.matches {
        let other = if m.buddy == e.member {
            &m.mentor
        } else {
            &m.buddy
        };
        mentoring.push((
            format!(
                "Match with {other}, proposed {}",
                when(kindred_protocol::Timestamp(m.created_at), tz)
            ),
            words(&value(m)),
        ));
    }
    ExportPage {
        e,
        zone: tz.iana_name().unwrap_or("UTC").to_owned(),
        exported: when(e.exported_at, tz),
        joined: when(e.account.created_at, tz),
        deletion: e.account.deletion_due_at.map(|t| when(t, tz)),
        sessions: e
            .sessions
            .iter()
            .map(|s| {
                let device = s
                    .device
                    .as_deref()
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                format!(
                    "Since {}, until {}{device}",
                    when(s.created_at, tz),
                    when(s.expires_at, tz)
                )
            })
            .collect(),
        conversations: e
            .conversations
            .iter()
            .map(|c| ConversationItem {
                title: if c.name.is_empty() {
                    let names: Vec<String> = c.members.iter().map(ToString::to_string).collect();
                    format!("With {}", names.join(", "))
                } else {
                    c.name.clone()
                },
                muted: c.muted,
                messages: c
                    .messages
                    .iter()
                    .map(|m| {
                        (
                            when(m.created_at, tz),
                            m.author.to_string(),
                            (!m.deleted).then(|| m.body.clone()),
                        )
                    })
                    .collect(),
            })
            .collect(),
        written: e.written.iter().map(|w| row(w, tz)).collect(),
        moderation: e.moderation.iter().map(|w| row(w, tz)).collect(),
        mentoring,
        email: words(&value(&e.email)),
    }
    .render()
    .map_err(AppError::internal)
}

/// Any record the page shows field by field.
mod erased {
    pub(super) trait Json {
        fn json(&self) -> serde_json::Value;
    }

    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}
