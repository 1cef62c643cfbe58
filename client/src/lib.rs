//! A typed client of a Kindred node's client API (`/api/v1/`), used by `kindred-cli` and by
//! the end-to-end tests. Every method calls one endpoint through its declaration in
//! `kindred_protocol::api::endpoints` (method, path, body and answer types), so a call
//! cannot drift from the node's router; API errors come back as [`ClientError::Api`] with
//! the node's code and message. This file holds the connection and the calling; the calls
//! are grouped by area: `accounts`, `content`, `chat`, `mentoring`, `federation`, `safety`.

mod accounts;
mod chat;
mod content;
mod federation;
mod live;
mod mentoring;
mod safety;

use kindred_protocol::api::endpoints as ep;
use kindred_protocol::api::endpoints::{self, Call, Download};
use kindred_protocol::api::*;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

pub use live::LiveStream;

/// What can go wrong talking to a node.
#[derive(Debug, Error)]
pub enum ClientError {
    /// The node's address is not a valid URL.
    #[error("invalid node address {0:?}")]
    BadUrl(String),
    /// The node could not be reached or the connection failed.
    #[error("cannot reach the node")]
    Http(#[from] reqwest::Error),
    /// The node refused the request.
    #[error("{message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The node's error code.
        code: ErrorCode,
        /// The node's message.
        message: String,
    },
    /// The node answered with something that is not the expected JSON.
    #[error("unexpected answer from the node (HTTP {status}): {body}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// The live stream failed.
    #[error("live stream error")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// The extra certificate authority could not be used.
    #[error("cannot use the certificate authority file: {0}")]
    Tls(String),
    /// This needs a session token and the client has none.
    #[error("not signed in")]
    NotSignedIn,
}

impl ClientError {
    /// The node's error code, if the node refused the request.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// TLS settings as this crate uses them (rustls with the ring provider: the system's
/// certificate authorities, plus an extra one), for other HTTP clients that should check
/// nodes' certificates the same way.
pub fn tls_config(
    extra_ca_pem: Option<&[u8]>,
) -> Result<std::sync::Arc<rustls::ClientConfig>, ClientError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    // The system's authorities are read from disk once per process, not per client.
    static SYSTEM_ROOTS: std::sync::OnceLock<Vec<CertificateDer<'static>>> =
        std::sync::OnceLock::new();
    let system = SYSTEM_ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs);
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped; the node's may still be checkable.
    roots.add_parsable_certificates(system.iter().cloned());
    if let Some(pem) = extra_ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| ClientError::Tls(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| ClientError::Tls(e.to_string()))?;
            added += 1;
        }
        if added == 0 {
            return Err(ClientError::Tls("no PEM certificate in it".to_owned()));
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(std::sync::Arc::new(config))
}

/// A connection to one node, optionally signed in.
#[derive(Clone, Debug)]
pub struct Client {
    /// Shared connection pool.
    http: reqwest::Client,
    /// The node's base address, e.g. `http://127.0.0.1:7070/`.
    base: Url,
    /// The session token, once signed in.
    token: Option<String>,
    /// How the node's certificate is checked (`https://` and `wss://`).
    tls: std::sync::Arc<rustls::ClientConfig>,
}

impl Client {
    /// A client for the node at `base` (e.g. `http://127.0.0.1:7070`); `https://` nodes'
    /// certificates are checked against the system's certificate authorities.
    pub fn new(base: &str) -> Result<Self, ClientError> {
        Self::with_extra_ca(base, None)
    }

    /// Like [`Client::new`], also trusting the certificate authority in `extra_ca_pem` (a
    /// private network's own CA, PEM).
    pub fn with_extra_ca(base: &str, extra_ca_pem: Option<&[u8]>) -> Result<Self, ClientError> {
        let mut text = base.trim().to_owned();
        if !text.ends_with('/') {
            text.push('/');
        }
        let base = Url::parse(&text).map_err(|_| ClientError::BadUrl(base.to_owned()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(ClientError::BadUrl(base.to_string()));
        }
        let tls = tls_config(extra_ca_pem)?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("kindred-client/", env!("CARGO_PKG_VERSION")))
            .tls_backend_preconfigured((*tls).clone())
            .build()?;
        Ok(Self {
            http,
            base,
            token: None,
            tls,
        })
    }

