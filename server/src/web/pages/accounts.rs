//! Sign in, sign out, the first admin's set-up page, and joining from an invite link.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kindred_protocol::api::{
    ErrorCode, LoginRequest, RedeemInviteRequest, SessionCreated, SetupRequest,
};
use serde::Deserialize;

use crate::http::client_address::ClientAddress;
use crate::node::AppError;
use crate::node::Node;
use crate::web::SESSION_COOKIE;
use crate::web::chrome::{Chrome, Flash, render_with_status, see_other};
use crate::web::error::PageError;
use crate::web::forms::{MemberForm, Problems, public_form};
use crate::web::session::{
    DEVICE_COOKIE, DEVICE_COOKIE_SECS, cookie, flash_in, form_token, safe_next, secure_cookies,
    set_cookie,
};

fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Adds the form-token cookie when it was just made.
fn with_cookie(mut response: Response, cookie: Option<HeaderValue>) -> Response {
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    response
}

/// Signs the browser in with a new session and goes to `to`.
fn signed_in(node: &Node, session: &SessionCreated, to: &str, flash: Flash) -> Response {
    let max_age = session
        .expires_at
        .as_millis()
        .saturating_sub(kindred_protocol::Timestamp::now().as_millis())
        / 1000;
    let mut response = see_other(node, to, Some(flash));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &session.token,
            max_age,
            secure_cookies(node),
        ),
    );
    if let Some(device) = &session.device {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                DEVICE_COOKIE,
                device,
                DEVICE_COOKIE_SECS,
                secure_cookies(node),
            ),
        );
    }
    response
}

#[derive(askama::Template)]
#[template(path = "signin.html", whitespace = "minimize")]
struct SignInPage {
    chrome: Chrome,
    csrf: String,
    next: String,
    username: String,
    problems: Problems,
}

/// `?next=` on the sign-in page.
#[derive(Deserialize)]
pub(crate) struct NextQuery {
    next: Option<String>,
}

pub(crate) async fn signin_form(
    State(node): State<Node>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    if node.store().setup_token_hash()?.is_some() && !node.store().admin_exists()? {
        // A brand-new node: the first thing to do is create the admin.
        return Ok(see_other(&node, "/setup", None));
    }
    let (csrf, cookie) = form_token(&node, &headers);
    let mut chrome = Chrome::public(&node, "Sign in");
    chrome.flash = flash_in(&headers).map(Flash::message);
    let page = SignInPage {
        chrome,
        csrf,
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        problems: Problems::default(),
    };
    let response = render_with_status(&page, &page.chrome, StatusCode::OK)?;
    Ok(with_cookie(response, cookie))
}

#[derive(Deserialize)]
pub(crate) struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub(crate) async fn signin(
    State(node): State<Node>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: SignInForm = public_form(&headers, &body)?;
    let mut problems = Problems::default();
    if form.username.trim().is_empty() {
        problems.add("username", "Enter your username.");
    }
    if form.password.is_empty() {
        problems.add("password", "Enter your password.");
    }
    if problems.is_empty() {
        let req = LoginRequest {
            username: form.username.clone(),
            password: form.password,
            device: cookie(&headers, DEVICE_COOKIE),
        };
        match node.login(req, address, user_agent(&headers)).await {
            Ok(session) => {
                let to = safe_next(form.next.as_deref());
                return Ok(signed_in(&node, &session, &to, Flash::SignedIn));
            }
            Err(e) => problems.refused("username", e)?,
        }
    }
    let (csrf, cookie) = form_token(&node, &headers);
    let page = SignInPage {
        chrome: Chrome::public(&node, "Sign in"),
        csrf,
        next: safe_next(form.next.as_deref()),
        username: form.username,
        problems,
    };
    let response = render_with_status(&page, &page.chrome, page.problems.status())?;
    Ok(with_cookie(response, cookie))
}

#[derive(Deserialize)]
pub(crate) struct CsrfOnly {}

pub(crate) async fn signout(
    State(node): State<Node>,
    MemberForm { viewer, .. }: MemberForm<CsrfOnly>,
) -> Result<Response, PageError> {
    node.logout(&viewer.auth).await?;
    let mut response = see_other(&node, "/signin", Some(Flash::SignedOut));
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, secure_cookies(&node)),
    );
    Ok(response)
}

