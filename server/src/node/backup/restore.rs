//! Restoring a backup into a data folder: checked first, written beside the folder and
//! handed over in one step, so a restore cut short leaves the old folder as it was.

use super::format::{BackupReader, Part};
use super::format::{FormatError, Header};
use super::{BackupError, Progress, RESTORE_BATCH, RESTORING, Summary, read_through};
use crate::node::NodeError;
use crate::store::{SCHEMA_VERSION, Store};
use kindred_protocol::NodeKeypair;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The node key in a backup, checked against the node id its header gives.
pub(super) fn backed_up_key<R: Read>(
    reader: &BackupReader<R>,
    header: &Header,
) -> Result<NodeKeypair, BackupError> {
    let text = std::str::from_utf8(&reader.key)
        .map_err(|_| BackupError::Inconsistent("the node key"))?
        .trim();
    let keypair = crate::node::key_file::parse(Path::new("node.key (in the backup)"), text)
        .map_err(|_| BackupError::Inconsistent("the node key"))?;
    if keypair.node_id().to_string() != header.node_id {
        return Err(BackupError::Inconsistent("the node key is not the node's"));
    }
    Ok(keypair)
}

/// Restores the backup `file` into `data_dir`, which must be missing or empty. The whole
/// file is checked (checksum, header, key, tree names) before anything is written; if
/// writing fails part-way, what was written is removed. The restored node keeps the
/// backed-up node's name and key: start it only once the old one is stopped for good.
///
/// Errors: [`BackupError::NotEmpty`], [`BackupError::Format`] (damaged, incomplete or
/// not a backup), [`BackupError::TooNew`], [`BackupError::Inconsistent`],
/// [`BackupError::Node`] when the folder or database cannot be written.
pub fn restore(
    file: &Path,
    data_dir: &Path,
    mut progress: impl FnMut(Progress),
) -> Result<Summary, BackupError> {
    // Refused at once, before a long check of the file; checked again under the lock.
    if std::fs::read_dir(data_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(BackupError::NotEmpty(data_dir.to_owned()));
    }
    let open = || -> Result<BufReader<File>, BackupError> {
        let f = File::open(file).map_err(|source| BackupError::Input {
            path: file.to_owned(),
            source,
        })?;
        Ok(BufReader::with_capacity(1 << 20, f))
    };
    // First pass: the whole file is sound, before the folder is touched.
    let (checked, _) = read_through(open()?, &mut |_| {})?;
    let header = &checked.header;
    if header.schema_version > SCHEMA_VERSION {
        return Err(BackupError::TooNew(header.schema_version));
    }
    let reader = BackupReader::open(open()?)?;
    backed_up_key(&reader, header)?;
    let claim = claim(data_dir)?;
    let result = fill(reader, data_dir, &checked, &mut progress);
    match result {
        Ok(summary) => {
            claim.hand_over(data_dir);
            Ok(summary)
        }
        Err(e) => {
            // Leave the folder as it was found: nothing half-restored for a node to start on.
            claim.undo(data_dir);
            Err(e)
        }
    }
}

/// A restore's hold on its target folder: locked (a second restore into it is refused),
/// and known to have been empty or made by this restore.
pub(super) struct Claim {
    /// The folder, open, holding the lock.
    _lock: File,
    /// Whether this restore made the folder.
    made: bool,
    /// The folder's owner when it was made ready beforehand (uid, gid).
    owner: Option<(u32, u32)>,
}

pub(super) fn claim(data_dir: &Path) -> Result<Claim, BackupError> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let io = |source| {
        BackupError::Node(NodeError::DataDir {
            path: data_dir.to_owned(),
            source,
        })
    };
    let made = match std::fs::DirBuilder::new().mode(0o700).create(data_dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => return Err(io(e)),
    };
    let meta = std::fs::metadata(data_dir).map_err(io)?;
    if !meta.is_dir() {
        return Err(BackupError::NotEmpty(data_dir.to_owned()));
    }
    let lock = File::open(data_dir).map_err(io)?;
    if rustix::fs::flock(&lock, rustix::fs::FlockOperation::NonBlockingLockExclusive).is_err() {
        return Err(BackupError::NotEmpty(data_dir.to_owned()));
    }
    if std::fs::read_dir(data_dir).map_err(io)?.next().is_some() {
        return Err(BackupError::NotEmpty(data_dir.to_owned()));
    }
    Ok(Claim {
        _lock: lock,
        made,
        owner: (!made).then(|| (meta.uid(), meta.gid())),
    })
}

