//! `kindred doctor`: checks what an admin would otherwise find out from members' complaints
//! (a folder others can read, a full disk, an address nobody can reach, a certificate about
//! to expire, a peer that is down or whose clock is wrong) and says, in plain words, what to
//! do about each.

mod folder;
mod network;

use crate::config::Config;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Fine.
    Ok,
    /// Works, but should be looked at.
    Warning,
    /// Needs fixing.
    Problem,
}

/// One thing checked.
#[derive(Debug, Clone)]
pub struct Finding {
    /// How serious.
    pub level: Level,
    /// What was found, in a sentence.
    pub what: String,
    /// What to do about it (for warnings and problems).
    pub fix: Option<String>,
}

impl Finding {
    pub(crate) fn ok(what: impl Into<String>) -> Self {
        Self {
            level: Level::Ok,
            what: what.into(),
            fix: None,
        }
    }

    pub(crate) fn warning(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }

    pub(crate) fn problem(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            level: Level::Problem,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
}

/// Everything checked, in order.
#[derive(Debug, Default)]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The worst level found.
    pub fn worst(&self) -> Level {
        self.findings
            .iter()
            .map(|f| f.level)
            .max()
            .unwrap_or(Level::Ok)
    }
}

/// Runs every check for the node `config` describes (the config itself was loaded by the
/// caller; loading it is the first check). Network checks time out after a few seconds
/// each.
pub async fn run(config: &Config) -> Report {
    let mut report = Report::default();
    report.findings.extend(folder::check(config));
    report.findings.extend(network::check(config).await);
    report
}
