//! Build the answer for a validated request: which response, which media type, which body.
//!
//! Last stage of the pipeline. The body's source precedence is written down here, once:
//! 1. `Prefer: example=<name>` — that named example of the chosen response;
//! 2. a fixture for the operation and status (`--fixtures`), unless `Prefer: dynamic=true`;
//! 3. the spec's `examples`/`example` for the media type, unless `Prefer: dynamic=true`: the
//!    first that validates against its schema once a `{"$ref": …}` value is resolved (an
//!    example that breaks its own schema is skipped, never served);
//! 4. data generated from the response schema ([`generate`]), seeded by `--seed` and the request.
//!
//! The status is the operation's default success response, or `Prefer: code=<n>`. The media type
//! follows `Accept` as clients mean it ([`negotiate`]: q-values, wildcards, `+json` suffixes;
//! 406 when nothing declared is acceptable). Declared response headers are sent
//! with their example or a generated value. Path ids are reflected into a top-level `id`
//! when the result still validates (as stripe-mock does), so `GET /deals/deal_9` answers `deal_9`.
//!
//! The sandbox's answer ([`StateAnswer`], plain data) is either the whole body (a stored item) or
//! applied to the chosen body in a last pass, after the path ids ([`apply`]).
//!
//! Refusals of a known operation are answered in its declared error schema ([`error_body`]);
//! `--self-check` validates every answer against what it declares ([`self_check`]).

pub mod apply;
pub mod artifacts;
pub mod error_body;
pub mod generate;
pub mod negotiate;
pub mod self_check;

pub use apply::{Page, StateAnswer};

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue};
use serde_json::Value;
use std::borrow::Cow;

use crate::reject::Rejection;
use crate::spec::model::{is_json_mime, Operation, ResponseMedia};
use crate::spec::Spec;
pub use artifacts::Artifacts;

/// What the client asked for through the `Prefer` header (as Prism reads it).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Prefer {
    pub code: Option<u16>,
    pub example: Option<String>,
    pub dynamic: bool,
    /// `latency=MS`: wait this long before answering (the fault stage reads it).
    pub latency: Option<u64>,
}

impl Prefer {
    /// Parse `Prefer: code=404, example=name, dynamic=true, latency=300` (also `;`-separated).
    pub fn parse(values: &[&str]) -> Prefer {
        let mut p = Prefer::default();
        for v in values {
            for part in v.split([',', ';']) {
                let Some((k, val)) = part.split_once('=') else { continue };
                let val = val.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "code" => p.code = val.parse().ok(),
                    "example" => p.example = Some(val.to_string()),
                    "dynamic" => p.dynamic = val.eq_ignore_ascii_case("true"),
                    "latency" if p.latency.is_none() => p.latency = val.parse().ok(),
                    _ => {}
                }
            }
        }
        p
    }
}

/// A response ready to send.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Built at load, per response media (see `ResponseMedia::content_type`).
    pub content_type: Option<HeaderValue>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Reference-counted: a fixture or example body is serialized once and shared.
    pub body: Bytes,
    /// Where the body came from (`fixture`, `example:<name>`, `generated`, `empty`): for logs and
    /// the recording. Borrowed for every source but a named example: no allocation per answer.
    pub source: std::borrow::Cow<'static, str>,
}

/// Everything about the request that decides the answer, and the spec's compiled artifacts.
pub struct RespondInput<'r> {
    /// What the app compiled from this spec's responses (validators, plans, fixed bodies).
    pub artifacts: &'r Artifacts,
    pub prefer: &'r Prefer,
    pub accept: Option<&'r str>,
    /// Decoded path parameters, in template order.
    pub path_params: &'r [(String, String)],
    /// Seed for this request: the CLI seed mixed with a stable hash of the request.
    pub seed: u64,
    /// The sandbox's answer, applied to a JSON body (the source is then `state`).
    pub state: Option<StateAnswer>,
}

