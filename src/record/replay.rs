//! `standin replay`: answer requests from a recorded HAR session.
//!
//! Takes the [`har::Entry`]s of a file and, per request, its method, path, query and body; hands
//! back the recorded answer, or `None` so the caller can fall back (the mock of `--spec`) or
//! answer [`Replayer::not_recorded`]. A request is matched on method and path, and (by default)
//! on the query parameters and the body too (`--match path|query|body` chooses how strict). The
//! same request asked again gets the recorded answers in order (the last one once they run out),
//! so stateful flows replay correctly.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::har;

/// How strictly requests are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strictness {
    /// Method and path.
    Path,
    /// … and the query parameters (in any order).
    Query,
    /// … and the body (JSON compared as values).
    Body,
}

/// The `code` of the 404 for a request nothing recorded matches.
pub const CODE_NOT_RECORDED: &str = "not_recorded";
/// Its title.
pub const TITLE_NOT_RECORDED: &str = "Not recorded";

/// One recorded exchange, ready to answer.
#[derive(Debug)]
struct Recorded {
    method: String,
    path: String,
    status: u16,
    headers: Vec<(HeaderName, HeaderValue)>,
    content: Bytes,
}

/// A loaded session.
pub struct Replayer {
    entries: Vec<Recorded>,
    strictness: Strictness,
    /// Match key → indexes of the entries with that key, in recorded order.
    by_key: HashMap<String, Vec<usize>>,
    /// Match key → how many times it was answered.
    cursors: Mutex<HashMap<String, usize>>,
}

impl std::fmt::Debug for Replayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replayer").field("entries", &self.entries.len()).finish_non_exhaustive()
    }
}

/// Headers not replayed: the server sets them for the new connection.
const HOP: [&str; 5] = ["content-length", "transfer-encoding", "connection", "date", "keep-alive"];

impl Replayer {
    /// Load a HAR file. Errors name the file and the entry.
    pub fn load(path: &std::path::Path, strictness: Strictness) -> Result<Replayer, String> {
        let list = har::read(path)?;
        Replayer::from_entries(&list, strictness).map_err(|e| format!("{}{e}", path.display()))
    }

