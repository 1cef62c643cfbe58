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

/// How long a client may take to send its command.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);

/// Listens on the control socket until the node shuts down. A folder path too long for a
/// socket, or a socket that cannot be made, is logged: the node runs on, and backups then
/// need it stopped.
pub(crate) async fn serve(node: Node) {
    let path = node.config().server.data_dir.join(CONTROL_SOCKET);
    // The database lock is held, so a socket file left here is from a node that died.
    let _ = std::fs::remove_file(&path);
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "no control socket: online backups are unavailable; stop the node to back it up");
            return;
        }
    };
    let mut shutdown = node.shutdown_signal();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(answer(node.clone(), stream));
                }
                Err(e) => tracing::warn!(error = %e, "control socket accept failed"),
            },
            _ = shutdown.wait_for(|stop| *stop) => break,
        }
    }
    let _ = std::fs::remove_file(&path);
}

async fn answer(node: Node, stream: tokio::net::UnixStream) {
    let mut reader = tokio::io::BufReader::new(stream);
    let mut line = String::new();
    let read = tokio::time::timeout(COMMAND_TIMEOUT, reader.read_line(&mut line)).await;
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
            let mut stream = stream;
            let views = node.peer_views().map_err(|e| e.to_string());
            let body = match views {
                Ok(v) => serde_json::to_vec(&v).unwrap_or_default(),
                Err(e) => {
                    tracing::warn!(error = %e, "control socket: cannot list peers");
                    Vec::new()
                }
            };
            use tokio::io::AsyncWriteExt;
            let _ = stream.write_all(&body).await;
        }
        other => {
            tracing::warn!(
                command = other.chars().take(40).collect::<String>(),
                "unknown control command"
            );
        }
    }
}

fn send_backup(node: &Node, stream: UnixStream) {
    let started = std::time::Instant::now();
    tracing::info!("backup started");
    if let Err(e) = stream.set_nonblocking(false) {
        return tracing::warn!(error = %e, "control socket");
    }
    let out = std::io::BufWriter::with_capacity(1 << 20, stream);
    match super::write_snapshot(
        node.store(),
        node.config().node.name.as_str(),
        node.keypair(),
        out,
    ) {
        Ok(_) => tracing::info!(took = ?started.elapsed(), "backup sent"),
        Err(e) => tracing::warn!(error = %e, took = ?started.elapsed(), "backup failed"),
    }
}

/// Asks the node running on `data_dir` for its peers (blocking). `None` when no node is
/// running there.
///
/// Errors: [`BackupError::Control`] when a node is listening but does not answer sensibly.
pub(crate) fn request_peers(
    data_dir: &Path,
) -> Result<Option<Vec<kindred_protocol::api::PeerView>>, BackupError> {
    use std::io::Read;
    let Some(mut stream) = connect(data_dir, b"peers\n")? else {
        return Ok(None);
    };
    let path = data_dir.join(CONTROL_SOCKET);
    let mut body = Vec::new();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .and_then(|()| stream.read_to_end(&mut body))
        .map_err(|source| BackupError::Control {
            path: path.clone(),
            source,
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
        Err(e) => return Err(err(e)),
    };
    stream.write_all(command).map_err(err)?;
    Ok(Some(stream))
}
