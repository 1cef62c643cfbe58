//! A node's identity: its ed25519 public key, written as 64 lowercase hex characters.

use ed25519_dalek::VerifyingKey;

use crate::error::VerifyError;
use crate::hex_id::hex_id;

hex_id!(
    /// A node's ed25519 public key: the node's identity on the federation.
    NodeId,
    32
);

impl NodeId {
    /// The key as an ed25519-dalek verifying key, refusing invalid and weak (small-order) keys.
    pub fn verifying_key(&self) -> Result<VerifyingKey, VerifyError> {
        let key = VerifyingKey::from_bytes(&self.0).map_err(|_| VerifyError::BadKey)?;
        if key.is_weak() {
            return Err(VerifyError::WeakKey);
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_is_lowercase_hex() {
        let id = NodeId::from_bytes([0xab; 32]);
        let text = id.to_string();
        assert_eq!(text, "ab".repeat(32));
        assert_eq!(text.parse::<NodeId>().unwrap(), id);
    }

    #[test]
    fn uppercase_and_wrong_length_are_refused() {
        assert!("AB".repeat(32).parse::<NodeId>().is_err());
        assert!("ab".repeat(31).parse::<NodeId>().is_err());
        assert!("zz".repeat(32).parse::<NodeId>().is_err());
    }

    #[test]
    fn small_order_keys_are_refused() {
        // The identity point (y = 1) has order 1.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            NodeId::from_bytes(identity).verifying_key(),
            Err(VerifyError::WeakKey)
        );
    }
}
