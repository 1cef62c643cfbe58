//! The configuration's sections and their defaults: TLS, help lines, mentoring, chat, the
//! node's identity, serving, logging, accounts, limits and search.

use kindred_protocol::NodeName;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;

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
pub(super) fn address_ranges<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<ipnet::IpNet>, D::Error> {
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
    /// Live updates queued for one websocket client; one that falls further behind skips
    /// ahead and is sent `resync` (see `docs/api.md`).
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
