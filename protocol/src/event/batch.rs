//! Batch verification for the replication hot path: many events verified in one
//! multi-scalar multiplication, accepting exactly the events `verify_strict` accepts.

use std::collections::HashMap;

use ed25519_dalek::{Signature, VerifyingKey};

use super::{SignedEvent, VerifiedEvent};
use crate::error::VerifyError;
use crate::identity::NodeId;

/// Verifies the tombstone signatures an erasure or a redaction carries (`slots`), all at
/// once (the same checks as [`verify_batch`]); any bad one fails the whole event.
pub(crate) fn verify_tombstones(
    key: &VerifyingKey,
    origin: &NodeId,
    author: &crate::identity::MemberId,
    slots: &[super::body::erasure::ErasedSlot],
) -> Result<(), VerifyError> {
    if slots.is_empty() {
        return Ok(());
    }
    let messages: Vec<Vec<u8>> = slots
        .iter()
        .map(|slot| super::EventPayload::tombstone_bytes(origin, slot.seq, &slot.id, author))
        .collect();
    if slots.iter().any(|slot| !r_is_strict(&slot.signature)) {
        return Err(VerifyError::BadSignature);
    }
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let signatures: Vec<Signature> = slots
        .iter()
        .map(|slot| Signature::from_bytes(&slot.signature))
        .collect();
    let keys = vec![*key; refs.len()];
    if ed25519_dalek::verify_batch(&refs, &signatures, &keys).is_ok() {
        return Ok(());
    }
    Err(VerifyError::BadSignature)
}

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
        let checked = event
            .origin()
            .map_err(VerifyError::from)
            .and_then(|origin| {
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
        let messages: Vec<&[u8]> = candidates
            .iter()
            .map(|(_, e, _)| e.payload_bytes())
            .collect();
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

/// The y coordinates (little-endian, sign bit clear) of the eight small-order points:
/// 0 (order 4), 1 (identity), p-1 (order 2), and the two of order 8.
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    [0; 32],
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
];

/// The checks `verify_strict` makes on `R` beyond the equation, done on bytes so the batch
/// path does not decompress every `R` twice: `y` is canonical (below p = 2^255 - 19) and
/// `R` is not one of the small-order points. A non-canonical sign bit can only occur with
/// x = 0, i.e. y = 1 or y = p-1, both small order, so it is refused too. An `R` that is
/// not on the curve at all makes the batch equation fail and the single path refuse it.
pub(crate) fn r_is_strict(signature: &[u8; 64]) -> bool {
    let mut y = [0u8; 32];
    y.copy_from_slice(&signature[..32]);
    y[31] &= 0x7f;
    let y_at_least_p = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    !y_at_least_p && !SMALL_ORDER_Y.contains(&y)
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::CompressedEdwardsY;

    fn sig_with_r(r: [u8; 32]) -> [u8; 64] {
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&r);
        sig
    }

    /// The slow reference: decompress, re-compress, check order.
    fn reference(r: [u8; 32]) -> Option<bool> {
        let compressed = CompressedEdwardsY(r);
        let point = compressed.decompress()?;
        Some(point.compress() == compressed && !point.is_small_order())
    }

    #[test]
    fn every_small_order_point_is_refused_with_either_sign() {
        for point in EIGHT_TORSION {
            for sign in [0u8, 0x80] {
                let mut r = point.compress().to_bytes();
                r[31] |= sign;
                assert!(!r_is_strict(&sig_with_r(r)), "{r:02x?}");
            }
        }
    }

    #[test]
    fn non_canonical_y_is_refused() {
        for k in 0..19u8 {
            let mut r = [0xff; 32];
            r[31] = 0x7f;
            r[0] = 0xed + k;
            assert!(!r_is_strict(&sig_with_r(r)));
        }
    }

    #[test]
    fn agrees_with_the_decompressing_reference_on_real_points() {
        let key = crate::NodeKeypair::from_seed(&[9; 32]);
        for i in 0u32..2000 {
            let sig = key.sign(&i.to_be_bytes());
            let mut r = [0u8; 32];
            r.copy_from_slice(&sig[..32]);
            assert_eq!(reference(r), Some(r_is_strict(&sig)));
        }
        for point in EIGHT_TORSION {
            let r = point.compress().to_bytes();
            assert_eq!(reference(r), Some(r_is_strict(&sig_with_r(r))));
        }
    }
}
