//! Issue 20: the shipped systemd units stay hardened. `systemd-analyze security` rates a
//! unit's exposure from 0 (locked down) to 10; "OK" is 2.0 or under.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn the_systemd_units_are_rated_ok_by_systemd_analyze() {
    for (file, name) in [
        ("kindred.service", "kindred.service"),
        // A template is rated as an instance of it.
        ("kindred@.service", "kindred@ash.service"),
        ("backup/kindred-backup.service", "kindred-backup.service"),
    ] {
        rate(file, name);
    }
}

fn rate(file: &str, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join(name);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../deploy")
            .join(file),
        &unit,
    )
    .unwrap();
    let out = match Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&unit)
        .output()
    {
        Ok(out) => out,
        // Checked where the tool exists (Debian's `systemd` package, as on CI).
        Err(e) => {
            eprintln!("systemd-analyze is not available here ({e}); {name} was not rated");
            return;
        }
    };
    // The rating line goes to standard output or error depending on the version.
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let marker = format!("Overall exposure level for {name}:");
    let rating: f64 = text
        .lines()
        .find_map(|l| l.split(marker.as_str()).nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no rating for {name} in: {text}"));
    assert!(
        rating <= 2.0,
        "{name}: exposure {rating} (over 2.0):\n{text}"
    );
}
