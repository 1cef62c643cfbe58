//! Keeping people safe on the web: the report form (with the organisation's urgent-help
//! lines), the moderators' queue at `/admin/moderation` with a confirmation step for the
//! actions that are hard to undo, the audit log, a member's own standing and appeal, the
//! signed-out appeal of a suspended member, and the community guidelines.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use kindred_protocol::api::{
    AuditEntry, DecisionAction, ModerationAction, ModerationRequest, QueueItem, ReportReason,
    ReportRequest, ReportTarget, Role,
};
use kindred_protocol::{EventId, MemberId, Timestamp};
use serde::Deserialize;

use crate::node::AppError;
use crate::node::Node;
use crate::rules::moderation::{Concerned, allowed};
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::confirm::{Ask, ask_first, confirmed};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, member_form};
use crate::web::session::Viewer;
use crate::web::time::When;

/// `?event=` or `?member=`: what a page is about.
#[derive(Deserialize, Default)]
pub(crate) struct TargetQuery {
    #[serde(default)]
    pub(crate) event: String,
    #[serde(default)]
    pub(crate) member: String,
}

impl TargetQuery {
    pub(crate) fn target(&self) -> Result<ReportTarget, PageError> {
        if !self.event.is_empty() {
            let id: EventId = self
                .event
                .parse()
                .map_err(|_| AppError::not_found("That link is incomplete."))?;
            return Ok(ReportTarget::Event(id));
        }
        let member = MemberId::parse(self.member.trim())
            .map_err(|_| AppError::not_found("That link is incomplete."))?;
        Ok(ReportTarget::Member(member))
    }
}

/// A path on this site to go back to (anything else goes home).
fn local_path(back: &str) -> String {
    // A path on this site only: no other host ("//x", "/\\x"), and nothing a browser
    // would strip or a header could not hold (tabs, new lines, other control characters).
    if back.starts_with('/')
        && !back.starts_with("//")
        && !back.chars().any(|c| c == '\\' || c.is_control())
    {
        back.to_owned()
    } else {
        "/".to_owned()
    }
}

struct ReasonChoice {
    value: &'static str,
    label: &'static str,
    checked: bool,
}

fn reason_value(r: ReportReason) -> &'static str {
    match r {
        ReportReason::Harmful => "harmful",
        ReportReason::Safety => "safety",
        ReportReason::Spam => "spam",
        ReportReason::Misinformation => "misinformation",
        ReportReason::Guidelines => "guidelines",
        ReportReason::Other => "other",
    }
}

#[derive(askama::Template)]
#[template(path = "report.html", whitespace = "minimize")]
struct ReportPage {
    chrome: Chrome,
    csrf: String,
    subject: String,
    event: String,
    member: String,
    reasons: Vec<ReasonChoice>,
    note: String,
    back: String,
    intro: String,
    problems: Problems,
}

fn report_page(
    node: &Node,
    viewer: &Viewer,
    q: &TargetQuery,
    chosen: Option<ReportReason>,
    note: String,
    back: String,
    problems: Problems,
) -> Result<ReportPage, PageError> {
    let target = q.target()?;
    let subject = node.report_subject(&target, &viewer.auth.member_id)?;
    Ok(ReportPage {
        chrome: Chrome::member(node, viewer, "Report a concern", ""),
        csrf: viewer.csrf.clone(),
        subject,
        event: q.event.clone(),
        member: q.member.clone(),
        reasons: ReportReason::ALL
            .iter()
            .map(|r| ReasonChoice {
                value: reason_value(*r),
                label: r.label(),
                checked: chosen == Some(*r),
            })
            .collect(),
        note,
        back,
        intro: node.config().help.intro.clone(),
        problems,
    })
}

pub(crate) async fn report_form(
    State(node): State<Node>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(q): Query<TargetQuery>,
) -> Result<Response, PageError> {
    // Back to where the member was, when that was a page of this site.
    let back = headers
        .get(axum::http::header::REFERER)
        .and_then(|r| r.to_str().ok())
        .and_then(|r| url::Url::parse(r).ok())
        .filter(|u| {
            node.config()
                .public_url()
                .starts_with(u.origin().ascii_serialization().as_str())
        })
        .map(|u| match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_owned(),
        })
        .unwrap_or_else(|| "/".to_owned());
    let page = report_page(
        &node,
        &viewer,
        &q,
        None,
        String::new(),
        back,
        Problems::default(),
    )?;
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct ReportForm {
    #[serde(default)]
    event: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    back: String,
}