    /// The same client using `token` for requests.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// The session token in use, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The node's base address.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// A URL from path segments under the base (each segment percent-encoded).
    fn url(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ClientError::BadUrl(self.base.to_string()))?;
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        Ok(url)
    }

    fn api(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let mut all = vec!["api", "v1"];
        all.extend_from_slice(segments);
        self.url(&all)
    }

    /// The URL of endpoint `C`, its `{...}` path parameters filled from `params` in order
    /// (each percent-encoded as one path segment).
    fn url_of<C: Call>(&self, params: &[&str]) -> Result<Url, ClientError> {
        let endpoint = C::ENDPOINT;
        debug_assert_eq!(endpoint.parameters(), params.len(), "{}", endpoint.name);
        let mut params = params.iter();
        let segments: Vec<&str> = endpoint
            .path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if s.starts_with('{') {
                    params.next().copied().unwrap_or("")
                } else {
                    s
                }
            })
            .collect();
        self.url(&segments)
    }

    /// Calls endpoint `C` at `params` with `body` (`None`: no body).
    async fn call<C: Call>(
        &self,
        params: &[&str],
        body: Option<&C::Request>,
    ) -> Result<C::Response, ClientError>
    where
        C::Request: Serialize,
        C::Response: DeserializeOwned,
    {
        self.call_at::<C>(self.url_of::<C>(params)?, body).await
    }

    /// Calls endpoint `C` at `url` (its URL with a query added).
    async fn call_at<C: Call>(
        &self,
        url: Url,
        body: Option<&C::Request>,
    ) -> Result<C::Response, ClientError>
    where
        C::Request: Serialize,
        C::Response: DeserializeOwned,
    {
        self.send(method_of(C::ENDPOINT.method), url, body).await
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&B>,
    ) -> Result<T, ClientError> {
        // A write carries an Idempotency-Key, so sending it again after a timeout, a
        // dropped connection or a server error never does it twice: it is tried up to
        // three times, the node answering a repeat with its first answer.
        let key = (method != Method::GET).then(idempotency_key);
        let mut attempt = 0;
        let (status, bytes) = loop {
            attempt += 1;
            let mut req = self.http.request(method.clone(), url.clone());
            if let Some(token) = &self.token {
                req = req.bearer_auth(token);
            }
            if let Some(key) = &key {
                req = req.header("Idempotency-Key", key);
            }
            if let Some(body) = body {
                req = req.json(body);
            }
            let sent = async {
                let resp = req.send().await?;
                let status = resp.status();
                Ok::<_, reqwest::Error>((status, resp.bytes().await?))
            }
            .await;
            let retry = key.is_some()
                && attempt < WRITE_ATTEMPTS
                && match &sent {
                    Err(e) => e.is_timeout() || e.is_connect() || e.is_request() || e.is_body(),
                    Ok((status, _)) => matches!(
                        *status,
                        StatusCode::INTERNAL_SERVER_ERROR
                            | StatusCode::BAD_GATEWAY
                            | StatusCode::GATEWAY_TIMEOUT
                    ),
                };
            if retry {
                tokio::time::sleep(std::time::Duration::from_millis(250 * attempt as u64)).await;
                continue;
            }
            break sent?;
        };
        if status.is_success() {
            let bytes = if status == StatusCode::NO_CONTENT || bytes.is_empty() {
                &b"null"[..]
            } else {
                &bytes[..]
            };
            return serde_json::from_slice(bytes).map_err(|_| ClientError::Unexpected {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
            });
        }
        Err(error_from(status, &bytes))
    }

    /// A download's bytes (a data export's ZIP, a CSV table).
    async fn download<C: Call<Response = Download>>(
        &self,
        params: &[&str],
    ) -> Result<Vec<u8>, ClientError> {
        let mut req = self
            .http
            .request(method_of(C::ENDPOINT.method), self.url_of::<C>(params)?);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(error_from(status, &bytes))
    }

    /// Sends raw bytes to an API path and returns the status and body text. For tests of
    /// bad input and for scripts.
    pub async fn raw(
        &self,
        method: Method,
        segments: &[&str],
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<(u16, String), ClientError> {
        let mut req = self
            .http
            .request(method, self.api(segments)?)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.text().await?))
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.call::<ep::Health>(&[], None).await
    }

    /// Opens the live-update stream.
    pub async fn stream(&self) -> Result<LiveStream, ClientError> {
        let token = self.token.as_deref().ok_or(ClientError::NotSignedIn)?;
        let mut url = self.url_of::<ep::Stream>(&[])?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| ClientError::BadUrl(url.to_string()))?;
        LiveStream::connect(url.as_str(), token, self.tls.clone()).await
    }
}

/// The HTTP method of a declared endpoint.
fn method_of(method: endpoints::Method) -> Method {
    match method {
        endpoints::Method::Get => Method::GET,
        endpoints::Method::Post => Method::POST,
        endpoints::Method::Put => Method::PUT,
        endpoints::Method::Patch => Method::PATCH,
        endpoints::Method::Delete => Method::DELETE,
    }
}

fn page_query(url: &mut Url, before: Option<&str>, limit: Option<usize>) {
    if let Some(b) = before {
        url.query_pairs_mut().append_pair("before", b);
    }
    if let Some(l) = limit {
        url.query_pairs_mut().append_pair("limit", &l.to_string());
    }
}

/// The node's documented error body as a [`ClientError`], or the raw start of whatever
/// else answered.
fn error_from(status: StatusCode, bytes: &[u8]) -> ClientError {
    match serde_json::from_slice::<ApiErrorBody>(bytes) {
        Ok(e) => ClientError::Api {
            status: status.as_u16(),
            code: e.error.code,
            message: e.error.message,
        },
        Err(_) => ClientError::Unexpected {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned(),
        },
    }
}

/// How many times a write is sent at most.
const WRITE_ATTEMPTS: u32 = 3;

/// A fresh Idempotency-Key: 128 random bits, hex (a repeat is what the key is for, so it
/// must never collide with another write's).
fn idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: the time in nanoseconds is unique enough for one client's writes.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = nanos.to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
