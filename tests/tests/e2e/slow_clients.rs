//! Issue 16, item 3: clients that send slowly, or open many connections, are cut off
//! instead of starving the node. No timings are asserted: each test waits for the cut-off
//! and then checks what an ordinary client gets.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::{ApiErrorBody, ErrorCode};
use kindred_tests::{PASSWORD, TestNode, eventually};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn address(node: &TestNode) -> String {
    node.url().trim_start_matches("http://").to_owned()
}

/// Reads until the node closes the connection; returns what it sent.
async fn until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_client_sending_headers_slowly_is_cut_off() {
    let node = TestNode::start_with(|c| c.limits.header_seconds = 1).await;
    let mut slow = TcpStream::connect(address(&node)).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Never finishes its headers: the node hangs up.
    let said = until_closed(&mut slow).await;
    assert!(!said.contains("200 OK"), "{said}");
    // Nobody else noticed.
    node.client().health().await.unwrap();
}

#[tokio::test]
async fn a_client_sending_its_body_slowly_gets_a_timeout_and_is_cut_off() {
    let node = TestNode::start_with(|c| c.limits.body_seconds = 1).await;
    let mut slow = TcpStream::connect(address(&node)).await.unwrap();
    slow.write_all(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{\"user",
    )
    .await
    .unwrap();
    let said = until_closed(&mut slow).await;
    assert!(said.starts_with("HTTP/1.1 408"), "{said}");
    let lower = said.to_lowercase();
    assert!(lower.contains("cache-control: no-store"), "{said}");
    assert!(lower.contains("x-content-type-options: nosniff"), "{said}");
    let body = said.split("\r\n\r\n").nth(1).unwrap();
    let error: ApiErrorBody = serde_json::from_str(body).unwrap();
    assert_eq!(error.error.code, ErrorCode::Timeout);
}

#[tokio::test]
async fn slow_uploads_without_an_account_do_not_lock_anyone_out() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    node.member(&admin, "sam").await;
    // More slow uploads from one address than it may have requests in progress.
    let mut uploads = Vec::new();
    for _ in 0..300 {
        let mut s = TcpStream::connect(address(&node)).await.unwrap();
        s.write_all(
            b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{",
        )
        .await
        .unwrap();
        uploads.push(s);
    }
    // While they dawdle, a member on the same address signs in and reads.
    let (sam, _) = node.client().login("sam", PASSWORD).await.unwrap();
    sam.topics().await.unwrap();
    drop(uploads);
}

#[tokio::test]
async fn a_flood_of_idle_connections_never_keeps_a_real_client_out() {
    // Slow clients are never timed out here: only making room can let the client in.
    let node = TestNode::start_with(|c| {
        c.limits.max_connections = 64;
        c.limits.header_seconds = 3600;
    })
    .await;
    let admin = node.admin().await;
    // Far more connections than the cap, each sending half a header and waiting.
    let mut flood = Vec::new();
    for _ in 0..400 {
        let mut s = TcpStream::connect(address(&node)).await.unwrap();
        let _ = s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await;
        flood.push(s);
    }
    // A real client, on fresh connections, is served, again and again.
    for _ in 0..3 {
        let fresh = kindred_client::Client::new(&node.url())
            .unwrap()
            .with_token(admin.token().unwrap());
        assert!(fresh.me().await.is_ok());
    }
    // The oldest idle connection was closed to make room (a guard, not a timing: it
    // fails instead of hanging if it never is).
    let mut buf = [0u8; 64];
    let oldest = tokio::time::timeout(std::time::Duration::from_secs(60), flood[0].read(&mut buf))
        .await
        .expect("the oldest idle connection is closed");
    assert!(matches!(oldest, Ok(0) | Err(_)));
}

#[tokio::test]
async fn open_live_streams_never_crowd_out_ordinary_requests() {
    // A low allowance for requests in progress: before, each open stream used one up.
    let node = TestNode::start_with(|c| {
        c.limits.connections_per_address = 8;
        c.limits.streams_per_session = 4;
    })
    .await;
    let admin = node.admin().await;
    let sam = node.member(&admin, "sam").await;
    // One session may keep a few tabs open, not an unlimited number.
    let mut tabs = Vec::new();
    for _ in 0..4 {
        tabs.push(sam.stream().await.unwrap());
    }
    let fifth = sam.stream().await.err().expect("a fifth stream is refused");
    assert_eq!(fifth.code(), Some(ErrorCode::RateLimited), "{fifth}");
    assert!(fifth.to_string().contains("close a tab"), "{fifth}");
    // Many members on the one address (an organisation behind its proxy) each keep
    // their streams open; ordinary requests still go through.
    let mut others = Vec::new();
    for i in 0..4 {
        let member = node.member(&admin, &format!("m{i}")).await;
        for _ in 0..4 {
            others.push(member.stream().await.unwrap());
        }
    }
    assert!(others.len() + tabs.len() > 8);
    sam.topics().await.unwrap();
    admin.members().await.unwrap();
    // Closing a tab gives its place back.
    drop(tabs.pop());
    eventually(10, || async { sam.stream().await.ok() }).await;
}

#[tokio::test]
async fn a_body_declared_too_large_is_refused_before_it_is_sent() {
    // Never timed out here: only an answer before the body can end this test.
    let node = TestNode::start_with(|c| c.limits.body_seconds = 3600).await;
    for (path, expect) in [
        ("/api/v1/sessions", "application/json"),
        ("/signin", "text/html"),
    ] {
        let mut client = TcpStream::connect(address(&node)).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n"
        );
        client.write_all(head.as_bytes()).await.unwrap();
        let said = until_closed(&mut client).await;
        assert!(said.starts_with("HTTP/1.1 413"), "{path}: {said}");
        assert!(!said.contains("100 Continue"), "{path}: {said}");
        assert!(said.to_lowercase().contains(expect), "{path}: {said}");
    }
}

#[tokio::test]
async fn slow_uploads_are_shed_to_make_room_for_real_clients() {
    // Slow bodies are never timed out here: only shedding can let the client in.
    let node = TestNode::start_with(|c| {
        c.limits.max_connections = 32;
        c.limits.body_seconds = 3600;
    })
    .await;
    let admin = node.admin().await;
    let mut uploads = Vec::new();
    for _ in 0..64 {
        let mut s = TcpStream::connect(address(&node)).await.unwrap();
        let _ = s
            .write_all(
                b"POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{",
            )
            .await;
        uploads.push(s);
    }
    for _ in 0..3 {
        let fresh = kindred_client::Client::new(&node.url())
            .unwrap()
            .with_token(admin.token().unwrap());
        assert!(fresh.me().await.is_ok());
    }
}
