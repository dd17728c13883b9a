//! Stage 2, vendor rules: what a vendor refuses before it even looks at credentials, as its
//! `x-standin` block declares it. `requireHeaders`: a header without which the vendor answers
//! with its own page (Bento's `User-Agent`); `requireOneOf`: one of several values must be
//! present (checked before validation, whose answer would be a plain 400).
//!
//! Takes the spec, the operation, the request's headers, query and body. Hands on nothing, or the
//! vendor's own refusal.

use axum::http::{HeaderMap, StatusCode};

use crate::reject::Rejection;
use crate::spec::{Operation, Spec};

/// Check every rule of the spec that applies to `op`.
pub fn check(spec: &Spec, op: &Operation, headers: &HeaderMap, query: &[(String, String)], body: &[u8]) -> Result<(), Rejection> {
    for (name, refusal) in &spec.ext.require_headers {
        let present = headers.get(name.as_str()).and_then(|v| v.to_str().ok()).is_some_and(|v| !v.trim().is_empty());
        if !present {
            let body = match &refusal.body {
                serde_json::Value::String(s) => s.clone().into_bytes(),
                other => other.to_string().into_bytes(),
            };
            let status = StatusCode::from_u16(refusal.status).unwrap_or(StatusCode::FORBIDDEN);
            return Err(Rejection::refused(status, refusal.content_type.clone(), body, format!("the {name} header is required")));
        }
    }
    // The body is parsed at most once, and only if a rule looks into it.
    let json_body = std::cell::OnceCell::new();
    for rule in spec.ext.require_one_of.iter().filter(|r| r.applies_to(op.operation_id.as_deref())) {
        let present = rule.of.iter().any(|place| match place.location.as_str() {
            "query" => query.iter().any(|(k, v)| *k == place.name && !v.is_empty()),
            "header" => headers.contains_key(place.name.as_str()),
            "body" => json_body
                .get_or_init(|| serde_json::from_slice::<serde_json::Value>(body).ok())
                .as_ref()
                .is_some_and(|b| b.get(&place.name).is_some_and(|v| !v.is_null())),
            _ => false,
        });
        if !present {
            return Err(Rejection::rule(StatusCode::from_u16(rule.status).unwrap_or(StatusCode::BAD_REQUEST), rule.message.clone()));
        }
    }
    Ok(())
}