/// Choose and build the answer for `op`.
pub fn respond(spec: &Spec, op: &Operation, mut input: RespondInput<'_>) -> Result<Answer, Rejection> {
    let state = input.state.take();
    let input = &input;
    // --- Status.
    let (status, response) = match input.prefer.code {
        Some(code) => match op.response_for(code) {
            Some(r) => (code, r),
            None => {
                let declared: Vec<String> = op.responses.iter().map(|r| r.status.to_string()).collect();
                return Err(Rejection::bad_prefer(format!(
                    "Prefer: code={code} asks for a response {} does not declare (declared: {})",
                    op.label(),
                    declared.join(", ")
                )));
            }
        },
        None => match op.default_response() {
            Some(r) => (r.status.concrete(), r),
            None => return Ok(Answer { status: 204, content_type: None, headers: vec![], body: Bytes::new(), source: "empty".into() }),
        },
    };

    // --- Media type.
    let media = if response.content.is_empty() {
        None
    } else {
        match negotiate::negotiate(&response.content, input.artifacts.declared(response), input.accept) {
            Some(m) => Some(m),
            None => {
                let available: Vec<&str> = response.content.iter().map(|m| m.mime.as_str()).collect();
                return Err(Rejection::not_acceptable(input.accept.unwrap_or(""), &available));
            }
        }
    };

    let headers = response_headers(spec, input.artifacts, response.headers.iter(), input.seed);
    let Some(media) = media else {
        return Ok(Answer { status, content_type: None, headers, body: Bytes::new(), source: "empty".into() });
    };

    // --- Body: a stored item is the whole body; otherwise the usual precedence chooses one,
    // then two passes run on it: path ids are reflected, and the sandbox's answer is applied.
    let (value, source) = match stored_body(state, &media.mime) {
        Ok(stored) => (stored, "state".into()),
        Err(state) => {
            let edits = state.as_ref().is_some_and(StateAnswer::edits);
            let (value, source) = body_value(spec, op, media, input, edits)?;
            let value = reflect_path_ids(spec, op, input.artifacts, media, value, &source, input.path_params);
            match (value, state) {
                (value, None) => (value, source),
                (value, Some(StateAnswer::Keep)) => (value, "state".into()),
                (BodyValue::Json(mut v), Some(answer)) => {
                    apply::apply_state(&mut v, answer);
                    (BodyValue::Json(v), "state".into())
                }
                // A binary body: nothing to apply to.
                (value, Some(_)) => (value, source),
            }
        }
    };
    let content_type = media.content_type.clone();
    let body = match value {
        BodyValue::Json(v) => Bytes::from(encode(&media.mime, &v)),
        BodyValue::Bytes(b) => b,
    };
    Ok(Answer { status, content_type, headers, body, source })
}

/// A JSON value as the bytes of `mime`: JSON text, or a string's own text for non-JSON types.
fn encode(mime: &str, v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) if !is_json_mime(mime) => s.as_bytes().to_vec(),
        _ => {
            let mut out = Vec::with_capacity(256);
            crate::util::json_text::write_value(&mut out, v, usize::MAX);
            out
        }
    }
}

/// The body when the sandbox's answer is a whole stored item the media type can carry, else
/// the answer back (`None` for a stored item in a binary media type: the usual body is sent).
fn stored_body(state: Option<StateAnswer>, mime: &str) -> Result<BodyValue, Option<StateAnswer>> {
    match state {
        Some(StateAnswer::Item(v)) if !is_binary_mime(mime) => Ok(BodyValue::Json(v)),
        Some(StateAnswer::ItemText(text)) if is_json_mime(mime) => Ok(BodyValue::Bytes(text)),
        Some(StateAnswer::ItemText(text)) if !is_binary_mime(mime) => {
            Ok(BodyValue::Json(serde_json::from_slice(&text).unwrap_or(Value::Null)))
        }
        Some(StateAnswer::Item(_) | StateAnswer::ItemText(_)) => Err(None),
        other => Err(other),
    }
}

/// Post-generation pass: reflect the path id into a fixture or generated JSON body (examples
/// are served as written; bytes were chosen only where reflecting would change nothing).
fn reflect_path_ids(
    spec: &Spec,
    op: &Operation,
    artifacts: &Artifacts,
    media: &ResponseMedia,
    value: BodyValue,
    source: &str,
    path_params: &[(String, String)],
) -> BodyValue {
    match value {
        BodyValue::Json(v) if source == "fixture" || source == "generated" => {
            BodyValue::Json(reflect_path_id(spec, op, artifacts, media, v, path_params))
        }
        other => other,
    }
}

enum BodyValue {
    Json(Value),
    /// Final bytes (binary placeholders; fixtures and examples served as they are).
    Bytes(Bytes),
}

