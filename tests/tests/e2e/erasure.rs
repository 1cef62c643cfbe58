//! Erasure that reaches every node: a member deletes their account at A, and their posts,
//! replies, reactions, profile and chat messages go from A, from the hub B, from C (down
//! during the erasure, catching up afterwards) and never reach D (paired later, fed the
//! tombstones); nothing of theirs is left in any node's data folder once stopped.
#![allow(clippy::unwrap_used)]

use kindred_client::Client;
use kindred_protocol::api::*;
use kindred_tests::mentoring::{offer, request};
use kindred_tests::{PASSWORD, TestNode, eventually, pair};

use super::trust_support::{id, topic};

pub(super) fn new_post(title: &str, body: &str) -> NewPost {
    NewPost {
        title: title.into(),
        body: body.into(),
        tags: vec![],
        content_warning: None,
    }
}

fn new_reply(body: &str) -> NewReply {
    NewReply {
        body: body.into(),
        reply_to: None,
        content_warning: None,
    }
}

/// Whether any file under `dir` holds `needle` (the raw bytes, free space included).
fn on_disk(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(on_disk(&path, needle));
        } else if std::fs::read(&path)
            .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        {
            found.push(path);
        }
    }
    found
}

pub(super) async fn sign_in(node: &TestNode, who: &str) -> Client {
    node.client().login(who, PASSWORD).await.unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_erased_member_is_gone_from_every_node_and_every_data_folder() {
    let marker = format!("ERASEME{}", std::process::id());
    let mut a = TestNode::named("a.test").await;
    let mut b = TestNode::named("hub.test").await;
    let mut c = TestNode::named("c.test").await;
    let (admin_a, admin_b, admin_c) = (a.admin().await, b.admin().await, c.admin().await);
    for admin in [&admin_a, &admin_b, &admin_c] {
        topic(admin, "Funding").await;
    }
    pair(&admin_b, &admin_a).await;
    pair(&admin_b, &admin_c).await;
    let ann = a.member(&admin_a, "ann").await;
    let bob = b.member(&admin_b, "bob").await;
    let cat = c.member(&admin_c, "cat").await;

    // Ann writes everywhere: a post, a reply and a reaction on Bob's post, a message to Cat.
    let hers = ann
        .create_post(
            "Funding",
            &new_post(&format!("{marker} bid"), &format!("{marker} in the body")),
        )
        .await
        .unwrap();
    let bobs = bob
        .create_post("Funding", &new_post("Bob asks", "What worked for you?"))
        .await
        .unwrap();
    eventually(30, || async { ann.thread(&bobs.id).await.ok() }).await;
    ann.reply(&bobs.id, &new_reply(&format!("{marker} reply")))
        .await
        .unwrap();
    ann.react(&bobs.id, "me-too").await.unwrap();
    let bob_reply = eventually(30, || async { bob.thread(&hers.id).await.ok() }).await;
    assert_eq!(bob_reply.post.title, Some(format!("{marker} bid")));
    bob.reply(&hers.id, &new_reply("Bob answers Ann"))
        .await
        .unwrap();
    let dm = ann
        .send_message(&id("@cat:c.test"), &format!("{marker} private"))
        .await
        .unwrap();
    // C holds all of it before it goes down.
    eventually(30, || async {
        let t = cat.thread(&bobs.id).await.ok()?;
        let h = cat.history(&dm.conversation, None, None).await.ok()?;
        (t.replies.len() == 1 && !t.post.reactions.is_empty() && h.items.len() == 1).then_some(())
    })
    .await;
    cat.thread(&hers.id).await.unwrap();
    for client in [&admin_a, &admin_b] {
        eventually(30, || async {
            (!client.search(&marker, None).await.ok()?.is_empty()).then_some(())
        })
        .await;
    }
    c.stop().await;

    // Bob has the hub's pages open: he is told live when her posts go.
    let mut live = bob.stream().await.unwrap();

    // Ann deletes her account (a wrong confirmation is refused first).
    let wrong = ann
        .delete_me(&DeleteAccount {
            password: PASSWORD.into(),
            confirm: "an".into(),
        })
        .await;
    assert!(wrong.is_err());
    let done = ann
        .delete_me(&DeleteAccount {
            password: PASSWORD.into(),
            confirm: "ann".into(),
        })
        .await
        .unwrap();
    assert!(done.erased);
    assert!(done.events_erased >= 3, "{done:?}");
    assert!(a.client().login("ann", PASSWORD).await.is_err());
    let again = a.member_try(&admin_a, "ann").await;
    assert!(
        again.is_err(),
        "an erased username is never given out again"
    );

    let told = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(Ok(m)) = live.next().await {
            if matches!(m, StreamMessage::Retracted { id } if id == hers.id) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(told, "open pages are told her post is gone");

    // A and the hub B: her post (and its thread), reply, reaction and profile are gone.
    for (who, client) in [("A", &admin_a), ("B", &admin_b)] {
        eventually(30, || async {
            let gone = client.thread(&hers.id).await.is_err();
            let t = client.thread(&bobs.id).await.ok()?;
            let people = client.people(Some("ann")).await.ok()?;
            (gone && t.replies.is_empty() && t.post.reactions.is_empty() && people.is_empty())
                .then_some(())
        })
        .await;
        let found = client.search(&marker, None).await.unwrap();
        assert!(found.is_empty(), "{who} still finds her words");
    }

    // A restarts at once (its erasure finished): nothing is erased twice, and the erasure
    // events themselves still reach the nodes that are behind.
    a.restart().await;
    let admin_a = sign_in(&a, "admin").await;

    // C was down: it catches up through the hub and drops what it held.
    c.start_again().await;
    let cat = sign_in(&c, "cat").await;
    eventually(30, || async {
        let gone = cat.thread(&hers.id).await.is_err();
        let t = cat.thread(&bobs.id).await.ok()?;
        let h = cat.history(&dm.conversation, None, None).await.ok()?;
        // Her message's place shows "Message deleted", without its words.
        let deleted = h.items.len() == 1 && h.items[0].deleted && h.items[0].body.is_empty();
        (gone && t.replies.is_empty() && t.post.reactions.is_empty() && deleted).then_some(())
    })
    .await;

    // Cat's client marks the conversation read up to the deleted message: fine, and no
    // read marker pointing at it is sent anywhere.
    cat.mark_read(&dm.conversation, &dm.id).await.unwrap();

    // D joins after the erasure: it is sent tombstones, and A's later posts after them.
    let mut d = TestNode::named("d.test").await;
    let admin_d = d.admin().await;
    topic(&admin_d, "Funding").await;
    let later = admin_a
        .create_post("Funding", &new_post("After the erasure", "Still here"))
        .await
        .unwrap();
    pair(&admin_b, &admin_d).await;
    eventually(30, || async {
        admin_d.thread(&later.id).await.ok()?;
        admin_d.thread(&bobs.id).await.ok()
    })
    .await;
    assert!(admin_d.thread(&hers.id).await.is_err());
    assert!(admin_d.thread(&bobs.id).await.unwrap().replies.is_empty());

    // Once stopped, no node's folder holds her words, in any file.
    for node in [&mut a, &mut b, &mut c, &mut d] {
        node.stop().await;
        let found = on_disk(&node.data_dir(), marker.as_bytes());
        assert!(found.is_empty(), "still on disk in {found:?}");
        // The scan does see what is still held.
        assert!(!on_disk(&node.data_dir(), b"What worked for you?").is_empty());
    }
    // And after a restart nothing comes back.
    b.start_again().await;
    let admin_b = sign_in(&b, "admin").await;
    assert!(admin_b.thread(&hers.id).await.is_err());
    assert!(admin_b.thread(&bobs.id).await.unwrap().replies.is_empty());
}

/// What the others shared with an erased member stays theirs to use: a group she made is
/// run by the rest (without the name she gave it), a match with her ends so the mentor's
/// place is free, nobody can write to her any more, and the only admin cannot leave the
/// node without one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_others_shared_with_an_erased_member_stays_usable() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    pair(&admin_a, &admin_b).await;
    let ann = a.member(&admin_a, "ann").await;
    let bob = b.member(&admin_b, "bob").await;
    let cy = b.member(&admin_b, "cy").await;

    // Ann's group with Bob and Cy, named by her; she is its only admin.
    let group = ann
        .create_conversation(&CreateConversation {
            members: vec![id("@bob:b.test"), id("@cy:b.test")],
            name: Some("GROUPNAMEBYANN".into()),
        })
        .await
        .unwrap();
    ann.post_message(
        &group.id,
        &NewMessage {
            body: "Welcome both".into(),
            reply_to: None,
        },
    )
    .await
    .unwrap();
    eventually(30, || async { bob.conversation(&group.id).await.ok() }).await;

    // Bob mentors Ann; the match is active.
    bob.publish_offer(&offer(&["funding"], &["english"], 1))
        .await
        .unwrap();
    ann.create_request(&request(&["funding"], &["english"], &[]))
        .await
        .unwrap();
    eventually(30, || async {
        let s = ann.suggestions(Some(10)).await.ok()?;
        s.iter()
            .any(|s| s.offer.mentor == id("@bob:b.test"))
            .then_some(())
    })
    .await;
    let proposal = ann
        .propose(&Propose {
            mentor: id("@bob:b.test"),
            note: "ANNSNOTE please".into(),
            request: None,
        })
        .await
        .unwrap()
        .id;
    eventually(30, || async { bob.get_match(&proposal).await.ok() }).await;
    bob.answer(&proposal, true, None).await.unwrap();
    eventually(30, || async {
        (ann.get_match(&proposal).await.ok()?.status == MatchStatus::Active).then_some(())
    })
    .await;

    // Admins deleting themselves all at once: the node keeps one.
    let mut extra = Vec::new();
    for name in ["ada", "abe"] {
        let c = a.member(&admin_a, name).await;
        admin_a
            .update_member(
                name,
                &UpdateMember {
                    role: Some(Role::Admin),
                    suspended: None,
                },
            )
            .await
            .unwrap();
        extra.push((name, c));
    }
    let own = |name: &str| DeleteAccount {
        password: PASSWORD.into(),
        confirm: name.into(),
    };
    let (r0, r1, r2) = (own(extra[0].0), own(extra[1].0), own("admin"));
    let (x, y, z) = tokio::join!(
        extra[0].1.delete_me(&r0),
        extra[1].1.delete_me(&r1),
        admin_a.delete_me(&r2)
    );
    let refused = [&x.is_err(), &y.is_err(), &z.is_err()]
        .iter()
        .filter(|e| ***e)
        .count();
    assert_eq!(refused, 1, "{x:?} {y:?} {z:?}");
    let admin_a = if z.is_ok() {
        // The one left standing is one of the two new admins.
        let (_, client) = extra
            .into_iter()
            .find(|(n, _)| (*n == "ada" && x.is_err()) || (*n == "abe" && y.is_err()))
            .unwrap();
        client
    } else {
        admin_a
    };

    // Two admins demoting each other at once: one of them stays an admin.
    let kit = a.member(&admin_a, "kit").await;
    let to = |role| UpdateMember {
        role: Some(role),
        suspended: None,
    };
    admin_a
        .update_member("kit", &to(Role::Admin))
        .await
        .unwrap();
    let me_name = admin_a.me().await.unwrap().username;
    let demote = to(Role::Member);
    let (one, other) = tokio::join!(
        admin_a.update_member("kit", &demote),
        kit.update_member(&me_name, &demote)
    );
    assert_eq!(
        [one.is_ok(), other.is_ok()]
            .iter()
            .filter(|ok| **ok)
            .count(),
        1,
        "{one:?} {other:?}"
    );
    let admin_a = if one.is_ok() { admin_a } else { kit };

    // The only admin cannot delete themselves; two admins deleting Ann at once erase once.
    let me = admin_a.me().await.unwrap().username;
    let only = admin_a
        .delete_me(&DeleteAccount {
            password: PASSWORD.into(),
            confirm: me,
        })
        .await
        .unwrap_err();
    assert!(only.to_string().contains("only admin"), "{only}");
    let confirm = DeleteMember {
        confirm: "ann".into(),
    };
    let (first, second) = tokio::join!(
        admin_a.delete_member("ann", &confirm),
        admin_a.delete_member("ann", &confirm)
    );
    assert_eq!(
        [first.is_ok(), second.is_ok()]
            .iter()
            .filter(|ok| **ok)
            .count(),
        1,
        "{first:?} {second:?}"
    );

    // At B: the group goes on without her, run by the others, without her name for it.
    let view = eventually(30, || async {
        let v = bob.conversation(&group.id).await.ok()?;
        (v.members.len() == 2).then_some(v)
    })
    .await;
    assert!(view.name.is_empty(), "{view:?}");
    assert!(view.admins.contains(&id("@bob:b.test")));
    bob.add_participant(&group.id, &id("@admin:b.test"), false)
        .await
        .unwrap();
    // The match has ended, and the mentor's place is free for someone else.
    let m = eventually(30, || async {
        let m = bob.get_match(&proposal).await.ok()?;
        (m.status == MatchStatus::Closed).then_some(m)
    })
    .await;
    assert!(!m.note.contains("ANNSNOTE"), "{m:?}");
    eventually(30, || async {
        let offers = cy.offers().await.ok()?;
        let o = offers.into_iter().find(|o| o.mentor == id("@bob:b.test"))?;
        (o.offer.places_left == 1).then_some(())
    })
    .await;
    // Nobody can write to her any more.
    let refused = bob
        .send_message(&id("@ann:a.test"), "Are you there?")
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::Gone), "{refused}");
}

