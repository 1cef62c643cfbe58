//! The mutual link handshake. Each side sends a `Hello` with a fresh random nonce; each then
//! signs a transcript binding both hellos (both identities, both nonces) and its own role.
//! A recorded proof cannot be replayed, because the verifier's fresh nonce is in what
//! must be signed; a proof cannot be reflected back, because the role is.
//!
//! Order on the wire: initiator `Hello` -> responder `Hello` + `Proof` -> initiator `Proof`.

use ed25519_dalek::Signature;

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, HandshakeError, RandomnessError, VerifyError};
use crate::hex_id::hex_id;
use crate::identity::{NodeId, NodeKeypair, NodeName};
use crate::limits::MAX_NODE_NAME_BYTES;
use crate::{MIN_PROTOCOL_VERSION, PROTOCOL_VERSION};

/// First bytes of every handshake transcript (never the start of an event payload).
pub const HANDSHAKE_MAGIC: [u8; 4] = *b"KDHS";

hex_id!(
    /// A 32-byte random value that makes each handshake unique.
    Nonce,
    32
);

impl Nonce {
    /// A fresh nonce from the operating system's random number generator.
    pub fn random() -> Result<Self, RandomnessError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(RandomnessError)?;
        Ok(Self::from_bytes(bytes))
    }
}

/// The first frame each side sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The link protocol version the sender speaks.
    pub protocol_version: u16,
    /// The sender's public key.
    pub node_id: NodeId,
    /// The sender's name (informational; peers are matched by key).
    pub node_name: NodeName,
    /// A fresh random nonce for this handshake.
    pub nonce: Nonce,
    /// The sender's clock when it sent this (ms since the Unix epoch), so each side can
    /// tell its admin when the other's clock is far off. Informational: nothing is
    /// ordered by it.
    pub time: crate::Timestamp,
}

impl Hello {
    /// A hello for this node with a fresh nonce, dated by the system clock.
    pub fn new(keypair: &NodeKeypair, node_name: NodeName) -> Result<Self, RandomnessError> {
        Ok(Self {
            protocol_version: PROTOCOL_VERSION,
            node_id: keypair.node_id(),
            node_name,
            nonce: Nonce::random()?,
            time: crate::Timestamp::now(),
        })
    }

    /// The same hello dated `time` (a node whose clock is given to it).
    pub fn at(mut self, time: crate::Timestamp) -> Self {
        self.time = time;
        self
    }

    pub(crate) fn encode(&self, w: &mut Writer) {
        w.u16(self.protocol_version);
        w.raw(self.node_id.as_bytes());
        w.str(self.node_name.as_str());
        w.raw(self.nonce.as_bytes());
        w.u64(self.time.as_millis());
    }

    pub(crate) fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let protocol_version = r.u16("hello.protocol_version")?;
        let node_id = NodeId::from_bytes(r.array("hello.node_id")?);
        let name = r.str("hello.node_name", MAX_NODE_NAME_BYTES)?;
        let node_name = NodeName::new(name).map_err(|source| DecodeError::InvalidId {
            field: "hello.node_name",
            source,
        })?;
        let nonce = Nonce::from_bytes(r.array("hello.nonce")?);
        let time = crate::Timestamp(r.u64("hello.time")?);
        Ok(Self {
            protocol_version,
            node_id,
            node_name,
            nonce,
            time,
        })
    }
}

/// A signature over the handshake transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof(pub [u8; 64]);

/// Which end of the link a side is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The side that opened the connection.
    Initiator = 0,
    /// The side that accepted it.
    Responder = 1,
}

impl Role {
    fn other(self) -> Self {
        match self {
            Role::Initiator => Role::Responder,
            Role::Responder => Role::Initiator,
        }
    }
}

/// The bytes a side signs: magic, protocol version, the prover's role, then the initiator's
/// and the responder's hellos as encoded on the wire.
pub fn transcript(prover: Role, initiator: &Hello, responder: &Hello) -> Vec<u8> {
    let mut w = Writer::with_capacity(256);
    w.raw(&HANDSHAKE_MAGIC);
    // The version both speak: an older peer signs its own (lower) version here.
    w.u16(
        initiator
            .protocol_version
            .min(responder.protocol_version)
            .min(PROTOCOL_VERSION),
    );
    w.u8(prover as u8);
    initiator.encode(&mut w);
    responder.encode(&mut w);
    w.into_bytes()
}

/// One side's handshake state: its role and the hello (with the fresh nonce) it sent.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// Whether we opened the link.
    role: Role,
    /// What we sent; our nonce in it is what makes the peer's proof fresh.
    ours: Hello,
}

impl Handshake {
    /// Starts a handshake as `role`, having sent (or about to send) `ours`.
    pub fn new(role: Role, ours: Hello) -> Self {
        Self { role, ours }
    }

    /// The hello we send.
    pub fn hello(&self) -> &Hello {
        &self.ours
    }

    /// Checks the peer's hello: a protocol version this crate links with, not ourselves, not our own nonce.
    pub fn check_hello(&self, theirs: &Hello) -> Result<(), HandshakeError> {
        if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&theirs.protocol_version) {
            return Err(HandshakeError::VersionMismatch {
                ours: PROTOCOL_VERSION,
                theirs: theirs.protocol_version,
            });
        }
        if theirs.node_id == self.ours.node_id {
            return Err(HandshakeError::SelfConnection);
        }
        if theirs.nonce == self.ours.nonce {
            return Err(HandshakeError::ReflectedNonce);
        }
        Ok(())
    }

    /// Our proof for this session, after checking the peer's hello.
    pub fn prove(&self, keypair: &NodeKeypair, theirs: &Hello) -> Result<Proof, HandshakeError> {
        self.check_hello(theirs)?;
        let bytes = self.transcript_for(self.role, theirs);
        Ok(Proof(keypair.sign(&bytes)))
    }

    /// Verifies the peer's proof over this session's transcript, with the key in their
    /// hello. On success the peer holds the secret key of `theirs.node_id`.
    pub fn verify(&self, theirs: &Hello, proof: &Proof) -> Result<NodeId, HandshakeError> {
        self.check_hello(theirs)?;
        let key = theirs
            .node_id
            .verifying_key()
            .map_err(HandshakeError::BadProof)?;
        let bytes = self.transcript_for(self.role.other(), theirs);
        key.verify_strict(&bytes, &Signature::from_bytes(&proof.0))
            .map_err(|_| HandshakeError::BadProof(VerifyError::BadSignature))?;
        Ok(theirs.node_id)
    }

    fn transcript_for(&self, prover: Role, theirs: &Hello) -> Vec<u8> {
        match self.role {
            Role::Initiator => transcript(prover, &self.ours, theirs),
            Role::Responder => transcript(prover, theirs, &self.ours),
        }
    }
}
