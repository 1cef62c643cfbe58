//! What others see: the public address answers as this node, its certificate is valid for
//! a while yet, and each paired node is linked with a clock that agrees.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kindred_protocol::api::{PeerStatus, PeerView};

use super::Finding;
use crate::config::Config;

/// How long each network check may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// A certificate expiring sooner than this is worth a warning.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);
/// Clocks further apart than this misplace messages (the Peers page warns too).
const CLOCK_WARNING_MS: i64 = 60_000;

pub(super) async fn check(config: &Config) -> Vec<Finding> {
    let mut found = Vec::new();
    let tls = match crate::tls::client_config(config.tls.extra_ca_file.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            found.push(Finding::problem(
                format!("Cannot set up TLS to check addresses: {e}."),
                "Check tls.extra_ca_file in the config.",
            ));
            return found;
        }
    };
    // The running node knows its address even when it was given on the command line.
    let dir = config.server.data_dir.clone();
    let status = tokio::task::spawn_blocking(move || {
        crate::node::backup::control::request_status(&dir)
            .ok()
            .flatten()
    })
    .await
    .ok()
    .flatten();
    let own_id = status
        .as_ref()
        .map(|s| s.node_id.clone())
        .or_else(|| own_id(&config.server.data_dir));
    found.extend(public_address(config, status.as_ref(), own_id.as_deref(), &tls).await);
    if let (Some(cert), Some(key)) = (&config.tls.cert_file, &config.tls.key_file) {
        found.push(match crate::tls::server_config(cert, key) {
            Err(e) => Finding::problem(
                format!("The node's certificate cannot be used: {e}."),
                "Point tls.cert_file at the certificate chain (PEM, e.g. Let's Encrypt's fullchain.pem) and tls.key_file at its private key (privkey.pem), both readable by the node's user.",
            ),
            Ok(_) => match crate::tls::certificate_expiry(cert) {
                Ok(at) => expiry_finding(&format!("The certificate in {}", cert.display()), at),
                Err(e) => Finding::problem(
                    format!("{e}."),
                    "Point tls.cert_file at the certificate chain (PEM), e.g. Let's Encrypt's fullchain.pem.",
                ),
            },
        });
    }
    found.extend(peers(config, &tls).await);
    found
}

/// This node's id, from its key file (to recognise it at its public address).
fn own_id(dir: &Path) -> Option<String> {
    let path = dir.join("node.key");
    let text = std::fs::read_to_string(&path).ok()?;
    let keypair = crate::node::key_file::parse(&path, text.trim()).ok()?;
    Some(keypair.node_id().to_string())
}

fn http(tls: &Arc<rustls::ClientConfig>) -> Option<reqwest::Client> {
    reqwest::Client::builder()
        .tls_backend_preconfigured((**tls).clone())
        .timeout(TIMEOUT)
        .build()
        .ok()
}

/// The most of a `/healthz` answer read (bytes): a node's is a few hundred.
const MAX_HEALTH_BYTES: usize = 64 * 1024;

/// `GET <url>/healthz`: the node id it answers with, or why it did not. Reads at most
/// [`MAX_HEALTH_BYTES`] within [`TIMEOUT`], whatever the other end sends.
async fn health(client: &reqwest::Client, url: &str) -> Result<String, String> {
    let ask = async {
        let mut response = client
            .get(format!("{url}/healthz"))
            .send()
            .await
            .map_err(|e| plain_error(&e))?;
        if !response.status().is_success() {
            return Err(format!("it answered {}", response.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| plain_error(&e))? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_HEALTH_BYTES {
                return Err("it did not answer as a Kindred node".to_owned());
            }
        }
        let value: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| "it did not answer as a Kindred node".to_owned())?;
        value["node_id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "it did not answer as a Kindred node".to_owned())
    };
    tokio::time::timeout(TIMEOUT, ask)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} seconds", TIMEOUT.as_secs())))
}

/// The deepest cause of an error ("Connection refused (os error 111)" rather than the
/// chain of wrappers around it), with certificate problems said in plain words.
fn plain_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut deepest = e;
    while let Some(s) = deepest.source() {
        deepest = s;
    }
    let raw = deepest.to_string();
    let lower = raw.to_ascii_lowercase();
    let certificate = |what: &str| format!("its certificate {what}");
    if lower.contains("expired") || lower.contains("verification time") {
        certificate("has expired")
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        certificate("is for another name")
    } else if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        certificate(
            "is not from an authority this server trusts (set tls.extra_ca_file for a private one)",
        )
    } else if lower.contains("caused")
        || lower.contains("causedasendentity")
        || lower.contains("certificate")
    {
        certificate(&format!("cannot be checked ({raw})"))
    } else {
        raw
    }
}

async fn public_address(
    config: &Config,
    status: Option<&crate::node::backup::control::Status>,
    own_id: Option<&str>,
    tls: &Arc<rustls::ClientConfig>,
) -> Vec<Finding> {
    let url = status.map_or_else(|| config.public_url(), |s| s.public_url.clone());
    let url_set = status.map_or(config.node.public_url.is_some(), |s| s.public_url_set);
    let mut found = Vec::new();
    if !url_set {
        found.push(Finding::warning(
            format!("node.public_url is not set, so invite links and other nodes use {url}."),
            "Set node.public_url to the https:// address people reach this node at.",
        ));
    } else if crate::config::url_is_local(&url) {
        found.push(Finding::warning(
            format!("The public address {url} only works on this computer."),
            "Set node.public_url to the address members and other nodes reach this node at.",
        ));
    }
    let Some(client) = http(tls) else {
        return found;
    };
    found.push(match (health(&client, &url).await, own_id) {
        (Ok(id), Some(own)) if id == own => {
            Finding::ok(format!("{url} answers as this node."))
        }
        (Ok(_), Some(_)) => Finding::problem(
            format!("{url} answers as another Kindred node, not this one."),
            "Check node.public_url, and the reverse proxy's upstream address (server.listen).",
        ),
        (Ok(_), None) => Finding::ok(format!("{url} answers as a Kindred node.")),
        (Err(e), _) if e.starts_with("its certificate") => Finding::problem(
            format!("The public address {url} does not check out: {e}."),
            "Renew or replace the certificate served there (the reverse proxy's, or tls.cert_file): it must be valid today, for this name, from a trusted authority.",
        ),
        (Err(e), _) => Finding::problem(
            format!("This server cannot reach its own public address {url}: {e}."),
            "Check the node is running, and the DNS name, firewall and reverse proxy in front of it (docs/running-a-node.md).",
        ),
    });
    if url.starts_with("https://")
        && let Some(at) = served_certificate_expiry(&url).await
    {
        found.push(expiry_finding(
            &format!("The certificate served at {url}"),
            at,
        ));
    }
    found
}

