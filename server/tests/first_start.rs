//! Issue 20, first start: the real `kindred` binary never quietly names a node
//! "localhost", and says in one plain sentence when its folder is in use.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::{Command, Stdio};

#[test]
fn a_first_start_without_a_name_refuses_and_says_how_to_choose_one() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    // Not at a terminal (a service, a script): no prompt, a refusal that says what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("has no name yet"), "{said}");
    assert!(said.contains("--name kindred.example.org"), "{said}");
    assert!(said.contains("--name localhost"), "{said}");
    assert_eq!(said.trim().lines().count(), 1, "one line: {said}");
    assert!(!data.exists(), "nothing was created");

    // Named once, it keeps its name (and its organisation's): a later start without
    // --name or --organisation uses them.
    let first = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "north.test",
            "--organisation",
            "North Wellbeing",
            "--data",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    support::Proc::from_child(first).kill();
    let again = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut again = support::Proc::from_child(again);
    let health: serde_json::Value =
        serde_json::from_str(&support::get(&again.url, "/healthz")).unwrap();
    assert_eq!(health["organisation"], "North Wellbeing", "{health}");
    assert_eq!(health["name"], "north.test", "{health}");
    // A second node on the same folder while it runs: one plain sentence.
    let second = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("is in use by another Kindred node that is running"),
        "{said}"
    );
    assert!(
        !said.contains("WouldBlock") && !said.contains("lock"),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "one line: {said}");
    again.kill();
    // Its name is still the one it was given.
    let out = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "south.test",
            "--data",
        ])
        .arg(&data)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("belongs to the node named \"north.test\""),
        "{said}"
    );
}

/// A first start stopped after it made the node key but before the database recorded it
/// (a kill or a power cut in its first moments) is taken up again at the next start, not
/// refused as a database lost beside its key: nothing was ever signed or stored.
#[test]
fn a_first_start_cut_short_is_taken_up_again() {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::DirBuilder::new()
        .mode(0o700)
        .recursive(true)
        .create(data.join("db"))
        .unwrap();
    // What the first start had written when it stopped: its mark, the key, an empty db.
    std::fs::write(data.join("first-start"), b"").unwrap();
    // redb had begun its file: the start was killed before its first commit was whole.
    std::fs::write(data.join("db").join("kindred.redb"), vec![0u8; 73_728]).unwrap();
    let mut key = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(data.join("node.key"))
        .unwrap();
    std::io::Write::write_all(&mut key, format!("{}\n", "ab".repeat(32)).as_bytes()).unwrap();
    drop(key);
    let mut node = support::start_on(&data, "north.test", "127.0.0.1:0", "redb");
    node.stop();
    assert!(
        !data.join("first-start").exists(),
        "the finished first start takes its mark away"
    );
    let aside: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("db.unfinished-first-start-")
        })
        .collect();
    assert_eq!(aside.len(), 1, "what the stopped start began is kept aside");
    // Started once, the same folder starts again as any other.
    let mut node = support::start_on(&data, "north.test", "127.0.0.1:0", "redb");
    node.stop();
}

/// A stop the moment the node says it is listening (a service manager restarting it, an
/// admin's quick Ctrl-C) is a clean one: the signals are listened for before the node
/// opens, so none ends the process by its default action (which left the control socket
/// behind and skipped the database's checkpoint).
#[test]
fn a_stop_right_after_the_start_is_a_clean_one() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    for _ in 0..5 {
        let mut node = support::start_on(&data, "north.test", "127.0.0.1:0", "redb");
        let _ = rustix::process::kill_process(
            rustix::process::Pid::from_raw(node.child.id() as i32).unwrap(),
            rustix::process::Signal::TERM,
        );
        let status = node.child.wait().unwrap();
        assert!(status.success(), "stopped cleanly: {status:?}");
        assert!(
            !data.join("control.sock").exists(),
            "the control socket is gone"
        );
    }
}
