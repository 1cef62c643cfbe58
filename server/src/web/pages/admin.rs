//! Running the node from the browser: members and invites, topics (and which are shared
//! with the federation), and peers (pairing, status, blocking). The mentoring dashboard and
//! cohort rounds live with the mentoring pages.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kindred_protocol::Timestamp;
use kindred_protocol::api::{
    AddPeer, CreateInvite, CreateTopic, DecisionPolicy, InviteCreated, MemberView, PeerView, Role,
    UpdateMember, UpdateTopic,
};
use serde::Deserialize;

use crate::node::AppError;
use crate::node::Node;
use crate::web::chrome::{Chrome, Flash, render, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, NoFields, Problems, member_form, optional};
use crate::web::session::Viewer;
use crate::web::time::When;
use crate::web::views::{TopicItem, path_segment};

fn require(viewer: &Viewer, role: Role) -> Result<(), PageError> {
    Ok(viewer.auth.require(role)?)
}

fn parse_role(text: &str) -> Result<Role, PageError> {
    match text {
        "member" => Ok(Role::Member),
        "moderator" => Ok(Role::Moderator),
        "admin" => Ok(Role::Admin),
        _ => Err(AppError::bad_request("Choose member, moderator or admin.").into()),
    }
}

/// A member as the admin's list shows them.
struct MemberRow {
    view: MemberView,
    joined: When,
    is_me: bool,
}

/// An invite as the admin's list shows it.
struct InviteRow {
    id: String,
    role: Role,
    note: String,
    created: When,
    /// When it stops working (the list said nothing about expiry before).
    expires: When,
    state: &'static str,
    open: bool,
    /// The link, shown again to admins while it can be used.
    link: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "admin_members.html", whitespace = "minimize")]
struct MembersPage {
    chrome: Chrome,
    csrf: String,
    section: &'static str,
    members: Vec<MemberRow>,
    invites: Vec<InviteRow>,
    created: Option<InviteCreated>,
    created_expires: Option<When>,
    /// A password-reset link just made (shown once, on this page only).
    reset: Option<kindred_protocol::api::ResetLinkCreated>,
    reset_expires: Option<When>,
    problems: Problems,
}

fn members_page(node: &Node, viewer: &Viewer) -> Result<MembersPage, PageError> {
    require(viewer, Role::Admin)?;
    let now = Timestamp::now();
    let mut members: Vec<MemberRow> = node
        .members(&viewer.auth)?
        .into_iter()
        .map(|view| MemberRow {
            joined: When::new(view.created_at, now, &viewer.tz),
            is_me: view.username == viewer.auth.member.username,
            view,
        })
        .collect();
    members.sort_by_key(|m| kindred_protocol::text::fold(&m.view.display_name));
    let mut invites: Vec<InviteRow> = node
        .invites(&viewer.auth)?
        .into_iter()
        .map(|i| {
            let (state, open) = if i.revoked {
                ("Revoked", false)
            } else if i.used_by.is_some() {
                ("Used", false)
            } else if i.expires_at <= now {
                ("Expired", false)
            } else {
                ("Waiting to be used", true)
            };
            InviteRow {
                id: i.id,
                role: i.role,
                note: i.note.unwrap_or_default(),
                created: When::new(i.created_at, now, &viewer.tz),
                expires: When::new(i.expires_at, now, &viewer.tz),
                state,
                open,
                link: i.link,
            }
        })
        .collect();
    // Open invites first, then newest.
    invites.sort_by_key(|i| (!i.open, std::cmp::Reverse(i.created.iso.clone())));
    Ok(MembersPage {
        chrome: Chrome::member(node, viewer, "Members and invites", "/admin"),
        csrf: viewer.csrf.clone(),
        section: "members",
        members,
        invites,
        created: None,
        created_expires: None,
        reset: None,
        reset_expires: None,
        problems: Problems::default(),
    })
}

pub(crate) async fn index(State(node): State<Node>, viewer: Viewer) -> Result<Response, PageError> {
    require(&viewer, Role::Moderator)?;
    let to = if viewer.auth.member.role >= Role::Admin {
        "/admin/members"
    } else {
        "/admin/topics"
    };
    Ok(see_other(&node, to, None))
}

pub(crate) async fn members(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let page = members_page(&node, &viewer)?;
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct InviteForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    note: String,
}

