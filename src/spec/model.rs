//! The operation IR: what every later stage reads instead of raw OpenAPI.
//!
//! Third stage of the load pipeline: `lower` walks the converted document once and produces one
//! [`Operation`] per path + method, with its parameters, request body media types (and their
//! compiled validators, and the body's `writeOnly` member names for redaction) and responses
//! ordered by precedence. Routing, validation and responding never look at the raw document
//! again, except to follow schema pointers while generating data.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::http::Method;
use serde_json::Value;

use super::convert::METHODS;
use super::error::{escape_token, join, Diagnostic};
use super::load::deref;
use super::Schemas;

/// Where a parameter travels (OpenAPI `in`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamLocation {
    /// The name used in error locations (`query.limit`) and in the parameter validator.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Path => "path",
            Self::Query => "query",
            Self::Header => "header",
            Self::Cookie => "cookie",
        }
    }
}

/// How a raw string parameter is turned into JSON before validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamShape {
    /// One value; the type (`integer`, `number`, `boolean`, `string`, …) drives coercion.
    Scalar(Option<String>),
    /// A list; `explode` form params repeat the key, others are comma-separated.
    Array(Option<String>),
    /// An object (form `explode` spreads its properties as separate keys; kept simple: deepObject
    /// and comma forms are parsed, other styles pass as strings).
    Object,
    /// `content` instead of `schema`: the value is a serialized document (JSON).
    Json,
}

/// One declared parameter of an operation.
#[derive(Debug, Clone)]
pub struct Param {
    /// Name as the API spells it (headers compare case-insensitively).
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    /// `form`/`simple`/`deepObject`/…; defaults per location as in OpenAPI 3 §4.8.12.4.
    pub style: String,
    pub explode: bool,
    pub shape: ParamShape,
    /// The schema's `default`, if any (paging defaults such as `limit: 20`).
    pub default: Option<Value>,
    /// Where problems with it are reported: `query.limit`, `header.x-request-id` (header names
    /// lower case), built once here rather than per request.
    pub location_name: String,
    /// Compiled at load from the parameter's schema (shared by every parameter pointing at the
    /// same schema); `None` without a schema or when it cannot compile (a load warning says so).
    pub validator: Option<Arc<jsonschema::Validator>>,
}

/// A request body media type the operation accepts.
#[derive(Debug)]
pub struct RequestMedia {
    /// As declared (`application/json`, `application/*`, `*/*`), lower case.
    pub mime: String,
    /// Compiled when the media type is JSON or form-encoded and has a schema: at load, or on
    /// first use in a spec too big to compile every body up front (see [`BodyValidator`]).
    pub validator: BodyValidator,
    /// Pointer to the schema in the request view.
    pub schema: Option<String>,
    /// How a form or multipart body's strings are typed (compiled at load; `Keep` otherwise).
    pub form_plan: super::form_plan::FormPlan,
    /// Contract warnings: arrays whose length above a typical size is accepted but reported
    /// (`x-standin-warn-maxItems` on an array schema): (property path, typical maximum).
    pub warn_max_items: Vec<(Vec<String>, u64)>,
}

/// A request body's validator, compiled at load or, in a spec with more than
/// [`EAGER_BODY_OPERATIONS`] operations, on the first request that needs it.
///
/// # Implementation rationale
/// jsonschema compiles every `$ref` target into each validator that reaches it, with no sharing
/// between validators: a spec the size of Microsoft Graph's (30,000 operations over 3,000
/// entity schemas in `allOf` chains) spent 400 MiB and a third of its load on body validators,
/// most of which a session never uses. Below the limit (GitHub's spec has 1,100 operations,
/// Stripe's 600) nothing is deferred; above it, each body costs its compile once, on first use
/// (milliseconds), and `serve` says so at start. Parameter validators stay eager: they are
/// small, and shared by text.
#[derive(Debug, Default)]
pub struct BodyValidator(std::sync::OnceLock<Option<Arc<jsonschema::Validator>>>);

/// Specs with more operations than this compile request body validators on first use.
pub const EAGER_BODY_OPERATIONS: usize = 5_000;

impl BodyValidator {
    /// Compiled (or known to be absent) already.
    pub fn ready(v: Option<Arc<jsonschema::Validator>>) -> Self {
        Self(std::sync::OnceLock::from(v))
    }

