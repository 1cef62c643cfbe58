//! The stylesheet, script and icon, built into the binary and served under content-hashed
//! names so browsers cache them for good and a new version is fetched the moment it
//! changes; and the web app manifest, so a phone can add the site to its home screen.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One built-in file.
struct Asset {
    /// `kindred.<hash>.css`.
    name: String,
    body: String,
    content_type: &'static str,
}

/// The source without its whole-line comments (`// ...` in the script, `/* ... */` on
/// lines of their own in the stylesheet): they explain the code to its readers, not to
/// a phone on a slow connection. Nothing else is touched.
fn without_comment_lines(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut in_block = false;
    for line in source.lines() {
        let t = line.trim_start();
        let rest = if in_block || t.starts_with("/*") {
            // Whatever follows the comment's end on its line stays.
            match t.split_once("*/") {
                Some((_, after)) => {
                    in_block = false;
                    after.trim()
                }
                None => {
                    in_block = true;
                    ""
                }
            }
        } else if t.starts_with("//") {
            ""
        } else {
            line
        };
        if !rest.is_empty() {
            out.push_str(rest);
            out.push('\n');
        }
    }
    out
}

impl Asset {
    fn new(stem: &str, ext: &str, source: &str, content_type: &'static str) -> Self {
        let body = if content_type.starts_with("image/") {
            source.to_owned()
        } else {
            without_comment_lines(source)
        };
        let digest = Sha256::digest(body.as_bytes());
        Self {
            name: format!("{stem}.{}.{ext}", hex::encode(&digest[..6])),
            body,
            content_type,
        }
    }
}

static CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "kindred",
        "css",
        include_str!("../../assets/kindred.css"),
        "text/css; charset=utf-8",
    )
});

static JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "kindred",
        "js",
        include_str!("../../assets/kindred.js"),
        "text/javascript; charset=utf-8",
    )
});

static ICON: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        "kindred",
        "svg",
        include_str!("../../assets/icon.svg"),
        "image/svg+xml",
    )
});

/// The icon's URL.
pub(crate) fn icon_url() -> String {
    format!("/assets/{}", ICON.name)
}

/// The colour of the site's header and icon (the stylesheet's light `--accent`).
pub(crate) const THEME_COLOUR: &str = "#0f5c4a";

/// `GET /manifest.webmanifest`: the Web Application Manifest (W3C), named after the
/// organisation, opening the home page in its own window.
pub(crate) async fn manifest(
    axum::extract::State(node): axum::extract::State<crate::node::Node>,
) -> Response {
    let organisation = &node.config().node.organisation;
    let manifest = serde_json::json!({
        "name": format!("Kindred · {organisation}"),
        "short_name": "Kindred",
        "description": format!("Peer support and learning with {organisation} and partner organisations"),
        "lang": "en-GB",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME_COLOUR,
        "icons": [{ "src": icon_url(), "sizes": "any", "type": "image/svg+xml", "purpose": "any" }],
    });
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/manifest+json"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        manifest.to_string(),
    )
        .into_response()
}

/// The stylesheet's URL.
pub(crate) fn css_url() -> String {
    format!("/assets/{}", CSS.name)
}

/// The script's URL.
pub(crate) fn js_url() -> String {
    format!("/assets/{}", JS.name)
}

/// `GET /assets/{name}`.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    let Some(asset) = [&*CSS, &*JS, &*ICON].into_iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "No such file.").into_response();
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.body.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_content_hash_and_stay_small() {
        assert!(css_url().starts_with("/assets/kindred.") && css_url().ends_with(".css"));
        assert_ne!(css_url(), js_url());
        // The budget for a slow phone: CSS and script under 30 KB together.
        assert!(CSS.body.len() + JS.body.len() < 30 * 1024);
    }

    #[test]
    fn only_whole_line_comments_are_left_out() {
        let source = "a();\n  // why a\nb(\"//x\"); // keep\n/* one\n two */ d {}\nc { x: 1; } /* kept */\n\n";
        assert_eq!(
            without_comment_lines(source),
            "a();\nb(\"//x\"); // keep\nd {}\nc { x: 1; } /* kept */\n"
        );
    }
}
