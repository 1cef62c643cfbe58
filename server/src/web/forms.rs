//! Reading submitted forms: the CSRF check first, then the fields; and the list of problems
//! shown at the top of a form and next to each field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode};
use kindred_protocol::api::ErrorCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::error::PageError;
use super::session::{Viewer, check_form_token};
use crate::http::status_of;
use crate::node::AppError;
use crate::node::Node;

#[derive(Deserialize)]
struct CsrfField {
    #[serde(rename = "_csrf", default)]
    csrf: String,
}

fn fields<T: DeserializeOwned>(body: &[u8]) -> Result<T, PageError> {
    serde_urlencoded::from_bytes(body).map_err(|e| {
        tracing::debug!(error = %e, "malformed form");
        AppError::bad_request("The form could not be read. Please go back and try again.").into()
    })
}

fn csrf_of(body: &[u8]) -> String {
    serde_urlencoded::from_bytes::<CsrfField>(body)
        .map(|f| f.csrf)
        .unwrap_or_default()
}

/// A form sent by a signed-in member.
pub(crate) fn member_form<T: DeserializeOwned>(
    viewer: &Viewer,
    body: &[u8],
) -> Result<T, PageError> {
    viewer.check_csrf(&csrf_of(body))?;
    fields(body)
}

/// A form sent by a signed-in member, as an extractor: the member, and the fields once
/// the CSRF check passed (`member_form`). Reads the body, so it comes last among a
/// handler's arguments.
pub(crate) struct MemberForm<T> {
    /// Who sent it.
    pub(crate) viewer: Viewer,
    /// The fields.
    pub(crate) form: T,
}

impl<T: DeserializeOwned> FromRequest<Node> for MemberForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, node: &Node) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, node).await?;
        let body = Bytes::from_request(Request::from_parts(parts, body), node)
            .await
            .map_err(|e| {
                let code = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorCode::TooLarge
                } else {
                    ErrorCode::BadRequest
                };
                PageError::from(crate::node::AppError::new(code, e.body_text()))
            })?;
        let form = member_form(&viewer, &body)?;
        Ok(MemberForm { viewer, form })
    }
}

/// A form sent by someone not signed in (sign in, set-up, join).
pub(crate) fn public_form<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
) -> Result<T, PageError> {
    check_form_token(headers, &csrf_of(body))?;
    fields(body)
}

/// A form read as name-value pairs, for forms with repeated fields (a group of
/// checkboxes sends one pair per ticked box).
pub(crate) struct FormPairs(Vec<(String, String)>);

impl FormPairs {
    /// The first value of `name`, or "" when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether `name` was sent (a ticked checkbox).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// A signed-in member's form with repeated fields.
pub(crate) fn member_pairs(viewer: &Viewer, body: &[u8]) -> Result<FormPairs, PageError> {
    viewer.check_csrf(&csrf_of(body))?;
    fields(body).map(FormPairs)
}

/// A checkbox in a group.
pub(crate) struct Choice {
    /// What the form sends when it is ticked.
    pub(crate) value: String,
    /// What it says.
    pub(crate) label: String,
    /// Whether it is ticked.
    pub(crate) checked: bool,
}

/// A form with nothing in it but its CSRF field (a button).
#[derive(Deserialize)]
pub(crate) struct NoFields {}

/// One problem with a form, tied to the field it is about.
pub(crate) struct Problem {
    /// The field's `id` (the summary links to it); empty for the form as a whole.
    pub(crate) field: &'static str,
    /// What is wrong and how to fix it.
    pub(crate) message: String,
}

/// The problems found with a submitted form, and the status to answer the redrawn form
/// with (400, or the node's own trouble such as 507 when its disk is full).
#[derive(Default)]
pub(crate) struct Problems(pub(crate) Vec<Problem>, Option<StatusCode>);

impl Problems {
    /// Adds a problem with `field`.
    pub(crate) fn add(&mut self, field: &'static str, message: impl Into<String>) {
        let message = message.into();
        // A form retried against the same trouble says it once.
        if self
            .0
            .iter()
            .any(|p| p.field == field && p.message == message)
        {
            return;
        }
        self.0.push(Problem { field, message });
    }

    /// Adds a refusal from the node next to the field it names, or next to `field` when
    /// it names none (the whole form when that is empty). Form fields are named as the
    /// API's JSON fields, so the node's name is the form's.
    pub(crate) fn refused(
        &mut self,
        field: &'static str,
        error: AppError,
    ) -> Result<(), PageError> {
        self.refused_as(field, error, &[])
    }

    /// As [`Problems::refused`], for a form whose fields are named differently from the
    /// API's: `names` maps the node's field name to the form's.
    pub(crate) fn refused_as(
        &mut self,
        field: &'static str,
        error: AppError,
        names: &[(&str, &'static str)],
    ) -> Result<(), PageError> {
        let error = match error {
            AppError::Refused {
                code,
                message,
                field: Some(named),
            } => AppError::Refused {
                code,
                message,
                field: Some(
                    names
                        .iter()
                        .find(|(api, _)| *api == named)
                        .map_or(named, |(_, form)| *form),
                ),
            },
            other => other,
        };
        match error {
            // The node's own trouble (a full disk, shutting down) is about the whole form,
            // not the field, and the redrawn form answers with its status.
            AppError::Refused { code, message, .. } if code.is_node_trouble() => {
                self.add("", message);
                self.1 = self.1.max(Some(status_of(code)));
                Ok(())
            }
            AppError::Refused {
                message,
                field: named,
                ..
            } => {
                self.add(named.unwrap_or(field), message);
                Ok(())
            }
            internal => Err(internal.into()),
        }
    }

    /// The status for the redrawn form: 400, or the node's trouble it met (507, 503).
    pub(crate) fn status(&self) -> StatusCode {
        self.1.unwrap_or(StatusCode::BAD_REQUEST)
    }

    /// Whether there are none.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for `field`, if any (shown next to it).
    pub(crate) fn of(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|p| p.field == field)
            .map(|p| p.message.as_str())
    }

    /// Whether `field` has a problem (for `aria-invalid`).
    pub(crate) fn has(&self, field: &str) -> bool {
        self.of(field).is_some()
    }
}

/// Splits "a, b,c" into tags, dropping empties.
pub(crate) fn split_tags(text: &str) -> Vec<String> {
    text.split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect()
}

/// Empty text counts as not given.
pub(crate) fn optional(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_optional_text() {
        assert_eq!(
            split_tags(" funding, ,volunteers ,"),
            vec!["funding", "volunteers"]
        );
        assert_eq!(optional("   "), None);
        assert_eq!(optional(" grief "), Some("grief".to_owned()));
    }

    #[test]
    fn the_csrf_field_is_found_among_others() {
        assert_eq!(csrf_of(b"title=x&_csrf=abc&body=y"), "abc");
        assert_eq!(csrf_of(b"title=x"), "");
        assert_eq!(csrf_of(b"\xff\xfe"), "");
    }
}