    /// A session from entries already read; errors are `#/log/entries/<i>/…: why`.
    pub fn from_entries(list: &[har::Entry], strictness: Strictness) -> Result<Replayer, String> {
        let mut entries = Vec::with_capacity(list.len());
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in list.iter().enumerate() {
            let path_and_query = e.path_and_query();
            let (path, query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
            let method = e.request.method.to_ascii_uppercase();
            let raw_body = e.request.post_data.as_ref().map_or("", |p| p.text.as_str());
            let content = e.response_body().ok_or_else(|| format!("#/log/entries/{i}/response/content/text: invalid base64"))?;
            let headers = e
                .response
                .headers
                .iter()
                .filter(|h| !HOP.iter().any(|hop| hop.eq_ignore_ascii_case(&h.name)))
                .filter_map(|h| Some((HeaderName::from_bytes(h.name.as_bytes()).ok()?, HeaderValue::from_str(&h.value).ok()?)))
                .collect();
            let k = key(strictness, &method, path, &super::parse_query(query), serde_json::from_str(raw_body).ok().as_ref(), raw_body);
            by_key.entry(k).or_default().push(i);
            entries.push(Recorded { method, path: path.to_string(), status: e.response.status, headers, content: content.into() });
        }
        Ok(Replayer { entries, strictness, by_key, cursors: Mutex::new(HashMap::new()) })
    }

    /// Number of recorded exchanges.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the session is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The recorded answer to this request, if one matches (each call moves on to the next
    /// recorded answer of the same request).
    pub fn answer(&self, method: &Method, path: &str, query: Option<&str>, body: &[u8]) -> Option<Response> {
        let raw = String::from_utf8_lossy(body);
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let query = query.map(super::parse_query).unwrap_or_default();
        let k = key(self.strictness, method.as_str(), path, &query, json.as_ref(), &raw);
        let list = self.by_key.get(&k)?;
        let i = {
            let mut cursors = self.cursors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = cursors.entry(k).or_insert(0);
            let i = list[(*n).min(list.len() - 1)];
            *n += 1;
            i
        };
        let r = &self.entries[i];
        let mut resp = Response::new(Body::from(r.content.clone()));
        *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
        for (n, v) in &r.headers {
            resp.headers_mut().append(n.clone(), v.clone());
        }
        Some(resp)
    }

    /// The recorded requests most like this one (same method first, then the longest common
    /// path prefix).
    pub fn nearest(&self, method: &str, path: &str) -> Vec<String> {
        let mut scored: Vec<(usize, String)> = self
            .entries
            .iter()
            .map(|e| {
                let common = e.path.chars().zip(path.chars()).take_while(|(a, b)| a == b).count();
                (common + if e.method == method { 1_000 } else { 0 }, format!("{} {}", e.method, e.path))
            })
            .collect();
        scored.sort_by_key(|s| std::cmp::Reverse(s.0));
        scored.dedup_by(|a, b| a.1 == b.1);
        scored.into_iter().take(3).map(|(_, s)| s).collect()
    }

    /// The 404 for a request nothing recorded matches: standin's problem envelope with the
    /// `nearest` recorded requests as an extension member.
    pub fn not_recorded(&self, method: &Method, uri: &axum::http::Uri) -> Response {
        let mut rejection = crate::reject::Rejection::not_found(method, uri.path());
        rejection.code = CODE_NOT_RECORDED;
        rejection.title = TITLE_NOT_RECORDED;
        rejection.detail = format!("No recorded exchange matches {method} {uri}.");
        let mut body = rejection.body();
        if let Value::Object(members) = &mut body {
            members.insert("nearest".into(), self.nearest(method.as_str(), uri.path()).into());
        }
        let mut resp = Response::new(Body::from(body.to_string()));
        *resp.status_mut() = rejection.status;
        resp.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        resp
    }
}

fn key(strictness: Strictness, method: &str, path: &str, query: &[(String, String)], body: Option<&Value>, raw: &str) -> String {
    let mut k = format!("{method} {}", path.trim_end_matches('/'));
    if strictness >= Strictness::Query {
        let mut q: Vec<String> = query.iter().map(|(a, b)| format!("{a}={b}")).collect();
        q.sort();
        k.push('?');
        k.push_str(&q.join("&"));
    }
    if strictness >= Strictness::Body {
        k.push('\u{0}');
        match body {
            // serde_json with preserve_order keeps key order; compare JSON semantically.
            Some(v) => k.push_str(&canonical(v)),
            None => k.push_str(raw),
        }
    }
    k
}

/// JSON with object keys sorted, so `{"a":1,"b":2}` and `{"b":2,"a":1}` match.
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            format!(
                "{{{}}}",
                keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&m[*k]))).collect::<Vec<_>>().join(",")
            )
        }
        Value::Array(a) => format!("[{}]", a.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(method: &str, url: &str, body: Option<&str>, status: u16, text: &str) -> har::Entry {
        serde_json::from_value(serde_json::json!({
            "request": {"method": method, "url": url, "postData": body.map(|b| serde_json::json!({"text": b}))},
            "response": {"status": status, "content": {"text": text}},
        }))
        .unwrap()
    }

    async fn text(resp: Response) -> (u16, String) {
        let status = resp.status().as_u16();
        (status, String::from_utf8(axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap())
    }

    #[tokio::test]
    async fn the_same_request_gets_the_recorded_answers_in_order_then_the_last() {
        let list = [
            entry("GET", "http://h/a?x=1&y=2", None, 200, "one"),
            entry("GET", "http://h/a?y=2&x=1", None, 404, "two"),
            entry("POST", "http://h/a", Some("{\"b\":1,\"a\":2}"), 201, "made"),
        ];
        let r = Replayer::from_entries(&list, Strictness::Body).unwrap();
        let get = |q| r.answer(&Method::GET, "/a", Some(q), b"");
        assert_eq!(text(get("x=1&y=2").unwrap()).await, (200, "one".into()));
        assert_eq!(text(get("y=2&x=1").unwrap()).await, (404, "two".into()), "query order does not matter");
        assert_eq!(text(get("x=1&y=2").unwrap()).await, (404, "two".into()), "the last answer once they run out");
        assert!(get("x=3").is_none());
        let post = r.answer(&Method::POST, "/a", None, b"{\"a\": 2, \"b\": 1}").expect("JSON bodies match as values");
        assert_eq!(text(post).await, (201, "made".into()));
        let (status, body) = text(r.not_recorded(&Method::GET, &"/b?z=1".parse().unwrap())).await;
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((status, body["code"].as_str(), body["title"].as_str()), (404, Some(CODE_NOT_RECORDED), Some(TITLE_NOT_RECORDED)));
        assert_eq!(body["nearest"][0], "GET /a");
    }
}
