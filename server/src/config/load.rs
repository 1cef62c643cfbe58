//! Reading the configuration: the file, then `KINDRED_*` environment variables over it,
//! then the checks that stop a node from starting with settings that cannot work.

use super::Config;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Why the configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read config file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TOML (after environment overrides) does not fit the config.
    #[error("invalid configuration{}: {source}", .path.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default())]
    Invalid {
        /// The file, if one was given.
        path: Option<PathBuf>,
        /// What is wrong, naming the key.
        #[source]
        source: Box<toml::de::Error>,
    },
    /// An environment override does not name a config key.
    #[error("environment variable {var} does not name a config key (use KINDRED_SECTION__KEY)")]
    BadEnvKey {
        /// The variable.
        var: String,
    },
    /// A value is out of range.
    #[error("invalid configuration: {0}")]
    Value(String),
}

impl Config {
    /// Loads the config file (if any), applies `KINDRED_*` overrides from `env`, then checks it.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut table = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_owned(),
                    source,
                })?;
                toml::from_str::<toml::Table>(&text).map_err(|e| ConfigError::Invalid {
                    path: Some(p.to_owned()),
                    source: Box::new(e),
                })?
            }
            None => toml::Table::new(),
        };
        for (var, value) in env {
            apply_env(&mut table, &var, &value)?;
        }
        let chosen = |key: &str| table.get("node").and_then(|n| n.get(key)).is_some();
        let (name_chosen, organisation_chosen) = (chosen("name"), chosen("organisation"));
        let mut config =
            Config::deserialize(toml::Value::Table(table)).map_err(|e| ConfigError::Invalid {
                path: path.map(Path::to_owned),
                source: Box::new(e),
            })?;
        config.node.name_chosen = name_chosen;
        config.node.organisation_chosen = organisation_chosen;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if crate::calendar::zone(&self.node.time_zone).is_none() {
            return Err(ConfigError::Value(format!(
                "node.time_zone {:?} is not a time zone: use an IANA name such as \"Europe/London\"",
                self.node.time_zone
            )));
        }
        // Shown on every member's profile at other nodes, which refuse hidden characters.
        if let Err(e) = kindred_protocol::names::name(&self.node.organisation) {
            return Err(ConfigError::Value(format!(
                "node.organisation {:?} cannot be used: {e}",
                self.node.organisation
            )));
        }
        if let Some(problem) = self.email.problem() {
            return Err(ConfigError::Value(problem));
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err(ConfigError::Value(
                "tls.cert_file and tls.key_file go together: set both, or neither".to_owned(),
            ));
        }
        let positive = [
            ("accounts.session_hours", self.accounts.session_hours),
            ("accounts.invite_hours", self.accounts.invite_hours),
            ("accounts.reset_link_hours", self.accounts.reset_link_hours),
            ("tls.reload_check_seconds", self.tls.reload_check_seconds),
            (
                "limits.max_request_bytes",
                self.limits.max_request_bytes as u64,
            ),
            (
                "limits.requests_per_minute",
                u64::from(self.limits.requests_per_minute),
            ),
            (
                "limits.connections_per_address",
                u64::from(self.limits.connections_per_address),
            ),
            (
                "limits.login_failures_per_account_address",
                u64::from(self.limits.login_failures_per_account_address),
            ),
            (
                "limits.login_failures_per_address",
                u64::from(self.limits.login_failures_per_address),
            ),
            (
                "limits.login_failures_per_device",
                u64::from(self.limits.login_failures_per_device),
            ),
            ("limits.stream_queue", self.limits.stream_queue as u64),
            ("limits.header_seconds", self.limits.header_seconds),
            ("limits.body_seconds", self.limits.body_seconds),
            (
                "limits.streams_per_session",
                u64::from(self.limits.streams_per_session),
            ),
            (
                "limits.streams_per_address",
                u64::from(self.limits.streams_per_address),
            ),
            ("limits.search_budget_ms", self.limits.search_budget_ms),
            (
                "federation.profiles_per_node",
                self.federation.profiles_per_node,
            ),
            (
                "federation.hold_bytes_per_node",
                self.federation.hold_bytes_per_node,
            ),
            (
                "federation.gap_bytes_per_origin",
                self.federation.gap_bytes_per_origin,
            ),
            (
                "federation.clock_warning_ms",
                self.federation.clock_warning_ms,
            ),
            (
                "chat.messages_per_minute",
                u64::from(self.chat.messages_per_minute),
            ),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(ConfigError::Value(format!("{key} must be greater than 0")));
        }
        if !(2..=kindred_protocol::limits::MAX_CONVERSATION_MEMBERS)
            .contains(&self.chat.max_group_members)
        {
            return Err(ConfigError::Value(format!(
                "chat.max_group_members must be between 2 and {}",
                kindred_protocol::limits::MAX_CONVERSATION_MEMBERS
            )));
        }
        if self.accounts.min_password_chars < 8 {
            return Err(ConfigError::Value(
                "accounts.min_password_chars must be at least 8".to_owned(),
            ));
        }
        if let Some(url) = &self.node.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Value(format!(
                "node.public_url must start with http:// or https:// (got {url:?})"
            )));
        }
        for line in &self.help.lines {
            if line.name.trim().is_empty() || line.contact.trim().is_empty() {
                return Err(ConfigError::Value(
                    "every help.lines entry needs a name and a contact".to_owned(),
                ));
            }
            if let Some(link) = &line.link
                && !["tel:", "sms:", "https:", "mailto:"]
                    .iter()
                    .any(|scheme| link.starts_with(scheme))
            {
                return Err(ConfigError::Value(format!(
                    "help.lines link for {} must start with tel:, sms:, https: or mailto: (got {link:?})",
                    line.name
                )));
            }
        }
        if self.node.organisation.trim().is_empty() {
            return Err(ConfigError::Value(
                "node.organisation must not be empty".to_owned(),
            ));
        }
        Ok(())
    }

    /// The address people and peers use to reach this node, without a trailing slash.
    /// Whether announced loopback and private-range addresses may be dialled:
    /// `federation.dial_private_addresses`, or, unset, whether this node's own public
    /// address is itself on such a range.
    pub fn dial_private_addresses(&self) -> bool {
        self.federation.dial_private_addresses.unwrap_or_else(|| {
            let own = self.public_url();
            match url::Url::parse(&own)
                .ok()
                .and_then(|u| u.host().map(|h| h.to_owned()))
            {
                Some(url::Host::Ipv4(ip)) => !crate::net::is_public(&ip.into()),
                Some(url::Host::Ipv6(ip)) => !crate::net::is_public(&ip.into()),
                Some(url::Host::Domain(name)) => {
                    name == "localhost" || name.ends_with(".localhost")
                }
                None => false,
            }
        })
    }

    pub fn public_url(&self) -> String {
        match &self.node.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None if self.tls.cert_file.is_some() => format!("https://{}", self.server.listen),
            None => format!("http://{}", self.server.listen),
        }
    }
}

