//! The data folder's disk as admins and members need to know it: full (the last write
//! failed for want of space: writes are refused with `storage_full` until space returns)
//! or running low (under `storage.low_space_mib`).

use super::Node;

/// Free space under which the disk counts as full (bytes): no post fits any more.
const FULL_UNDER: u64 = 1024 * 1024;

/// The disk holding the data folder, now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DiskStatus {
    /// The last write failed because the disk is full.
    pub(crate) full: bool,
    /// Free bytes for the node (`None` when the system cannot tell).
    pub(crate) free_bytes: Option<u64>,
    /// Free space is under the configured threshold.
    pub(crate) low: bool,
    /// Whether writes come back by themselves once space is freed (redb), or need a
    /// restart (sled).
    pub(crate) resumes: bool,
}

impl DiskStatus {
    /// What is wrong, one plain sentence each (empty when nothing is).
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.full && self.resumes {
            out.push(
                "The disk is full: new posts, messages and sign-ins cannot be saved until space is freed (they resume by themselves). Reading still works."
                    .to_owned(),
            );
        } else if self.full {
            out.push(
                "The disk is full: new posts, messages and sign-ins cannot be saved. Free space, then restart the node (its storage engine, sled, does not recover by itself; `kindred storage migrate --to redb` moves it to one that does). Until then reading may fail too."
                    .to_owned(),
            );
        } else if self.low {
            out.push(format!(
                "Disk space is running low: {} MB left for the data folder. Free some space or grow the disk before it fills.",
                self.free_bytes.unwrap_or(0) / 1_000_000
            ));
        }
        out
    }
}

impl Node {
    /// The data folder's disk (a `statvfs` call: cheap).
    pub(crate) fn disk_status(&self) -> DiskStatus {
        let free_bytes = rustix::fs::statvfs(&self.config().server.data_dir)
            .ok()
            .map(|s| s.f_bavail.saturating_mul(s.f_frsize));
        let threshold = self
            .config()
            .storage
            .low_space_mib
            .saturating_mul(1024 * 1024);
        DiskStatus {
            // A write that failed for want of space, or (since a small write may still fit
            // inside the engine's files afterwards) next to nothing left.
            full: self.store().disk_full() || free_bytes.is_some_and(|f| f < FULL_UNDER),
            free_bytes,
            low: free_bytes.is_some_and(|f| f < threshold),
            resumes: self.store().engine() != crate::store::kv::Engine::Sled,
        }
    }
}
