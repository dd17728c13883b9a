//! Load an OpenAPI 3.0/3.1 document into an immutable [`Spec`]: the IR every request reads.
//!
//! Pipeline (all at load, never per request):
//! `load::read_document → load::bundle → load::check_refs → convert::build_views (request and
//! response) → sanitize::repair → model::lower (operations, compiled request validators) →
//! fixtures attached`.
//!
//! Everything found wrong is collected into [`Diagnostic`]s naming file and JSON pointer.

pub mod actions;
pub mod convert;
pub mod error;
pub mod ext;
pub mod fixture;
pub mod form_plan;
pub mod inferred;
pub mod load;
pub mod media;
pub mod model;
pub mod overlay;
pub mod sanitize;
pub mod security;
pub mod swagger2;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

pub use convert::{Dialect, View};
pub use error::{Diagnostic, LoadError, Severity};
pub use model::{Operation, Param, ParamLocation, ParamShape, Response, ResponseMedia, StatusKey};

/// What to load besides the spec itself.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Directory of fixture files (`<operationId>.json`, `<operationId>.<status>.json`).
    pub fixtures: Option<PathBuf>,
    /// Serve under this path instead of the path of the first `servers` URL.
    pub base_path: Option<String>,
    /// OpenAPI Overlay files applied, in order, before anything else reads the document.
    pub overlays: Vec<PathBuf>,
    /// Check every schema against the JSON Schema meta-schema at load (see [`sanitize`]), not
    /// only when a request validator fails to compile: for `check` and the validation proxy,
    /// which compile response validators too. Serving skips it on specs that compile (~60 ms
    /// of GitHub's load).
    pub repair_all_schemas: bool,
}

/// A loaded, validated spec. Immutable and shared by every request.
#[derive(Debug)]
pub struct Spec {
    /// The file the spec was read from.
    pub file: PathBuf,
    pub title: String,
    pub version: String,
    /// The `openapi` field, e.g. `3.1.0`.
    pub openapi: String,
    pub dialect: Dialect,
    /// Path prefix every route is served under (`/api/v1`), no trailing slash; empty for root.
    pub base_path: String,
    /// The host of the first `servers` URL (`app.bentonow.com`), to tell apart specs that share
    /// a base path on one port.
    pub server_host: Option<String>,
    pub operations: Vec<Operation>,
    /// Problems that do not stop serving (`check` lists them).
    pub warnings: Vec<Diagnostic>,
    /// Number of webhook definitions (3.1 `webhooks`, or `x-webhooks`).
    pub webhooks: usize,
    /// Fixture directory actually used, and how many fixture files were attached.
    pub fixtures: Option<(PathBuf, usize)>,
    pub schemas: Schemas,
    /// Security schemes the operations' requirements point into.
    pub schemes: Vec<security::Scheme>,
    /// The `x-standin` block.
    pub ext: ext::Extension,
    /// API keys declared in the fixture directory's `_keys.json` (scope, plan, revoked).
    pub keys: HashMap<String, ext::KeyInfo>,
    /// Pointers (into the request view, sorted) of the schemas marked inferred: breaking them is
    /// a warning, not a refusal (see [`inferred`]).
    pub inferred: Vec<String>,
}

/// The converted documents and the schema registry validators are compiled against.
pub struct Schemas {
    /// Validators compiled at load, by the canonical text of their wrapper schema: operations
    /// that share a body or parameter set share one compiled validator (large specs repeat the
    /// same `$ref`s thousands of times). Only touched while loading.
    shared: std::sync::Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    /// Request view (readOnly refused), shared with the registry.
    pub request: Arc<Value>,
    /// Response view (writeOnly refused); the generator follows pointers into it.
    pub response: Arc<Value>,
    registry: jsonschema::Registry<'static>,
    base: String,
    /// Compilations that failed (a schema the validator refuses): loading then repairs the views.
    failures: AtomicUsize,
    /// Whether a schema with no references may be compiled on its own, keyed by its text: when
    /// nothing reads a validator error's absolute location (only the inferred-contract check
    /// does, so not when the spec marks anything inferred, in either view).
    standalone: bool,
    /// Whether request body validators compile on first use (a spec with more than
    /// [`model::EAGER_BODY_OPERATIONS`] operations): then the sharing table is kept after load.
    defers_bodies: bool,
}

impl std::fmt::Debug for Schemas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Schemas").field("base", &self.base).finish_non_exhaustive()
    }
}

