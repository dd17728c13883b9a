//! Error answers in the operation's own declared error schema.
//!
//! When standin refuses a request of a known operation, and that operation declares a response
//! for the status (exact code, then `4XX`/`5XX`, then a `default` next to a declared success) with
//! a JSON media type and a schema, the answer is a body valid against that schema: generated once
//! (required properties only), then with the problems put into its message-like fields
//! (`message`, `detail`, `error`, `error_description`, `errors[]` of strings or of objects), the
//! code into a code-like one (`code`, `type`, `status`; an integer `code` carries the HTTP
//! status; an `enum` keeps one of its values, the one nearest the problem) and the first problem's
//! location into a field-like one (`param`, `field`). Where the schema leaves room (no
//! `additionalProperties: false` in the way), problem+json's members (`errors[]` with each
//! problem's `location` and `keyword`, `detail`, …) are kept next to the declared fields, so
//! clients of standin's own shape keep working. Filled bodies are validated; one the filling
//! broke falls back to the declared fields alone, then to the generated body.
//!
//! Precedence, in [`ErrorBodies::body`]: (1) the vendor's `x-standin.errors` envelope when what
//! it renders validates against the declared schema (the envelope states the vendor's documented
//! codes and wording); (2) the declared schema filled in here; (3) the envelope anyway (no
//! declared schema); (4) problem+json (`Rejection::render`).
//!
//! Takes the spec at load ([`ErrorBodies::new`]); hands the refusal path a content type and bytes.
//!
//! # Implementation rationale
//! At load: which operation is which label, which response media type is an error schema, and
//! which distinct schemas those are (by the pointer their `$ref`s end at, so GitHub's thousands
//! of error responses are a handful of schemas). Each distinct schema compiles to an
//! [`ErrorShape`] (validator, generated body, the field paths to fill, and whether the vendor
//! envelope fits it for each status standin answers) — at load when a spec has at most
//! [`EAGER_SHAPES`] of them, else on the first refusal that needs it. Per refusal: a clone of the
//! generated body, the fields set, one validation.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::http::HeaderValue;
use serde_json::Value;

use super::generate::{NodeRef, Plan, Shape};
use crate::reject::{Problem, Rejection};
use crate::spec::ext::ErrorEnvelope;
use crate::spec::model::{is_json_mime, Operation, Response, StatusKey};
use crate::spec::{Spec, View};

/// Up to this many distinct error schemas are compiled at load; more, on first use.
pub const EAGER_SHAPES: usize = 64;

/// Seed of the generated error bodies (they are the same for every request).
const SEED: u64 = 0x5eed_e770;

/// The statuses standin's own refusals use: the envelope's fit is decided at load for these.
const STATUSES: [u16; 16] = [400, 401, 403, 404, 405, 406, 409, 413, 414, 415, 422, 429, 431, 500, 502, 503];

const MESSAGE_KEYS: [&str; 7] = ["message", "detail", "details", "error", "error_description", "msg", "description"];
const CODE_KEYS: [&str; 5] = ["code", "type", "error_code", "errorcode", "reason"];
const STATUS_KEYS: [&str; 3] = ["status", "status_code", "statuscode"];
const FIELD_KEYS: [&str; 6] = ["field", "param", "parameter", "location", "path", "pointer"];
const LIST_KEYS: [&str; 7] = ["errors", "details", "problems", "issues", "violations", "invalid_params", "messages"];
/// Objects looked into for the fields above (`{"error": {"message": …}}`).
const CONTAINER_KEYS: [&str; 4] = ["error", "err", "fault", "problem"];

/// Every error schema of one spec (built with the spec's [`Artifacts`](super::Artifacts)).
#[derive(Debug, Default)]
pub struct ErrorBodies {
    /// Operation label → index (a refusal knows its operation by label).
    by_label: HashMap<Arc<str>, usize>,
    /// By response media index: the distinct error schema of an error response's JSON media.
    by_media: Vec<Option<u32>>,
    shapes: Vec<ShapeSlot>,
}

#[derive(Debug)]
struct ShapeSlot {
    /// The schema's pointer in the response view (its `$ref`s followed).
    pointer: String,
    shape: OnceLock<Option<ErrorShape>>,
}

