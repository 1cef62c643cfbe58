//! Tombstones: what a node holds and relays in place of an erased event.
#![allow(clippy::unwrap_used)]

use kindred_protocol::event::body::erasure::{ErasedSlot, Erasure, Redaction};
use kindred_protocol::{
    Audience, EventBody, EventId, EventPayload, MemberId, NodeKeypair, References, SignedEvent,
    Timestamp,
};

#[test]
fn a_tombstone_keeps_the_erased_id_and_only_its_origin_can_sign_one() {
    let key = NodeKeypair::generate().unwrap();
    let ann = MemberId::parse("@ann:a.example").unwrap();
    let erased = EventId::from_bytes([9; 32]);
    let tomb = SignedEvent::tombstone(&key, 4, &erased, &ann);
    assert!(tomb.is_tombstone());
    assert_eq!(tomb.id(), erased);
    let verified = SignedEvent::from_bytes(&tomb.to_bytes())
        .unwrap()
        .verify()
        .unwrap();
    assert_eq!(verified.id(), erased);
    assert_eq!(verified.payload().audience, Audience::Shared { seq: 4 });
    assert_eq!(verified.payload().author, ann);
    assert!(matches!(verified.payload().body, EventBody::Tombstone(_)));

    // Another node's signature, a changed number or author: refused.
    let other = NodeKeypair::generate().unwrap();
    let forged = SignedEvent::tombstone(&other, 4, &erased, &ann);
    let relabelled = SignedEvent::from_parts(
        EventPayload::tombstone_bytes(&key.node_id(), 4, &erased, &ann),
        *forged.signature(),
    );
    assert!(relabelled.verify().is_err());
    let slot = ErasedSlot {
        seq: 5,
        id: erased,
        signature: *tomb.signature(),
    };
    assert!(
        SignedEvent::tombstone_of(&key.node_id(), &ann, &slot)
            .verify()
            .is_err()
    );
    // A node's own record of an erased directed event (number 0) never travels.
    let local = SignedEvent::from_parts(
        EventPayload::tombstone_bytes(&key.node_id(), 0, &erased, &ann),
        [0; 64],
    );
    assert!(local.clone().verify().is_err());
    assert_eq!(local.parse().unwrap().audience, Audience::Local);
}

/// An erasure verifies only when every tombstone in it is its origin's, for that author,
/// number and id: a relay could otherwise be handed tombstones its peers refuse.
#[test]
fn an_erasure_with_a_forged_tombstone_does_not_verify() {
    let key = NodeKeypair::generate().unwrap();
    let other = NodeKeypair::generate().unwrap();
    let ann = MemberId::parse("@ann:a.example").unwrap();
    let bob = MemberId::parse("@bob:a.example").unwrap();
    let id = EventId::from_bytes([5; 32]);
    let slot = |signer: &NodeKeypair, who: &MemberId, seq: u64| ErasedSlot {
        seq,
        id,
        signature: *SignedEvent::tombstone(signer, seq, &id, who).signature(),
    };
    let erasure = |slots: Vec<ErasedSlot>| {
        SignedEvent::sign(
            &EventPayload {
                origin: key.node_id(),
                created_at: Timestamp(1),
                audience: Audience::Shared { seq: 10 },
                author: ann.clone(),
                refs: References::default(),
                body: EventBody::Erasure(Erasure { slots }),
            },
            &key,
        )
    };
    let good = erasure(vec![slot(&key, &ann, 3), slot(&key, &ann, 4)]).unwrap();
    assert!(good.verify().is_ok());
    for (case, slots) in [
        (
            "another node's signature",
            vec![slot(&key, &ann, 3), slot(&other, &ann, 4)],
        ),
        ("another author's tombstone", vec![slot(&key, &bob, 3)]),
    ] {
        let forged = erasure(slots).unwrap();
        assert!(forged.verify().is_err(), "{case}");
    }
    let mut moved = slot(&key, &ann, 3);
    moved.seq = 5;
    assert!(
        erasure(vec![moved]).unwrap().verify().is_err(),
        "a tombstone moved to another number"
    );
    // Only events before the erasure in its origin's log.
    assert!(erasure(vec![slot(&key, &ann, 10)]).is_err());
    assert!(erasure(vec![slot(&key, &ann, 11)]).is_err());
}

#[test]
fn no_event_can_pass_itself_off_as_a_tombstone_and_erasures_are_ordered() {
    let key = NodeKeypair::generate().unwrap();
    let payload = |body| EventPayload {
        origin: key.node_id(),
        created_at: Timestamp(1),
        audience: Audience::Shared { seq: 10 },
        author: MemberId::parse("@ann:a.example").unwrap(),
        refs: References::default(),
        body,
    };
    let tomb_body = EventBody::Tombstone(kindred_protocol::event::body::erasure::Tombstone {
        erased: EventId::from_bytes([1; 32]),
    });
    assert!(payload(tomb_body).to_bytes().is_err());
    let slot = |seq| ErasedSlot {
        seq,
        id: EventId::from_bytes([2; 32]),
        signature: [0; 64],
    };
    let ok = payload(EventBody::Erasure(Erasure {
        slots: vec![slot(1), slot(2)],
    }));
    assert!(ok.to_bytes().is_ok());
    let repeated = payload(EventBody::Erasure(Erasure {
        slots: vec![slot(2), slot(2)],
    }));
    assert!(repeated.to_bytes().is_err());
}

/// A redaction carries the origin's tombstones for its own taken-down events: verified like
/// an erasure's, never empty, and only for events before it on the shared log.
#[test]
fn a_redaction_verifies_only_with_its_origins_tombstones() {
    let key = NodeKeypair::generate().unwrap();
    let other = NodeKeypair::generate().unwrap();
    let ann = MemberId::parse("@ann:a.example").unwrap();
    let bob = MemberId::parse("@bob:a.example").unwrap();
    let id = EventId::from_bytes([6; 32]);
    let slot = |signer: &NodeKeypair, who: &MemberId, seq: u64| ErasedSlot {
        seq,
        id,
        signature: *SignedEvent::tombstone(signer, seq, &id, who).signature(),
    };
    let redaction = |slots: Vec<ErasedSlot>, audience: Audience| {
        SignedEvent::sign(
            &EventPayload {
                origin: key.node_id(),
                created_at: Timestamp(1),
                audience,
                author: ann.clone(),
                refs: References::default(),
                body: EventBody::Redaction(Redaction { slots }),
            },
            &key,
        )
    };
    let shared = Audience::Shared { seq: 10 };
    let good = redaction(vec![slot(&key, &ann, 3)], shared.clone()).unwrap();
    let verified = SignedEvent::from_bytes(&good.to_bytes())
        .unwrap()
        .verify()
        .unwrap();
    assert!(matches!(verified.payload().body, EventBody::Redaction(_)));
    for (case, slots) in [
        ("another node's signature", vec![slot(&other, &ann, 3)]),
        ("another author's tombstone", vec![slot(&key, &bob, 3)]),
    ] {
        assert!(
            redaction(slots, shared.clone()).unwrap().verify().is_err(),
            "{case}"
        );
    }
    assert!(redaction(vec![], shared.clone()).is_err(), "empty");
    assert!(
        redaction(vec![slot(&key, &ann, 10)], shared).is_err(),
        "itself or later"
    );
    assert!(
        redaction(vec![slot(&key, &ann, 3)], Audience::Local).is_err(),
        "on the shared log only"
    );
}
