//! Issue 19, getting back in: when no admin can sign in, the server's operator makes a
//! reset link from the host with `kindred admin reset-link`, whether the node runs or not.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

fn reset_link(data: &std::path::Path, username: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["admin", "reset-link", username, "--data"])
        .arg(data)
        .output()
        .unwrap()
}

fn link_in(out: &std::process::Output) -> String {
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    said.split_whitespace()
        .find(|w| w.contains("/reset/kdreset_"))
        .unwrap_or_else(|| panic!("no link in {said}"))
        .to_owned()
}

/// Sets a new password through a link's token with a plain POST.
fn use_link(url: &str, link: &str, password: &str) -> String {
    use std::io::{Read, Write};
    let token = link.rsplit('/').next().unwrap();
    let body = serde_json::json!({"token": token, "password": password}).to_string();
    let address = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(address).unwrap();
    write!(
        s,
        "POST /api/v1/password-reset HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn the_operator_makes_a_reset_link_with_the_node_running_or_stopped() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut node = support::start(&data, "north.test", "127.0.0.1:0");
    let token = node.token.clone().unwrap();
    // The first admin, whose password is then forgotten.
    let body = serde_json::json!({"token": token, "username": "ada", "display_name": "Ada", "password": "the first password"}).to_string();
    {
        use std::io::{Read, Write};
        let address = node.url.trim_start_matches("http://").to_owned();
        let mut s = std::net::TcpStream::connect(&address).unwrap();
        write!(s, "POST /api/v1/setup HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    }
    // While the node runs: through it.
    let out = reset_link(&data, "ada");
    let link = link_in(&out);
    assert!(
        link.starts_with(&node.url),
        "the running node's address: {link}"
    );
    let answer = use_link(&node.url, &link, "a second password");
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    // An unknown member: a plain refusal.
    let out = reset_link(&data, "nobody");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("No member here is called"));
    node.kill();

    // While it is stopped: in its folder; the link works once it is started again.
    let out = reset_link(&data, "ada");
    let link = link_in(&out);
    let node = support::start(&data, "north.test", "127.0.0.1:0");
    let answer = use_link(&node.url, &link, "a third password");
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
}