    /// The validator, compiling the request-view schema at `pointer` on first use when it was
    /// deferred. A deferred schema that cannot compile leaves the body unvalidated and is said
    /// once in the log, as the load warning would have said it.
    pub fn get(&self, schemas: &super::Schemas, pointer: Option<&str>) -> Option<&Arc<jsonschema::Validator>> {
        self.0
            .get_or_init(|| {
                let pointer = pointer?;
                schemas
                    .compile_pointer(super::convert::View::Request, pointer)
                    .inspect_err(|e| {
                        tracing::warn!("request body schema at {pointer} cannot be compiled, so this body is not validated: {e}")
                    })
                    .ok()
            })
            .as_ref()
    }

    /// Whether the validator waits for its first use.
    pub fn deferred(&self) -> bool {
        self.0.get().is_none()
    }
}

/// Declared request body.
#[derive(Debug)]
pub struct RequestBody {
    pub required: bool,
    pub content: Vec<RequestMedia>,
    /// The property names its schemas mark `writeOnly` (a password, a card's CVC), at any
    /// depth and over every media type: the recorder redacts members so named in what it writes
    /// of the request (`record::redact`). Gathered here, once; `None` when there are none, so
    /// an exchange of such an operation carries nothing more.
    pub write_only: Option<Arc<[String]>>,
}

/// The status key of a declared response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusKey {
    /// An exact code, e.g. `200`.
    Code(u16),
    /// A range, e.g. `2XX` stored as 2.
    Range(u16),
    /// `default`.
    Default,
}

impl StatusKey {
    fn parse(key: &str) -> Option<Self> {
        if key == "default" {
            return Some(Self::Default);
        }
        let upper = key.to_ascii_uppercase();
        if upper.len() == 3 && upper.ends_with("XX") {
            return upper[..1].parse().ok().filter(|d| (1..=5).contains(d)).map(Self::Range);
        }
        key.parse().ok().filter(|c| (100..=599).contains(c)).map(Self::Code)
    }

    /// Whether a concrete status falls under this key.
    pub fn covers(self, status: u16) -> bool {
        match self {
            Self::Code(c) => c == status,
            Self::Range(r) => status / 100 == r,
            Self::Default => true,
        }
    }

    /// The status to answer with when this response is chosen without a concrete code.
    pub fn concrete(self) -> u16 {
        match self {
            Self::Code(c) => c,
            Self::Range(r) => r * 100,
            Self::Default => 200,
        }
    }
}

impl std::fmt::Display for StatusKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(c) => write!(f, "{c}"),
            Self::Range(r) => write!(f, "{r}XX"),
            Self::Default => write!(f, "default"),
        }
    }
}

/// One media type of a declared response.
#[derive(Debug)]
pub struct ResponseMedia {
    pub mime: String,
    /// Pointer to the schema in the response view, if any.
    pub schema: Option<String>,
    /// Named examples in declaration order (`example` is named `"example"`): the name and the
    /// pointer of the value in the response view (kept once, there, not copied).
    pub examples: Vec<(String, String)>,
    /// A fixture body for this response (from `--fixtures`), checked at load.
    pub fixture: Option<Arc<Value>>,
    /// Position among all response media of the spec (in operation, response, media order):
    /// the serving side keeps what it compiles for this media type (response validator,
    /// generation plan, serialized body) at this index.
    pub index: usize,
    /// The Content-Type header answers carry, built at load (none when the media type is not a
    /// valid header value).
    pub content_type: Option<axum::http::HeaderValue>,
}

/// A declared response header.
#[derive(Debug)]
pub struct ResponseHeader {
    pub name: String,
    /// `name` parsed once (a name that is no valid header name is never sent).
    pub header_name: Option<axum::http::HeaderName>,
    pub schema: Option<String>,
    /// The declared example, as the header value it is sent as (built once, at load).
    pub example: Option<axum::http::HeaderValue>,
    /// Position among all response headers of the spec (see [`ResponseMedia::index`]).
    pub index: usize,
    /// `required: true`: sent on standin's own error answers of this response too.
    pub required: bool,
}

