//! What a restored folder holds that an admin should look at before trusting it: account
//! deletions that were waiting out their grace period at the time of the backup (one an
//! admin stopped after the backup is waiting again).

use std::path::Path;

use super::BackupError;
use crate::store::Store;

/// Usernames whose deletion is pending in the node folder `data_dir`, with when each is
/// due (ms). Opens the folder's database as it is (the node must not be running).
///
/// Errors: [`BackupError::Node`] when the database cannot be opened.
pub fn pending_deletions(data_dir: &Path) -> Result<Vec<(String, u64)>, BackupError> {
    let store = Store::open_as_is(&data_dir.join("db"))?;
    let mut out: Vec<(String, u64)> = store
        .members()?
        .into_iter()
        .filter_map(|m| m.deletion_due_at.map(|due| (m.username, due)))
        .collect();
    out.sort_by_key(|(_, due)| *due);
    Ok(out)
}
