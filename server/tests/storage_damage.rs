//! Damaged database files, as a bad disk or a bad copy leaves them: truncated, a page
//! zeroed, single bytes flipped, cut to half. For each, on each durable engine, the real
//! `kindred` binary must never crash (an unhandled panic: a refused start names the check
//! command, the check exits 0 or 1), and must never serve a damaged database as
//! if it were whole without `kindred storage check` saying so. What each engine promises
//! beyond that (docs/architecture.md, "Storage engines") is checked too: redb's checksums
//! find every damage that touches live data.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use kindred_client::Client;
use kindred_protocol::EventId;
use kindred_protocol::api::NewPost;

/// A node with some posts, stopped: its data folder and the acknowledged posts' ids.
async fn filled(dir: &Path, engine: &str, clean_stop: bool) -> (PathBuf, String, Vec<EventId>) {
    let data = dir.join("data");
    let mut node = support::start_on(&data, "localhost", "127.0.0.1:0", engine);
    let (admin, session) = support::admin_with_funding(&node).await;
    let mut ids = Vec::new();
    for i in 0..300 {
        let post = NewPost {
            title: format!("What we learned {i}"),
            body: "A reflection after the community event, with what worked. ".repeat(8),
            tags: vec![],
            content_warning: None,
        };
        ids.push(admin.create_post("Funding", &post).await.unwrap().id);
    }
    if clean_stop {
        node.stop();
    } else {
        node.kill();
    }
    (data, session.token, ids)
}

/// redb's redo journal (damaged on its own below).
const JOURNAL: &str = "kindred.journal";

/// The files an engine keeps its records in (the largest first; not redb's journal).
fn files(db: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![db.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.metadata().unwrap().len() > 0 && e.file_name() != JOURNAL {
                out.push(p);
            }
        }
    }
    out.sort_by_key(|p| std::cmp::Reverse(p.metadata().unwrap().len()));
    out
}

#[derive(Debug, Clone, Copy)]
enum Damage {
    Truncate4k,
    ZeroPage(u64),
    Flip(u64),
    Half,
}

fn damage(file: &Path, how: Damage) {
    let mut bytes = std::fs::read(file).unwrap();
    let len = bytes.len();
    match how {
        Damage::Truncate4k => bytes.truncate(len.saturating_sub(4096)),
        Damage::Half => bytes.truncate(len / 2),
        Damage::ZeroPage(per_mille) => {
            let at = (len as u64 * per_mille / 1000) as usize & !4095;
            let end = (at + 4096).min(len);
            bytes[at..end].fill(0);
        }
        Damage::Flip(per_mille) => {
            let at = ((len as u64 * per_mille / 1000) as usize).min(len - 1);
            bytes[at] ^= 0x55;
        }
    }
    std::fs::write(file, bytes).unwrap();
}

/// `kindred storage check` on the folder: (exit code, output).
fn check(data: &Path) -> (i32, String) {
    check_with(data, &[])
}

/// `kindred storage check --repair`: the admin accepts the loss.
fn repair(data: &Path) -> (i32, String) {
    check_with(data, &["--repair"])
}

fn check_with(data: &Path, flags: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kindred"))
        .args(["storage", "check"])
        .args(flags)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// What happened to one damaged copy.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The start was refused with a message naming the check command.
    Refused,
    /// Started, and `kindred storage check` reported the damage.
    Reported,
    /// Started, nothing reported, every acknowledged post readable (damage in free space).
    Whole,
    /// Started, nothing reported, yet posts were missing or failing.
    Silent(usize),
}

/// Where a redb journal's records start (after its header).
const JOURNAL_HEADER: usize = 64;

/// Where a redb journal's records end (from their start while the frames read).
fn journal_records(bytes: &[u8]) -> usize {
    let mut at = JOURNAL_HEADER;
    while bytes.get(at..at + 4) == Some(b"KJr1") {
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 28 + len;
    }
    at.min(bytes.len())
}

/// Damages the records of redb's journal (not the zeros after them).
fn damage_journal(file: &Path, how: Damage) {
    let mut bytes = std::fs::read(file).unwrap();
    let end = journal_records(&bytes);
    assert!(
        end > JOURNAL_HEADER,
        "the journal holds records after a burst"
    );
    let within =
        |per_mille: u64| JOURNAL_HEADER + (end - JOURNAL_HEADER) * per_mille as usize / 1000;
    match how {
        Damage::Truncate4k => bytes.truncate(end.saturating_sub(4096).max(within(500))),
        Damage::Half => bytes.truncate(within(500)),
        Damage::ZeroPage(per_mille) => {
            let at = within(per_mille);
            bytes[at..(at + 64).min(end)].fill(0);
        }
        Damage::Flip(per_mille) => bytes[within(per_mille)] ^= 0x55,
    }
    std::fs::write(file, bytes).unwrap();
}