/// Whether `schema` holds no reference of any kind (`$ref`, `$dynamicRef`, an `$id` or anchor a
/// reference could name): it then validates the same without the registry.
fn references_nothing(schema: &Value, depth: usize) -> bool {
    const KEYS: [&str; 6] = ["$ref", "$dynamicRef", "$recursiveRef", "$id", "$anchor", "$dynamicAnchor"];
    match schema {
        Value::Object(m) if depth < 64 => !KEYS.iter().any(|k| m.contains_key(*k)) && m.values().all(|v| references_nothing(v, depth + 1)),
        Value::Array(a) if depth < 64 => a.iter().all(|v| references_nothing(v, depth + 1)),
        Value::Object(_) | Value::Array(_) => false,
        _ => true,
    }
}

/// Distinguishes the registry URIs of specs loaded in one process.
static SPEC_COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Schemas {
    fn new(request: Value, response: Value, defers_bodies: bool) -> Result<Self, String> {
        let base = format!("standin://spec-{}", SPEC_COUNTER.fetch_add(1, Ordering::Relaxed));
        let request = Arc::new(request);
        let response = Arc::new(response);
        let registry = jsonschema::Registry::new()
            .draft(jsonschema::Draft::Draft202012)
            .add(format!("{base}/request"), Arc::clone(&request))
            .and_then(|b| b.add(format!("{base}/response"), Arc::clone(&response)))
            .and_then(|b| b.prepare())
            .map_err(|e| e.to_string())?;
        // The request view is a partial copy of the response view's document: one scan covers both.
        let standalone = !inferred::mentions_marker(&response) && response.pointer("/x-standin/inferred").is_none();
        Ok(Self { shared: Default::default(), request, response, registry, base, failures: AtomicUsize::new(0), standalone, defers_bodies })
    }

    /// The document of a view.
    pub fn doc(&self, view: View) -> &Value {
        match view {
            View::Request => &self.request,
            View::Response => &self.response,
        }
    }

    /// The absolute URI of a pointer in a view, percent-encoded as RFC 6901 §6 requires.
    pub fn uri(&self, view: View, pointer: &str) -> String {
        let name = match view {
            View::Request => "request",
            View::Response => "response",
        };
        format!("{}/{name}#{}", self.base, load::encode_pointer(pointer))
    }

    /// Compile a wrapper schema (which may `$ref` into the views).
    pub fn compile(&self, schema: &Value) -> Result<jsonschema::Validator, String> {
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .with_registry(&self.registry)
            .with_base_uri(format!("{}/wrapper", self.base))
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| e.to_string())
    }

    /// Compile the schema at `pointer` in a view. A schema that is only a `$ref` compiles its
    /// target, so every pointer to the same target shares the validator. A schema that
    /// references nothing (most parameters: `{"type": "string"}`, an inline enum) is compiled on
    /// its own, without the registry, and shared by its text: a spec with 30,000 operations has
    /// a few hundred distinct such schemas, and building against the registry costs far more
    /// than the schema itself.
    pub fn compile_pointer(&self, view: View, pointer: &str) -> Result<Arc<jsonschema::Validator>, String> {
        let doc = self.doc(view);
        let at = doc.pointer(pointer);
        let target = match at {
            Some(Value::Object(m)) if m.len() == 1 => m
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
                .map(|fragment| percent_encoding::percent_decode_str(fragment).decode_utf8_lossy().into_owned()),
            _ => None,
        };
        // Walked once more only when the pointer led to a `$ref`.
        let found = match &target {
            Some(t) => doc.pointer(t),
            None => at,
        };
        let target = target.as_deref().unwrap_or(pointer);
        match found {
            Some(schema) if self.standalone && references_nothing(schema, 0) => self.compile_standalone(schema),
            _ => self.compile_shared(&json!({"$ref": self.uri(view, target)})),
        }
    }

    /// Compile a schema that references nothing, reusing the validator of an identical one.
    fn compile_standalone(&self, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        // `=` keeps these keys apart from the wrapper schemas' (which are JSON objects).
        self.shared_by(format!("={schema}"), || {
            jsonschema::options()
                .with_draft(jsonschema::Draft::Draft202012)
                .should_validate_formats(true)
                .build(schema)
                .map_err(|e| e.to_string())
        })
    }

    /// Compile a wrapper schema, reusing the validator of an identical one compiled before.
    pub fn compile_shared(&self, schema: &Value) -> Result<Arc<jsonschema::Validator>, String> {
        self.shared_by(schema.to_string(), || self.compile(schema))
    }

    /// The validator kept under `key`, else `build`'s, kept under it (a failure is counted).
    fn shared_by(
        &self,
        key: String,
        build: impl FnOnce() -> Result<jsonschema::Validator, String>,
    ) -> Result<Arc<jsonschema::Validator>, String> {
        if let Some(v) = self.shared.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(v);
        }
        let v = Arc::new(build().inspect_err(|_| {
            self.failures.fetch_add(1, Ordering::Relaxed);
        })?);
        if let Ok(mut m) = self.shared.lock() {
            m.insert(key, Arc::clone(&v));
        }
        Ok(v)
    }

    /// Whether request body validators are compiled on first use rather than at load.
    pub fn defers_bodies(&self) -> bool {
        self.defers_bodies
    }

    /// How many compilations failed so far.
    pub fn compile_failures(&self) -> usize {
        self.failures.load(Ordering::Relaxed)
    }

    /// The two views back, for a repair (copied only if a validator still holds them).
    fn into_views(self) -> (Value, Value) {
        let Schemas { request, response, registry, shared, .. } = self;
        drop((registry, shared));
        let take = |v: Arc<Value>| Arc::try_unwrap(v).unwrap_or_else(|shared| (*shared).clone());
        (take(request), take(response))
    }

    /// Forget the load-time sharing table (validators stay alive where they are used).
    pub(crate) fn finish_loading(&self) {
        if self.defers_bodies {
            return; // bodies compiled later still share validators by target
        }
        if let Ok(mut m) = self.shared.lock() {
            *m = HashMap::new();
        }
    }
}