/// One declared error schema, compiled for filling.
#[derive(Debug)]
pub struct ErrorShape {
    validator: Arc<jsonschema::Validator>,
    /// The generated body with every field to fill present; valid against the schema.
    base: Value,
    fills: Vec<Fill>,
    /// The schema takes problem+json's members next to its own (no `additionalProperties: false`
    /// in the way): the answer keeps standin's problem list (`errors[].location`, `keyword`)
    /// besides the declared fields.
    open: bool,
    /// For each of [`STATUSES`], without and with problems: the vendor envelope validates.
    envelope_fits: Vec<(u16, bool, bool)>,
}

/// A field to fill, by its path from the body's root (or an item's).
#[derive(Debug)]
struct Fill {
    path: Vec<String>,
    what: What,
}

#[derive(Debug)]
enum What {
    Message,
    Title,
    Code(CodeKind),
    /// The HTTP status, as an integer.
    Status,
    /// The (first) problem's location.
    Field,
    /// One item per problem.
    List(Items),
}

#[derive(Debug)]
enum CodeKind {
    Text,
    /// A string with `format: uri`: `urn:standin:problem:<code>`.
    Urn,
    Enum(Vec<String>),
}

#[derive(Debug)]
enum Items {
    /// Each problem as `location: message`.
    Strings,
    /// Each problem as a copy of `base` with `fills` set from it.
    Objects { base: Value, fills: Vec<Fill> },
}

/// What a fill is set from: the whole refusal, or one problem of it.
struct Source<'r> {
    rejection: &'r Rejection,
    code: &'r str,
    message: &'r str,
    problem: Option<&'r Problem>,
}

impl ErrorBodies {
    /// Find the error responses of `spec` and the distinct schemas they use.
    pub fn new(spec: &Spec) -> ErrorBodies {
        let mut out = ErrorBodies::default();
        let mut by_pointer: HashMap<String, u32> = HashMap::new();
        for (i, op) in spec.operations.iter().enumerate() {
            out.by_label.entry(Arc::clone(&op.label)).or_insert(i);
            for r in &op.responses {
                if !is_error_response(op, r.status) {
                    continue;
                }
                let Some(media) = r.content.iter().find(|m| is_json_mime(&m.mime) && m.schema.is_some()) else { continue };
                let pointer = canonical(&spec.schemas.response, media.schema.as_deref().unwrap_or_default());
                let next = out.shapes.len() as u32;
                let slot = *by_pointer.entry(pointer.clone()).or_insert(next);
                if slot == next {
                    out.shapes.push(ShapeSlot { pointer, shape: OnceLock::new() });
                }
                if out.by_media.len() <= media.index {
                    out.by_media.resize(media.index + 1, None);
                }
                out.by_media[media.index] = Some(slot);
            }
        }
        if out.shapes.len() <= EAGER_SHAPES {
            for slot in &out.shapes {
                slot.get(spec);
            }
        }
        out
    }

    /// The body of `rejection` for the operation labelled `label` in its declared error schema,
    /// or `None` when the envelope or problem+json answers (see the module doc for the order),
    /// with the declared response it answers as.
    pub fn body<'s>(&self, spec: &'s Spec, label: Option<&str>, rejection: &Rejection) -> Option<(HeaderValue, Vec<u8>, &'s Response)> {
        if rejection.raw.is_some() {
            return None;
        }
        let op = self.operation(spec, label?)?;
        let status = rejection.status.as_u16();
        let response = op.response_for(status)?;
        let media = response.content.iter().find(|m| is_json_mime(&m.mime) && m.schema.is_some())?;
        let shape = self.shapes[self.by_media.get(media.index).copied().flatten()? as usize].get(spec)?;
        let envelope = spec.ext.errors.as_ref();
        if let Some(env) = envelope {
            if shape.envelope_fits(env, rejection) {
                return None;
            }
        }
        let code = envelope.and_then(|e| e.codes.get(rejection.status.as_str())).map_or(rejection.code, String::as_str);
        let message = rejection.message();
        let source = Source { rejection, code, message: &message, problem: rejection.errors.first() };
        let body = shape.filled(&source);
        Some((media.content_type.clone()?, serde_json::to_vec(&body).ok()?, response))
    }

    /// The operation labelled `label`.
    pub fn operation<'s>(&self, spec: &'s Spec, label: &str) -> Option<&'s Operation> {
        spec.operations.get(*self.by_label.get(label)?)
    }

    /// The compiled shape of the error schema of the response media with this index, if it is
    /// one (tests and the self-check).
    pub fn shape_of(&self, spec: &Spec, media_index: usize) -> Option<&ErrorShape> {
        self.shapes[self.by_media.get(media_index).copied().flatten()? as usize].get(spec)
    }
}

