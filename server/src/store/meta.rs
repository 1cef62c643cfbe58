//! The `meta` tree: `schema_version` (u32 BE) and the hashed one-time admin set-up token.

use super::{SCHEMA_VERSION, Store, StoreError};

const SCHEMA_KEY: &[u8] = b"schema_version";
const SETUP_TOKEN_KEY: &[u8] = b"setup_token_sha256";
const NODE_NAME_KEY: &[u8] = b"node_name";
/// The organisation's name as last configured (kept so a start without it keeps it).
const ORGANISATION_KEY: &[u8] = b"organisation";
const ANNOUNCED_KEY: &[u8] = b"announced";
const NODE_ID_KEY: &[u8] = b"node_id";
/// The node keys this database had before a rotation (32 bytes each).
const PREVIOUS_IDS_KEY: &[u8] = b"previous_node_ids";

/// Checks the schema version: refuses a newer one, records it in a new database, and
/// returns the older version a database must be upgraded from, if any.
pub(super) fn check_schema(meta: &super::kv::Keyspace) -> Result<Option<u32>, StoreError> {
    let found = match meta.get(SCHEMA_KEY)? {
        None => None,
        Some(bytes) => Some(
            <[u8; 4]>::try_from(bytes.as_ref())
                .map(u32::from_be_bytes)
                .map_err(|e| StoreError::corrupt("meta", e))?,
        ),
    };
    match found {
        Some(found) if found > SCHEMA_VERSION => Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        }),
        Some(SCHEMA_VERSION) => Ok(None),
        Some(older) => Ok(Some(older)),
        None => {
            record_schema(meta)?;
            Ok(None)
        }
    }
}

pub(super) fn record_schema(meta: &super::kv::Keyspace) -> Result<(), StoreError> {
    meta.insert(SCHEMA_KEY, SCHEMA_VERSION.to_be_bytes())?;
    meta.flush()?;
    Ok(())
}

