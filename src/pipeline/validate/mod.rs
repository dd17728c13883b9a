//! Stage 5, validate. Request validation: parameters (typed from strings), Content-Type, JSON syntax, and the body
//! against its schema. Every problem is collected, each with where it is and why.
//!
//! Uses what was compiled at load (`Param::validator`; `RequestMedia::validator`, which in a
//! spec above `EAGER_BODY_OPERATIONS` operations compiles once, on its first request);
//! apart from that deferred compile, nothing here compiles or clones schemas.

use std::collections::HashMap;

use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::reject::{Problem, Rejection};
use crate::spec::model::{is_form_mime, is_json_mime, Operation, ParamLocation, ParamShape};
use crate::spec::Spec;

/// Longest message kept from the validator (instances can be large), and its shortening.
pub use crate::util::text::short;
use crate::util::text::MAX_MESSAGE;

mod forms;
mod messages;
pub use forms::form_body;
use messages::push_problems;
pub use messages::static_keyword;

/// [`short`] for a message already owned (no copy when it fits).
fn shorten(msg: String) -> String {
    if msg.len() <= MAX_MESSAGE {
        msg
    } else {
        short(&msg)
    }
}

/// Query string pairs, percent-decoded (`+` is a space, as in HTML forms; invalid UTF-8 is
/// replaced, not refused).
pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(crate::util::text::parse_query).unwrap_or_default()
}

fn parse_cookies(headers: &HeaderMap) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for v in headers.get_all(axum::http::header::COOKIE) {
        let Ok(v) = v.to_str() else { continue };
        for part in v.split(';') {
            if let Some((k, val)) = part.split_once('=') {
                out.insert(k.trim().to_string(), val.trim().to_string());
            }
        }
    }
    out
}

/// The stage: every problem in the parameters and the body, reported together in one 400 (or
/// the status the spec's `x-standin` block gives invalid requests), sorted by location. A request
/// that breaks only inferred constraints (see `spec::inferred`) passes: its problems come back
/// as warnings.
pub fn check(
    spec: &Spec,
    op: &Operation,
    path_params: &[(String, String)],
    query: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<Problem>, Rejection> {
    let mut found = validate_params(spec, op, path_params, query, headers);
    let content_type = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    found.extend(validate_body(spec, op, content_type, body)?);
    let Found { mut problems, mut warnings, more_problems, .. } = found;
    // Stable order for clients and snapshots: by location, then message.
    let order = |a: &Problem, b: &Problem| (&a.location, &a.message).cmp(&(&b.location, &b.message));
    warnings.sort_by(order);
    warnings.dedup();
    if problems.is_empty() && more_problems == 0 {
        return Ok(warnings);
    }
    // Refused anyway: every problem is listed, the inferred ones too (they are what the client
    // would fix next).
    let room = MAX_PROBLEMS.saturating_sub(problems.len());
    problems.extend(warnings.into_iter().take(room));
    problems.sort_by(order);
    problems.dedup();
    if more_problems == 0 {
        return Err(Rejection::invalid_request(invalid_status(spec, op), problems));
    }
    // The answer names the first problems and says how many more there are.
    let total = problems.len() + more_problems;
    problems.push(Problem {
        location: "request".into(),
        message: format!("{more_problems} more problems not listed (at most {MAX_PROBLEMS} are)"),
        keyword: Some("truncated".into()),
    });
    let mut refusal = Rejection::invalid_request(invalid_status(spec, op), problems);
    refusal.detail = format!("The request does not match the API description: {total} problems, the first {MAX_PROBLEMS} listed.");
    Err(refusal)
}

/// Most problems one answer lists (of each kind: refusals and warnings); the rest are counted.
/// A hostile body (hundreds of thousands of undeclared keys) would otherwise get an answer a
/// hundred times its size.
pub const MAX_PROBLEMS: usize = 100;

/// What validation found: problems with documented constraints (a refusal) and with inferred
/// ones (warnings; see `spec::inferred`).
#[derive(Debug, Default)]
pub struct Found<'s> {
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// Problems found past [`MAX_PROBLEMS`], counted, not kept (warnings past it are dropped).
    pub more_problems: usize,
    /// The spec's inferred schema pointers.
    inferred: &'s [String],
    /// The whole operation is inferred.
    all_inferred: bool,
}

