//! Issue 20, backups: the real `kindred backup` and `kindred restore`, as an admin types
//! them, against a running node.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

fn kindred(args: &[&str], paths: &[&std::path::Path]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(args)
        .args(paths)
        .output()
        .unwrap()
}

#[test]
fn an_admin_backs_up_a_running_node_and_restores_it_elsewhere() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut node = support::start(&data, "north.test", "127.0.0.1:0");
    let file = root.path().join("north.kbak");

    let out = kindred(&["backup", "--data"], &[&data, &file]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("Backed up north.test"), "{said}");
    assert!(said.contains("while it ran"), "{said}");
    assert!(said.contains("sha256sum -c"), "{said}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "only the owner reads a backup: {mode:o}");
    // The sidecar is what sha256sum expects.
    let sidecar = std::fs::read_to_string(root.path().join("north.kbak.sha256")).unwrap();
    assert!(sidecar.ends_with("  north.kbak\n"), "{sidecar}");
    assert_eq!(sidecar.split_whitespace().next().unwrap().len(), 64);
    node.kill();

    // Restoring over a folder in use, or a file that is not a backup: a plain refusal.
    let out = kindred(&["restore", "--data"], &[&data, &file]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("is not empty"), "{said}");
    let out = kindred(
        &["restore", "--data"],
        &[&root.path().join("x"), &sidecar_path(&file)],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a Kindred backup"));

    // Checking a backup writes nothing and says whose it is.
    let out = kindred(&["restore", "--check"], &[&file]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("is a sound backup of north.test"), "{said}");

    let elsewhere = root.path().join("restored");
    let out = kindred(&["restore", "--data"], &[&elsewhere, &file]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("Restored north.test"), "{said}");
    assert!(said.contains("stopped for good"), "{said}");

    // The restored folder is a node with the same name and key.
    let mut again = support::start(&elsewhere, "north.test", "127.0.0.1:0");
    let health: serde_json::Value =
        serde_json::from_str(&support::get(&again.url, "/healthz")).unwrap();
    assert_eq!(health["name"], "north.test");
    again.kill();

    // A restore cut short (its marker still there) is not started.
    std::fs::write(elsewhere.join("RESTORE-IN-PROGRESS"), "").unwrap();
    let out = kindred(
        &["serve", "--listen", "127.0.0.1:0", "--data"],
        &[&elsewhere],
    );
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("did not finish"), "{said}");
    std::fs::remove_file(elsewhere.join("RESTORE-IN-PROGRESS")).unwrap();

    // A database without its key is not quietly given a new identity.
    std::fs::remove_file(elsewhere.join("node.key")).unwrap();
    let out = kindred(
        &["serve", "--listen", "127.0.0.1:0", "--data"],
        &[&elsewhere],
    );
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("but not its key"), "{said}");
    assert!(!elsewhere.join("node.key").exists());

    // Nor with another node's key in its place.
    let other = root.path().join("other");
    let mut stranger = support::start(&other, "south.test", "127.0.0.1:0");
    stranger.kill();
    std::fs::copy(other.join("node.key"), elsewhere.join("node.key")).unwrap();
    let out = kindred(
        &["serve", "--listen", "127.0.0.1:0", "--data"],
        &[&elsewhere],
    );
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("holds the database of node"), "{said}");
    // And it is not backed up as if the key were its own.
    let refused = root.path().join("mixed.kbak");
    let out = kindred(&["backup", "--data"], &[&elsewhere, &refused]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("holds the database of node"), "{said}");
    assert!(!refused.exists());
}

fn sidecar_path(file: &std::path::Path) -> std::path::PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sha256");
    s.into()
}
