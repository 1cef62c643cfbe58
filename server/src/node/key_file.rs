//! The node's secret key, kept in `<data>/node.key` (hex seed, file mode 0600), created on
//! first start.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use kindred_protocol::NodeKeypair;

use super::NodeError;

/// A file in the data folder from before a first start makes the node key until the
/// database has recorded it: a first start stopped in between (a kill, a power cut) is
/// taken up again at the next, instead of looking like a database lost beside its key.
const FIRST_START: &str = "first-start";

/// Marks the start of a first start (before the key is made).
pub(crate) fn begin_first_start(dir: &Path) -> Result<(), NodeError> {
    let path = dir.join(FIRST_START);
    std::fs::File::create(&path)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::File::open(dir)?.sync_all())
        .map_err(|source| NodeError::KeyFile { path, source })
}

/// Whether a first start began and has not finished.
pub(crate) fn first_start_unfinished(dir: &Path) -> bool {
    dir.join(FIRST_START).exists()
}

/// Marks the first start finished: the database has recorded the key.
pub(crate) fn finish_first_start(dir: &Path) -> Result<(), NodeError> {
    let path = dir.join(FIRST_START);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(NodeError::KeyFile { path, source }),
    }
}

/// Loads the key in `dir`, or creates one if there is none.
pub(crate) fn load_or_create(dir: &Path) -> Result<NodeKeypair, NodeError> {
    let path = dir.join("node.key");
    let err = |source| NodeError::KeyFile {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mode = std::fs::metadata(&path).map_err(err)?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "node key is readable by other users; run chmod 600 on it");
            }
            parse(&path, text.trim())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let keypair = NodeKeypair::generate().map_err(NodeError::Randomness)?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(err)?;
            file.write_all(text(&keypair).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(err)?;
            tracing::info!(node_id = %keypair.node_id(), "created a new node key");
            Ok(keypair)
        }
        Err(e) => Err(err(e)),
    }
}

/// The key file's contents: the seed in hex and a line end.
pub(crate) fn text(keypair: &NodeKeypair) -> String {
    format!("{}\n", hex::encode(keypair.seed()))
}

pub(crate) fn parse(path: &Path, text: &str) -> Result<NodeKeypair, NodeError> {
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text, &mut seed).map_err(|_| NodeError::KeyFile {
        path: PathBuf::from(path),
        source: std::io::Error::other("expected 64 hex characters"),
    })?;
    Ok(NodeKeypair::from_seed(&seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_then_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        let mode = std::fs::metadata(dir.path().join("node.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = load_or_create(dir.path()).unwrap();
        assert_eq!(first.node_id(), again.node_id());
    }

    #[test]
    fn a_damaged_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("node.key"), "not hex").unwrap();
        let err = load_or_create(dir.path()).unwrap_err();
        assert!(err.to_string().contains("node.key"), "{err}");
    }
}