pub(crate) async fn report(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<ReportForm>,
) -> Result<Response, PageError> {
    let q = TargetQuery {
        event: form.event.clone(),
        member: form.member.clone(),
    };
    let reason = ReportReason::ALL
        .iter()
        .copied()
        .find(|r| reason_value(*r) == form.reason);
    let back = local_path(&form.back);
    let mut problems = Problems::default();
    match reason {
        None => problems.add(
            "reason-harmful",
            "Choose the reason closest to your concern.",
        ),
        Some(reason) => {
            let req = ReportRequest {
                target: q.target()?,
                reason,
                note: form.note.clone(),
            };
            match node.report(&viewer.auth, req).await {
                Ok(_) => return Ok(see_other(&node, &back, Some(Flash::Reported))),
                Err(e) => problems.refused("note", e)?,
            }
        }
    }
    let page = report_page(&node, &viewer, &q, reason, form.note, back, problems)?;
    render_with_status(&page, &page.chrome, page.problems.status())
}

/// An action button on a queue row.
struct ActionButton {
    value: &'static str,
    label: &'static str,
    danger: bool,
}

struct QueueRow {
    item: QueueItem,
    event: String,
    member: String,
    actions: Vec<ActionButton>,
    /// Hide or restore can be shared with other nodes (not for this node's members:
    /// their moderators are here).
    can_share: bool,
    history: Vec<(When, AuditEntry)>,
}

#[derive(askama::Template)]
#[template(path = "moderation_queue.html", whitespace = "minimize")]
struct QueuePage {
    chrome: Chrome,
    csrf: String,
    rows: Vec<QueueRow>,
    is_admin: bool,
    section: &'static str,
    problems: Problems,
}

fn buttons(role: Role, item: &QueueItem) -> Vec<ActionButton> {
    use ModerationAction as A;
    let hidden = item.hidden.is_some();
    let person = matches!(item.target, ReportTarget::Member(_));
    let gone = item.kind == "gone";
    [
        (
            A::Dismiss,
            if item.appeal.is_some() {
                "Keep the decision"
            } else {
                "Dismiss: no action needed"
            },
            false,
        ),
        (
            A::Hide,
            if person {
                "Hide everything they write here"
            } else {
                "Hide here"
            },
            false,
        ),
        (A::Restore, "Show again", false),
        (A::Retract, "Take down everywhere", true),
        (A::Warn, "Warn the author", false),
        (A::Suspend, "Suspend the author", true),
        (A::Reinstate, "Reinstate", false),
    ]
    .into_iter()
    .filter(|(a, _, _)| match a {
        A::Hide => !hidden && !gone,
        A::Restore => hidden,
        A::Retract => !person && !gone && item.kind != "message",
        A::Reinstate => item.appeal.is_some(),
        _ => true,
    })
    .filter(|(a, _, _)| {
        // The queue shows nobody their own reports, and staff's only to admins.
        let concerns = Concerned {
            home_here: item.home_here,
            ..Concerned::default()
        };
        allowed(role, *a, concerns).is_ok()
    })
    .map(|(a, label, danger)| ActionButton {
        value: a.as_str(),
        label,
        danger,
    })
    .collect()
}

fn queue_page(node: &Node, viewer: &Viewer, problems: Problems) -> Result<QueuePage, PageError> {
    let queue = node.moderation_queue(&viewer.auth)?;
    let now = Timestamp::now();
    let rows = queue
        .items
        .into_iter()
        .map(|item| {
            let (event, member) = match &item.target {
                ReportTarget::Event(id) => (id.to_string(), String::new()),
                ReportTarget::Member(m) => (String::new(), m.to_string()),
            };
            QueueRow {
                event,
                member,
                actions: buttons(viewer.auth.member.role, &item),
                can_share: !item.home_here && item.kind != "gone",
                history: item
                    .history
                    .iter()
                    .map(|h| (When::new(h.at, now, &viewer.tz), h.clone()))
                    .collect(),
                item,
            }
        })
        .collect();
    Ok(QueuePage {
        chrome: Chrome::member(node, viewer, "Reports", "/admin"),
        csrf: viewer.csrf.clone(),
        rows,
        is_admin: viewer.auth.member.role >= Role::Admin,
        section: "moderation",
        problems,
    })
}

