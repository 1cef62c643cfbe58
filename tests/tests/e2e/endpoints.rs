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

/// A refusal about one field of a request names it, so forms can show it beside that
/// field (`docs/api.md`, "Errors").
#[tokio::test]
async fn refusals_about_one_field_name_it() {
    let node = TestNode::start().await;
    let admin = node.admin().await;
    let bearer = format!("Bearer {}", admin.token().unwrap());
    let http = kindred_tests::http();
    let long = "x".repeat(9_000);
    let cases: Vec<(&str, String, serde_json::Value, &str)> = vec![
        (
            "PATCH",
            "/api/v1/me".into(),
            serde_json::json!({"time_zone": "Mars/Base"}),
            "time_zone",
        ),
        (
            "PATCH",
            "/api/v1/me".into(),
            serde_json::json!({"display_name": ""}),
            "display_name",
        ),
        (
            "POST",
            "/api/v1/me/password".into(),
            serde_json::json!({"current_password": "not the password", "new_password": "short"}),
            "current_password",
        ),
        (
            "POST",
            "/api/v1/topics".into(),
            serde_json::json!({"name": " ", "description": ""}),
            "name",
        ),
        (
            "PUT",
            "/api/v1/mentoring/offer".into(),
            serde_json::json!({"topics": ["funding"], "other_topics": "", "lived_experience": [],
                "languages": ["english"], "region": "", "mode": "online",
                "availability": {"days": 0, "hours_per_month": 4}, "capacity": 2,
                "bio": long, "prefers_other_orgs": false}),
            "bio",
        ),
        (
            "POST",
            "/api/v1/conversations".into(),
            serde_json::json!({"members": []}),
            "members",
        ),
        (
            "POST",
            "/api/v1/moderation/actions".into(),
            serde_json::json!({"target": {"member": "@nobody:localhost"}, "action": "warn", "note": ""}),
            "note",
        ),
    ];
    for (method, path, body, field) in cases {
        let url = format!("{}{path}", node.url());
        let req = match method {
            "PATCH" => http.patch(&url),
            "PUT" => http.put(&url),
            _ => http.post(&url),
        };
        let resp = req
            .header("authorization", &bearer)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let answer: serde_json::Value = resp.json().await.unwrap();
        assert!(
            (400..500).contains(&status),
            "{method} {path}: {status} {answer}"
        );
        assert_eq!(answer["error"]["field"], field, "{method} {path}: {answer}");
    }
}
