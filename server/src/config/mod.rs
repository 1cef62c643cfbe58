//! The node's configuration: one typed struct with defaults, loaded from a TOML file with
//! `KINDRED_SECTION__KEY` environment overrides. Unknown keys and invalid values are refused
//! at start-up with a message naming the key.

mod load;
mod sections;

pub use load::*;
pub use sections::*;
mod email;
mod federation;
mod metrics;
mod moderation;
mod privacy;
mod storage;

pub use email::{EmailSection, SmtpSecurity};
pub use federation::FederationSection;
pub use metrics::MetricsSection;
pub use moderation::ModerationSection;
pub use privacy::{PrivacySection, RetentionSection};
pub use storage::{StorageEngine, StorageSection};

use serde::Deserialize;

/// Everything a node can be configured with. See `deploy/kindred.example.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Who this node is.
    pub node: NodeSection,
    /// Where it listens and keeps its data.
    pub server: ServerSection,
    /// Logging.
    pub log: LogSection,
    /// Accounts, sessions and invites.
    pub accounts: AccountsSection,
    /// Size and rate limits.
    pub limits: LimitsSection,
    /// Chat between members.
    pub chat: ChatSection,
    /// Mentoring and buddying.
    pub mentoring: MentoringSection,
    /// The help and crisis banner on every web page.
    pub help: HelpSection,
    /// Encryption in transit: serving HTTPS, and trusting peers' certificates.
    pub tls: TlsSection,
    /// What this node holds for and trusts of other nodes.
    pub federation: FederationSection,
    /// `[search]`
    pub search: SearchSection,
    /// `[metrics]`: Prometheus metrics on their own address.
    pub metrics: MetricsSection,
    /// `[privacy]`: the data controller and safeguarding lead, for the privacy page.
    pub privacy: PrivacySection,
    /// `[retention]`: how long chat messages and check-ins are kept.
    pub retention: RetentionSection,
    /// `[storage]`: the storage engine and the low-space warning.
    pub storage: StorageSection,
    /// `[email]`: the SMTP relay for notifications and digests (off by default).
    pub email: EmailSection,
    /// `[moderation]`: hiding by reports, the suspension ladder, community guidelines.
    pub moderation: ModerationSection,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_are_the_embedded_quick_start() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:7070");
        assert_eq!(c.server.data_dir, PathBuf::from("./kindred-data"));
        assert_eq!(c.public_url(), "http://127.0.0.1:7070");
        assert!(c.public_url_is_local());
        // No name was chosen: a first start asks for one rather than using "localhost".
        assert!(!c.node.name_chosen);
        let named = Config::load(None, env(&[("KINDRED_NODE__NAME", "chex.example.org")])).unwrap();
        assert!(named.node.name_chosen);
        let public = Config::load(
            None,
            env(&[("KINDRED_NODE__PUBLIC_URL", "https://kindred.example.org")]),
        )
        .unwrap();
        assert!(!public.public_url_is_local());
    }

    #[test]
    fn file_then_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.toml");
        std::fs::write(
            &path,
            "[node]\nname = \"chex.example.org\"\n[server]\nlisten = \"127.0.0.1:8000\"\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&path),
            env(&[
                ("KINDRED_SERVER__LISTEN", "127.0.0.1:9000"),
                ("KINDRED_LIMITS__STREAM_QUEUE", "10"),
                ("HOME", "/root"),
            ]),
        )
        .unwrap();
        assert_eq!(c.node.name.as_str(), "chex.example.org");
        assert_eq!(c.server.listen.port(), 9000);
        assert_eq!(c.limits.stream_queue, 10);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_clearly() {
        let err = Config::load(None, env(&[("KINDRED_SERVER__LISTN", "x")])).unwrap_err();
        assert!(err.to_string().contains("listn"), "{err}");
        let err = Config::load(None, env(&[("KINDRED_NODE__NAME", "Not A Name")])).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
        let err = Config::load(None, env(&[("KINDRED_LIMITS__STREAM_QUEUE", "0")])).unwrap_err();
        assert!(err.to_string().contains("stream_queue"), "{err}");
        assert!(Config::load(None, env(&[("KINDRED_CLI_HOME", "/x")])).is_ok());
        assert!(Config::load(None, env(&[("KINDRED_SERVR__LISTEN", "x")])).is_err());
    }

    #[test]
    fn tls_needs_both_files_and_then_defaults_to_https() {
        let err = Config::load(None, env(&[("KINDRED_TLS__CERT_FILE", "/etc/c.pem")])).unwrap_err();
        assert!(err.to_string().contains("tls.key_file"), "{err}");
        let config = Config::load(
            None,
            env(&[
                ("KINDRED_TLS__CERT_FILE", "/etc/c.pem"),
                ("KINDRED_TLS__KEY_FILE", "/etc/k.pem"),
            ]),
        )
        .unwrap();
        assert_eq!(config.public_url(), "https://127.0.0.1:7070");
    }

    #[test]
    fn the_example_file_loads_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/kindred.example.toml");
        let config = Config::load(Some(&path), env(&[])).unwrap();
        let defaults = Config::default();
        assert_eq!(config.help.lines, defaults.help.lines);
        assert_eq!(config.help.intro, defaults.help.intro);
        assert_eq!(
            config.chat.max_group_members,
            defaults.chat.max_group_members
        );
        assert_eq!(
            config.mentoring.proposal_expiry_minutes,
            defaults.mentoring.proposal_expiry_minutes
        );
    }

    #[test]
    fn help_links_must_be_openable_and_safe() {
        let mut config = Config::default();
        config.help.lines[0].link = Some("javascript:alert(1)".to_owned());
        let err = config.validate().unwrap_err();
        assert!(err.to_string().contains("help.lines"), "{err}");
    }
}
