//! Lower a Swagger 2.0 document to OpenAPI 3.0 at load, so the rest of the pipeline reads one
//! version.
//!
//! Runs right after overlays (an overlay written for the 2.0 document applies to it as it is)
//! and before bundling. What maps:
//!
//! * `host`/`basePath`/`schemes` → `servers`.
//! * `consumes`/`produces` (document and operation level) → one media type per entry in
//!   `requestBody.content` and each response's `content`.
//! * `in: body` → `requestBody`; `in: formData` → a form `requestBody` whose schema is an object
//!   of the form fields (multipart when a field has `type: file`, else the form types the
//!   operation consumes, urlencoded by default).
//! * Parameter `type`/`format`/`items`/bounds → `schema`; `collectionFormat` → `style`/`explode`
//!   (`csv` → form or simple without explode, `ssv` → spaceDelimited, `pipes` → pipeDelimited,
//!   `multi` → form with explode).
//! * Responses: `schema` → content per produced type, `examples` (by media type) → `example`,
//!   `headers` → header objects with a `schema`.
//! * `definitions` → `components/schemas`, top-level `parameters`/`responses` →
//!   `components/parameters`/`components/responses`, every local `$ref` rewritten to match;
//!   body and form parameters referenced from `#/parameters/` are inlined where they are used.
//! * `securityDefinitions` → `components/securitySchemes` (basic → http basic, apiKey, oauth2
//!   flows renamed).
//! * Schemas: `type: file` → binary string, `x-nullable` → `nullable`, a string `discriminator`
//!   → `{propertyName}`.
//! * Every `x-` extension is kept where it was (`x-standin` included).
//!
//! What cannot be said in 3.0 (`collectionFormat: tsv`, a nested `collectionFormat`, `multi`
//! outside query and form, a body and form fields on one operation, …) is a warning naming the
//! pointer in the 2.0 document, so `standin check` lists it.

mod schema;
#[cfg(test)]
mod tests;

use std::path::Path;

use serde_json::{json, Map, Value};

use self::schema::{rewrite_refs, schema};
use super::error::{join, Diagnostic};

/// The `openapi` version the lowered document declares.
pub const LOWERED_VERSION: &str = "3.0.3";

/// Whether `doc` is a Swagger 2.0 document (`swagger: "2.0"`, or an unquoted YAML `2.0`).
pub fn is_swagger2(doc: &Value) -> bool {
    doc.get("openapi").is_none()
        && match doc.get("swagger") {
            Some(Value::String(v)) => v == "2.0" || v.starts_with("2.0."),
            Some(Value::Number(n)) => n.as_f64() == Some(2.0),
            _ => false,
        }
}

/// Lower a Swagger 2.0 document to OpenAPI 3.0. Problems are pushed to `diags` (warnings: the
/// document still serves without the part named).
pub fn lower(file: &Path, doc: Value, diags: &mut Vec<Diagnostic>) -> Value {
    let Value::Object(src) = doc else { return doc };
    let mut l = Lowering { file, diags, src: &src, consumes: media_list(src.get("consumes")), produces: media_list(src.get("produces")) };
    let mut out = Map::new();
    out.insert("openapi".into(), Value::String(LOWERED_VERSION.into()));
    for (k, v) in &src {
        match k.as_str() {
            "swagger"
            | "host"
            | "basePath"
            | "schemes"
            | "consumes"
            | "produces"
            | "definitions"
            | "parameters"
            | "responses"
            | "securityDefinitions"
            | "paths" => {}
            "info" | "tags" | "externalDocs" | "security" => {
                out.insert(k.clone(), v.clone());
            }
            _ if k.starts_with("x-") => {
                out.insert(k.clone(), v.clone());
            }
            _ => l.warn(&join("", k), format!("top-level field {k:?} is not part of Swagger 2.0; dropped")),
        }
    }
    if let Some(servers) = l.servers() {
        out.insert("servers".into(), servers);
    }
    let mut components = Map::new();
    if let Some(Value::Object(defs)) = src.get("definitions") {
        let schemas: Map<String, Value> = defs.iter().map(|(name, s)| (name.clone(), schema(s))).collect();
        components.insert("schemas".into(), Value::Object(schemas));
    }
    if let Some(Value::Object(params)) = src.get("parameters") {
        let mut out_params = Map::new();
        for (name, p) in params {
            let at = join("/parameters", name);
            // Body and form parameters become part of a request body; they are inlined where
            // operations reference them.
            if matches!(p.get("in").and_then(Value::as_str), Some("body" | "formData")) {
                continue;
            }
            if let Some(p) = l.parameter(p, &at) {
                out_params.insert(name.clone(), p);
            }
        }
        if !out_params.is_empty() {
            components.insert("parameters".into(), Value::Object(out_params));
        }
    }
    if let Some(Value::Object(responses)) = src.get("responses") {
        let global = l.produces.clone();
        let lowered: Map<String, Value> =
            responses.iter().map(|(name, r)| (name.clone(), l.response(r, &join("/responses", name), &global))).collect();
        components.insert("responses".into(), Value::Object(lowered));
    }
    if let Some(Value::Object(defs)) = src.get("securityDefinitions") {
        let schemes: Map<String, Value> =
            defs.iter().filter_map(|(name, s)| Some((name.clone(), l.security_scheme(s, &join("/securityDefinitions", name))?))).collect();
        components.insert("securitySchemes".into(), Value::Object(schemes));
    }
    if !components.is_empty() {
        out.insert("components".into(), Value::Object(components));
    }
    match src.get("paths") {
        Some(Value::Object(paths)) => {
            let lowered: Map<String, Value> = paths.iter().map(|(p, item)| (p.clone(), l.path_item(item, &join("/paths", p)))).collect();
            out.insert("paths".into(), Value::Object(lowered));
        }
        Some(_) => l.warn("/paths", "`paths` must be an object; ignored"),
        None => {}
    }
    let mut out = Value::Object(out);
    rewrite_refs(&mut out, false, 0);
    out
}

