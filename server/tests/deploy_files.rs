//! Issue 20: the container files stay true to the code. No container engine runs on the
//! machines these tests run on (and base images cannot be fetched there), so the image is
//! not built here; instead its rules are checked, and the compose file's settings are loaded
//! as the node would load them.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap()
}

#[test]
fn the_containerfile_builds_in_two_stages_and_runs_as_a_user_with_a_volume_and_health_check() {
    let file = read("deploy/Containerfile");
    let lines: Vec<&str> = file
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    let from: Vec<&&str> = lines.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from.len(), 2, "a build stage and a run stage: {from:?}");
    assert!(from[0].ends_with(" AS build"), "{from:?}");
    assert!(
        from[1].contains("debian:") && from[1].contains("-slim"),
        "{from:?}"
    );
    // The Rust image is at least the workspace's rust-version.
    let cargo = read("Cargo.toml");
    let msrv = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    let image = from[0]
        .split("rust:")
        .nth(1)
        .unwrap()
        .split('-')
        .next()
        .unwrap();
    let version = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    assert!(version(image) >= version(msrv), "{image} < {msrv}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("cargo build --release --locked")),
        "built from the lock file"
    );
    let run_stage = &lines[lines.iter().position(|l| l == from[1]).unwrap()..];
    let user = run_stage
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the run stage sets a user");
    assert!(user != "root" && user != "0", "{user}");
    assert!(
        run_stage
            .iter()
            .any(|l| l.starts_with("VOLUME ") && l.contains("/var/lib/kindred"))
    );
    assert!(
        run_stage
            .iter()
            .any(|l| l.contains("KINDRED_SERVER__DATA_DIR=/var/lib/kindred"))
    );
    assert!(
        file.contains("HEALTHCHECK") && file.contains("/healthz"),
        "a health check on /healthz"
    );
    // What it copies from the repository exists, and the binaries are the ones Cargo builds.
    for line in lines
        .iter()
        .filter(|l| l.starts_with("COPY ") && !l.contains("--from"))
    {
        let source = line.split_whitespace().nth(1).unwrap();
        if source != "." {
            assert!(repo().join(source).exists(), "{source}");
        }
    }
    assert!(read("server/Cargo.toml").contains("name = \"kindred\""));
    assert!(read("client/Cargo.toml").contains("name = \"kindred-cli\""));
    // Build output and browser-test packages stay out of the build context.
    for ignore in [".containerignore", ".dockerignore"] {
        let text = read(ignore);
        assert!(text.lines().any(|l| l == "target"), "{ignore}");
    }
}

/// `KINDRED_*` settings of one service in compose.yaml (the file is simple YAML: one
/// `KEY: value` per line under `environment:` or the shared anchor).
fn compose_env(text: &str, service: &str) -> Vec<(String, String)> {
    let mut env = Vec::new();
    let mut in_service = false;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if indent == 2 && trimmed.ends_with(':') {
            in_service = trimmed == format!("{service}:");
        }
        if indent == 0 && trimmed.starts_with("x-node-env") {
            in_service = true;
        } else if indent == 0 && !trimmed.is_empty() && !trimmed.starts_with('#') {
            in_service = in_service && trimmed.starts_with("x-node-env");
        }
        if !in_service {
            continue;
        }
        if let Some((k, v)) = trimmed.split_once(": ")
            && k.starts_with("KINDRED_")
        {
            let v = v.trim();
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
                .unwrap_or(v);
            env.push((k.to_owned(), v.to_owned()));
        }
    }
    env
}

#[test]
fn every_setting_in_the_compose_file_is_one_the_node_accepts() {
    let text = read("deploy/compose.yaml");
    for service in ["ash", "birch", "cedar"] {
        let env = compose_env(&text, service);
        assert!(
            env.iter().any(|(k, _)| k == "KINDRED_TLS__EXTRA_CA_FILE"),
            "{service} gets the shared settings: {env:?}"
        );
        let config = kindred_server::Config::load(None, env.clone())
            .unwrap_or_else(|e| panic!("{service}: {e:#}"));
        assert_eq!(config.node.name.as_str(), format!("{service}.kindred.test"));
        assert_eq!(
            config.node.public_url.as_deref(),
            Some(format!("https://{service}.kindred.test").as_str())
        );
        assert!(!config.server.trusted_proxies.is_empty(), "{service}");
        // The Caddy site for it forwards to it.
        let caddy = read("deploy/caddy/Caddyfile.demo");
        assert!(
            caddy.contains(&format!(
                "{service}.kindred.test {{\n\treverse_proxy {service}:7070"
            )),
            "{service}"
        );
    }
    // The files it mounts and builds from exist.
    assert!(text.contains("dockerfile: deploy/Containerfile"));
    assert!(repo().join("deploy/caddy/Caddyfile.demo").exists());
}

/// Runs a checker from where `scripts/test` installs it; `None` (said on stderr) where it
/// is not installed (a plain `cargo test` before `scripts/test` ever ran).
fn run_checker(tool: &Path, args: &[&str]) -> Option<std::process::Output> {
    if !tool.exists() {
        eprintln!(
            "{} is not installed here (scripts/test installs it); not checked",
            tool.display()
        );
        return None;
    }
    Some(
        std::process::Command::new(tool)
            .args(args)
            .current_dir(repo())
            .output()
            .unwrap(),
    )
}

#[test]
fn the_containerfile_passes_the_linter() {
    let linter = repo().join("tests/browser/node_modules/.bin/dockerfile-utils");
    let Some(out) = run_checker(&linter, &["lint", "deploy/Containerfile"]) else {
        return;
    };
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains("Warning") && !said.contains("Error"),
        "{said}"
    );
}

#[test]
fn the_compose_file_is_read_by_podman_compose() {
    let tool = repo().join("target/tools/venv/bin/podman-compose");
    // `config` only reads and resolves the file: no container engine is asked anything.
    let Some(out) = run_checker(
        &tool,
        &[
            "--podman-path",
            "/bin/echo",
            "-f",
            "deploy/compose.yaml",
            "config",
        ],
    ) else {
        return;
    };
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for service in ["ash:", "birch:", "cedar:", "caddy:"] {
        assert!(said.contains(service), "{service} in\n{said}");
    }
    assert!(said.contains("dockerfile: deploy/Containerfile"), "{said}");
}
