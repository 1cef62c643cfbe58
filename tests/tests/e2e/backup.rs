//! Backups taken while a paired node is busy, restored into an empty folder: the restored
//! node catches up with what it wrote after the backup and goes on without forking.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use kindred_client::Client;
use kindred_protocol::api::*;
use kindred_server::backup;
use kindred_tests::{TestNode, eventually, pair};

use super::trust_support::{titles, topic};

fn new_post(title: &str) -> NewPost {
    NewPost {
        title: title.into(),
        body: format!("Body of {title}"),
        tags: vec![],
        content_warning: None,
    }
}

/// Posts `W<n>` from `writers` clients at once until `stop_at` posts are acknowledged;
/// returns the acknowledged titles.
async fn write_until(clients: Vec<Client>, acked: Arc<AtomicUsize>, stop_at: usize) -> Vec<String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for client in clients {
        let (acked, next) = (acked.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while acked.load(Ordering::SeqCst) < stop_at {
                let title = format!("W{}", next.fetch_add(1, Ordering::SeqCst));
                client
                    .create_post("Funding", &new_post(&title))
                    .await
                    .unwrap();
                acked.fetch_add(1, Ordering::SeqCst);
                mine.push(title);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_backed_up_while_busy_is_restored_without_forking_or_losing_anything() {
    let mut a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    topic(&admin_a, "Funding").await;
    topic(&admin_b, "Funding").await;
    pair(&admin_a, &admin_b).await;
    let writers = vec![
        a.member(&admin_a, "ann").await,
        a.member(&admin_a, "amy").await,
        a.member(&admin_a, "abe").await,
    ];

    // Three members write at once; the backup is taken in the middle of it.
    let acked = Arc::new(AtomicUsize::new(0));
    let writing = tokio::spawn(write_until(writers, acked.clone(), 80));
    eventually(30, || async {
        (acked.load(Ordering::SeqCst) >= 25).then_some(())
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("a.kbak");
    let (data, out) = (a.data_dir(), file.clone());
    let summary = tokio::task::spawn_blocking(move || backup::backup(&data, &out, |_| {}))
        .await
        .unwrap()
        .unwrap();
    assert!(summary.online, "taken through the running node");
    assert_eq!(summary.header.node_name, "a.test");
    let at_backup = acked.load(Ordering::SeqCst);
    let written = sorted(writing.await.unwrap());
    assert!(
        written.len() > at_backup,
        "writing went on after the backup ({at_backup} of {})",
        written.len()
    );
    // B holds everything A acknowledged, including what the backup lacks.
    eventually(30, || async {
        (sorted(titles(&admin_b).await) == written).then_some(())
    })
    .await;

    // The disk is lost: A is restored from the backup into an empty folder.
    a.stop().await;
    std::fs::remove_dir_all(a.data_dir()).unwrap();
    let (data, from) = (a.data_dir(), file.clone());
    let restored = tokio::task::spawn_blocking(move || backup::restore(&from, &data, |_| {}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(restored.records, summary.records);
    a.start_again().await;
    let (admin_a, _) = a
        .client()
        .login("admin", kindred_tests::PASSWORD)
        .await
        .unwrap();
    // It fetches back what it wrote after the backup before it writes again.
    for n in 0..3 {
        admin_a
            .create_post("Funding", &new_post(&format!("After{n}")))
            .await
            .unwrap();
    }
    let mut everything = written.clone();
    everything.extend((0..3).map(|n| format!("After{n}")));
    let everything = sorted(everything);
    for admin in [&admin_a, &admin_b] {
        eventually(30, || async {
            (sorted(titles(admin).await) == everything).then_some(())
        })
        .await;
        assert!(
            admin.federation_warnings().await.unwrap().is_empty(),
            "no fork"
        );
    }
    // The search index (not in the backup) is rebuilt from the event log.
    eventually(30, || async {
        let hits = admin_a.search("body", Some(100)).await.ok()?;
        (hits.len() >= written.len().min(100)).then_some(())
    })
    .await;
    // Members and their sign-ins came back with the node.
    let (ann, _) = a
        .client()
        .login("ann", kindred_tests::PASSWORD)
        .await
        .unwrap();
    assert!(ann.topic_posts("Funding", None, Some(5)).await.is_ok());
}

#[tokio::test]
async fn a_damaged_backup_is_refused_before_anything_is_written() {
    let node = TestNode::named("a.test").await;
    let admin = node.admin().await;
    topic(&admin, "Funding").await;
    admin
        .create_post("Funding", &new_post("One"))
        .await
        .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("a.kbak");
    let (data, out) = (node.data_dir(), file.clone());
    tokio::task::spawn_blocking(move || backup::backup(&data, &out, |_| {}))
        .await
        .unwrap()
        .unwrap();
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    let damaged = folder.path().join("damaged.kbak");
    std::fs::write(&damaged, &bytes).unwrap();
    let target = folder.path().join("restored");
    let err = backup::restore(&damaged, &target, |_| {}).unwrap_err();
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(!target.exists(), "nothing written");
    // Into a folder that holds something: refused.
    let err = backup::restore(&file, &node.data_dir(), |_| {}).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    // Into an empty folder another restore is filling: refused.
    let busy = folder.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    let lock = std::fs::File::open(&busy).unwrap();
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
    let err = backup::restore(&file, &busy, |_| {}).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
    drop(lock);
    // Only checked: nothing written, everything said.
    let checked = backup::check(&file, |_| {}).unwrap();
    assert_eq!(checked.header.node_name, "a.test");
    assert!(backup::check(&damaged, |_| {}).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_nobody_reads_never_holds_up_the_node() {
    let node = TestNode::named("a.test").await;
    let admin = node.admin().await;
    topic(&admin, "Funding").await;
    admin
        .create_post("Funding", &new_post("Before"))
        .await
        .unwrap();
    // A client asks for a backup and never reads it (a stopped `kindred backup`, a hung
    // network folder).
    let socket = node.data_dir().join(backup::CONTROL_SOCKET);
    let mut stalled = std::os::unix::net::UnixStream::connect(&socket).unwrap();
    std::io::Write::write_all(&mut stalled, b"backup\n").unwrap();
    // Members keep writing meanwhile (a guard, not a speed test: a node that waited on the
    // client would never answer).
    for n in 0..20 {
        tokio::time::timeout(
            std::time::Duration::from_secs(60),
            admin.create_post("Funding", &new_post(&format!("While stalled {n}"))),
        )
        .await
        .expect("writes go on while a backup is unread")
        .unwrap();
    }
    // One backup at a time: while the stalled one holds the node's snapshot, another is
    // refused, saying why.
    let folder = tempfile::tempdir().unwrap();
    let (data, out) = (node.data_dir(), folder.path().join("b.kbak"));
    let second = tokio::task::spawn_blocking(move || backup::backup(&data, &out, |_| {}))
        .await
        .unwrap();
    if let Err(e) = second {
        assert!(e.to_string().contains("another backup"), "{e}");
    }
    drop(stalled);
    // And a real backup works once the stalled one is gone, with nothing left behind in
    // the data folder.
    eventually(30, || async {
        let (data, out) = (node.data_dir(), folder.path().join("a.kbak"));
        tokio::task::spawn_blocking(move || backup::backup(&data, &out, |_| {}))
            .await
            .unwrap()
            .ok()
    })
    .await;
    eventually(20, || async {
        let left: Vec<_> = std::fs::read_dir(node.data_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("backup-"))
            .collect();
        left.is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_backup_never_writes_through_links_or_over_what_is_not_a_file() {
    use std::os::unix::fs::PermissionsExt;
    let node = TestNode::named("a.test").await;
    node.admin().await;
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path();
    // Someone else left links where the backup and its checksum will go.
    let victim = dir.join("victim.conf");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("n.kbak.sha256")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("n.kbak.partial")).unwrap();
    let (data, out) = (node.data_dir(), dir.join("n.kbak"));
    tokio::task::spawn_blocking(move || backup::backup(&data, &out, |_| {}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let sidecar = std::fs::symlink_metadata(dir.join("n.kbak.sha256")).unwrap();
    assert!(
        sidecar.file_type().is_file(),
        "the link was replaced, not followed"
    );
    let mode = std::fs::metadata(dir.join("n.kbak"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0);
    // A folder, a link or "-" as the backup file: refused, nothing replaced.
    std::os::unix::fs::symlink(&victim, dir.join("link.kbak")).unwrap();
    for target in [dir.to_owned(), dir.join("link.kbak"), "-".into()] {
        let (data, out) = (node.data_dir(), target.clone());
        let err = tokio::task::spawn_blocking(move || backup::backup(&data, &out, |_| {}))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            err.to_string().contains("cannot write the backup"),
            "{target:?}: {err}"
        );
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // Nothing half-written is left next to it.
    let stray: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial") && n != "n.kbak.partial")
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

/// A restore says which account deletions were waiting in the backup (an admin may have
/// stopped one since, and must stop it again).
#[tokio::test]
async fn a_restore_names_the_deletions_waiting_in_the_backup() {
    let node = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.accounts.deletion_grace_days = 7;
    })
    .await;
    let admin = node.admin().await;
    let sam = node.member(&admin, "sam").await;
    let done = sam
        .delete_me(&DeleteAccount {
            password: kindred_tests::PASSWORD.into(),
            confirm: "sam".into(),
        })
        .await
        .unwrap();
    let due = done.erase_at.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let file = folder.path().join("a.kbak");
    let (data, out) = (node.data_dir(), file.clone());
    tokio::task::spawn_blocking(move || backup::backup(&data, &out, |_| {}))
        .await
        .unwrap()
        .unwrap();
    admin.stop_deletion("sam").await.unwrap();
    let target = folder.path().join("restored");
    let target2 = target.clone();
    let pending = tokio::task::spawn_blocking(move || {
        backup::restore(&file, &target2, |_| {}).unwrap();
        backup::pending_deletions(&target2).unwrap()
    })
    .await
    .unwrap();
    assert_eq!(pending, vec![("sam".to_owned(), due.as_millis())]);
    assert!(target.join("db").exists());
}