impl super::Artifacts {
    /// A refusal's answer in the operation's declared error schema ([`ErrorBodies::body`]),
    /// with the headers that response declares `required` (their example or a generated value).
    pub fn error_answer(&self, spec: &Spec, label: Option<&str>, rejection: &Rejection) -> Option<axum::response::Response> {
        let (content_type, bytes, response) = self.errors.body(spec, label, rejection)?;
        let mut answer = rejection.respond_with(content_type, bytes);
        let required = response.headers.iter().filter(|h| h.required);
        for (name, value) in super::response_headers(spec, self, required, SEED) {
            if !answer.headers().contains_key(&name) {
                answer.headers_mut().insert(name, value);
            }
        }
        Some(answer)
    }
}

impl ShapeSlot {
    fn get(&self, spec: &Spec) -> Option<&ErrorShape> {
        self.shape.get_or_init(|| ErrorShape::build(spec, &self.pointer)).as_ref()
    }
}

/// Whether a response with this status key answers errors: a 4xx/5xx code or range, or a
/// `default` next to a declared success (a `default` alone is the success answer).
fn is_error_response(op: &Operation, key: StatusKey) -> bool {
    match key {
        StatusKey::Code(c) => c >= 400,
        StatusKey::Range(r) => r >= 4,
        StatusKey::Default => op.responses.iter().any(|r| matches!(r.status, StatusKey::Code(200..=299) | StatusKey::Range(2))),
    }
}

/// `pointer` with any chain of `{"$ref": "#…"}`-only schemas followed.
fn canonical(doc: &Value, pointer: &str) -> String {
    let mut at = pointer.to_string();
    for _ in 0..32 {
        let next = match doc.pointer(&at) {
            Some(Value::Object(m)) if m.len() == 1 => m.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')),
            _ => None,
        };
        match next {
            Some(fragment) => at = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy().into_owned(),
            None => break,
        }
    }
    at
}

impl ErrorShape {
    /// Compile the schema at `pointer`; `None` when it has no validator.
    fn build(spec: &Spec, pointer: &str) -> Option<ErrorShape> {
        let validator = spec.schemas.compile_pointer(View::Response, pointer).ok()?;
        let plan = Plan::compile(&spec.schemas.response, pointer);
        let root = plan.root_ref();
        let mut base = plan.generate_minimal(root, SEED);
        let mut found = Vec::new();
        find(&plan, root, &mut Vec::new(), 0, &mut found);
        let sample = Rejection::invalid_request(
            axum::http::StatusCode::BAD_REQUEST,
            vec![Problem { location: "body.name".into(), message: "is required".into(), keyword: Some("required".into()) }],
        );
        let message = sample.message();
        let source = Source { rejection: &sample, code: sample.code, message: &message, problem: sample.errors.first() };
        // Each fill is kept only if the body stays valid with it (a `pattern`, a `format`, a
        // `const` or `additionalProperties: false` the name alone does not show).
        let mut fills = Vec::new();
        for (path, fill) in found {
            let mut trial = base.clone();
            if !materialize(&plan, root, &mut trial, &path) {
                continue;
            }
            let mut filled = trial.clone();
            fill.set(&mut filled, &source);
            if validator.is_valid(&trial) && validator.is_valid(&filled) {
                base = trial;
                fills.push(fill);
            }
        }
        if !validator.is_valid(&base) {
            return None;
        }
        let mut shape = ErrorShape { validator, base, fills, open: false, envelope_fits: Vec::new() };
        shape.open = shape.validator.is_valid(&shape.merged(shape.declared(&source), &sample));
        if let Some(env) = &spec.ext.errors {
            for status in STATUSES {
                let Ok(status) = axum::http::StatusCode::from_u16(status) else { continue };
                let bare = Rejection::internal(String::from("Something went wrong."));
                let with = Rejection::invalid_request(status, sample.errors.clone());
                let fits = |r: &Rejection| shape.validator.is_valid(&r.envelope_value(env));
                let (a, b) = (fits(&Rejection { status, ..bare }), fits(&with));
                shape.envelope_fits.push((status.as_u16(), a, b));
            }
        }
        Some(shape)
    }

    /// Whether the vendor envelope rendered for `rejection` validates against this schema
    /// (decided at load for the usual statuses).
    fn envelope_fits(&self, env: &ErrorEnvelope, rejection: &Rejection) -> bool {
        let status = rejection.status.as_u16();
        match self.envelope_fits.iter().find(|(s, _, _)| *s == status) {
            Some((_, bare, with)) => {
                if rejection.errors.is_empty() {
                    *bare
                } else {
                    *with
                }
            }
            None => self.validator.is_valid(&rejection.envelope_value(env)),
        }
    }

