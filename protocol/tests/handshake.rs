//! The link handshake: both sides prove their keys over a transcript binding both nonces;
//! replayed, reflected and wrong-key proofs are refused.
#![allow(clippy::unwrap_used)] // Test code: a panic is a test failure.

use kindred_protocol::peer::{Handshake, Hello, Nonce, Proof, Role};
use kindred_protocol::{HandshakeError, NodeKeypair, NodeName, PROTOCOL_VERSION};

fn node(seed: u8, name: &str) -> (NodeKeypair, NodeName) {
    (
        NodeKeypair::from_seed(&[seed; 32]),
        NodeName::new(name).unwrap(),
    )
}

/// Runs a full handshake; returns what each side saw and sent.
struct Session {
    initiator: Handshake,
    responder: Handshake,
    initiator_proof: Proof,
    responder_proof: Proof,
}

fn handshake(a: &(NodeKeypair, NodeName), b: &(NodeKeypair, NodeName)) -> Session {
    let initiator = Handshake::new(Role::Initiator, Hello::new(&a.0, a.1.clone()).unwrap());
    let responder = Handshake::new(Role::Responder, Hello::new(&b.0, b.1.clone()).unwrap());
    // Responder answers the initiator's hello with its own hello and proof.
    let responder_proof = responder.prove(&b.0, initiator.hello()).unwrap();
    assert_eq!(
        initiator
            .verify(responder.hello(), &responder_proof)
            .unwrap(),
        b.0.node_id()
    );
    let initiator_proof = initiator.prove(&a.0, responder.hello()).unwrap();
    assert_eq!(
        responder
            .verify(initiator.hello(), &initiator_proof)
            .unwrap(),
        a.0.node_id()
    );
    Session {
        initiator,
        responder,
        initiator_proof,
        responder_proof,
    }
}

#[test]
fn honest_nodes_complete_the_handshake() {
    handshake(&node(1, "a.example"), &node(2, "b.example"));
}

#[test]
fn a_recorded_initiator_proof_is_refused_against_a_fresh_nonce() {
    let a = node(1, "a.example");
    let b = node(2, "b.example");
    let recorded = handshake(&a, &b);

    // An attacker replays A's hello and proof to B, who has picked a fresh nonce.
    let fresh = Handshake::new(Role::Responder, Hello::new(&b.0, b.1.clone()).unwrap());
    let replayed_hello = recorded.initiator.hello().clone();
    let err = fresh
        .verify(&replayed_hello, &recorded.initiator_proof)
        .unwrap_err();
    assert!(matches!(err, HandshakeError::BadProof(_)), "{err:?}");
}

#[test]
fn a_recorded_responder_proof_is_refused_against_a_fresh_nonce() {
    let a = node(1, "a.example");
    let b = node(2, "b.example");
    let recorded = handshake(&a, &b);

    // An attacker posing as B answers A's new connection with B's old hello and proof.
    let fresh = Handshake::new(Role::Initiator, Hello::new(&a.0, a.1.clone()).unwrap());
    let err = fresh
        .verify(recorded.responder.hello(), &recorded.responder_proof)
        .unwrap_err();
    assert!(matches!(err, HandshakeError::BadProof(_)), "{err:?}");
}

#[test]
fn a_proof_by_the_wrong_key_is_refused() {
    let a = node(1, "a.example");
    let b = node(2, "b.example");
    let mallory = node(3, "m.example");
    let responder = Handshake::new(Role::Responder, Hello::new(&b.0, b.1.clone()).unwrap());
    // Mallory claims to be A but signs with her own key.
    let claimed = Handshake::new(Role::Initiator, Hello::new(&a.0, a.1.clone()).unwrap());
    let forged = claimed.prove(&mallory.0, responder.hello()).unwrap();
    let err = responder.verify(claimed.hello(), &forged).unwrap_err();
    assert!(matches!(err, HandshakeError::BadProof(_)), "{err:?}");
}

#[test]
fn a_proof_reflected_back_to_its_maker_is_refused() {
    let a = node(1, "a.example");
    let b = node(2, "b.example");
    let s = handshake(&a, &b);
    // The responder's own proof, sent back to it as if from the initiator, has the wrong role.
    let err = s
        .responder
        .verify(s.initiator.hello(), &s.responder_proof)
        .unwrap_err();
    assert!(matches!(err, HandshakeError::BadProof(_)), "{err:?}");
}

#[test]
fn echoed_nonce_self_connection_and_other_versions_are_refused() {
    let a = node(1, "a.example");
    let b = node(2, "b.example");
    let ours = Handshake::new(Role::Responder, Hello::new(&a.0, a.1.clone()).unwrap());

    let mut echo = Hello::new(&b.0, b.1.clone()).unwrap();
    echo.nonce = ours.hello().nonce;
    assert_eq!(ours.check_hello(&echo), Err(HandshakeError::ReflectedNonce));

    let myself = Hello::new(&a.0, a.1.clone()).unwrap();
    assert_eq!(
        ours.check_hello(&myself),
        Err(HandshakeError::SelfConnection)
    );

    let mut future = Hello::new(&b.0, b.1.clone()).unwrap();
    future.protocol_version = PROTOCOL_VERSION + 1;
    assert!(matches!(
        ours.check_hello(&future),
        Err(HandshakeError::VersionMismatch { .. })
    ));
}

#[test]
fn nonces_are_fresh() {
    assert_ne!(Nonce::random().unwrap(), Nonce::random().unwrap());
}

/// A version-2 node (before erasures) still links: both sides sign the transcript with
/// the lower version, which is what a version-2 node writes there. Version 1 is refused.
#[test]
fn a_node_on_the_previous_version_still_links_and_an_older_one_does_not() {
    let a = node(1, "a.example");
    let b = node(2, "b.example");
    let initiator = Handshake::new(Role::Initiator, Hello::new(&a.0, a.1.clone()).unwrap());
    let mut old_hello = Hello::new(&b.0, b.1.clone()).unwrap();
    old_hello.protocol_version = kindred_protocol::MIN_PROTOCOL_VERSION;
    let old = Handshake::new(Role::Responder, old_hello.clone());
    let proof = old.prove(&b.0, initiator.hello()).unwrap();
    assert_eq!(initiator.verify(&old_hello, &proof).unwrap(), b.0.node_id());
    // What the old node signs is the transcript with its own version, 2.
    let transcript =
        kindred_protocol::peer::transcript(Role::Responder, initiator.hello(), &old_hello);
    assert_eq!(&transcript[4..6], &2u16.to_be_bytes());

    let mut ancient = Hello::new(&b.0, b.1.clone()).unwrap();
    ancient.protocol_version = 1;
    assert!(matches!(
        initiator.check_hello(&ancient),
        Err(HandshakeError::VersionMismatch { .. })
    ));
}