/// Shows the new invite link on the page itself: it is a secret, so it never goes into a
/// redirect URL or cookie.
pub(crate) async fn create_invite(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<InviteForm>,
) -> Result<Response, PageError> {
    let req = CreateInvite {
        role: Some(parse_role(&form.role)?),
        note: optional(&form.note),
    };
    let created = node.create_invite(&viewer.auth, req).await?;
    let mut page = members_page(&node, &viewer)?;
    page.created_expires = Some(When::new(created.expires_at, Timestamp::now(), &viewer.tz));
    page.created = Some(created);
    render_with_status(&page, &page.chrome, StatusCode::CREATED)
}

/// Makes a password-reset link for a member and shows it on the page (a secret: never in
/// a redirect URL or cookie).
pub(crate) async fn reset_link(
    State(node): State<Node>,
    viewer: Viewer,
    Path(username): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let _: std::collections::HashMap<String, String> = member_form(&viewer, &body)?;
    let created = node.admin_reset_link(&viewer.auth, &username).await?;
    let mut page = members_page(&node, &viewer)?;
    page.reset_expires = Some(When::new(created.expires_at, Timestamp::now(), &viewer.tz));
    page.reset = Some(created);
    render_with_status(&page, &page.chrome, StatusCode::CREATED)
}

pub(crate) async fn revoke_invite(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    node.revoke_invite(&viewer.auth, &id).await?;
    Ok(see_other(
        &node,
        "/admin/members#invites",
        Some(Flash::InviteRevoked),
    ))
}

#[derive(Deserialize)]
pub(crate) struct MemberChangeForm {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    suspend: Option<String>,
}

pub(crate) async fn update_member(
    State(node): State<Node>,
    Path(username): Path<String>,
    MemberForm { viewer, form }: MemberForm<MemberChangeForm>,
) -> Result<Response, PageError> {
    let req = UpdateMember {
        role: form.role.as_deref().map(parse_role).transpose()?,
        suspended: form.suspend.as_deref().map(|s| s == "yes"),
    };
    node.update_member(&viewer.auth, &username, req).await?;
    let to = format!("/admin/members#member-{}", path_segment(&username));
    Ok(see_other(&node, &to, Some(Flash::MemberUpdated)))
}

#[derive(askama::Template)]
#[template(path = "admin_topics.html", whitespace = "minimize")]
struct TopicsPage {
    chrome: Chrome,
    csrf: String,
    section: &'static str,
    is_admin: bool,
    topics: Vec<TopicItem>,
    problems: Problems,
    name: String,
    description: String,
    shared: bool,
    shared_hint: String,
}

fn topics_page(node: &Node, viewer: &Viewer) -> Result<TopicsPage, PageError> {
    require(viewer, Role::Moderator)?;
    let now = Timestamp::now();
    let mut topics: Vec<TopicItem> = node
        .topic_views()?
        .iter()
        .map(|t| TopicItem::new(t, now, &viewer.tz))
        .collect();
    topics.sort_by_key(|t| kindred_protocol::text::fold(&t.name));
    Ok(TopicsPage {
        chrome: Chrome::member(node, viewer, "Topics", "/admin"),
        csrf: viewer.csrf.clone(),
        section: "topics",
        is_admin: viewer.auth.member.role >= Role::Admin,
        topics,
        problems: Problems::default(),
        name: String::new(),
        description: String::new(),
        shared: true,
        shared_hint: format!(
            "Untick to keep it to people at {} only.",
            node.config().node.organisation
        ),
    })
}

pub(crate) async fn topics(
    State(node): State<Node>,
    viewer: Viewer,
) -> Result<Response, PageError> {
    let page = topics_page(&node, &viewer)?;
    render(&page, &page.chrome)
}

#[derive(Deserialize)]
pub(crate) struct TopicForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    shared: Option<String>,
}

pub(crate) async fn create_topic(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<TopicForm>,
) -> Result<Response, PageError> {
    let mut problems = Problems::default();
    let req = CreateTopic {
        name: form.name.trim().to_owned(),
        description: form.description.trim().to_owned(),
        shared: form.shared.is_some(),
    };
    match node.create_topic(&viewer.auth, req).await {
        Ok(_) => return Ok(see_other(&node, "/admin/topics", Some(Flash::TopicSaved))),
        Err(e) => problems.refused("name", e)?,
    }
    let mut page = topics_page(&node, &viewer)?;
    page.problems = problems;
    page.name = form.name;
    page.description = form.description;
    page.shared = form.shared.is_some();
    render_with_status(&page, &page.chrome, page.problems.status())
}

