//! Web sessions: the session cookie (the same session tokens the API uses), CSRF tokens for
//! forms, and the `Viewer` extractor that sends signed-out visitors to the sign-in page.

use axum::extract::FromRequestParts;
use axum::http::header::{COOKIE, HOST, ORIGIN};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use kindred_protocol::api::{ErrorCode, Role};
use sha2::{Digest, Sha256};

use super::error::PageError;
use crate::node::AppError;
use crate::node::{Auth, Node};

/// Name of the session cookie the web pages (and the API, for the pages' script) read.
pub(crate) const SESSION_COOKIE: &str = "kindred_session";

/// Cookie holding the CSRF token for signed-out forms (sign in, set-up, join).
const FORM_COOKIE: &str = "kindred_form";

/// The browser's device token ([`kindred_protocol::api::SessionCreated::device`]): kept
/// after signing out so this browser's next sign-in is throttled on its own.
pub(crate) const DEVICE_COOKIE: &str = "kindred_device";

/// How long the device cookie is kept, in seconds (the token's own validity).
pub(crate) const DEVICE_COOKIE_SECS: u64 = 365 * 24 * 60 * 60;
/// Cookie holding a one-shot notice shown after a redirect.
pub(crate) const FLASH_COOKIE: &str = "kindred_flash";

/// A signed-in member looking at a page.
pub(crate) struct Viewer {
    /// Who they are.
    pub(crate) auth: Auth,
    /// The token every form they submit must carry.
    pub(crate) csrf: String,
    /// The notice to show once, if a redirect left one.
    pub(crate) flash: Option<super::chrome::Flash>,
    /// The time zone their dates are shown in.
    pub(crate) tz: jiff::tz::TimeZone,
}

impl Viewer {
    /// Whether they may moderate (moderators and admins).
    pub(crate) fn is_moderator(&self) -> bool {
        self.auth.member.role >= Role::Moderator
    }

    /// Refuses a form whose CSRF field does not match this session's token.
    pub(crate) fn check_csrf(&self, submitted: &str) -> Result<(), PageError> {
        if same_secret(submitted, &self.csrf) {
            Ok(())
        } else {
            tracing::warn!(member = %self.auth.member_id, "form refused: CSRF token mismatch");
            Err(PageError::from(AppError::forbidden(
                "This form has expired. Please go back, reload the page and try again.",
            )))
        }
    }
}

impl FromRequestParts<Node> for Viewer {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, node: &Node) -> Result<Self, Self::Rejection> {
        let next = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "/".to_owned());
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(PageError::SignIn { next });
        };
        let auth = match node.authenticate(&token) {
            Ok(auth) => auth,
            Err(AppError::Refused {
                code: ErrorCode::Unauthorized,
                ..
            }) => return Err(PageError::SignIn { next }),
            Err(e) => return Err(e.into()),
        };
        if !node.limits().requests.try_take(&auth.session_hash) {
            tracing::warn!(member = %auth.member_id, "request rate limit reached (web)");
            return Err(AppError::new(
                ErrorCode::RateLimited,
                "Too many requests. Please slow down and try again in a minute.",
            )
            .into());
        }
        if parts.method != axum::http::Method::GET {
            check_origin(&parts.headers)?;
        }
        Ok(Viewer {
            tz: node.time_zone_of(&auth.member),
            auth,
            csrf: csrf_for(&token),
            flash: cookie(&parts.headers, FLASH_COOKIE)
                .and_then(|c| super::chrome::Flash::parse(&c)),
        })
    }
}

/// The signed-in member, for pages anyone may see; `None` when signed out.
pub(crate) fn signed_in_viewer(node: &Node, headers: &HeaderMap) -> Option<Viewer> {
    let token = cookie(headers, SESSION_COOKIE)?;
    let auth = node.authenticate(&token).ok()?;
    Some(Viewer {
        tz: node.time_zone_of(&auth.member),
        auth,
        csrf: csrf_for(&token),
        flash: flash_in(headers),
    })
}

/// The one-shot notice a redirect left, if any.
pub(crate) fn flash_in(headers: &HeaderMap) -> Option<super::chrome::Flash> {
    cookie(headers, FLASH_COOKIE).and_then(|c| super::chrome::Flash::parse(&c))
}

