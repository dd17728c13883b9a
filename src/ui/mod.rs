//! The traffic inspector: a read-only web page standin serves itself, and the JSON it reads.
//!
//! Everything lives under the admin prefix, so it goes through the admin endpoints and whatever
//! protects them:
//!
//! | path | answers |
//! |---|---|
//! | `GET /__standin/ui` | the page ([`index.html`](index.html), [`app.js`](app.js), [`style.css`](style.css), embedded in the binary) |
//! | `GET /__standin/requests/{id}` | one journal entry in detail: headers and bodies (secrets redacted), problems |
//! | `GET /__standin/coverage` | contract coverage as JSON (`?format=html`: the self-contained report; `?format=fragment`: its body, for the page) |
//! | `DELETE /__standin/coverage` | start coverage again from nothing |
//!
//! The page polls the JSON admin endpoints (`requests`, `violations`, `state`, `webhooks`,
//! `specs`, `coverage`) about once a second; it has no build step and loads nothing from
//! elsewhere (a Content-Security-Policy of `'self'` says so to the browser too). It renders every
//! value as text, never as markup: the journal holds whatever clients sent.

pub mod detail;
pub mod report;

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::app::{App, Mount};
use crate::reject::Rejection;

/// The page, its script and its style sheet (the report's rules are shared with the report).
const INDEX_HTML: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const STYLE_CSS: &str = concat!(include_str!("style.css"), "\n", include_str!("report.css"));

/// The page may load only its own script and styles, and talk only to its own server.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The most of a body the journal keeps for the detail view when no HAR file needs it whole, and
/// the most the detail view shows of any body. One byte more is kept so that the view knows the
/// body was longer.
pub const KEPT_BODY: usize = 64 * 1024;

/// Cut a body kept for the journal to [`KEPT_BODY`] (+1 byte, the truncation marker). Called by
/// the journal's writer thread, off the request path.
pub fn bound_body(body: &mut axum::body::Bytes) {
    if body.len() > KEPT_BODY + 1 {
        // A copy, so the rest of a large body is freed now.
        *body = axum::body::Bytes::copy_from_slice(&body[..=KEPT_BODY]);
    }
}

/// Whether an admin path (after `/__standin/`, no trailing slash) is one of this module's.
pub fn owns(path: &str) -> bool {
    path == "ui"
        || path.starts_with("ui/")
        || path == "coverage"
        || path.strip_prefix("requests/").is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// Answer one of the paths [`owns`] accepts.
// The admin endpoints' error type, whatever its size (`Rejection` is shared crate-wide).
#[allow(clippy::result_large_err)]
pub fn endpoint(app: &App, method: &Method, path: &str, query: &[(String, String)]) -> Result<Response, Rejection> {
    let read = *method == Method::GET || *method == Method::HEAD;
    let not_found = || Rejection::not_found(method, &format!("{}{path}", crate::admin::ADMIN_PREFIX));
    let arg = |k: &str| query.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    match path {
        "ui" | "ui/index.html" if read => Ok(page(INDEX_HTML, "text/html; charset=utf-8")),
        "ui/app.js" if read => Ok(page(APP_JS, "text/javascript; charset=utf-8")),
        "ui/style.css" if read => Ok(page(STYLE_CSS, "text/css; charset=utf-8")),
        "coverage" if read => {
            let report = coverage(app);
            Ok(match arg("format") {
                Some("html") => {
                    let mut r = text(report::html(&report), "text/html; charset=utf-8");
                    // The report has no script and needs nothing from anywhere.
                    r.headers_mut()
                        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"));
                    r
                }
                Some("fragment") => text(report::fragment(&report), "text/html; charset=utf-8"),
                _ => json_response(&serde_json::to_value(&report).unwrap_or(Value::Null)),
            })
        }
        "coverage" if *method == Method::DELETE => {
            if let Some(r) = &app.recorder {
                r.coverage().clear();
            }
            Ok(json_response(&json!({"cleared": true})))
        }
        _ if path.starts_with("requests/") && read => {
            let id: u64 = path["requests/".len()..].parse().map_err(|_| not_found())?;
            let ex = app.recorder.as_ref().and_then(|r| r.exchange(id)).ok_or_else(not_found)?;
            Ok(json_response(&detail::detail(app, &ex)))
        }
        _ => Err(not_found()),
    }
}

/// The coverage report of the running server (empty when the journal is off).
pub fn coverage(app: &App) -> crate::coverage::Report {
    let specs: Vec<&crate::spec::Spec> = app.mounts.iter().map(|m| &*m.spec).collect();
    match &app.recorder {
        Some(r) => r.coverage().report(&specs),
        None => crate::coverage::Coverage::default().report(&specs),
    }
}

/// A mount's routes, for `GET /__standin/specs`: method, full path, operation, declared statuses.
pub fn routes(m: &Mount) -> Value {
    Value::Array(
        m.spec
            .operations
            .iter()
            .map(|op| {
                json!({
                    "method": op.method.as_str(),
                    "path": format!("{}{}", m.spec.base_path, op.path),
                    "operation": op.label(),
                    "summary": op.summary,
                    "statuses": op.responses.iter().map(|r| r.status.to_string()).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn page(body: &'static str, content_type: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_POLICY));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

fn text(body: String, content_type: &'static str) -> Response {
    let mut r = Response::new(Body::from(body));
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

fn json_response(v: &Value) -> Response {
    let mut r = Response::new(Body::from(v.to_string()));
    *r.status_mut() = StatusCode::OK;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owns_only_its_own_admin_paths() {
        for p in ["ui", "ui/app.js", "coverage", "requests/12"] {
            assert!(owns(p), "{p}");
        }
        for p in ["requests", "requests/", "requests/x", "specs", "uix", "coverage/x"] {
            assert!(!owns(p), "{p}");
        }
    }

    #[test]
    fn bodies_kept_for_the_journal_are_cut_one_byte_past_the_limit() {
        let mut small = axum::body::Bytes::from(vec![b'a'; KEPT_BODY]);
        bound_body(&mut small);
        assert_eq!(small.len(), KEPT_BODY);
        let mut large = axum::body::Bytes::from(vec![b'a'; 3 * KEPT_BODY]);
        bound_body(&mut large);
        assert_eq!(large.len(), KEPT_BODY + 1);
    }
}
