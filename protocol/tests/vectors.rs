//! Published test vectors (`tests/vectors/*.json`): secret seed, payload bytes, signature
//! and id. A second implementation can check itself against them; this test checks that
//! this one still produces and accepts exactly these bytes.
//!
//! To regenerate after a deliberate format change (never casually: signed bytes are
//! forever), run `KINDRED_WRITE_VECTORS=1 cargo test -p kindred-protocol --test vectors`.
#![allow(clippy::unwrap_used)] // Test code: a panic is a test failure.

use std::path::PathBuf;

use kindred_protocol::event::ConversationId;
use kindred_protocol::event::body::chat::ChatMessage;
use kindred_protocol::event::body::peer_learning::{Post, Reply};
use kindred_protocol::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Vector {
    description: String,
    /// 32-byte ed25519 secret seed of the origin node, hex.
    secret_seed: String,
    /// The origin's public key (its node id), hex.
    public_key: String,
    /// The signed payload bytes, hex.
    payload: String,
    /// The ed25519 signature over `payload`, hex.
    signature: String,
    /// SHA-256 of `payload`, hex.
    id: String,
    /// `valid`, or the reason a verifier must refuse it.
    expect: String,
    /// The payload's kind code.
    kind: u16,
    /// Shared-log sequence number, or null for directed events.
    seq: Option<u64>,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn keypair(n: u8) -> NodeKeypair {
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = n.wrapping_mul(31).wrapping_add(i as u8);
    }
    NodeKeypair::from_seed(&seed)
}

/// The payloads behind the vectors, built from fixed inputs.
fn cases() -> Vec<(&'static str, &'static str, NodeKeypair, EventPayload)> {
    let chex = NodeName::new("chex.example.org").unwrap();
    let sam = MemberId::new("sam", &chex).unwrap();
    let a = keypair(1);
    let other = keypair(2).node_id();
    let root = EventId::from_bytes([0x11; 32]);
    let mut recipients = vec![a.node_id(), other];
    recipients.sort();
    vec![
        (
            "post",
            "A peer-learning post, first in its origin's shared log.",
            keypair(1),
            EventPayload {
                origin: a.node_id(),
                created_at: Timestamp(1_764_000_000_000),
                audience: Audience::Shared { seq: 1 },
                author: sam.clone(),
                refs: References::default(),
                body: EventBody::Post(Post {
                    topic: "Funding".into(),
                    title: "What we learned from our lottery bid".into(),
                    body: "Start early, and *ask* the funder for a call.".into(),
                    tags: vec!["grants".into(), "lottery".into()],
                    content_warning: None,
                }),
            },
        ),
        (
            "reply",
            "A reply with a content warning, naming its thread root and parent.",
            keypair(1),
            EventPayload {
                origin: a.node_id(),
                created_at: Timestamp(1_764_000_060_000),
                audience: Audience::Shared { seq: 2 },
                author: sam.clone(),
                refs: References {
                    thread_root: Some(root),
                    reply_to: Some(root),
                    ..Default::default()
                },
                body: EventBody::Reply(Reply {
                    body: "Thank you, this helped. We found the same — ça marche.".into(),
                    content_warning: Some("burnout".into()),
                }),
            },
        ),
        (
            "chat",
            "A directed chat message for two nodes.",
            keypair(1),
            EventPayload {
                origin: a.node_id(),
                created_at: Timestamp(1_764_000_120_000),
                audience: Audience::Directed { recipients },
                author: sam.clone(),
                refs: References::default(),
                body: EventBody::ChatMessage(ChatMessage {
                    conversation: ConversationId::from_bytes([0x42; 16]),
                    body: "Shall we talk on Thursday?".into(),
                }),
            },
        ),
        (
            "unknown-kind",
            "An event of a kind this version does not define: still verifiable and relayable.",
            keypair(1),
            EventPayload {
                origin: a.node_id(),
                created_at: Timestamp(1_764_000_180_000),
                audience: Audience::Shared { seq: 3 },
                author: sam,
                refs: References::default(),
                body: EventBody::Unknown {
                    kind: 999,
                    bytes: vec![1, 2, 3, 4],
                },
            },
        ),
    ]
}

fn make(name: &str, description: &str, key: &NodeKeypair, payload: &EventPayload) -> Vector {
    let signed = SignedEvent::sign(payload, key).unwrap();
    Vector {
        description: format!("{name}: {description}"),
        secret_seed: hex::encode(key.seed()),
        public_key: key.node_id().to_hex(),
        payload: hex::encode(signed.payload_bytes()),
        signature: hex::encode(signed.signature()),
        id: signed.id().to_hex(),
        expect: "valid".into(),
        kind: payload.body.kind_code(),
        seq: payload.seq(),
    }
}

fn all_vectors() -> Vec<(String, Vector)> {
    let mut out: Vec<(String, Vector)> = cases()
        .iter()
        .map(|(name, d, k, p)| ((*name).to_owned(), make(name, d, k, p)))
        .collect();
    // A negative vector: the post with one byte of its body changed after signing.
    let mut tampered = make("tampered", "", &cases()[0].2, &cases()[0].3);
    let mut bytes = hex::decode(&tampered.payload).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    tampered.description =
        "tampered: the post vector with its last payload byte changed after signing; \
         verifiers must refuse it."
            .into();
    tampered.payload = hex::encode(&bytes);
    tampered.id = EventId::of_payload(&bytes).to_hex();
    tampered.expect = "bad_signature".into();
    out.push(("tampered".into(), tampered));
    out
}

#[test]
fn published_vectors_hold() {
    if std::env::var_os("KINDRED_WRITE_VECTORS").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, v) in all_vectors() {
            let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
            std::fs::write(dir().join(format!("{name}.json")), text).unwrap();
        }
    }
    let mut checked = 0;
    for (name, expected) in all_vectors() {
        let path = dir().join(format!("{name}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let v: Vector = serde_json::from_str(&text).unwrap();
        // This build still makes exactly the published bytes.
        assert_eq!(v, expected, "{name}: encoder output changed");
        check(&v);
        checked += 1;
    }
    assert_eq!(checked, 5);
}

/// Checks one vector using only its own fields, as a second implementation would.
fn check(v: &Vector) {
    let seed: [u8; 32] = hex::decode(&v.secret_seed).unwrap().try_into().unwrap();
    let key = NodeKeypair::from_seed(&seed);
    assert_eq!(key.node_id().to_hex(), v.public_key);
    let payload = hex::decode(&v.payload).unwrap();
    let signature: [u8; 64] = hex::decode(&v.signature).unwrap().try_into().unwrap();
    assert_eq!(EventId::of_payload(&payload).to_hex(), v.id);
    let event = SignedEvent::from_parts(payload.clone(), signature);
    match v.expect.as_str() {
        "valid" => {
            assert_eq!(
                hex::encode(key.sign(&payload)),
                v.signature,
                "ed25519 is deterministic"
            );
            let verified = event.verify().unwrap();
            assert_eq!(verified.payload().body.kind_code(), v.kind);
            assert_eq!(verified.payload().seq(), v.seq);
            // Canonical: re-encoding the parsed payload gives the same bytes.
            assert_eq!(verified.payload().to_bytes().unwrap(), payload);
        }
        "bad_signature" => assert_eq!(event.verify(), Err(VerifyError::BadSignature)),
        other => panic!("unknown expectation {other}"),
    }
}
