//! Backups taken while the node runs, and restores into a new folder.
//!
//! `kindred backup <file>` asks the running node, through a Unix socket in its data folder
//! (`control.sock`, reachable only by the folder's owner), for a point-in-time snapshot
//! (`store/backup.rs`) and writes it with the node key as one file ([`format`]), checked
//! as it arrives; with no node running it opens the folder itself. `kindred restore`
//! checks a whole file before it writes anything, then fills an empty folder. A restored
//! node fetches back from its peers what it wrote after the backup before it writes
//! anything new (`federation/own_log.rs`), so its log does not fork.

mod restore;

pub use restore::*;
pub(crate) mod control;
pub mod format;
mod output;
mod pending;

pub use pending::pending_deletions;

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use format::{BackupReader, BackupWriter, Part};
pub use format::{FormatError, Header};
use kindred_protocol::NodeKeypair;

use super::NodeError;
use crate::store::{SCHEMA_VERSION, SnapshotError, SnapshotItem, Store, StoreError};

/// The control socket's file name inside the data folder.
pub const CONTROL_SOCKET: &str = "control.sock";

/// A file present while a restore fills a folder; a node does not start where it is.
pub const RESTORING: &str = "RESTORE-IN-PROGRESS";

/// Records written to the store per batch during a restore.
const RESTORE_BATCH: usize = 10_000;

/// Why a backup or restore failed. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The backup file could not be written.
    #[error("cannot write the backup to {path}")]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The backup file could not be read.
    #[error("cannot open the backup {path}")]
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The backup is damaged, incomplete or not a backup.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The data folder, key or database could not be used.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// There is no node in the data folder to back up.
    #[error("{0} holds no Kindred node (no node.key and db); check --data or --config")]
    NoNode(PathBuf),
    /// A restore's target already holds something.
    #[error(
        "{0} is not empty: restore into a new, empty folder, then point the node at it (--data or server.data_dir)"
    )]
    NotEmpty(PathBuf),
    /// The backup was written by a newer Kindred.
    #[error(
        "the backup holds schema version {0}, newer than this Kindred understands ({SCHEMA_VERSION}); restore it with a newer Kindred"
    )]
    TooNew(u32),
    /// The backup does not hold what a node needs.
    #[error("the backup is damaged ({0}); use another one")]
    Inconsistent(&'static str),
    /// The running node could not be asked for a snapshot.
    #[error("cannot reach the running node through {path}")]
    Control {
        /// The socket.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl From<StoreError> for BackupError {
    fn from(e: StoreError) -> Self {
        BackupError::Node(NodeError::Store(e))
    }
}

/// How far a backup or restore has got.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Bytes of the backup file so far.
    pub bytes: u64,
    /// Records so far.
    pub records: u64,
    /// About how many records there are in all.
    pub records_estimate: u64,
}

/// What a finished backup or restore holds.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Whose backup it is, from when.
    pub header: Header,
    /// Records in it.
    pub records: u64,
    /// The file's size (bytes).
    pub bytes: u64,
    /// The SHA-256 of the file up to its checksum (what the file ends with), hex.
    pub checksum: String,
    /// The SHA-256 of the whole file, hex (what `sha256sum` prints; in `<file>.sha256`).
    pub file_sha256: String,
    /// Whether the node was running (the snapshot came through its control socket).
    pub online: bool,
}

