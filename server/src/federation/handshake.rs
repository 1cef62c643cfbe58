//! Running the protocol crate's mutual handshake over a [`Wire`], with a time limit.

use std::time::Duration;

use kindred_protocol::peer::{ErrorCode, Handshake, Hello, PeerFrame, Role};
use kindred_protocol::{HandshakeError, NodeId};

use super::LinkError;
use super::wire::{Incoming, Outgoing, Wire};
use crate::node::Node;

/// How long a handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends one frame.
pub(super) async fn send(wire: &Wire, frame: &PeerFrame) -> Result<(), LinkError> {
    wire.tx
        .send(Outgoing::Frame(frame.encode()))
        .await
        .map_err(|_| LinkError::Closed)
}

/// Sends an error frame, then closes.
pub(super) async fn refuse(wire: &Wire, code: ErrorCode, message: &str) {
    // The peer may already be gone; refusing is a courtesy.
    let _ = send(
        wire,
        &PeerFrame::Error {
            code,
            message: message.to_owned(),
        },
    )
    .await;
    let _ = wire
        .tx
        .send(Outgoing::Close(1008, message.chars().take(100).collect()))
        .await;
}

/// Receives and decodes one frame. An error frame from the peer becomes `Refused`.
pub(super) async fn recv(wire: &mut Wire) -> Result<PeerFrame, LinkError> {
    match wire.rx.recv().await {
        None => Err(LinkError::Closed),
        Some(Incoming::Invalid(why)) => Err(LinkError::Protocol(why.to_owned())),
        Some(Incoming::Frame(bytes)) => match PeerFrame::decode(&bytes)? {
            PeerFrame::Error { code, message } => Err(LinkError::Refused {
                code: code.0,
                message,
            }),
            frame => Ok(frame),
        },
    }
}

/// Runs the handshake as `role`. `expected` is the node we meant to reach (outbound).
/// Returns the peer's hello, whose key is now proven.
pub(super) async fn run(
    node: &Node,
    wire: &mut Wire,
    role: Role,
    expected: Option<NodeId>,
) -> Result<Hello, LinkError> {
    let ours = Hello::new(node.keypair(), node.config().node.name.clone())
        .map_err(|e| LinkError::Protocol(e.to_string()))?
        .at(node.now());
    let state = Handshake::new(role, ours.clone());
    let exchange = async {
        match role {
            Role::Initiator => {
                send(wire, &PeerFrame::Hello(ours)).await?;
                let theirs = expect_hello(wire).await?;
                if expected.is_some_and(|e| e != theirs.node_id) {
                    return Err(LinkError::Protocol(format!(
                        "reached node {} instead of the expected one",
                        theirs.node_id
                    )));
                }
                let proof = match recv(wire).await? {
                    PeerFrame::Proof(p) => p,
                    _ => return Err(HandshakeError::UnexpectedFrame { expected: "proof" }.into()),
                };
                state.verify(&theirs, &proof)?;
                send(
                    wire,
                    &PeerFrame::Proof(state.prove(node.keypair(), &theirs)?),
                )
                .await?;
                Ok(theirs)
            }
            Role::Responder => {
                let theirs = expect_hello(wire).await?;
                let proof = state.prove(node.keypair(), &theirs)?;
                send(wire, &PeerFrame::Hello(ours)).await?;
                send(wire, &PeerFrame::Proof(proof)).await?;
                let proof = match recv(wire).await? {
                    PeerFrame::Proof(p) => p,
                    _ => return Err(HandshakeError::UnexpectedFrame { expected: "proof" }.into()),
                };
                state.verify(&theirs, &proof)?;
                Ok(theirs)
            }
        }
    };
    let result = match tokio::time::timeout(HANDSHAKE_TIMEOUT, exchange).await {
        Ok(r) => r,
        Err(_) => Err(LinkError::Timeout("the handshake")),
    };
    if let Err(e) = &result {
        let code = match e {
            LinkError::Handshake(HandshakeError::VersionMismatch { .. }) => {
                ErrorCode::VERSION_MISMATCH
            }
            LinkError::Malformed(_) => ErrorCode::MALFORMED,
            _ => ErrorCode::HANDSHAKE_FAILED,
        };
        if !matches!(e, LinkError::Closed | LinkError::Refused { .. }) {
            refuse(wire, code, &e.to_string()).await;
        }
    }
    result
}

async fn expect_hello(wire: &mut Wire) -> Result<Hello, LinkError> {
    match recv(wire).await? {
        PeerFrame::Hello(h) => Ok(h),
        _ => Err(HandshakeError::UnexpectedFrame { expected: "hello" }.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn node(name: &str, dir: &std::path::Path) -> Node {
        let mut config = Config::default();
        config.node.name = kindred_protocol::NodeName::new(name).unwrap();
        config.server.data_dir = dir.join(name);
        Node::open(config).unwrap().node
    }

    #[tokio::test]
    async fn two_nodes_prove_their_keys_over_a_wire() {
        let dir = tempfile::tempdir().unwrap();
        let a = node("a.test", dir.path());
        let b = node("b.test", dir.path());
        let (mut wa, mut wb) = Wire::pair();
        let (a2, b2) = (a.clone(), b.clone());
        let b_id = b.node_id();
        let initiator =
            tokio::spawn(async move { run(&a2, &mut wa, Role::Initiator, Some(b_id)).await });
        let responder = tokio::spawn(async move { run(&b2, &mut wb, Role::Responder, None).await });
        let seen_by_a = initiator.await.unwrap().unwrap();
        let seen_by_b = responder.await.unwrap().unwrap();
        assert_eq!(seen_by_a.node_id, b.node_id());
        assert_eq!(seen_by_b.node_id, a.node_id());
    }

    #[tokio::test]
    async fn reaching_the_wrong_node_fails() {
        let dir = tempfile::tempdir().unwrap();
        let a = node("a.test", dir.path());
        let b = node("b.test", dir.path());
        let (mut wa, mut wb) = Wire::pair();
        let a2 = a.clone();
        let someone_else = kindred_protocol::NodeKeypair::from_seed(&[3; 32]).node_id();
        let initiator =
            tokio::spawn(
                async move { run(&a2, &mut wa, Role::Initiator, Some(someone_else)).await },
            );
        let responder = tokio::spawn(async move { run(&b, &mut wb, Role::Responder, None).await });
        assert!(initiator.await.unwrap().is_err());
        assert!(responder.await.unwrap().is_err());
    }
}
