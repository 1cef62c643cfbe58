//! TLS end to end: two nodes serving HTTPS with a certificate from a private CA, paired
//! over `wss://` links, members' clients over HTTPS and a `wss://` live stream; clients and
//! nodes that do not trust the CA are refused, never downgraded to plain text.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use kindred_client::Client;
use kindred_protocol::api::{CreateTopic, NewPost, StreamMessage};
use kindred_tests::{TestNode, eventually, pair};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
}

async fn tls_node(name: &str, trust_ca: bool) -> TestNode {
    let name = kindred_protocol::NodeName::new(name).unwrap();
    TestNode::start_with(move |c| {
        c.node.name = name;
        c.tls.cert_file = Some(fixture("node.pem"));
        c.tls.key_file = Some(fixture("node.key"));
        if trust_ca {
            c.tls.extra_ca_file = Some(fixture("ca.pem"));
        }
    })
    .await
}

#[tokio::test]
async fn nodes_pair_and_replicate_over_tls_and_members_use_https() {
    let a = tls_node("alpha.test", true).await;
    let b = tls_node("beta.test", true).await;
    assert!(a.url().starts_with("https://127.0.0.1:"));
    let admin_a = a.admin().await;
    let admin_b = b.admin().await;

    // The invite carries A's https address, so B dials wss:// and checks A's certificate.
    pair(&admin_a, &admin_b).await;
    for admin in [&admin_a, &admin_b] {
        admin
            .create_topic(&CreateTopic {
                name: "Funding".into(),
                description: String::new(),
                shared: true,
            })
            .await
            .unwrap();
    }

    // A live stream over wss:// at B sees a post written at A.
    let mut live = admin_b.stream().await.unwrap();
    admin_a
        .create_post(
            "Funding",
            &NewPost {
                title: "Over TLS".into(),
                body: "Encrypted on every hop.".into(),
                tags: vec![],
                content_warning: None,
            },
        )
        .await
        .unwrap();
    let arrived = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(message) = live.next().await {
            if let StreamMessage::New { post } = message.unwrap()
                && post.title.as_deref() == Some("Over TLS")
            {
                return post;
            }
        }
        panic!("the live stream ended");
    })
    .await
    .expect("the post reached B's live stream");
    assert_eq!(arrived.body, "Encrypted on every hop.");
}

#[tokio::test]
async fn untrusted_certificates_and_plain_text_are_refused() {
    let a = tls_node("alpha.test", true).await;
    a.admin().await;

    // A client that does not trust the private CA cannot talk to the node at all.
    let stranger = Client::new(&a.url()).unwrap();
    let err = stranger.health().await.unwrap_err();
    assert!(
        matches!(err, kindred_client::ClientError::Http(_)),
        "refused, not downgraded: {err:?}"
    );

    // Plain HTTP to the TLS port gets no answer it could mistake for the node's.
    let plain = Client::new(&format!("http://{}", a.config.server.listen)).unwrap();
    assert!(plain.health().await.is_err());

    // A node that does not trust the CA cannot redeem A's invite: the link is refused
    // during the TLS handshake, and says why.
    let c = tls_node("gamma.test", false).await;
    let admin_a = a.client();
    let admin_a = {
        let (client, _) = admin_a
            .login("admin", kindred_tests::PASSWORD)
            .await
            .unwrap();
        client
    };
    let invite = admin_a.create_peer_invite().await.unwrap();
    let admin_c = {
        let ca = std::fs::read(fixture("ca.pem")).unwrap();
        let client = Client::with_extra_ca(&c.url(), Some(&ca)).unwrap();
        let token = c.setup_token.clone().unwrap();
        let (client, _) = client
            .setup(&kindred_protocol::api::SetupRequest {
                token,
                username: "admin".into(),
                display_name: "Admin".into(),
                password: kindred_tests::PASSWORD.into(),
            })
            .await
            .unwrap();
        client
    };
    let err = admin_c.add_peer(&invite.token).await.unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "the admin is told it is a certificate problem: {err}"
    );
}

#[tokio::test]
async fn a_renewed_certificate_is_served_without_a_restart() {
    // The certificate files live where a renewal tool would replace them.
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = (certs.path().join("cert.pem"), certs.path().join("key.pem"));
    std::fs::copy(fixture("node.pem"), &cert).unwrap();
    std::fs::copy(fixture("node.key"), &key).unwrap();
    let node = TestNode::start_with(|c| {
        c.tls.cert_file = Some(cert.clone());
        c.tls.key_file = Some(key.clone());
        c.tls.reload_check_seconds = 1;
    })
    .await;
    let trusting = |ca: &str| {
        let ca = std::fs::read(fixture(ca)).unwrap();
        Client::with_extra_ca(&node.url(), Some(&ca)).unwrap()
    };
    let old_ca = trusting("ca.pem");
    old_ca.health().await.unwrap();
    assert!(trusting("renewed-ca.pem").health().await.is_err());

    // The renewal replaces both files (from another CA here, so the tests can tell which
    // certificate is served); new connections get the new one, the node never stops.
    std::fs::copy(fixture("renewed.key"), &key).unwrap();
    std::fs::copy(fixture("renewed.pem"), &cert).unwrap();
    eventually(30, || async {
        trusting("renewed-ca.pem").health().await.ok()
    })
    .await;
    assert!(trusting("ca.pem").health().await.is_err());

    // A broken renewal is not served: the renewed certificate stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // A new client each time: a new connection, so a new handshake.
        trusting("renewed-ca.pem").health().await.unwrap();
    }
}
