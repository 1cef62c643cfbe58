//! `/metrics` on its own address: what a paired node's Prometheus sees.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::*;
use kindred_tests::{TestNode, eventually, http, pair};

use super::trust_support::topic;

/// A port nobody is listening on right now (the node binds it a moment later).
fn free_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paired_node_reports_its_members_events_requests_and_peers() {
    let address = free_port();
    let a = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.metrics.listen = Some(address);
    })
    .await;
    let b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    topic(&admin_a, "Funding").await;
    topic(&admin_b, "Funding").await;
    pair(&admin_a, &admin_b).await;
    admin_a
        .create_post(
            "Funding",
            &NewPost {
                title: "Counted".into(),
                body: "A post".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    // A made-up method and path: counted, but never as labels of their own.
    let odd = reqwest::Method::from_bytes(b"FROBNICATE").unwrap();
    let _ = http()
        .request(odd, format!("{}/no-such-page-9f3a", a.url()))
        .send()
        .await
        .unwrap();
    let url = format!("http://{address}/metrics");
    let text = eventually(20, || async {
        let text = http().get(&url).send().await.ok()?.text().await.ok()?;
        text.contains(r#"kindred_peer_up{peer="b.test"} 1"#)
            .then_some(text)
    })
    .await;
    for line in [
        "kindred_members 1",
        r#"kindred_events_stored_total{origin="a.test",kind="Post"} 1"#,
        r#"kindred_http_request_duration_seconds_count{route="/api/v1/topics/{topic}/posts",method="POST",status="2xx"} 1"#,
        r#"kindred_peer_lag_events{peer="b.test",direction="in"}"#,
        r#"kindred_peer_outbox_events{peer="b.test"} 0"#,
        "kindred_ingest_flush_seconds_bucket",
        "kindred_storage_bytes ",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(
        !text.contains("FROBNICATE") && !text.contains("9f3a"),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",method="other""#),
        "{text}"
    );
    // Every series the shipped Grafana dashboard draws is one the node reports.
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy/grafana/kindred-dashboard.json"),
    )
    .unwrap();
    let mut used: Vec<&str> = dashboard
        .match_indices("kindred_")
        .map(|(at, _)| {
            let rest = &dashboard[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| *name != "kindred_" && !name.starts_with("kindred_node"))
        .collect();
    used.sort_unstable();
    used.dedup();
    assert!(used.len() > 10, "{used:?}");
    for name in used {
        // Families with no series yet (nothing refused) are declared only once something is.
        if name.starts_with("kindred_events_refused") {
            continue;
        }
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "the dashboard uses {name}, which /metrics does not report"
        );
    }
    // Never on the members' address.
    let main = http()
        .get(format!("{}/metrics", a.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_members_parallel_first_posts_publish_their_profile_once() {
    let address = free_port();
    let a = TestNode::start_with(|c| c.metrics.listen = Some(address)).await;
    let admin = a.admin().await;
    topic(&admin, "Funding").await;
    let before = profiles_stored(address).await;
    let member = a.member(&admin, "newcomer").await;
    // Twenty first posts at once, each with its own key (a phone on a slow line retrying
    // with new keys behaves the same).
    let posts: Vec<_> = (0..20)
        .map(|i| {
            let member = member.clone();
            tokio::spawn(async move {
                member
                    .create_post(
                        "Funding",
                        &NewPost {
                            title: format!("First words {i}"),
                            body: "Hello from a new member".into(),
                            tags: vec![],
                            content_warning: None,
                        },
                    )
                    .await
            })
        })
        .collect();
    for p in posts {
        p.await.unwrap().unwrap();
    }
    assert_eq!(profiles_stored(address).await, before + 1);
}

/// Profile events this node has stored, from `/metrics`.
async fn profiles_stored(address: std::net::SocketAddr) -> u64 {
    let text = http()
        .get(format!("http://{address}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("kindred_events_stored_total") && l.contains(r#"kind="Profile""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}
