//! A member's data: the privacy page (`/privacy`, for everyone), downloading one's data,
//! deleting one's account, and the admin's export, deletion and stopping a deletion.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use kindred_protocol::api::{AccountDeletion, DeleteAccount, DeleteMember, ErrorCode};
use serde::Deserialize;

use crate::node::AppError;
use crate::node::Node;
use crate::web::SESSION_COOKIE;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, member_form};
use crate::web::session::{Viewer, secure_cookies, set_cookie, signed_in_viewer};

/// A kind of data and where it goes.
struct Travel {
    what: &'static str,
    goes_to: &'static str,
}

#[derive(askama::Template)]
#[template(path = "privacy.html", whitespace = "minimize")]
struct PrivacyPage {
    chrome: Chrome,
    controller: String,
    contact: String,
    safeguarding_lead: String,
    travels: Vec<Travel>,
    partners: Vec<String>,
    chat_months: u32,
    checkin_months: u32,
    grace_days: u64,
    signed_in: bool,
}

/// `/privacy`: generated from the node's settings.
pub(crate) async fn privacy(
    State(node): State<Node>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let viewer = signed_in_viewer(&node, &headers);
    let chrome = match &viewer {
        Some(v) => Chrome::member(&node, v, "Privacy", "/privacy"),
        None => Chrome::public(&node, "Privacy"),
    };
    let c = node.config();
    let partners = node
        .peer_views()?
        .into_iter()
        .filter(|p| p.paired && !p.blocked)
        .map(|p| match p.organisation {
            Some(org) => format!("{org} ({})", p.name),
            None => p.name.to_string(),
        })
        .collect();
    let page = PrivacyPage {
        chrome,
        controller: c.privacy.controller.clone(),
        contact: c.privacy.contact.clone(),
        safeguarding_lead: c.privacy.safeguarding_lead.clone(),
        travels: vec![
            Travel {
                what: "Posts, replies and reactions in shared topics, and your name and organisation once you have posted",
                goes_to: "every partner organisation's node",
            },
            Travel {
                what: "Posts and replies in organisation-only topics",
                goes_to: "this node only",
            },
            Travel {
                what: "Your name and what you are happy to talk about, if you choose to be listed in the people directory",
                goes_to: "every partner organisation's node",
            },
            Travel {
                what: "Your mentor offer, if you offer mentoring (what you can help with, languages, region, availability, a short bio)",
                goes_to: "every partner organisation's node",
            },
            Travel {
                what: "Chat messages, and your name when you chat",
                goes_to: "only the nodes of the people in that conversation",
            },
            Travel {
                what: "Mentoring requests and check-ins",
                goes_to: "your request stays here; proposals, answers and check-ins go only to the other person's node",
            },
            Travel {
                what: "Your account, password (stored only as a one-way hash), sign-ins and settings",
                goes_to: "this node only",
            },
        ],
        partners,
        chat_months: c.retention.chat_message_months,
        checkin_months: c.retention.closed_match_checkin_months,
        grace_days: c.accounts.deletion_grace_days,
        signed_in: viewer.is_some(),
    };
    render(&page, &page.chrome)
}

/// A data export as a download, never cached.
fn download(file: crate::node::ExportFile) -> Response {
    crate::http::zip_download(file)
}

/// `/settings/export`: the member's own data.
pub(crate) async fn export_own(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    Ok(download(node.export_own(&viewer.auth).await?))
}

/// `/admin/members/{username}/export`: a member's data, for an admin.
pub(crate) async fn export_member(
    State(node): State<Node>,
    viewer: Viewer,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    Ok(download(
        node.export_for_admin(&viewer.auth, &username).await?,
    ))
}

#[derive(askama::Template)]
#[template(path = "delete_account.html", whitespace = "minimize")]
struct DeletePage {
    chrome: Chrome,
    csrf: String,
    /// Whose account: the member's own (`None`), or a member an admin deletes.
    other: Option<String>,
    username: String,
    grace_days: u64,
    problems: Problems,
    /// What was typed in the confirmation field, kept when the form comes back.
    confirm: String,
}

fn delete_page(node: &Node, viewer: &Viewer, other: Option<String>) -> DeletePage {
    let (title, path) = match &other {
        None => ("Delete your account".to_owned(), "/settings"),
        Some(u) => (format!("Delete {u}'s account"), "/admin/members"),
    };
    DeletePage {
        chrome: Chrome::member(node, viewer, title, path),
        csrf: viewer.csrf.clone(),
        username: other
            .clone()
            .unwrap_or_else(|| viewer.auth.member.username.clone()),
        other,
        grace_days: node.config().accounts.deletion_grace_days,
        problems: Problems::default(),
        confirm: String::new(),
    }
}

