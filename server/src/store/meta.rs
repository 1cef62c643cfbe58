//! The `meta` tree: `schema_version` (u32 BE) and the hashed one-time admin set-up token.

use super::{SCHEMA_VERSION, Store, StoreError};

const SCHEMA_KEY: &[u8] = b"schema_version";
const SETUP_TOKEN_KEY: &[u8] = b"setup_token_sha256";
const NODE_NAME_KEY: &[u8] = b"node_name";
const ANNOUNCED_KEY: &[u8] = b"announced";

/// Records the schema version in a new database; refuses a newer one.
pub(super) fn check_schema(meta: &sled::Tree) -> Result<(), StoreError> {
    match meta.get(SCHEMA_KEY)? {
        None => {
            meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
            meta.flush()?;
            Ok(())
        }
        Some(bytes) => {
            let found = <[u8; 4]>::try_from(bytes.as_ref())
                .map(u32::from_be_bytes)
                .map_err(|e| StoreError::corrupt("meta", e))?;
            if found > SCHEMA_VERSION {
                return Err(StoreError::SchemaTooNew {
                    found,
                    supported: SCHEMA_VERSION,
                });
            }
            Ok(())
        }
    }
}

impl Store {
    /// The node name fixed at first start.
    pub(crate) fn node_name(&self) -> Result<Option<String>, StoreError> {
        match self.trees().meta.get(NODE_NAME_KEY)? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|e| StoreError::corrupt("meta", e)),
        }
    }

    /// What this node last announced (address and organisation).
    pub(crate) fn announced(&self) -> Result<Option<String>, StoreError> {
        match self.trees().meta.get(ANNOUNCED_KEY)? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|e| StoreError::corrupt("meta", e)),
        }
    }

    /// Records what this node announced.
    pub(crate) fn set_announced(&self, text: &str) -> Result<(), StoreError> {
        self.trees().meta.insert(ANNOUNCED_KEY, text.as_bytes())?;
        Ok(())
    }

    /// Records the node name (first start).
    pub(crate) fn set_node_name(&self, name: &str) -> Result<(), StoreError> {
        self.trees().meta.insert(NODE_NAME_KEY, name.as_bytes())?;
        self.trees().meta.flush()?;
        Ok(())
    }

    /// Replaces the set-up token's hash (a new token each start until an admin exists).
    pub(crate) fn set_setup_token_hash(&self, hash: Option<[u8; 32]>) -> Result<(), StoreError> {
        match hash {
            Some(h) => self.trees().meta.insert(SETUP_TOKEN_KEY, &h)?,
            None => self.trees().meta.remove(SETUP_TOKEN_KEY)?,
        };
        Ok(())
    }

    /// The set-up token's hash, while no admin exists.
    pub(crate) fn setup_token_hash(&self) -> Result<Option<[u8; 32]>, StoreError> {
        Ok(self
            .trees()
            .meta
            .get(SETUP_TOKEN_KEY)?
            .and_then(|v| <[u8; 32]>::try_from(v.as_ref()).ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let meta = db.open_tree("meta").unwrap();
            meta.insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let err = Store::open(dir.path()).err().unwrap();
        assert!(matches!(err, StoreError::SchemaTooNew { .. }), "{err}");
        assert!(err.to_string().contains("upgrade Kindred"));
    }

    #[test]
    fn a_new_database_records_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let v = store.trees().meta.get(SCHEMA_KEY).unwrap().unwrap();
        assert_eq!(v.as_ref(), SCHEMA_VERSION.to_be_bytes());
    }
}
