//! The control socket: `<data>/control.sock`, a Unix socket only the data folder's owner
//! can reach (the folder is mode 0700). A client sends one command line; the node answers
//! and closes. Commands: `backup` (the answer is a backup file, `format.rs`) and `peers`
//! (the Peers page as JSON: a list of `PeerView`, for `kindred doctor`).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::net::UnixListener;

use super::{BackupError, CONTROL_SOCKET};
use crate::node::Node;
use crate::store::SnapshotError;

/// How long a client may take to send its command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Listens on the control socket until the node shuts down. A folder path too long for a
/// socket, or a socket that cannot be made, is logged: the node runs on, and backups then
/// need it stopped.
pub(crate) async fn serve(node: Node) {
    let path = node.config().server.data_dir.join(CONTROL_SOCKET);
    // The database lock is held, so a socket file or snapshot left here is from a node
    // that died.
    let _ = std::fs::remove_file(&path);
    remove_leftovers(&node.config().server.data_dir);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "no control socket: online backups are unavailable; stop the node to back it up");
            return;
        }
    };
    let shutdown = node.shutdown_signal();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    node.tasks().spawn(answer(node.clone(), stream));
                }
                Err(e) => tracing::warn!(error = %e, "control socket accept failed"),
            },
            _ = shutdown.cancelled() => break,
        }
    }
    let _ = std::fs::remove_file(&path);
}

/// The longest command line read (bytes): commands are single words.
const MAX_COMMAND: u64 = 1024;

/// How long a client may leave a backup unread before it is dropped.
const SEND_TIMEOUT: Duration = Duration::from_secs(60);

async fn answer(node: Node, stream: tokio::net::UnixStream) {
    use tokio::io::AsyncReadExt;
    let mut reader = tokio::io::BufReader::new(stream);
    let mut line = String::new();
    let read = tokio::time::timeout(
        COMMAND_TIMEOUT,
        (&mut reader).take(MAX_COMMAND).read_line(&mut line),
    )
    .await;
    if !matches!(read, Ok(Ok(n)) if n > 0) {
        return;
    }
    let stream = reader.into_inner();
    match line.trim() {
        "backup" => {
            let std_stream = match stream.into_std() {
                Ok(s) => s,
                Err(e) => return tracing::warn!(error = %e, "control socket"),
            };
            let joined = tokio::task::spawn_blocking(move || send_backup(&node, std_stream)).await;
            if joined.is_err() {
                tracing::error!("the backup task ended abnormally");
            }
        }
        "peers" => {
            let body = match node.peer_views() {
                Ok(v) => serde_json::to_vec(&v).unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %e, "control socket: cannot list peers");
                    Vec::new()
                }
            };
            reply(stream, body).await;
        }
        "status" => {
            let config = node.config();
            let status = Status {
                name: config.node.name.to_string(),
                node_id: node.node_id().to_string(),
                public_url: config.public_url(),
                public_url_set: config.node.public_url.is_some(),
                listen: config.server.listen.to_string(),
            };
            reply(stream, serde_json::to_vec(&status).unwrap_or_default()).await;
        }
        command if command.starts_with("reset-link ") => {
            let username = command.trim_start_matches("reset-link ").trim().to_owned();
            let answer = match node
                .make_reset_link(
                    "the server's operator (kindred admin reset-link)",
                    &username,
                )
                .await
            {
                Ok(created) => serde_json::to_vec(&Ok::<_, String>(created)),
                Err(e) => serde_json::to_vec(&Err::<kindred_protocol::api::ResetLinkCreated, _>(
                    e.to_string(),
                )),
            };
            reply(stream, answer.unwrap_or_default()).await;
        }
        other => {
            tracing::warn!(
                command = other.chars().take(40).collect::<String>(),
                "unknown control command"
            );
        }
    }
}

/// Sends `body` and closes; a client that does not read is left behind after a while.
async fn reply(mut stream: tokio::net::UnixStream, body: Vec<u8>) {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(SEND_TIMEOUT, stream.write_all(&body)).await;
}

/// What the running node says of itself (`status`), for `kindred doctor`: it may have been
/// started with flags the doctor does not see.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct Status {
    pub(crate) name: String,
    pub(crate) node_id: String,
    pub(crate) public_url: String,
    pub(crate) public_url_set: bool,
    pub(crate) listen: String,
}

/// Takes the snapshot into a private file in the data folder (so writers wait only as long
/// as the local copy takes, never on the client), then sends that file. A client that
/// stops reading for [`SEND_TIMEOUT`] is dropped.
fn send_backup(node: &Node, mut stream: UnixStream) {
    let Ok(_one_at_a_time) = node.limits().backup.try_lock() else {
        tracing::info!("backup refused: another one is being taken");
        return fail(
            node,
            stream,
            "another backup of this node is being taken; try again when it has finished",
        );
    };
    let started = std::time::Instant::now();
    tracing::info!("backup started");
    let dir = &node.config().server.data_dir;
    let (path, file) = match super::create_private(dir, TEMP_PREFIX, ".tmp") {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(error = %e, "backup: cannot make a file for the snapshot");
            return fail(
                node,
                stream,
                &format!("the node cannot write its snapshot: {e}"),
            );
        }
    };
    let header = super::header(
        node.store(),
        node.config().node.name.as_str(),
        node.keypair(),
        node.store().record_estimate(),
    );
    let written = super::write_snapshot(
        node.store(),
        &header,
        node.keypair(),
        std::io::BufWriter::with_capacity(1 << 20, file),
    )
    .and_then(|w| {
        w.into_inner()
            .map_err(|e| SnapshotError::Sink(e.into_error()))
    })
    .and_then(|f| f.sync_all().map_err(SnapshotError::Sink));
    let snapshot_took = started.elapsed();
    let sent = written.map_err(|e| e.to_string()).and_then(|()| {
        stream
            .set_nonblocking(false)
            .and_then(|()| stream.set_write_timeout(Some(SEND_TIMEOUT)))
            .and_then(|()| std::fs::File::open(&path))
            .and_then(|f| send_in_time(f, &mut stream))
            .map_err(|e| format!("sending it failed: {e}"))
    });
    let _ = std::fs::remove_file(&path);
    match sent {
        Ok(bytes) => {
            tracing::info!(bytes, snapshot = ?snapshot_took, took = ?started.elapsed(), "backup sent")
        }
        Err(e) if e.starts_with("sending") => {
            tracing::warn!(error = %e, took = ?started.elapsed(), "backup not delivered");
        }
        Err(e) => {
            tracing::warn!(error = %e, "backup failed");
            fail(node, stream, &e);
        }
    }
}

