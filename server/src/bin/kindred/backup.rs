//! `kindred backup` and `kindred restore`: progress on a terminal, a plain summary after.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use kindred_server::backup::{self, Progress, Summary};

/// Where the node's data folder is, as `serve` would find it.
#[derive(clap::Args)]
pub(crate) struct Folder {
    /// A TOML config file (its server.data_dir is used).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The data folder (overrides server.data_dir).
    #[arg(long)]
    data: Option<PathBuf>,
}

impl Folder {
    pub(crate) fn resolve(&self) -> anyhow::Result<PathBuf> {
        Ok(self.config()?.server.data_dir)
    }

    /// The node's config, with `--data` applied.
    pub(crate) fn config(&self) -> anyhow::Result<kindred_server::Config> {
        let mut config = kindred_server::Config::load(self.config.as_deref(), std::env::vars())?;
        if let Some(d) = &self.data {
            config.server.data_dir = d.clone();
        }
        Ok(config)
    }
}

#[derive(clap::Args)]
pub(crate) struct BackupArgs {
    /// The backup file to write (e.g. /var/backups/kindred/2026-11-30.kbak).
    file: PathBuf,
    #[command(flatten)]
    folder: Folder,
}

#[derive(clap::Args)]
pub(crate) struct RestoreArgs {
    /// The backup file to restore.
    file: PathBuf,
    /// Only check the file (its checksum, key and every record) and say what it holds;
    /// nothing is written. Safer than restoring a copy to try it: a started copy would
    /// join the federation as the real node.
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    folder: Folder,
}

fn bar() -> ProgressBar {
    // Hidden when stderr is not a terminal (a timer, a script): only the summary shows.
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {percent:>3}%  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn show(bar: &ProgressBar, p: Progress) {
    bar.set_length(p.records_estimate.max(p.records));
    bar.set_position(p.records);
    bar.set_message(format!("{} records, {}", p.records, megabytes(p.bytes)));
}

fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn when(summary: &Summary) -> String {
    when_ms(u64::try_from(summary.header.created_at_ms).unwrap_or(0))
}

fn when_ms(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "an unknown time".to_owned())
}

pub(crate) fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let data = args.folder.resolve()?;
    let started = Instant::now();
    let bar = bar();
    let summary = backup::backup(&data, &args.file, |p| show(&bar, p))
        .with_context(|| format!("backup of {} failed", data.display()))?;
    bar.finish_and_clear();
    say!(
        "Backed up {} ({}) {}: {} records, {} in {:.1} s.",
        summary.header.node_name,
        data.display(),
        if summary.online {
            "while it ran"
        } else {
            "(not running)"
        },
        summary.records,
        megabytes(summary.bytes),
        started.elapsed().as_secs_f64()
    );
    let sidecar = backup::sha256_sidecar(&args.file);
    let folder = args
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    say!("Wrote {}", args.file.display());
    say!(
        "and {} (check it with: cd {} && sha256sum -c {}).",
        sidecar.display(),
        folder.display(),
        sidecar
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    say!("The file holds the node's secret key and members' data: keep it as safe as the server.");
    Ok(())
}

pub(crate) fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    if args.check {
        let bar = bar();
        let summary = backup::check(&args.file, |p| show(&bar, p))
            .with_context(|| format!("{} does not check out", args.file.display()))?;
        bar.finish_and_clear();
        say!(
            "{} is a sound backup of {} (node id {}) as it was at {}: {} records, Kindred {}, schema {}.",
            args.file.display(),
            summary.header.node_name,
            summary.header.node_id,
            when(&summary),
            summary.records,
            summary.header.kindred_version,
            summary.header.schema_version
        );
        return Ok(());
    }
    let data = args.folder.resolve()?;
    let started = Instant::now();
    let bar = bar();
    let summary = backup::restore(&args.file, &data, |p| show(&bar, p))
        .with_context(|| format!("restore of {} failed", args.file.display()))?;
    bar.finish_and_clear();
    say!(
        "Restored {} as it was at {}: {} records into {} in {:.1} s.",
        summary.header.node_name,
        when(&summary),
        summary.records,
        data.display(),
        started.elapsed().as_secs_f64()
    );
    let pending = backup::pending_deletions(&data)?;
    if !pending.is_empty() {
        let list: Vec<String> = pending
            .iter()
            .map(|(username, due)| format!("{username} (due {})", when_ms(*due)))
            .collect();
        say!(
            "Account deletions were waiting in this backup and are waiting again: {}.
             If an admin stopped any of them after the backup, stop it again on the Members page once the node is up.",
            list.join(", ")
        );
    }
    say!(
        "Before you start it: make sure the old node is stopped for good (two nodes with one key split the federation),\n\
         and start it while its paired nodes are up: it first fetches back from them what it wrote after this backup.\n\
         Start it with: kindred serve --data {}",
        data.display()
    );
    Ok(())
}
