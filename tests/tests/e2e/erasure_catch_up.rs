//! Erasures reaching nodes that were not there when they happened: a node paired later is
//! sent each erased event's tombstone in its slot (one on the previous protocol version is
//! named to admins instead), and a home node restored from an older backup carries out an
//! erasure it had forgotten.
#![allow(clippy::unwrap_used)]

use kindred_protocol::api::*;
use kindred_tests::{PASSWORD, TestNode, eventually, pair};

use super::erasure::{new_post, sign_in};
use super::trust_support::topic;

/// Collects the shared-log events a raw peer is sent (acknowledging each batch) until
/// `done` says it has what it waits for; `None` if the link ends or goes quiet first.
async fn collect(
    raw: &mut kindred_tests::raw_peer::RawPeer,
    seconds: u64,
    done: impl Fn(&[kindred_protocol::SignedEvent]) -> bool,
) -> (Vec<kindred_protocol::SignedEvent>, bool) {
    use kindred_protocol::peer::PeerFrame;
    let mut got = Vec::new();
    let quiet = std::time::Duration::from_secs(seconds);
    while let Ok(Some(frame)) = tokio::time::timeout(quiet, raw.recv()).await {
        if let PeerFrame::EventBatch { batch, events } = frame {
            got.extend(events);
            raw.send(&PeerFrame::BatchAck { batch }).await.unwrap();
            if done(&got) {
                return (got, true);
            }
        }
    }
    (got, false)
}

/// A node paired after the erasure is sent each erased event's signed tombstone in its
/// slot, and what came after; a node on the previous protocol version is sent no
/// tombstone (it could not read one), and admins are told it cannot carry out erasures.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tombstones_travel_in_place_of_erased_events_and_old_nodes_are_named() {
    use kindred_tests::raw_peer::RawPeer;
    let a = TestNode::named("a.test").await;
    let admin = a.admin().await;
    topic(&admin, "Funding").await;
    let ann = a.member(&admin, "ann").await;
    let hers = ann
        .create_post("Funding", &new_post("ERASED bid", "gone soon"))
        .await
        .unwrap();
    ann.delete_me(&DeleteAccount {
        password: PASSWORD.into(),
        confirm: "ann".into(),
    })
    .await
    .unwrap();
    let after = admin
        .create_post("Funding", &new_post("After", "still here"))
        .await
        .unwrap();

    // A current node: the tombstone (verifiable, same id, no content), then the rest.
    let invite = admin.create_peer_invite().await.unwrap();
    let mut new = RawPeer::paired(&a.url(), &invite.token, 41, "new.test")
        .await
        .unwrap();
    new.send(&kindred_protocol::peer::PeerFrame::HaveVector(vec![]))
        .await
        .unwrap();
    let (got, complete) = collect(&mut new, 15, |got| got.iter().any(|e| e.id() == after.id)).await;
    assert!(
        complete,
        "the node's later posts arrive after the tombstones"
    );
    let tomb = got.iter().find(|e| e.id() == hers.id).unwrap();
    assert!(tomb.is_tombstone());
    assert!(tomb.clone().verify().is_ok());
    assert!(!got.iter().any(|e| {
        e.payload_bytes()
            .windows(b"ERASED".len())
            .any(|w| w == b"ERASED")
    }));

    // A version-2 node: everything up to the first erased slot, never a tombstone.
    let invite = admin.create_peer_invite().await.unwrap();
    let mut old = RawPeer::paired_as(&a.url(), &invite.token, 42, "old.test", 2)
        .await
        .unwrap();
    old.send(&kindred_protocol::peer::PeerFrame::HaveVector(vec![]))
        .await
        .unwrap();
    let (got, _) = collect(&mut old, 3, |got| got.iter().any(|e| e.id() == after.id)).await;
    assert!(got.iter().all(|e| !e.is_tombstone()));
    assert!(!got.iter().any(|e| e.id() == after.id));
    let warnings = admin.federation_warnings().await.unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.kind == WarningKind::OldVersion && w.message.contains("old.test")),
        "{warnings:?}"
    );
}

/// A home node restored from a backup taken before an erasure, started while its peers are
/// down, writes over the erasure's number (the member can sign in and post). When its peer
/// comes back with the erasure, the node carries it out (its own signature) and erases
/// what the member wrote meanwhile; the account goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_restored_before_an_erasure_still_carries_it_out() {
    let mut a = TestNode::named("a.test").await;
    let mut b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    topic(&admin_a, "Funding").await;
    topic(&admin_b, "Funding").await;
    pair(&admin_a, &admin_b).await;
    let gil = a.member(&admin_a, "gil").await;
    let old = gil
        .create_post("Funding", &new_post("GILOLD", "before the backup"))
        .await
        .unwrap();
    eventually(30, || async { admin_b.thread(&old.id).await.ok() }).await;
    let backup = tempfile::tempdir().unwrap();
    a.stop().await;
    kindred_tests::copy_dir(&a.data_dir(), backup.path());
    a.start_again().await;
    let admin_a = sign_in(&a, "admin").await;
    admin_a
        .delete_member(
            "gil",
            &DeleteMember {
                confirm: "gil".into(),
            },
        )
        .await
        .unwrap();
    eventually(30, || async {
        admin_b.thread(&old.id).await.is_err().then_some(())
    })
    .await;

    // Restored from the backup while B is down: A waits for B a few seconds, then writes.
    b.stop().await;
    a.stop().await;
    std::fs::remove_dir_all(a.data_dir()).unwrap();
    kindred_tests::copy_dir(backup.path(), &a.data_dir());
    a.start_again().await;
    let gil = sign_in(&a, "gil").await;
    let new = gil
        .create_post("Funding", &new_post("GILNEW", "after the restore"))
        .await
        .unwrap();

    // B comes back with the erasure: A carries it out, and erases the new post too.
    b.start_again().await;
    let admin_a = sign_in(&a, "admin").await;
    eventually(60, || async {
        let old_gone = admin_a.thread(&old.id).await.is_err();
        let new_gone = admin_a.thread(&new.id).await.is_err();
        let account = admin_a
            .members()
            .await
            .ok()?
            .iter()
            .any(|m| m.username == "gil");
        (old_gone && new_gone && !account).then_some(())
    })
    .await;
    assert!(a.client().login("gil", PASSWORD).await.is_err());
}