/// Copies the snapshot to the client, giving up when it reads too slowly: every write
/// within [`SEND_TIMEOUT`], and the whole at no less than 256 KB/s after the first
/// [`SEND_TIMEOUT`] (a client trickling a few bytes a minute would otherwise keep the
/// snapshot file for hours).
fn send_in_time(mut file: std::fs::File, stream: &mut UnixStream) -> std::io::Result<u64> {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut buf = vec![0u8; 256 * 1024];
    let mut sent = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            stream.flush()?;
            return Ok(sent);
        }
        stream.write_all(&buf[..n])?;
        sent += n as u64;
        let allowed = SEND_TIMEOUT + Duration::from_secs(sent / (256 * 1024));
        if started.elapsed() > allowed {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client read the backup too slowly",
            ));
        }
    }
}

/// Tells the client the backup failed, in the file format (header, then the failure).
fn fail(node: &Node, stream: UnixStream, message: &str) {
    let header = super::header(
        node.store(),
        node.config().node.name.as_str(),
        node.keypair(),
        0,
    );
    let _ = stream.set_write_timeout(Some(SEND_TIMEOUT));
    let key = super::key_text(node.keypair());
    if let Ok(w) = super::format::BackupWriter::start(stream, &header, key.as_bytes()) {
        let _ = w.fail(message);
    }
}

/// Snapshot files start with this.
const TEMP_PREFIX: &str = "backup-";

/// Removes snapshot files left by a node that stopped while sending one.
fn remove_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Asks the node running on `data_dir` for its peers (blocking). `None` when no node is
/// running there.
///
/// Errors: [`BackupError::Control`] when a node is listening but does not answer sensibly.
pub(crate) fn request_peers(
    data_dir: &Path,
) -> Result<Option<Vec<kindred_protocol::api::PeerView>>, BackupError> {
    request_json(data_dir, "peers")
}

/// Asks the node running on `data_dir` what it is and where (blocking); `None` when no
/// node is running there.
///
/// Errors: as [`request_peers`].
pub(crate) fn request_status(data_dir: &Path) -> Result<Option<Status>, BackupError> {
    request_json(data_dir, "status")
}

/// Asks the node running on `data_dir` for a password-reset link for `username`
/// (blocking); `None` when no node is running there. The inner error is the node's
/// refusal (an unknown member).
///
/// Errors: as [`request_peers`].
pub(crate) fn request_reset_link(
    data_dir: &Path,
    username: &str,
) -> Result<Option<Result<kindred_protocol::api::ResetLinkCreated, String>>, BackupError> {
    // One line: a name with a line break in it cannot smuggle a second command.
    let username: String = username.chars().filter(|c| !c.is_control()).collect();
    request_json(data_dir, &format!("reset-link {username}"))
}

/// The longest answer read to a JSON command (bytes).
const MAX_ANSWER: u64 = 16 * 1024 * 1024;

fn request_json<T: serde::de::DeserializeOwned>(
    data_dir: &Path,
    command: &str,
) -> Result<Option<T>, BackupError> {
    use std::io::Read;
    let Some(stream) = connect(data_dir, format!("{command}\n").as_bytes())? else {
        return Ok(None);
    };
    let path = data_dir.join(CONTROL_SOCKET);
    let mut body = Vec::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .and_then(|()| stream.take(MAX_ANSWER).read_to_end(&mut body))
        .map_err(|source| BackupError::Control {
            path: path.clone(),
            source: if matches!(
                source.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) {
                std::io::Error::other(
                    "the node did not answer within 30 seconds: it may be stuck; look at its log, or restart it",
                )
            } else {
                source
            },
        })?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|e| BackupError::Control {
            path,
            source: std::io::Error::other(e),
        })
}

/// Asks the node running on `data_dir` for a backup. `None` when no node is running
/// there (no socket, or nobody listening on it).
///
/// Errors: [`BackupError::Control`] when a node is listening but cannot be asked.
pub(super) fn request_backup(data_dir: &Path) -> Result<Option<UnixStream>, BackupError> {
    connect(data_dir, b"backup\n")
}

/// Connects to the control socket and sends `command`; `None` when no node listens.
fn connect(data_dir: &Path, command: &[u8]) -> Result<Option<UnixStream>, BackupError> {
    let path = data_dir.join(CONTROL_SOCKET);
    let err = |source| BackupError::Control {
        path: path.clone(),
        source,
    };
    let mut stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None);
        }
        Err(e) if path.as_os_str().len() >= 108 => {
            return Err(err(std::io::Error::other(format!(
                "{e}: the data folder's path is too long for a Unix socket (108 bytes at most), so the node could not open one; use a shorter folder path (for example a link under /var/lib)"
            ))));
        }
        Err(e) => return Err(err(e)),
    };
    stream.write_all(command).map_err(err)?;
    Ok(Some(stream))
}