    /// The generated body with the refusal's fields set; the generated body when that breaks
    /// the schema (an over-long message, more problems than `maxItems`).
    fn filled(&self, source: &Source<'_>) -> Value {
        let body = self.declared(source);
        if self.open {
            let merged = self.merged(body.clone(), source.rejection);
            if self.validator.is_valid(&merged) {
                return merged;
            }
        }
        if self.validator.is_valid(&body) {
            return body;
        }
        let mut body = self.base.clone();
        for fill in self.fills.iter().filter(|f| !matches!(f.what, What::List(_))) {
            fill.set(&mut body, source);
        }
        if self.validator.is_valid(&body) {
            body
        } else {
            self.base.clone()
        }
    }

    /// The generated body with every field set.
    fn declared(&self, source: &Source<'_>) -> Value {
        let mut body = self.base.clone();
        for fill in &self.fills {
            fill.set(&mut body, source);
        }
        body
    }

    /// `body` with problem+json's members it does not have itself.
    fn merged(&self, mut body: Value, rejection: &Rejection) -> Value {
        if let (Value::Object(map), Value::Object(problem)) = (&mut body, rejection.body()) {
            for (k, v) in problem {
                map.entry(k).or_insert(v);
            }
        }
        body
    }

    /// The generated body before any field is set (tests).
    pub fn base(&self) -> &Value {
        &self.base
    }
}

/// The fields to fill under `node` (an object), found by property name and kind.
fn find(plan: &Plan, node: NodeRef, path: &mut Vec<String>, depth: usize, out: &mut Vec<(Vec<String>, Fill)>) {
    let Shape::Object(props) = plan.shape(node) else { return };
    for (name, child, _) in props {
        let key = name.to_ascii_lowercase();
        let shape = plan.shape(child);
        path.push(name.to_string());
        match classify(plan, &key, &shape, depth) {
            Some(what) => out.push((path.clone(), Fill { path: path.clone(), what })),
            None if depth < 2 && CONTAINER_KEYS.contains(&key.as_str()) => find(plan, child, path, depth + 1, out),
            None => {}
        }
        path.pop();
    }
}

