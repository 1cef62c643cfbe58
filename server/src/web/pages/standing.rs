//! A member's own standing with the moderators (`/standing`, with their one appeal per
//! decision), the signed-out appeal of a suspended member (`/appeal`), and the community
//! guidelines (`/guidelines`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use kindred_protocol::api::{LoginRequest, Standing};
use serde::Deserialize;

use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, public_form};
use crate::web::session::{Viewer, form_token, signed_in_viewer};

#[derive(askama::Template)]
#[template(path = "standing.html", whitespace = "minimize")]
struct StandingPage {
    chrome: Chrome,
    csrf: String,
    standing: Standing,
    until: Option<String>,
    note: String,
    problems: Problems,
}

fn standing_page(
    node: &Node,
    viewer: &Viewer,
    note: String,
    problems: Problems,
) -> Result<StandingPage, PageError> {
    let standing = node.standing_of(&viewer.auth.member_id)?;
    Ok(StandingPage {
        chrome: Chrome::member(node, viewer, "Your account and the moderators", "/settings"),
        csrf: viewer.csrf.clone(),
        until: standing
            .suspended_until
            .map(|t| crate::calendar::human_date(t.as_millis(), &viewer.tz)),
        standing,
        note,
        problems,
    })
}

pub(crate) async fn standing(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let page = standing_page(&node, &viewer, String::new(), Problems::default())?;
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct AppealForm {
    #[serde(default)]
    note: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub(crate) async fn appeal(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<AppealForm>,
) -> Result<Response, PageError> {
    match node.appeal(&viewer.auth.member_id, &form.note) {
        Ok(()) => Ok(see_other(&node, "/standing", Some(Flash::Appealed))),
        Err(e) => {
            let mut problems = Problems::default();
            problems.refused("note", e)?;
            let page = standing_page(&node, &viewer, form.note, problems)?;
            render_with_status(&page, &page.chrome, page.problems.status())
        }
    }
}

#[derive(askama::Template)]
#[template(path = "appeal.html", whitespace = "minimize")]
struct AppealPage {
    chrome: Chrome,
    csrf: String,
    username: String,
    note: String,
    done: bool,
    problems: Problems,
}

pub(crate) async fn appeal_form(
    State(node): State<Node>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let (csrf, cookie) = form_token(&node, &headers);
    let page = AppealPage {
        chrome: Chrome::public(&node, "Ask for a review"),
        csrf,
        username: String::new(),
        note: String::new(),
        done: false,
        problems: Problems::default(),
    };
    let mut response = render(&page, &page.chrome)?;
    if let Some(cookie) = cookie {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    Ok(response)
}

pub(crate) async fn appeal_signed_out(
    State(node): State<Node>,
    crate::http::client_address::ClientAddress(address): crate::http::client_address::ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: AppealForm = public_form(&headers, &body)?;
    let credentials = LoginRequest {
        username: form.username.clone(),
        password: form.password,
        device: None,
    };
    let mut problems = Problems::default();
    let done = match node
        .appeal_signed_out(&credentials, &form.note, address)
        .await
    {
        Ok(()) => true,
        Err(e) => {
            problems.refused("note", e)?;
            false
        }
    };
    let (csrf, _) = form_token(&node, &headers);
    let page = AppealPage {
        chrome: Chrome::public(&node, "Ask for a review"),
        csrf,
        username: form.username,
        note: if done { String::new() } else { form.note },
        done,
        problems,
    };
    render_with_status(
        &page,
        &page.chrome,
        if done {
            axum::http::StatusCode::OK
        } else {
            page.problems.status()
        },
    )
}

#[derive(askama::Template)]
#[template(path = "guidelines.html", whitespace = "minimize")]
struct GuidelinesPage {
    chrome: Chrome,
    html: String,
}

pub(crate) async fn guidelines(
    State(node): State<Node>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let chrome = match signed_in_viewer(&node, &headers) {
        Some(viewer) => Chrome::member(&node, &viewer, "Community guidelines", "/help"),
        None => Chrome::public(&node, "Community guidelines"),
    };
    let page = GuidelinesPage {
        chrome,
        html: node.guidelines_html(),
    };
    render(&page, &page.chrome)
}
