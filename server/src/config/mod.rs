//! The node's configuration: one typed struct with defaults, loaded from a TOML file with
//! `KINDRED_SECTION__KEY` environment overrides. Unknown keys and invalid values are refused
//! at start-up with a message naming the key.

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

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use kindred_protocol::NodeName;
use serde::Deserialize;
use thiserror::Error;

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

/// TLS. With `cert_file` and `key_file` the node serves HTTPS itself (members' browsers,
/// the CLI and other nodes' `wss://` links); without them, put a reverse proxy with TLS in
/// front. Peers at `https://` addresses are always dialled over TLS and their certificates
/// checked against the system's authorities plus `extra_ca_file`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsSection {
    /// The certificate chain (PEM), e.g. Let's Encrypt's `fullchain.pem`.
    pub cert_file: Option<PathBuf>,
    /// Its private key (PEM).
    pub key_file: Option<PathBuf>,
    /// An extra certificate authority (PEM) trusted for peers, for a private network's CA.
    pub extra_ca_file: Option<PathBuf>,
    /// How often to look for a renewed certificate (it is loaded without a restart).
    pub reload_check_seconds: u64,
}

impl Default for TlsSection {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            extra_ca_file: None,
            reload_check_seconds: 60,
        }
    }
}

/// Where members can get help now: shown on every web page and on `/help`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HelpSection {
    /// One sentence above the list, e.g. who to talk to inside the organisation.
    pub intro: String,
    /// Crisis and support lines, most urgent first.
    pub lines: Vec<HelpLine>,
}

/// One support line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelpLine {
    /// Who, e.g. `Samaritans`.
    pub name: String,
    /// How to reach them, e.g. `116 123` or `text SHOUT to 85258`.
    pub contact: String,
    /// When or what for, e.g. `any time, free`.
    #[serde(default)]
    pub note: String,
    /// A `tel:`, `sms:` or `https:` link, if the contact can be opened directly.
    #[serde(default)]
    pub link: Option<String>,
}

impl Default for HelpSection {
    fn default() -> Self {
        // UK defaults, as most member organisations are there; each node sets its own.
        let line = |name: &str, contact: &str, note: &str, link: &str| HelpLine {
            name: name.to_owned(),
            contact: contact.to_owned(),
            note: note.to_owned(),
            link: Some(link.to_owned()),
        };
        Self {
            intro: "If you are struggling or worried about someone, you do not have to wait."
                .to_owned(),
            lines: vec![
                line(
                    "Emergency services",
                    "999",
                    "if a life is at risk now",
                    "tel:999",
                ),
                line(
                    "Samaritans",
                    "116 123",
                    "any time, day or night, free",
                    "tel:116123",
                ),
                line(
                    "Shout",
                    "text SHOUT to 85258",
                    "any time, free text support",
                    "sms:85258",
                ),
                line(
                    "NHS 111",
                    "111",
                    "urgent help that is not an emergency",
                    "tel:111",
                ),
            ],
        }
    }
}

/// Mentoring and buddying.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MentoringSection {
    /// Minutes before an unanswered proposal expires (default two weeks).
    pub proposal_expiry_minutes: u64,
    /// Topics this node adds to the shared vocabulary.
    pub extra_topics: Vec<String>,
}

impl Default for MentoringSection {
    fn default() -> Self {
        Self {
            proposal_expiry_minutes: 14 * 24 * 60,
            extra_topics: Vec::new(),
        }
    }
}

/// Chat between members.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChatSection {
    /// Most people in a group conversation.
    pub max_group_members: usize,
    /// Messages (and reactions, edits) per minute one member may send.
    pub messages_per_minute: u32,
}

impl Default for ChatSection {
    fn default() -> Self {
        Self {
            max_group_members: 12,
            messages_per_minute: 120,
        }
    }
}

