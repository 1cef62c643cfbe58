//! Batch verification accepts exactly what single strict verification accepts, and finds
//! the bad events in a mixed batch.
#![allow(clippy::unwrap_used)] // Test code: a panic is a test failure.

use kindred_protocol::event::body::peer_learning::Post;
use kindred_protocol::event::verify_batch;
use kindred_protocol::*;

fn post(keypair: &NodeKeypair, seq: u64) -> SignedEvent {
    let node = NodeName::new("a.example").unwrap();
    let payload = EventPayload {
        origin: keypair.node_id(),
        created_at: Timestamp(1_700_000_000_000 + seq),
        audience: Audience::Shared { seq },
        author: MemberId::new("sam", &node).unwrap(),
        refs: References::default(),
        body: EventBody::Post(Post {
            topic: "Funding".into(),
            title: format!("Post {seq}"),
            body: "What worked for us".into(),
            tags: vec!["grants".into()],
            content_warning: None,
        }),
    };
    SignedEvent::sign(&payload, keypair).unwrap()
}

#[test]
fn a_clean_batch_verifies_in_order() {
    let a = NodeKeypair::from_seed(&[1; 32]);
    let b = NodeKeypair::from_seed(&[2; 32]);
    let events: Vec<_> = (1..=40)
        .map(|i| if i % 2 == 0 { post(&a, i) } else { post(&b, i) })
        .collect();
    let ids: Vec<_> = events.iter().map(SignedEvent::id).collect();
    let results = verify_batch(events);
    let got: Vec<_> = results.into_iter().map(|r| r.unwrap().id()).collect();
    assert_eq!(got, ids);
}

#[test]
fn bad_events_in_a_batch_are_singled_out() {
    let a = NodeKeypair::from_seed(&[1; 32]);
    let mut events: Vec<_> = (1..=10).map(|i| post(&a, i)).collect();
    // A forged signature, a payload altered after signing, and garbage.
    let mut sig = *events[3].signature();
    sig[10] ^= 1;
    events[3] = SignedEvent::from_parts(events[3].payload_bytes().to_vec(), sig);
    let mut altered = events[6].payload_bytes().to_vec();
    let last = altered.len() - 1;
    altered[last] ^= 0x20;
    events[6] = SignedEvent::from_parts(altered, *events[6].signature());
    events.push(SignedEvent::from_parts(b"not an event".to_vec(), [0; 64]));

    let results = verify_batch(events);
    for (i, r) in results.iter().enumerate() {
        let bad = matches!(i, 3 | 6 | 10);
        assert_eq!(r.is_err(), bad, "event {i}: {r:?}");
    }
}

#[test]
fn a_weak_origin_key_is_refused() {
    let a = NodeKeypair::from_seed(&[1; 32]);
    let good = post(&a, 1);
    // Put the identity point (a small-order key) where the origin goes.
    let mut payload = good.payload_bytes().to_vec();
    let mut weak = [0u8; 32];
    weak[0] = 1;
    payload[event::ORIGIN_RANGE].copy_from_slice(&weak);
    let forged = SignedEvent::from_parts(payload, *good.signature());
    assert_eq!(
        verify_batch(vec![forged.clone()])[0],
        Err(VerifyError::WeakKey)
    );
    assert_eq!(forged.verify(), Err(VerifyError::WeakKey));
}

#[test]
fn a_non_canonical_or_small_order_r_is_refused_by_both_paths() {
    let a = NodeKeypair::from_seed(&[1; 32]);
    let good = post(&a, 1);
    let mut sig = *good.signature();
    // R = identity point: small order.
    sig[..32].copy_from_slice(&{
        let mut r = [0u8; 32];
        r[0] = 1;
        r
    });
    let bad = SignedEvent::from_parts(good.payload_bytes().to_vec(), sig);
    assert!(bad.clone().verify().is_err());
    assert!(verify_batch(vec![bad])[0].is_err());
}
