//! standin's own endpoints under `/__standin/`: health, the mounted specs, the journal and its
//! violations, each tenant's state, reset, events and webhooks, and the inspector page (`ui/`).
//!
//! Chosen once, at the top of each exchange (`server::exchange`), before any spec is looked at:
//! admin calls never go through the pipeline, are not journaled and get no injected faults.
//! Takes: the method, the path after the prefix, the query and the body. Hands on: a JSON answer,
//! or a [`Rejection`] rendered as problem+json by the caller.

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;

use crate::app::App;
use crate::reject::{self, Rejection};

/// Everything standin owns of its own lives under this prefix, never colliding with a spec path.
pub const ADMIN_PREFIX: &str = "/__standin/";

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
            let n: usize = app.mounts.iter().filter_map(|m| m.sandbox.as_ref()).map(|s| s.reset(tenant)).sum();
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
        ("GET" | "HEAD", "state") => Ok(json(serde_json::Value::Object(
            app.mounts.iter().filter_map(|m| Some((m.spec.title.clone(), m.sandbox.as_ref()?.dump()))).collect(),
        ))),
        _ => Err(Rejection::not_found(method, &format!("{ADMIN_PREFIX}{path}"))),
    }
}
