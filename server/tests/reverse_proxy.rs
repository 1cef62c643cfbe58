//! Issue 20: the shipped reverse-proxy examples (`deploy/nginx`, `deploy/caddy`) really
//! forward websockets and the client's address. Each runs in front of the real binary where
//! the proxy is installed (Debian's `nginx-light` and `caddy`, as on CI); elsewhere the test
//! says so and checks nothing.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(file)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A proxy process, stopped on drop.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The node, started to believe the proxy on 127.0.0.1 and to refuse an address after two
/// failed sign-ins.
fn node(root: &Path) -> support::Proc {
    let child = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "proxied.test",
            "--data",
        ])
        .arg(root.join("data"))
        .env("RUST_LOG", "error")
        .env("KINDRED_SERVER__TRUSTED_PROXIES", r#"["127.0.0.1"]"#)
        .env("KINDRED_LIMITS__LOGIN_FAILURES_PER_ADDRESS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    support::Proc::from_child(child)
}

fn start_nginx(root: &Path, listen: u16, upstream: &str) -> Proxy {
    // The map from the shipped site file, the shipped snippet, in a plain server on loopback.
    let site = std::fs::read_to_string(deploy("nginx/kindred.conf")).unwrap();
    let start = site.find("map $http_upgrade").unwrap();
    let end = start + site[start..].find("\n}\n").unwrap() + 2;
    let map = &site[start..end];
    let snippet = deploy("nginx/kindred-proxy.conf");
    let dir = root.join("nginx");
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.display();
    let conf = format!(
        "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\n\
         events {{}}\nhttp {{\n access_log off;\n client_body_temp_path {d}/body;\n\
         proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n\
         scgi_temp_path {d}/scgi;\n {map}\n server {{\n  listen 127.0.0.1:{listen};\n\
         location / {{\n   proxy_pass {upstream};\n   include {};\n  }}\n }}\n}}\n",
        snippet.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("nginx")
        .args(["-p"])
        .arg(&dir)
        .arg("-c")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proxy(child)
}

fn start_caddy(root: &Path, listen: u16, upstream: &str) -> Proxy {
    // The shipped Caddyfile, with this test's addresses and without TLS.
    let shipped = std::fs::read_to_string(deploy("caddy/Caddyfile")).unwrap();
    let site = shipped
        .replace("kindred.example.org", &format!("http://127.0.0.1:{listen}"))
        .replace("127.0.0.1:7070", upstream.trim_start_matches("http://"));
    let dir = root.join("caddy");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Caddyfile");
    std::fs::write(&path, format!("{{\n\tadmin off\n}}\n{site}")).unwrap();
    let child = Command::new("caddy")
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&path)
        .env("XDG_DATA_HOME", &dir)
        .env("XDG_CONFIG_HOME", &dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Proxy(child)
}

/// Waits until the proxy answers for the node (it starts in the background).
async fn wait_for(base: &str) -> serde_json::Value {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(r) = client.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return r.json().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the proxy at {base} never answered for the node");
}

async fn failed_sign_in(from: &str, base: &str) -> u16 {
    let client = reqwest::Client::builder()
        .local_address(from.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    client
        .post(format!("{base}/api/v1/sessions"))
        .json(&serde_json::json!({"username": "nobody", "password": "not the password at all"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn check(proxy: &str, start: fn(&Path, u16, &str) -> Proxy) {
    if !installed(proxy) {
        eprintln!("{proxy} is not installed here; its example was not tried");
        return;
    }
    // Plain-HTTP clients still need rustls told which cryptography to use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let root = tempfile::tempdir().unwrap();
    let mut node = node(root.path());
    let port = free_port();
    let _proxy = start(root.path(), port, &node.url);
    let base = format!("http://127.0.0.1:{port}");
    let health = wait_for(&base).await;
    assert_eq!(health["name"], "proxied.test", "{proxy}: {health}");

    // A websocket upgrade (federation links; the live stream is the same) gets through.
    let (socket, response) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/federation/v1/link"))
            .await
            .unwrap_or_else(|e| panic!("{proxy} did not pass the websocket upgrade: {e}"));
    assert_eq!(response.status().as_u16(), 101, "{proxy}");
    drop(socket);

    // The node sees each client's own address, not the proxy's: after two failed sign-ins
    // from 127.0.0.2 that address is refused, while 127.0.0.3 is not.
    assert_eq!(failed_sign_in("127.0.0.2", &base).await, 401, "{proxy}");
    assert_eq!(failed_sign_in("127.0.0.2", &base).await, 401, "{proxy}");
    assert_eq!(failed_sign_in("127.0.0.2", &base).await, 429, "{proxy}");
    assert_eq!(
        failed_sign_in("127.0.0.3", &base).await,
        401,
        "{proxy}: another client behind the same proxy is not refused"
    );
    node.kill();
}

#[tokio::test]
async fn the_nginx_example_forwards_websockets_and_client_addresses() {
    check("nginx", start_nginx).await;
}

#[tokio::test]
async fn the_caddy_example_forwards_websockets_and_client_addresses() {
    check("caddy", start_caddy).await;
}
