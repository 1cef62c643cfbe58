//! Member invite codes that an admin can be shown again until they are used: each code is
//! a keyed hash of a random nonce under a key derived from the node's key, so the node can
//! rebuild it from the nonce it stores, while its database alone (a copied backup without
//! `node.key`) gives no working code. Redeeming still looks the invite up by the code's
//! hash, as before.

use sha2::{Digest, Sha256};

use crate::node::AppError;

/// A fresh nonce for a new invite (16 random bytes, hex).
pub(crate) fn new_nonce() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::internal(std::io::Error::other(e.to_string())))?;
    Ok(hex::encode(bytes))
}

/// The invite code for `nonce` under `key` (`kdi_` and 64 hex characters).
pub(crate) fn code(key: &[u8; 32], nonce: &str) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update(nonce.as_bytes());
    format!("kdi_{}", hex::encode(h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_rebuilt_from_its_nonce_only_with_the_key() {
        let nonce = new_nonce().unwrap_or_else(|e| panic!("{e}"));
        let key = [7; 32];
        assert_eq!(code(&key, &nonce), code(&key, &nonce));
        assert_ne!(code(&key, &nonce), code(&[8; 32], &nonce));
        assert_ne!(
            code(&key, &nonce),
            code(&key, &new_nonce().unwrap_or_default())
        );
        assert!(code(&key, &nonce).starts_with("kdi_"));
        assert_eq!(code(&key, &nonce).len(), 4 + 64);
    }
}
