//! The web interface in a real browser: starts two real nodes here, then runs the
//! Playwright suite in `tests/browser/` (Debian's Chromium, axe-core) against them.
//!
//! Needs Chromium (`apt-get install chromium`) and Node.js with the suite's packages
//! (`npm ci` in `tests/browser`, run here when they are missing). `.ci/run` installs
//! both. Missing either is a failure with a message saying what to install, never a skip.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use kindred_protocol::api::{CreateInvite, CreateTopic, RedeemInviteRequest};
use kindred_tests::{PASSWORD, TestNode};

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser")
}

fn chromium() -> String {
    let path = std::env::var("KINDRED_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&path).exists(),
        "The browser tests need Chromium at {path}. Install Debian's package \
         (`sudo apt-get install chromium`) or set KINDRED_CHROMIUM; `bash .ci/run` does this."
    );
    path
}

fn ensure_packages(dir: &Path) {
    if dir.join("node_modules/playwright-core").exists()
        && dir.join("node_modules/axe-core").exists()
    {
        return;
    }
    let status = std::process::Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .unwrap_or_else(|e| {
            panic!("The browser tests need Node.js and npm (to install playwright-core and axe-core): {e}")
        });
    assert!(status.success(), "`npm ci` in {} failed", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn web_interface_in_a_real_browser() {
    let chromium = chromium();
    let dir = suite_dir();
    ensure_packages(&dir);

    // A is brand new: the suite sets it up from its printed link. B has an admin, a
    // member and a shared topic, as another organisation would.
    // A sends email (to a sink), so its email settings page shows the whole form.
    let sink = kindred_tests::smtp_sink::SmtpSink::start().await;
    let a = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("alpha.test").unwrap();
        c.node.organisation = "Riverside Community Health".into();
        sink.configure(c);
        c.email.batch_minutes = 0;
        // The first admin is also the safeguarding lead, as in a small organisation.
        c.moderation.safeguarding_leads = vec!["ada".into()];
    })
    .await;
    let links = sink.serve_links().await;
    let b = TestNode::organisation("beta.test", "Hillside Wellbeing Hub").await;
    let b_admin = b.admin().await;
    b_admin
        .create_topic(&CreateTopic {
            name: "Funding".into(),
            description: "Grants, bids and budgets".into(),
            shared: true,
        })
        .await
        .unwrap();
    let invite = b_admin
        .create_invite(&CreateInvite::default())
        .await
        .unwrap();
    b.client()
        .redeem_invite(&RedeemInviteRequest {
            code: invite.code,
            username: "bea".into(),
            display_name: "Bea Brown".into(),
            password: PASSWORD.into(),
        })
        .await
        .unwrap();

    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/browser-screenshots");
    let mut command = std::process::Command::new("node");
    command
        .args(["--test", "--test-reporter=spec", "web.test.mjs"])
        .current_dir(&dir)
        .env("KINDRED_CHROMIUM", chromium)
        .env("KINDRED_SCREENSHOTS", &screenshots)
        .env("KINDRED_A_URL", a.url())
        .env("KINDRED_A_SETUP_TOKEN", a.setup_token.clone().unwrap())
        .env("KINDRED_B_URL", b.url())
        .env("KINDRED_B_ADMIN_USER", "admin")
        .env("KINDRED_B_USER", "bea")
        .env("KINDRED_PASSWORD", PASSWORD)
        .env("KINDRED_MAIL_LINKS", format!("http://{links}/links"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // The nodes keep serving on this runtime while the suite runs on a blocking thread.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("The browser tests need Node.js (`node`): {e}"));
    let report = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    println!("{report}");
    assert!(
        output.status.success(),
        "the browser suite failed:\n{report}\n{errors}"
    );
}
