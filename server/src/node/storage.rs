//! `kindred storage`: checking a stopped node's database, rebuilding its indexes, and
//! moving it to another engine.
//!
//! A migration copies every record into `db.migrating` on the new engine, reads both back
//! to compare them, and only then swaps the folders, keeping the old one beside as
//! `db.<engine>-before-migration` until the admin removes it. While the swap is under way a
//! marker file (`MIGRATION-IN-PROGRESS`) keeps the node from starting; running the command
//! again finishes it.

use std::path::{Path, PathBuf};

use super::NodeError;
use crate::config::StorageEngine;
use crate::store::{CheckReport, Store, StoreError};

/// A file present while a migration swaps folders; a node does not start where it is.
pub const MIGRATING: &str = "MIGRATION-IN-PROGRESS";

/// What `kindred storage check` found, in words an admin can act on.
#[derive(Debug)]
pub struct CheckSummary {
    /// One line per finding.
    pub lines: Vec<String>,
    /// Nothing is wrong.
    pub healthy: bool,
    /// What is wrong can be rebuilt from the log (`--repair`).
    pub repairable: bool,
    /// `--repair` rebuilt the indexes.
    pub repaired: bool,
}

fn summary(report: &CheckReport) -> Vec<String> {
    let mut lines = Vec::new();
    let engine = report.engine.map_or("unknown", StorageEngine::name);
    lines.push(match report.engine_check {
        Some(true) => format!("engine: {engine}; its own check of the file found nothing wrong"),
        Some(false) => format!("engine: {engine}; ITS OWN CHECK FOUND DAMAGE in the file"),
        None => format!("engine: {engine} (it has no checksums of its own to check)"),
    });
    lines.push(format!("records read: {}", report.records));
    for u in &report.unreadable {
        lines.push(format!("UNREADABLE {u}"));
    }
    lines.push(format!(
        "events checked: {} (signature and id), {} damaged; {} local tombstones",
        report.events, report.bad_events, report.local_tombstones
    ));
    lines.extend(
        report
            .bad_event_lines
            .iter()
            .map(|l| format!("DAMAGED {l}")),
    );
    lines.push(format!("id index problems: {}", report.index_problems));
    lines.extend(report.index_lines.iter().map(|l| format!("INDEX {l}")));
    if report.search_damaged {
        lines.push("the search index is damaged (it is rebuilt from the log)".into());
    }
    if let Some((acknowledged, stored)) = report.went_back {
        lines.push(went_back(acknowledged, stored));
    }
    lines
}

fn went_back(acknowledged: u64, stored: u64) -> String {
    format!(
        "WENT BACK: events up to arrival number {acknowledged} were acknowledged as stored, but the log ends at {stored}: the newest commit was damaged and the engine went back to the one before, or the files were replaced by older ones. `--repair` accepts the loss (the node then fetches back from its peers what it had sent them); restoring the latest backup may keep more"
    )
}