impl<'s> Found<'s> {
    fn new(spec: &'s Spec, op: &Operation) -> Self {
        Found { inferred: &spec.inferred, all_inferred: op.inferred, ..Found::default() }
    }

    /// Every problem, whatever its kind (the proxy reports both alike).
    pub fn all(self) -> Vec<Problem> {
        let mut all = self.problems;
        all.extend(self.warnings);
        all
    }

    fn extend(&mut self, other: Found<'_>) {
        let room = MAX_PROBLEMS.saturating_sub(self.problems.len());
        self.more_problems += other.more_problems + other.problems.len().saturating_sub(room);
        self.problems.extend(other.problems.into_iter().take(room));
        let room = MAX_PROBLEMS.saturating_sub(self.warnings.len());
        self.warnings.extend(other.warnings.into_iter().take(room));
    }

    /// A problem standin found itself (a missing value): inferred only with its operation.
    fn push(&mut self, problem: Problem) {
        let list = if self.all_inferred { &mut self.warnings } else { &mut self.problems };
        if list.len() < MAX_PROBLEMS {
            list.push(problem);
        } else if !self.all_inferred {
            self.more_problems += 1;
        }
    }

    /// The problems of one validator error, sorted by the kind of the keyword that failed.
    fn push_error(&mut self, err: &jsonschema::ValidationError<'_>, instance: &Value, root: Option<&str>) {
        let soft = self.all_inferred || (!self.inferred.is_empty() && self.keyword_is_inferred(err));
        let list = if soft { &mut self.warnings } else { &mut self.problems };
        let before = list.len();
        let stands_for = push_problems(err, instance, root, list, MAX_PROBLEMS);
        if !soft {
            self.more_problems += stands_for - (self.problems.len() - before);
        }
    }

    fn keyword_is_inferred(&self, err: &jsonschema::ValidationError<'_>) -> bool {
        let Some(uri) = err.absolute_keyword_location() else { return false };
        let Some((_, fragment)) = uri.as_str().split_once('#') else { return false };
        let pointer = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy();
        crate::spec::inferred::is_inferred(self.inferred, &pointer)
    }
}

/// Validate every declared parameter. Returns the problems found (empty when valid).
///
/// Each parameter sent is typed from its strings and checked with its own validator; a required
/// one that is missing is named. Nothing is built for parameters the request does not carry.
pub fn validate_params<'s>(
    spec: &'s Spec,
    op: &Operation,
    path_params: &[(String, String)],
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Found<'s> {
    let mut problems = Found::new(spec, op);
    let mut cookies: Option<HashMap<String, String>> = None;
    for p in &op.params {
        let value = if p.location == ParamLocation::Query && matches!(p.shape, ParamShape::Object) && p.style == "deepObject" {
            deep_object(p, query)
        } else {
            let raw: Vec<&str> = match p.location {
                ParamLocation::Path => path_params.iter().filter(|(k, _)| *k == p.name).map(|(_, v)| v.as_str()).collect(),
                ParamLocation::Query => query.iter().filter(|(k, _)| *k == p.name).map(|(_, v)| v.as_str()).collect(),
                ParamLocation::Header => headers.get_all(p.name.as_str()).iter().filter_map(|v| v.to_str().ok()).collect(),
                ParamLocation::Cookie => {
                    cookies.get_or_insert_with(|| parse_cookies(headers)).get(&p.name).map(String::as_str).into_iter().collect()
                }
            };
            (!raw.is_empty()).then(|| coerce(&p.shape, &p.style, p.explode, &raw))
        };
        let Some(value) = value else {
            if p.required {
                problems.push(Problem {
                    location: p.location_name.clone(),
                    message: "is required".into(),
                    keyword: Some("required".into()),
                });
            }
            continue;
        };
        let Some(validator) = &p.validator else { continue };
        if !validator.is_valid(&value) {
            for e in validator.iter_errors(&value) {
                problems.push_error(&e, &value, Some(&p.location_name));
            }
        }
    }
    problems
}