/// Retention: with chat messages kept for a month, a node two months on shows "Message
/// deleted" in their place and keeps no words of them; newer messages stay. A deletion
/// with a grace period waits, and an admin can stop it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn old_messages_expire_and_a_grace_period_can_be_stopped() {
    let mut a = TestNode::start_with(|c| {
        c.node.name = kindred_protocol::NodeName::new("a.test").unwrap();
        c.retention.chat_message_months = 1;
        c.accounts.deletion_grace_days = 7;
    })
    .await;
    let admin = a.admin().await;
    let ann = a.member(&admin, "ann").await;
    a.member(&admin, "bob").await;
    let old = ann
        .send_message(&id("@bob:a.test"), "OLDWORDS from long ago")
        .await
        .unwrap();

    // Two months on, the housekeeping expires it.
    let later = std::sync::Arc::new(kindred_server::SkewedClock(60 * 24 * 3_600_000));
    a.restart_with_clock(later.clone()).await;
    let ann = sign_in(&a, "ann").await;
    eventually(30, || async {
        let h = ann.history(&old.conversation, None, None).await.ok()?;
        (h.items.len() == 1 && h.items[0].deleted).then_some(())
    })
    .await;
    let fresh = ann
        .send_message(&id("@bob:a.test"), "New words")
        .await
        .unwrap();
    let h = ann.history(&old.conversation, None, None).await.unwrap();
    assert_eq!(h.items[0].id, fresh.id);
    assert!(!h.items[0].deleted);

    // Ann asks to delete her account: it waits out the grace period; the admin stops it.
    let admin = sign_in(&a, "admin").await;
    let done = ann
        .delete_me(&DeleteAccount {
            password: PASSWORD.into(),
            confirm: "ann".into(),
        })
        .await
        .unwrap();
    assert!(!done.erased);
    assert!(done.erase_at.is_some());
    assert!(a.client().login("ann", PASSWORD).await.is_err());
    let members = admin.members().await.unwrap();
    let listed = members.iter().find(|m| m.username == "ann").unwrap();
    assert!(listed.deletion_due_at.is_some());
    admin.stop_deletion("ann").await.unwrap();
    assert!(admin.stop_deletion("ann").await.is_err());
    sign_in(&a, "ann").await;

    a.stop().await;
    assert!(on_disk(&a.data_dir(), b"OLDWORDS").is_empty());
}