impl Spec {
    /// Load a spec from a file. Fails with every error found; warnings are kept on the spec.
    pub fn load(path: &Path, options: &LoadOptions) -> Result<Spec, LoadError> {
        let doc = load::read_document(path).map_err(|d| LoadError { file: path.to_path_buf(), errors: vec![d] })?;
        Self::from_document(path, doc, options)
    }

    /// Load a spec from text (YAML or JSON); `path` names it in messages and anchors relative
    /// `$ref`s. Used by fuzzing and by callers that hold the text already.
    pub fn load_text(path: &Path, text: &str, options: &LoadOptions) -> Result<Spec, LoadError> {
        let doc = load::parse_document(path, text).map_err(|d| LoadError { file: path.to_path_buf(), errors: vec![d] })?;
        Self::from_document(path, doc, options)
    }

    fn from_document(path: &Path, mut doc: Value, options: &LoadOptions) -> Result<Spec, LoadError> {
        let fail = |errors: Vec<Diagnostic>| LoadError { file: path.to_path_buf(), errors };
        let mut diags = Vec::new();
        for o in &options.overlays {
            overlay::apply(o, &mut doc, &mut diags);
        }

        // --- Version. Swagger 2.0 is lowered to 3.0 first; the rest reads 3.x only.
        let swagger2 = swagger2::is_swagger2(&doc);
        if swagger2 {
            doc = swagger2::lower(path, doc, &mut diags);
        }
        let (openapi, dialect) = read_version(path, &doc, &mut diags).map_err(|e| fail(vec![e]))?;
        if !doc.is_object() {
            return Err(fail(vec![Diagnostic::error(path, "", "the document must be an object")]));
        }
        let openapi = if swagger2 { format!("2.0, read as {openapi}") } else { openapi };
        let (title, version) = read_info(path, &doc, &mut diags);
        if doc.get("paths").is_none() && doc.get("webhooks").is_none() && doc.get("components").is_none() {
            diags.push(Diagnostic::error(path, "", "the document has none of `paths`, `webhooks`, `components`"));
        }

        // --- References.
        diags.extend(load::bundle(path, &mut doc));
        diags.extend(load::normalize_refs(path, &mut doc));
        if diags.iter().any(|d| d.severity == Severity::Error) {
            return Err(fail(diags));
        }

        let (schemas, mut operations) = build_schemas(path, doc, dialect, options, &mut diags).map_err(|e| fail(vec![e]))?;
        lint_operation_ids(path, &operations, &mut diags);
        let schemes = security::read_schemes(path, &schemas.response, &mut diags);
        security::attach_requirements(path, &schemas.response, &schemes, &mut operations, &mut diags);
        let ext = ext::Extension::read(&schemas.response).unwrap_or_else(|e| {
            diags.push(Diagnostic::error(path, "/x-standin", e));
            ext::Extension::default()
        });
        let webhooks =
            ["webhooks", "x-webhooks"].iter().filter_map(|k| schemas.response.get(*k)).filter_map(Value::as_object).map(|m| m.len()).sum();

        // --- Base path.
        let server_host = server_host(&schemas.response);
        let base_path = match &options.base_path {
            Some(b) => normalize_base(b),
            None => normalize_base(&server_path(&schemas.response)),
        };

        // --- Fixtures, and the API keys declared beside them.
        let fixtures = options.fixtures.as_ref().map(|dir| (dir.clone(), fixture::attach(dir, &mut operations, &schemas, &mut diags)));
        let keys = read_keys(options, &ext, &mut diags);
        let inferred = inferred::mark(&schemas.request, &schemas.response, &ext, &mut operations);

        if diags.iter().any(|d| d.severity == Severity::Error) {
            return Err(fail(diags));
        }
        schemas.finish_loading();
        Ok(Spec {
            file: path.to_path_buf(),
            title,
            version,
            openapi,
            dialect,
            base_path,
            server_host,
            operations,
            warnings: diags,
            webhooks,
            fixtures,
            schemas,
            schemes,
            ext,
            keys,
            inferred,
        })
    }
}

