//! Issue 16, item 6: the real `kindred` binary keeps its data folder private to itself.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// `kindred serve` on `data`, not started yet.
fn serve(data: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kindred"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--name",
            "private.test",
            "--data",
        ])
        .arg(data);
    command
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file and folder under `dir` with its mode.
fn modes(dir: &Path) -> Vec<(std::path::PathBuf, u32)> {
    let mut out = vec![(dir.to_owned(), mode(dir))];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(modes(&path));
        } else {
            out.push((path.clone(), mode(&path)));
        }
    }
    out
}

#[test]
fn a_folder_made_ready_with_mode_755_ends_up_private() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut node = support::start(&data, "private.test", "127.0.0.1:0");
    node.kill();
    let found = modes(&data);
    assert!(found.len() > 3, "the database was created: {found:?}");
    for (path, mode) in found {
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
    }
}

#[test]
fn a_folder_with_data_open_to_others_is_refused_clearly() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    let mut node = support::start(&data, "private.test", "127.0.0.1:0");
    node.kill();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();

    let refused = serve(&data).output().unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("can be read by other users"), "{said}");
    assert!(said.contains("chmod -R go-rwx"), "{said}");
    assert_eq!(
        mode(&data),
        0o755,
        "nothing was changed behind the admin's back"
    );

    // The setting says otherwise: it starts.
    let started = serve(&data)
        .env("KINDRED_SERVER__ALLOW_SHARED_DATA_DIR", "true")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut started = support::Proc::from_child(started);
    assert!(started.url.starts_with("http://127.0.0.1:"));
    started.kill();
}
