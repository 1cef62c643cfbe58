//! Property tests: every payload and frame round-trips; decoding any bytes never panics;
//! flipping any byte of a signed event makes verification fail.
#![allow(clippy::unwrap_used)] // Test code: a panic is a test failure.

mod support;

use kindred_protocol::event::verify_batch;
use kindred_protocol::peer::PeerFrame;
use kindred_protocol::*;
use proptest::prelude::*;
use support::*;

fn config() -> ProptestConfig {
    // PROPTEST_CASES (proptest's own variable) raises the case count in CI.
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig::with_cases(cases)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn payloads_round_trip(payload in payload()) {
        let bytes = payload.to_bytes().expect("strategy makes valid payloads");
        prop_assert_eq!(EventPayload::from_bytes(&bytes).expect("decodes"), payload);
    }

    #[test]
    fn frames_round_trip(frame in frame()) {
        let bytes = frame.encode();
        prop_assert_eq!(PeerFrame::decode(&bytes).expect("decodes"), frame);
    }

    #[test]
    fn signed_events_round_trip_through_storage_form(event in signed_event()) {
        prop_assert_eq!(SignedEvent::from_bytes(&event.to_bytes()).expect("decodes"), event);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = PeerFrame::decode(&bytes);
        let _ = EventPayload::from_bytes(&bytes);
        let _ = SignedEvent::from_bytes(&bytes);
        let _ = SignedEvent::from_parts(bytes, [0; 64]).verify();
    }

    #[test]
    fn decoding_damaged_frames_never_panics(
        frame in frame(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut bytes = frame.encode();
        let _ = PeerFrame::decode(&bytes[..cut.index(bytes.len() + 1)]);
        let i = flip.index(bytes.len());
        bytes[i] ^= 1 << bit;
        // Whatever still decodes has exactly one encoding.
        if let Ok(frame) = PeerFrame::decode(&bytes) {
            prop_assert_eq!(frame.encode(), bytes);
        }
    }

    #[test]
    fn decoding_damaged_payloads_never_panics(
        payload in payload(),
        flip in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let mut bytes = payload.to_bytes().expect("valid");
        let i = flip.index(bytes.len());
        bytes[i] = value;
        if let Ok(payload) = EventPayload::from_bytes(&bytes) {
            prop_assert_eq!(payload.to_bytes().expect("re-encodes"), bytes);
        }
    }
}

proptest! {
    // Each case signs and verifies many times, so fewer cases cover it well.
    #![proptest_config(ProptestConfig::with_cases(config().cases / 4 + 1))]

    #[test]
    fn flipping_any_byte_of_a_signed_event_breaks_verification(
        seed in any::<[u8; 32]>(),
        template in payload(),
        flip in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let keypair = NodeKeypair::from_seed(&seed);
        let payload = EventPayload { origin: keypair.node_id(), ..template };
        let event = SignedEvent::sign(&payload, &keypair).expect("signs");
        let verified = event.clone().verify().expect("a fresh signature verifies");
        prop_assert_eq!(verified.payload(), &payload);

        // Flip one bit anywhere in payload or signature.
        let mut payload_bytes = event.payload_bytes().to_vec();
        let mut signature = *event.signature();
        let i = flip.index(payload_bytes.len() + 64);
        if i < payload_bytes.len() {
            payload_bytes[i] ^= 1 << bit;
        } else {
            signature[i - payload_bytes.len()] ^= 1 << bit;
        }
        let damaged = SignedEvent::from_parts(payload_bytes, signature);
        prop_assert!(damaged.clone().verify().is_err());
        prop_assert!(verify_batch(vec![damaged])[0].is_err());
    }
}
