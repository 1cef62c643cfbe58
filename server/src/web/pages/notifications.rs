//! `/notifications`: what happened that concerns the member, marked seen once shown;
//! `/settings/email`: their email address and choices; and the two pages email links
//! open without signing in: confirming an address and unsubscribing (RFC 8058).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use kindred_protocol::api::{
    DigestFrequency, EmailKinds, EmailSettings, NotificationView, UpdateEmailSettings,
};
use kindred_protocol::{MemberId, Timestamp};
use serde::Deserialize;

use crate::node::Node;
use crate::web::chrome::{Chrome, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{Choice, Problems, member_pairs};
use crate::web::session::{Viewer, signed_in_viewer};
use crate::web::time::When;

struct Item {
    view: NotificationView,
    when: When,
}

#[derive(askama::Template)]
#[template(path = "notifications.html", whitespace = "minimize")]
struct NotificationsPage {
    chrome: Chrome,
    items: Vec<Item>,
    /// `?before=` for the next page.
    older: Option<u64>,
    /// Whether this is the first page.
    first: bool,
}

#[derive(Deserialize)]
pub(crate) struct PageQuery {
    before: Option<u64>,
}

pub(crate) async fn list(
    State(node): State<Node>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    let list = node.notifications(&viewer.auth, q.before)?;
    // Shown is seen: the badge goes (the items keep their "new" mark on this page).
    if let Some(top) = list.items.iter().map(|i| i.seq).max() {
        node.mark_notifications_read(&viewer.auth.member_id, top)?;
    }
    let now = Timestamp::now();
    let chrome = Chrome::member(&node, &viewer, "Notifications", "/notifications");
    let page = NotificationsPage {
        chrome,
        items: list
            .items
            .into_iter()
            .map(|view| Item {
                when: When::new(view.at, now, &viewer.tz),
                view,
            })
            .collect(),
        older: list.next_before,
        first: q.before.is_none(),
    };
    render(&page, &page.chrome)
}

#[derive(askama::Template)]
#[template(path = "email_settings.html", whitespace = "minimize")]
struct EmailPage {
    chrome: Chrome,
    csrf: String,
    settings: EmailSettings,
    address: String,
    problems: Problems,
    hours: Vec<u8>,
    /// Topics the digest may follow.
    topics: Vec<Choice>,
}

fn email_page(node: &Node, viewer: &Viewer) -> Result<EmailPage, PageError> {
    let settings = node.email_settings(&viewer.auth.member_id)?;
    Ok(EmailPage {
        chrome: Chrome::member(node, viewer, "Email", "/settings"),
        csrf: viewer.csrf.clone(),
        address: settings.address.clone().unwrap_or_default(),
        problems: Problems::default(),
        hours: (0..24).collect(),
        topics: node
            .topic_views()?
            .into_iter()
            .map(|t| Choice {
                checked: settings_follow(&settings, &t.name),
                value: t.name.clone(),
                label: t.name,
            })
            .collect(),
        settings,
    })
}

/// Whether the settings follow the topic named `name`.
fn settings_follow(settings: &EmailSettings, name: &str) -> bool {
    let key = kindred_protocol::text::topic_key(name);
    settings
        .topics
        .iter()
        .any(|t| kindred_protocol::text::topic_key(t) == key)
}

pub(crate) async fn email(State(node): State<Node>, viewer: Viewer) -> Result<Response, PageError> {
    let page = email_page(&node, &viewer)?;
    render(&page, &page.chrome)
}

pub(crate) async fn save_email(
    State(node): State<Node>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form = member_pairs(&viewer, &body)?;
    let current = node.email_settings(&viewer.auth.member_id)?;
    let digest = match form.get("digest") {
        "off" => DigestFrequency::Off,
        "daily" => DigestFrequency::Daily,
        _ => DigestFrequency::Weekly,
    };
    let typed = form.get("address").trim();
    let hour = |name: &str| form.get(name).parse::<u8>().ok();
    let req = UpdateEmailSettings {
        // A new link goes only to a new address, or when asked for again ("Send the link
        // again"): saving other choices while the address waits sends nothing.
        address: (current.address.as_deref() != Some(typed) || form.has("resend"))
            .then(|| typed.to_owned())
            .filter(|a| !(a.is_empty() && current.address.is_none())),
        kinds: Some(EmailKinds {
            chat: form.has("chat"),
            replies: form.has("replies"),
            mentoring: form.has("mentoring"),
            reactions: form.has("reactions"),
            moderation: form.has("moderation"),
        }),
        digest: Some(digest),
        topics: Some(form.all("topic")),
        previews: Some(form.has("previews")),
        quiet_from: hour("quiet_from"),
        quiet_to: hour("quiet_to"),
    };
    let mut problems = Problems::default();
    match node.update_email_settings(&viewer.auth, req).await {
        Ok(_) => {
            return Ok(see_other(
                &node,
                "/settings/email",
                Some(crate::web::chrome::Flash::Edited),
            ));
        }
        Err(e) => problems.refused("address", e)?,
    }
    let mut page = email_page(&node, &viewer)?;
    page.problems = problems;
    page.address = typed.to_owned();
    render_with_status(&page, &page.chrome, page.problems.status())
}

#[derive(askama::Template)]
#[template(path = "email_link.html", whitespace = "minimize")]
struct LinkPage {
    chrome: Chrome,
    heading: String,
    message: String,
    /// For the unsubscribe confirmation: the form's target.
    confirm: Option<String>,
}

fn link_chrome(node: &Node, headers: &HeaderMap, title: &str) -> Chrome {
    match signed_in_viewer(node, headers) {
        Some(viewer) => Chrome::member(node, &viewer, title, "/settings"),
        None => Chrome::public(node, title),
    }
}

#[derive(Deserialize)]
pub(crate) struct LinkQuery {
    #[serde(default)]
    member: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    choice: String,
}

/// `GET /email/verify`: the link in the confirmation email.
pub(crate) async fn verify(
    State(node): State<Node>,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> Result<Response, PageError> {
    let result = q
        .member
        .parse::<MemberId>()
        .map_err(|_| crate::node::AppError::bad_request("This link is not complete."))
        .and_then(|member| node.verify_email(&member, &q.token));
    let (heading, message, status) = match result {
        Ok(address) => (
            "Your email address is confirmed".to_owned(),
            format!("Thank you. Emails you chose in your settings will now go to {address}."),
            axum::http::StatusCode::OK,
        ),
        Err(e) => (
            "This link did not work".to_owned(),
            e.to_string(),
            axum::http::StatusCode::BAD_REQUEST,
        ),
    };
    let page = LinkPage {
        chrome: link_chrome(&node, &headers, &heading),
        heading,
        message,
        confirm: None,
    };
    render_with_status(&page, &page.chrome, status)
}

fn choice_words(choice: &str) -> &'static str {
    match choice {
        "chat" => "emails about chat messages",
        "replies" => "emails about replies",
        "mentoring" => "emails about mentoring",
        "reactions" => "emails about reactions",
        "digest" => "the digest",
        _ => "all emails from this node",
    }
}

/// `GET /email/unsubscribe`: asks to confirm (a link checker opening the link changes
/// nothing).
pub(crate) async fn unsubscribe_form(
    State(node): State<Node>,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> Result<Response, PageError> {
    let checked = q
        .member
        .parse::<MemberId>()
        .map_err(|_| crate::node::AppError::bad_request("This link is not complete."))
        .and_then(|member| node.check_unsubscribe(&member, &q.choice, &q.token));
    if let Err(e) = checked {
        let page = LinkPage {
            chrome: link_chrome(&node, &headers, "This link did not work"),
            heading: "This link did not work".to_owned(),
            message: e.to_string(),
            confirm: None,
        };
        return render_with_status(&page, &page.chrome, axum::http::StatusCode::BAD_REQUEST);
    }
    let words = choice_words(&q.choice);
    let heading = format!("Stop {words}?");
    let page = LinkPage {
        chrome: link_chrome(&node, &headers, "Unsubscribe"),
        message: "You can turn them on again at any time in your settings (Email).".to_owned(),
        heading,
        confirm: Some(format!(
            "/email/unsubscribe?member={}&choice={}&token={}",
            crate::node::notifications::settings::urlencode(&q.member),
            crate::node::notifications::settings::urlencode(&q.choice),
            crate::node::notifications::settings::urlencode(&q.token)
        )),
    };
    render(&page, &page.chrome)
}

/// `POST /email/unsubscribe`: the one-click unsubscribe (RFC 8058: mail programs post
/// `List-Unsubscribe=One-Click`), and the confirmation form's button. The signed link is
/// the authority: no sign-in and no form token.
pub(crate) async fn unsubscribe(
    State(node): State<Node>,
    headers: HeaderMap,
    Query(q): Query<LinkQuery>,
) -> Result<Response, PageError> {
    let result = q
        .member
        .parse::<MemberId>()
        .map_err(|_| crate::node::AppError::bad_request("This link is not complete."))
        .and_then(|member| node.unsubscribe(&member, &q.choice, &q.token));
    let (heading, message, status) = match result {
        Ok(()) => (
            "You are unsubscribed".to_owned(),
            format!(
                "You will no longer get {}. You can turn them on again at any time in your settings (Email).",
                choice_words(&q.choice)
            ),
            axum::http::StatusCode::OK,
        ),
        Err(e) => (
            "This link did not work".to_owned(),
            e.to_string(),
            axum::http::StatusCode::BAD_REQUEST,
        ),
    };
    let page = LinkPage {
        chrome: link_chrome(&node, &headers, &heading),
        heading,
        message,
        confirm: None,
    };
    render_with_status(&page, &page.chrome, status)
}
