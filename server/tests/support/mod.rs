//! Starting the real `kindred` binary for process-level tests (SIGKILL).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A node process with its URL and, on first start, its set-up token.
pub struct Proc {
    pub child: Child,
    pub url: String,
    pub token: Option<String>,
}

/// Starts the node on `listen` (use `127.0.0.1:0` for an ephemeral port) and reads its
/// address (and set-up token) from what it prints.
pub fn start(data: &Path, name: &str, listen: &str) -> Proc {
    Proc::from_child(command(data, name, listen).spawn().unwrap())
}

/// As [`start`], on the storage engine `engine` (for a new folder).
pub fn start_on(data: &Path, name: &str, listen: &str, engine: &str) -> Proc {
    try_start_on(data, name, listen, engine).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`start_on`]; a node that exits instead gives what it printed to stderr.
pub fn try_start_on(data: &Path, name: &str, listen: &str, engine: &str) -> Result<Proc, String> {
    let mut c = command(data, name, listen);
    c.env("KINDRED_STORAGE__ENGINE", engine)
        // Small test filesystems are not "running low".
        .env("KINDRED_STORAGE__LOW_SPACE_MIB", "1");
    spawn_saying_why(c)
}

/// Starts a node with extra command-line `args`, or says why it did not start.
#[allow(dead_code)]
pub fn try_start_with(data: &Path, name: &str, args: &[&str]) -> Result<Proc, String> {
    let mut c = command(data, name, "127.0.0.1:0");
    c.args(args);
    spawn_saying_why(c)
}

/// Spawns `c`; a node that exits instead of listening gives what it printed to stderr.
fn spawn_saying_why(mut c: Command) -> Result<Proc, String> {
    let mut child = c.stderr(Stdio::piped()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
        text
    });
    match Proc::try_from_child(child) {
        Some(p) => Ok(p),
        None => Err(said.join().unwrap_or_default()),
    }
}

fn command(data: &Path, name: &str, listen: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kindred"));
    c.args(["serve", "--listen", listen, "--name", name, "--data"])
        .arg(data)
        .env("RUST_LOG", "error")
        // The tests read back thousands of posts with one session.
        .env("KINDRED_LIMITS__REQUESTS_PER_MINUTE", "10000000")
        // A restarted node whose peer is down waits this long before writing.
        .env("KINDRED_FEDERATION__OWN_LOG_WAIT_SECONDS", "3")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    c
}

impl Proc {
    /// Waits for a started node (stdout piped) to print its address.
    pub fn from_child(child: Child) -> Proc {
        Self::try_from_child(child).expect("the node exited before printing its address")
    }

    /// As [`Proc::from_child`]; `None` when the node exits first.
    pub fn try_from_child(mut child: Child) -> Option<Proc> {
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut token = None;
        loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                child.wait().unwrap();
                return None;
            };
            if let Some(t) = line.split_whitespace().find(|w| w.starts_with("kdsetup_")) {
                token.get_or_insert_with(|| t.to_owned());
            }
            if let Some(url) = line.split("listening on ").nth(1) {
                // Keep draining stdout so the node never blocks on a full pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return Some(Proc {
                    child,
                    url: url.trim().to_owned(),
                    token,
                });
            }
        }
    }

    /// SIGTERM, and waits for the node to stop as an admin's `systemctl stop` would.
    pub fn stop(&mut self) {
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(self.child.id() as i32).unwrap(),
            rustix::process::Signal::TERM,
        );
        self.child.wait().unwrap();
    }

    /// SIGKILL, no chance to flush or say goodbye.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        // Already killed in most tests; this covers a failing assertion.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of a plain `GET path` to the node at `url` (`http://host:port`).
pub fn get(url: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let address = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(address).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// Sets up the first admin of a node just started (from its printed token) and creates the
/// shared topic "Funding": the admin's client and session.
pub async fn admin_with_funding(
    node: &Proc,
) -> (
    kindred_client::Client,
    kindred_protocol::api::SessionCreated,
) {
    let (admin, session) = kindred_client::Client::new(&node.url)
        .unwrap()
        .setup(&kindred_protocol::api::SetupRequest {
            token: node.token.clone().unwrap(),
            username: "admin".into(),
            display_name: "Admin".into(),
            password: "correct horse battery".into(),
        })
        .await
        .unwrap();
    admin
        .create_topic(&kindred_protocol::api::CreateTopic {
            name: "Funding".into(),
            description: String::new(),
            shared: true,
        })
        .await
        .unwrap();
    (admin, session)
}

/// One HTTP/1.1 request to the node at `url` with extra `headers` (`Name: value` lines)
/// and `body`; the status and the whole answer (head and body).
#[allow(dead_code)]
pub async fn http(
    url: &str,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    let request = format!("{head}Content-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}
