//! The data folder is private to the node: it holds members' posts, messages and password
//! hashes, and the node's secret key.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use super::NodeError;

/// Permission bits that let anyone but the owner in.
const OTHERS: u32 = 0o077;

/// Makes new files of this process owner-only (umask 077) and the data folder private:
/// creates `dir` with mode 700 if it is missing, tightens it if it is empty, refuses it if
/// it holds data and is itself open to other users, and, inside a private folder, makes
/// anything open owner-only (nobody else could have reached it). With `allow_shared`
/// nothing is changed or refused; a warning is logged.
///
/// Errors: [`NodeError::DataDir`] when the folder cannot be created, read or changed;
/// [`NodeError::SharedDataDir`] when it is open to others.
pub(super) fn make_private(dir: &Path, allow_shared: bool) -> Result<(), NodeError> {
    // Files the database creates later (snapshots, blobs) follow the umask.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(OTHERS));
    let err = |source| NodeError::DataDir {
        path: dir.to_owned(),
        source,
    };
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(err)?;
        return Ok(());
    }
    let empty = std::fs::read_dir(dir).map_err(err)?.next().is_none();
    if empty {
        // A folder made ready for the node (`mkdir`, mode 755): nothing has leaked yet.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
        return Ok(());
    }
    if allow_shared {
        if let Some((path, mode)) = shared(dir).map_err(err)?.into_iter().next() {
            tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "the data folder can be read by other users (server.allow_shared_data_dir is set)");
        }
        return Ok(());
    }
    let mode = std::fs::metadata(dir).map_err(err)?.permissions().mode() & 0o777;
    if mode & OTHERS != 0 {
        return Err(NodeError::SharedDataDir {
            path: dir.to_owned(),
            mode,
            data_dir: dir.to_owned(),
        });
    }
    // Behind a private folder nobody else could reach what is inside, so files a looser
    // umask made earlier are tightened rather than refused.
    for (path, mode) in shared(dir).map_err(err)? {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & !OTHERS))
            .map_err(err)?;
        tracing::info!(path = %path.display(), was = format!("{mode:o}"), "made owner-only");
    }
    Ok(())
}

/// The folders and files under `dir` (itself included) open to other users, with their
/// permission bits. Symbolic links are not followed.
pub(super) fn shared(dir: &Path) -> std::io::Result<Vec<(std::path::PathBuf, u32)>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path)?;
        let mode = meta.permissions().mode() & 0o777;
        if !meta.file_type().is_symlink() && mode & OTHERS != 0 {
            found.push((path.clone(), mode));
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)? {
                pending.push(entry?.path());
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_and_empty_folders_become_private_and_shared_ones_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("fresh/data");
        make_private(&fresh, false).unwrap();
        assert_eq!(mode(&fresh), 0o700);

        let empty = root.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        std::fs::set_permissions(&empty, std::fs::Permissions::from_mode(0o755)).unwrap();
        make_private(&empty, false).unwrap();
        assert_eq!(mode(&empty), 0o700);
        // New files now follow the umask: owner-only.
        std::fs::write(empty.join("db"), b"x").unwrap();
        assert_eq!(mode(&empty.join("db")), 0o600);

        let used = root.path().join("used");
        std::fs::create_dir_all(used.join("db")).unwrap();
        std::fs::set_permissions(&used, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(used.join("db"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(used.join("db/conf"), b"x").unwrap();
        std::fs::set_permissions(used.join("db/conf"), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        // Inside a private folder: tightened, since nobody else could reach it.
        make_private(&used, false).unwrap();
        assert_eq!(mode(&used.join("db/conf")), 0o600);

        // An open folder with data in it: refused, saying how to fix it.
        std::fs::set_permissions(&used, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = make_private(&used, false).unwrap_err();
        assert!(
            matches!(&e, NodeError::SharedDataDir { path, mode: 0o755, .. } if path == &used),
            "{e}"
        );
        assert!(e.to_string().contains("chmod -R go-rwx"), "{e}");
        make_private(&used, true).unwrap();
        assert_eq!(mode(&used), 0o755, "left alone when allowed");
    }
}