/// Checks the database of the stopped node in `data_dir`; with `repair`, rebuilds the
/// indexes when that is all that is wrong.
///
/// Errors: the node is running ([`StoreError::InUse`]), or the database cannot be opened
/// at all.
pub fn check(data_dir: &Path, repair: bool) -> Result<CheckSummary, NodeError> {
    if data_dir.join(MIGRATING).exists() {
        return Err(NodeError::UnfinishedMigration {
            path: data_dir.to_owned(),
        });
    }
    there(data_dir)?;
    let db = data_dir.join("db");
    let limit = time_limit(&db);
    let opening = move || {
        if repair {
            Store::open_accepting_loss(&db)
        } else {
            Store::open_as_is(&db)
        }
    };
    let store = match within(limit, opening) {
        Finished::Done(Ok(store)) => store,
        Finished::Done(Err(StoreError::WentBack {
            acknowledged,
            stored,
        })) => {
            // Refused as it is (on redb, before its recovery would write to the file).
            return Ok(CheckSummary {
                lines: vec![went_back(acknowledged, stored)],
                healthy: false,
                repairable: true,
                repaired: false,
            });
        }
        Finished::Done(Err(StoreError::Storage(crate::store::kv::KvError::Journal(why)))) => {
            return Ok(CheckSummary {
                lines: vec![format!(
                    "JOURNAL {why}. --repair goes past it, losing the writes it held (those since the last checkpoint, about a second's)"
                )],
                healthy: false,
                repairable: true,
                repaired: false,
            });
        }
        Finished::Done(Err(e @ (StoreError::InUse { .. } | StoreError::SchemaTooNew { .. }))) => {
            return Err(e.into());
        }
        Finished::Done(Err(e)) => return Ok(cannot_open(&e.to_string())),
        Finished::Failed => {
            return Ok(cannot_open(
                "the storage engine failed while reading the files",
            ));
        }
        Finished::Stuck => return Ok(stuck(limit)),
    };
    let checking = store.clone();
    let report = match within(limit, move || checking.check()) {
        Finished::Done(report) => report?,
        Finished::Failed => {
            return Ok(cannot_open(
                "the storage engine failed while reading the files (they are damaged)",
            ));
        }
        Finished::Stuck => return Ok(stuck(limit)),
    };
    let mut lines = summary(&report);
    let (healthy, repairable) = (report.is_healthy(), report.repairable());
    let mut repaired = false;
    if repair && !healthy && repairable {
        let repairing = store.clone();
        match within(limit, move || {
            repairing
                .rebuild_indexes()
                .and_then(|()| repairing.accept_went_back())
                .and_then(|()| repairing.check())
        }) {
            Finished::Done(Ok(after)) => {
                lines.push(
                    "rebuilt the id index and cleared the search index (rebuilt at start)".into(),
                );
                if report.went_back.is_some() {
                    lines.push("accepted where the log ends now".into());
                }
                repaired = after.is_healthy();
            }
            Finished::Done(Err(e)) => lines.push(format!("COULD NOT REPAIR: {e}")),
            Finished::Failed | Finished::Stuck => lines.push(
                "COULD NOT REPAIR: the storage engine failed or stopped answering while rebuilding"
                    .into(),
            ),
        }
    } else if repair && !healthy {
        lines.push("nothing was repaired: stored records themselves are damaged".into());
    }
    Ok(CheckSummary {
        lines,
        healthy,
        repairable,
        repaired,
    })
}

/// How a piece of work given a time limit ended.
enum Finished<T> {
    Done(T),
    /// It panicked (sled on damaged files).
    Failed,
    /// It was still running at the limit (redb on some damaged files loops).
    Stuck,
}

/// Runs `work` on its own thread and waits at most `limit` for it: a storage engine reading
/// damaged files can panic or loop, and a tool must still answer. A stuck thread is left
/// behind; the command exits soon after.
fn within<T: Send + 'static>(
    limit: std::time::Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Finished<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("storage-check".into())
        .spawn(move || {
            let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
        });
    if spawned.is_err() {
        return Finished::Failed;
    }
    match rx.recv_timeout(limit) {
        Ok(Ok(done)) => Finished::Done(done),
        Ok(Err(_)) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Finished::Failed,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Finished::Stuck,
    }
}

/// Time a healthy database of this size needs at most to be opened, checked or copied,
/// with a wide margin (measured: about 1.2 s per GB for redb's checksum check, and some
/// 20,000 events a second for signatures): 5 minutes, plus 2 minutes per GB.
fn time_limit(db: &Path) -> std::time::Duration {
    let gb = folder_bytes(db).div_ceil(1_000_000_000);
    std::time::Duration::from_secs(300 + 120 * gb)
}

/// The summary for a check that did not finish in time.
fn stuck(limit: std::time::Duration) -> CheckSummary {
    cannot_open(&format!(
        "the storage engine was still reading after {} minutes, far longer than a healthy database of this size needs: its files are most likely damaged. Restore the latest backup (kindred restore)",
        limit.as_secs() / 60
    ))
}

/// The summary for a database that does not even open.
fn cannot_open(why: &str) -> CheckSummary {
    CheckSummary {
        lines: vec![format!("CANNOT OPEN the database: {why}")],
        healthy: false,
        repairable: false,
        repaired: false,
    }
}

