//! The data folder: there, private, owned by one user, with room to grow.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use super::Finding;
use crate::config::Config;

/// Free space below which the node is in trouble soon (bytes).
const LOW_SPACE: u64 = 1024 * 1024 * 1024;
/// Free space below which writes may fail any moment (bytes).
const NO_SPACE: u64 = 100 * 1024 * 1024;

pub(super) fn check(config: &Config) -> Vec<Finding> {
    let dir = &config.server.data_dir;
    let mut found = Vec::new();
    let shown = dir.display();
    let Ok(meta) = std::fs::metadata(dir) else {
        found.push(if config.node.name_chosen {
            Finding::warning(
                format!("The data folder {shown} does not exist yet."),
                "It is created on the first start (kindred serve); if the node has run before, check server.data_dir in the config.",
            )
        } else {
            Finding::problem(
                format!("The data folder {shown} does not exist and the node has no name yet."),
                "Choose the node's name once, for good: set node.name in the config (or start with --name kindred.example.org).",
            )
        });
        return found;
    };
    if let Err(e) = std::fs::read_dir(dir) {
        found.push(Finding::problem(
            format!("Cannot look inside the data folder {shown}: {e}."),
            "Run kindred doctor as the node's user (sudo -u kindred kindred doctor ...) or as root.",
        ));
        return found;
    }
    let has_database = crate::store::kv::Engine::holding_data_in(&dir.join("db")).is_some();
    let first_start = crate::node::key_file::first_start_unfinished(dir);
    if dir.join("node.key").exists() && !has_database && dir.join("db").exists() && !first_start {
        // The key stays, the database is gone or emptied: the node must not start afresh
        // under an identity its peers know (it refuses to).
        found.push(Finding::problem(
            format!("{shown} has this node's key but its database is missing or empty."),
            "Restore the latest backup into a new folder (kindred restore) and point the node at it; what it had from its peers comes back from them.",
        ));
    } else if !dir.join("db").exists() || !dir.join("node.key").exists() {
        found.push(Finding::warning(
            format!("{shown} holds no node yet (no db or node.key)."),
            "If the node has run before, check server.data_dir; otherwise start it once.",
        ));
    }
    found.push(owners(dir, meta.uid()));
    found.push(modes(dir, config.server.allow_shared_data_dir));
    found.extend(key_mode(dir));
    if let Some(tls_key) = &config.tls.key_file
        && let Ok(meta) = std::fs::metadata(tls_key)
        && meta.permissions().mode() & 0o077 != 0
    {
        found.push(Finding::problem(
            format!(
                "The TLS private key {} has mode {:o}: other users can read it and pose as this node's address.",
                tls_key.display(),
                meta.permissions().mode() & 0o777
            ),
            format!("chmod 600 {} (and give it to the node's user)", tls_key.display()),
        ));
    }
    found.push(space(dir));
    found
}

/// Everything inside belongs to the folder's owner (a node started once as root leaves
/// files the service user cannot open).
fn owners(dir: &Path, owner: u32) -> Finding {
    let mut others = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.uid() != owner {
            others.push(path.clone());
        }
        if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&path)
        {
            pending.extend(entries.flatten().map(|e| e.path()));
        }
    }
    match others.first() {
        None if owner == 0 => Finding::warning(
            format!("The data folder {} belongs to root.", dir.display()),
            "Run the node as its own user (the systemd unit's kindred user): chown -R kindred:kindred on the folder.",
        ),
        None => Finding::ok(format!("Everything in {} has one owner.", dir.display())),
        Some(first) => Finding::problem(
            format!(
                "{} file(s) in the data folder belong to another user than the folder, e.g. {}.",
                others.len(),
                first.display()
            ),
            format!(
                "Give them back to the folder's owner: chown -R $(stat -c %U {0}) {0}",
                dir.display()
            ),
        ),
    }
}

fn modes(dir: &Path, allowed: bool) -> Finding {
    match crate::node::data_dir::shared(dir) {
        Ok(open) if open.is_empty() => {
            Finding::ok(format!("Only its owner can read {}.", dir.display()))
        }
        Ok(open) if allowed => Finding::warning(
            format!(
                "{} item(s) in the data folder can be read by other users (server.allow_shared_data_dir is set).",
                open.len()
            ),
            "Unless another account really needs it: chmod -R go-rwx on the folder and unset the option.",
        ),
        Ok(open) => Finding::problem(
            format!(
                "{} item(s) in the data folder can be read by other users of this server, e.g. {}: it holds members' messages and password hashes.",
                open.len(),
                open[0].0.display()
            ),
            format!("chmod -R go-rwx {}", dir.display()),
        ),
        Err(e) => Finding::problem(
            format!("Cannot read the data folder {}: {e}.", dir.display()),
            "Run kindred doctor as the node's user (sudo -u kindred kindred doctor ...) or as root.",
        ),
    }
}

fn key_mode(dir: &Path) -> Option<Finding> {
    let key = dir.join("node.key");
    let meta = std::fs::metadata(&key).ok()?;
    let mode = meta.permissions().mode() & 0o777;
    Some(if mode & 0o077 == 0 {
        Finding::ok("The node's secret key is readable by its owner only.")
    } else {
        Finding::problem(
            format!(
                "The node's secret key {} has mode {mode:o}: other users can read it and sign as this node.",
                key.display()
            ),
            format!("chmod 600 {}", key.display()),
        )
    })
}

fn space(dir: &Path) -> Finding {
    let stats = match rustix::fs::statvfs(dir) {
        Ok(s) => s,
        Err(e) => {
            return Finding::warning(
                format!("Cannot tell how much disk space is free: {e}."),
                "Check it with df -h.",
            );
        }
    };
    let free = stats.f_bavail.saturating_mul(stats.f_frsize);
    let gb = free as f64 / 1e9;
    if free < NO_SPACE {
        Finding::problem(
            format!(
                "Only {:.0} MB of disk space is left for the data folder: posts and messages will soon fail to save.",
                free as f64 / 1e6
            ),
            "Free some space or grow the disk now; see docs/running-a-node.md for how much a node needs.",
        )
    } else if free < LOW_SPACE {
        Finding::warning(
            format!("{gb:.2} GB of disk space is left for the data folder."),
            "Plan more space soon; see docs/running-a-node.md (sizing).",
        )
    } else {
        Finding::ok(format!("{gb:.1} GB of disk space is free."))
    }
}