/// A `deepObject` query parameter as an object: `filter[status]=new` → `{"status": "new"}`.
/// Its values stay strings when that validates; else numbers and booleans are read as such
/// (`created[gte]=1700000000` under `anyOf: [object of integers, integer]`), which needs no walk
/// of the schema per request, only a second check.
fn deep_object(p: &crate::spec::model::Param, query: &[(String, String)]) -> Option<Value> {
    let fields: Vec<(&str, &str)> = query
        .iter()
        .filter_map(|(k, v)| Some((k.strip_prefix(p.name.as_str())?.strip_prefix('[')?.strip_suffix(']')?, v.as_str())))
        .collect();
    if fields.is_empty() {
        return None;
    }
    let build = |typed: bool| -> Value {
        Value::Object(
            fields.iter().map(|(k, v)| (k.to_string(), if typed { guess_scalar(v) } else { Value::String(v.to_string()) })).collect(),
        )
    };
    let strings = build(false);
    match &p.validator {
        Some(validator) if !validator.is_valid(&strings) => {
            let typed = build(true);
            Some(if validator.is_valid(&typed) { typed } else { strings })
        }
        _ => Some(strings),
    }
}

/// A query string read as the JSON scalar it looks like (an integer, a number, a boolean).
fn guess_scalar(s: &str) -> Value {
    match s {
        "true" | "false" => scalar(s, Some("boolean")),
        _ => scalar(s, Some("number")),
    }
}

/// Turn the raw strings of one parameter into the JSON value its schema expects. Values that do
/// not parse stay strings, so the validator reports them with their type error.
fn coerce(shape: &ParamShape, style: &str, explode: bool, raw: &[&str]) -> Value {
    match shape {
        ParamShape::Scalar(ty) => scalar(raw[0], ty.as_deref()),
        ParamShape::Array(item) => {
            let items: Vec<&str> = if explode && style == "form" && raw.len() > 1 {
                raw.to_vec()
            } else {
                let sep = match style {
                    "spaceDelimited" => ' ',
                    "pipeDelimited" => '|',
                    _ => ',',
                };
                if explode && style == "form" {
                    raw.to_vec()
                } else {
                    raw.iter().flat_map(|r| r.split(sep)).collect()
                }
            };
            Value::Array(items.into_iter().filter(|s| !s.is_empty()).map(|s| scalar(s, item.as_deref())).collect())
        }
        ParamShape::Object => {
            if let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(raw[0]) {
                return v;
            }
            let parts: Vec<&str> = raw[0].split(',').collect();
            if parts.len() % 2 == 0 {
                Value::Object(parts.chunks(2).map(|c| (c[0].to_string(), scalar(c[1], None))).collect())
            } else {
                Value::String(raw[0].to_string())
            }
        }
        ParamShape::Json => serde_json::from_str(raw[0]).unwrap_or_else(|_| Value::String(raw[0].to_string())),
    }
}

fn scalar(s: &str, ty: Option<&str>) -> Value {
    match ty {
        Some(t) => crate::spec::form_plan::scalar(s, t),
        None => Value::String(s.to_string()),
    }
}

