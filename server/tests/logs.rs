//! Issue 16, item 8: what someone typed into the username field of a failed sign-in (people
//! type their password there) never reaches the node's log; a keyed hash stands for it.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

/// A raw JSON POST; returns the status line.
fn post_json(address: &str, path: &str, body: &str) -> String {
    let mut s = TcpStream::connect(address).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn a_password_typed_as_a_username_is_never_logged() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "logs.test",
            "--data",
        ])
        .arg(data.path().join("data"))
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let stdout = child.stdout.take().unwrap();
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let collected = log.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.split("listening on ").nth(1) {
                let _ = url_tx.send(url.trim().to_owned());
            }
            collected.lock().unwrap().push(line);
        }
    });
    let url = url_rx.recv().unwrap();
    let address = url.trim_start_matches("http://").to_owned();

    const SECRET: &str = "Tr0ub4dor&3 horse";
    for _ in 0..3 {
        let status = post_json(
            &address,
            "/api/v1/sessions",
            &format!(r#"{{"username":"{SECRET}","password":"wrong password"}}"#),
        );
        assert!(status.contains("401"), "{status}");
    }

    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let lines = log.lock().unwrap();
    let failed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("failed sign-in"))
        .collect();
    assert_eq!(failed.len(), 3, "the failures are logged: {lines:?}");
    // Written to a pipe (a file, a journal), the log has no terminal colour codes.
    assert!(
        lines.iter().all(|l| !l.contains('\u{1b}')),
        "colour codes in a log that is not a terminal: {lines:?}"
    );
    for text in lines.iter().chain(std::iter::once(&stderr)) {
        assert!(!text.contains("Tr0ub4dor"), "typed text in the log: {text}");
    }
    // The three lines name the same attempt by the same keyed hash.
    let tag = |l: &str| {
        l.split("username=")
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .map(str::to_owned)
    };
    let tags: Vec<_> = failed.iter().map(|l| tag(l)).collect();
    assert!(tags[0].is_some(), "{failed:?}");
    assert!(tags.iter().all(|t| *t == tags[0]));
}
