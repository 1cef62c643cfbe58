//! `kindred doctor`: every check, one line each, with what to do; exit code 1 when
//! something needs fixing.

use std::path::PathBuf;

use kindred_server::doctor::{self, Level};

#[derive(clap::Args)]
pub(crate) struct DoctorArgs {
    /// The node's TOML config file (as given to kindred serve).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// The data folder (overrides server.data_dir).
    #[arg(long)]
    data: Option<PathBuf>,
}

/// Runs the checks; `Ok(false)` when a problem was found.
pub(crate) fn doctor(args: DoctorArgs) -> anyhow::Result<bool> {
    let mut config = match kindred_server::Config::load(args.config.as_deref(), std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            say!(
                "PROBLEM  The config cannot be used: {:#}.",
                anyhow::Error::from(e)
            );
            say!("         -> Fix it (deploy/kindred.example.toml explains every setting).");
            return Ok(false);
        }
    };
    if let Some(data) = args.data {
        config.server.data_dir = data;
    }
    say!(
        "Checking the node in {}{}\n",
        config.server.data_dir.display(),
        args.config
            .as_ref()
            .map(|c| format!(" (config {})", c.display()))
            .unwrap_or_default()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(doctor::run(&config));
    let (mut problems, mut warnings) = (0, 0);
    for f in &report.findings {
        let label = match f.level {
            Level::Ok => "ok     ",
            Level::Warning => {
                warnings += 1;
                "WARNING"
            }
            Level::Problem => {
                problems += 1;
                "PROBLEM"
            }
        };
        say!("{label}  {}", f.what);
        if let Some(fix) = &f.fix {
            say!("         -> {fix}");
        }
    }
    say!();
    match (problems, warnings) {
        (0, 0) => say!("All good."),
        (0, w) => say!("No problems; {w} warning(s) to look at."),
        (p, w) => say!("{p} problem(s) to fix, {w} warning(s)."),
    }
    Ok(report.worst() < Level::Problem)
}
