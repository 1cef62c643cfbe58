//! `/settings/safety`: a member's own safety tools on the web: muted words and topics,
//! the people they blocked, and taking a break; and blocking someone from their profile.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use kindred_protocol::api::{SafetySettings, UpdateSafety};

use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{Choice, FormPairs, MemberForm, Problems, member_pairs};
use crate::web::session::Viewer;
use crate::web::views::profile_url;

/// Break lengths offered, in days.
const BREAKS: [u32; 5] = [1, 3, 7, 14, 30];

#[derive(askama::Template)]
#[template(path = "safety.html", whitespace = "minimize")]
struct SafetyPage {
    chrome: Chrome,
    csrf: String,
    words: String,
    topics: Vec<Choice>,
    blocked: Vec<(String, String)>,
    break_until: Option<String>,
    breaks: Vec<u32>,
    problems: Problems,
}

fn safety_page(
    node: &Node,
    viewer: &Viewer,
    settings: &SafetySettings,
    words: String,
    problems: Problems,
) -> Result<SafetyPage, PageError> {
    let muted: Vec<String> = settings
        .muted_topics
        .iter()
        .map(|t| kindred_protocol::text::topic_key(t))
        .collect();
    let blocked = node
        .blocks(&viewer.auth)?
        .into_iter()
        .filter_map(|m| kindred_protocol::MemberId::parse(&m).ok())
        .map(|m| {
            let name = node
                .author_labels(&m)
                .map(|(n, o)| format!("{n} ({o})"))
                .unwrap_or_else(|_| m.to_string());
            (name, m.to_string())
        })
        .collect();
    Ok(SafetyPage {
        chrome: Chrome::member(node, viewer, "Muting, blocking and breaks", "/settings"),
        csrf: viewer.csrf.clone(),
        words,
        topics: node
            .topic_views()?
            .into_iter()
            .map(|t| Choice {
                checked: muted.contains(&kindred_protocol::text::topic_key(&t.name)),
                value: t.name.clone(),
                label: t.name,
            })
            .collect(),
        blocked,
        break_until: settings
            .break_until
            .map(|t| crate::calendar::human_date(t.as_millis(), &viewer.tz)),
        breaks: BREAKS.to_vec(),
        problems,
    })
}

pub(crate) async fn safety(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let settings = node.safety(&viewer.auth)?;
    let words = settings.muted_words.join("\n");
    let page = safety_page(&node, &viewer, &settings, words, Problems::default())?;
    render(&page, &page.chrome)
}

pub(crate) async fn save(
    State(node): State<Node>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: FormPairs = member_pairs(&viewer, &body)?;
    let typed = form.get("words").to_owned();
    let req = UpdateSafety {
        muted_words: Some(typed.lines().map(str::to_owned).collect()),
        muted_topics: Some(form.all("topic")),
        break_days: match form.get("break") {
            "" | "keep" => None,
            "end" => Some(0),
            days => days.parse().ok(),
        },
    };
    match node.update_safety(&viewer.auth, req).await {
        Ok(_) => Ok(see_other(
            &node,
            "/settings/safety",
            Some(Flash::SafetySaved),
        )),
        Err(e) => {
            // Tied to the part of the form the node says it is about; what was chosen
            // stays chosen.
            let mut problems = Problems::default();
            problems.refused_as(
                "words",
                e,
                &[
                    ("muted_words", "words"),
                    ("muted_topics", "topics"),
                    ("break_days", "break"),
                ],
            )?;
            let mut settings = node.safety(&viewer.auth)?;
            settings.muted_topics = form.all("topic");
            let page = safety_page(&node, &viewer, &settings, typed, problems)?;
            render_with_status(&page, &page.chrome, page.problems.status())
        }
    }
}

/// Where to go after blocking or unblocking: back to the profile, or the safety page.
#[derive(serde::Deserialize)]
pub(crate) struct BackForm {
    #[serde(default)]
    back: String,
}

/// `POST /people/{member}/block` and `/unblock`.
pub(crate) async fn block(
    State(node): State<Node>,
    Path((member, action)): Path<(String, String)>,
    MemberForm { viewer, form }: MemberForm<BackForm>,
) -> Result<Response, PageError> {
    let member = node.member_named(&member)?;
    let blocked = match action.as_str() {
        "block" => true,
        "unblock" => false,
        _ => return Err(crate::node::AppError::not_found("No such page.").into()),
    };
    node.set_block(&viewer.auth, &member, blocked).await?;
    let (to, flash) = if blocked {
        (profile_url(&member), Flash::Blocked)
    } else if form.back == "profile" {
        (profile_url(&member), Flash::Unblocked)
    } else {
        ("/settings/safety".to_owned(), Flash::Unblocked)
    };
    Ok(see_other(&node, &to, Some(flash)))
}
