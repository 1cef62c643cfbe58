//! Fuzz target: decoding any bytes as a link frame, an event payload or a signed event
//! must never panic, and whatever decodes must re-encode to the same bytes.
#![no_main]

use kindred_protocol::peer::PeerFrame;
use kindred_protocol::{EventPayload, SignedEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = PeerFrame::decode(data) {
        assert_eq!(frame.encode(), data, "frames have one encoding");
    }
    if let Ok(payload) = EventPayload::from_bytes(data) {
        assert_eq!(payload.to_bytes().ok().as_deref(), Some(data), "payloads have one encoding");
    }
    if let Ok(event) = SignedEvent::from_bytes(data) {
        let _ = event.verify();
    }
});
