//! `Idempotency-Key` (IETF httpapi draft "The Idempotency-Key HTTP Header Field"): a write
//! sent again with the same key, after a timeout or an error, is answered with the first
//! answer instead of being done twice. Web forms carry their key in a hidden `_idem`
//! field (added by the page script), so a form sent twice (a double click, a reload after
//! a timeout, the back button) posts once. Keys belong to the credential that sent them
//! (a bearer token or the session cookie), are kept for an hour, and may be 1-255 visible
//! ASCII characters. A key reused for a different request (method, path or body) is
//! refused with 422; one whose first request is still being handled, with 409. Answers
//! that leave nothing done (5xx, `storage_full`) are not kept, so a retry does the write.
//!
//! A request that stores events (a post, a reply, a message) has its key recorded with
//! each event in the event's own commit (`node::write_key`). Its answer, when it is a
//! success, is kept in memory only, for quick retries; a retry after a crash, or after the
//! answer has left memory, is not carried out again but told it was (409), since handling
//! it again could write over what changed since.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kindred_protocol::api::ErrorCode;
use sha2::{Digest, Sha256};

use crate::http::error_response;
use crate::node::AppError;
use crate::node::Node;
use crate::store::idempotency::Claim;

/// The request header.
pub(crate) const HEADER: &str = "idempotency-key";

/// Set on an answer replayed from a key's record.
const REPLAYED: &str = "idempotent-replayed";

/// Answers larger than this are not kept (no write answers with so much).
const MAX_KEPT_BODY: usize = 4 * 1024 * 1024;

/// Middleware for the API's writes.
pub(crate) async fn idempotent(State(node): State<Node>, req: Request, next: Next) -> Response {
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if !writes {
        return next.run(req).await;
    }
    let credential = crate::api::auth::bearer_of(req.headers())
        .or_else(|| crate::api::auth::session_cookie_of(req.headers()));
    let Some(credential) = credential else {
        // Without a credential there is nobody to keep the key for (set-up, joining and
        // signing in are safe to refuse twice).
        return next.run(req).await;
    };
    let form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if req.headers().get_all(HEADER).iter().count() > 1 {
        return private(
            AppError::bad_request("Send one Idempotency-Key header, not several.").into_response(),
        );
    }
    let header_key = req.headers().get(HEADER).map(|k| k.as_bytes().to_vec());
    if header_key.is_none() && !form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    // The body was read in full before (`http::body`), within the size limit.
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return AppError::bad_request("The request body could not be read.").into_response();
    };
    let key = match header_key {
        Some(k) => k,
        None => match form_key(&bytes) {
            Some(k) => k.into_bytes(),
            None => {
                return next
                    .run(Request::from_parts(parts, Body::from(bytes)))
                    .await;
            }
        },
    };
    let valid = (1..=255).contains(&key.len()) && key.iter().all(|b| (0x21..0x7f).contains(b));
    if !valid {
        return private(
            AppError::bad_request("The Idempotency-Key must be 1 to 255 visible ASCII characters.")
                .into_response(),
        );
    }
    let mut scope = Sha256::new();
    scope.update(b"kindred idempotency scope\0");
    scope.update(credential.as_bytes());
    let mut record_key = scope.finalize().to_vec();
    record_key.extend_from_slice(&key);
    let mut fp = Sha256::new();
    fp.update(parts.method.as_str().as_bytes());
    fp.update([0]);
    fp.update(
        parts
            .uri
            .path_and_query()
            .map_or("", |p| p.as_str())
            .as_bytes(),
    );
    fp.update([0]);
    fp.update(&bytes);
    let fingerprint: [u8; 32] = fp.finalize().into();
    let now = node.now().0;
    let store = node.store().clone();
    match store.idempotent_claim(&record_key, &fingerprint, now) {
        Err(e) => return AppError::from(e).into_response(),
        Ok(Claim::UnderWay) => {
            return refusal(
                form.then_some(&node),
                StatusCode::CONFLICT,
                "Still being sent",
                "This is still being sent. Please wait a moment, then look before sending it again.",
            );
        }
        Ok(Claim::Answered {
            fingerprint: recorded,
            status,
            body,
        }) => {
            if recorded != fingerprint {
                return reused(form.then_some(&node));
            }
            return replay(status, &body);
        }
        Ok(Claim::Reused) => return reused(form.then_some(&node)),
        Ok(Claim::New) => {}
        Ok(Claim::Again) => {
            let mut r = refusal(
                form.then_some(&node),
                StatusCode::CONFLICT,
                "Already sent",
                "This was sent before and carried out (all of it, or the part done before the node restarted), and its answer is gone. Look at what changed before sending anything again.",
            );
            r.headers_mut()
                .insert(REPLAYED, HeaderValue::from_static("true"));
            return r;
        }
    }
    // The events the request writes are recorded under its key as they are stored, so a
    // retry after a crash that lost this answer finds them (`node::write_key`).
    let key = crate::node::write_key::WriteKey::new(record_key.clone(), fingerprint);
    let response = crate::node::write_key::under(
        key.clone(),
        next.run(Request::from_parts(parts, Body::from(bytes))),
    )
    .await;
    let status = response.status();
    // An answer made while the disk is full (a web form shows it as a problem with the
    // form) is not kept either: once there is room, the same form must be able to post.
    if status.is_server_error() || store.disk_full() {
        // Nothing was done (or a retry may finish it): the key is free again.
        store.idempotent_drop(&record_key);
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_KEPT_BODY).await else {
        // Too big to keep: answered, but a retry cannot be told the same.
        store.idempotent_drop(&record_key);
        return private(error_response(
            ErrorCode::Internal,
            "The answer was too large to send.".to_owned(),
        ));
    };
    let kept = envelope(&parts.headers, &body);
    if key.wrote() && status.is_success() {
        // Its events carry the key in their own commit, so a retry after a crash (or
        // after this answer has left memory) is known to be carried out: the answer is
        // kept in memory only, for the retries of the next moments. (A refusal that
        // stored something, say an answer that found the mentor's places taken, is kept
        // on disk, so its retry is told the same refusal.)
        store.idempotent_remember(&record_key, &fingerprint, now, status.as_u16(), kept);
    } else if let Err(e) = keep_durably(&store, &record_key, &fingerprint, now, status, &kept).await
    {
        tracing::warn!(error = %e, "cannot record an idempotency key's answer");
    }
    Response::from_parts(parts, Body::from(body))
}