/// Check Content-Type and validate the body. `Err` for 415; `Ok(problems)` otherwise.
pub fn validate_body<'s>(spec: &'s Spec, op: &Operation, content_type: Option<&str>, body: &[u8]) -> Result<Found<'s>, Rejection> {
    let mut found = Found::new(spec, op);
    let Some(decl) = &op.body else { return Ok(found) };
    if body.is_empty() {
        if decl.required {
            found.push(Problem { location: "body".into(), message: "a request body is required".into(), keyword: Some("required".into()) });
        }
        return Ok(found);
    }
    if decl.content.is_empty() {
        return Ok(found);
    }
    let accepted: Vec<&str> = decl.content.iter().map(|m| m.mime.as_str()).collect();
    let base = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let media = base.as_deref().and_then(|b| {
        decl.content.iter().find(|m| m.mime == b).or_else(|| {
            decl.content.iter().find(|m| {
                let d = m.mime.split(';').next().unwrap_or("").trim();
                d == "*/*" || d.strip_suffix("/*").is_some_and(|ty| b.split('/').next() == Some(ty))
            })
        })
    });
    let Some(media) = media else {
        return Err(Rejection::unsupported_media_type(content_type, &accepted));
    };
    let is_json = base.as_deref().is_some_and(is_json_mime) && base.as_deref() != Some("*/*");
    let is_form = base.as_deref().is_some_and(is_form_mime);
    let Some(validator) = media.validator.get(&spec.schemas, media.schema.as_deref()) else { return Ok(found) };
    let instance: Value = if is_json {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                // Malformed JSON is never a warning: the body cannot be understood at all.
                found.problems.push(Problem {
                    location: "body".into(),
                    message: format!("malformed JSON at line {} column {}: {e}", e.line(), e.column()),
                    keyword: Some("json".into()),
                });
                return Ok(found);
            }
        }
    } else if is_form {
        forms::typed_form(&media.form_plan, body)
    } else {
        return Ok(found);
    };
    if validator.is_valid(&instance) {
        return Ok(found);
    }
    for e in validator.iter_errors(&instance) {
        found.push_error(&e, &instance, Some("body"));
    }
    Ok(found)
}

/// Contract warnings for an accepted body: arrays longer than the API's typical size.
pub fn body_warnings(op: &Operation, content_type: Option<&str>, body: &[u8]) -> Vec<String> {
    let Some(decl) = &op.body else { return Vec::new() };
    let base = content_type.map(|c| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase()).unwrap_or_default();
    let Some(media) = decl.content.iter().find(|m| m.mime == base && !m.warn_max_items.is_empty()) else { return Vec::new() };
    let Ok(instance) = serde_json::from_slice::<Value>(body) else { return Vec::new() };
    media
        .warn_max_items
        .iter()
        .filter_map(|(path, max)| {
            let pointer: String = path.iter().map(|p| format!("/{}", crate::spec::error::escape_token(p))).collect();
            let len = instance.pointer(&pointer)?.as_array()?.len() as u64;
            (len > *max).then(|| {
                format!(
                    "body.{} has {len} items, more than the typical {max}: accepted, but the real API may be slower or refuse it",
                    path.join(".")
                )
            })
        })
        .collect()
}

/// The status for a request with validation problems: the vendor's per-operation status
/// (`x-standin.errors.validationStatus`), else 400, or 422 where the operation declares 422 and
/// not 400 (its API evidently answers schema errors that way).
pub fn invalid_status(spec: &Spec, op: &Operation) -> StatusCode {
    use crate::spec::StatusKey;
    let declared = spec.ext.errors.as_ref().zip(op.operation_id.as_ref()).and_then(|(e, id)| e.validation_status.get(id));
    if let Some(status) = declared.and_then(|s| StatusCode::from_u16(*s).ok()) {
        return status;
    }
    let has = |c| op.responses.iter().any(|r| r.status == StatusKey::Code(c));
    if has(422) && !has(400) {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::BAD_REQUEST
    }
}