/// Who this node is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSection {
    /// The node's federation name, e.g. `chex.example.org`. Member ids end with it.
    pub name: NodeName,
    /// The organisation's name as members and peers see it.
    pub organisation: String,
    /// The address people and peers use to reach this node (used in invite links). When
    /// unset, `http://<listen address>`.
    pub public_url: Option<String>,
    /// The organisation's time zone (an IANA name such as `Europe/London`): dates on pages
    /// and mentoring rhythms follow it, unless a member chooses their own.
    pub time_zone: String,
    /// Whether `name` was chosen (in the file, the environment, on the command line or by
    /// code building a config) rather than left at its default. A node's first start
    /// needs a chosen name: it is in every member id and never changes.
    #[serde(skip)]
    pub name_chosen: bool,
    /// Whether `organisation` was chosen rather than left at its default: a start that
    /// does not choose it keeps the one the node last had.
    #[serde(skip)]
    pub organisation_chosen: bool,
    /// This start accepts a node key other than the one the database was made with (the
    /// admin replaced `node.key` on purpose, for example after it leaked): the command
    /// line's `--key-rotated`, for one start. Never from the file: a key mix-up must not be
    /// accepted by a setting left behind.
    #[serde(skip)]
    pub key_rotated: bool,
}

/// Where the node listens and keeps its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address and port for HTTP (API, web pages, federation links).
    pub listen: SocketAddr,
    /// The data folder: database and node key.
    pub data_dir: PathBuf,
    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` headers are believed, as
    /// addresses (`127.0.0.1`) or ranges (`10.0.0.0/8`). Empty (the default): the client is
    /// always the connecting address, and those headers are ignored.
    #[serde(deserialize_with = "address_ranges")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The one header the trusted proxies set with the client's address:
    /// `x-forwarded-for` (the default; nginx's `proxy_add_x_forwarded_for`, Caddy) or
    /// `forwarded` (RFC 7239). The other is ignored: a client could send it itself.
    pub proxy_header: ProxyHeader,
    /// Start even when the data folder or files in it can be read by other users of the
    /// machine (e.g. a backup group). Off: the node refuses to start and says how to fix it.
    pub allow_shared_data_dir: bool,
}

/// Reads a list of addresses or CIDR ranges; a bare address is a range of one.
fn address_ranges<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ipnet::IpNet>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| {
            let t = t.trim();
            t.parse::<ipnet::IpNet>()
                .or_else(|_| t.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!(
                        "{t:?} is not an address or range (e.g. 127.0.0.1 or 10.0.0.0/8)"
                    ))
                })
        })
        .collect()
}

/// How the node logs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// A tracing `EnvFilter` directive, e.g. `info` or `kindred_server=debug,info`.
    pub filter: String,
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Accounts, sessions and invites.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountsSection {
    /// How long a sign-in lasts, in hours.
    pub session_hours: u64,
    /// How long a member invite stays valid, in hours.
    pub invite_hours: u64,
    /// Shortest password accepted.
    pub min_password_chars: usize,
    /// How long a password-reset link an admin makes stays valid, in hours.
    pub reset_link_hours: u64,
    /// Days between asking for an account's deletion and its erasure, during which an
    /// admin can stop it; 0 erases at once.
    pub deletion_grace_days: u64,
}

/// Size and rate limits for clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsSection {
    /// Largest request body accepted, in bytes.
    pub max_request_bytes: usize,
    /// Requests per minute allowed for one session.
    pub requests_per_minute: u32,
    /// Requests in progress at once from one address (live streams are counted apart).
    pub connections_per_address: u32,
    /// Live streams (browser tabs, CLI watchers) open at once for one session.
    pub streams_per_session: u32,
    /// Live streams open at once from one address.
    pub streams_per_address: u32,
    /// Failed sign-ins allowed for one account from one address in 15 minutes. Never per
    /// account alone: nobody can lock a member out by knowing their username.
    #[serde(alias = "login_failures_per_account")]
    pub login_failures_per_account_address: u32,
    /// Failed sign-ins allowed from one address in 15 minutes, whatever usernames are
    /// tried. Successful sign-ins are not counted.
    #[serde(alias = "login_attempts_per_address")]
    pub login_failures_per_address: u32,
    /// Failed sign-ins allowed from a browser or CLI that signed in as that member before
    /// (its device token), in 15 minutes; others' failures never count against it.
    pub login_failures_per_device: u32,
    /// Live updates queued for one websocket client before it is disconnected as too slow.
    pub stream_queue: usize,
    /// Seconds a client has to send a request's headers; also how long an idle
    /// keep-alive connection is kept. Slower clients are disconnected.
    pub header_seconds: u64,
    /// Seconds a client has to send a request's body; slower ones get 408 `timeout`.
    pub body_seconds: u64,
    /// Most client connections open at once; 0 (the default) derives it from the
    /// process's open-file limit (which the node raises to its hard limit).
    pub max_connections: usize,
    /// Searches running at once; 0 (the default) is half the processor cores (at least
    /// one), so searching never takes every core from other members' pages.
    pub concurrent_searches: usize,
    /// Milliseconds a search waits for its turn before it is refused (`rate_limited`).
    pub search_wait_ms: u64,
    /// Milliseconds of scoring a search may use; then it ranks what it has scored.
    pub search_budget_ms: u64,
}

/// `[search]`: how posts are found.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SearchSection {
    /// The language whose word forms search understands ("grants" finds "grant"): its
    /// Snowball stemmer and, for English, its common words. `none` matches words only as
    /// typed (accents and case aside). Changing it rebuilds the index at the next start.
    pub language: SearchLanguage,
}

/// A language search can stem (Snowball, via `rust-stemmers`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchLanguage {
    /// No stemming.
    None,
    /// English (the default).
    #[default]
    English,
    /// French.
    French,
    /// German.
    German,
    /// Spanish.
    Spanish,
    /// Portuguese.
    Portuguese,
    /// Italian.
    Italian,
    /// Dutch.
    Dutch,
    /// Russian.
    Russian,
    /// Arabic.
    Arabic,
    /// Turkish.
    Turkish,
}

/// Which forwarding header trusted proxies set (`server.proxy_header`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProxyHeader {
    /// `X-Forwarded-For`.
    #[default]
    XForwardedFor,
    /// `Forwarded` (RFC 7239).
    Forwarded,
}

impl Default for NodeSection {
    fn default() -> Self {
        Self {
            name: NodeName::new("localhost").unwrap_or_else(|_| unreachable!("valid literal")),
            organisation: "My organisation".to_owned(),
            public_url: None,
            time_zone: "Europe/London".to_owned(),
            // Code that builds a config chooses its name; `Config::load` says whether a
            // file or the environment did.
            name_chosen: true,
            organisation_chosen: true,
            key_rotated: false,
        }
    }
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7070)),
            data_dir: PathBuf::from("./kindred-data"),
            trusted_proxies: Vec::new(),
            proxy_header: ProxyHeader::default(),
            allow_shared_data_dir: false,
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        Self {
            filter: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

impl Default for AccountsSection {
    fn default() -> Self {
        Self {
            session_hours: 24 * 30,
            invite_hours: 24 * 7,
            min_password_chars: 10,
            reset_link_hours: 24,
            deletion_grace_days: 0,
        }
    }
}

impl Default for LimitsSection {
    fn default() -> Self {
        Self {
            max_request_bytes: 128 * 1024,
            requests_per_minute: 1200,
            connections_per_address: 256,
            streams_per_session: 16,
            streams_per_address: 1024,
            login_failures_per_account_address: 10,
            login_failures_per_address: 100,
            login_failures_per_device: 10,
            stream_queue: 256,
            header_seconds: 10,
            body_seconds: 30,
            max_connections: 0,
            concurrent_searches: 0,
            search_wait_ms: 2_000,
            search_budget_ms: 300,
        }
    }
}

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
fn apply_env(table: &mut toml::Table, var: &str, value: &str) -> Result<(), ConfigError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