/// One declared response.
#[derive(Debug)]
pub struct Response {
    pub status: StatusKey,
    pub content: Vec<ResponseMedia>,
    pub headers: Vec<ResponseHeader>,
}

/// One operation (path + method) of a spec, lowered from OpenAPI.
#[derive(Debug)]
pub struct Operation {
    pub method: Method,
    /// The path template as in the spec (`/deals/{id}`), without the base path.
    pub path: String,
    pub operation_id: Option<String>,
    pub summary: Option<String>,
    /// JSON pointer of the operation in the spec (for messages).
    pub pointer: String,
    /// Declared parameters, each with its own validator.
    pub params: Vec<Param>,
    pub body: Option<RequestBody>,
    /// Ordered by precedence: exact codes ascending, then ranges, then `default`.
    pub responses: Vec<Response>,
    /// Security alternatives (OR) of schemes (AND), as indexes into `Spec::schemes`; empty
    /// when the operation needs no credentials.
    pub security: Vec<Vec<usize>>,
    /// [`Operation::label`], shared: every exchange in the journal names its operation.
    pub label: Arc<str>,
    /// The whole operation is inferred (`x-standin-inferred`): its request problems are warnings.
    pub inferred: bool,
}

impl Operation {
    /// `operationId`, or `METHOD /path` when the spec has none.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The response answered when the client asks for nothing in particular: the lowest 2xx
    /// code, else a 2XX range, else `default`, else the first declared.
    pub fn default_response(&self) -> Option<&Response> {
        self.responses
            .iter()
            .find(|r| matches!(r.status, StatusKey::Code(c) if (200..300).contains(&c)))
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Range(2)))
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Default))
            .or_else(|| self.responses.first())
    }

    /// The response declared for a concrete status: exact code, then range, then `default`.
    pub fn response_for(&self, status: u16) -> Option<&Response> {
        self.responses.iter().find(|r| r.status.covers(status))
    }
}

