//! standin's own endpoints under `/__standin/`: health, the mounted specs, the journal and its
//! violations, each tenant's state, reset, events and webhooks, and the inspector page (`ui/`).
//!
//! Chosen once, at the top of each exchange (`server::exchange`), before any spec is looked at:
//! admin calls never go through the pipeline, are not journaled and get no injected faults.
//! Takes: the method, the path after the prefix, the query and the body. Hands on: a JSON answer,
//! or a [`Rejection`] rendered as problem+json by the caller.
//!
//! Who may call ([`Access::check`], before any endpoint runs): without `--admin-token`, only
//! clients on this machine (a loopback peer) that name this server in `Host` (a localhost name
//! or the address they connected to, so a web page cannot reach standin by DNS rebinding); with
//! a token, anyone presenting it (`Authorization: Bearer TOKEN`, `X-Standin-Admin-Token: TOKEN`
//! or `?token=TOKEN`). `health` and the inspector page's static files (no data) are open to all.
//! Admin answers carry no CORS headers and admin preflights are refused, so a browser page on
//! another origin cannot read them.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;

use crate::app::App;
use crate::reject::{self, Rejection};

/// Everything standin owns of its own lives under this prefix, never colliding with a spec path.
pub const ADMIN_PREFIX: &str = "/__standin/";

/// Who may call the admin endpoints (`serve --admin-token`).
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Required on every admin call when set, from any client; without it only loopback
    /// clients are answered.
    pub token: Option<String>,
}

/// The admin paths open to every client: nothing in them is data.
fn open(path: &str) -> bool {
    matches!(path.trim_end_matches('/'), "health" | "ui" | "ui/index.html" | "ui/app.js" | "ui/style.css")
}

impl Access {
    /// Whether this admin call may be answered: `path` after the prefix, the connection's
    /// `peer` (`None` for a request handed over in-process), its headers and query.
    pub fn check(
        &self,
        path: &str,
        peer: Option<&crate::server::Peer>,
        headers: &axum::http::HeaderMap,
        query: &[(String, String)],
    ) -> Result<(), Rejection> {
        if open(path) {
            return Ok(());
        }
        if let Some(token) = &self.token {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok()?.strip_prefix("Bearer "))
                .or_else(|| headers.get("x-standin-admin-token").and_then(|v| v.to_str().ok()))
                .or_else(|| query.iter().find(|(k, _)| k == "token").map(|(_, v)| v.as_str()));
            return match presented {
                Some(p) if same(p.trim().as_bytes(), token.as_bytes()) => Ok(()),
                _ => Err(Rejection::unauthorized("the admin token (Authorization: Bearer TOKEN or X-Standin-Admin-Token: TOKEN)".into())),
            };
        }
        let Some(peer) = peer else { return Ok(()) };
        if !peer.remote.ip().is_loopback() {
            return Err(Rejection::forbidden(
                "Admin endpoints answer only clients on this machine; start standin with --admin-token to reach them from elsewhere."
                    .into(),
            ));
        }
        match headers.get(header::HOST).map(|h| h.to_str().map(|h| names_this_server(h, peer))) {
            None | Some(Ok(true)) => Ok(()),
            _ => Err(Rejection::forbidden("Admin calls must name this server in Host (localhost or the address connected to).".into())),
        }
    }
}

/// Whether a `Host` value (with or without a port) is a localhost name, a loopback address or
/// the address the client connected to.
fn names_this_server(host: &str, peer: &crate::server::Peer) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.rsplit_once(':').map_or(host, |(n, port)| if port.bytes().all(|b| b.is_ascii_digit()) { n } else { host }),
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() || ip == peer.local.ip())
}

/// Compare without stopping at the first difference (the time taken says nothing of the token).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The part of `path` after [`ADMIN_PREFIX`], for an admin path.
pub fn admin_path(path: &str) -> Option<&str> {
    path.strip_prefix(ADMIN_PREFIX)
}

