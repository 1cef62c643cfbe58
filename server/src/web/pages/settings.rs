//! The member's own settings: display name, being listed in the people directory, what
//! they are happy to talk about, read markers, password, and their signed-in devices.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use kindred_protocol::Timestamp;
use kindred_protocol::api::{ChangePassword, ErrorCode, MemberView, UpdateMe};
use serde::Deserialize;

use crate::node::AppError;
use crate::node::Node;
use crate::node::check_profile;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, member_form};
use crate::web::session::Viewer;
use crate::web::time::When;
use crate::web::views::device_name;

/// One signed-in device.
struct Device {
    id: String,
    name: String,
    since: When,
    current: bool,
}

#[derive(askama::Template)]
#[template(path = "settings.html", whitespace = "minimize")]
struct SettingsPage {
    chrome: Chrome,
    csrf: String,
    me: MemberView,
    display_name: String,
    happy_to_talk_about: String,
    /// The member's own time zone as typed ("" for the organisation's).
    time_zone: String,
    /// Says which zone dates are in without one.
    zone_hint: String,
    problems: Problems,
    password_problems: Problems,
    password_hint: String,
    devices: Vec<Device>,
    /// One of the safeguarding leads (a link to their page).
    lead: bool,
}

fn settings_page(node: &Node, viewer: &Viewer) -> Result<SettingsPage, PageError> {
    let me = node.me(&viewer.auth)?;
    let now = Timestamp::now();
    let devices = node
        .sessions(&viewer.auth)?
        .into_iter()
        .map(|s| Device {
            name: device_name(s.user_agent.as_deref()),
            since: When::new(s.created_at, now, &viewer.tz),
            current: s.current,
            id: s.id,
        })
        .collect();
    Ok(SettingsPage {
        chrome: Chrome::member(node, viewer, "Settings", "/settings"),
        lead: node.is_safeguarding_lead(&viewer.auth.member_id),
        csrf: viewer.csrf.clone(),
        display_name: me.display_name.clone(),
        happy_to_talk_about: me.happy_to_talk_about.clone(),
        time_zone: if me.own_time_zone {
            me.time_zone.clone()
        } else {
            String::new()
        },
        zone_hint: format!(
            "Leave it empty to see dates in {}, your organisation's time zone. To use another, type its name, for example Europe/Warsaw or Asia/Karachi.",
            node.config().node.time_zone
        ),
        me,
        problems: Problems::default(),
        password_problems: Problems::default(),
        password_hint: format!(
            "At least {} characters. A few words you will remember works well.",
            node.config().accounts.min_password_chars
        ),
        devices,
    })
}

pub(crate) async fn settings(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let page = settings_page(&node, &viewer)?;
    render(&page, &page.chrome)
}

/// Unticked checkboxes are simply absent from a form.
#[derive(Deserialize)]
pub(crate) struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    happy_to_talk_about: String,
    #[serde(default)]
    listed: Option<String>,
    #[serde(default)]
    read_markers: Option<String>,
    #[serde(default)]
    time_zone: String,
}

pub(crate) async fn profile(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<ProfileForm>,
) -> Result<Response, PageError> {
    let req = UpdateMe {
        display_name: Some(form.display_name.clone()),
        listed: Some(form.listed.is_some()),
        happy_to_talk_about: Some(form.happy_to_talk_about.clone()),
        read_markers: Some(form.read_markers.is_some()),
        time_zone: Some(form.time_zone.clone()),
    };
    let mut problems = Problems::default();
    let username = viewer.auth.member.username.clone();
    for (field, e) in check_profile(
        &node,
        &username,
        &form.display_name,
        &form.happy_to_talk_about,
    ) {
        problems.refused(field, e)?;
    }
    let zone = form.time_zone.trim();
    if !zone.is_empty() && crate::calendar::zone(zone).is_none() {
        problems.add(
            "time_zone",
            "That is not a time zone we know. Use a name such as Europe/London or Asia/Karachi, or leave it empty.",
        );
    }
    if problems.is_empty() {
        match node.update_me(&viewer.auth, req).await {
            Ok(_) => return Ok(see_other(&node, "/settings", Some(Flash::Edited))),
            Err(e) => problems.refused("", e)?,
        }
    }
    let mut page = settings_page(&node, &viewer)?;
    page.problems = problems;
    page.display_name = form.display_name;
    page.happy_to_talk_about = form.happy_to_talk_about;
    page.time_zone = form.time_zone;
    render_with_status(&page, &page.chrome, page.problems.status())
}

#[derive(Deserialize)]
pub(crate) struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub(crate) async fn password(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<PasswordForm>,
) -> Result<Response, PageError> {
    let mut problems = Problems::default();
    if form.current_password.is_empty() {
        problems.add("current_password", "Enter your current password.");
    }
    if form.new_password.is_empty() {
        problems.add("new_password", "Enter the new password you want.");
    }
    if problems.is_empty() {
        let req = ChangePassword {
            current_password: form.current_password,
            new_password: form.new_password,
        };
        match node.change_password(&viewer.auth, req).await {
            Ok(()) => {
                return Ok(see_other(&node, "/settings", Some(Flash::PasswordChanged)));
            }
            Err(AppError::Refused {
                code: ErrorCode::InvalidCredentials,
                message,
                ..
            }) => problems.add("current_password", message),
            Err(e) => problems.refused("new_password", e)?,
        }
    }
    let mut page = settings_page(&node, &viewer)?;
    page.password_problems = problems;
    render_with_status(&page, &page.chrome, page.password_problems.status())
}

pub(crate) async fn sign_out_device(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let _: crate::web::forms::NoFields = member_form(&viewer, &body)?;
    node.revoke_session(&viewer.auth, &id).await?;
    Ok(see_other(
        &node,
        "/settings#devices",
        Some(Flash::DevicesSignedOut),
    ))
}

pub(crate) async fn sign_out_others(
    State(node): State<Node>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let _: crate::web::forms::NoFields = member_form(&viewer, &body)?;
    for session in node.sessions(&viewer.auth)? {
        if !session.current {
            node.revoke_session(&viewer.auth, &session.id).await?;
        }
    }
    Ok(see_other(
        &node,
        "/settings#devices",
        Some(Flash::DevicesSignedOut),
    ))
}
