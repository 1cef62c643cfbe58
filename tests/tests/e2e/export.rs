//! A member's data export: a ZIP with every kind of thing they wrote and the
//! conversations they are in, as JSON (schema `kindred-export/1`) and a readable page; an
//! admin can make one for a member, nobody else can.
#![allow(clippy::unwrap_used)]

use std::io::Read;

use kindred_protocol::api::*;
use kindred_tests::{TestNode, eventually, pair};

use super::trust_support::{id, topic};

fn files(zip_bytes: &[u8]) -> (serde_json::Value, String) {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut json = String::new();
    zip.by_name("kindred-export.json")
        .unwrap()
        .read_to_string(&mut json)
        .unwrap();
    let mut html = String::new();
    zip.by_name("index.html")
        .unwrap()
        .read_to_string(&mut html)
        .unwrap();
    (serde_json::from_str(&json).unwrap(), html)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_holds_every_kind_and_only_admins_export_others() {
    let a = TestNode::named("a.test").await;
    let b = TestNode::named("b.test").await;
    let (admin_a, admin_b) = (a.admin().await, b.admin().await);
    topic(&admin_a, "Funding").await;
    topic(&admin_b, "Funding").await;
    pair(&admin_a, &admin_b).await;
    let sam = a.member(&admin_a, "sam").await;
    let bo = b.member(&admin_b, "bo").await;
    let post = sam
        .create_post(
            "Funding",
            &NewPost {
                title: "What <b>worked</b> for our bid".into(),
                body: "Talk to the funder early. <script>alert(1)</script>".into(),
                tags: vec!["bids".into()],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    sam.reply(
        &post.id,
        &NewReply {
            body: "And keep the budget simple.".into(),
            reply_to: None,
            content_warning: None,
        },
    )
    .await
    .unwrap();
    sam.react(&post.id, "helpful").await.unwrap();
    let dm = sam
        .send_message(&id("@bo:b.test"), "Shall we talk about bids?")
        .await
        .unwrap();
    eventually(30, || async {
        (bo.history(&dm.conversation, None, None)
            .await
            .ok()?
            .items
            .len()
            == 1)
            .then_some(())
    })
    .await;
    bo.post_message(
        &dm.conversation,
        &NewMessage {
            body: "Yes please, Thursday?".into(),
            reply_to: None,
        },
    )
    .await
    .unwrap();
    eventually(30, || async {
        (sam.history(&dm.conversation, None, None)
            .await
            .ok()?
            .items
            .len()
            == 2)
            .then_some(())
    })
    .await;

    // Sam mentors Eve, on the same node: Eve's private check-in is hers, not Sam's.
    let eve = a.member(&admin_a, "eve").await;
    sam.publish_offer(&kindred_tests::mentoring::offer(
        &["funding"],
        &["english"],
        1,
    ))
    .await
    .unwrap();
    eve.create_request(&kindred_tests::mentoring::request(
        &["funding"],
        &["english"],
        &[],
    ))
    .await
    .unwrap();
    let proposal = eve
        .propose(&Propose {
            mentor: id("@sam:a.test"),
            note: "Hello Sam".into(),
            request: None,
        })
        .await
        .unwrap()
        .id;
    sam.answer(&proposal, true, None).await.unwrap();
    eve.check_in(
        &proposal,
        &NewCheckIn {
            pulse: 2,
            fit: Some(kindred_protocol::event::body::mentoring::Fit::NotGood),
            note: Some("EVES PRIVATE NOTE".into()),
            share_fit: false,
        },
    )
    .await
    .unwrap();
    sam.check_in(
        &proposal,
        &NewCheckIn {
            pulse: 4,
            fit: None,
            note: Some("Sams own note".into()),
            share_fit: false,
        },
    )
    .await
    .unwrap();
    // A moderator takes one of Sam's posts down, saying why.
    let other = sam
        .create_post(
            "Funding",
            &NewPost {
                title: "Off topic".into(),
                body: "Selling raffle tickets".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    admin_a
        .retract(&other.id, Some("Adverts are not allowed here".into()))
        .await
        .unwrap();

    let (json, html) = files(&sam.export_me().await.unwrap());
    assert_eq!(json["format"], "kindred-export/1");
    assert_eq!(json["member"], "@sam:a.test");
    assert_eq!(json["account"]["username"], "sam");
    assert!(json["account"].get("password_hash").is_none());
    assert!(!json["sessions"].as_array().unwrap().is_empty());
    let kinds: Vec<&str> = json["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["kind"].as_str().unwrap())
        .collect();
    for kind in ["post", "reply", "reaction", "chat_message", "profile"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    let conversation = &json["conversations"][0];
    let bodies: Vec<&str> = conversation["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["Shall we talk about bids?", "Yes please, Thursday?"]
    );
    let text = json.to_string();
    assert!(
        !text.contains("EVES PRIVATE NOTE"),
        "another person's private note leaked"
    );
    assert!(text.contains("Sams own note"));
    assert!(json["mentoring"]["offer"].is_object());
    assert_eq!(json["mentoring"]["matches"].as_array().unwrap().len(), 1);
    let moderation = json["moderation"].to_string();
    assert!(
        moderation.contains("Adverts are not allowed here"),
        "{moderation}"
    );
    assert!(html.contains("Adverts are not allowed here"));
    assert!(html.contains("Sams own note"));
    // The page is readable and escapes what members wrote.
    assert!(
        html.contains("What &lt;b&gt;worked&lt;/b&gt; for our bid")
            || html.contains("What &#60;b&#62;worked")
    );
    assert!(!html.contains("<script>alert"));
    assert!(html.contains("Yes please, Thursday?"));

    // An admin makes one for a subject-access request; a member cannot for someone else.
    let (by_admin, _) = files(&admin_a.export_member("sam").await.unwrap());
    assert_eq!(by_admin["member"], "@sam:a.test");
    let someone = a.member(&admin_a, "kit").await;
    assert!(someone.export_member("sam").await.is_err());
    assert!(a.client().export_me().await.is_err());
}
