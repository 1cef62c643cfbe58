//! Passwords: prepared as the PRECIS OpaqueString profile says (RFC 8265, section 4.2)
//! before they are hashed with argon2id, so the same password typed differently is the same
//! password: "é" as one character or as "e" plus a combining accent (NFC), a no-break or
//! full-width space (one ASCII space). Control characters are refused when a password is
//! chosen. (Done here with current Unicode data: the PRECIS crates' tables end at Unicode
//! 6.3 and refused every newer character, emoji included.)
//!
//! Hashes made before preparation (`MemberRecord::password_precis` false) are checked
//! against the password as typed, then as prepared, and replaced with a prepared one at
//! the next sign-in.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::node::AppError;

/// `password` prepared for hashing.
///
/// Errors: a bad request when it holds a character passwords cannot (control characters,
/// unassigned code points) or nothing at all.
pub(crate) fn prepare(password: &str) -> Result<String, AppError> {
    opaque(password).ok_or_else(|| {
        AppError::bad_request(
            "That password holds a character passwords cannot (a control character). Please choose another.",
        )
    })
}

/// RFC 8265 OpaqueString: spaces of every kind as ASCII spaces, NFC; `None` for an empty
/// password or one with control characters.
fn opaque(password: &str) -> Option<String> {
    let spaced: String = password
        .chars()
        .map(|c| {
            if c.is_whitespace() && c != '\t' && c != '\n' && c != '\r' {
                ' '
            } else {
                c
            }
        })
        .collect();
    if spaced.is_empty() || spaced.chars().any(char::is_control) {
        return None;
    }
    Some(kindred_protocol::text::nfc(&spaced))
}

/// The argon2id hash of an already prepared password (PHC string).
pub(crate) async fn hash(prepared: String) -> Result<String, AppError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(prepared.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))
    })
    .await
    .map_err(AppError::internal)?
}

fn matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Whether `typed` is the password `hash` was made from; `precis` says whether the hash
/// was made from a prepared password (see the module documentation).
pub(crate) async fn verify(hash: String, typed: String, precis: bool) -> bool {
    tokio::task::spawn_blocking(move || {
        let prepared = opaque(&typed);
        if precis {
            return prepared.is_some_and(|p| matches(&hash, &p));
        }
        matches(&hash, &typed) || prepared.is_some_and(|p| p != typed && matches(&hash, &p))
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_password_typed_any_canonical_way_matches() {
        let composed = "café au lait 2026";
        let decomposed = "cafe\u{301} au lait 2026";
        let h = hash(prepare(composed).unwrap()).await.unwrap();
        assert!(verify(h.clone(), decomposed.into(), true).await);
        assert!(verify(h.clone(), composed.into(), true).await);
        assert!(verify(h.clone(), "café\u{00A0}au lait 2026".into(), true).await);
        assert!(!verify(h, "cafe au lait 2026".into(), true).await);
        assert!(prepare("pass\u{7}word").is_err());
        // Characters newer than Unicode 6.3 are fine.
        let emoji = hash(prepare("smile 🙂 horse battery").unwrap())
            .await
            .unwrap();
        assert!(verify(emoji, "smile 🙂 horse battery".into(), true).await);

        // A hash made from the password as typed, before preparation: either typing works.
        let old = hash(composed.into()).await.unwrap();
        assert!(verify(old.clone(), composed.into(), false).await);
        assert!(verify(old.clone(), decomposed.into(), false).await);
        assert!(!verify(old, "something else".into(), false).await);
    }
}
