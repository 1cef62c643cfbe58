//! Batch verification for the replication hot path: many events verified in one
//! multi-scalar multiplication, accepting exactly the events `verify_strict` accepts.

use std::collections::HashMap;

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signature, VerifyingKey};

use super::{SignedEvent, VerifiedEvent};
use crate::error::VerifyError;
use crate::identity::NodeId;

/// Verifies many events at once. Results come back in input order.
///
/// Origin keys are decoded once per origin and weak keys refused. Each signature's `R` must
/// be a canonical encoding of a point that is not of small order, the checks that
/// `verify_strict` adds to the plain equation, so the batch path and the single path accept
/// the same events. If the batch equation fails, each event is checked alone to find the bad
/// ones; the good ones in a bad batch are still accepted.
pub fn verify_batch(events: Vec<SignedEvent>) -> Vec<Result<VerifiedEvent, VerifyError>> {
    let mut keys: HashMap<NodeId, Result<VerifyingKey, VerifyError>> = HashMap::new();
    let mut results: Vec<Option<Result<VerifiedEvent, VerifyError>>> = Vec::new();
    // Events that passed the cheap checks, with their slot in `results`.
    let mut candidates: Vec<(usize, SignedEvent, VerifyingKey)> = Vec::new();

    for (slot, event) in events.into_iter().enumerate() {
        let checked = event.origin().map_err(VerifyError::from).and_then(|origin| {
            let key = keys
                .entry(origin)
                .or_insert_with(|| origin.verifying_key())
                .clone()?;
            if !r_is_strict(event.signature()) {
                return Err(VerifyError::BadSignature);
            }
            Ok(key)
        });
        match checked {
            Ok(key) => {
                results.push(None);
                candidates.push((slot, event, key));
            }
            Err(e) => results.push(Some(Err(e))),
        }
    }

    let batch_ok = {
        let messages: Vec<&[u8]> = candidates.iter().map(|(_, e, _)| e.payload_bytes()).collect();
        let signatures: Vec<Signature> = candidates
            .iter()
            .map(|(_, e, _)| Signature::from_bytes(e.signature()))
            .collect();
        let verifying_keys: Vec<VerifyingKey> = candidates.iter().map(|(_, _, k)| *k).collect();
        !candidates.is_empty()
            && ed25519_dalek::verify_batch(&messages, &signatures, &verifying_keys).is_ok()
    };

    for (slot, event, key) in candidates {
        let verified = if batch_ok {
            event.into_verified()
        } else {
            event.verify_with(&key)
        };
        results[slot] = Some(verified);
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or(Err(VerifyError::BadSignature)))
        .collect()
}

/// `R` decodes to a point, is canonically encoded, and is not of small order.
fn r_is_strict(signature: &[u8; 64]) -> bool {
    let mut r = [0u8; 32];
    r.copy_from_slice(&signature[..32]);
    let compressed = CompressedEdwardsY(r);
    match compressed.decompress() {
        Some(point) => point.compress() == compressed && !point.is_small_order(),
        None => false,
    }
}