/// Answer one admin call.
pub fn endpoint(app: &App, method: &Method, path: &str, query: &[(String, String)], body: &[u8]) -> Result<Response, Rejection> {
    let json = |v: serde_json::Value| {
        let mut r = Response::new(Body::from(v.to_string()));
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r
    };
    match (method.as_str(), path.trim_end_matches('/')) {
        // --- The inspector page, one exchange in detail, contract coverage (src/ui, src/coverage).
        (_, p) if crate::ui::owns(p) => crate::ui::endpoint(app, method, p, query),
        ("GET" | "HEAD", "health") => Ok(json(serde_json::json!({"status": "ok"}))),
        ("GET" | "HEAD", "specs") => Ok(json(serde_json::Value::Array(
            app.mounts
                .iter()
                .map(|m| {
                    serde_json::json!({
                        "title": m.spec.title, "version": m.spec.version, "openapi": m.spec.openapi,
                        "file": m.spec.file.display().to_string(), "basePath": m.spec.base_path,
                        "operations": m.spec.operations.len(),
                        "routes": crate::ui::routes(m),
                    })
                })
                .collect(),
        ))),
        ("POST", "reset") => {
            // `?tenant=KEY` resets one tenant; otherwise every tenant of every spec.
            let tenant = query.iter().find(|(k, _)| k == "tenant").map(|(_, v)| v.as_str());
            // A shared store that is down: 503, not a count of 0 (the client may retry).
            let mut n = 0;
            for s in app.mounts.iter().filter_map(|m| m.sandbox.as_ref()) {
                n += s.reset(tenant)?;
            }
            Ok(json(serde_json::json!({"reset": n})))
        }
        ("GET" | "HEAD", "requests") => {
            Ok(json(serde_json::Value::Array(app.recorder.as_ref().map(|r| r.list(query)).unwrap_or_default())))
        }
        ("DELETE", "requests") => {
            if let Some(r) = &app.recorder {
                r.clear();
            }
            Ok(json(serde_json::json!({"cleared": true})))
        }
        ("GET" | "HEAD", "violations") => {
            Ok(json(serde_json::Value::Array(app.recorder.as_ref().map(|r| r.violations()).unwrap_or_default())))
        }
        ("GET" | "HEAD", "webhooks") => Ok(json(serde_json::Value::Array(
            app.mounts.iter().filter_map(|m| m.sandbox.as_ref()).flat_map(|s| s.webhooks.log()).collect(),
        ))),
        ("POST", "webhooks/fire") => {
            // Fire any event by hand (e.g. `invoice.overdue`, which no API call causes):
            // `{"event": "...", "data": {...}, "tenant": "<credential>"}`.
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
            let Some(event) = v.get("event").and_then(serde_json::Value::as_str) else {
                return Err(Rejection::invalid_request(
                    StatusCode::BAD_REQUEST,
                    vec![reject::Problem {
                        location: "body.event".into(),
                        message: "is required".into(),
                        keyword: Some("required".into()),
                    }],
                ));
            };
            let data = v.get("data").cloned().unwrap_or(serde_json::Value::Object(Default::default()));
            let tenant = v.get("tenant").and_then(serde_json::Value::as_str).unwrap_or("");
            for s in app.mounts.iter().filter_map(|m| m.sandbox.as_ref()) {
                s.events.emit(tenant, event, &data);
            }
            Ok(json(serde_json::json!({"fired": event})))
        }
        ("GET" | "HEAD", "events") => {
            Ok(json(serde_json::Value::Array(app.mounts.iter().filter_map(|m| m.sandbox.as_ref()).flat_map(|s| s.events.list()).collect())))
        }
        ("GET" | "HEAD", "state") => {
            let mut out = serde_json::Map::new();
            for m in &app.mounts {
                if let Some(s) = &m.sandbox {
                    out.insert(m.spec.title.clone(), s.dump()?);
                }
            }
            Ok(json(serde_json::Value::Object(out)))
        }
        _ => Err(Rejection::not_found(method, &format!("{ADMIN_PREFIX}{path}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(remote: &str, local: &str) -> crate::server::Peer {
        crate::server::Peer { remote: remote.parse().unwrap(), local: local.parse().unwrap() }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> axum::http::HeaderMap {
        pairs.iter().map(|(k, v)| (axum::http::HeaderName::from_static(k), HeaderValue::from_str(v).unwrap())).collect()
    }

    #[test]
    fn remote_peers_are_refused_without_a_token_and_answered_with_it() {
        let remote = peer("192.0.2.7:5000", "192.0.2.2:4010");
        let host = headers(&[("host", "192.0.2.2:4010")]);
        let open = Access::default();
        assert_eq!(open.check("state", Some(&remote), &host, &[]).unwrap_err().status, StatusCode::FORBIDDEN);
        assert!(open.check("health", Some(&remote), &host, &[]).is_ok());
        let locked = Access { token: Some("t0k".into()) };
        assert_eq!(locked.check("state", Some(&remote), &host, &[]).unwrap_err().status, StatusCode::UNAUTHORIZED);
        let bearer = headers(&[("host", "anything"), ("authorization", "Bearer t0k")]);
        assert!(locked.check("state", Some(&remote), &bearer, &[]).is_ok());
        assert!(locked.check("state", Some(&remote), &host, &[("token".into(), "t0k".into())]).is_ok());
        assert!(locked.check("state", Some(&remote), &host, &[("token".into(), "t0".into())]).is_err());
    }

    #[test]
    fn host_must_name_this_server() {
        let local = peer("127.0.0.1:5000", "127.0.0.1:4010");
        for ok in ["localhost", "localhost:4010", "LOCALHOST.", "a.localhost:1", "127.0.0.1:4010", "127.9.9.9", "[::1]:4010"] {
            assert!(Access::default().check("state", Some(&local), &headers(&[("host", ok)]), &[]).is_ok(), "{ok}");
        }
        for bad in ["evil.example", "localhost.evil.example", "10.0.0.1:4010", "[::2]:4010"] {
            assert!(Access::default().check("state", Some(&local), &headers(&[("host", bad)]), &[]).is_err(), "{bad}");
        }
    }
}
