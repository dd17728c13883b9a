//! One journal entry in detail (`GET /__standin/requests/{id}`): the request and the response with
//! headers and bodies, credentials redacted, and the problems standin found.
//!
//! Redacted here, at read time (the journal keeps what it needs for the HAR writer, which has its
//! own `--record-secrets` rule): `Authorization`, `Proxy-Authorization`, `Cookie`, `Set-Cookie`
//! and every API-key header, query parameter and cookie a mounted spec declares; in JSON and form
//! bodies, members named like a credential (`password`, `token`, `apiKey`, `client_secret`, …)
//! and the spec's API-key names, and the members the exchange's operation marks `writeOnly`. Bodies are shown up to [`super::KEPT_BODY`] bytes.

use serde_json::{json, Map, Value};

use crate::app::App;
use crate::record::{Exchange, HeaderList};

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Header names that always carry credentials.
const CREDENTIAL_HEADERS: [&str; 4] = ["authorization", "proxy-authorization", "cookie", "set-cookie"];

/// The names to redact, gathered once per detail request.
struct Secrets {
    /// API-key names the mounted specs declare (header, query or cookie), lower case.
    names: Vec<String>,
    /// The body members the exchange's operation marks `writeOnly` ([`Exchange::write_only`]).
    write_only: Option<std::sync::Arc<[String]>>,
}

impl Secrets {
    fn of(app: &App, e: &Exchange) -> Secrets {
        let mut names: Vec<String> = app.mounts.iter().flat_map(|m| m.secrets.iter().map(|s| s.to_ascii_lowercase())).collect();
        names.sort();
        names.dedup();
        Secrets { names, write_only: e.write_only.clone() }
    }

    fn header(&self, name: &str) -> bool {
        CREDENTIAL_HEADERS.contains(&name) || self.names.iter().any(|n| n == name)
    }

    fn param(&self, name: &str) -> bool {
        self.names.iter().any(|n| n.eq_ignore_ascii_case(name))
    }

    fn member(&self, name: &str) -> bool {
        crate::record::redact::is_secret_member(name, &self.names)
            || self.write_only.as_deref().is_some_and(|w| w.iter().any(|w| w == name))
    }
}

/// The detail of one exchange, as the page shows it.
pub fn detail(app: &App, e: &Exchange) -> Value {
    let secrets = Secrets::of(app, e);
    let spec = app
        .mounts
        .iter()
        .find(|m| e.path.strip_prefix(m.spec.base_path.as_str()).is_some_and(|r| r.is_empty() || r.starts_with('/')))
        .map(|m| m.spec.title.clone());
    let kept = !e.response_headers.is_empty() || !e.response_body.is_empty();
    json!({
        "id": e.id,
        "startedAt": crate::util::time::format_rfc3339((e.started_ms / 1000) as i64),
        "startedMs": e.started_ms,
        "durationMs": e.duration_us as f64 / 1000.0,
        "method": e.method.as_str(),
        "path": e.path,
        "status": e.status,
        "operation": e.operation.as_deref(),
        "source": e.source,
        "tenant": e.tenant,
        "spec": spec,
        "violations": e.violations,
        "request": {
            "query": query_pairs(e.query.as_deref().unwrap_or(""), &secrets),
            "headers": headers(&e.request_headers, &secrets),
            "body": body(&e.request_body, e.request_headers.get_str("content-type"), false, &secrets),
        },
        "response": {
            "kept": kept,
            "headers": headers(&e.response_headers, &secrets),
            "body": body(&e.response_body, e.response_headers.get_str("content-type"), true, &secrets),
        },
    })
}

/// `[[name, value], …]` in order, credentials redacted (the auth scheme word is kept).
fn headers(list: &HeaderList, secrets: &Secrets) -> Value {
    Value::Array(
        list.iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value);
                let shown = if !secrets.header(name) {
                    value.into_owned()
                } else if let Some((scheme @ ("Basic" | "Bearer" | "Digest" | "Token"), _)) = value.split_once(' ') {
                    format!("{scheme} {REDACTED}")
                } else {
                    REDACTED.to_string()
                };
                json!([name, shown])
            })
            .collect(),
    )
}

/// The query string as decoded `[[name, value], …]`, API keys redacted.
fn query_pairs(query: &str, secrets: &Secrets) -> Value {
    Value::Array(form_pairs(query).into_iter().map(|(k, v)| if secrets.param(&k) { json!([k, REDACTED]) } else { json!([k, v]) }).collect())
}

fn form_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8_lossy().into_owned();
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').map_or((decode(p), String::new()), |(k, v)| (decode(k), decode(v))))
        .collect()
}

