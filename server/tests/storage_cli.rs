//! `kindred storage migrate` as an admin runs it, more than once and in the wrong places:
//! moving a stopped node back and forth keeps every record and every folder it set aside,
//! and pointing a command at a folder without a database changes nothing.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::process::Command;

use kindred_client::Client;
use kindred_protocol::api::NewPost;

fn kindred(args: &[&str], data: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_moves_between_engines_and_back_keeping_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut node = support::start_on(&data, "localhost", "127.0.0.1:0", "redb");
    let (admin, session) = support::admin_with_funding(&node).await;
    let mut ids = Vec::new();
    for i in 0..50 {
        let post = NewPost {
            title: format!("Reflection {i}"),
            body: "What we would do again.".into(),
            tags: vec![],
            content_warning: None,
        };
        ids.push(admin.create_post("Funding", &post).await.unwrap().id);
    }
    // Two taken down, the last just before the stop: their redactions leave a compaction
    // due and words waiting for the indexer, neither of which a copy carries.
    admin.retract(&ids[0], None).await.unwrap();
    admin.retract(&ids[1], None).await.unwrap();
    // Not while the node runs.
    let (ok, said) = kindred(&["storage", "migrate", "--to", "sled"], &data);
    assert!(!ok && said.contains("in use"), "{said}");
    node.kill();

    for (to, round) in [("sled", 1), ("redb", 2), ("sled", 3), ("redb", 4)] {
        let (ok, said) = kindred(&["storage", "migrate", "--to", to], &data);
        assert!(ok, "round {round} to {to}: {said}");
        assert!(said.contains("checked record by record"), "{said}");
        let (ok, said) = kindred(&["storage", "check"], &data);
        assert!(ok, "round {round}: {said}");
        assert!(said.contains(&format!("engine: {to}")), "{said}");
    }
    // Every folder set aside is still there, under its own name.
    let kept: Vec<String> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("before-migration"))
        .collect();
    assert_eq!(kept.len(), 4, "{kept:?}");
    // The same engine, or one that keeps nothing, is refused.
    let (ok, said) = kindred(&["storage", "migrate", "--to", "redb"], &data);
    assert!(!ok && said.contains("already on redb"), "{said}");
    let (ok, said) = kindred(&["storage", "migrate", "--to", "memory"], &data);
    assert!(!ok && said.contains("keeps nothing on disk"), "{said}");

    let node = support::start_on(&data, "localhost", "127.0.0.1:0", "redb");
    let client = Client::new(&node.url).unwrap().with_token(session.token);
    for id in &ids[2..] {
        assert!(client.thread(id).await.is_ok(), "post {id} lost");
    }
}

#[test]
fn storage_commands_pointed_at_no_database_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for folder in [dir.path().join("typo"), dir.path().to_owned()] {
        for args in [
            &["storage", "check"][..],
            &["storage", "migrate", "--to", "sled"][..],
        ] {
            let (ok, said) = kindred(args, &folder);
            assert!(!ok, "{args:?} {}: {said}", folder.display());
            assert!(said.contains("no Kindred database"), "{said}");
            assert!(!folder.join("db").exists(), "{args:?} created a database");
        }
    }
}