async fn try_one(engine: &str, how: Damage, clean_stop: bool) -> Outcome {
    try_on(engine, how, clean_stop, false).await
}

/// As [`try_one`], damaging redb's journal (`in_journal`) or the engine's largest file.
async fn try_on(engine: &str, how: Damage, clean_stop: bool, in_journal: bool) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let (data, token, ids) = filled(dir.path(), engine, clean_stop).await;
    let file = if in_journal {
        let file = data.join("db").join(JOURNAL);
        damage_journal(&file, how);
        file
    } else {
        let file = files(&data.join("db")).into_iter().next().unwrap();
        damage(&file, how);
        file
    };
    let damaged = std::fs::read(&file).unwrap();
    let node = match support::try_start_on(&data, "localhost", "127.0.0.1:0", engine) {
        Ok(node) => node,
        Err(said) => {
            assert!(
                said.contains("kindred storage check"),
                "{engine} {how:?}: a refused start names the check: {said}"
            );
            let (code, said) = check(&data);
            assert_eq!(code, 1, "{engine} {how:?}: {said}");
            // Nor is it moved to another engine as if it were whole.
            let other = if engine == "redb" { "sled" } else { "redb" };
            let moved = Command::new(env!("CARGO_BIN_EXE_kindred"))
                .args(["storage", "migrate", "--to", other, "--data"])
                .arg(&data)
                .output()
                .unwrap();
            assert!(
                !moved.status.success(),
                "{engine} {how:?}: a damaged database was migrated"
            );
            assert!(
                data.join("db").exists(),
                "{engine} {how:?}: the database stays where it was"
            );
            if engine == "redb" {
                // A refused start or check leaves the damaged file exactly as it was.
                assert!(
                    std::fs::read(&file).unwrap() == damaged,
                    "{engine} {how:?}: the damaged file was changed"
                );
            }
            if in_journal {
                // The admin accepts the loss of what the journal held: the node starts.
                let (code, said) = repair(&data);
                assert_eq!(code, 0, "journal {how:?}: {said}");
                let (code, said) = check(&data);
                assert_eq!(code, 0, "journal {how:?}: after the repair: {said}");
                support::try_start_on(&data, "localhost", "127.0.0.1:0", engine)
                    .unwrap_or_else(|e| panic!("journal {how:?}: after the repair: {e}"));
            }
            return Outcome::Refused;
        }
    };
    let client = Client::new(&node.url).unwrap().with_token(token);
    let mut failing = 0;
    for id in &ids {
        if client.thread(id).await.is_err() {
            failing += 1;
        }
    }
    drop(node);
    let (code, said) = check(&data);
    // 101 is a panic's exit code, -1 a signal (an abort).
    assert!(
        code == 0 || code == 1,
        "{engine} {how:?}: the check crashed ({code}): {said}"
    );
    match (code, failing) {
        (0, 0) => Outcome::Whole,
        (0, n) => Outcome::Silent(n),
        _ => Outcome::Reported,
    }
}

const DAMAGES: [Damage; 15] = [
    Damage::Truncate4k,
    Damage::ZeroPage(300),
    Damage::ZeroPage(700),
    Damage::Flip(50),
    Damage::Flip(150),
    Damage::Flip(250),
    Damage::Flip(350),
    Damage::Flip(450),
    Damage::Flip(500),
    Damage::Flip(550),
    Damage::Flip(650),
    Damage::Flip(750),
    Damage::Flip(850),
    Damage::Flip(950),
    Damage::Half,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_finds_every_damage_that_touches_records() {
    // After an abrupt stop (the file needs redb's recovery) and after a clean one.
    for clean_stop in [false, true] {
        let mut seen = Vec::new();
        for how in DAMAGES {
            let outcome = try_one("redb", how, clean_stop).await;
            assert!(
                !matches!(outcome, Outcome::Silent(_)),
                "redb {how:?} (clean stop: {clean_stop}): damage went unnoticed: {outcome:?}"
            );
            seen.push((how, outcome));
        }
        eprintln!("redb, clean stop {clean_stop}: {seen:?}");
    }
}

/// The journal holds the writes since redb's last checkpoint (up to a second of them):
/// damage to its records is refused (a record inside the run) or costs only writes never
/// acknowledged (the torn end an abrupt stop leaves); losing acknowledged ones is caught
/// by the acknowledged mark. Never silent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_journal_damage_is_refused_or_harmless_never_silent() {
    let mut seen = Vec::new();
    for how in DAMAGES {
        let outcome = try_on("redb", how, false, true).await;
        assert!(
            !matches!(outcome, Outcome::Silent(_)),
            "redb journal {how:?}: damage went unnoticed: {outcome:?}"
        );
        seen.push((how, outcome));
    }
    eprintln!("redb journal: {seen:?}");
    // Only the very end may hold the torn append of an abrupt stop; anything before it
    // that fails is found (whether or not it held events: accounts and sessions too).
    for (how, outcome) in &seen {
        if !matches!(how, Damage::Flip(950)) {
            assert_eq!(*outcome, Outcome::Refused, "redb journal {how:?}: {seen:?}");
        }
    }
}