#[cfg(test)]
mod tests {
    use super::messages::{message, readable_location};
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_jsonschemas_own_wording() {
        let long = "é".repeat(400);
        let cases = [
            (json!({"type": "integer"}), json!("x")),
            (json!({"type": ["integer", "null"]}), json!({"a": [1, 2]})),
            (json!({"type": "object"}), json!([long.clone(), long.clone()])),
            (json!({"enum": ["EUR", "USD"]}), json!("GBP")),
            (json!({"enum": ["a", "b", "c"]}), json!("d")),
            (json!({"enum": ["a", "b", "c", "d", 5]}), json!("e")),
            (json!({"enum": [{"k": "v"}]}), json!(long.clone())),
            (json!({"pattern": "^prd_[a-z0-9]{4,}$"}), json!("prd_x1")),
            (json!({"format": "email"}), json!("nope \"quoted\"")),
            (json!({"minimum": 1}), json!(0)),
            (json!({"maximum": 1.5}), json!(2.25)),
            (json!({"exclusiveMinimum": 0}), json!(0)),
            (json!({"exclusiveMaximum": 10}), json!(10)),
            (json!({"minLength": 1}), json!("")),
            (json!({"maxLength": 2}), json!("abc")),
            (json!({"minItems": 2}), json!([1])),
            (json!({"maxItems": 1}), json!([1, 2])),
            (json!({"const": {"a": [1, "x"]}}), json!(3)),
            (json!({"uniqueItems": true}), json!([1, 1])),
        ];
        for (schema, instance) in cases {
            let v = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
            let errors: Vec<_> = v.iter_errors(&instance).collect();
            assert!(!errors.is_empty(), "{schema}");
            for e in errors {
                assert_eq!(message(&e), short(&e.to_string()), "{schema} {instance}");
            }
        }
    }

    #[test]
    fn readable_location_uses_brackets_for_array_indexes() {
        let inst = json!({"items": [{"sku": 1}]});
        assert_eq!(readable_location("/items/0/sku", &inst, Some("body")), "body.items[0].sku");
        assert_eq!(readable_location("/query/limit", &json!({"query": {"limit": 1}}), None), "query.limit");
    }

    #[test]
    fn query_parsing_decodes_plus_and_percent() {
        assert_eq!(parse_query(Some("q=a+b&x=%2F")), vec![("q".into(), "a b".into()), ("x".into(), "/".into())]);
    }

    #[test]
    fn arrays_split_on_commas_or_repeat() {
        assert_eq!(coerce(&ParamShape::Array(Some("integer".into())), "form", false, &["1,2"]), json!([1, 2]));
        assert_eq!(coerce(&ParamShape::Array(Some("integer".into())), "form", true, &["1", "2"]), json!([1, 2]));
        assert_eq!(coerce(&ParamShape::Scalar(Some("integer".into())), "form", true, &["x"]), json!("x"));
    }
    #[test]
    fn a_spec_too_big_to_compile_every_body_up_front_still_validates_each_body() {
        // One past the limit: body validators wait for their first request, and then refuse
        // exactly what an eagerly compiled one refuses.
        let mut paths = serde_json::Map::new();
        for i in 0..crate::spec::model::EAGER_BODY_OPERATIONS {
            paths.insert(format!("/r{i}"), json!({"get": {"responses": {"204": {"description": "ok"}}}}));
        }
        let create =
            json!({"required": ["name"], "properties": {"name": {"type": "string"}, "size": {"$ref": "#/components/schemas/Size"}}});
        paths.insert(
            "/things".into(),
            json!({"post": {"requestBody": {"content": {"application/json": {"schema": create}}}, "responses": {"201": {"description": "ok"}}}}),
        );
        let doc = json!({"openapi": "3.0.3", "info": {"title": "big", "version": "1"}, "paths": paths,
            "components": {"schemas": {"Size": {"type": "integer", "minimum": 1}}}});
        let spec = Spec::load_text("big.json".as_ref(), &doc.to_string(), &Default::default()).unwrap();
        assert!(spec.schemas.defers_bodies());
        let op = spec.operations.iter().find(|o| o.path == "/things").unwrap();
        let media = &op.body.as_ref().unwrap().content[0];
        assert!(media.validator.deferred(), "not compiled at load");
        let found = validate_body(&spec, op, Some("application/json"), br#"{"size": 0}"#).unwrap();
        let locations: Vec<&str> = found.problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(found.problems.len(), 2, "{locations:?}");
        assert!(!media.validator.deferred(), "compiled on first use, then kept");
        assert!(validate_body(&spec, op, Some("application/json"), br#"{"name": "a", "size": 2}"#).unwrap().problems.is_empty());
    }
}