#[derive(Deserialize)]
pub(crate) struct TopicUpdateForm {
    #[serde(default)]
    description: String,
    #[serde(default)]
    shared: Option<String>,
}

pub(crate) async fn update_topic(
    State(node): State<Node>,
    Path(name): Path<String>,
    MemberForm { viewer, form }: MemberForm<TopicUpdateForm>,
) -> Result<Response, PageError> {
    let req = UpdateTopic {
        description: Some(form.description.trim().to_owned()),
        shared: Some(form.shared.is_some()),
    };
    node.update_topic(&viewer.auth, &name, req).await?;
    Ok(see_other(&node, "/admin/topics", Some(Flash::TopicSaved)))
}

/// A peer as the admin's list shows it.
struct PeerRow {
    view: PeerView,
    since: Option<When>,
    /// Its clock's distance from this node's, when more than the warning limit.
    clock: Option<String>,
    /// The organisation (or the node's name when it has not said).
    who: String,
    /// Where the link stands, in plain words ("Connected, up to date").
    status: String,
    /// Whether that is good news (styling, and a badge's words).
    ok: bool,
}

/// A peer's link status in plain words, and whether all is well.
fn peer_status(view: &PeerView, tz: &jiff::tz::TimeZone) -> (String, bool) {
    use kindred_protocol::api::PeerStatus;
    match view.status() {
        PeerStatus::Blocked => ("Blocked: nothing is exchanged with it".to_owned(), false),
        PeerStatus::UpToDate => ("Connected, up to date".to_owned(), true),
        PeerStatus::CatchingUp(n) => (
            format!(
                "Connected, catching up: {} to go",
                crate::calendar::count(n, "update", "updates")
            ),
            true,
        ),
        PeerStatus::Connecting => ("Not connected yet: trying".to_owned(), false),
        PeerStatus::Unreachable { since, reason } => (
            match since {
                Some(t) => format!(
                    "Not reachable since {}: {reason}",
                    crate::calendar::human_time(t.as_millis(), tz)
                ),
                None => format!("Not reachable: {reason}"),
            },
            false,
        ),
    }
}

#[derive(askama::Template)]
#[template(path = "admin_peers.html", whitespace = "minimize")]
struct PeersPage {
    chrome: Chrome,
    csrf: String,
    section: &'static str,
    node_name: String,
    peers: Vec<PeerRow>,
    /// Forks, name claims and clocks the admin should know about.
    warnings: Vec<kindred_protocol::api::FederationWarning>,
    /// This node's id (its own warnings get no Block button).
    own_id: kindred_protocol::NodeId,
    /// Nodes blocked already.
    blocked: Vec<kindred_protocol::NodeId>,
    invite: Option<String>,
    invite_expires: Option<When>,
    problems: Problems,
    token: String,
}

fn peers_page(node: &Node, viewer: &Viewer) -> Result<PeersPage, PageError> {
    require(viewer, Role::Admin)?;
    let now = Timestamp::now();
    let mut peers: Vec<PeerRow> = node
        .peer_views()?
        .into_iter()
        .map(|view| PeerRow {
            since: view.connected_since.map(|t| When::new(t, now, &viewer.tz)),
            who: view
                .organisation
                .clone()
                .unwrap_or_else(|| view.name.to_string()),
            status: peer_status(&view, &viewer.tz).0,
            ok: peer_status(&view, &viewer.tz).1,
            clock: view
                .clock_offset_ms
                .filter(|o| o.unsigned_abs() > node.config().federation.clock_warning_ms)
                .map(|o| {
                    format!(
                        "{} this node's",
                        kindred_protocol::api::clock_offset_words(o)
                    )
                }),
            view,
        })
        .collect();
    peers.sort_by_key(|p| p.who.to_lowercase());
    Ok(PeersPage {
        chrome: Chrome::member(node, viewer, "Peers", "/admin"),
        csrf: viewer.csrf.clone(),
        section: "peers",
        node_name: node.config().node.name.to_string(),
        peers,
        warnings: node.federation_warnings()?,
        own_id: node.node_id(),
        blocked: node.blocked_nodes()?,
        invite: None,
        invite_expires: None,
        problems: Problems::default(),
        token: String::new(),
    })
}