/// The set-up and join pages share one form.
#[derive(askama::Template)]
#[template(path = "account_form.html", whitespace = "minimize")]
struct AccountPage {
    chrome: Chrome,
    lede: String,
    action: String,
    csrf: String,
    /// Whether the set-up token is asked for (not given in the link).
    ask_token: bool,
    token: String,
    display_name: String,
    username: String,
    min_password: usize,
    button: &'static str,
    problems: Problems,
    /// On the set-up page: who this node is, and where it says it can be reached.
    node_facts: Option<NodeFacts>,
    /// Only a new password is asked for (a reset link).
    password_only: bool,
}

/// What the first admin should check before inviting anyone: the name is in every member
/// id for good, and invite links carry the public address.
struct NodeFacts {
    name: String,
    public_url: String,
    /// The address works on this computer only.
    local_only: bool,
}

/// The fields of the set-up and join forms.
#[derive(Deserialize)]
pub(crate) struct AccountForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
}

/// `?token=` on the set-up page.
#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

fn setup_page(node: &Node, csrf: String, form: AccountForm, problems: Problems) -> AccountPage {
    AccountPage {
        chrome: Chrome::public(node, "Set up Kindred"),
        lede: format!(
            "Create the first admin account for Kindred at {}. You can invite everyone else once you are in.",
            node.config().node.organisation
        ),
        action: "/setup".to_owned(),
        csrf,
        ask_token: form.token.trim().is_empty() || problems.has("token"),
        token: form.token,
        display_name: form.display_name,
        username: form.username,
        min_password: node.config().accounts.min_password_chars,
        button: "Create admin account",
        problems,
        password_only: false,
        node_facts: Some(NodeFacts {
            name: node.config().node.name.to_string(),
            public_url: node.config().public_url(),
            local_only: node.config().public_url_is_local(),
        }),
    }
}

pub(crate) async fn setup_form(
    State(node): State<Node>,
    headers: HeaderMap,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    if node.store().admin_exists()? {
        return Err(AppError::new(
            ErrorCode::Gone,
            "This node is already set up. Please sign in.",
        )
        .into());
    }
    let (csrf, cookie) = form_token(&node, &headers);
    let form = AccountForm {
        token: q.token.unwrap_or_default(),
        username: String::new(),
        display_name: String::new(),
        password: String::new(),
    };
    let page = setup_page(&node, csrf, form, Problems::default());
    let response = render_with_status(&page, &page.chrome, StatusCode::OK)?;
    Ok(with_cookie(response, cookie))
}

fn check_account(node: &Node, form: &AccountForm) -> Problems {
    let mut problems = Problems::default();
    for (field, error) in node.check_new_member(&form.username, &form.display_name, &form.password)
    {
        if let AppError::Refused { message, .. } = error {
            problems.add(field, message);
        }
    }
    problems
}

pub(crate) async fn setup(
    State(node): State<Node>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: AccountForm = public_form(&headers, &body)?;
    let mut problems = check_account(&node, &form);
    if form.token.trim().is_empty() {
        problems.add(
            "token",
            "Enter the set-up token the node printed when it started.",
        );
    }
    if problems.is_empty() {
        let req = SetupRequest {
            token: form.token.clone(),
            username: form.username.clone(),
            display_name: form.display_name.clone(),
            password: form.password.clone(),
        };
        match node.setup(req, user_agent(&headers)).await {
            Ok(session) => return Ok(signed_in(&node, &session, "/", Flash::Welcome)),
            Err(
                e @ AppError::Refused {
                    code: ErrorCode::Forbidden,
                    ..
                },
            ) => problems.refused("token", e)?,
            Err(e) => problems.refused("username", e)?,
        }
    }
    let (csrf, cookie) = form_token(&node, &headers);
    let page = setup_page(&node, csrf, form, problems);
    let response = render_with_status(&page, &page.chrome, page.problems.status())?;
    Ok(with_cookie(response, cookie))
}

