//! `kindred storage check` and `kindred storage migrate`: the database of a stopped node.

use kindred_server::config::StorageEngine;
use kindred_server::storage;

use crate::backup::Folder;

#[derive(clap::Subcommand)]
pub(crate) enum StorageCommand {
    /// Check every stored record, event signature and index of a stopped node (exit code 1
    /// when something is damaged).
    Check {
        /// Rebuild the indexes when they are all that is damaged, accept a log that lost
        /// its newest writes (the node fetches back from peers what it had sent), and go
        /// past a damaged, missing or foreign journal (losing the writes since the last
        /// checkpoint, about a second's).
        #[arg(long)]
        repair: bool,
        #[command(flatten)]
        folder: Folder,
    },
    /// Move a stopped node's database to another storage engine, checking the copy before
    /// it replaces the original (which is kept beside it).
    Migrate {
        /// The engine to move to: redb or sled.
        #[arg(long)]
        to: StorageEngine,
        #[command(flatten)]
        folder: Folder,
    },
}

/// Runs the command; `Ok(false)` when a check found damage it did not repair.
pub(crate) fn run(command: StorageCommand) -> anyhow::Result<bool> {
    match command {
        StorageCommand::Check { repair, folder } => {
            let dir = folder.resolve()?;
            say!("Checking the database in {} ...", dir.display());
            let summary = storage::check(&dir, repair)?;
            for line in &summary.lines {
                say!("  {line}");
            }
            if summary.healthy {
                say!("All good.");
                return Ok(true);
            }
            if summary.repaired {
                say!("Repaired (see above). Start the node again.");
                return Ok(true);
            }
            if summary.repairable {
                say!(
                    "No stored record is damaged: run this again with --repair to mend what is listed above."
                );
            } else {
                say!(
                    "Stored records are damaged. Restore the latest backup into a new folder \
                     (kindred restore); events this node had from its peers come back from them."
                );
            }
            Ok(false)
        }
        StorageCommand::Migrate { to, folder } => {
            let dir = folder.resolve()?;
            say!("Moving the database in {} to {to} ...", dir.display());
            let done = storage::migrate(&dir, to)?;
            let to = done.to;
            if done.resumed {
                say!(
                    "Done: finished the move from {} to {to} that had been interrupted (its copy was checked record by record before; {} now).",
                    done.from,
                    size(done.bytes_after)
                );
            } else {
                say!(
                    "Done: moved from {} to {to} and checked record by record ({} before, {} after).",
                    done.from,
                    size(done.bytes_before),
                    size(done.bytes_after)
                );
            }
            say!(
                "The old database is kept in {}; remove it once the node runs well.",
                done.kept.display()
            );
            say!("Set storage.engine = \"{to}\" in the config so new folders use it too.");
            Ok(true)
        }
    }
}

/// Bytes as an admin reads them.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 10_000_000 => format!("{} MB", b / 1_000_000),
        b => format!("{} KB", b.div_ceil(1000)),
    }
}