/// A body as the page shows it: `json` (parsed, redacted), `form` pairs, `text`, or only its size
/// for binary data. `truncated` when more than [`super::KEPT_BODY`] bytes were sent (or kept).
fn body(bytes: &[u8], content_type: &str, cut_by_journal: bool, secrets: &Secrets) -> Value {
    let limit = super::KEPT_BODY;
    let truncated = bytes.len() > limit;
    // A response body the journal cut has one byte past the limit: its real size is unknown.
    let size = if truncated && cut_by_journal && bytes.len() == limit + 1 { Value::Null } else { Value::from(bytes.len()) };
    let mut out = Map::new();
    out.insert("size".into(), size);
    out.insert("contentType".into(), Value::from(content_type));
    if truncated {
        out.insert("truncated".into(), Value::Bool(true));
    }
    if bytes.is_empty() {
        return Value::Object(out);
    }
    let shown = &bytes[..bytes.len().min(limit)];
    let ct = content_type.to_ascii_lowercase();
    if !truncated {
        if crate::spec::model::is_form_mime(&ct) {
            let pairs = form_pairs(&String::from_utf8_lossy(shown));
            out.insert(
                "form".into(),
                Value::Array(
                    pairs.into_iter().map(|(k, v)| if secrets.member(&k) { json!([k, REDACTED]) } else { json!([k, v]) }).collect(),
                ),
            );
            return Value::Object(out);
        }
        let looks_json = ct.contains("json") || matches!(shown.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['));
        if looks_json {
            if let Ok(mut v) = serde_json::from_slice::<Value>(shown) {
                redact(&mut v, secrets, 0);
                out.insert("json".into(), v);
                return Value::Object(out);
            }
        }
    }
    match std::str::from_utf8(shown) {
        Ok(t) => {
            out.insert("text".into(), Value::from(t));
        }
        // Cut inside a character: show what is whole.
        Err(e) if e.error_len().is_none() && truncated => {
            out.insert("text".into(), Value::from(std::str::from_utf8(&shown[..e.valid_up_to()]).unwrap_or("")));
        }
        Err(_) => {
            out.insert("binary".into(), Value::Bool(true));
        }
    }
    Value::Object(out)
}

/// Replace credential-like members' values with [`REDACTED`], at any depth (bounded).
fn redact(v: &mut Value, secrets: &Secrets, depth: u32) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if secrets.member(k) && matches!(child, Value::String(_) | Value::Number(_)) {
                    *child = Value::from(REDACTED);
                } else {
                    redact(child, secrets, depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| redact(i, secrets, depth + 1)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets { names: vec!["x-api-key".into(), "api_key".into()], write_only: Some(std::sync::Arc::from(["pin".to_string()])) }
    }

    #[test]
    fn credentials_are_redacted_in_headers_query_and_bodies() {
        let mut map = axum::http::HeaderMap::new();
        map.insert("authorization", "Bearer sk_live_123".parse().unwrap());
        map.insert("x-api-key", "ke_live_1".parse().unwrap());
        map.insert("accept", "application/json".parse().unwrap());
        let h = headers(&HeaderList::copy_of(&map), &secrets());
        assert_eq!(h, json!([["authorization", "Bearer [redacted]"], ["x-api-key", "[redacted]"], ["accept", "application/json"]]));
        assert_eq!(
            query_pairs("api_key=k1&limit=5&q=a+b%21", &secrets()),
            json!([["api_key", "[redacted]"], ["limit", "5"], ["q", "a b!"]])
        );
        let b = body(
            br#"{"user":{"Password":"hunter2","name":"x"},"client_secret":"s","tags":[{"apiKey":7}]}"#,
            "application/json",
            false,
            &secrets(),
        );
        assert_eq!(
            b["json"],
            json!({"user": {"Password": "[redacted]", "name": "x"}, "client_secret": "[redacted]", "tags": [{"apiKey": "[redacted]"}]})
        );
    }

    #[test]
    fn large_bodies_are_shown_cut_and_marked() {
        let big = vec![b'x'; super::super::KEPT_BODY + 10];
        let b = body(&big, "text/plain", false, &secrets());
        assert_eq!(b["truncated"], true);
        assert_eq!(b["size"], big.len());
        assert_eq!(b["text"].as_str().unwrap().len(), super::super::KEPT_BODY);
        let cut = vec![b'x'; super::super::KEPT_BODY + 1];
        assert_eq!(body(&cut, "text/plain", true, &secrets())["size"], Value::Null, "the journal cut it: size unknown");
        assert_eq!(body(b"\x00\xff", "application/octet-stream", false, &secrets())["binary"], true);
        assert_eq!(
            body(b"a=1&password=p&pin=1234", "application/x-www-form-urlencoded", false, &secrets())["form"],
            json!([["a", "1"], ["password", "[redacted]"], ["pin", "[redacted]"]]),
            "a writeOnly member of the operation too"
        );
    }
}