/// Convert the document to its two schema views, register them, and lower the operations. A
/// schema the validator cannot compile leaves its body unvalidated: then the views are repaired
/// (only the keywords at fault dropped) and the operations lowered again.
fn build_schemas(
    path: &Path,
    mut doc: Value,
    dialect: Dialect,
    options: &LoadOptions,
    diags: &mut Vec<Diagnostic>,
) -> Result<(Schemas, Vec<Operation>), Diagnostic> {
    for pointer in convert::relax_all_of(&mut doc) {
        diags.push(Diagnostic::warning(path, format!("{pointer}/allOf"), "no instance can satisfy this allOf: a member has `additionalProperties: false` and the others add properties; standin ignores that `additionalProperties: false`"));
    }
    // The response view is converted in place; the request view is a partial copy.
    let defers_bodies = !options.repair_all_schemas && count_operations(&doc) > model::EAGER_BODY_OPERATIONS;
    let (mut request, mut response) = convert::build_views(doc, dialect);
    if options.repair_all_schemas {
        diags.extend(sanitize::repair(path, &mut request, &mut response));
    }
    let registered = |request, response| {
        Schemas::new(request, response, defers_bodies)
            .map_err(|e| Diagnostic::error(path, "", format!("schemas cannot be registered: {e}")))
    };
    let mut schemas = registered(request, response)?;
    let mut lowered = Vec::new();
    let mut operations = model::lower(path, &schemas.response, &schemas, &mut lowered);
    if !options.repair_all_schemas && schemas.compile_failures() > 0 {
        drop(operations);
        let (mut request, mut response) = schemas.into_views();
        diags.extend(sanitize::repair(path, &mut request, &mut response));
        schemas = registered(request, response)?;
        lowered.clear();
        operations = model::lower(path, &schemas.response, &schemas, &mut lowered);
    }
    diags.extend(lowered);
    Ok((schemas, operations))
}

/// How many operations the document's path items declare (before any is lowered), counting a
/// `$ref`'d path item as `model::lower` reads it.
fn count_operations(doc: &Value) -> usize {
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return 0 };
    paths
        .values()
        .filter_map(|item| load::deref(doc, item, "").ok().and_then(|(item, _)| item.as_object()))
        .map(|item| convert::METHODS.iter().filter(|m| item.contains_key(**m)).count())
        .sum()
}

/// The host of the first `servers` URL, lower case (none when it is a template).
fn server_host(doc: &Value) -> Option<String> {
    let url = doc.pointer("/servers/0/url").and_then(Value::as_str)?;
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', ':']).next()?;
    (!host.is_empty() && !host.contains('{')).then(|| host.to_ascii_lowercase())
}

/// The document's `info.title` and `info.version` (a number as its text).
fn read_info(path: &Path, doc: &Value, diags: &mut Vec<Diagnostic>) -> (String, String) {
    let info = doc.get("info").unwrap_or(&Value::Null);
    if !info.is_object() {
        diags.push(Diagnostic::warning(path, "/info", "missing `info` object"));
    }
    let title = info.get("title").and_then(Value::as_str).unwrap_or("Untitled API").to_string();
    let version = info.get("version").map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).unwrap_or_default();
    (title, version)
}