/// `/settings/delete`: what deleting means, and the form.
pub(crate) async fn delete_own_form(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let page = delete_page(&node, &viewer, None);
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

#[derive(askama::Template)]
#[template(path = "account_deleted.html", whitespace = "minimize")]
struct DeletedPage {
    chrome: Chrome,
    erased: bool,
    /// The day it will be erased, while the grace period runs.
    erase_on: Option<String>,
}

pub(crate) async fn delete_own(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<DeleteForm>,
) -> Result<Response, PageError> {
    let mut problems = Problems::default();
    if form.password.is_empty() {
        problems.add("password", "Enter your password.");
    }
    if form.confirm.trim() != viewer.auth.member.username {
        problems.add(
            "confirm",
            format!(
                "Type your username, {}, exactly.",
                viewer.auth.member.username
            ),
        );
    }
    if problems.is_empty() {
        let req = DeleteAccount {
            password: form.password,
            confirm: form.confirm.clone(),
        };
        match node.delete_own_account(&viewer.auth, req).await {
            Ok(done) => return deleted(&node, &viewer, &done),
            Err(AppError::Refused {
                code: ErrorCode::InvalidCredentials,
                message,
                ..
            }) => problems.add("password", message),
            Err(e) => problems.refused("", e)?,
        }
    }
    let mut page = delete_page(&node, &viewer, None);
    page.problems = problems;
    page.confirm = form.confirm;
    render_with_status(&page, &page.chrome, page.problems.status())
}

/// The page after one's own deletion; the browser's session cookie is cleared.
fn deleted(node: &Node, viewer: &Viewer, done: &AccountDeletion) -> Result<Response, PageError> {
    let title = if done.erased {
        "Your account is deleted"
    } else {
        "Your account will be deleted"
    };
    let page = DeletedPage {
        chrome: Chrome::public(node, title),
        erased: done.erased,
        erase_on: done
            .erase_at
            .map(|at| crate::calendar::human_date(at.as_millis(), &viewer.tz)),
    };
    let mut response = render(&page, &page.chrome)?;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, secure_cookies(node)),
    );
    Ok(response)
}

/// `/admin/members/{username}/delete`: the admin's confirmation page.
pub(crate) async fn delete_member_form(
    State(node): State<Node>,
    viewer: Viewer,
    Path(username): Path<String>,
) -> Result<Response, PageError> {
    let username = existing_member(&node, &viewer, &username)?;
    let page = delete_page(&node, &viewer, Some(username));
    render(&page, &page.chrome)
}

pub(crate) async fn delete_member(
    State(node): State<Node>,
    Path(username): Path<String>,
    MemberForm { viewer, form }: MemberForm<DeleteForm>,
) -> Result<Response, PageError> {
    let username = existing_member(&node, &viewer, &username)?;
    let mut problems = Problems::default();
    if form.confirm.trim() != username {
        problems.add(
            "confirm",
            format!("Type their username, {username}, exactly."),
        );
    }
    if problems.is_empty() {
        let req = DeleteMember {
            confirm: form.confirm.clone(),
        };
        match node
            .delete_member_account(&viewer.auth, &username, req)
            .await
        {
            Ok(done) => {
                let flash = if done.erased {
                    Flash::MemberDeleted
                } else {
                    Flash::MemberDeletionScheduled
                };
                return Ok(see_other(&node, "/admin/members", Some(flash)));
            }
            Err(e) => problems.refused("", e)?,
        }
    }
    let mut page = delete_page(&node, &viewer, Some(username));
    page.problems = problems;
    page.confirm = form.confirm;
    render_with_status(&page, &page.chrome, page.problems.status())
}

/// The admin's pages about a member: only for admins, only for a member of this node
/// (the username is one the node knows, so it is safe in the page's links).
fn existing_member(node: &Node, viewer: &Viewer, username: &str) -> Result<String, PageError> {
    viewer.auth.require(kindred_protocol::api::Role::Admin)?;
    match node.store().member(username).map_err(AppError::from)? {
        Some(m) => Ok(m.username),
        None => Err(AppError::not_found("There is no member with that username here.").into()),
    }
}

pub(crate) async fn stop_deletion(
    State(node): State<Node>,
    viewer: Viewer,
    Path(username): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let _: std::collections::HashMap<String, String> = member_form(&viewer, &body)?;
    node.stop_deletion(&viewer.auth, &username).await?;
    Ok(see_other(
        &node,
        "/admin/members",
        Some(Flash::DeletionStopped),
    ))
}