impl Store {
    /// The schema version the records are in (this build's, unless the database was
    /// opened without upgrading it).
    pub(crate) fn schema_version(&self) -> u32 {
        self.trees()
            .meta
            .get(SCHEMA_KEY)
            .ok()
            .flatten()
            .and_then(|b| <[u8; 4]>::try_from(b.as_ref()).ok())
            .map_or(SCHEMA_VERSION, u32::from_be_bytes)
    }

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
        self.writer().meta.insert(ANNOUNCED_KEY, text.as_bytes())?;
        Ok(())
    }

    /// Records the node name (first start).
    /// The organisation's name as last configured, if any.
    pub(crate) fn organisation(&self) -> Result<Option<String>, StoreError> {
        match self.trees().meta.get(ORGANISATION_KEY)? {
            None => Ok(None),
            Some(v) => String::from_utf8(v.to_vec())
                .map(Some)
                .map_err(|e| StoreError::corrupt("meta", e)),
        }
    }

    /// Records the organisation's name, on disk before it returns (a node killed just
    /// after starting keeps it), writing only when it changed.
    pub(crate) fn set_organisation(&self, name: &str) -> Result<(), StoreError> {
        if self.organisation()?.as_deref() == Some(name) {
            return Ok(());
        }
        self.writer()
            .meta
            .insert(ORGANISATION_KEY, name.as_bytes())?;
        self.writer().meta.flush()?;
        Ok(())
    }

    /// The node key this database was made with (absent in databases from before it was
    /// recorded).
    pub(crate) fn node_id(&self) -> Result<Option<kindred_protocol::NodeId>, StoreError> {
        match self.trees().meta.get(NODE_ID_KEY)? {
            None => Ok(None),
            Some(v) => <[u8; 32]>::try_from(v.as_ref())
                .map(|b| Some(kindred_protocol::NodeId::from_bytes(b)))
                .map_err(|e| StoreError::corrupt("meta", e)),
        }
    }

    /// Adds `id` to the keys this node had before (a rotation), on disk before it returns.
    pub(crate) fn add_previous_node_id(
        &self,
        id: &kindred_protocol::NodeId,
    ) -> Result<(), StoreError> {
        let mut all = self.previous_node_ids()?;
        if !all.contains(id) {
            all.push(*id);
        }
        let bytes: Vec<u8> = all.iter().flat_map(|n| *n.as_bytes()).collect();
        self.writer().meta.insert(PREVIOUS_IDS_KEY, bytes)?;
        self.writer().meta.flush()?;
        Ok(())
    }

    /// The keys this node had before, oldest first.
    pub(crate) fn previous_node_ids(&self) -> Result<Vec<kindred_protocol::NodeId>, StoreError> {
        let Some(v) = self.trees().meta.get(PREVIOUS_IDS_KEY)? else {
            return Ok(Vec::new());
        };
        if v.len() % 32 != 0 {
            return Err(StoreError::corrupt(
                "meta",
                std::io::Error::other("previous node keys of the wrong length"),
            ));
        }
        Ok(v.chunks_exact(32)
            .filter_map(|c| <[u8; 32]>::try_from(c).ok())
            .map(kindred_protocol::NodeId::from_bytes)
            .collect())
    }

    /// Records the node key this database belongs to, on disk before it returns.
    pub(crate) fn set_node_id(&self, id: &kindred_protocol::NodeId) -> Result<(), StoreError> {
        self.writer().meta.insert(NODE_ID_KEY, id.as_bytes())?;
        self.writer().meta.flush()?;
        Ok(())
    }

    pub(crate) fn set_node_name(&self, name: &str) -> Result<(), StoreError> {
        self.writer().meta.insert(NODE_NAME_KEY, name.as_bytes())?;
        self.writer().meta.flush()?;
        Ok(())
    }

    /// Replaces the set-up token's hash (a new token each start until an admin exists).
    pub(crate) fn set_setup_token_hash(&self, hash: Option<[u8; 32]>) -> Result<(), StoreError> {
        match hash {
            Some(h) => self.writer().meta.insert(SETUP_TOKEN_KEY, h)?,
            None => self.writer().meta.remove(SETUP_TOKEN_KEY)?,
        };
        Ok(())
    }

    /// Consumes the set-up token if its hash is `hash`, atomically: however many set-ups
    /// race, exactly one gets `true`.
    pub(crate) fn take_setup_token(&self, hash: [u8; 32]) -> Result<bool, StoreError> {
        let swapped =
            self.writer()
                .meta
                .compare_and_swap(SETUP_TOKEN_KEY, Some(&hash[..]), None::<&[u8]>)?;
        if swapped.is_ok() {
            self.writer().meta.flush()?;
        }
        Ok(swapped.is_ok())
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
    fn a_version_1_database_is_upgraded_by_rebuilding_the_search_index() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            db.open_tree("meta")
                .unwrap()
                .insert(SCHEMA_KEY, &1u32.to_be_bytes())
                .unwrap();
            let postings = db.open_tree("search_postings").unwrap();
            postings.insert(b"\x05grant-old-layout", &[0; 8]).unwrap();
            let search_meta = db.open_tree("search_meta").unwrap();
            search_meta
                .insert(b"indexed_up_to", &9u64.to_be_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let store = Store::open(dir.path()).unwrap();
        assert!(store.trees().search_postings.is_empty());
        assert_eq!(store.indexed_up_to().unwrap(), 0, "rebuilt from the start");
        let v = store.trees().meta.get(SCHEMA_KEY).unwrap().unwrap();
        assert_eq!(v.as_ref(), SCHEMA_VERSION.to_be_bytes());
    }

    #[test]
    fn a_new_database_records_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let v = store.trees().meta.get(SCHEMA_KEY).unwrap().unwrap();
        assert_eq!(v.as_ref(), SCHEMA_VERSION.to_be_bytes());
    }
}