/// The body by the usual precedence. `want_value`: the caller edits it, so a JSON value is
/// needed; otherwise a fixture or example that needs no change is served from bytes serialized
/// once (no clone of the value, no serialization per request).
fn body_value(
    spec: &Spec,
    op: &Operation,
    media: &ResponseMedia,
    input: &RespondInput<'_>,
    want_value: bool,
) -> Result<(BodyValue, std::borrow::Cow<'static, str>), Rejection> {
    if let Some(name) = &input.prefer.example {
        return match media.examples.iter().find(|(n, _)| n == name) {
            Some((n, p)) => Ok((BodyValue::Json(example_value(spec, p)), format!("example:{n}").into())),
            None => {
                let names: Vec<&str> = media.examples.iter().map(|(n, _)| n.as_str()).collect();
                Err(Rejection::bad_prefer(format!(
                    "Prefer: example={name} names no example of {} (examples: {})",
                    op.label(),
                    if names.is_empty() { "none".to_string() } else { names.join(", ") }
                )))
            }
        };
    }
    let artifacts = input.artifacts.media(media);
    if !input.prefer.dynamic {
        if let Some(f) = &media.fixture {
            if !want_value && !reflects_path_id(op, f, input.path_params) {
                return Ok((BodyValue::Bytes(artifacts.fixed_bytes(|| Bytes::from(encode(&media.mime, f)))), "fixture".into()));
            }
            return Ok((BodyValue::Json(Value::clone(f)), "fixture".into()));
        }
        if let Some((i, example)) = artifacts.example(spec, media) {
            let source = format!("example:{}", media.examples[i].0).into();
            if !want_value {
                return Ok((BodyValue::Bytes(artifacts.fixed_bytes(|| Bytes::from(encode(&media.mime, example)))), source));
            }
            return Ok((BodyValue::Json(example.clone()), source));
        }
    }
    if is_binary_mime(&media.mime) {
        return Ok((BodyValue::Bytes(Bytes::from(binary_placeholder(&media.mime, input.seed))), "generated".into()));
    }
    let Some(schema) = &media.schema else {
        return Ok((BodyValue::Json(Value::Object(Default::default())), "generated".into()));
    };
    let plan = artifacts.plan(spec, schema);
    let g = plan.generate_gen(input.seed, input.prefer.dynamic);
    if !want_value && id_target(op, input.path_params, &|f| g.has_property(f)).is_none() {
        // Straight to bytes: no `Value` tree is built.
        let bytes = match &g {
            generate::Gen::Str(s) if !is_json_mime(&media.mime) => s.as_bytes().to_vec(),
            _ => {
                let mut buf = Vec::with_capacity(1024);
                g.write_json(&mut buf);
                buf
            }
        };
        return Ok((BodyValue::Bytes(Bytes::from(bytes)), "generated".into()));
    }
    Ok((BodyValue::Json(g.into_value()), "generated".into()))
}

/// The last path parameter and the body field it names, when there is one: `id` for a name
/// that says it is an id (`id`, `productId`); for an item path ending in another parameter
/// (`/customers/{customer}`, `/issues/{issue_number}`, `/users/{username}`), the field the name
/// points at (`customer`, `number`, `login`, `name` for a repo or branch), else `id`. `has` says
/// whether the body has a field.
fn id_target<'p>(
    op: &Operation,
    path_params: &'p [(String, String)],
    has: &dyn Fn(&str) -> bool,
) -> Option<(Cow<'static, str>, &'p String)> {
    let (name, raw) = path_params.last()?;
    let n = name.as_bytes();
    if n.len() >= 2 && n[n.len() - 2..].eq_ignore_ascii_case(b"id") {
        return has("id").then_some((Cow::Borrowed("id"), raw));
    }
    let ends_with_it = op.path.strip_suffix('}').and_then(|p| p.strip_suffix(name.as_str())).is_some_and(|p| p.ends_with('{'));
    if !ends_with_it {
        return None;
    }
    crate::state::infer::id_field_named(name, has).map(|field| (Cow::Owned(field), raw))
}