/// What a property of this name and kind is filled with, if anything.
fn classify(plan: &Plan, key: &str, shape: &Shape<'_>, depth: usize) -> Option<What> {
    match shape {
        Shape::Str { format } => {
            if MESSAGE_KEYS.contains(&key) {
                Some(What::Message)
            } else if key == "title" {
                Some(What::Title)
            } else if CODE_KEYS.contains(&key) || STATUS_KEYS.contains(&key) {
                Some(What::Code(if format.is_some_and(|f| f.starts_with("uri")) { CodeKind::Urn } else { CodeKind::Text }))
            } else if FIELD_KEYS.contains(&key) && depth >= 1 {
                Some(What::Field)
            } else {
                None
            }
        }
        Shape::Enum(values) if CODE_KEYS.contains(&key) || STATUS_KEYS.contains(&key) => {
            let texts: Vec<String> = values.iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
            (texts.len() == values.len()).then_some(What::Code(CodeKind::Enum(texts)))
        }
        Shape::Int if key == "code" || STATUS_KEYS.contains(&key) => Some(What::Status),
        Shape::Array(items) if LIST_KEYS.contains(&key) => match plan.shape(*items) {
            Shape::Str { .. } => Some(What::List(Items::Strings)),
            Shape::Object(_) => {
                let mut found = Vec::new();
                find(plan, *items, &mut Vec::new(), depth + 1, &mut found);
                let mut base = plan.generate_minimal(*items, SEED);
                let mut fills = Vec::new();
                for (path, fill) in found {
                    if materialize(plan, *items, &mut base, &path) {
                        fills.push(fill);
                    }
                }
                fills.iter().any(|f| matches!(f.what, What::Message)).then_some(What::List(Items::Objects { base, fills }))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Make every object on `path` (from `start`, the node `value` was generated from) and its last
/// field exist in `value`, generated from the plan where missing. False when the path runs
/// through something that is no object.
fn materialize(plan: &Plan, start: NodeRef, value: &mut Value, path: &[String]) -> bool {
    let mut node = start;
    let mut at = value;
    for seg in path {
        let Shape::Object(props) = plan.shape(node) else { return false };
        let Some((_, child, _)) = props.iter().find(|(n, _, _)| n == seg) else { return false };
        node = *child;
        let Value::Object(map) = at else { return false };
        at = map.entry(seg.clone()).or_insert_with(|| plan.generate_minimal(node, SEED));
    }
    true
}

impl Fill {
    /// Set this field of `body` from `source` (a missing path is left alone).
    fn set(&self, body: &mut Value, source: &Source<'_>) {
        let Some(slot) = self.path.iter().try_fold(body, |v, seg| v.get_mut(seg.as_str())) else { return };
        let r = source.rejection;
        match &self.what {
            What::Message => *slot = Value::String(source.message.to_string()),
            What::Title => *slot = Value::String(r.title.to_string()),
            What::Status => *slot = Value::from(r.status.as_u16()),
            What::Field => {
                if let Some(p) = source.problem {
                    *slot = Value::String(field_name(&p.location).to_string());
                }
            }
            What::Code(CodeKind::Text) => *slot = Value::String(source.code.to_string()),
            What::Code(CodeKind::Urn) => *slot = Value::String(format!("urn:standin:problem:{}", r.code)),
            What::Code(CodeKind::Enum(values)) => {
                if let Some(v) = nearest(values, source.code, r.status.as_u16()) {
                    *slot = Value::String(v.to_string());
                }
            }
            What::List(Items::Strings) => {
                *slot = Value::Array(r.errors.iter().map(|p| Value::String(format!("{}: {}", p.location, p.message))).collect())
            }
            What::List(Items::Objects { base, fills }) => {
                let items = r.errors.iter().map(|p| {
                    let mut item = base.clone();
                    let code = p.keyword.as_deref().unwrap_or(source.code);
                    let one = Source { rejection: r, code, message: &p.message, problem: Some(p) };
                    for f in fills {
                        f.set(&mut item, &one);
                    }
                    item
                });
                *slot = Value::Array(items.collect());
            }
        }
    }
}

/// `body.customer.email` → `customer.email` (what vendors name in `param`/`field`).
fn field_name(location: &str) -> &str {
    match location.split_once('.') {
        Some((_, rest)) if !rest.is_empty() => rest,
        _ => location,
    }
}

/// The enum value nearest the refusal: one naming its code, else one naming what its status
/// means (`invalid_request_error` for a 4xx, `api_error` for a 5xx).
fn nearest<'v>(values: &'v [String], code: &str, status: u16) -> Option<&'v str> {
    let words: &[&str] = match status {
        400 | 422 => &["invalid", "validation", "bad_request"],
        401 => &["unauthorized", "unauthenticated", "authentication"],
        403 => &["forbidden", "permission"],
        404 => &["not_found", "missing"],
        405 => &["method"],
        409 => &["conflict"],
        429 => &["rate_limit", "rate"],
        500..=599 => &["api_error", "internal", "server"],
        _ => &[],
    };
    let generic: &[&str] = if status < 500 { &["invalid_request", "invalid", "client", "request"] } else { &["error"] };
    let norm = |s: &str| s.to_ascii_lowercase().replace(['-', ' ', '.'], "_");
    let code = norm(code);
    let normed: Vec<String> = values.iter().map(|v| norm(v)).collect();
    std::iter::once(code.as_str())
        .chain(words.iter().copied())
        .chain(generic.iter().copied())
        .find_map(|w| normed.iter().position(|v| v.contains(w) || (w.len() > 3 && w.contains(v.as_str()))))
        .map(|i| values[i].as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_enum_value_names_the_code_or_the_status() {
        let stripe: Vec<String> =
            ["api_error", "card_error", "idempotency_error", "invalid_request_error"].iter().map(|s| s.to_string()).collect();
        assert_eq!(nearest(&stripe, "invalid_request", 400), Some("invalid_request_error"));
        assert_eq!(nearest(&stripe, "unauthorized", 401), Some("invalid_request_error"));
        assert_eq!(nearest(&stripe, "not_found", 404), Some("invalid_request_error"));
        assert_eq!(nearest(&stripe, "internal_error", 500), Some("api_error"));
    }

    #[test]
    fn field_names_lose_their_location_kind() {
        assert_eq!(field_name("body.customer.email"), "customer.email");
        assert_eq!(field_name("body"), "body");
    }

    #[test]
    fn canonical_follows_ref_chains() {
        let doc = serde_json::json!({"a": {"$ref": "#/b"}, "b": {"$ref": "#/c"}, "c": {"type": "object"}});
        assert_eq!(canonical(&doc, "/a"), "/c");
    }
}