impl Config {
    /// Whether [`Config::public_url`] only works on this computer (a loopback address or
    /// `localhost`): invite links and other nodes could not reach it.
    pub fn public_url_is_local(&self) -> bool {
        url_is_local(&self.public_url())
    }
}

/// Whether `url` only works on this computer (a loopback or unspecified address, or
/// `localhost`).
pub fn url_is_local(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => false,
    }
}

/// Applies `KINDRED_SECTION__KEY=value`; other variables are ignored. The value is read as a
/// TOML value when it is one (numbers, booleans, quoted strings), else as a plain string.
pub(super) fn apply_env(
    table: &mut toml::Table,
    var: &str,
    value: &str,
) -> Result<(), ConfigError> {
    let Some(rest) = var.strip_prefix("KINDRED_") else {
        return Ok(());
    };
    // Only `KINDRED_SECTION__KEY` names config; other KINDRED_ variables belong to other
    // tools (the CLI, tests) and are left alone.
    let Some((section, key)) = rest.split_once("__") else {
        return Ok(());
    };
    let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
    if section.is_empty() || key.is_empty() {
        return Err(ConfigError::BadEnvKey {
            var: var.to_owned(),
        });
    }
    let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    let entry = table
        .entry(section)
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    match entry {
        toml::Value::Table(t) => {
            t.insert(key, parsed);
            Ok(())
        }
        _ => Err(ConfigError::BadEnvKey {
            var: var.to_owned(),
        }),
    }
}
