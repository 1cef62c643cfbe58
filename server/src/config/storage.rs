//! `[storage]`: which engine keeps the node's data, and when to warn that space is short.

use serde::Deserialize;

pub use crate::store::kv::Engine as StorageEngine;

/// The storage engine and free-space warning.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// The engine a new data folder is created on: "redb" or "sled". A folder that
    /// exists stays on the engine it was created with (`kindred storage migrate` moves
    /// it). Unset: the built-in default (see the README), or `KINDRED_STORAGE__ENGINE`.
    pub engine: Option<StorageEngine>,
    /// Below this much free space (MiB) on the data folder's disk, admins are warned (log,
    /// admin pages, `/healthz`). Writes are refused only when the disk is actually full.
    pub low_space_mib: u64,
}

impl Default for StorageSection {
    fn default() -> Self {
        Self {
            engine: None,
            low_space_mib: 500,
        }
    }
}

impl StorageSection {
    /// The engine a new data folder is created on.
    pub fn engine_for_new_folders(&self) -> StorageEngine {
        self.engine.unwrap_or_else(StorageEngine::for_new_folders)
    }
}
