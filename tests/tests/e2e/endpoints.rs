//! Every endpoint declared in `kindred_protocol::api::endpoints` is served at its method
//! and path: none falls through to "No such API endpoint" or "method not allowed". (The
//! client calls through the same declarations, so a path typo cannot hide in it.)

use kindred_protocol::api::endpoints::{ALL, Method};
use kindred_tests::TestNode;

#[tokio::test]
async fn every_declared_endpoint_is_served() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let bearer = format!("Bearer {}", admin.token().unwrap());
    let http = kindred_tests::http();
    // Signing out last: the other calls keep the session.
    let mut endpoints: Vec<_> = ALL.iter().collect();
    endpoints.sort_by_key(|e| e.name == "Logout");
    for e in endpoints {
        // Parameters that name nothing here: the answer may be 404, but the node's own
        // "not found", not the router's.
        let path: String = e
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { "x" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let url = format!("{}{path}", node.url());
        let req = match e.method {
            Method::Get => http.get(&url),
            Method::Post => http.post(&url),
            Method::Put => http.put(&url),
            Method::Patch => http.patch(&url),
            Method::Delete => http.delete(&url),
        };
        let resp = req
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap();
        assert_ne!(status, 405, "{} {}: {body}", e.method.as_str(), e.path);
        assert!(
            !body.contains("No such API endpoint"),
            "{} {} is not served: {body}",
            e.method.as_str(),
            e.path
        );
    }
}