struct Lowering<'a> {
    file: &'a Path,
    diags: &'a mut Vec<Diagnostic>,
    src: &'a Map<String, Value>,
    /// Document-level `consumes` and `produces`.
    consumes: Vec<String>,
    produces: Vec<String>,
}

/// The HTTP methods a 2.0 path item can hold.
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

/// Keywords of a 2.0 parameter, header or items object that are also schema keywords.
const SCHEMA_KEYWORDS: [&str; 15] = [
    "type",
    "format",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
];

impl Lowering<'_> {
    fn warn(&mut self, at: &str, message: impl Into<String>) {
        self.diags.push(Diagnostic::warning(self.file, at, message));
    }

    /// `servers` from `host`, `basePath` and `schemes`.
    fn servers(&mut self) -> Option<Value> {
        let host = self.src.get("host").and_then(Value::as_str).map(|h| h.trim_end_matches('/'));
        let base = self.src.get("basePath").and_then(Value::as_str).unwrap_or("");
        let base = if base.is_empty() || base.starts_with('/') { base.to_string() } else { format!("/{base}") };
        let Some(host) = host.filter(|h| !h.is_empty()) else {
            return (!base.is_empty()).then(|| json!([{"url": base}]));
        };
        let schemes: Vec<&str> = match self.src.get("schemes").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => list.iter().filter_map(Value::as_str).collect(),
            _ => vec!["https"],
        };
        // https first: the first server is the one standin reads, and clients prefer it.
        let mut ordered: Vec<&str> = schemes.iter().copied().filter(|s| *s == "https").collect();
        ordered.extend(schemes.iter().copied().filter(|s| *s != "https"));
        Some(Value::Array(ordered.into_iter().map(|s| json!({"url": format!("{s}://{host}{base}")})).collect()))
    }

    fn path_item(&mut self, item: &Value, at: &str) -> Value {
        let Value::Object(item) = item else {
            self.warn(at, "a path item must be an object; ignored");
            return json!({});
        };
        if item.contains_key("$ref") {
            self.warn(&join(at, "$ref"), "a path item `$ref` is not lowered from Swagger 2.0; the path is served without it");
        }
        let shared: Vec<(Value, String)> = self.resolved_params(item.get("parameters"), &join(at, "parameters"));
        let mut out = Map::new();
        let (shared_body, shared_plain): (Vec<_>, Vec<_>) = shared.into_iter().partition(|(p, _)| is_body_or_form(p));
        let plain: Vec<Value> = shared_plain.iter().filter_map(|(p, p_at)| self.parameter_or_ref(p, p_at)).collect();
        if !plain.is_empty() {
            out.insert("parameters".into(), Value::Array(plain));
        }
        for (k, v) in item {
            if METHODS.contains(&k.as_str()) {
                let op = self.operation(v, &join(at, k), &shared_body);
                out.insert(k.clone(), op);
            } else if k.starts_with("x-") {
                out.insert(k.clone(), v.clone());
            } else if k != "parameters" && k != "$ref" {
                self.warn(&join(at, k), format!("{k:?} is not a Swagger 2.0 path item field; dropped"));
            }
        }
        out.into()
    }

    /// The parameters of a list, each with its pointer; a `$ref` to a body or form parameter is
    /// resolved (it is inlined), other references stay references.
    fn resolved_params(&mut self, list: Option<&Value>, at: &str) -> Vec<(Value, String)> {
        let Some(list) = list else { return Vec::new() };
        let Some(list) = list.as_array() else {
            self.warn(at, "`parameters` must be an array; ignored");
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, p) in list.iter().enumerate() {
            let p_at = join(at, &i.to_string());
            match p.get("$ref").and_then(Value::as_str) {
                Some(r) => match r
                    .strip_prefix("#/parameters/")
                    .map(super::error::unescape_token)
                    .and_then(|n| self.src.get("parameters")?.get(&n).cloned().map(|t| (n, t)))
                {
                    Some((name, target)) if is_body_or_form(&target) => out.push((target, join("/parameters", &name))),
                    Some(_) => out.push((p.clone(), p_at)),
                    None if r.starts_with('#') => {
                        self.warn(&join(&p_at, "$ref"), format!("parameter reference {r:?} does not resolve; dropped"));
                    }
                    None => out.push((p.clone(), p_at)),
                },
                None => out.push((p.clone(), p_at)),
            }
        }
        out
    }

    /// A plain (not body or form) parameter, or its reference unchanged.
    fn parameter_or_ref(&mut self, p: &Value, at: &str) -> Option<Value> {
        if p.get("$ref").is_some() {
            return Some(json!({"$ref": p["$ref"]}));
        }
        self.parameter(p, at)
    }

    fn operation(&mut self, op: &Value, at: &str, shared_body: &[(Value, String)]) -> Value {
        let Value::Object(op) = op else {
            self.warn(at, "an operation must be an object; ignored");
            return json!({"responses": {}});
        };
        let consumes = op.get("consumes").map(|c| media_list(Some(c))).unwrap_or_else(|| self.consumes.clone());
        let produces = op.get("produces").map(|c| media_list(Some(c))).unwrap_or_else(|| self.produces.clone());
        let mut out = Map::new();
        let own = self.resolved_params(op.get("parameters"), &join(at, "parameters"));
        // Body and form parameters: the path item's, overridden by the operation's (same name).
        let mut body_params: Vec<(Value, String)> = shared_body.to_vec();
        let mut plain = Vec::new();
        for (p, p_at) in own {
            if is_body_or_form(&p) {
                let key = (p.get("name").cloned(), p.get("in").cloned());
                body_params.retain(|(q, _)| (q.get("name").cloned(), q.get("in").cloned()) != key);
                body_params.push((p, p_at));
            } else if let Some(lowered) = self.parameter_or_ref(&p, &p_at) {
                plain.push(lowered);
            }
        }
        for (k, v) in op {
            match k.as_str() {
                "tags" | "summary" | "description" | "externalDocs" | "operationId" | "deprecated" | "security" => {
                    out.insert(k.clone(), v.clone());
                }
                // The scheme of one operation (http vs https) is not something a mock tells apart.
                "consumes" | "produces" | "parameters" | "responses" | "schemes" => {}
                _ if k.starts_with("x-") => {
                    out.insert(k.clone(), v.clone());
                }
                _ => self.warn(&join(at, k), format!("{k:?} is not a Swagger 2.0 operation field; dropped")),
            }
        }
        if !plain.is_empty() {
            out.insert("parameters".into(), Value::Array(plain));
        }
        if let Some(body) = self.request_body(&body_params, &consumes, at) {
            out.insert("requestBody".into(), body);
        }
        let mut responses = Map::new();
        match op.get("responses") {
            Some(Value::Object(map)) => {
                for (code, r) in map {
                    let r_at = join(&join(at, "responses"), code);
                    if code.starts_with("x-") {
                        responses.insert(code.clone(), r.clone());
                        continue;
                    }
                    let lowered = self.response(r, &r_at, &produces);
                    responses.insert(code.clone(), lowered);
                }
            }
            Some(_) => self.warn(&join(at, "responses"), "`responses` must be an object; ignored"),
            None => {}
        }
        out.insert("responses".into(), Value::Object(responses));
        out.into()
    }

    /// The request body of an operation's `in: body` parameter or `in: formData` parameters.
    /// A 2.0 `in: body` parameter as a 3.0 request body, one media type per `consumes` entry.
    fn body_parameter(&mut self, p: &Value, p_at: &str, with_form: bool, consumes: &[String], at: &str) -> Value {
        if with_form {
            self.warn(
                &join(at, "parameters"),
                "an operation cannot have both a body parameter and form parameters; the form parameters are dropped",
            );
        }
        let Some(s) = p.get("schema") else {
            self.warn(p_at, "body parameter has no `schema`; the body is not validated");
            return json!({"content": {"application/json": {}}});
        };
        let s = schema(s);
        let mimes: Vec<String> = if consumes.is_empty() { vec!["application/json".into()] } else { consumes.to_vec() };
        let content: Map<String, Value> = mimes.into_iter().map(|m| (m, json!({"schema": s.clone()}))).collect();
        let mut out = Map::new();
        if let Some(d) = p.get("description") {
            out.insert("description".into(), d.clone());
        }
        out.insert("content".into(), Value::Object(content));
        if p.get("required") == Some(&Value::Bool(true)) {
            out.insert("required".into(), Value::Bool(true));
        }
        copy_extensions(p, &mut out);
        out.into()
    }

    fn request_body(&mut self, params: &[(Value, String)], consumes: &[String], at: &str) -> Option<Value> {
        let body = params.iter().rev().find(|(p, _)| p.get("in").and_then(Value::as_str) == Some("body"));
        let form: Vec<&(Value, String)> = params.iter().filter(|(p, _)| p.get("in").and_then(Value::as_str) == Some("formData")).collect();
        if let Some((p, p_at)) = body {
            return Some(self.body_parameter(p, p_at, !form.is_empty(), consumes, at));
        }
        if form.is_empty() {
            return None;
        }
        let mut properties = Map::new();
        let mut required = Vec::new();
        let mut encoding = Map::new();
        let mut has_file = false;
        for (p, p_at) in &form {
            let Some(name) = p.get("name").and_then(Value::as_str) else {
                self.warn(p_at, "form parameter has no `name`; dropped");
                continue;
            };
            let mut s = self.param_schema(p, p_at, true);
            if p.get("type").and_then(Value::as_str) == Some("file") {
                has_file = true;
            }
            if let (Some(d), Value::Object(m)) = (p.get("description"), &mut s) {
                m.insert("description".into(), d.clone());
            }
            properties.insert(name.to_string(), s);
            if p.get("required") == Some(&Value::Bool(true)) {
                required.push(Value::String(name.to_string()));
            }
            if p.get("type").and_then(Value::as_str) == Some("array") {
                if let Some((style, explode)) = self.collection_style(p, p_at, "formData") {
                    encoding.insert(name.to_string(), json!({"style": style, "explode": explode}));
                }
            }
        }
        let mut s = json!({"type": "object", "properties": properties});
        if !required.is_empty() {
            s["required"] = Value::Array(required);
        }
        let form_types: Vec<&String> = consumes.iter().filter(|m| is_form(m)).collect();
        let mimes: Vec<String> = if has_file {
            vec!["multipart/form-data".into()]
        } else if form_types.is_empty() {
            vec!["application/x-www-form-urlencoded".into()]
        } else {
            form_types.into_iter().cloned().collect()
        };
        let content: Map<String, Value> = mimes
            .into_iter()
            .map(|m| {
                let mut media = json!({"schema": s.clone()});
                if !encoding.is_empty() {
                    media["encoding"] = Value::Object(encoding.clone());
                }
                (m, media)
            })
            .collect();
        let required = form.iter().any(|(p, _)| p.get("required") == Some(&Value::Bool(true)));
        let mut out = json!({"content": content});
        if required {
            out["required"] = Value::Bool(true);
        }
        Some(out)
    }

    /// A plain parameter (path, query, header) lowered to 3.0.
    fn parameter(&mut self, p: &Value, at: &str) -> Option<Value> {
        let Value::Object(m) = p else {
            self.warn(at, "a parameter must be an object; dropped");
            return None;
        };
        let location = m.get("in").and_then(Value::as_str).unwrap_or("");
        let mut out = Map::new();
        for (k, v) in m {
            match k.as_str() {
                "name" | "in" | "description" | "required" => {
                    out.insert(k.clone(), v.clone());
                }
                "allowEmptyValue" if location == "query" => {
                    out.insert(k.clone(), v.clone());
                }
                _ if k.starts_with("x-") => {
                    out.insert(k.clone(), v.clone());
                }
                _ => {}
            }
        }
        out.insert("schema".into(), self.param_schema(p, at, false));
        if m.get("type").and_then(Value::as_str) == Some("array") {
            if let Some((style, explode)) = self.collection_style(p, at, location) {
                out.insert("style".into(), Value::String(style.into()));
                out.insert("explode".into(), Value::Bool(explode));
            }
        }
        Some(out.into())
    }

    /// The `style` and `explode` of an array parameter's `collectionFormat` (default `csv`).
    fn collection_style(&mut self, p: &Value, at: &str, location: &str) -> Option<(&'static str, bool)> {
        let format = p.get("collectionFormat").and_then(Value::as_str).unwrap_or("csv");
        let query_like = location == "query" || location == "formData";
        match format {
            "csv" if query_like => Some(("form", false)),
            "csv" => Some(("simple", false)),
            "ssv" if query_like => Some(("spaceDelimited", false)),
            "pipes" if query_like => Some(("pipeDelimited", false)),
            "multi" if query_like => Some(("form", true)),
            "ssv" | "pipes" | "multi" | "tsv" => {
                let why = if format == "tsv" {
                    "OpenAPI 3 has no tab-delimited style".to_string()
                } else {
                    format!("OpenAPI 3 allows it only in query parameters, not in {location}")
                };
                self.warn(
                    &join(at, "collectionFormat"),
                    format!("collectionFormat {format:?} cannot be converted ({why}); the value is read as comma-separated"),
                );
                None
            }
            other => {
                self.warn(
                    &join(at, "collectionFormat"),
                    format!("unknown collectionFormat {other:?}; the value is read as comma-separated"),
                );
                None
            }
        }
    }

    /// The schema of a parameter, header or items object (`type`, `format`, `items`, bounds).
    fn param_schema(&mut self, p: &Value, at: &str, form: bool) -> Value {
        let mut s = Map::new();
        if let Value::Object(m) = p {
            for k in SCHEMA_KEYWORDS {
                if let Some(v) = m.get(k) {
                    s.insert(k.into(), v.clone());
                }
            }
            if m.get("x-nullable") == Some(&Value::Bool(true)) {
                s.insert("nullable".into(), Value::Bool(true));
            }
            if let Some(items) = m.get("items") {
                let items_at = join(at, "items");
                if items.get("$ref").is_some() {
                    s.insert("items".into(), json!({"$ref": items["$ref"]}));
                } else {
                    if items.get("collectionFormat").is_some() && items.get("type").and_then(Value::as_str) == Some("array") {
                        self.warn(
                            &join(&items_at, "collectionFormat"),
                            "a nested array's collectionFormat cannot be converted; the inner items are read as one value each",
                        );
                    }
                    let inner = self.param_schema(items, &items_at, form);
                    s.insert("items".into(), inner);
                }
            }
            if m.get("type").and_then(Value::as_str) == Some("file") {
                if !form {
                    self.warn(&join(at, "type"), "`type: file` is allowed only for form parameters; read as a binary string");
                }
                s.insert("type".into(), Value::String("string".into()));
                s.insert("format".into(), Value::String("binary".into()));
            }
            if !m.contains_key("type") && m.get("in").is_some() {
                self.warn(at, "parameter has no `type`; any value is accepted");
            }
        }
        Value::Object(s)
    }

    /// A response, or a reference to one, lowered with the media types it is produced as.
    fn response(&mut self, r: &Value, at: &str, produces: &[String]) -> Value {
        let Value::Object(m) = r else {
            self.warn(at, "a response must be an object; dropped");
            return json!({"description": ""});
        };
        if let Some(target) = m.get("$ref") {
            return json!({"$ref": target});
        }
        let mut out = Map::new();
        out.insert("description".into(), m.get("description").cloned().unwrap_or_else(|| Value::String(String::new())));
        let examples = m.get("examples").and_then(Value::as_object);
        let mut content = Map::new();
        if let Some(s) = m.get("schema") {
            let s = schema(s);
            let mut mimes: Vec<String> = if produces.is_empty() { vec!["application/json".into()] } else { produces.to_vec() };
            // An example for a type not in `produces` shows the type is produced.
            for mime in examples.into_iter().flat_map(|e| e.keys()) {
                if !mimes.iter().any(|m| m.eq_ignore_ascii_case(mime)) {
                    mimes.push(mime.clone());
                }
            }
            for mime in mimes {
                content.insert(mime, json!({"schema": s.clone()}));
            }
        } else if let Some(examples) = examples {
            // Examples without a schema: the body is shown, not typed.
            for mime in examples.keys() {
                content.insert(mime.clone(), json!({}));
            }
        }
        if let Some(examples) = examples {
            for (mime, example) in examples {
                if let Some(Value::Object(media)) = content.iter_mut().find(|(m, _)| m.eq_ignore_ascii_case(mime)).map(|(_, v)| v) {
                    media.insert("example".into(), example.clone());
                }
            }
        }
        if !content.is_empty() {
            out.insert("content".into(), Value::Object(content));
        }
        if let Some(headers) = m.get("headers") {
            match headers {
                Value::Object(h) => {
                    let mut lowered = Map::new();
                    for (name, header) in h {
                        let h_at = join(&join(at, "headers"), name);
                        let mut o = Map::new();
                        if let Some(d) = header.get("description") {
                            o.insert("description".into(), d.clone());
                        }
                        o.insert("schema".into(), self.param_schema(header, &h_at, false));
                        if header.get("type").and_then(Value::as_str) == Some("array") {
                            let format = header.get("collectionFormat").and_then(Value::as_str).unwrap_or("csv");
                            if format != "csv" {
                                self.warn(&join(&h_at, "collectionFormat"), format!("a header's collectionFormat {format:?} cannot be converted (headers are comma-separated in OpenAPI 3)"));
                            }
                        }
                        copy_extensions(header, &mut o);
                        lowered.insert(name.clone(), Value::Object(o));
                    }
                    out.insert("headers".into(), Value::Object(lowered));
                }
                _ => self.warn(&join(at, "headers"), "`headers` must be an object; ignored"),
            }
        }
        copy_extensions(r, &mut out);
        out.into()
    }

    fn security_scheme(&mut self, s: &Value, at: &str) -> Option<Value> {
        let mut out = Map::new();
        match s.get("type").and_then(Value::as_str) {
            Some("basic") => {
                out.insert("type".into(), "http".into());
                out.insert("scheme".into(), "basic".into());
            }
            Some("apiKey") => {
                out.insert("type".into(), "apiKey".into());
                for k in ["name", "in"] {
                    if let Some(v) = s.get(k) {
                        out.insert(k.into(), v.clone());
                    }
                }
            }
            Some("oauth2") => {
                let scopes = s.get("scopes").cloned().unwrap_or_else(|| json!({}));
                let mut flow = Map::new();
                let name = match s.get("flow").and_then(Value::as_str) {
                    Some("implicit") => "implicit",
                    Some("password") => "password",
                    Some("application") => "clientCredentials",
                    Some("accessCode") => "authorizationCode",
                    other => {
                        self.warn(&join(at, "flow"), format!("unknown oauth2 flow {other:?}; the scheme is read as a bearer token"));
                        "implicit"
                    }
                };
                for k in ["authorizationUrl", "tokenUrl"] {
                    if let Some(v) = s.get(k) {
                        flow.insert(k.into(), v.clone());
                    }
                }
                flow.insert("scopes".into(), scopes);
                let mut flows = Map::new();
                flows.insert(name.into(), Value::Object(flow));
                out.insert("type".into(), "oauth2".into());
                out.insert("flows".into(), Value::Object(flows));
            }
            other => {
                self.warn(&join(at, "type"), format!("unknown security scheme type {other:?}; dropped"));
                return None;
            }
        }
        if let Some(d) = s.get("description") {
            out.insert("description".into(), d.clone());
        }
        copy_extensions(s, &mut out);
        Some(out.into())
    }
}

fn is_body_or_form(p: &Value) -> bool {
    matches!(p.get("in").and_then(Value::as_str), Some("body" | "formData"))
}

fn is_form(mime: &str) -> bool {
    let base = mime.split(';').next().unwrap_or("").trim();
    base.eq_ignore_ascii_case("application/x-www-form-urlencoded") || base.eq_ignore_ascii_case("multipart/form-data")
}

fn media_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default()
}

fn copy_extensions(from: &Value, to: &mut Map<String, Value>) {
    if let Value::Object(m) = from {
        for (k, v) in m.iter().filter(|(k, _)| k.starts_with("x-")) {
            to.insert(k.clone(), v.clone());
        }
    }
}
