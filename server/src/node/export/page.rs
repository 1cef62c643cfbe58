//! The export's readable page (`index.html`): the same data as the JSON, for a person.

use askama::Template;

use super::collect::{Export, Written};
use crate::error::AppError;

#[derive(Template)]
#[template(path = "export.html", whitespace = "minimize")]
struct ExportPage<'a> {
    e: &'a Export,
    exported: String,
    joined: String,
    sessions: Vec<String>,
    conversations: Vec<ConversationItem>,
    written: Vec<Row>,
    moderation: Vec<Row>,
}

/// A conversation: its title and messages (when, who, words; `None` when deleted).
struct ConversationItem {
    title: String,
    messages: Vec<(String, String, Option<String>)>,
}

/// One event as a row: when, what, where, and its words.
struct Row {
    when: String,
    kind: String,
    reach: &'static str,
    taken_down: bool,
    text: String,
}

fn row(w: &Written) -> Row {
    let text = match &w.content {
        serde_json::Value::Object(fields) => fields
            .iter()
            .filter_map(|(k, v)| match v {
                serde_json::Value::String(s) if !s.is_empty() => Some(format!("{k}: {s}")),
                serde_json::Value::Array(items) if !items.is_empty() => Some(format!(
                    "{k}: {}",
                    items
                        .iter()
                        .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    Row {
        when: when(w.created_at),
        kind: w.kind.replace('_', " "),
        reach: w.reach,
        taken_down: w.taken_down,
        text,
    }
}

fn when(t: kindred_protocol::Timestamp) -> String {
    crate::calendar::human_time(t.as_millis(), &jiff::tz::TimeZone::UTC) + " UTC"
}

/// Renders the page.
pub(super) fn render(e: &Export) -> Result<String, AppError> {
    ExportPage {
        e,
        exported: when(e.exported_at),
        joined: when(e.account.created_at),
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
                    when(s.created_at),
                    when(s.expires_at)
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
                messages: c
                    .messages
                    .iter()
                    .map(|m| {
                        (
                            when(m.created_at),
                            m.author.to_string(),
                            (!m.deleted).then(|| m.body.clone()),
                        )
                    })
                    .collect(),
            })
            .collect(),
        written: e.written.iter().map(row).collect(),
        moderation: e.moderation.iter().map(row).collect(),
    }
    .render()
    .map_err(AppError::internal)
}
