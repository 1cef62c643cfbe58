//! A typed client of a Kindred node's client API (`/api/v1/`), used by `kindred-cli` and by
//! the end-to-end tests. Every method maps one endpoint; API errors come back as
//! [`ClientError::Api`] with the node's code and message.

mod live;

use kindred_protocol::EventId;
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

    /// `GET /api/v1/mentoring/dashboard.csv`: the coordinator's counts as CSV (coordinators).
    pub async fn dashboard_csv(&self) -> Result<String, ClientError> {
        let bytes = self.download::<ep::DashboardCsv>(&[]).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
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

    /// `GET /api/v1/me/export`: everything the node holds about the signed-in member, as a
    /// ZIP (`kindred-export.json` and a readable `index.html`).
    pub async fn export_me(&self) -> Result<Vec<u8>, ClientError> {
        self.download::<ep::ExportMe>(&[]).await
    }

    /// `GET /api/v1/members/{username}/export`: a member's data export (admins, for a
    /// subject-access request).
    pub async fn export_member(&self, username: &str) -> Result<Vec<u8>, ClientError> {
        self.download::<ep::ExportMember>(&[username]).await
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

    /// Creates the first admin with the set-up token; returns a signed-in client.
    pub async fn setup(&self, req: &SetupRequest) -> Result<(Client, SessionCreated), ClientError> {
        let s: SessionCreated = self.call::<ep::Setup>(&[], Some(req)).await?;
        Ok((self.clone().with_token(s.token.clone()), s))
    }

    /// Signs in; returns a signed-in client.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Client, SessionCreated), ClientError> {
        self.login_on_device(username, password, None).await
    }

    /// Signs in from a device that signed in as this member before: `device` is
    /// [`SessionCreated::device`] from that time. Others' failed attempts never refuse it.
    pub async fn login_on_device(
        &self,
        username: &str,
        password: &str,
        device: Option<&str>,
    ) -> Result<(Client, SessionCreated), ClientError> {
        let req = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device: device.map(str::to_owned),
        };
        let s: SessionCreated = self.call::<ep::Login>(&[], Some(&req)).await?;
        Ok((self.clone().with_token(s.token.clone()), s))
    }

    /// Creates an account from an invite code; returns a signed-in client.
    pub async fn redeem_invite(
        &self,
        req: &RedeemInviteRequest,
    ) -> Result<(Client, SessionCreated), ClientError> {
        let s: SessionCreated = self.call::<ep::RedeemInvite>(&[], Some(req)).await?;
        Ok((self.clone().with_token(s.token.clone()), s))
    }

    /// Signs out (revokes this session).
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.call::<ep::Logout>(&[], None).await
    }

    /// The signed-in member's sessions.
    pub async fn sessions(&self) -> Result<Vec<SessionView>, ClientError> {
        self.call::<ep::Sessions>(&[], None).await
    }

    /// Revokes one of the member's sessions.
    pub async fn revoke_session(&self, id: &str) -> Result<(), ClientError> {
        self.call::<ep::RevokeSession>(&[id], None).await
    }

    /// Who is signed in.
    pub async fn me(&self) -> Result<MemberView, ClientError> {
        self.call::<ep::Me>(&[], None).await
    }

    /// Changes the member's display name.
    pub async fn update_me(&self, req: &UpdateMe) -> Result<MemberView, ClientError> {
        self.call::<ep::UpdateMe>(&[], Some(req)).await
    }

    /// The member's notifications, newest first; `before` (a `seq`) for older ones.
    pub async fn notifications(
        &self,
        before: Option<u64>,
    ) -> Result<NotificationList, ClientError> {
        let mut url = self.url_of::<ep::Notifications>(&[])?;
        if let Some(before) = before {
            url.query_pairs_mut()
                .append_pair("before", &before.to_string());
        }
        self.call_at::<ep::Notifications>(url, None).await
    }

    /// Marks notifications up to `up_to` (a `seq`) as seen.
    pub async fn mark_notifications_read(&self, up_to: u64) -> Result<(), ClientError> {
        self.call::<ep::MarkNotificationsRead>(&[], Some(&MarkNotificationsRead { up_to }))
            .await
    }

    /// `POST /api/v1/reports`: reports a post, reply, chat message or person to the
    /// moderators.
    pub async fn report(&self, req: &ReportRequest) -> Result<ReportFiled, ClientError> {
        self.call::<ep::Report>(&[], Some(req)).await
    }

    /// `GET /api/v1/moderation/queue` (moderators and admins).
    pub async fn moderation_queue(&self) -> Result<ModerationQueue, ClientError> {
        self.call::<ep::ModerationQueue>(&[], None).await
    }

    /// `POST /api/v1/moderation/actions` (moderators and admins).
    pub async fn moderate(&self, req: &ModerationRequest) -> Result<ModerationDone, ClientError> {
        self.call::<ep::Moderate>(&[], Some(req)).await
    }

    /// `GET /api/v1/moderation/audit` (admins), newest first.
    pub async fn moderation_audit(&self, before: Option<u64>) -> Result<AuditLog, ClientError> {
        let mut url = self.url_of::<ep::AuditLog>(&[])?;
        if let Some(before) = before {
            url.query_pairs_mut()
                .append_pair("before", &before.to_string());
        }
        self.call_at::<ep::AuditLog>(url, None).await
    }

    /// `GET /api/v1/moderation/audit.csv` (admins): the whole log as CSV.
    pub async fn moderation_audit_csv(&self) -> Result<String, ClientError> {
        let bytes = self.download::<ep::AuditCsv>(&[]).await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// `GET /api/v1/me/standing`: the member's warnings, pause or suspension.
    pub async fn standing(&self) -> Result<Standing, ClientError> {
        self.call::<ep::Standing>(&[], None).await
    }

    /// `POST /api/v1/safeguarding/referrals`: raise a safeguarding concern.
    pub async fn refer(&self, req: &NewReferral) -> Result<ReferralView, ClientError> {
        self.call::<ep::Refer>(&[], Some(req)).await
    }

    /// `GET /api/v1/safeguarding/referrals`.
    pub async fn referrals(&self) -> Result<Vec<ReferralView>, ClientError> {
        self.call::<ep::Referrals>(&[], None).await
    }

    /// `POST /api/v1/safeguarding/referrals/{id}/acknowledge` (safeguarding leads).
    pub async fn acknowledge_referral(&self, id: u64) -> Result<ReferralView, ClientError> {
        self.call::<ep::AcknowledgeReferral>(&[&id.to_string()], None)
            .await
    }

    /// `GET /api/v1/me/safety`: muted words and topics, and a break.
    pub async fn safety(&self) -> Result<SafetySettings, ClientError> {
        self.call::<ep::Safety>(&[], None).await
    }

    /// `PUT /api/v1/me/safety`.
    pub async fn update_safety(&self, req: &UpdateSafety) -> Result<SafetySettings, ClientError> {
        self.call::<ep::UpdateSafety>(&[], Some(req)).await
    }

    /// `POST /api/v1/me/appeal`: asks for the latest decision to be reviewed (once).
    pub async fn appeal(&self, note: &str) -> Result<(), ClientError> {
        self.call::<ep::Appeal>(
            &[],
            Some(&AppealRequest {
                note: note.to_owned(),
            }),
        )
        .await
    }

    /// `POST /api/v1/appeal`: a suspended member's appeal, with their credentials.
    pub async fn appeal_signed_out(&self, req: &SignedOutAppeal) -> Result<(), ClientError> {
        self.call::<ep::AppealSignedOut>(&[], Some(req)).await
    }

    /// The member's email address and choices.
    pub async fn email_settings(&self) -> Result<EmailSettings, ClientError> {
        self.call::<ep::EmailSettings>(&[], None).await
    }

    /// Changes the member's email settings (a new address is sent a confirmation link).
    pub async fn update_email_settings(
        &self,
        req: &UpdateEmailSettings,
    ) -> Result<EmailSettings, ClientError> {
        self.call::<ep::UpdateEmailSettings>(&[], Some(req)).await
    }

    /// Changes the member's password.
    pub async fn change_password(&self, req: &ChangePassword) -> Result<(), ClientError> {
        self.call::<ep::ChangePassword>(&[], Some(req)).await
    }

    /// Creates a member invite (admins).
    pub async fn create_invite(&self, req: &CreateInvite) -> Result<InviteCreated, ClientError> {
        self.call::<ep::CreateInvite>(&[], Some(req)).await
    }

    /// Lists invites (admins).
    pub async fn invites(&self) -> Result<Vec<InviteView>, ClientError> {
        self.call::<ep::Invites>(&[], None).await
    }

    /// Revokes an invite (admins).
    pub async fn revoke_invite(&self, id: &str) -> Result<(), ClientError> {
        self.call::<ep::RevokeInvite>(&[id], None).await
    }

    /// Lists members (admins).
    pub async fn members(&self) -> Result<Vec<MemberView>, ClientError> {
        self.call::<ep::Members>(&[], None).await
    }

    /// Changes a member's role or suspension (admins).
    pub async fn update_member(
        &self,
        username: &str,
        req: &UpdateMember,
    ) -> Result<MemberView, ClientError> {
        self.call::<ep::UpdateMember>(&[username], Some(req)).await
    }

    /// Makes a single-use password-reset link for a member (admins); a new one replaces
    /// the last.
    pub async fn reset_link(&self, username: &str) -> Result<ResetLinkCreated, ClientError> {
        self.call::<ep::ResetLink>(&[username], None::<&()>).await
    }

    /// Deletes the signed-in member's own account (password and username typed again):
    /// erased now, or after the node's grace period.
    pub async fn delete_me(&self, req: &DeleteAccount) -> Result<AccountDeletion, ClientError> {
        self.call::<ep::DeleteMe>(&[], Some(req)).await
    }

    /// Deletes a member's account (admins; username typed again).
    pub async fn delete_member(
        &self,
        username: &str,
        req: &DeleteMember,
    ) -> Result<AccountDeletion, ClientError> {
        self.call::<ep::DeleteMember>(&[username], Some(req)).await
    }

    /// Stops a member's scheduled deletion during the grace period (admins).
    pub async fn stop_deletion(&self, username: &str) -> Result<(), ClientError> {
        self.call::<ep::StopDeletion>(&[username], None::<&()>)
            .await
    }

    /// Sets a new password with a reset link's token (no sign-in needed); every session of
    /// the member ends.
    pub async fn reset_password(&self, req: &ResetPassword) -> Result<(), ClientError> {
        self.call::<ep::ResetPassword>(&[], Some(req)).await
    }

    /// Topics with counts.
    pub async fn topics(&self) -> Result<Vec<TopicView>, ClientError> {
        self.call::<ep::Topics>(&[], None).await
    }

    /// Creates a topic (moderators and admins).
    pub async fn create_topic(&self, req: &CreateTopic) -> Result<TopicView, ClientError> {
        self.call::<ep::CreateTopic>(&[], Some(req)).await
    }

    /// Changes a topic (moderators and admins).
    pub async fn update_topic(
        &self,
        name: &str,
        req: &UpdateTopic,
    ) -> Result<TopicView, ClientError> {
        self.call::<ep::UpdateTopic>(&[name], Some(req)).await
    }

    /// A page of a topic's posts, newest first.
    pub async fn topic_posts(
        &self,
        topic: &str,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<PostView>, ClientError> {
        let mut url = self.url_of::<ep::TopicPosts>(&[topic])?;
        page_query(&mut url, before, limit);
        self.call_at::<ep::TopicPosts>(url, None).await
    }

    /// Writes a post.
    pub async fn create_post(&self, topic: &str, req: &NewPost) -> Result<PostView, ClientError> {
        self.call::<ep::CreatePost>(&[topic], Some(req)).await
    }

    /// A post and the first page of its replies (oldest first; `next_cursor` says if
    /// there are more).
    pub async fn thread(&self, id: &EventId) -> Result<ThreadView, ClientError> {
        self.thread_page(id, None, None).await
    }

    /// A post and a page of its replies: `after` is a previous page's `next_cursor`;
    /// `limit` 1-100 (default 50).
    pub async fn thread_page(
        &self,
        id: &EventId,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<ThreadView, ClientError> {
        let mut url = self.url_of::<ep::Thread>(&[&id.to_hex()])?;
        if let Some(a) = after {
            url.query_pairs_mut().append_pair("after", a);
        }
        if let Some(l) = limit {
            url.query_pairs_mut().append_pair("limit", &l.to_string());
        }
        self.call_at::<ep::Thread>(url, None).await
    }

    /// The full id of the post or reply whose id starts with `short` (8 to 64 hex
    /// characters, as git takes short commit ids). Errors: `not_found` when none you can
    /// see does, `conflict` when more than one does.
    pub async fn post_id(&self, short: &str) -> Result<EventId, ClientError> {
        let found: kindred_protocol::api::PostIdView =
            self.call::<ep::PostId>(&[short], None).await?;
        Ok(found.id)
    }

    /// One person's profile as you see it (`@name:node`).
    pub async fn person(
        &self,
        member: &kindred_protocol::MemberId,
    ) -> Result<kindred_protocol::api::ProfileView, ClientError> {
        self.call::<ep::Person>(&[member.as_str()], None).await
    }

    /// Replies in a post's thread.
    pub async fn reply(&self, post: &EventId, req: &NewReply) -> Result<PostView, ClientError> {
        self.call::<ep::Reply>(&[&post.to_hex()], Some(req)).await
    }

    /// Edits one's own post or reply.
    pub async fn edit(&self, id: &EventId, req: &EditPost) -> Result<PostView, ClientError> {
        self.call::<ep::EditPost>(&[&id.to_hex()], Some(req)).await
    }

    /// Retracts a post or reply.
    pub async fn retract(&self, id: &EventId, reason: Option<String>) -> Result<(), ClientError> {
        self.call::<ep::RetractPost>(&[&id.to_hex()], Some(&Retract { reason }))
            .await
    }

    /// Adds a reaction.
    pub async fn react(
        &self,
        id: &EventId,
        reaction: &str,
    ) -> Result<Vec<ReactionCount>, ClientError> {
        let req = React {
            reaction: reaction.to_owned(),
        };
        self.call::<ep::React>(&[&id.to_hex()], Some(&req)).await
    }

    /// Removes a reaction.
    pub async fn unreact(
        &self,
        id: &EventId,
        reaction: &str,
    ) -> Result<Vec<ReactionCount>, ClientError> {
        self.call::<ep::Unreact>(&[&id.to_hex(), reaction], None)
            .await
    }

    /// A member's posts and replies, newest first (`member`: username or `@name:node`).
    pub async fn member_posts(
        &self,
        member: &str,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<PostView>, ClientError> {
        let mut url = self.url_of::<ep::MemberPosts>(&[member])?;
        page_query(&mut url, before, limit);
        self.call_at::<ep::MemberPosts>(url, None).await
    }

    /// Searches titles, bodies and tags.
    pub async fn search(
        &self,
        query: &str,
        limit: Option<usize>,
    ) -> Result<Vec<SearchHit>, ClientError> {
        let mut url = self.url_of::<ep::Search>(&[])?;
        url.query_pairs_mut().append_pair("q", query);
        if let Some(l) = limit {
            url.query_pairs_mut().append_pair("limit", &l.to_string());
        }
        self.call_at::<ep::Search>(url, None).await
    }

    /// Creates a federation invite for another organisation's admin (admins).
    pub async fn create_peer_invite(&self) -> Result<PeerInviteCreated, ClientError> {
        self.call::<ep::CreatePeerInvite>(&[], None).await
    }

    /// Redeems another node's federation invite (admins); returns the new peer.
    pub async fn add_peer(&self, token: &str) -> Result<PeerView, ClientError> {
        let req = AddPeer {
            token: token.to_owned(),
        };
        self.call::<ep::AddPeer>(&[], Some(&req)).await
    }

    /// Paired and blocked nodes with link status (admins).
    pub async fn peers(&self) -> Result<Vec<PeerView>, ClientError> {
        self.call::<ep::Peers>(&[], None).await
    }

    /// What the admin should know about the federation: forks, name claims, clocks
    /// (admins).
    pub async fn federation_warnings(&self) -> Result<Vec<FederationWarning>, ClientError> {
        self.call::<ep::FederationWarnings>(&[], None).await
    }

    /// Blocks (defederates) a node (admins).
    pub async fn block_peer(&self, node: &kindred_protocol::NodeId) -> Result<(), ClientError> {
        self.block_peer_named(&node.to_hex()).await
    }

    /// Blocks a node given by its id or by the name the node knows it by (admins): also
    /// a node known only through the federation.
    pub async fn block_peer_named(&self, node: &str) -> Result<(), ClientError> {
        self.call::<ep::BlockPeer>(&[node], None).await
    }

    /// Sets what this node does with another node's shared moderation decisions (admins);
    /// the node by its id or name.
    pub async fn set_peer_decisions(
        &self,
        node: &str,
        policy: DecisionPolicy,
    ) -> Result<SetDecisionPolicy, ClientError> {
        self.call::<ep::SetDecisionPolicy>(&[node], Some(&SetDecisionPolicy { policy }))
            .await
    }

    /// Lifts a block on a node given by its id or name (admins).
    pub async fn unblock_peer_named(&self, node: &str) -> Result<(), ClientError> {
        self.call::<ep::UnblockPeer>(&[node], None).await
    }

    /// Lifts a block (admins).
    pub async fn unblock_peer(&self, node: &kindred_protocol::NodeId) -> Result<(), ClientError> {
        self.call::<ep::UnblockPeer>(&[&node.to_hex()], None).await
    }

    /// Sends a private message.
    pub async fn send_message(
        &self,
        to: &kindred_protocol::MemberId,
        body: &str,
    ) -> Result<MessageView, ClientError> {
        let req = SendMessage {
            to: to.clone(),
            body: body.to_owned(),
        };
        self.call::<ep::SendMessage>(&[], Some(&req)).await
    }

    /// The one-to-one conversation with `with`, oldest first.
    pub async fn messages(
        &self,
        with: &kindred_protocol::MemberId,
    ) -> Result<Vec<MessageView>, ClientError> {
        let mut url = self.url_of::<ep::Messages>(&[])?;
        url.query_pairs_mut().append_pair("with", with.as_str());
        self.call_at::<ep::Messages>(url, None).await
    }

    /// The first page of the people directory (members across the federation who chose
    /// to be listed) matching `query`, by name.
    pub async fn people(&self, query: Option<&str>) -> Result<Vec<PersonView>, ClientError> {
        Ok(self.people_page(query, None, None).await?.items)
    }

    /// A page of the people directory: `after` is a previous page's `next_cursor`;
    /// `limit` 1-100 (default 50).
    pub async fn people_page(
        &self,
        query: Option<&str>,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<PersonView>, ClientError> {
        let mut url = self.url_of::<ep::People>(&[])?;
        if let Some(q) = query {
            url.query_pairs_mut().append_pair("q", q);
        }
        if let Some(a) = after {
            url.query_pairs_mut().append_pair("after", a);
        }
        if let Some(l) = limit {
            url.query_pairs_mut().append_pair("limit", &l.to_string());
        }
        self.call_at::<ep::People>(url, None).await
    }

    /// The member's conversations, most recently active first.
    pub async fn conversations(&self) -> Result<Vec<ConversationView>, ClientError> {
        self.call::<ep::Conversations>(&[], None).await
    }

    /// Starts a conversation (one person and no name: one-to-one; else a group).
    pub async fn create_conversation(
        &self,
        req: &CreateConversation,
    ) -> Result<ConversationView, ClientError> {
        self.call::<ep::CreateConversation>(&[], Some(req)).await
    }

    /// One conversation.
    pub async fn conversation(
        &self,
        id: &kindred_protocol::event::ConversationId,
    ) -> Result<ConversationView, ClientError> {
        self.call::<ep::Conversation>(&[&id.to_hex()], None).await
    }

    /// Renames a group or mutes a conversation.
    pub async fn update_conversation(
        &self,
        id: &kindred_protocol::event::ConversationId,
        req: &UpdateConversation,
    ) -> Result<ConversationView, ClientError> {
        self.call::<ep::UpdateConversation>(&[&id.to_hex()], Some(req))
            .await
    }

    /// A page of a conversation's messages, newest first.
    pub async fn history(
        &self,
        id: &kindred_protocol::event::ConversationId,
        before: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Page<MessageView>, ClientError> {
        let mut url = self.url_of::<ep::History>(&[&id.to_hex()])?;
        page_query(&mut url, before, limit);
        self.call_at::<ep::History>(url, None).await
    }

    /// Sends a message to a conversation.
    pub async fn post_message(
        &self,
        id: &kindred_protocol::event::ConversationId,
        req: &NewMessage,
    ) -> Result<MessageView, ClientError> {
        self.call::<ep::PostMessage>(&[&id.to_hex()], Some(req))
            .await
    }

    /// Edits one's own message.
    pub async fn edit_message(
        &self,
        id: &kindred_protocol::event::ConversationId,
        message: &EventId,
        body: &str,
    ) -> Result<MessageView, ClientError> {
        let req = EditMessage {
            body: body.to_owned(),
        };
        self.call::<ep::EditMessage>(&[&id.to_hex(), &message.to_hex()], Some(&req))
            .await
    }

    /// Takes back one's own message.
    pub async fn retract_message(
        &self,
        id: &kindred_protocol::event::ConversationId,
        message: &EventId,
    ) -> Result<(), ClientError> {
        self.call::<ep::RetractMessage>(&[&id.to_hex(), &message.to_hex()], None)
            .await
    }

    /// Reacts to a message.
    pub async fn react_message(
        &self,
        id: &kindred_protocol::event::ConversationId,
        message: &EventId,
        reaction: &str,
    ) -> Result<Vec<ReactionCount>, ClientError> {
        let req = React {
            reaction: reaction.to_owned(),
        };
        self.call::<ep::ReactToMessage>(&[&id.to_hex(), &message.to_hex()], Some(&req))
            .await
    }

    /// Marks a conversation read up to a message.
    pub async fn mark_read(
        &self,
        id: &kindred_protocol::event::ConversationId,
        up_to: &EventId,
    ) -> Result<(), ClientError> {
        let req = MarkRead { up_to: *up_to };
        self.call::<ep::MarkRead>(&[&id.to_hex()], Some(&req)).await
    }

    /// Adds someone to a group (group admins).
    pub async fn add_participant(
        &self,
        id: &kindred_protocol::event::ConversationId,
        member: &kindred_protocol::MemberId,
        admin: bool,
    ) -> Result<ConversationView, ClientError> {
        let req = AddParticipant {
            member: member.clone(),
            admin,
        };
        self.call::<ep::AddParticipant>(&[&id.to_hex()], Some(&req))
            .await
    }

    /// Removes someone from a group (admins), or leaves it (removing oneself).
    pub async fn remove_participant(
        &self,
        id: &kindred_protocol::event::ConversationId,
        member: &kindred_protocol::MemberId,
    ) -> Result<(), ClientError> {
        self.call::<ep::RemoveParticipant>(&[&id.to_hex(), member.as_str()], None)
            .await
    }

    /// Blocks a member: nothing from them reaches you.
    pub async fn block_member(
        &self,
        member: &kindred_protocol::MemberId,
    ) -> Result<(), ClientError> {
        let req = BlockMember {
            member: member.clone(),
        };
        self.call::<ep::Block>(&[], Some(&req)).await
    }

    /// Lifts a member block.
    pub async fn unblock_member(
        &self,
        member: &kindred_protocol::MemberId,
    ) -> Result<(), ClientError> {
        self.call::<ep::Unblock>(&[member.as_str()], None).await
    }

    /// The mentoring topic vocabulary.
    pub async fn mentoring_topics(&self) -> Result<Vec<String>, ClientError> {
        self.call::<ep::MentoringTopics>(&[], None).await
    }

    /// Open mentor offers across the federation.
    pub async fn offers(&self) -> Result<Vec<OfferView>, ClientError> {
        self.call::<ep::Offers>(&[], None).await
    }

    /// Publishes or updates the member's mentor offer.
    pub async fn publish_offer(&self, req: &PublishOffer) -> Result<OfferView, ClientError> {
        self.call::<ep::PublishOffer>(&[], Some(req)).await
    }

    /// `pause`, `resume` or `withdraw` the member's offer.
    pub async fn offer_action(&self, action: &str) -> Result<OfferView, ClientError> {
        self.call::<ep::OfferStatus>(&[action], None).await
    }

    /// Asks for a mentor or buddy (the request stays on the member's node).
    pub async fn create_request(
        &self,
        req: &kindred_protocol::event::body::mentoring::BuddyRequest,
    ) -> Result<RequestView, ClientError> {
        self.call::<ep::CreateRequest>(&[], Some(req)).await
    }

    /// The member's requests.
    pub async fn requests(&self) -> Result<Vec<RequestView>, ClientError> {
        self.call::<ep::BuddyRequests>(&[], None).await
    }

    /// Ranked, explained suggestions for the member's open request.
    pub async fn suggestions(&self, limit: Option<usize>) -> Result<Vec<Suggestion>, ClientError> {
        let mut url = self.url_of::<ep::Suggestions>(&[])?;
        if let Some(l) = limit {
            url.query_pairs_mut().append_pair("limit", &l.to_string());
        }
        self.call_at::<ep::Suggestions>(url, None).await
    }

    /// Sends a proposal to a mentor.
    pub async fn propose(&self, req: &Propose) -> Result<MatchView, ClientError> {
        self.call::<ep::Propose>(&[], Some(req)).await
    }

    /// The member's proposals and matches.
    pub async fn matches(&self) -> Result<Vec<MatchView>, ClientError> {
        self.call::<ep::Matches>(&[], None).await
    }

    /// One proposal or match.
    pub async fn get_match(&self, id: &EventId) -> Result<MatchView, ClientError> {
        self.call::<ep::Match>(&[&id.to_hex()], None).await
    }

    /// The mentor accepts or declines.
    pub async fn answer(
        &self,
        id: &EventId,
        accept: bool,
        message: Option<String>,
    ) -> Result<MatchView, ClientError> {
        let req = AnswerProposal { accept, message };
        self.call::<ep::AnswerProposal>(&[&id.to_hex()], Some(&req))
            .await
    }

    /// A check-in on a match.
    pub async fn check_in(&self, id: &EventId, req: &NewCheckIn) -> Result<MatchView, ClientError> {
        self.call::<ep::CheckIn>(&[&id.to_hex()], Some(req)).await
    }

    /// Sets the match's agreement.
    pub async fn agree(
        &self,
        id: &EventId,
        req: &kindred_protocol::event::body::mentoring::Agreement,
    ) -> Result<MatchView, ClientError> {
        self.call::<ep::ProposeAgreement>(&[&id.to_hex()], Some(req))
            .await
    }

    /// Confirms the agreement the other person proposed (`agreement` is
    /// `MatchView::agreement_status.id` as read). Errors: `conflict` when it changed since.
    pub async fn confirm_agreement(
        &self,
        id: &EventId,
        agreement: &EventId,
    ) -> Result<MatchView, ClientError> {
        self.call::<ep::ConfirmAgreement>(
            &[&id.to_hex()],
            Some(&kindred_protocol::api::ConfirmAgreement {
                agreement: *agreement,
            }),
        )
        .await
    }

    /// Records your own private reflection on a match that ended.
    pub async fn reflect(
        &self,
        id: &EventId,
        req: &kindred_protocol::event::body::mentoring::Closing,
    ) -> Result<MatchView, ClientError> {
        self.call::<ep::Reflect>(&[&id.to_hex()], Some(req)).await
    }

    /// Closes a match.
    pub async fn close_match(
        &self,
        id: &EventId,
        req: &kindred_protocol::event::body::mentoring::Closing,
    ) -> Result<MatchView, ClientError> {
        self.call::<ep::CloseMatch>(&[&id.to_hex()], Some(req))
            .await
    }

    /// Runs a cohort round (coordinators).
    pub async fn run_round(&self) -> Result<CohortRound, ClientError> {
        self.call::<ep::RunRound>(&[], None).await
    }

    /// A cohort round.
    pub async fn round(&self, id: &str) -> Result<CohortRound, ClientError> {
        self.call::<ep::Round>(&[id], None).await
    }

    /// Adjusts a draft round.
    pub async fn edit_round(&self, id: &str, req: &EditRound) -> Result<CohortRound, ClientError> {
        self.call::<ep::EditRound>(&[id], Some(req)).await
    }

    /// Sends a round's pairs as proposals.
    pub async fn send_round(&self, id: &str) -> Result<CohortRound, ClientError> {
        self.call::<ep::SendRound>(&[id], None).await
    }

    /// The coordinator dashboard.
    pub async fn dashboard(&self) -> Result<Dashboard, ClientError> {
        self.call::<ep::Dashboard>(&[], None).await
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