pub(crate) async fn queue(State(node): State<Node>, viewer: Viewer) -> Result<Response, PageError> {
    let page = queue_page(&node, &viewer, Problems::default())?;
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct ActForm {
    #[serde(default)]
    event: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    share: String,
}

pub(crate) async fn act(
    State(node): State<Node>,
    viewer: Viewer,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: ActForm = member_form(&viewer, &body)?;
    let q = TargetQuery {
        event: form.event.clone(),
        member: form.member.clone(),
    };
    let target = q.target()?;
    let Some(action) = ModerationAction::named(&form.action) else {
        return Err(AppError::bad_request("Choose an action.").into());
    };
    let hard = matches!(
        action,
        ModerationAction::Suspend | ModerationAction::Retract
    );
    if hard && !confirmed(&body) && !form.note.trim().is_empty() {
        // Whatever would refuse the action is said now, not after a confirmation.
        if let Err(e) = node.check_action(&viewer.auth, &target, action) {
            let mut problems = Problems::default();
            problems.refused("", e)?;
            let page = queue_page(&node, &viewer, problems)?;
            return render_with_status(&page, &page.chrome, page.problems.status());
        }
        let subject = node
            .report_subject(&target, &viewer.auth.member_id)
            .unwrap_or_else(|_| "what was reported".to_owned());
        let (question, consequence, button) = if action == ModerationAction::Suspend {
            let author = match &target {
                ReportTarget::Member(m) => m.clone(),
                ReportTarget::Event(id) => node
                    .payload(id)?
                    .map(|p| p.author)
                    .ok_or_else(|| AppError::not_found("It is not here any more."))?,
            };
            let name = node.author_labels(&author)?.0;
            let length = match node.next_suspension_days(&author)? {
                Some(d) => format!("for {d} days"),
                None => "permanently (this is their last step)".to_owned(),
            };
            (
                format!("Suspend {name} {length}?"),
                "They are signed out at once, cannot sign in, post or chat, and are told why. They can ask once for the decision to be reviewed.".to_owned(),
                "Yes, suspend them",
            )
        } else {
            (
                format!("Take down {subject} everywhere?"),
                "It goes from this node and from every organisation it was shared with. This cannot be undone.".to_owned(),
                "Yes, take it down",
            )
        };
        return ask_first(
            &node,
            &viewer,
            &body,
            Ask {
                question,
                consequence: format!("{consequence} Reason: “{}”", form.note.trim()),
                action: "/admin/moderation/act",
                button,
                cancel: "/admin/moderation",
            },
        );
    }
    let req = ModerationRequest {
        target,
        action,
        note: form.note,
        share: form.share == "on",
    };
    match node.moderate(&viewer.auth, req).await {
        Ok(_) => Ok(see_other(
            &node,
            "/admin/moderation",
            Some(Flash::Moderated),
        )),
        Err(e) => {
            let mut problems = Problems::default();
            problems.refused("", e)?;
            let page = queue_page(&node, &viewer, problems)?;
            render_with_status(&page, &page.chrome, page.problems.status())
        }
    }
}

#[derive(askama::Template)]
#[template(path = "moderation_log.html", whitespace = "minimize")]
struct LogPage {
    chrome: Chrome,
    entries: Vec<(When, AuditEntry)>,
    older: Option<u64>,
    is_admin: bool,
    section: &'static str,
}

#[derive(Deserialize)]
pub(crate) struct BeforeQuery {
    before: Option<u64>,
}

pub(crate) async fn log(
    State(node): State<Node>,
    viewer: Viewer,
    Query(q): Query<BeforeQuery>,
) -> Result<Response, PageError> {
    let log = node.audit_log(&viewer.auth, q.before)?;
    let now = Timestamp::now();
    let page = LogPage {
        chrome: Chrome::member(&node, &viewer, "Moderation log", "/admin"),
        entries: log
            .items
            .into_iter()
            .map(|e| (When::new(e.at, now, &viewer.tz), e))
            .collect(),
        older: log.next_before,
        is_admin: true,
        section: "moderation-log",
    };
    render(&page, &page.chrome)
}

pub(crate) async fn log_csv(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    Ok(node.audit_download(&viewer.auth)?)
}