/// What a migration did.
#[derive(Debug)]
pub struct MigrateSummary {
    /// The engine the data was on.
    pub from: StorageEngine,
    /// The engine it is on now.
    pub to: StorageEngine,
    /// This run finished a migration an earlier one began.
    pub resumed: bool,
    /// Bytes on disk before and after.
    pub bytes_before: u64,
    /// Bytes on disk after.
    pub bytes_after: u64,
    /// Where the old database was kept.
    pub kept: PathBuf,
}

/// Moves the stopped node's database in `data_dir` to `to`, verifying the copy first.
///
/// Errors: the node is running, the database is already on `to`
/// ([`NodeError::Migration`]), or the copy differs from the original (nothing is swapped).
pub fn migrate(data_dir: &Path, to: StorageEngine) -> Result<MigrateSummary, NodeError> {
    let db = data_dir.join("db");
    let fresh = data_dir.join("db.migrating");
    let marker = data_dir.join(MIGRATING);
    if marker.exists() {
        return finish(data_dir, &db, &fresh, &marker);
    }
    if to == StorageEngine::Memory {
        return Err(NodeError::Migration(
            "the memory engine keeps nothing on disk: move to redb or sled".into(),
        ));
    }
    there(data_dir)?;
    let limit = time_limit(&db);
    let opening = db.clone();
    let store = match within(limit, move || Store::open_as_is(&opening)) {
        Finished::Done(store) => store?,
        Finished::Failed | Finished::Stuck => {
            return Err(NodeError::Migration(
                "the database cannot be opened (its files are damaged); nothing was changed. See `kindred storage check`".into(),
            ));
        }
    };
    // A damaged database is not carried over as if whole: the copy is compared with the
    // original, which would agree with its damage.
    let checking = store.clone();
    match within(limit, move || checking.check()) {
        Finished::Done(Ok(report)) if report.is_healthy() => {}
        Finished::Done(Err(e)) => return Err(e.into()),
        _ => {
            return Err(NodeError::Migration(
                "the database is damaged, so it was not moved; nothing was changed. `kindred storage check` says what is damaged (and `--repair` rebuilds damaged indexes); otherwise restore the latest backup".into(),
            ));
        }
    }
    let from = store.engine();
    if from == to {
        return Err(NodeError::Migration(format!(
            "the database is already on {to}"
        )));
    }
    if fresh.exists() {
        std::fs::remove_dir_all(&fresh).map_err(|e| io(&fresh, e))?;
    }
    let bytes_before = store.size_on_disk()?;
    let (source, target) = (store.clone(), fresh.clone());
    let copied = within(time_limit(&db), move || {
        crate::store::copy_into(&source, &target, to)?;
        let copy = Store::open_as_is(&target)?;
        let difference = source.first_difference(&copy)?;
        Ok::<_, StoreError>((copy, difference))
    });
    let (copy, difference) = match copied {
        Finished::Done(result) => result?,
        Finished::Failed | Finished::Stuck => {
            let _ = std::fs::remove_dir_all(&fresh);
            return Err(NodeError::Migration(
                "the database cannot be read to the end (its files are damaged); nothing was changed. See `kindred storage check`".into(),
            ));
        }
    };
    if let Some(difference) = difference {
        drop(copy);
        let _ = std::fs::remove_dir_all(&fresh);
        return Err(NodeError::Migration(format!(
            "the copy is not the same as the original ({difference}); nothing was changed"
        )));
    }
    drop(copy);
    drop(store);
    std::fs::write(&marker, format!("{from}\n{to}\n")).map_err(|e| io(&marker, e))?;
    let mut summary = finish(data_dir, &db, &fresh, &marker)?;
    summary.bytes_before = bytes_before;
    Ok(summary)
}

