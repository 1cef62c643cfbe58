//! `[email]`: the SMTP relay the node sends notifications, digests and address checks
//! through. Off unless `smtp_host` is set; every feature that emails then shows on the
//! website only. See `deploy/email.md`.

use std::path::PathBuf;

use serde::Deserialize;

/// How the connection to the SMTP relay is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which is required (port 587). The default.
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", SMTPS, port 465; RFC 8314).
    Tls,
    /// No encryption: only for a relay on this machine (`localhost`, loopback).
    None,
}

/// The SMTP relay and the node's sending limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmailSection {
    /// The relay's host name; unset (the default) sends no email.
    pub smtp_host: Option<String>,
    /// The relay's port; unset: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    pub smtp_port: Option<u16>,
    /// `starttls` (default), `tls`, or `none` (loopback only).
    pub security: SmtpSecurity,
    /// The account to sign in to the relay with, when it needs one.
    pub username: Option<String>,
    /// Its password (prefer `password_file`, or `KINDRED_EMAIL__PASSWORD`).
    pub password: Option<String>,
    /// A file holding the password (its first line), readable by the node only.
    pub password_file: Option<PathBuf>,
    /// The sender, e.g. `Kindred at Riverside Hub <kindred@riverside.example>`.
    pub from: String,
    /// At most this many emails to one member in an hour (more wait and are merged).
    pub per_member_per_hour: u32,
    /// At most this many emails from the node in an hour (more wait).
    pub per_node_per_hour: u32,
    /// Chat messages and other notifications wait this long (minutes) before they are
    /// emailed, so several become one email and what the member saw on the website in
    /// the meantime is not sent.
    pub batch_minutes: u64,
}

impl Default for EmailSection {
    fn default() -> Self {
        Self {
            smtp_host: None,
            smtp_port: None,
            security: SmtpSecurity::default(),
            username: None,
            password: None,
            password_file: None,
            from: String::new(),
            per_member_per_hour: 6,
            per_node_per_hour: 600,
            batch_minutes: 3,
        }
    }
}

/// Whether `host` names this machine: `localhost` (any case, or a name under it) or a
/// loopback address (`127.0.0.1`, `::1`, with or without brackets).
fn is_loopback_host(host: &str) -> bool {
    let host = host.trim().trim_start_matches('[').trim_end_matches(']');
    let lower = host.to_ascii_lowercase();
    lower == "localhost"
        || lower.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl EmailSection {
    /// Whether the node sends email.
    pub fn enabled(&self) -> bool {
        self.smtp_host.is_some()
    }

    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.security {
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        })
    }

    /// The host to connect to (an IPv6 address without its brackets).
    pub fn host(&self) -> Option<&str> {
        self.smtp_host
            .as_deref()
            .map(|h| h.trim().trim_start_matches('[').trim_end_matches(']'))
    }

    /// What is wrong with the settings, naming the key; `None` when they can be used.
    pub(crate) fn problem(&self) -> Option<String> {
        let host = self.smtp_host.as_deref()?;
        if host.trim().is_empty() {
            return Some("email.smtp_host is empty: remove it to send no email".to_owned());
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return Some(format!(
                "email.from {:?} is not an address: use \"Kindred at Your Organisation <kindred@your-domain.example>\"",
                self.from
            ));
        }
        if self.password.is_some() && self.password_file.is_some() {
            return Some("email.password and email.password_file: set one, not both".to_owned());
        }
        if self.security == SmtpSecurity::None && !is_loopback_host(host) {
            return Some(format!(
                "email.security = \"none\" sends passwords and members' addresses unencrypted: it is only allowed for a relay on this machine, not {host}; use \"starttls\" or \"tls\""
            ));
        }
        if self.per_member_per_hour == 0 || self.per_node_per_hour == 0 {
            return Some(
                "email.per_member_per_hour and email.per_node_per_hour must be greater than 0"
                    .to_owned(),
            );
        }
        if self.batch_minutes > 24 * 60 {
            return Some("email.batch_minutes must be at most 1440 (a day)".to_owned());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unencrypted_relay_must_be_on_this_machine() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.0.0.2",
            "::1",
            "[::1]",
            "mail.localhost",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "smtp.example.org",
            "10.0.0.1",
            "localhost.example.org",
            "::2",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
