//! A node's signing key pair. The secret half never appears in `Debug` output or logs.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey};

use super::NodeId;
use crate::error::RandomnessError;

/// A node's ed25519 key pair: it signs every event the node originates and its handshakes.
pub struct NodeKeypair {
    /// The ed25519-dalek key; zeroised on drop by the crate.
    signing: SigningKey,
}

impl NodeKeypair {
    /// Generates a fresh key pair from the operating system's random number generator.
    pub fn generate() -> Result<Self, RandomnessError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(RandomnessError)?;
        let keypair = Self::from_seed(&seed);
        seed.fill(0);
        Ok(keypair)
    }

    /// Rebuilds a key pair from its 32-byte secret seed (as stored in the node's key file).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(seed),
        }
    }

    /// The 32-byte secret seed, for storing in the node's key file. Handle with care.
    pub fn seed(&self) -> [u8; 32] {
        self.signing.to_bytes()
    }

    /// The node's public identity.
    pub fn node_id(&self) -> NodeId {
        NodeId::from_bytes(self.signing.verifying_key().to_bytes())
    }

    /// Signs a message (deterministic ed25519), returning the 64-byte signature.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

impl fmt::Debug for NodeKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeKeypair")
            .field("node_id", &self.node_id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let kp = NodeKeypair::from_seed(&[7u8; 32]);
        let shown = format!("{kp:?}");
        assert!(shown.contains("redacted"));
        assert!(!shown.contains(&hex::encode(kp.seed())));
        assert!(shown.contains(&kp.node_id().to_hex()));
    }

    #[test]
    fn seed_round_trips() {
        let kp = NodeKeypair::generate().unwrap();
        let again = NodeKeypair::from_seed(&kp.seed());
        assert_eq!(kp.node_id(), again.node_id());
        assert_eq!(kp.sign(b"x"), again.sign(b"x"));
    }
}