/// Whether [`reflect_path_id`] could change `body` (cheap checks only, no clone).
fn reflects_path_id(op: &Operation, body: &Value, path_params: &[(String, String)]) -> bool {
    let Some((field, raw)) = id_target(op, path_params, &|f| body.get(f).is_some()) else { return false };
    match body.get(field.as_ref()) {
        Some(Value::String(s)) => s != raw,
        Some(Value::Number(n)) => raw.parse::<i64>().is_ok_and(|r| n.as_i64() != Some(r)),
        _ => false,
    }
}

/// The value of an example, from the response view where it is kept; a value that is only a
/// `$ref` is resolved (to the `value` of an Example object it names).
fn example_value(spec: &Spec, pointer: &str) -> Value {
    let doc = &spec.schemas.response;
    let mut value = crate::spec::load::pointer(doc, pointer);
    for _ in 0..8 {
        let Some(target) = value.and_then(|v| v.as_object()).filter(|m| m.len() == 1).and_then(|m| m.get("$ref")).and_then(Value::as_str)
        else {
            break;
        };
        let Some(fragment) = target.strip_prefix('#') else { break };
        let at = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy();
        let found = crate::spec::load::pointer(doc, &at);
        value = match found {
            Some(example) if at.starts_with("/components/examples/") && example.get("value").is_some() => example.get("value"),
            other => other,
        };
    }
    value.cloned().unwrap_or(Value::Null)
}

/// Put the last path parameter into a top-level `id` when the body still validates with it.
fn reflect_path_id(
    spec: &Spec,
    op: &Operation,
    artifacts: &Artifacts,
    media: &ResponseMedia,
    mut body: Value,
    path_params: &[(String, String)],
) -> Value {
    let Some((field, raw)) = id_target(op, path_params, &|f| body.get(f).is_some()) else { return body };
    let Some(current) = body.get(field.as_ref()) else { return body };
    let candidate = match current {
        Value::String(s) if s == raw => return body,
        Value::String(_) => Value::String(raw.clone()),
        Value::Number(_) => match raw.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => return body,
        },
        _ => return body,
    };
    let Some(schema) = &media.schema else { return body };
    let Ok(validator) = artifacts.media(media).validator(spec, schema) else { return body };
    let previous = body.get(field.as_ref()).cloned();
    body[field.as_ref()] = candidate;
    if validator.is_valid(&body) {
        body
    } else {
        body[field.as_ref()] = previous.unwrap_or(Value::Null);
        body
    }
}

fn is_binary_mime(mime: &str) -> bool {
    mime == "application/octet-stream"
        || mime == "application/pdf"
        || mime.starts_with("image/")
        || mime.starts_with("audio/")
        || mime.starts_with("video/")
        || mime == "application/zip"
}

/// A small, well-formed body for binary media types (a real one-page PDF for `application/pdf`).
fn binary_placeholder(mime: &str, seed: u64) -> Vec<u8> {
    if mime == "application/pdf" {
        return MINIMAL_PDF.to_vec();
    }
    let mut x = seed | 1;
    (0..64)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x & 0xff) as u8
        })
        .collect()
}

const MINIMAL_PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\nxref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n";

/// Declared response headers with their example or a generated value.
fn response_headers<'h>(
    spec: &Spec,
    artifacts: &Artifacts,
    headers: impl Iterator<Item = &'h crate::spec::model::ResponseHeader>,
    seed: u64,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::new();
    for h in headers {
        let Some(name) = &h.header_name else { continue };
        if let Some(example) = &h.example {
            out.push((name.clone(), example.clone()));
            continue;
        }
        let Some(pointer) = h.schema.as_deref() else { continue };
        let plan = artifacts.header_plan(spec, h, pointer);
        let value = plan.generate_named(seed ^ crate::util::hash::stable_hash(&[h.name.as_bytes()]));
        if let Some(v) = crate::spec::model::header_text(&value).and_then(|t| HeaderValue::from_str(&t).ok()) {
            out.push((name.clone(), v));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefer_reads_code_example_and_dynamic() {
        assert_eq!(
            Prefer::parse(&["code=404, example=missing", "dynamic=true"]),
            Prefer { code: Some(404), example: Some("missing".into()), dynamic: true, latency: None }
        );
        // The first latency counts; one that is no number is ignored.
        assert_eq!(Prefer::parse(&["latency=300; latency=5"]).latency, Some(300));
        assert_eq!(Prefer::parse(&["latency=soon"]).latency, None);
    }
}
