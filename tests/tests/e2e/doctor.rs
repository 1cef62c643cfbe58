//! `kindred doctor` on a paired node: what it finds fine, and what it tells the admin to fix.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

use kindred_server::doctor::{self, Finding, Level};
use kindred_tests::{TestNode, eventually, pair};

fn problems(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.level == Level::Problem)
        .map(|f| format!("{} -> {}", f.what, f.fix.clone().unwrap_or_default()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_finds_a_readable_key_and_a_peer_that_went_away() {
    let a = TestNode::named("a.test").await;
    let mut b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;

    let report = eventually(20, || async {
        let r = doctor::run(&a.config).await;
        r.findings
            .iter()
            .any(|f| f.what == "Linked with b.test.")
            .then_some(r)
    })
    .await;
    assert!(
        problems(&report.findings).is_empty(),
        "{:?}",
        report.findings
    );
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.what.contains("answers as this node")),
        "{:?}",
        report.findings
    );

    // A key others can read: a problem, with the command that fixes it.
    let key = a.config.server.data_dir.join("node.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let found = problems(&doctor::run(&a.config).await.findings);
    assert!(
        found
            .iter()
            .any(|p| p.contains(&format!("chmod 600 {}", key.display()))),
        "{found:?}"
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The peer stops: the doctor says so, and whether its address answers from here.
    b.stop().await;
    let found = eventually(30, || async {
        let found = problems(&doctor::run(&a.config).await.findings);
        found
            .iter()
            .any(|p| p.starts_with("Not linked with b.test"))
            .then_some(found)
    })
    .await;
    assert!(
        found
            .iter()
            .any(|p| p.contains("does not answer from this server either")),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_node_that_is_not_running_is_a_problem_not_a_crash() {
    let mut a = TestNode::named("a.test").await;
    a.stop().await;
    let found = problems(&doctor::run(&a.config).await.findings);
    assert!(
        found.iter().any(|p| p.contains("The node is not running")),
        "{found:?}"
    );
    // Its database file emptied (a bad copy, a full disk's accident): said, with the way
    // back.
    let db = a.config.server.data_dir.join("db");
    for e in std::fs::read_dir(&db).unwrap().flatten() {
        if e.path().is_file() && e.file_name() != "acknowledged" {
            std::fs::write(e.path(), b"").unwrap();
        }
    }
    let found = problems(&doctor::run(&a.config).await.findings);
    assert!(
        found
            .iter()
            .any(|p| p.contains("database is missing or empty") && p.contains("kindred restore")),
        "{found:?}"
    );
}