/// Swaps the verified copy in (again, after an interruption).
fn finish(
    data_dir: &Path,
    db: &Path,
    fresh: &Path,
    marker: &Path,
) -> Result<MigrateSummary, NodeError> {
    let said = std::fs::read_to_string(marker).map_err(|e| io(marker, e))?;
    let mut lines = said.lines();
    let from: StorageEngine = lines
        .next()
        .unwrap_or_default()
        .trim()
        .parse()
        .map_err(NodeError::Migration)?;
    let to: StorageEngine = lines
        .next()
        .unwrap_or_default()
        .trim()
        .parse()
        .map_err(NodeError::Migration)?;
    // Both folders in place: this run made the copy; otherwise an earlier one did.
    let resumed = !(db.exists() && fresh.exists());
    // A folder kept by an earlier migration stays: this one gets the next free name (or,
    // when the original was moved aside already, the last one taken).
    let names = (1..).map(|n| match n {
        1 => data_dir.join(format!("db.{from}-before-migration")),
        n => data_dir.join(format!("db.{from}-before-migration-{n}")),
    });
    let free = names.clone().find(|p| !p.exists()).unwrap_or_default();
    let kept = if !resumed {
        free
    } else {
        names.take_while(|p| p.exists()).last().unwrap_or(free)
    };
    if fresh.exists() {
        if db.exists() {
            std::fs::rename(db, &kept).map_err(|e| io(db, e))?;
        }
        std::fs::rename(fresh, db).map_err(|e| io(fresh, e))?;
    }
    sync(data_dir)?;
    owned_like_the_folder(data_dir, db)?;
    std::fs::remove_file(marker).map_err(|e| io(marker, e))?;
    sync(data_dir)?;
    if resumed {
        tracing::info!("finished a migration that had been interrupted");
    }
    Ok(MigrateSummary {
        from,
        to,
        resumed,
        bytes_before: 0,
        bytes_after: folder_bytes(db),
        kept,
    })
}

/// Bytes the files under `dir` take.
fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => folder_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The database of a data folder that has one; otherwise what to check.
fn there(data_dir: &Path) -> Result<(), NodeError> {
    // The engine's main file must hold something: an emptied one is no database.
    if crate::store::kv::Engine::holding_data_in(&data_dir.join("db")).is_none() {
        return Err(NodeError::NoDatabase {
            path: data_dir.to_owned(),
        });
    }
    Ok(())
}

/// The new database belongs to whoever owns the data folder (a migration run with sudo
/// must not leave root's files to a node running as its own user) and is private to
/// them, as the node keeps it.
fn owned_like_the_folder(data_dir: &Path, db: &Path) -> Result<(), NodeError> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let owner = std::fs::metadata(data_dir).map_err(|e| io(data_dir, e))?;
    let mut stack = vec![db.to_owned()];
    while let Some(path) = stack.pop() {
        let meta = std::fs::metadata(&path).map_err(|e| io(&path, e))?;
        if meta.uid() != owner.uid() || meta.gid() != owner.gid() {
            std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid()))
                .map_err(|e| io(&path, e))?;
        }
        let mode = if meta.is_dir() { 0o700 } else { 0o600 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| io(&path, e))?;
        if meta.is_dir() {
            for entry in std::fs::read_dir(&path)
                .map_err(|e| io(&path, e))?
                .flatten()
            {
                stack.push(entry.path());
            }
        }
    }
    Ok(())
}

fn sync(dir: &Path) -> Result<(), NodeError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

fn io(path: &Path, source: std::io::Error) -> NodeError {
    NodeError::DataDir {
        path: path.to_owned(),
        source,
    }
}

/// Calls `f` with every record of the stopped node's database (tree name, key, value): for
/// tools and tests that look for what a database holds, whatever its engine.
///
/// Errors: the node is running, or a record cannot be read.
pub fn each_record(
    data_dir: &Path,
    mut f: impl FnMut(&str, &[u8], &[u8]),
) -> Result<(), NodeError> {
    there(data_dir)?;
    let store = Store::open_as_is(&data_dir.join("db"))?;
    for (name, tree) in store.trees().all() {
        for item in tree.iter() {
            let (k, v) = item.map_err(StoreError::from)?;
            f(name, &k, &v);
        }
    }
    Ok(())
}