pub(crate) async fn peers(State(node): State<Node>, viewer: Viewer) -> Result<Response, PageError> {
    let page = peers_page(&node, &viewer)?;
    render(&page, &page.chrome)
}

pub(crate) async fn create_peer_invite(
    State(node): State<Node>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    let created = node.create_peer_invite(&viewer.auth).await?;
    let mut page = peers_page(&node, &viewer)?;
    page.invite_expires = Some(When::new(created.expires_at, Timestamp::now(), &viewer.tz));
    page.invite = Some(created.token);
    render_with_status(&page, &page.chrome, StatusCode::CREATED)
}

#[derive(Deserialize)]
pub(crate) struct RedeemForm {
    #[serde(default)]
    token: String,
}

pub(crate) async fn add_peer(
    State(node): State<Node>,
    MemberForm { viewer, form }: MemberForm<RedeemForm>,
) -> Result<Response, PageError> {
    let mut problems = Problems::default();
    let token = form.token.trim().to_owned();
    if token.is_empty() {
        problems.add(
            "token",
            "Paste the federation invite the other organisation's admin sent you.",
        );
    } else {
        match crate::federation::redeem(&node, &viewer.auth, AddPeer { token }).await {
            Ok(_) => return Ok(see_other(&node, "/admin/peers", Some(Flash::PeerAdded))),
            Err(e) => problems.refused("token", e)?,
        }
    }
    let mut page = peers_page(&node, &viewer)?;
    page.problems = problems;
    page.token = form.token;
    render_with_status(&page, &page.chrome, page.problems.status())
}

fn node_id(text: &str) -> Result<kindred_protocol::NodeId, PageError> {
    text.parse()
        .map_err(|_| AppError::not_found("There is no such node.").into())
}

pub(crate) async fn block_peer(
    State(node): State<Node>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let _: NoFields = member_form(&viewer, &body)?;
    require(&viewer, Role::Admin)?;
    let peer = node_id(&id)?;
    if !crate::web::confirm::confirmed(&body) {
        let name = node
            .store()
            .origin_name(&peer)?
            .unwrap_or_else(|| "this node".to_owned());
        return crate::web::confirm::ask_first(
            &node,
            &viewer,
            &body,
            crate::web::confirm::Ask {
                question: format!("Block {name}?"),
                consequence: "Nothing more is exchanged with it, and what it and the organisations it brought in wrote is hidden here. If it is your hub, that may be most of the network: to deal with one post or person, hide them from the Reports page instead. You can unblock it later.".to_owned(),
                action: &format!("/admin/peers/{id}/block"),
                button: "Yes, block it",
                cancel: "/admin/peers",
            },
        );
    }
    node.admin_block(&viewer.auth, peer).await?;
    Ok(see_other(&node, "/admin/peers", Some(Flash::PeerBlocked)))
}

#[derive(Deserialize)]
pub(crate) struct PolicyForm {
    #[serde(default)]
    policy: String,
}

pub(crate) async fn peer_decisions(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, form }: MemberForm<PolicyForm>,
) -> Result<Response, PageError> {
    let policy = match form.policy.as_str() {
        "adopt" => DecisionPolicy::Adopt,
        "ignore" => DecisionPolicy::Ignore,
        "review" => DecisionPolicy::Review,
        _ => return Err(AppError::bad_request("Choose review, adopt or ignore.").into()),
    };
    node.set_decisions_from(&viewer.auth, &node_id(&id)?, policy)?;
    Ok(see_other(&node, "/admin/peers", Some(Flash::PeerUpdated)))
}

pub(crate) async fn unblock_peer(
    State(node): State<Node>,
    Path(id): Path<String>,
    MemberForm { viewer, .. }: MemberForm<NoFields>,
) -> Result<Response, PageError> {
    node.admin_unblock(&viewer.auth, node_id(&id)?).await?;
    Ok(see_other(&node, "/admin/peers", Some(Flash::PeerUnblocked)))
}