/// The expiry of the certificate a TLS server at `url` presents, when it can be fetched.
async fn served_certificate_expiry(url: &str) -> Option<SystemTime> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_owned();
    let port = parsed.port_or_known_default()?;
    let connect = async {
        let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
            .await
            .ok()?;
        let name = rustls::pki_types::ServerName::try_from(host.clone()).ok()?;
        // Read only, never trusted: an expired or unknown certificate is still read, so its
        // date can be reported.
        let stream = tokio_rustls::TlsConnector::from(read_only_tls())
            .connect(name, tcp)
            .await
            .ok()?;
        let first = stream.get_ref().1.peer_certificates()?.first()?.clone();
        crate::tls::expiry(&first).ok()
    };
    tokio::time::timeout(TIMEOUT, connect).await.ok().flatten()
}

/// TLS settings that accept any certificate: only for reading a served certificate's
/// expiry date; nothing is sent over such a connection.
fn read_only_tls() -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map(|b| {
            b.dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
                .with_no_client_auth()
        });
    match config {
        Ok(c) => Arc::new(c),
        // The ring provider supports the default versions; keep a usable fallback anyway.
        Err(_) => Arc::new(
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        ),
    }
}

/// Accepts every certificate (see [`read_only_tls`]).
#[derive(Debug)]
struct AnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn expiry_finding(what: &str, at: SystemTime) -> Finding {
    let date = jiff::Timestamp::try_from(at)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default();
    match at.duration_since(SystemTime::now()) {
        Err(_) => Finding::problem(
            format!("{what} expired on {date}: members' browsers and other nodes refuse it."),
            "Renew it (certbot renew, or your certificate provider); the node loads a renewed one without a restart.",
        ),
        Ok(left) if left < EXPIRY_WARNING => Finding::warning(
            format!(
                "{what} expires on {date}, in {} day(s).",
                left.as_secs() / 86_400
            ),
            "Renew it now, and check that automatic renewal works.",
        ),
        Ok(_) => Finding::ok(format!("{what} is valid until {date}.")),
    }
}

async fn peers(config: &Config, tls: &Arc<rustls::ClientConfig>) -> Vec<Finding> {
    let dir = config.server.data_dir.clone();
    let asked =
        tokio::task::spawn_blocking(move || crate::node::backup::control::request_peers(&dir))
            .await;
    let views: Vec<PeerView> = match asked {
        Ok(Ok(Some(v))) => v,
        Ok(Ok(None)) => {
            return vec![Finding::problem(
                "The node is not running, so its links to other nodes were not checked.",
                "Start it (systemctl start kindred, or kindred serve) and run kindred doctor again.",
            )];
        }
        Ok(Err(e)) => {
            return vec![Finding::problem(
                format!("The running node did not answer: {}.", plain_error(&e)),
                "Run kindred doctor as the node's user or as root; if it persists, look at the node's log (journalctl -u kindred).",
            )];
        }
        Err(_) => return Vec::new(),
    };
    let client = http(tls);
    let mut found = Vec::new();
    let paired: Vec<&PeerView> = views.iter().filter(|p| p.paired && !p.blocked).collect();
    if paired.is_empty() {
        found.push(Finding::ok(
            "No paired nodes yet (Peers page: pair with another organisation's node).",
        ));
    }
    for p in paired {
        let name = &p.name;
        match p.status() {
            PeerStatus::UpToDate | PeerStatus::CatchingUp(_) => {
                found.push(Finding::ok(format!("Linked with {name}.")));
            }
            PeerStatus::Connecting => {
                found.push(Finding::ok(format!("Connecting to {name}.")));
            }
            PeerStatus::Unreachable { reason, .. } => {
                let from_here = match (&client, &p.address) {
                    (Some(c), Some(address)) => match health(c, address).await {
                        Ok(_) => format!(
                            " ({address} answers from this server, so the link itself fails: see the node's log)"
                        ),
                        Err(e) => {
                            format!(" ({address} does not answer from this server either: {e})")
                        }
                    },
                    _ => String::new(),
                };
                found.push(Finding::problem(
                    format!("Not linked with {name}: {reason}{from_here}."),
                    "Check that the address is right and reachable from this server (DNS, firewall), and ask their admin whether their node is up.",
                ));
            }
            PeerStatus::Blocked => {}
        }
        if let Some(offset) = p.clock_offset_ms
            && offset.abs() > CLOCK_WARNING_MS
        {
            found.push(Finding::warning(
                format!(
                    "{name}'s clock is {} seconds {} this node's.",
                    offset.abs() / 1000,
                    if offset > 0 { "ahead of" } else { "behind" }
                ),
                "Check that both servers keep time (timedatectl: NTP synchronised); ask their admin too.",
            ));
        }
    }
    found
}