/// Writes a backup of the node in `data_dir` to `out` (mode 0600): through the running
/// node when there is one, otherwise by opening the folder. The file is written next to
/// `out` and renamed into place once complete and checked, with `<out>.sha256` beside it
/// (`sha256sum -c` reads it). `progress` is called as records arrive.
///
/// Errors: [`BackupError::NoNode`] for a folder without a node, [`BackupError::Control`]
/// when a node is running but does not answer, [`BackupError::Output`] when `out` cannot
/// be written, [`BackupError::Format`] when what the node sent is damaged.
pub fn backup(
    data_dir: &Path,
    out: &Path,
    mut progress: impl FnMut(Progress),
) -> Result<Summary, BackupError> {
    if let Err(e) = std::fs::read_dir(data_dir) {
        return Err(if e.kind() == std::io::ErrorKind::NotFound {
            BackupError::NoNode(data_dir.to_owned())
        } else {
            // Permission denied, most often: say so rather than "no node here".
            BackupError::Node(NodeError::DataDir {
                path: data_dir.to_owned(),
                source: e,
            })
        });
    }
    if !data_dir.join("node.key").exists() || !data_dir.join("db").exists() {
        return Err(BackupError::NoNode(data_dir.to_owned()));
    }
    let (output, file) = output::Output::create(out)?;
    let source = source(data_dir)?;
    let output_err = |source| BackupError::Output {
        path: out.to_owned(),
        source,
    };
    let summary = match source {
        Source::Online(stream) => {
            // The node writes its snapshot first (seconds even for a large node), then
            // sends without pause: a long silence means it is stuck.
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(300)))
                .map_err(|source| BackupError::Control {
                    path: data_dir.join(CONTROL_SOCKET),
                    source,
                })?;
            // Checked as it arrives, written as it is checked.
            let tee = Tee {
                input: BufReader::with_capacity(1 << 20, stream),
                copy: BufWriter::with_capacity(1 << 20, file),
                failed: None,
            };
            let (summary, hashing) = read_through(Hashing::new(tee), &mut progress)?;
            let (file_sha256, tee) = hashing.finish();
            if let Some(e) = tee.failed {
                return Err(output_err(e));
            }
            let file = tee
                .copy
                .into_inner()
                .map_err(|e| output_err(e.into_error()))?;
            file.sync_all().map_err(output_err)?;
            Summary {
                online: true,
                file_sha256,
                ..summary
            }
        }
        Source::Offline(store) => {
            offline_backup(data_dir, store, file, out)?;
            let f = File::open(output.path()).map_err(output_err)?;
            let reader = Hashing::new(BufReader::with_capacity(1 << 20, f));
            let (summary, hashing) = read_through(reader, &mut progress)?;
            Summary {
                file_sha256: hashing.finish().0,
                ..summary
            }
        }
    };
    output.finish(&summary.file_sha256)?;
    Ok(summary)
}

/// `<file>.sha256`.
pub fn sha256_sidecar(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sha256");
    PathBuf::from(s)
}

