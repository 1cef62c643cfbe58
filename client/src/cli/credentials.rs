//! Where `kindred-cli` keeps session tokens: `$KINDRED_CLI_HOME/credentials.json`, or
//! `<config dir>/kindred/credentials.json`, file mode 0600. One token per node address.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// The saved sessions.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Credentials {
    /// The node used when `--node` is not given (the last one signed in to).
    pub(crate) default_node: Option<String>,
    /// Session tokens by node address.
    pub(crate) sessions: BTreeMap<String, Saved>,
    /// Device tokens by [`device_key`]: kept after signing out, so this computer's next
    /// sign-in is never refused because of someone else's failed attempts.
    #[serde(default)]
    pub(crate) devices: BTreeMap<String, String>,
}

/// Where a member's device token for a node is kept in [`Credentials::devices`].
pub(crate) fn device_key(node: &str, username: &str) -> String {
    format!("{} {node}", username.trim().to_lowercase())
}

/// One saved session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Saved {
    /// The bearer token.
    pub(crate) token: String,
    /// Who it signs in as.
    pub(crate) member: String,
}

fn path() -> anyhow::Result<PathBuf> {
    let dir = match std::env::var_os("KINDRED_CLI_HOME") {
        Some(d) => PathBuf::from(d),
        None => dirs::config_dir()
            .context("cannot find your config folder; set KINDRED_CLI_HOME")?
            .join("kindred"),
    };
    Ok(dir.join("credentials.json"))
}

impl Credentials {
    /// Loads saved sessions (none if the file does not exist yet).
    pub(crate) fn load() -> anyhow::Result<Self> {
        let path = path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| {
                format!("{} is damaged; delete it and sign in again", path.display())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Saves, readable by the user only.
    pub(crate) fn save(&self) -> anyhow::Result<()> {
        let path = path()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let tmp = path.with_extension("json.tmp");
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }
}