fn join_page(
    node: &Node,
    code: &str,
    csrf: String,
    form: AccountForm,
    problems: Problems,
) -> AccountPage {
    AccountPage {
        chrome: Chrome::public(node, "Join Kindred"),
        lede: format!(
            "You have been invited to Kindred at {}: a place to learn from people at other organisations, chat and find a mentor or buddy. Choose how you will sign in.",
            node.config().node.organisation
        ),
        action: format!("/join/{}", crate::web::views::path_segment(code)),
        csrf,
        ask_token: false,
        token: String::new(),
        display_name: form.display_name,
        username: form.username,
        min_password: node.config().accounts.min_password_chars,
        button: "Create my account",
        problems,
        node_facts: None,
        password_only: false,
    }
}

pub(crate) async fn join_form(
    State(node): State<Node>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Result<Response, PageError> {
    node.check_invite(&code)?;
    let (csrf, cookie) = form_token(&node, &headers);
    let form = AccountForm {
        token: String::new(),
        username: String::new(),
        display_name: String::new(),
        password: String::new(),
    };
    let page = join_page(&node, &code, csrf, form, Problems::default());
    let response = render_with_status(&page, &page.chrome, StatusCode::OK)?;
    Ok(with_cookie(response, cookie))
}

pub(crate) async fn join(
    State(node): State<Node>,
    headers: HeaderMap,
    Path(code): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: AccountForm = public_form(&headers, &body)?;
    let mut problems = check_account(&node, &form);
    if problems.is_empty() {
        let req = RedeemInviteRequest {
            code: code.clone(),
            username: form.username.clone(),
            display_name: form.display_name.clone(),
            password: form.password.clone(),
        };
        match node.redeem_invite(req, user_agent(&headers)).await {
            Ok(session) => return Ok(signed_in(&node, &session, "/", Flash::Welcome)),
            Err(
                e @ AppError::Refused {
                    code: ErrorCode::Conflict,
                    ..
                },
            ) => problems.refused("username", e)?,
            // The node's own trouble (a full disk): the form comes back with what was
            // typed, to send again later.
            Err(e @ AppError::Refused { code, .. }) if code.is_node_trouble() => {
                problems.refused("", e)?
            }
            // A used, expired or unknown invite: nothing on this form can fix that.
            Err(e) => return Err(e.into()),
        }
    }
    let (csrf, cookie) = form_token(&node, &headers);
    let page = join_page(&node, &code, csrf, form, problems);
    let response = render_with_status(&page, &page.chrome, page.problems.status())?;
    Ok(with_cookie(response.into_response(), cookie))
}

fn reset_page(
    node: &Node,
    token: &str,
    username: String,
    csrf: String,
    problems: Problems,
) -> AccountPage {
    AccountPage {
        chrome: Chrome::public(node, "Choose a new password"),
        lede: format!(
            "Choose a new password for {username}. Once it is set, you are signed out everywhere else, and this link stops working."
        ),
        action: format!("/reset/{}", crate::web::views::path_segment(token)),
        csrf,
        ask_token: false,
        token: String::new(),
        display_name: String::new(),
        username,
        min_password: node.config().accounts.min_password_chars,
        button: "Set my new password",
        problems,
        node_facts: None,
        password_only: true,
    }
}

/// The page a password-reset link opens.
pub(crate) async fn reset_form(
    State(node): State<Node>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let username = node.reset_for(&token)?;
    let (csrf, cookie) = form_token(&node, &headers);
    let page = reset_page(&node, &token, username, csrf, Problems::default());
    let response = render_with_status(&page, &page.chrome, StatusCode::OK)?;
    Ok(with_cookie(response, cookie))
}

/// Sets the new password; then the member signs in with it.
pub(crate) async fn reset(
    State(node): State<Node>,
    headers: HeaderMap,
    Path(token): Path<String>,
    body: Bytes,
) -> Result<Response, PageError> {
    let form: AccountForm = public_form(&headers, &body)?;
    let username = node.reset_for(&token)?;
    let mut problems = Problems::default();
    match node.reset_password(&token, &form.password).await {
        Ok(_) => return Ok(see_other(&node, "/signin", Some(Flash::PasswordReset))),
        Err(
            e @ AppError::Refused {
                code: ErrorCode::BadRequest,
                ..
            },
        ) => problems.refused("password", e)?,
        Err(e) => return Err(e.into()),
    }
    let (csrf, cookie) = form_token(&node, &headers);
    let page = reset_page(&node, &token, username, csrf, problems);
    let response = render_with_status(&page, &page.chrome, page.problems.status())?;
    Ok(with_cookie(response.into_response(), cookie))
}