/// Hashes everything read through it: the whole file's SHA-256, as `sha256sum` prints it,
/// without reading the file a second time.
struct Hashing<R: Read> {
    inner: R,
    hash: sha2::Sha256,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        use sha2::Digest;
        Self {
            inner,
            hash: sha2::Sha256::new(),
        }
    }

    fn finish(self) -> (String, R) {
        use sha2::Digest;
        (hex::encode(self.hash.finalize()), self.inner)
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// Where a backup's records come from.
enum Source {
    /// The running node, through its control socket.
    Online(std::os::unix::net::UnixStream),
    /// The database, opened here (no node is running).
    Offline(Store),
}

/// The running node if there is one, else the database. A node that is starting (its
/// control socket not up yet) holds the database: it is waited for, up to 15 s.
fn source(data_dir: &Path) -> Result<Source, BackupError> {
    if let Some(stream) = control::request_backup(data_dir)? {
        return Ok(Source::Online(stream));
    }
    match Store::open_as_is(&data_dir.join("db")) {
        Ok(store) => Ok(Source::Offline(store)),
        Err(StoreError::NoDatabase { .. }) => Err(BackupError::NoNode(data_dir.to_owned())),
        Err(in_use @ StoreError::InUse { .. }) => {
            for _ in 0..75 {
                std::thread::sleep(std::time::Duration::from_millis(200));
                if let Some(stream) = control::request_backup(data_dir)? {
                    return Ok(Source::Online(stream));
                }
            }
            Err(in_use.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Backs up a folder no node is running on.
fn offline_backup(
    data_dir: &Path,
    store: Store,
    file: File,
    out: &Path,
) -> Result<(), BackupError> {
    let keypair = read_key(data_dir)?;
    if let Some(belongs_to) = store.node_id()?
        && belongs_to != keypair.node_id()
    {
        // A backup of it would pair the database with the wrong identity.
        return Err(BackupError::Node(NodeError::KeyReplaced {
            path: data_dir.to_owned(),
            belongs_to,
            key: keypair.node_id(),
        }));
    }
    let name = store.node_name()?.unwrap_or_default();
    let writer = BufWriter::with_capacity(1 << 20, file);
    let header = header(&store, &name, &keypair, store.record_estimate());
    let file = write_snapshot(&store, &header, &keypair, writer).map_err(|e| match e {
        SnapshotError::Sink(source) => BackupError::Output {
            path: out.to_owned(),
            source,
        },
        SnapshotError::Store(e) => e.into(),
    })?;
    let file = file.into_inner().map_err(|e| BackupError::Output {
        path: out.to_owned(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(|source| BackupError::Output {
        path: out.to_owned(),
        source,
    })
}

fn read_key(data_dir: &Path) -> Result<NodeKeypair, BackupError> {
    let path = data_dir.join("node.key");
    let text = std::fs::read_to_string(&path).map_err(|source| {
        BackupError::Node(NodeError::KeyFile {
            path: path.clone(),
            source,
        })
    })?;
    Ok(super::key_file::parse(&path, text.trim())?)
}

/// What a backup of `store` taken now says of itself.
/// `records_estimate` is for progress bars only ([`Store::record_estimate`] counts every
/// record, so a failure notice passes 0).
pub(crate) fn header(
    store: &Store,
    node_name: &str,
    keypair: &NodeKeypair,
    records_estimate: u64,
) -> Header {
    Header {
        format: 1,
        node_name: node_name.to_owned(),
        node_id: keypair.node_id().to_string(),
        schema_version: store.schema_version(),
        created_at_ms: jiff::Timestamp::now().as_millisecond(),
        kindred_version: env!("CARGO_PKG_VERSION").to_owned(),
        records_estimate,
    }
}

/// The node key file's contents.
pub(crate) fn key_text(keypair: &NodeKeypair) -> String {
    super::key_file::text(keypair)
}

/// A new file `<dir>/<prefix><random><suffix>`, created exclusively (never through a link
/// someone left there) with mode 0600: snapshot files, partial backups, checksum files.
pub(super) fn create_private(
    dir: &Path,
    prefix: &str,
    suffix: &str,
) -> std::io::Result<(PathBuf, File)> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
    let path = dir.join(format!("{prefix}{}{suffix}", hex::encode(bytes)));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    Ok((path, file))
}

/// Writes a whole backup of `store` to `out`: the snapshot of one moment, then the
/// checksum. Returns the writer.
pub(crate) fn write_snapshot<W: Write>(
    store: &Store,
    header: &Header,
    keypair: &NodeKeypair,
    out: W,
) -> Result<W, SnapshotError> {
    let key = key_text(keypair);
    let mut w = BackupWriter::start(out, header, key.as_bytes()).map_err(SnapshotError::Sink)?;
    let snapshot = store.snapshot(|item| match item {
        SnapshotItem::Tree(name) => w.tree(name),
        SnapshotItem::Record(k, v) => w.record(k, v),
    });
    match snapshot {
        Ok(()) => Ok(w.finish().map_err(SnapshotError::Sink)?.1),
        Err(e) => {
            // Tell the reader why, if it is still listening.
            let _ = w.fail(&e.to_string());
            Err(e)
        }
    }
}

/// Reads a whole backup, checking it; calls `progress` every few thousand records.
fn read_through<R: Read>(
    input: R,
    progress: &mut impl FnMut(Progress),
) -> Result<(Summary, R), BackupError> {
    let mut reader = BackupReader::open(input)?;
    let mut records = 0u64;
    let estimate = reader.header.records_estimate;
    loop {
        match reader.next_part()? {
            Part::Tree(name) => {
                if !Store::has_tree(&name) {
                    return Err(BackupError::Inconsistent(
                        "a tree this Kindred does not know",
                    ));
                }
            }
            Part::Record(..) => {
                records += 1;
                if records % 4096 == 0 {
                    progress(Progress {
                        bytes: reader.bytes,
                        records,
                        records_estimate: estimate,
                    });
                }
            }
            Part::End(sum) => {
                progress(Progress {
                    bytes: reader.bytes,
                    records,
                    records_estimate: records,
                });
                let summary = Summary {
                    header: reader.header.clone(),
                    records,
                    bytes: reader.bytes,
                    checksum: hex::encode(sum),
                    file_sha256: String::new(),
                    online: false,
                };
                return Ok((summary, reader.into_inner()));
            }
        }
    }
}

/// Copies what is read into `copy`; a write failure is kept for the caller (reading
/// goes on so the sender is not left hanging).
struct Tee<R: Read, W: Write> {
    input: R,
    copy: W,
    failed: Option<std::io::Error>,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        if self.failed.is_none()
            && let Err(e) = self.copy.write_all(&buf[..n])
        {
            self.failed = Some(e);
        }
        Ok(n)
    }
}

/// Checks the backup `file` whole (checksum, header, key, tree names) without writing
/// anything; returns what it holds.
///
/// Errors: [`BackupError::Input`], [`BackupError::Format`], [`BackupError::TooNew`],
/// [`BackupError::Inconsistent`].
pub fn check(file: &Path, mut progress: impl FnMut(Progress)) -> Result<Summary, BackupError> {
    let f = File::open(file).map_err(|source| BackupError::Input {
        path: file.to_owned(),
        source,
    })?;
    let (summary, hashing) = read_through(
        Hashing::new(BufReader::with_capacity(1 << 20, f)),
        &mut progress,
    )?;
    if summary.header.schema_version > SCHEMA_VERSION {
        return Err(BackupError::TooNew(summary.header.schema_version));
    }
    let reader = BackupReader::open(BufReader::new(File::open(file).map_err(|source| {
        BackupError::Input {
            path: file.to_owned(),
            source,
        }
    })?))?;
    backed_up_key(&reader, &summary.header)?;
    Ok(Summary {
        file_sha256: hashing.finish().0,
        ..summary
    })
}