/// The answer to a key sent again with a different request (422, as the draft says).
fn reused(page: Option<&Node>) -> Response {
    match page {
        None => refusal(
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
            "This Idempotency-Key was already used for a different request; use a new key for a new request.",
        ),
        Some(node) => refusal(
            Some(node),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Sent before with other content",
            "This form was already sent with different content. Please reload the page, then send it again.",
        ),
    }
}

/// A refusal of the key's request: the API's JSON error, or for a web form (`page` is the
/// node then) an error page in the site's layout titled `title`, since people read it.
fn refusal(page: Option<&Node>, status: StatusCode, title: &str, message: &str) -> Response {
    let r = match page {
        Some(node) => crate::web::error::problem_page(node, status, title, message),
        None => {
            let code = if status == StatusCode::CONFLICT {
                ErrorCode::Conflict
            } else {
                ErrorCode::BadRequest
            };
            let mut r = error_response(code, message.to_owned());
            *r.status_mut() = status;
            r
        }
    };
    private(r)
}

/// Writes the answer of a request that stored no events, durably, before it is sent: a
/// retry after a crash gets this answer instead of doing the write again over whatever
/// changed since (a setting, a role). The answers waiting from other requests go in the
/// same write.
async fn keep_durably(
    store: &crate::store::Store,
    record_key: &[u8],
    fingerprint: &[u8; 32],
    now: u64,
    status: StatusCode,
    kept: &[u8],
) -> Result<(), crate::store::StoreError> {
    store.idempotent_done(record_key, fingerprint, now, status.as_u16(), kept)?;
    let writer = store.clone();
    match tokio::task::spawn_blocking(move || writer.idempotent_persist()).await {
        Ok(written) => written?,
        Err(_) => return Err(crate::store::StoreError::Closed),
    }
    store.durable().await
}

/// A web form's key: its `_idem` field.
fn form_key(body: &[u8]) -> Option<String> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .ok()?
        .into_iter()
        .find(|(k, _)| k == "_idem")
        .map(|(_, v)| v)
}

/// The headers an answer needs again (its type, and where a form's answer sends the
/// browser), each length-prefixed, then the body.
const KEPT_HEADERS: [header::HeaderName; 2] = [header::CONTENT_TYPE, header::LOCATION];

fn envelope(headers: &axum::http::HeaderMap, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 64);
    for name in KEPT_HEADERS {
        let value = headers.get(&name).map_or(&[][..], HeaderValue::as_bytes);
        let len = u16::try_from(value.len()).unwrap_or(0);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&value[..usize::from(len)]);
    }
    out.extend_from_slice(body);
    out
}

/// The first answer again, from its [`envelope`].
fn replay(status: u16, kept: &[u8]) -> Response {
    let mut rest = kept;
    let mut headers = Vec::new();
    for name in KEPT_HEADERS {
        let len = rest
            .get(..2)
            .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
        let value = rest.get(2..2 + len).unwrap_or_default();
        rest = rest.get(2 + len..).unwrap_or_default();
        if let Ok(v) = HeaderValue::from_bytes(value)
            && !value.is_empty()
        {
            headers.push((name, v));
        }
    }
    let mut r = Response::new(Body::from(rest.to_vec()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    for (name, value) in headers {
        r.headers_mut().insert(name, value);
    }
    r.headers_mut()
        .insert(REPLAYED, HeaderValue::from_static("true"));
    private(r)
}

/// An answer made here, with what every answer of the node's carries.
fn private(mut r: Response) -> Response {
    crate::http::private(r.headers_mut());
    r
}
