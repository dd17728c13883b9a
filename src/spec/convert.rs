//! Normalise every schema of a spec to JSON Schema 2020-12, in a request view and a response view.
//!
//! Second stage of the load pipeline. Input: the bundled document from `load`. Output: two
//! documents, identical outside schema positions, that `model` compiles validators from and
//! `respond` generates data from.
//!
//! * OpenAPI 3.0 schemas are rewritten: `nullable` → a `"null"` type (or `anyOf` with null when
//!   there is no `type`), boolean `exclusiveMinimum`/`exclusiveMaximum` → numeric, `example` →
//!   `examples`, siblings of `$ref` dropped (3.0 ignores them; a `nullable: true` sibling is
//!   honoured, as vendors rely on it).
//! * OpenAPI 3.1 schemas already are 2020-12 and pass through.
//! * Both: a `oneOf` with a `discriminator` becomes `anyOf` (vendor branches overlap, and the
//!   discriminator, not exclusivity, is what picks the branch).
//! * Request view: `readOnly` properties are not required and are refused when sent; response
//!   view: the same for `writeOnly`. The refusal is a clause appended to the object's `allOf`,
//!   `{"not": {"anyOf": [{"required": ["id"]}]}, "x-standin-forbidden": "readOnly", …}`, so no
//!   pointer into the property schemas moves and errors can say why.
//!
//! # Implementation rationale
//! `openapiv3` was rejected as the loader: it cannot read 3.1 (type arrays, numeric exclusives,
//! boolean schemas, webhook-only documents) and silently drops `const`, `examples` and `$defs`
//! (measured in shared/research/crates.md §1). Keeping `serde_json::Value` and converting once
//! gives one 2020-12 code path for both versions.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

use super::load::deref;

/// Which OpenAPI schema dialect the document uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Oas30,
    Oas31,
}

/// Which direction a view validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Request,
    Response,
}

/// Marker key on the clause that refuses properties in this view (`readOnly` or `writeOnly`).
pub const FORBIDDEN_MARKER: &str = "x-standin-forbidden";
/// The names of the properties that clause refuses.
pub const FORBIDDEN_PROPERTIES: &str = "x-standin-properties";

/// HTTP methods that can hold an operation in a path item (OpenAPI 3.x, lower case).
pub const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Build one view of `doc`: a copy with every schema position converted.
pub fn build_view(doc: Value, dialect: Dialect, view: View) -> Value {
    let mut out = doc;
    strip_descriptions(&mut out, view == View::Request, 0);
    if view == View::Request {
        drop_response_side(&mut out);
    }
    let mut work = schema_roots(&out);
    let mut visited: HashSet<String> = HashSet::new();
    let mut refs = Vec::new();
    while let Some(pointer) = work.pop() {
        if !visited.insert(pointer.clone()) {
            continue;
        }
        if let Some(node) = out.pointer_mut(&pointer) {
            convert_schema(node, dialect, view, &mut refs, 0);
        }
        for r in refs.drain(..) {
            if let Some(fragment) = r.strip_prefix('#') {
                let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy().to_string();
                if !visited.contains(&decoded) {
                    work.push(decoded);
                }
            }
        }
    }
    out
}

/// Make `allOf`s satisfiable: a member with `additionalProperties: false` rejects the properties
/// the other members add, so no instance can match (a common mistake in public specs). The
/// member is replaced by a copy without that keyword. Returns the pointer of every `allOf` fixed,
/// for the load warnings.
pub fn relax_all_of(doc: &mut Value) -> Vec<String> {
    let mut found: Vec<(String, usize, Value)> = Vec::new();
    let snapshot: &Value = doc;
    super::load::walk_objects(snapshot, "", &|k| k == "examples" || super::load::DATA_KEYS.contains(&k), &mut |at, map| {
        let Some(Value::Array(members)) = map.get("allOf") else { return };
        if members.len() < 2 {
            return;
        }
        for (i, m) in members.iter().enumerate() {
            let target = match m.get("$ref").and_then(Value::as_str) {
                Some(r) => r.strip_prefix('#').and_then(|f| super::load::resolve_pointer(snapshot, f)),
                None => Some(m),
            };
            if let Some(Value::Object(t)) = target {
                if t.get("additionalProperties") == Some(&Value::Bool(false)) {
                    let mut copy = t.clone();
                    copy.remove("additionalProperties");
                    found.push((at.to_string(), i, Value::Object(copy)));
                }
            }
        }
    });
    for (pointer, index, replacement) in &found {
        if let Some(Value::Array(members)) = doc.pointer_mut(&format!("{pointer}/allOf")) {
            if let Some(m) = members.get_mut(*index) {
                *m = replacement.clone();
            }
        }
    }
    let mut pointers: Vec<String> = found.into_iter().map(|(p, _, _)| p).collect();
    pointers.dedup();
    pointers
}

