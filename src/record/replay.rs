//! `standin replay`: answer requests from a recorded HAR session.
//!
//! Takes the [`har::Entry`]s of a file and, per request, its method, path, query and body; hands
//! back the recorded answer, or `None` so the caller can fall back (the mock of `--spec`) or
//! answer [`Replayer::not_recorded`]. A request is matched on method and path, and (by default)
//! on the query parameters and the body too (`--match path|query|body` chooses how strict). The
//! same request asked again gets the recorded answers in order (the last one once they run out),
//! so stateful flows replay correctly.

use std::collections::{BTreeMap, HashMap};
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
    /// Method → the recorded paths, sorted and unique: the nearest ones to an unmatched request
    /// are found by binary search instead of a scan of every entry.
    paths: BTreeMap<String, Vec<String>>,
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
            let status = e.response.status;
            if !(200..=599).contains(&status) {
                return Err(format!("#/log/entries/{i}/response/status: {status} is not a final HTTP status (200–599)"));
            }
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
        let mut paths: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in &entries {
            paths.entry(e.method.clone()).or_default().push(e.path.clone());
        }
        for list in paths.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        Ok(Replayer { entries, strictness, by_key, cursors: Mutex::new(HashMap::new()), paths })
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
        // 204 and 304 have no body, whatever the recording holds (statuses checked at load).
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = if matches!(r.status, 204 | 304) { Body::empty() } else { Body::from(r.content.clone()) };
        let mut resp = Response::new(body);
        *resp.status_mut() = status;
        for (n, v) in &r.headers {
            resp.headers_mut().append(n.clone(), v.clone());
        }
        Some(resp)
    }

    /// The recorded requests most like this one (same method first, then the longest common
    /// path prefix).
    pub fn nearest(&self, method: &str, path: &str) -> Vec<String> {
        // In a sorted list, the paths sharing the longest prefix with `path` sit next to where
        // it would be inserted: the three on each side hold the best three.
        let mut scored: Vec<(usize, String)> = Vec::new();
        for (m, paths) in &self.paths {
            let at = paths.partition_point(|p| p.as_str() < path);
            for p in &paths[at.saturating_sub(3)..(at + 3).min(paths.len())] {
                let common = p.chars().zip(path.chars()).take_while(|(a, b)| a == b).count();
                scored.push((common + if m == method { 1_000 } else { 0 }, format!("{m} {p}")));
            }
        }
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

    #[test]
    fn statuses_that_are_not_final_answers_are_a_load_error() {
        for status in [0, 99, 100, 101, 1000] {
            let list = [entry("GET", "http://h/ok", None, 200, ""), entry("GET", "http://h/a", None, status, "x")];
            let e = Replayer::from_entries(&list, Strictness::Body).unwrap_err();
            assert_eq!(e, format!("#/log/entries/1/response/status: {status} is not a final HTTP status (200–599)"));
        }
    }

    #[tokio::test]
    async fn no_content_and_not_modified_are_answered_without_a_body() {
        let list = [entry("DELETE", "http://h/a", None, 204, "left over"), entry("GET", "http://h/a", None, 304, "cached")];
        let r = Replayer::from_entries(&list, Strictness::Body).unwrap();
        assert_eq!(text(r.answer(&Method::DELETE, "/a", None, b"").unwrap()).await, (204, String::new()));
        assert_eq!(text(r.answer(&Method::GET, "/a", None, b"").unwrap()).await, (304, String::new()));
    }

    /// The nearest recorded requests come from an index: the same as a scan of every entry,
    /// and quick on a large session.
    #[test]
    fn nearest_is_indexed_and_agrees_with_a_scan() {
        let list: Vec<har::Entry> = (0..20_000)
            .map(|i| entry(if i % 3 == 0 { "POST" } else { "GET" }, &format!("http://h/v1/items/{}/parts/{}", i % 997, i), None, 200, ""))
            .collect();
        let r = Replayer::from_entries(&list, Strictness::Path).unwrap();
        let scan = |method: &str, path: &str| {
            let mut all: Vec<(usize, String)> = r
                .entries
                .iter()
                .map(|e| {
                    (
                        e.path.chars().zip(path.chars()).take_while(|(a, b)| a == b).count() + if e.method == method { 1_000 } else { 0 },
                        e.path.clone(),
                    )
                })
                .collect();
            all.sort_by_key(|s| std::cmp::Reverse(s.0));
            all.first().map(|s| s.0)
        };
        let started = std::time::Instant::now();
        for (method, path) in [("GET", "/v1/items/5/parts/77"), ("POST", "/v1/items/996/x"), ("PUT", "/v1/items/1"), ("GET", "/zzz")] {
            let near = r.nearest(method, path);
            assert_eq!(near.len(), 3, "{near:?}");
            let (m, p) = near[0].split_once(' ').unwrap();
            let score = p.chars().zip(path.chars()).take_while(|(a, b)| a == b).count() + if m == method { 1_000 } else { 0 };
            assert_eq!(Some(score), scan(method, path), "{method} {path}: {near:?}");
        }
        for i in 0..1_000 {
            r.nearest("GET", &format!("/v1/items/{i}/nothing"));
        }
        assert!(started.elapsed() < std::time::Duration::from_millis(500), "took {:?}", started.elapsed());
    }
}