/// Two nodes' journals swapped (or one put back from a copy of another folder): refused,
/// never applied to the wrong database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_from_another_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (a, _, _) = filled(&dir.path().join("a"), "redb", false).await;
    let (b, _, _) = filled(&dir.path().join("b"), "redb", false).await;
    std::fs::copy(a.join("db").join(JOURNAL), b.join("db").join(JOURNAL)).unwrap();
    let before = std::fs::read(b.join("db").join(JOURNAL)).unwrap();
    let said = support::try_start_on(&b, "localhost", "127.0.0.1:0", "redb")
        .map(|_| ())
        .expect_err("another database's journal must not be applied");
    assert!(
        said.contains("belongs to another database") && said.contains("kindred storage check"),
        "{said}"
    );
    let (code, said) = check(&b);
    assert_eq!(code, 1, "{said}");
    assert!(std::fs::read(b.join("db").join(JOURNAL)).unwrap() == before);
    // The admin accepts the loss (the writes since B's last checkpoint): B starts with
    // what its own file holds, none of A's writes, and writes again.
    let (code, said) = repair(&b);
    assert_eq!(code, 0, "{said}");
    let node = support::start_on(&b, "localhost", "127.0.0.1:0", "redb");
    let (admin, _) = Client::new(&node.url)
        .unwrap()
        .login("admin", "correct horse battery")
        .await
        .unwrap();
    let post = NewPost {
        title: "After the repair".into(),
        body: "Writes work again.".into(),
        tags: vec![],
        content_warning: None,
    };
    admin.create_post("Funding", &post).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_never_crashes_on_damage() {
    // sled has no checksums: damage may go unnoticed (documented); it must not crash the
    // node or the check, and a refusal must say what to do.
    let mut seen = Vec::new();
    for how in DAMAGES {
        seen.push((how, try_one("sled", how, false).await));
    }
    eprintln!("sled: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_beside_its_key_is_refused_not_started_afresh() {
    for engine in ["redb", "sled"] {
        let dir = tempfile::tempdir().unwrap();
        let (data, _, _) = filled(dir.path(), engine, false).await;
        std::fs::remove_dir_all(data.join("db")).unwrap();
        let said = support::try_start_on(&data, "localhost", "127.0.0.1:0", engine)
            .map(|_| ())
            .expect_err("a node without its database must not start as a new one");
        assert!(said.contains("no database"), "{engine}: {said}");
        // The check says there is nothing there, and creates nothing.
        let (code, said) = check(&data);
        assert_eq!(code, 1, "{engine}: {said}");
        assert!(said.contains("no Kindred database"), "{engine}: {said}");
        assert!(
            !data.join("db").exists(),
            "{engine}: the check created a database"
        );
    } // A database file emptied (its acknowledged mark kept) is no database either, and
    // nothing is created in its place.
    let dir = tempfile::tempdir().unwrap();
    let (data, _, _) = filled(dir.path(), "redb", true).await;
    let file = data.join("db").join("kindred.redb");
    std::fs::write(&file, b"").unwrap();
    let said = support::try_start_on(&data, "localhost", "127.0.0.1:0", "redb")
        .map(|_| ())
        .expect_err("an emptied database must not start afresh");
    assert!(said.contains("no database"), "{said}");
    assert_eq!(
        std::fs::metadata(&file).unwrap().len(),
        0,
        "a file was made"
    );
}

/// Copies the files of `from` into `to` (created), all but the acknowledged mark.
fn copy_db(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_name() == "acknowledged" {
            continue;
        }
        if src.is_dir() {
            copy_db(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_lost_acknowledged_writes_is_refused_until_the_loss_is_accepted() {
    // The files go back to an earlier state while the acknowledged mark stays, as when redb
    // falls back past a damaged newest commit or an admin copies older files in.
    for engine in ["redb", "sled"] {
        let dir = tempfile::tempdir().unwrap();
        let (data, token, ids) = filled(dir.path(), engine, true).await;
        let older = dir.path().join("older");
        copy_db(&data.join("db"), &older);
        let node = support::start_on(&data, "localhost", "127.0.0.1:0", engine);
        let client = Client::new(&node.url).unwrap().with_token(token.clone());
        let post = NewPost {
            title: "Written after the copy".into(),
            body: "This one is acknowledged and then lost.".into(),
            tags: vec![],
            content_warning: None,
        };
        client.create_post("Funding", &post).await.unwrap();
        drop(node);
        for e in std::fs::read_dir(data.join("db")).unwrap().flatten() {
            if e.file_name() != "acknowledged" {
                let p = e.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(p).unwrap();
                } else {
                    std::fs::remove_file(p).unwrap();
                }
            }
        }
        copy_db(&older, &data.join("db"));
        let file = files(&data.join("db")).into_iter().next().unwrap();
        let before = std::fs::read(&file).unwrap();
        let said = support::try_start_on(&data, "localhost", "127.0.0.1:0", engine)
            .map(|_| ())
            .expect_err("a database missing acknowledged events must not start silently");
        assert!(
            said.contains("lost its newest writes") && said.contains("kindred storage check"),
            "{engine}: {said}"
        );
        if engine == "redb" {
            assert!(std::fs::read(&file).unwrap() == before, "{engine}: changed");
        }
        let (code, said) = check(&data);
        assert_eq!(code, 1, "{engine}: {said}");
        assert!(said.contains("WENT BACK"), "{engine}: {said}");
        let moved = Command::new(env!("CARGO_BIN_EXE_kindred"))
            .args(["storage", "migrate", "--to"])
            .arg(if engine == "redb" { "sled" } else { "redb" })
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        assert!(!moved.status.success(), "{engine}: migrated as if whole");
        // The admin accepts the loss; the node starts with what the files hold.
        let (code, said) = repair(&data);
        assert_eq!(code, 0, "{engine}: {said}");
        let node = support::start_on(&data, "localhost", "127.0.0.1:0", engine);
        let client = Client::new(&node.url).unwrap().with_token(token);
        assert!(client.thread(&ids[ids.len() - 1]).await.is_ok(), "{engine}");
        client.create_post("Funding", &post).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compaction_stopped_between_its_renames_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let (data, token, ids) = filled(dir.path(), "redb", true).await;
    // The original moved aside, the complete copy not yet in its place: `db` is missing.
    std::fs::rename(data.join("db"), data.join("db.compacting")).unwrap();
    std::fs::File::create(data.join("db.compacted")).unwrap();
    let node = support::start_on(&data, "localhost", "127.0.0.1:0", "redb");
    let client = Client::new(&node.url).unwrap().with_token(token);
    assert!(client.thread(&ids[ids.len() - 1]).await.is_ok());
    assert!(!data.join("db.compacting").exists() && !data.join("db.compacted").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_pointed_at_an_emptied_database_create_none() {
    let dir = tempfile::tempdir().unwrap();
    let (data, _, _) = filled(dir.path(), "redb", true).await;
    let file = data.join("db").join("kindred.redb");
    std::fs::write(&file, b"").unwrap();
    // With the acknowledged mark and without it.
    for round in 0..2 {
        if round == 1 {
            std::fs::remove_file(data.join("db").join("acknowledged")).unwrap();
        }
        let out = dir.path().join(format!("backup-{round}.kbak"));
        let backup = Command::new(env!("CARGO_BIN_EXE_kindred"))
            .arg("backup")
            .arg(&out)
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            !backup.status.success(),
            "round {round}: an empty folder was backed up"
        );
        for args in [
            &["storage", "check"][..],
            &["storage", "migrate", "--to", "sled"][..],
        ] {
            let ran = Command::new(env!("CARGO_BIN_EXE_kindred"))
                .args(args)
                .arg("--data")
                .arg(&data)
                .output()
                .unwrap();
            assert!(!ran.status.success(), "round {round}: {args:?}");
        }
        assert_eq!(
            std::fs::metadata(&file).unwrap().len(),
            0,
            "round {round}: a database was made"
        );
    }
}
