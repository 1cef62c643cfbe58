//! A tiny browser without JavaScript for testing the web pages over real HTTP: it keeps
//! cookies, does not follow redirects (so tests see each 303), and reads the form token
//! out of pages the way a browser submits it.

use std::collections::BTreeMap;

use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};

/// One answer from the node.
pub struct Page {
    /// HTTP status.
    pub status: StatusCode,
    /// Where a redirect points.
    pub location: Option<String>,
    /// All response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The HTML.
    pub html: String,
}

impl Page {
    /// The value of the first `_csrf` field on the page.
    pub fn csrf(&self) -> String {
        self.field_value("_csrf")
            .expect("the page has a form with a CSRF token")
    }

    /// The `value` of the first input named `name`.
    pub fn field_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')? + start;
        Some(self.html[start..end].to_owned())
    }

    /// The `value` of the input with this `id` (read-only fields such as invite links).
    pub fn value_of_id(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')? + start;
        Some(
            self.html[start..end]
                .replace("&#38;", "&")
                .replace("&amp;", "&"),
        )
    }

    /// Whether the HTML contains `text`.
    pub fn has(&self, text: &str) -> bool {
        self.html.contains(text)
    }
}

/// A browser session with its cookie jar.
pub struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// Sent as `Origin` on posts when set (a real browser always sends its own).
    pub origin: Option<String>,
}

impl Browser {
    /// A browser pointed at a node's base URL.
    pub fn new(base: &str) -> Self {
        let tls = kindred_client::tls_config(None).unwrap();
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            base: base.to_owned(),
            http,
            cookies: BTreeMap::new(),
            origin: Some(base.to_owned()),
        }
    }

    /// A cookie's current value.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// Forgets all cookies (a different browser).
    pub fn clear_cookies(&mut self) {
        self.cookies.clear();
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(COOKIE, jar.join("; "));
        }
        if let Some(fields) = form {
            let body = serde_urlencoded::to_string(fields).unwrap();
            req = req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
            if let Some(origin) = &self.origin {
                req = req.header("origin", origin);
            }
        }
        let response = req.send().await.unwrap();
        for value in response.headers().get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || text.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_owned()),
            headers: response.headers().clone(),
            html: response.text().await.unwrap(),
        }
    }

    /// `method path` with no body (for methods a page does not take).
    pub async fn send_raw(&mut self, method: Method, path: &str) -> Page {
        self.send(method, path, None).await
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    /// Submits a form to `path`.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(fields)).await
    }

    /// Signs in through the sign-in form; panics if that fails.
    pub async fn sign_in(&mut self, username: &str, password: &str) {
        let form = self.get("/signin").await;
        let done = self
            .post(
                "/signin",
                &[
                    ("_csrf", &form.csrf()),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "sign-in failed: {}", done.html);
    }

    /// Submits a form on `page_path` (its CSRF token read from the page) to `action`.
    pub async fn submit(&mut self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.get(page_path).await.csrf();
        let mut all = vec![("_csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }

    /// Reloads `path` (every 100 ms, for up to 10 s) until it shows `text`, as a person
    /// waiting for something from another node would; panics with the last page if not.
    pub async fn page_with(&mut self, path: &str, text: &str) -> Page {
        let mut last = String::new();
        for _ in 0..100 {
            let page = self.get(path).await;
            if page.has(text) {
                return page;
            }
            last = page.html;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("{path} never showed {text:?}:\n{last}");
    }

    /// Follows a redirect answer with a `GET`.
    pub async fn follow(&mut self, page: &Page) -> Page {
        let to = page.location.clone().expect("a redirect");
        self.get(&to).await
    }
}