/// The document's version and schema dialect (`2.0` documents were lowered to 3.0 before).
fn read_version(path: &Path, doc: &Value, diags: &mut Vec<Diagnostic>) -> Result<(String, Dialect), Diagnostic> {
    let found = match (doc.get("openapi").and_then(Value::as_str), doc.get("swagger")) {
        (Some(v), _) if v.starts_with("3.0") => (v.to_string(), Dialect::Oas30),
        (Some(v), _) if v.starts_with("3.1") => (v.to_string(), Dialect::Oas31),
        (Some(v), _) if v.starts_with("3.2") => {
            diags.push(Diagnostic::warning(path, "/openapi", format!("OpenAPI {v} is read with 3.1 rules")));
            (v.to_string(), Dialect::Oas31)
        }
        (Some(v), _) => {
            return Err(Diagnostic::error(path, "/openapi", format!("unsupported OpenAPI version {v:?}: standin reads 3.0.x and 3.1.x")))
        }
        (None, Some(v)) => {
            return Err(Diagnostic::error(
                path,
                "/swagger",
                format!("unsupported Swagger version {v}: standin reads Swagger 2.0 and OpenAPI 3.0.x/3.1.x"),
            ))
        }
        (None, None) => {
            return Err(Diagnostic::error(path, "", "not an OpenAPI document: no `openapi` field (expected \"3.0.x\" or \"3.1.x\")"))
        }
    };
    Ok(found)
}

/// The API keys declared in the fixture directory's `_keys.json`, each checked against the
/// scopes and plans of the `x-standin` block.
fn read_keys(options: &LoadOptions, ext: &ext::Extension, diags: &mut Vec<Diagnostic>) -> HashMap<String, ext::KeyInfo> {
    match options.fixtures.as_ref().map(|d| d.join("_keys.json")).filter(|p| p.exists()) {
        Some(file) => match std::fs::read_to_string(&file)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str::<HashMap<String, ext::KeyInfo>>(&t).map_err(|e| e.to_string()))
        {
            Ok(k) => {
                for (key, info) in &k {
                    if let Some(scope) = &info.scope {
                        if !ext.scopes.contains_key(scope) {
                            diags.push(Diagnostic::error(
                                &file,
                                format!("/{}/scope", error::escape_token(key)),
                                format!("scope {scope:?} is not in x-standin.scopes"),
                            ));
                        }
                    }
                    if let Some(plan) = &info.plan {
                        if !ext.rate_limit.as_ref().is_some_and(|r| r.plans.contains_key(plan)) {
                            diags.push(Diagnostic::error(
                                &file,
                                format!("/{}/plan", error::escape_token(key)),
                                format!("plan {plan:?} is not in x-standin.rateLimit.plans"),
                            ));
                        }
                    }
                }
                k
            }
            Err(e) => {
                diags.push(Diagnostic::error(&file, "", format!("invalid keys file: {e}")));
                HashMap::new()
            }
        },
        None => HashMap::new(),
    }
}

fn lint_operation_ids(path: &Path, ops: &[Operation], diags: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for op in ops {
        match &op.operation_id {
            None => diags.push(Diagnostic::warning(
                path,
                &op.pointer,
                format!("{} {} has no operationId; fixtures cannot name it", op.method, op.path),
            )),
            Some(id) => {
                if let Some(first) = seen.insert(id, &op.pointer) {
                    diags.push(Diagnostic::warning(
                        path,
                        format!("{}/operationId", op.pointer),
                        format!("operationId {id:?} is also used at {first}"),
                    ));
                }
            }
        }
    }
}

/// The path part of the first `servers` URL (`https://x.com/api/v1` → `/api/v1`).
fn server_path(doc: &Value) -> String {
    let Some(url) = doc.pointer("/servers/0/url").and_then(Value::as_str) else { return String::new() };
    // Substitute server variables with their defaults.
    let mut url = url.to_string();
    if let Some(vars) = doc.pointer("/servers/0/variables").and_then(Value::as_object) {
        for (name, v) in vars {
            if let Some(d) = v.get("default").and_then(Value::as_str) {
                url = url.replace(&format!("{{{name}}}"), d);
            }
        }
    }
    let without_scheme = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => url.as_str(),
    };
    let path = if url.contains("://") { without_scheme.find('/').map(|i| &without_scheme[i..]).unwrap_or("") } else { without_scheme };
    path.split(['?', '#']).next().unwrap_or("").to_string()
}

fn normalize_base(b: &str) -> String {
    let trimmed = b.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        String::new()
    } else if trimmed.starts_with('/') {
        trimmed.to_string()
    } else {
        format!("/{trimmed}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_path_takes_the_path_of_the_first_server() {
        assert_eq!(server_path(&json!({"servers": [{"url": "https://app.example.com/api/v1"}]})), "/api/v1");
        assert_eq!(
            server_path(
                &json!({"servers": [{"url": "https://{host}/v{n}", "variables": {"host": {"default": "x"}, "n": {"default": "2"}}}]})
            ),
            "/v2"
        );
        assert_eq!(server_path(&json!({"servers": [{"url": "/relative"}]})), "/relative");
        assert_eq!(server_path(&json!({})), "");
    }
}
