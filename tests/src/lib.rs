//! The end-to-end test harness: [`TestNode`] runs a real node (real sled in a temporary
//! folder, real HTTP and websockets) on an ephemeral loopback port, in this process, and
//! hands out `kindred-client` clients to drive it.
#![allow(clippy::unwrap_used)] // Test support: a panic is a test failure.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use kindred_client::Client;
use kindred_protocol::NodeName;
use kindred_protocol::api::{CreateInvite, RedeemInviteRequest, SetupRequest};

pub mod mentoring;
pub mod raw_peer;
pub mod smtp_sink;
pub mod web;
use kindred_server::{Config, Node};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// One running node.
pub struct TestNode {
    /// Where it listens (always 127.0.0.1 with a port the OS chose).
    pub addr: SocketAddr,
    /// The node's config (its data folder survives restarts).
    pub config: Config,
    /// Set-up token printed at start, while no admin exists.
    pub setup_token: Option<String>,
    /// Keeps the temporary data folder alive.
    _dir: Option<tempfile::TempDir>,
    /// Stops the node.
    stop: Option<oneshot::Sender<()>>,
    /// The serving task.
    task: Option<JoinHandle<Result<(), kindred_server::NodeError>>>,
    /// Where the node reads the time (kept across restarts).
    clock: std::sync::Arc<dyn kindred_server::Clock>,
}

impl TestNode {
    /// A node named `localhost` with default settings.
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// A node with a given name.
    pub async fn named(name: &str) -> Self {
        let name = NodeName::new(name).unwrap();
        Self::start_with(move |c| c.node.name = name).await
    }

    /// A node with a federation name and an organisation name, as a real one would have.
    pub async fn organisation(node: &str, organisation: &str) -> Self {
        let node = NodeName::new(node).unwrap();
        let organisation = organisation.to_owned();
        Self::start_with(move |c| {
            c.node.name = node;
            c.node.organisation = organisation;
        })
        .await
    }

