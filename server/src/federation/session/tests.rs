//! A session's bookkeeping, tested with two wires back to back: acknowledgements in
//! order, forks shown once, frames a session does not take.

use super::*;
use kindred_protocol::NodeKeypair;

fn node() -> (tempfile::TempDir, Node) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = crate::config::Config::default();
    config.server.data_dir = dir.path().join("data");
    config.node.name_chosen = true;
    (dir, Node::open(config).unwrap().node)
}

fn received(seen: &[(NodeId, u64)], forks: &[(NodeId, u64)]) -> Received {
    Received {
        stored: seen.len() as u64,
        seen: seen.iter().copied().collect(),
        forks: forks.to_vec(),
        gap: false,
    }
}

#[tokio::test]
async fn batches_are_acknowledged_in_order_or_the_link_ends() {
    let (_dir, node) = node();
    let peer = NodeKeypair::generate().unwrap().node_id();
    let origin = NodeKeypair::generate().unwrap().node_id();
    let mut s = Session::new(&node, peer, false).unwrap();
    s.batches_in_flight.push_back((1, 10, origin, 10));
    s.batches_in_flight.push_back((2, 5, origin, 15));
    s.on_batch_ack(1).unwrap();
    assert_eq!(s.stats.events_sent.load(Ordering::Relaxed), 10);
    assert_eq!(s.stats.heads.lock().unwrap()[&origin], 10);
    // An ack out of order (or for nothing sent) is a protocol error.
    assert!(matches!(s.on_batch_ack(7), Err(LinkError::Protocol(_))));
    assert!(matches!(s.on_batch_ack(3), Err(LinkError::Protocol(_))));
}

#[tokio::test]
async fn a_fork_is_shown_once_and_heads_only_grow() {
    let (_dir, node) = node();
    let peer = NodeKeypair::generate().unwrap().node_id();
    let origin = NodeKeypair::generate().unwrap().node_id();
    let mut s = Session::new(&node, peer, false).unwrap();
    s.theirs = Some(HashMap::from([(origin, 40)]));
    s.note_received(&received(&[(origin, 50)], &[]));
    assert_eq!(s.theirs.as_ref().unwrap()[&origin], 50);
    // An older batch never lowers what the peer is known to hold.
    s.note_received(&received(&[(origin, 30)], &[]));
    assert_eq!(s.theirs.as_ref().unwrap()[&origin], 50);
    // A fork at 20: this node's copy is offered by going back below it, once.
    s.note_received(&received(&[], &[(origin, 20)]));
    assert_eq!(s.theirs.as_ref().unwrap()[&origin], 19);
    s.theirs.as_mut().unwrap().insert(origin, 50);
    s.note_received(&received(&[], &[(origin, 20)]));
    assert_eq!(s.theirs.as_ref().unwrap()[&origin], 50, "shown once only");
}

#[tokio::test]
async fn frames_a_session_does_not_take_end_it_with_an_error_frame() {
    let (_dir, node) = node();
    let peer = NodeKeypair::generate().unwrap().node_id();
    let mut s = Session::new(&node, peer, true).unwrap();
    let (ours, mut theirs) = Wire::pair();
    let (batches, _incoming) = mpsc::channel(2);
    let (directed, _directed_in) = mpsc::channel(2);
    let pipes = Pipes { batches, directed };
    // A directed-only link carries no shared log.
    let batch = PeerFrame::EventBatch {
        batch: 1,
        events: Vec::new(),
    }
    .encode();
    let ended = s.on_incoming(&ours, Incoming::Frame(batch), &pipes).await;
    assert!(matches!(ended, Err(LinkError::Protocol(_))));
    let Some(Incoming::Frame(bytes)) = theirs.rx.recv().await else {
        panic!("the peer is told why");
    };
    assert!(matches!(
        PeerFrame::decode(&bytes),
        Ok(PeerFrame::Error { .. })
    ));
    // A ping is answered (on a link still open: an error frame closes it).
    let (ours, mut theirs) = Wire::pair();
    s.on_incoming(&ours, Incoming::Frame(PeerFrame::Ping(7).encode()), &pipes)
        .await
        .unwrap();
    let Some(Incoming::Frame(bytes)) = theirs.rx.recv().await else {
        panic!("a pong comes back");
    };
    assert!(matches!(PeerFrame::decode(&bytes), Ok(PeerFrame::Pong(7))));
}