impl Claim {
    /// A folder made ready for the node's user (`install -d -o kindred`) and restored into
    /// by root: what was restored is given to that user, or the node could not open it.
    fn hand_over(&self, data_dir: &Path) {
        let Some((uid, gid)) = self.owner.filter(|(uid, _)| *uid != 0) else {
            return;
        };
        if !rustix::process::geteuid().is_root() {
            return;
        }
        // Walked through open folders, never following a link: the folder's owner could
        // plant one while the restore runs, and root must not hand over what it points at.
        let nofollow = rustix::fs::OFlags::RDONLY
            | rustix::fs::OFlags::NOFOLLOW
            | rustix::fs::OFlags::CLOEXEC
            | rustix::fs::OFlags::NONBLOCK;
        let Ok(root) = rustix::fs::open(
            data_dir,
            nofollow | rustix::fs::OFlags::DIRECTORY,
            rustix::fs::Mode::empty(),
        ) else {
            tracing::warn!(path = %data_dir.display(), "cannot open the restored folder to hand it over");
            return;
        };
        let mut pending = vec![(root, 0u32)];
        while let Some((dir, depth)) = pending.pop() {
            if let Err(e) = std::os::unix::fs::fchown(&dir, Some(uid), Some(gid)) {
                tracing::warn!(error = %e, "cannot give a restored folder to the folder's owner");
            }
            let Ok(entries) = rustix::fs::Dir::read_from(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                if name.to_bytes() == b"." || name.to_bytes() == b".." {
                    continue;
                }
                // A link (ELOOP), or anything that cannot be opened: left as it is.
                let Ok(fd) = rustix::fs::openat(&dir, name, nofollow, rustix::fs::Mode::empty())
                else {
                    continue;
                };
                let is_dir = rustix::fs::fstat(&fd)
                    .map(|st| {
                        rustix::fs::FileType::from_raw_mode(st.st_mode)
                            == rustix::fs::FileType::Directory
                    })
                    .unwrap_or(false);
                if is_dir && depth < 8 {
                    pending.push((fd, depth + 1));
                } else if !is_dir
                    && let Err(e) = std::os::unix::fs::fchown(&fd, Some(uid), Some(gid))
                {
                    tracing::warn!(error = %e, "cannot give a restored file to the folder's owner");
                }
            }
        }
    }

    /// Removes what this restore wrote.
    fn undo(&self, data_dir: &Path) {
        if self.made {
            let _ = std::fs::remove_dir_all(data_dir);
        } else if let Ok(entries) = std::fs::read_dir(data_dir) {
            for e in entries.flatten() {
                let _ =
                    std::fs::remove_dir_all(e.path()).or_else(|_| std::fs::remove_file(e.path()));
            }
        }
    }
}

/// Second pass of a restore: key, then records, then a flush.
pub(super) fn fill(
    mut reader: BackupReader<BufReader<File>>,
    data_dir: &Path,
    checked: &Summary,
    progress: &mut impl FnMut(Progress),
) -> Result<Summary, BackupError> {
    crate::node::data_dir::make_private(data_dir, false)?;
    // Until it is removed at the end, the node refuses to start here: a restore cut short
    // (killed, a power cut) must not leave a node with the real key and half its data.
    let marker = data_dir.join(RESTORING);
    std::fs::write(
        &marker,
        "a restore into this folder did not finish; restore again into an empty folder\n",
    )
    .map_err(|source| NodeError::DataDir {
        path: marker.clone(),
        source,
    })?;
    let key_path = data_dir.join("node.key");
    let key_err = |source| {
        BackupError::Node(NodeError::KeyFile {
            path: key_path.clone(),
            source,
        })
    };
    let mut key = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_path)
        .map_err(key_err)?;
    key.write_all(&reader.key)
        .and_then(|()| key.sync_all())
        .map_err(key_err)?;
    let store = Store::open(&data_dir.join("db"))?;
    if !store.is_fresh() {
        return Err(BackupError::NotEmpty(data_dir.to_owned()));
    }
    let mut tree = String::new();
    let mut batch = Vec::with_capacity(RESTORE_BATCH);
    let mut records = 0u64;
    loop {
        match reader.next_part()? {
            Part::Tree(name) => {
                if !tree.is_empty() {
                    store.load(&tree, &batch)?;
                }
                batch.clear();
                tree = name;
            }
            Part::Record(k, v) => {
                if tree.is_empty() {
                    return Err(BackupError::Inconsistent("a record before any tree"));
                }
                batch.push((k, v));
                records += 1;
                if batch.len() == RESTORE_BATCH {
                    store.load(&tree, &batch)?;
                    batch.clear();
                    progress(Progress {
                        bytes: reader.bytes,
                        records,
                        records_estimate: checked.records,
                    });
                }
            }
            Part::End(sum) => {
                if !tree.is_empty() {
                    store.load(&tree, &batch)?;
                }
                if hex::encode(sum) != checked.checksum {
                    return Err(BackupError::Format(FormatError::Damaged));
                }
                break;
            }
        }
    }
    store.flush_now()?;
    drop(store);
    std::fs::remove_file(&marker).map_err(|source| NodeError::DataDir {
        path: marker.clone(),
        source,
    })?;
    progress(Progress {
        bytes: reader.bytes,
        records,
        records_estimate: records,
    });
    Ok(Summary {
        records,
        ..checked.clone()
    })
}
