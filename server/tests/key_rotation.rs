//! A node key replaced on purpose (it leaked): refused unless the admin says so with
//! `--key-rotated`, then the node goes on under its new key with everything it held.

mod support;

use kindred_client::Client;
use kindred_protocol::api::{EditPost, NewPost};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_is_accepted_only_when_the_admin_says_so() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let mut node = support::start(&data, "north.test", "127.0.0.1:0");
    let (admin, session) = support::admin_with_funding(&node).await;
    let post = |title: &str| NewPost {
        title: title.into(),
        body: "What worked for our bid.".into(),
        tags: vec![],
        content_warning: None,
    };
    let before = admin.create_post("Funding", &post("Before")).await.unwrap();
    node.kill();

    std::fs::copy(data.join("node.key"), root.path().join("north.key")).unwrap();
    // Another key in its place: refused, naming the flag for a deliberate rotation.
    let other = root.path().join("other");
    let mut stranger = support::start(&other, "south.test", "127.0.0.1:0");
    stranger.kill();
    std::fs::copy(other.join("node.key"), data.join("node.key")).unwrap();
    let said = support::try_start_with(&data, "north.test", &[])
        .map(|_| ())
        .expect_err("another key is refused");
    assert!(said.contains("--key-rotated"), "{said}");

    // Said on purpose: the node starts under the new key with what it held.
    let node = support::try_start_with(&data, "north.test", &["--key-rotated"]).unwrap();
    let admin = Client::new(&node.url)
        .unwrap()
        .with_token(session.token.clone());
    let title = |admin: &Client| {
        let (admin, id) = (admin.clone(), before.id);
        async move { admin.thread(&id).await.unwrap().post.title }
    };
    assert_eq!(title(&admin).await.as_deref(), Some("Before"));
    admin.create_post("Funding", &post("After")).await.unwrap();
    // What the old key signed cannot be changed from here: said, not answered as done.
    let edit = admin
        .edit(
            &before.id,
            &EditPost {
                title: Some("Changed".into()),
                body: "Changed".into(),
                tags: None,
                content_warning: None,
            },
        )
        .await;
    let said = format!("{edit:?}");
    assert!(
        said.contains("previous node key"),
        "an edit of the old key's post: {said}"
    );
    let retract = admin.retract(&before.id, None).await;
    assert!(
        format!("{retract:?}").contains("previous node key"),
        "{retract:?}"
    );
    assert_eq!(title(&admin).await.as_deref(), Some("Before"), "unchanged");
    drop(node);

    // The key rotated away is never taken back.
    let new_key = std::fs::read(data.join("node.key")).unwrap();
    std::fs::copy(root.path().join("north.key"), data.join("node.key")).unwrap();
    let said = support::try_start_with(&data, "north.test", &["--key-rotated"])
        .map(|_| ())
        .expect_err("the old key is refused");
    assert!(said.contains("rotated away before"), "{said}");
    std::fs::write(data.join("node.key"), new_key).unwrap();

    // From then on the database is the new key's: a plain start works.
    let mut node = support::try_start_with(&data, "north.test", &[]).unwrap();
    let admin = Client::new(&node.url).unwrap().with_token(session.token);
    assert_eq!(admin.topics().await.unwrap()[0].posts, 2);
    node.kill();
}
