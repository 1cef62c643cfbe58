//! `/admin/safeguarding`: safeguarding concerns raised with this organisation's leads
//! (read and acknowledged here) and raised from here with other organisations' leads.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::Response;
use kindred_protocol::api::{NewReferral, ReferralView, Role};
use kindred_protocol::{EventId, MemberId, Timestamp};
use serde::Deserialize;

use super::moderation::TargetQuery;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, member_form};
use crate::web::session::Viewer;
use crate::web::time::When;

struct ReferralRow {
    view: ReferralView,
    when: When,
    acknowledged: Option<When>,
}

#[derive(askama::Template)]
#[template(path = "safeguarding.html", whitespace = "minimize")]
struct SafeguardingPage {
    chrome: Chrome,
    csrf: String,
    received: Vec<ReferralRow>,
    sent: Vec<ReferralRow>,
    lead: bool,
    member: String,
    content: String,
    concern: String,
    problems: Problems,
    is_admin: bool,
    staff: bool,
    section: &'static str,
}

fn safeguarding_page(
    node: &Node,
    viewer: &Viewer,
    typed: (String, String, String),
    problems: Problems,
) -> Result<SafeguardingPage, PageError> {
    let now = Timestamp::now();
    let (received, sent): (Vec<_>, Vec<_>) = node
        .referrals(&viewer.auth)?
        .into_iter()
        .map(|view| ReferralRow {
            when: When::new(view.at, now, &viewer.tz),
            acknowledged: view.acknowledged_at.map(|t| When::new(t, now, &viewer.tz)),
            view,
        })
        .partition(|r| !r.view.sent);
    Ok(SafeguardingPage {
        chrome: Chrome::member(node, viewer, "Safeguarding", "/admin"),
        csrf: viewer.csrf.clone(),
        received,
        sent,
        lead: node.is_safeguarding_lead(&viewer.auth.member_id),
        member: typed.0,
        content: typed.1,
        concern: typed.2,
        problems,
        is_admin: viewer.auth.member.role >= Role::Admin,
        staff: viewer.is_moderator(),
        section: "safeguarding",
    })
}

pub(crate) async fn safeguarding(
    State(node): State<Node>,
    viewer: Viewer,
    Query(q): Query<TargetQuery>,
) -> Result<Response, PageError> {
    let typed = (q.member.clone(), q.event.clone(), String::new());
    let page = safeguarding_page(&node, &viewer, typed, Problems::default())?;
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct ReferForm {
    #[serde(default)]
    member: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    concern: String,
}

pub(crate) async fn refer(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<ReferForm>,
) -> Result<Response, PageError> {
    let mut problems = Problems::default();
    let member = MemberId::parse(form.member.trim());
    let content: Result<Vec<EventId>, _> = form
        .content
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(str::parse)
        .collect();
    match (member, content) {
        (Err(_), _) => problems.add(
            "member",
            "Give their member id, like @sam:riverside.example.",
        ),
        (_, Err(_)) => problems.add(
            "content",
            "Give each post or message by its whole id (64 characters), one per line.",
        ),
        (Ok(member), Ok(content)) => {
            let req = NewReferral {
                member,
                content,
                concern: form.concern.clone(),
            };
            match node.refer(&viewer.auth, req).await {
                Ok(_) => {
                    return Ok(see_other(
                        &node,
                        "/admin/safeguarding",
                        Some(Flash::Referred),
                    ));
                }
                // The node names the field (member, content or concern).
                Err(e) => problems.refused("concern", e)?,
            }
        }
    }
    let page = safeguarding_page(
        &node,
        &viewer,
        (form.member, form.content, form.concern),
        problems,
    )?;
    render_with_status(&page, &page.chrome, page.problems.status())
}

pub(crate) async fn acknowledge(
    State(node): State<Node>,
    viewer: Viewer,
    axum::extract::Path(id): axum::extract::Path<u64>,
    body: Bytes,
) -> Result<Response, PageError> {
    let _: crate::web::forms::NoFields = member_form(&viewer, &body)?;
    node.acknowledge_referral(&viewer.auth, id).await?;
    Ok(see_other(
        &node,
        "/admin/safeguarding",
        Some(Flash::Acknowledged),
    ))
}