/// Lower every operation of `doc` (the response view; non-schema parts equal the original).
pub fn lower(file: &std::path::Path, doc: &Value, schemas: &Schemas, diags: &mut Vec<Diagnostic>) -> Vec<Operation> {
    /// One operation to lower: path, path item pointer, shared parameters, method, operation, pointer.
    type Job<'a> = (&'a str, String, Option<&'a Value>, &'static str, &'a Value, String);
    let Some(paths) = doc.get("paths") else { return Vec::new() };
    let Some(paths) = paths.as_object() else {
        diags.push(Diagnostic::error(file, "/paths", "`paths` must be an object"));
        return Vec::new();
    };
    let mut jobs: Vec<Job> = Vec::new();
    for (path, item) in paths {
        if path.starts_with("x-") {
            continue; // specification extension (OpenAPI 3 §4.8.8), not a path
        }
        let item_at = join("/paths", path);
        if !path.starts_with('/') {
            diags.push(Diagnostic::error(file, &item_at, format!("path {path:?} must start with '/'")));
            continue;
        }
        let (item, item_at) = match deref(doc, item, &item_at) {
            Ok(x) => x,
            Err(e) => {
                diags.push(Diagnostic::error(file, &item_at, e));
                continue;
            }
        };
        let Some(item_obj) = item.as_object() else {
            diags.push(Diagnostic::error(file, &item_at, "path item must be an object"));
            continue;
        };
        let shared_params = item_obj.get("parameters");
        for m in METHODS {
            let Some(op) = item_obj.get(m) else { continue };
            let at = format!("{item_at}/{m}");
            if !op.is_object() {
                diags.push(Diagnostic::error(file, &at, "operation must be an object"));
                continue;
            }
            jobs.push((path, item_at.clone(), shared_params, m, op, at));
        }
    }
    let run = |jobs: &[Job], diags: &mut Vec<Diagnostic>| -> Vec<Operation> {
        jobs.iter()
            .map(|(path, item_at, shared, m, op, at)| {
                let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
                lower_operation(file, doc, schemas, method, path, item_at, *shared, op, at, diags)
            })
            .collect()
    };
    // A big spec's operations are lowered on two threads (the halves in order, so the
    // operations and their diagnostics keep the document's order).
    let mut ops = if jobs.len() > PARALLEL_LOWERING {
        let (first, second) = jobs.split_at(jobs.len() / 2);
        let (mut ops, (more, more_diags)) = std::thread::scope(|s| {
            let other = s.spawn(|| {
                let mut d = Vec::new();
                (run(second, &mut d), d)
            });
            let ops = run(first, diags);
            (ops, other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
        });
        ops.extend(more);
        diags.extend(more_diags);
        ops
    } else {
        run(&jobs, diags)
    };
    number_responses(&mut ops);
    gather_write_only(doc, &mut ops);
    ops
}

/// Above this many operations, [`lower`] uses two threads.
const PARALLEL_LOWERING: usize = 2_000;

/// Number every response media type and header of `ops` in order (their `index`).
fn number_responses(ops: &mut [Operation]) {
    let (mut media, mut headers) = (0, 0);
    for response in ops.iter_mut().flat_map(|op| op.responses.iter_mut()) {
        for m in &mut response.content {
            m.index = media;
            media += 1;
        }
        for h in &mut response.headers {
            h.index = headers;
            headers += 1;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn lower_operation(
    file: &std::path::Path,
    doc: &Value,
    schemas: &Schemas,
    method: Method,
    path: &str,
    item_at: &str,
    shared_params: Option<&Value>,
    op: &Value,
    at: &str,
    diags: &mut Vec<Diagnostic>,
) -> Operation {
    let raw = gather_params(file, doc, item_at, shared_params, op, at, diags);
    let params: Vec<Param> = raw.iter().filter_map(|(p, p_at)| lower_param(file, doc, schemas, path, p, p_at, diags)).collect();
    for cap in template_names(path) {
        if !params.iter().any(|p| p.location == ParamLocation::Path && p.name == cap) {
            diags.push(Diagnostic::warning(
                file,
                at,
                format!("path template variable {{{cap}}} has no declared path parameter; it is accepted as any string"),
            ));
        }
    }

    let body = op.get("requestBody").and_then(|b| lower_body(file, doc, schemas, b, &format!("{at}/requestBody"), diags));
    let responses = lower_responses(file, doc, op, at, diags);

    let operation_id = op.get("operationId").and_then(Value::as_str).map(str::to_string);
    let label = Arc::from(operation_id.clone().unwrap_or_else(|| format!("{method} {path}")));
    Operation {
        method,
        path: path.to_string(),
        operation_id,
        summary: op.get("summary").and_then(Value::as_str).map(str::to_string),
        pointer: at.to_string(),
        params,
        body,
        responses,
        security: Vec::new(),
        label,
        inferred: false,
    }
}

/// The parameters of an operation: path-item level, overridden by operation level (same name
/// and location), each resolved with the pointer it was found at.
fn gather_params(
    file: &std::path::Path,
    doc: &Value,
    item_at: &str,
    shared_params: Option<&Value>,
    op: &Value,
    at: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(Value, String)> {
    let mut raw: Vec<(Value, String)> = Vec::new();
    for (list, list_at) in [(shared_params, format!("{item_at}/parameters")), (op.get("parameters"), format!("{at}/parameters"))] {
        let Some(list) = list else { continue };
        let Some(list) = list.as_array() else {
            diags.push(Diagnostic::error(file, &list_at, "`parameters` must be an array"));
            continue;
        };
        for (i, p) in list.iter().enumerate() {
            let p_at = format!("{list_at}/{i}");
            match deref(doc, p, &p_at) {
                Ok((p, resolved_at)) => {
                    let key = (p.get("name").cloned(), p.get("in").cloned());
                    raw.retain(|(q, _)| (q.get("name").cloned(), q.get("in").cloned()) != key);
                    raw.push((p.clone(), resolved_at));
                }
                Err(e) => diags.push(Diagnostic::error(file, &p_at, e)),
            }
        }
    }
    raw
}

/// One parameter, lowered with its validator; `None` (with a diagnostic where it is a mistake)
/// for one that is not served (an ignored header, a name missing from the path).
fn lower_param(
    file: &std::path::Path,
    doc: &Value,
    schemas: &Schemas,
    path: &str,
    p: &Value,
    p_at: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<Param> {
    let Some(name) = p.get("name").and_then(Value::as_str) else {
        diags.push(Diagnostic::error(file, p_at, "parameter has no `name`"));
        return None;
    };
    let location = match p.get("in").and_then(Value::as_str) {
        Some("path") => ParamLocation::Path,
        Some("query") => ParamLocation::Query,
        Some("header") => ParamLocation::Header,
        Some("cookie") => ParamLocation::Cookie,
        other => {
            diags.push(Diagnostic::error(file, p_at, format!("parameter {name:?} has invalid `in`: {other:?}")));
            return None;
        }
    };
    // OpenAPI 3 §4.8.12.1: these header parameters are ignored.
    if location == ParamLocation::Header && ["accept", "content-type", "authorization"].contains(&name.to_ascii_lowercase().as_str()) {
        return None;
    }
    if location == ParamLocation::Path && !path.contains(&format!("{{{name}}}")) {
        diags.push(Diagnostic::warning(file, p_at, format!("path parameter {name:?} does not appear in the path template {path:?}")));
        return None;
    }
    let required = location == ParamLocation::Path || p.get("required") == Some(&Value::Bool(true));
    let style = p.get("style").and_then(Value::as_str).map(str::to_string).unwrap_or_else(|| {
        match location {
            ParamLocation::Query | ParamLocation::Cookie => "form",
            _ => "simple",
        }
        .to_string()
    });
    let explode = p.get("explode").and_then(Value::as_bool).unwrap_or(style == "form");
    let (shape, schema_ptr) = if let Some(schema) = p.get("schema") {
        (param_shape(doc, schema, &format!("{p_at}/schema")), Some(format!("{p_at}/schema")))
    } else if let Some((mime, _)) = p.get("content").and_then(Value::as_object).and_then(|c| c.iter().next()) {
        (ParamShape::Json, Some(format!("{p_at}/content/{}/schema", escape_token(mime))).filter(|ptr| doc.pointer(ptr).is_some()))
    } else {
        (ParamShape::Scalar(None), None)
    };
    let key = if location == ParamLocation::Header { name.to_ascii_lowercase() } else { name.to_string() };
    // One validator per parameter, not one for an object of all of them: a request then
    // checks the parameters it sent without building that object (measured: 3,600
    // instructions of a 29,000-instruction GET).
    let validator = schema_ptr.as_deref().and_then(|ptr| match schemas.compile_pointer(super::convert::View::Request, ptr) {
        Ok(v) => Some(v),
        Err(e) => {
            diags.push(Diagnostic::warning(
                file,
                ptr,
                format!("parameter schema cannot be compiled, so parameter {name:?} is not validated: {e}"),
            ));
            None
        }
    });
    // The schema itself, without walking the pointer from the document's root again.
    let schema = p.get("schema").or_else(|| p.get("content")?.as_object()?.values().next()?.get("schema"));
    let default = schema.and_then(|s| deref(doc, s, "").ok()).and_then(|(s, _)| s.get("default").cloned());
    let location_name = format!("{}.{key}", location.as_str());
    Some(Param { name: name.to_string(), location, required, style, explode, shape, default, location_name, validator })
}

/// The request body of an operation: one validator per JSON or form media type.
fn lower_body(
    file: &std::path::Path,
    doc: &Value,
    schemas: &Schemas,
    b: &Value,
    b_at: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<RequestBody> {
    let (b, b_at) = match deref(doc, b, b_at) {
        Ok(x) => x,
        Err(e) => {
            diags.push(Diagnostic::error(file, b_at, e));
            return None;
        }
    };
    let mut content = Vec::new();
    if let Some(map) = b.get("content").and_then(Value::as_object) {
        for (mime, media) in map {
            let schema_ptr = format!("{b_at}/content/{}/schema", escape_token(mime));
            let mime_l = mime.to_ascii_lowercase();
            let validator = if media.get("schema").is_none() || !(is_json_mime(&mime_l) || is_form_mime(&mime_l)) {
                BodyValidator::ready(None)
            } else if schemas.defers_bodies() {
                BodyValidator::default()
            } else {
                BodyValidator::ready(match schemas.compile_pointer(super::convert::View::Request, &schema_ptr) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        diags.push(Diagnostic::warning(
                            file,
                            &schema_ptr,
                            format!("request body schema cannot be compiled, so this body is not validated: {e}"),
                        ));
                        None
                    }
                })
            };
            let schema = media.get("schema").map(|_| schema_ptr.clone());
            let mut warn_max_items = Vec::new();
            if let Some(s) = doc.pointer(&schema_ptr) {
                collect_warn_max_items(doc, s, &mut Vec::new(), &mut warn_max_items, 0);
            }
            let is_form = is_form_mime(&mime_l) || mime_l.split(';').next().unwrap_or("").trim() == "multipart/form-data";
            let form_plan = match &schema {
                Some(p) if is_form => super::form_plan::FormPlan::compile(&schemas.request, p),
                _ => Default::default(),
            };
            content.push(RequestMedia { mime: mime_l, validator, schema, form_plan, warn_max_items });
        }
    }
    // Filled in by `gather_write_only`, once every operation is lowered.
    Some(RequestBody { required: b.get("required") == Some(&Value::Bool(true)), content, write_only: None })
}

/// Schemas one body's `writeOnly` walk visits at most; past this, the body gets every name the
/// spec marks `writeOnly` (more redacted than needed, never less).
const WRITE_ONLY_WALK: usize = 1_000;

/// Fill in each request body's [`RequestBody::write_only`].
///
/// # Implementation rationale
/// A walk per body from its schema, not one list for the whole spec: a member is redacted only
/// where the spec says it is write-only. The cost is bounded for big specs: a spec marking
/// nothing `writeOnly` (one pass over the document, the common case) walks nothing, bodies with
/// the same schema share one walk, and a walk is cut at [`WRITE_ONLY_WALK`] schemas (an entity
/// graph reached through `$ref`s), then the spec's whole list stands in.
fn gather_write_only(doc: &Value, ops: &mut [Operation]) {
    if !marks_write_only(doc) {
        return;
    }
    // Only when a walk is cut.
    let mut all: Option<Arc<[String]>> = None;
    let mut by_schema: HashMap<*const Value, Option<Arc<[String]>>> = HashMap::new();
    for body in ops.iter_mut().filter_map(|o| o.body.as_mut()) {
        let mut found: Vec<Arc<[String]>> = Vec::new();
        for media in &body.content {
            let Some(Ok((schema, _))) = media.schema.as_deref().and_then(|p| doc.pointer(p)).map(|s| deref(doc, s, "")) else { continue };
            let names = by_schema.entry(schema as *const Value).or_insert_with(|| {
                let mut out = Vec::new();
                match write_only_members(doc, schema, &mut out) {
                    false => Some(Arc::clone(all.get_or_insert_with(|| all_write_only(doc).into()))),
                    true => (!out.is_empty()).then(|| out.into()),
                }
            });
            if let Some(n) = names {
                if !found.iter().any(|f| f == n) {
                    found.push(Arc::clone(n));
                }
            }
        }
        body.write_only = match found.len() {
            0 => None,
            1 => found.pop(),
            _ => {
                let mut union: Vec<String> = Vec::new();
                for name in found.iter().flat_map(|f| f.iter()) {
                    if !union.contains(name) {
                        union.push(name.clone());
                    }
                }
                Some(union.into())
            }
        };
    }
}

/// Whether the property schema `p` (through `$ref`s) is marked `writeOnly`.
fn is_write_only(doc: &Value, p: &Value) -> bool {
    deref(doc, p, "").is_ok_and(|(p, _)| p.get("writeOnly") == Some(&Value::Bool(true)))
}

/// Whether anything in the document says `writeOnly: true` (one pass, nothing followed).
fn marks_write_only(doc: &Value) -> bool {
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if map.get("writeOnly") == Some(&Value::Bool(true)) {
                    return true;
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    false
}

/// Every property name the document marks `writeOnly`, anywhere (an explicit stack: documents
/// can nest deeper than the call stack would like).
fn all_write_only(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut stack = vec![doc];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(map) => {
                if let Some(props) = map.get("properties").and_then(Value::as_object) {
                    for (name, p) in props {
                        if is_write_only(doc, p) && !out.contains(name) {
                            out.push(name.clone());
                        }
                    }
                }
                stack.extend(map.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    out
}

/// Add to `out` the names of the properties marked `writeOnly` in `schema`, at any depth: through
/// `$ref`s, compositions, array items and map values. Each schema is visited once, so a
/// recursive schema ends and a shared one costs once. False when the walk was cut at
/// [`WRITE_ONLY_WALK`] schemas (then `out` is incomplete).
fn write_only_members(doc: &Value, schema: &Value, out: &mut Vec<String>) -> bool {
    let mut seen: HashSet<*const Value> = HashSet::new();
    let mut stack = vec![schema];
    while let Some(schema) = stack.pop() {
        let Ok((s, _)) = deref(doc, schema, "") else { continue };
        if !seen.insert(s as *const Value) {
            continue;
        }
        if seen.len() > WRITE_ONLY_WALK {
            return false;
        }
        if let Some(props) = s.get("properties").and_then(Value::as_object) {
            for (name, p) in props {
                if is_write_only(doc, p) && !out.contains(name) {
                    out.push(name.clone());
                }
                stack.push(p);
            }
        }
        for key in ["allOf", "oneOf", "anyOf", "prefixItems"] {
            stack.extend(s.get(key).and_then(Value::as_array).into_iter().flatten());
        }
        for key in ["items", "additionalProperties"] {
            stack.extend(s.get(key).filter(|v| v.is_object()));
        }
    }
    true
}

/// The declared responses, ordered by precedence (exact codes, ranges, `default`).
fn lower_responses(file: &std::path::Path, doc: &Value, op: &Value, at: &str, diags: &mut Vec<Diagnostic>) -> Vec<Response> {
    let mut responses = Vec::new();
    match op.get("responses").and_then(Value::as_object) {
        None => diags.push(Diagnostic::warning(file, at, "operation declares no `responses`; it answers 204 with no body")),
        Some(map) => {
            for (code, r) in map {
                let r_at = join(&format!("{at}/responses"), code);
                let Some(status) = StatusKey::parse(code) else {
                    diags.push(Diagnostic::warning(
                        file,
                        &r_at,
                        format!("response key {code:?} is not a status code, a range like 2XX, or `default`; ignored"),
                    ));
                    continue;
                };
                match deref(doc, r, &r_at) {
                    Ok((r, r_at)) => responses.push(lower_response(file, doc, status, r, &r_at, diags)),
                    Err(e) => diags.push(Diagnostic::error(file, &r_at, e)),
                }
            }
        }
    }
    responses.sort_by_key(|r| r.status);
    responses
}

fn lower_response(file: &std::path::Path, doc: &Value, status: StatusKey, r: &Value, r_at: &str, diags: &mut Vec<Diagnostic>) -> Response {
    let mut content = Vec::new();
    if let Some(map) = r.get("content").and_then(Value::as_object) {
        for (mime, media) in map {
            let m_at = join(&format!("{r_at}/content"), mime);
            let mut examples = Vec::new();
            if media.get("example").is_some() {
                examples.push(("example".to_string(), format!("{m_at}/example")));
            }
            if let Some(map) = media.get("examples").and_then(Value::as_object) {
                for (name, ex) in map {
                    let ex_at = join(&format!("{m_at}/examples"), name);
                    match deref(doc, ex, &ex_at) {
                        Ok((ex, ex_ptr)) => {
                            if ex.get("value").is_some() {
                                examples.push((name.clone(), format!("{ex_ptr}/value")));
                            } else if ex.get("externalValue").is_some() {
                                diags.push(Diagnostic::warning(
                                    file,
                                    &ex_at,
                                    "externalValue examples are not fetched; this example is skipped",
                                ));
                            }
                        }
                        Err(e) => diags.push(Diagnostic::error(file, &ex_at, e)),
                    }
                }
            }
            let mime = mime.to_ascii_lowercase();
            content.push(ResponseMedia {
                content_type: axum::http::HeaderValue::from_str(&answer_content_type(&mime)).ok(),
                mime,
                schema: media.get("schema").map(|_| format!("{m_at}/schema")),
                examples,
                fixture: None,
                index: 0,
            });
        }
    }
    let mut headers = Vec::new();
    if let Some(map) = r.get("headers").and_then(Value::as_object) {
        for (name, h) in map {
            if name.eq_ignore_ascii_case("content-type") {
                continue; // OpenAPI 3 §4.8.17.1: ignored
            }
            let h_at = join(&format!("{r_at}/headers"), name);
            match deref(doc, h, &h_at) {
                Ok((h, h_at)) => {
                    let example = h.get("example").or_else(|| h.pointer("/schema/example")).or_else(|| h.pointer("/schema/examples/0"));
                    let example = example.and_then(header_text).and_then(|t| axum::http::HeaderValue::from_str(&t).ok());
                    let header_name = axum::http::HeaderName::from_bytes(name.as_bytes()).ok();
                    headers.push(ResponseHeader {
                        name: name.clone(),
                        header_name,
                        schema: h.get("schema").map(|_| format!("{h_at}/schema")),
                        example,
                        index: 0,
                        required: h.get("required") == Some(&Value::Bool(true)),
                    });
                }
                Err(e) => diags.push(Diagnostic::error(file, &h_at, e)),
            }
        }
    }
    Response { status, content, headers }
}

/// Find `x-standin-warn-maxItems` on arrays reachable through object properties (a few levels).
fn collect_warn_max_items(doc: &Value, schema: &Value, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, u64)>, depth: usize) {
    if depth > 4 {
        return;
    }
    let Ok((schema, _)) = deref(doc, schema, "") else { return };
    if let Some(max) = schema.get("x-standin-warn-maxItems").and_then(Value::as_u64) {
        out.push((path.clone(), max));
    }
    for m in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        collect_warn_max_items(doc, m, path, out, depth + 1);
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, p) in props {
            path.push(name.clone());
            collect_warn_max_items(doc, p, path, out, depth + 1);
            path.pop();
        }
    }
}

/// Work out how to coerce a parameter from its schema (following `$ref`s and simple compositions).
fn param_shape(doc: &Value, schema: &Value, pointer: &str) -> ParamShape {
    let schema = match deref(doc, schema, pointer) {
        Ok((s, _)) => s,
        Err(_) => return ParamShape::Scalar(None),
    };
    match schema_type(doc, schema).as_deref() {
        Some("array") => {
            let item = schema.get("items").and_then(|i| deref(doc, i, "").ok()).and_then(|(i, _)| schema_type(doc, i));
            ParamShape::Array(item)
        }
        Some("object") => ParamShape::Object,
        other => ParamShape::Scalar(other.map(str::to_string)),
    }
}

use super::media::answer_content_type;
pub use super::media::{header_text, is_form_mime, is_json_mime, schema_type, template_names};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_only_members_are_found_through_refs_compositions_and_items_and_cycles_end() {
        let doc = serde_json::json!({"components": {"schemas": {
            "Signup": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"properties": {
                "cards": {"type": "array", "items": {"$ref": "#/components/schemas/Card"}},
                "email": {"type": "string"}
            }}]},
            "Base": {"properties": {"pin": {"$ref": "#/components/schemas/Pin"}, "parent": {"$ref": "#/components/schemas/Signup"}}},
            "Pin": {"type": "string", "writeOnly": true},
            "Card": {"properties": {"cvc": {"type": "string", "writeOnly": true}, "last4": {"type": "string"}}},
            "Plain": {"properties": {"name": {"type": "string"}}}
        }}});
        let schema = |name: &str| &doc["components"]["schemas"][name];
        let mut out = Vec::new();
        assert!(write_only_members(&doc, schema("Signup"), &mut out), "walked whole");
        out.sort();
        assert_eq!(out, ["cvc", "pin"]);
        let mut none = Vec::new();
        assert!(write_only_members(&doc, schema("Plain"), &mut none) && none.is_empty());
        assert!(marks_write_only(&doc));
        assert!(!marks_write_only(schema("Plain")));
        let mut all = all_write_only(&doc);
        all.sort();
        assert_eq!(all, ["cvc", "pin"]);
    }

    #[test]
    fn status_keys_order_exact_then_range_then_default() {
        let mut keys: Vec<StatusKey> = ["default", "2XX", "404", "200"].iter().filter_map(|k| StatusKey::parse(k)).collect();
        keys.sort();
        assert_eq!(keys, vec![StatusKey::Code(200), StatusKey::Code(404), StatusKey::Range(2), StatusKey::Default]);
    }

    #[test]
    fn template_names_finds_every_variable() {
        assert_eq!(template_names("/files/{name}.json/{v}:cancel"), vec!["name", "v"]);
    }
}