/// The form token for a session: derived from the session token, which only the browser
/// holding the HttpOnly cookie knows.
fn csrf_for(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"kindred web form\0")
        .chain_update(token.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

fn same_secret(a: &str, b: &str) -> bool {
    // Constant-time in the length of the expected value.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A cookie's value from the request.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, v)| *n == name && !v.is_empty())
        .map(|(_, v)| v.to_owned())
}

/// Refuses a cross-site form post: when the browser says where the form came from, it must
/// be this site. (The cookies are `SameSite=Strict` as well.)
pub(crate) fn check_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    if host.is_some() && origin_host == host {
        return Ok(());
    }
    tracing::warn!(%origin, ?host, "form refused: posted from another site");
    Err(AppError::forbidden("This form was sent from another website, so it was refused.").into())
}

/// `Set-Cookie` value for a cookie; `secure` when the node is reached over HTTPS.
pub(crate) fn set_cookie(name: &str, value: &str, max_age_secs: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether cookies should be marked `Secure`.
pub(crate) fn secure_cookies(node: &Node) -> bool {
    node.config().public_url().starts_with("https://")
}

/// The CSRF token for signed-out forms, and the cookie to set if it is new.
pub(crate) fn form_token(node: &Node, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    if let Some(existing) = cookie(headers, FORM_COOKIE).filter(|v| v.len() == 32) {
        return (existing, None);
    }
    let mut bytes = [0u8; 16];
    // Without randomness there is no safe token; an empty one is refused on submit.
    if getrandom::fill(&mut bytes).is_err() {
        return (String::new(), None);
    }
    let token = hex::encode(bytes);
    let header = set_cookie(FORM_COOKIE, &token, 60 * 60 * 24, secure_cookies(node));
    (token, Some(header))
}

/// Checks a signed-out form's CSRF field against its cookie.
pub(crate) fn check_form_token(headers: &HeaderMap, submitted: &str) -> Result<(), PageError> {
    check_origin(headers)?;
    match cookie(headers, FORM_COOKIE) {
        Some(expected) if !submitted.is_empty() && same_secret(submitted, &expected) => Ok(()),
        Some(_) => Err(AppError::forbidden(
            "This form has expired. Please reload the page and try again.",
        )
        .into()),
        None => Err(AppError::bad_request(
            "Kindred needs cookies to sign you in. Please allow cookies for this site and try again.",
        )
        .into()),
    }
}

/// Where to go after signing in: only a path on this site.
pub(crate) fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if is_local_path(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// Whether `n` is a path on this node and nothing a browser could read as another site:
/// it starts with one `/`, and has no backslash, whitespace or control character anywhere
/// (browsers drop tabs and newlines from URLs, so `/\t/evil.example` would become
/// `//evil.example`).
fn is_local_path(n: &str) -> bool {
    n.starts_with('/')
        && !n.starts_with("//")
        && n.len() <= 2048
        && !n
            .chars()
            .any(|c| c == '\\' || c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_only_ever_a_path_on_this_node() {
        for (next, expected) in [
            ("/topics/funding", "/topics/funding"),
            ("/chat?c=1#m", "/chat?c=1#m"),
            ("//evil.example", "/"),
            ("/\t/evil.example/phish", "/"),
            ("/\n/evil.example", "/"),
            ("/\r\nSet-Cookie:x=1", "/"),
            ("/\\evil.example", "/"),
            ("\\\\evil.example", "/"),
            ("https://evil.example", "/"),
            ("javascript:alert(1)", "/"),
            ("/ /evil.example", "/"),
            ("/\u{0}/x", "/"),
            ("", "/"),
        ] {
            assert_eq!(safe_next(Some(next)), expected, "{next:?}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_compare_exactly() {
        let a = csrf_for("kds_one");
        assert_eq!(a, csrf_for("kds_one"));
        assert_ne!(a, csrf_for("kds_two"));
        assert!(same_secret(&a, &a.clone()));
        assert!(!same_secret(&a, &a[1..]));
        assert!(!same_secret("", &a));
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:7070"));
        assert!(check_origin(&headers).is_ok());
        headers.insert(ORIGIN, HeaderValue::from_static("http://127.0.0.1:7070"));
        assert!(check_origin(&headers).is_ok());
        headers.insert(ORIGIN, HeaderValue::from_static("http://evil.example"));
        assert!(check_origin(&headers).is_err());
        headers.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(check_origin(&headers).is_err());
    }
}