/// The request view never validates responses: drop the response side (operation `responses`,
/// `components.responses`/`headers`/`examples`, webhooks) unless a `$ref` in what is kept points
/// into it. GitHub's spec keeps ~20% less in memory this way.
fn drop_response_side(doc: &mut Value) {
    const DROPPABLE: [&str; 5] = ["/components/responses", "/components/headers", "/components/examples", "/webhooks", "/x-webhooks"];
    let is_response_part = |p: &str| p.starts_with("/paths/") && p.split('/').nth(4) == Some("responses");
    // Refs from the parts that stay (everything but the droppable parts themselves).
    let mut needed_response_paths = false;
    let mut needed: Vec<&str> = Vec::new();
    let snapshot: &Value = doc;
    super::load::walk_objects(snapshot, "", &|k| super::load::DATA_KEYS.contains(&k), &mut |at, map| {
        if DROPPABLE.iter().any(|d| at.starts_with(d)) || is_response_part(at) {
            return;
        }
        if let Some(target) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            let target = percent_encoding::percent_decode_str(target).decode_utf8_lossy();
            if is_response_part(&target) {
                needed_response_paths = true;
            }
            for d in DROPPABLE {
                if target.starts_with(d) && !needed.contains(&d) {
                    needed.push(d);
                }
            }
        }
    });
    for d in DROPPABLE.iter().filter(|d| !needed.contains(d)) {
        let (parent, key) = d.rsplit_once('/').unwrap_or(("", d));
        if let Some(Value::Object(m)) = doc.pointer_mut(parent) {
            m.remove(key);
        }
    }
    if !needed_response_paths {
        if let Some(Value::Object(paths)) = doc.get_mut("paths") {
            for item in paths.values_mut() {
                if let Value::Object(item) = item {
                    for m in METHODS {
                        if let Some(Value::Object(op)) = item.get_mut(m) {
                            op.remove("responses");
                        }
                    }
                }
            }
        }
    }
}

