//! `standin replay`: serve a recorded HAR session.
//!
//! A request is matched on method and path, and (by default) on the query parameters and the
//! body too (`--match path|query|body` chooses how strict). The same request asked again gets
//! the recorded answers in order (the last one once they run out), so stateful flows replay
//! correctly. An unmatched request gets a standin 404 naming the nearest recorded requests, or,
//! with `--spec`, the mock's answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

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

/// One recorded exchange, ready to answer.
#[derive(Debug)]
struct Recorded {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    body: Option<Value>,
    raw_body: String,
    status: u16,
    headers: Vec<(String, String)>,
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
    /// The mock to fall back on (`--spec`).
    fallback: Option<Arc<crate::pipeline::LiveApp>>,
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
    pub fn load(path: &std::path::Path, strictness: Strictness, fallback: Option<Arc<crate::pipeline::App>>) -> Result<Replayer, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let har: Value = serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        let list = har.pointer("/log/entries").and_then(Value::as_array).ok_or_else(|| format!("{}#/log/entries: not a HAR file (no entries array)", path.display()))?;
        let mut entries = Vec::new();
        for (i, e) in list.iter().enumerate() {
            let at = format!("{}#/log/entries/{i}", path.display());
            let method = e.pointer("/request/method").and_then(Value::as_str).ok_or(format!("{at}/request/method: missing"))?.to_ascii_uppercase();
            let url = e.pointer("/request/url").and_then(Value::as_str).ok_or(format!("{at}/request/url: missing"))?;
            let path_and_query = super::path_and_query(url);
            let (p, q) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
            let raw_body = e.pointer("/request/postData/text").and_then(Value::as_str).unwrap_or("").to_string();
            let status = e.pointer("/response/status").and_then(Value::as_u64).ok_or(format!("{at}/response/status: missing"))? as u16;
            let headers = e.pointer("/response/headers").and_then(Value::as_array).map(|h| h.iter().filter_map(|h| Some((h.get("name")?.as_str()?.to_string(), h.get("value")?.as_str()?.to_string()))).collect()).unwrap_or_default();
            let text = e.pointer("/response/content/text").and_then(Value::as_str).unwrap_or("");
            let content = if e.pointer("/response/content/encoding").and_then(Value::as_str) == Some("base64") {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD.decode(text).map_err(|_| format!("{at}/response/content/text: invalid base64"))?.into()
            } else {
                Bytes::from(text.to_string())
            };
            entries.push(Recorded {
                method,
                path: p.to_string(),
                query: crate::pipeline::validate::parse_query(Some(q)),
                body: serde_json::from_str(&raw_body).ok(),
                raw_body,
                status,
                headers,
                content,
            });
        }
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_key.entry(key(strictness, &e.method, &e.path, &e.query, e.body.as_ref(), &e.raw_body)).or_default().push(i);
        }
        let fallback = fallback.map(|app| Arc::new(crate::pipeline::LiveApp::new(app)));
        Ok(Replayer { entries, strictness, by_key, cursors: Mutex::new(HashMap::new()), fallback })
    }

    /// Number of recorded exchanges.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the session is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn answer(&self, method: &str, path: &str, query: &[(String, String)], body: &[u8]) -> Option<&Recorded> {
        let raw = String::from_utf8_lossy(body);
        let json: Option<Value> = serde_json::from_slice(body).ok();
        let k = key(self.strictness, method, path, query, json.as_ref(), &raw);
        let list = self.by_key.get(&k)?;
        let mut cursors = self.cursors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = cursors.entry(k).or_insert(0);
        let i = list[(*n).min(list.len() - 1)];
        *n += 1;
        Some(&self.entries[i])
    }

    /// The recorded requests most like this one (same method first, then the longest common
    /// path prefix).
    fn nearest(&self, method: &str, path: &str) -> Vec<String> {
        let mut scored: Vec<(usize, String)> = self
            .entries
            .iter()
            .map(|e| {
                let common = e.path.chars().zip(path.chars()).take_while(|(a, b)| a == b).count();
                (common + if e.method == method { 1_000 } else { 0 }, format!("{} {}", e.method, e.path))
            })
            .collect();
        scored.sort_by(|a, b| b.0.cmp(&a.0));
        scored.dedup_by(|a, b| a.1 == b.1);
        scored.into_iter().take(3).map(|(_, s)| s).collect()
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
            format!("{{{}}}", keys.iter().map(|k| format!("{}:{}", Value::String((*k).clone()), canonical(&m[*k]))).collect::<Vec<_>>().join(","))
        }
        Value::Array(a) => format!("[{}]", a.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// The axum fallback handler for `standin replay`.
pub async fn handle(State(replayer): State<Arc<Replayer>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024 * 1024).await.unwrap_or_default();
    let query = crate::pipeline::validate::parse_query(parts.uri.query());
    if let Some(r) = replayer.answer(parts.method.as_str(), parts.uri.path(), &query, &bytes) {
        let mut resp = Response::new(Body::from(r.content.clone()));
        *resp.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
        for (n, v) in &r.headers {
            if HOP.contains(&n.to_ascii_lowercase().as_str()) {
                continue;
            }
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(n.as_bytes()), HeaderValue::from_str(v)) {
                resp.headers_mut().append(n, v);
            }
        }
        return resp;
    }
    if let Some(app) = &replayer.fallback {
        let req = Request::from_parts(parts, Body::from(bytes));
        return crate::pipeline::handle_wrap(State(Arc::clone(app)), req).await;
    }
    let body = json!({
        "type": "urn:standin:problem:not_recorded",
        "title": "Not recorded",
        "status": 404,
        "detail": format!("No recorded exchange matches {} {}.", parts.method, parts.uri),
        "code": "not_recorded",
        "nearest": replayer.nearest(parts.method.as_str(), parts.uri.path()),
    });
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = StatusCode::NOT_FOUND;
    resp.headers_mut().insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
    resp
}