    /// A node whose config `tweak` adjusts.
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_clock(std::sync::Arc::new(kindred_server::SystemClock), tweak).await
    }

    /// A node reading the time from `clock` (a node whose clock is wrong).
    pub async fn start_with_clock(
        clock: std::sync::Arc<dyn kindred_server::Clock>,
        tweak: impl FnOnce(&mut Config),
    ) -> Self {
        init_logging();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.server.data_dir = dir.path().join("data");
        config.log.filter = "warn".into();
        // Test nodes live on 127.0.0.1 and announce it; and a restarted node whose peers
        // are down need not wait long for them to say how far they hold its log.
        config.federation.dial_private_addresses = Some(true);
        config.federation.own_log_wait_seconds = 5;
        tweak(&mut config);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut node = Self::boot_on(config, listener, clock).await;
        node._dir = Some(dir);
        node
    }

    async fn boot_on(
        mut config: Config,
        listener: tokio::net::TcpListener,
        clock: std::sync::Arc<dyn kindred_server::Clock>,
    ) -> Self {
        let addr = listener.local_addr().unwrap();
        config.server.listen = addr;
        let opened = open_when_free(config.clone(), clock.clone()).await;
        let setup_token = opened.setup_token.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kindred_server::serve(opened, listener, async move {
            // A dropped sender also stops the node.
            let _ = stopped.await;
        }));
        Self {
            addr,
            config,
            setup_token,
            _dir: None,
            stop: Some(stop),
            task: Some(task),
            clock,
        }
    }

    /// The node's base URL (`https://` when it serves TLS).
    pub fn url(&self) -> String {
        let scheme = if self.config.tls.cert_file.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// The node's data folder.
    pub fn data_dir(&self) -> PathBuf {
        self.config.server.data_dir.clone()
    }

    /// An anonymous client.
    pub fn client(&self) -> Client {
        // A TLS test node's clients trust the same test CA the node trusts for peers.
        let ca = self
            .config
            .tls
            .extra_ca_file
            .as_ref()
            .map(|p| std::fs::read(p).unwrap());
        Client::with_extra_ca(&self.url(), ca.as_deref()).unwrap()
    }

    /// Creates the first admin (`admin`) and returns a signed-in client.
    pub async fn admin(&self) -> Client {
        let token = self
            .setup_token
            .clone()
            .expect("a fresh node has a set-up token");
        let (client, _) = self
            .client()
            .setup(&SetupRequest {
                token,
                username: "admin".into(),
                display_name: "Admin".into(),
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
        client
    }

    /// Invites `username` with the admin client and signs them up.
    pub async fn member(&self, admin: &Client, username: &str) -> Client {
        let invite = admin.create_invite(&CreateInvite::default()).await.unwrap();
        let (client, _) = self
            .client()
            .redeem_invite(&RedeemInviteRequest {
                code: invite.code,
                username: username.into(),
                display_name: format!("{username} (display)"),
                password: PASSWORD.into(),
            })
            .await
            .unwrap();
        client
    }

    /// As [`TestNode::member`], returning the refusal instead of failing.
    pub async fn member_try(
        &self,
        admin: &Client,
        username: &str,
    ) -> Result<Client, kindred_client::ClientError> {
        let invite = admin.create_invite(&CreateInvite::default()).await?;
        let (client, _) = self
            .client()
            .redeem_invite(&RedeemInviteRequest {
                code: invite.code,
                username: username.into(),
                display_name: format!("{username} (display)"),
                password: PASSWORD.into(),
            })
            .await?;
        Ok(client)
    }

    /// Stops the node gracefully and waits until it has flushed and closed its database.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }

    /// Whether any key or value in the stopped node's database holds `needle` (to prove
    /// a node never stored something). A stopped node has closed its database, so this
    /// also checks that stopping releases it.
    pub fn stored_anywhere(&self, needle: &[u8]) -> bool {
        assert!(
            self.task.is_none(),
            "stop the node before reading its database"
        );
        let holds = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        let mut found = false;
        kindred_server::storage::each_record(&self.data_dir(), |_, k, v| {
            found |= holds(k) || holds(v);
        })
        .unwrap();
        found
    }

    /// Stops the node and starts it again on the same data folder and, when the OS lets
    /// it, the same port (so peers find it where they left it).
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Stops the node and starts it again on the same data folder at a new port, as a node
    /// that moved to a new address would (its public address follows its port).
    pub async fn restart_elsewhere(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.boot_again(listener).await;
    }

    /// Starts a stopped node again (see [`TestNode::restart`]).
    pub async fn start_again(&mut self) {
        let mut listener = None;
        for _ in 0..50 {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let listener = match listener {
            Some(l) => l,
            None => tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        };
        self.boot_again(listener).await;
    }

    /// Stops the node and starts it again on the same data folder with another clock (a
    /// node months later, for retention and grace periods) and, if it may, the same port.
    pub async fn restart_with_clock(&mut self, clock: std::sync::Arc<dyn kindred_server::Clock>) {
        self.clock = clock;
        self.restart().await;
    }

    /// Boots a stopped node on its data folder again, listening on `listener`.
    async fn boot_again(&mut self, listener: tokio::net::TcpListener) {
        let dir = self._dir.take();
        *self = Self::boot_on(self.config.clone(), listener, self.clock.clone()).await;
        self._dir = dir;
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Copies a folder and everything in it (a backup of a stopped node's data folder).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Logs to the test output when `KINDRED_TEST_LOG` holds a filter (e.g. `debug`).
fn init_logging() {
    if let Ok(filter) = std::env::var("KINDRED_TEST_LOG") {
        // Several tests in one process: only the first installs the subscriber.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

/// A plain HTTP client for raw requests (the client crate's TLS set-up, no redirects).
pub fn http() -> reqwest::Client {
    let tls = kindred_client::tls_config(None).expect("TLS set-up");
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client")
}

/// Pairs two nodes through their admins (an invite from `a`, redeemed at `b`) and waits
/// until each sees the other connected.
pub async fn pair(admin_a: &Client, admin_b: &Client) {
    let invite = admin_a.create_peer_invite().await.unwrap();
    let peer = admin_b.add_peer(&invite.token).await.unwrap();
    let a_id = peer.node_id;
    let b_id = admin_b.health().await.unwrap().node_id;
    eventually(20, || async {
        let a_sees = admin_a
            .peers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.node_id == b_id && p.connected);
        let b_sees = admin_b
            .peers()
            .await
            .unwrap()
            .iter()
            .any(|p| p.node_id == a_id && p.connected);
        (a_sees && b_sees).then_some(())
    })
    .await;
}

/// Two nodes named `a` and `b`, paired, with a client signed in as each one's admin.
pub async fn paired_nodes(a: &str, b: &str) -> (TestNode, TestNode, Client, Client) {
    let a = TestNode::named(a).await;
    let b = TestNode::named(b).await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;
    (a, b, admin_a, admin_b)
}

/// Opens a node, waiting (bounded) for a previous instance on the same folder to release it.
async fn open_when_free(
    config: Config,
    clock: std::sync::Arc<dyn kindred_server::Clock>,
) -> kindred_server::Opened {
    let mut last = None;
    let started = std::time::Instant::now();
    for _ in 0..600 {
        match Node::open_with_clock(config.clone(), clock.clone()) {
            Ok(opened) => {
                if started.elapsed() > Duration::from_secs(1) {
                    eprintln!("node reopened after {:?}", started.elapsed());
                }
                return opened;
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("node did not open: {:?}", last);
}

/// Polls `check` until it returns `Some`, for at most `secs` seconds.
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