/// Drop human documentation (`description` strings) from a view: nothing at run time reads it,
/// and in large specs it is a good share of the memory (GitHub's spec carries ~3 MB of it).
/// Data (examples, defaults, enums) is left alone, except that the request view also drops
/// maps of Example Objects (`examples: {name: {...}}`): only responses serve examples, from the
/// response view.
fn strip_descriptions(v: &mut Value, drop_example_maps: bool, depth: usize) {
    if depth > 256 {
        return;
    }
    match v {
        Value::Object(map) => {
            if map.get("description").is_some_and(Value::is_string) {
                map.remove("description");
            }
            if drop_example_maps && map.get("examples").is_some_and(Value::is_object) {
                map.remove("examples");
            }
            for (k, child) in map.iter_mut() {
                if k == "examples" || super::load::DATA_KEYS.contains(&k.as_str()) {
                    continue;
                }
                if child.is_object() || child.is_array() {
                    strip_descriptions(child, drop_example_maps, depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| strip_descriptions(c, drop_example_maps, depth + 1)),
        _ => {}
    }
}

/// Pointers to every schema position reachable from the document's structure.
fn schema_roots(doc: &Value) -> Vec<String> {
    let mut roots = Vec::new();
    if let Some(components) = doc.get("components") {
        if let Some(schemas) = components.get("schemas").and_then(Value::as_object) {
            for name in schemas.keys() {
                roots.push(format!("/components/schemas/{}", esc(name)));
            }
        }
        for (kind, f) in [
            ("parameters", parameter_schemas as fn(&Value, &Value, &str, &mut Vec<String>)),
            ("headers", parameter_schemas),
            ("requestBodies", content_schemas),
            ("responses", response_schemas),
        ] {
            if let Some(map) = components.get(kind).and_then(Value::as_object) {
                for (name, v) in map {
                    f(doc, v, &format!("/components/{kind}/{}", esc(name)), &mut roots);
                }
            }
        }
    }
    for section in ["paths", "webhooks", "x-webhooks"] {
        if let Some(items) = doc.get(section).and_then(Value::as_object) {
            for (path, item) in items {
                path_item_schemas(doc, item, &format!("/{section}/{}", esc(path)), &mut roots);
            }
        }
    }
    roots
}

fn esc(token: &str) -> String {
    super::error::escape_token(token)
}

fn path_item_schemas(doc: &Value, item: &Value, at: &str, roots: &mut Vec<String>) {
    let Ok((item, at)) = deref(doc, item, at) else { return };
    if let Some(params) = item.get("parameters").and_then(Value::as_array) {
        for (i, p) in params.iter().enumerate() {
            parameter_schemas(doc, p, &format!("{at}/parameters/{i}"), roots);
        }
    }
    for m in METHODS {
        let Some(op) = item.get(m) else { continue };
        let op_at = format!("{at}/{m}");
        if let Some(params) = op.get("parameters").and_then(Value::as_array) {
            for (i, p) in params.iter().enumerate() {
                parameter_schemas(doc, p, &format!("{op_at}/parameters/{i}"), roots);
            }
        }
        if let Some(body) = op.get("requestBody") {
            content_schemas(doc, body, &format!("{op_at}/requestBody"), roots);
        }
        if let Some(responses) = op.get("responses").and_then(Value::as_object) {
            for (code, r) in responses {
                response_schemas(doc, r, &format!("{op_at}/responses/{}", esc(code)), roots);
            }
        }
    }
}

fn parameter_schemas(doc: &Value, p: &Value, at: &str, roots: &mut Vec<String>) {
    let Ok((p, at)) = deref(doc, p, at) else { return };
    if p.get("schema").is_some() {
        roots.push(format!("{at}/schema"));
    }
    content_schemas(doc, p, &at, roots);
}

fn content_schemas(doc: &Value, holder: &Value, at: &str, roots: &mut Vec<String>) {
    let Ok((holder, at)) = deref(doc, holder, at) else { return };
    if let Some(content) = holder.get("content").and_then(Value::as_object) {
        for (mime, media) in content {
            if media.get("schema").is_some() {
                roots.push(format!("{at}/content/{}/schema", esc(mime)));
            }
        }
    }
}

fn response_schemas(doc: &Value, r: &Value, at: &str, roots: &mut Vec<String>) {
    let Ok((r, at)) = deref(doc, r, at) else { return };
    content_schemas(doc, r, &at, roots);
    if let Some(headers) = r.get("headers").and_then(Value::as_object) {
        for (name, h) in headers {
            parameter_schemas(doc, h, &format!("{at}/headers/{}", esc(name)), roots);
        }
    }
}

/// Keywords whose value is one subschema.
const SUBSCHEMA: [&str; 10] = [
    "additionalProperties", "items", "not", "if", "then", "else", "contains", "propertyNames",
    "unevaluatedProperties", "unevaluatedItems",
];
/// Keywords whose value is an array of subschemas.
const SUBSCHEMA_ARRAYS: [&str; 4] = ["allOf", "anyOf", "oneOf", "prefixItems"];
/// Keywords whose value is a map of subschemas.
const SUBSCHEMA_MAPS: [&str; 5] = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];

/// Schemas nested deeper than this are left as they are (a hostile spec cannot overflow the stack).
const MAX_DEPTH: usize = 200;

fn convert_schema(node: &mut Value, dialect: Dialect, view: View, refs: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let Value::Object(map) = node else { return };

    if let Some(Value::String(r)) = map.get("$ref") {
        refs.push(r.clone());
        if dialect == Dialect::Oas30 {
            let nullable = map.get("nullable") == Some(&Value::Bool(true));
            let r = Value::String(r.clone());
            map.clear();
            map.insert("$ref".into(), r);
            if nullable {
                let inner = Value::Object(std::mem::take(map));
                *node = json!({"anyOf": [inner, {"type": "null"}]});
            }
            return;
        }
    }

    // Recurse first, so the parent sees converted children (readOnly markers on properties).
    for k in SUBSCHEMA {
        if let Some(v) = map.get_mut(k) {
            if v.is_object() {
                convert_schema(v, dialect, view, refs, depth + 1);
            }
        }
    }
    for k in SUBSCHEMA_ARRAYS {
        if let Some(Value::Array(items)) = map.get_mut(k) {
            for v in items {
                convert_schema(v, dialect, view, refs, depth + 1);
            }
        }
    }
    for k in SUBSCHEMA_MAPS {
        if let Some(Value::Object(m)) = map.get_mut(k) {
            for v in m.values_mut() {
                convert_schema(v, dialect, view, refs, depth + 1);
            }
        }
    }

    if dialect == Dialect::Oas30 {
        convert_30_keywords(map);
    }
    if map.contains_key("discriminator") {
        if let Some(one_of) = map.remove("oneOf") {
            map.insert("anyOf".into(), one_of);
        }
    }
    apply_view(map, view);

    if dialect == Dialect::Oas30 && map.get("nullable") == Some(&Value::Bool(true)) {
        map.remove("nullable");
        match map.get_mut("type") {
            Some(Value::String(t)) => {
                let t = t.clone();
                map.insert("type".into(), json!([t, "null"]));
                if let Some(Value::Array(e)) = map.get_mut("enum") {
                    if !e.contains(&Value::Null) {
                        e.push(Value::Null);
                    }
                }
            }
            Some(_) => {}
            None => {
                let inner = Value::Object(std::mem::take(map));
                *node = json!({"anyOf": [inner, {"type": "null"}]});
            }
        }
    }
}

fn convert_30_keywords(map: &mut Map<String, Value>) {
    for (excl, bound) in [("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")] {
        match map.get(excl) {
            Some(Value::Bool(true)) => {
                if let Some(b) = map.remove(bound) {
                    map.insert(excl.into(), b);
                } else {
                    map.remove(excl);
                }
            }
            Some(Value::Bool(false)) => {
                map.remove(excl);
            }
            _ => {}
        }
    }
    if let Some(example) = map.remove("example") {
        map.entry("examples").or_insert_with(|| Value::Array(vec![example]));
    }
}

fn apply_view(map: &mut Map<String, Value>, view: View) {
    let flag = match view {
        View::Request => "readOnly",
        View::Response => "writeOnly",
    };
    let Some(Value::Object(props)) = map.get("properties") else { return };
    let forbidden: Vec<String> = props.iter().filter(|(_, s)| s.get(flag) == Some(&Value::Bool(true))).map(|(n, _)| n.clone()).collect();
    if forbidden.is_empty() {
        return;
    }
    if let Some(Value::Array(required)) = map.get_mut("required") {
        required.retain(|r| !r.as_str().is_some_and(|r| forbidden.iter().any(|f| f == r)));
    }
    // Refuse the properties with a clause appended to `allOf`, leaving the property schemas in
    // place: other `$ref`s may point inside them, and no existing pointer moves.
    let clause = json!({
        "not": {"anyOf": forbidden.iter().map(|f| json!({"required": [f]})).collect::<Vec<_>>()},
        FORBIDDEN_MARKER: flag,
        FORBIDDEN_PROPERTIES: forbidden,
    });
    match map.get_mut("allOf") {
        Some(Value::Array(all)) => {
            if !all.iter().any(|m| m.get(FORBIDDEN_MARKER).is_some()) {
                all.push(clause);
            }
        }
        _ => {
            map.insert("allOf".into(), Value::Array(vec![clause]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(schema: Value, dialect: Dialect, view: View) -> Value {
        let doc = json!({"components": {"schemas": {"S": schema}}});
        build_view(doc, dialect, view)["components"]["schemas"]["S"].clone()
    }

    #[test]
    fn nullable_with_type_becomes_type_array_and_enum_gets_null() {
        let out = convert(json!({"type": "string", "nullable": true, "enum": ["a"]}), Dialect::Oas30, View::Response);
        assert_eq!(out, json!({"type": ["string", "null"], "enum": ["a", null]}));
    }

    #[test]
    fn nullable_without_type_becomes_any_of_null() {
        let out = convert(json!({"allOf": [{"$ref": "#/x"}], "nullable": true}), Dialect::Oas30, View::Response);
        assert_eq!(out, json!({"anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]}));
    }

    #[test]
    fn boolean_exclusive_minimum_becomes_numeric() {
        let out = convert(json!({"type": "number", "minimum": 0, "exclusiveMinimum": true}), Dialect::Oas30, View::Request);
        assert_eq!(out, json!({"type": "number", "exclusiveMinimum": 0}));
    }

    #[test]
    fn ref_siblings_are_dropped_in_30_and_kept_in_31() {
        let s = json!({"$ref": "#/components/schemas/S", "deprecated": true});
        assert_eq!(convert(s.clone(), Dialect::Oas30, View::Request), json!({"$ref": "#/components/schemas/S"}));
        assert_eq!(convert(s.clone(), Dialect::Oas31, View::Request), s);
    }

    #[test]
    fn read_only_properties_are_not_required_and_refused_in_requests_only() {
        let s = json!({"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "string", "readOnly": true}, "name": {"type": "string"}}});
        let req = convert(s.clone(), Dialect::Oas31, View::Request);
        assert_eq!(req["required"], json!(["name"]));
        assert_eq!(req["allOf"][0][FORBIDDEN_MARKER], "readOnly");
        assert_eq!(req["allOf"][0][FORBIDDEN_PROPERTIES], json!(["id"]));
        assert_eq!(req["properties"], s["properties"], "property schemas stay in place");
        let resp = convert(s.clone(), Dialect::Oas31, View::Response);
        assert_eq!(resp, s);
    }
}
