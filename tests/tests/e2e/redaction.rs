//! Retracting a post or reply takes its words off every node: the origin publishes a
//! redaction (its signed tombstone for the entry and each edit), every node replaces the
//! stored content with the tombstone, and a node paired later is sent only tombstones.

use kindred_protocol::api::*;
use kindred_tests::{PASSWORD, TestNode, eventually, pair};

use super::trust_support::topic;

fn new_post(title: &str, body: &str) -> NewPost {
    NewPost {
        title: title.into(),
        body: body.into(),
        tags: vec![],
        content_warning: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retracted_post_and_its_edits_leave_every_node() {
    let word = format!("REDACTME{}", std::process::id());
    let edit_word = format!("EDITWORD{}", std::process::id());
    let kept = format!("KEPTWORD{}", std::process::id());
    let mut a = TestNode::named("a.test").await;
    let mut b = TestNode::named("hub.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    for admin in [&admin_a, &admin_b] {
        topic(admin, "Funding").await;
    }
    pair(&admin_b, &admin_a).await;
    let ann = a.member(&admin_a, "ann").await;
    let bob = b.member(&admin_b, "bob").await;

    let hers = ann
        .create_post("Funding", &new_post(&format!("{word} bid"), "first draft"))
        .await
        .unwrap();
    ann.edit(
        &hers.id,
        &EditPost {
            title: Some(format!("{word} bid")),
            body: format!("{edit_word} second draft"),
            tags: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();
    let other = ann
        .create_post(
            "Funding",
            &new_post(&format!("{kept} stays"), "not retracted"),
        )
        .await
        .unwrap();
    eventually(30, || async {
        let t = bob.thread(&hers.id).await.ok()?;
        bob.thread(&other.id).await.ok()?;
        t.post.body.contains(&edit_word).then_some(())
    })
    .await;
    // Bob's reply stays his: only the origin's own slots are redacted.
    bob.reply(
        &hers.id,
        &NewReply {
            body: "Bob answers".into(),
            reply_to: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();
    eventually(30, || async {
        (ann.thread(&hers.id).await.ok()?.replies.len() == 1).then_some(())
    })
    .await;

    ann.retract(&hers.id, None).await.unwrap();
    for client in [&admin_a, &admin_b] {
        eventually(30, || async {
            client.thread(&hers.id).await.is_err().then_some(())
        })
        .await;
        // A search waits for the index to cover everything stored: the words are gone
        // from it too, and what was not retracted is still found.
        eventually(30, || async {
            let gone = client.search(&edit_word, None).await.ok()?.is_empty();
            let found = !client.search(&kept, None).await.ok()?.is_empty();
            (gone && found).then_some(())
        })
        .await;
    }
    // B got the redaction (the tombstones), not only the retraction.
    b.stop().await;
    assert!(
        !b.stored_anywhere(word.as_bytes()),
        "B keeps the post's words"
    );
    assert!(
        !b.stored_anywhere(edit_word.as_bytes()),
        "B keeps the edit's words"
    );
    assert!(
        b.stored_anywhere(kept.as_bytes()),
        "the scan sees what is held"
    );
    assert!(b.stored_anywhere(b"Bob answers"), "Bob's reply is his");
    b.start_again().await;

    // A node paired afterwards is sent the tombstones in their slots, never the words.
    let mut c = TestNode::named("c.test").await;
    let admin_c = c.admin().await;
    topic(&admin_c, "Funding").await;
    pair(&admin_c, &admin_a).await;
    eventually(30, || async { admin_c.thread(&other.id).await.ok() }).await;
    assert!(admin_c.thread(&hers.id).await.is_err());
    for node in [&mut a, &mut c] {
        node.stop().await;
        assert!(!node.stored_anywhere(word.as_bytes()));
        assert!(!node.stored_anywhere(edit_word.as_bytes()));
        assert!(node.stored_anywhere(kept.as_bytes()));
    }
}

/// A moderator's retraction of a member's post is redacted the same way (the tombstones
/// are the author's, signed by their node).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moderators_retraction_is_redacted_too() {
    let word = format!("MODREDACT{}", std::process::id());
    let mut a = TestNode::named("a.test").await;
    let admin = a.admin().await;
    topic(&admin, "Funding").await;
    let ann = a.member(&admin, "ann").await;
    let hers = ann
        .create_post("Funding", &new_post(&format!("{word} title"), "words"))
        .await
        .unwrap();
    admin
        .retract(&hers.id, Some("off topic".into()))
        .await
        .unwrap();
    assert!(admin.search(&word, None).await.unwrap().is_empty());
    a.stop().await;
    assert!(!a.stored_anywhere(word.as_bytes()));
}

/// A node whose key was rotated on purpose forgets its pairings; once its partner blocks
/// the old node, the two pair again and carry on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_node_pairs_again() {
    let mut a = TestNode::named("a.test").await;
    let b = TestNode::named("hub.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    for admin in [&admin_a, &admin_b] {
        topic(admin, "Funding").await;
    }
    pair(&admin_b, &admin_a).await;
    let old_a = admin_a.health().await.unwrap().node_id;
    a.stop().await;
    std::fs::remove_file(a.data_dir().join("node.key")).unwrap();
    a.config.node.key_rotated = true;
    a.start_again().await;
    let admin_a = a.client().login("admin", PASSWORD).await.unwrap().0;
    assert_ne!(admin_a.health().await.unwrap().node_id, old_a, "a new key");
    assert!(
        admin_a.peers().await.unwrap().is_empty(),
        "pairings forgotten"
    );

    admin_b.block_peer(&old_a).await.unwrap();
    pair(&admin_b, &admin_a).await;
    let ann = a.member(&admin_a, "ann").await;
    let post = ann
        .create_post("Funding", &new_post("After the rotation", "Still here"))
        .await
        .unwrap();
    eventually(30, || async { admin_b.thread(&post.id).await.ok() }).await;
}
