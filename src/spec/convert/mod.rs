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
//!   `{"not": {"anyOf": [{"required": ["id"]}], "x-standin-forbidden": "readOnly", …}}`, so no
//!   pointer into the property schemas moves and errors can say why.
//!
//! # Implementation rationale
//! `openapiv3` was rejected as the loader: it cannot read 3.1 (type arrays, numeric exclusives,
//! boolean schemas, webhook-only documents) and silently drops `const`, `examples` and `$defs`
//! (measured in shared/research/crates.md §1). Keeping `serde_json::Value` and converting once
//! gives one 2020-12 code path for both versions.

use std::collections::HashSet;

use serde_json::{json, Map, Number, Value};

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

/// Build both views of `doc`: `(request, response)`, every schema position converted.
///
/// # Implementation rationale
/// Descriptions are stripped from `doc` in place first; the request view is then a *selective*
/// copy ([`request_side`]) that never holds the response side, and the response view is `doc`
/// itself, converted in place. Cloning the whole document and dropping parts afterwards (the
/// earlier way) left GitHub's spec at 146 MiB resident: the freed half of the clone stayed in the
/// allocator's pages.
pub fn build_views(mut doc: Value, dialect: Dialect) -> (Value, Value) {
    strip_descriptions(&mut doc, false, 0);
    let request = request_side(&doc);
    // The two conversions share nothing: the request view's runs on a second thread.
    std::thread::scope(|s| {
        let request = s.spawn(move || convert_view(request, dialect, View::Request));
        let response = convert_view(doc, dialect, View::Response);
        let request = request.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (request, response)
    })
}

/// Convert every schema position of a view in place.
fn convert_view(mut out: Value, dialect: Dialect, view: View) -> Value {
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

/// The request view's document: only what request validators can reach. Every path item is
/// kept without its operations' `responses`, and besides the small top-level members only the
/// components (and bundled files, webhooks, operation responses) that a kept `$ref` reaches,
/// transitively, each at its own pointer, so every pointer into the view means what it means in
/// the document. Media-type `examples` maps are left out too (only responses serve examples).
///
/// GitHub's requests reach 131 of its 969 component schemas: the request view is a fifth of
/// the response view. A document that may resolve references some other way (`$id`, `$anchor`,
/// `$dynamicRef`, or a `$ref` that is not a local pointer) is copied whole instead.
pub fn request_side(doc: &Value) -> Value {
    let Value::Object(root) = doc else { return doc.clone() };
    let mut other_resolution = false;
    super::load::walk_objects(doc, "", &|k| super::load::DATA_KEYS.contains(&k) || k == "examples", &mut |_, map| {
        other_resolution |= ["$id", "$anchor", "$dynamicAnchor", "$dynamicRef"].iter().any(|k| map.get(*k).is_some_and(Value::is_string))
            || map.get("$ref").and_then(Value::as_str).is_some_and(|r| !r.starts_with("#/") && r != "#");
    });
    if other_resolution {
        return copy_request_side(doc, false, 0);
    }
    // Members reached only through `$ref`s; everything else at the top is small and kept.
    const BY_REFERENCE: [&str; 5] = ["components", "webhooks", "x-webhooks", super::load::BUNDLE_KEY, "paths"];
    let mut out = Map::with_capacity(root.len());
    for (key, value) in root.iter().filter(|(k, _)| !BY_REFERENCE.contains(&k.as_str())) {
        out.insert(key.clone(), copy_request_side(value, false, 1));
    }
    if let Some(Value::Object(paths)) = root.get("paths") {
        let kept = paths.iter().map(|(path, item)| {
            let item = match item {
                Value::Object(item) => Value::Object(
                    item.iter()
                        .map(|(k, v)| match v {
                            Value::Object(op) if METHODS.contains(&k.as_str()) => (
                                k.clone(),
                                Value::Object(
                                    op.iter()
                                        .filter(|(k, _)| *k != "responses")
                                        .map(|(k, v)| (k.clone(), copy_request_side(v, false, 3)))
                                        .collect(),
                                ),
                            ),
                            _ => (k.clone(), copy_request_side(v, false, 2)),
                        })
                        .collect(),
                ),
                other => copy_request_side(other, false, 1),
            };
            (path.clone(), item)
        });
        out.insert("paths".into(), Value::Object(kept.collect()));
    }
    let mut out = Value::Object(out);
    // Follow references from what is kept, copying each unit they reach once.
    let mut work = Vec::new();
    collect_ref_targets(&out, &mut work);
    let mut copied: HashSet<Vec<String>> = HashSet::new();
    while let Some(target) = work.pop() {
        let tokens: Vec<String> = target.split('/').skip(1).map(super::error::unescape_token).collect();
        let unit_len = match tokens.first().map(String::as_str) {
            Some("components") => 3,
            Some("paths") if tokens.get(3).map(String::as_str) == Some("responses") => 4,
            Some(first) if BY_REFERENCE.contains(&first) && first != "paths" => 2,
            _ => continue, // inside something kept whole
        };
        if tokens.len() < unit_len {
            continue;
        }
        let unit = tokens[..unit_len].to_vec();
        if copied.contains(&unit) {
            continue;
        }
        let Some(source) = unit.iter().try_fold(doc, |v, t| v.as_object()?.get(t)) else { continue };
        let copy = copy_request_side(source, false, unit_len);
        collect_ref_targets(&copy, &mut work);
        let mut slot = &mut out;
        for t in &unit {
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            let Value::Object(m) = slot else { unreachable!("made an object above") };
            slot = m.entry(t.clone()).or_insert(Value::Null);
        }
        *slot = copy;
        copied.insert(unit);
    }
    out
}

/// The decoded pointers of every local `$ref` in `v`.
fn collect_ref_targets(v: &Value, out: &mut Vec<String>) {
    super::load::walk_objects(v, "", &|k| super::load::DATA_KEYS.contains(&k), &mut |_, map| {
        if let Some(fragment) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
            out.push(percent_encoding::percent_decode_str(fragment).decode_utf8_lossy().into_owned());
        }
    });
}

/// Copy `v` without `examples` maps (media-type and parameter examples). `names` says `v` is a
/// map whose keys are names (see [`super::load::NAME_MAPS`]), where `examples` is a property.
/// Values under data keys (`example`, `default`, `const`, `enum`) are copied whole.
fn copy_request_side(v: &Value, names: bool, depth: usize) -> Value {
    match v {
        Value::Object(map) if depth <= 256 => Value::Object(
            map.iter()
                .filter(|(k, v)| names || !(*k == "examples" && v.is_object()))
                .map(|(k, child)| {
                    let copy = if !names && super::load::DATA_KEYS.contains(&k.as_str()) {
                        child.clone()
                    } else {
                        copy_request_side(child, super::load::holds_names(names, k), depth + 1)
                    };
                    (k.clone(), copy)
                })
                .collect(),
        ),
        Value::Array(items) if depth <= 256 => Value::Array(items.iter().map(|c| copy_request_side(c, false, depth + 1)).collect()),
        other => other.clone(),
    }
}

/// Drop human documentation (`description` strings) from a view: nothing at run time reads it,
/// and in large specs it is a good share of the memory (GitHub's spec carries ~3 MB of it).
/// Data (examples, defaults, enums) is left alone.
fn strip_descriptions(v: &mut Value, names: bool, depth: usize) {
    if depth > 256 {
        return;
    }
    match v {
        Value::Object(map) => {
            if !names && map.get("description").is_some_and(Value::is_string) {
                map.remove("description");
            }
            for (k, child) in map.iter_mut() {
                if !names && (k == "examples" || super::load::DATA_KEYS.contains(&k.as_str())) {
                    continue;
                }
                if child.is_object() || child.is_array() {
                    strip_descriptions(child, super::load::holds_names(names, k), depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| strip_descriptions(c, false, depth + 1)),
        _ => {}
    }
}

/// Pointers to every schema position reachable from the document's structure.
pub(crate) fn schema_roots(doc: &Value) -> Vec<String> {
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
    "additionalProperties",
    "items",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
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
    if view == View::Request {
        bound_by_format(map);
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

/// The range of a numeric `format` (OpenAPI's format registry): `int32`/`int64` integers, and
/// `float`, whose finite values stop at `f32::MAX`. `double` needs none: JSON carries no
/// NaN or infinity, and a literal past `f64::MAX` (`1e400`) does not parse.
fn format_range(format: &str) -> Option<(Number, Number)> {
    match format {
        "int32" => Some((i32::MIN.into(), i32::MAX.into())),
        "int64" => Some((i64::MIN.into(), i64::MAX.into())),
        "float" => Some((Number::from_f64(-f64::from(f32::MAX))?, Number::from_f64(f64::from(f32::MAX))?)),
        _ => None,
    }
}

/// Add the range of the schema's numeric format as `minimum`/`maximum` where the schema has no
/// narrower bound, so `format: int64` refuses `9223372036854775808` (the validator ignores
/// formats it does not know). Request view only: generated answers stay within small values
/// anyway, and the response view stays as the spec wrote it.
fn bound_by_format(map: &mut Map<String, Value>) {
    let Some((lo, hi)) = map.get("format").and_then(Value::as_str).and_then(format_range) else { return };
    let numeric = |t: &Value| matches!(t.as_str(), Some("integer" | "number"));
    let typed = match map.get("type") {
        Some(Value::Array(types)) => types.iter().any(numeric),
        Some(t) => numeric(t),
        None => false,
    };
    if !typed {
        return;
    }
    if map.get("minimum").and_then(Value::as_number).is_none_or(|m| less(m, &lo)) {
        map.insert("minimum".into(), Value::Number(lo));
    }
    if map.get("maximum").and_then(Value::as_number).is_none_or(|m| less(&hi, m)) {
        map.insert("maximum".into(), Value::Number(hi));
    }
}

/// `a < b`, exact for integers of any JSON range (`i64::MAX` is not exact as an `f64`).
fn less(a: &Number, b: &Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x < y,
        (_, _, Some(x), Some(y)) => x < y,
        (Some(_), None, _, Some(_)) => true,  // negative or small vs. above i64::MAX
        (None, Some(_), Some(_), _) => false, // above i64::MAX vs. an i64
        _ => {
            let (x, y) = (a.as_f64().unwrap_or(f64::NAN), b.as_f64().unwrap_or(f64::NAN));
            // Compare through i128 where the float is integral, so `i64::MAX` (2^63 - 1) is
            // below the float 2^63 it rounds to.
            let exact = |n: &Number, f: f64| {
                n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)).or((f.fract() == 0.0 && f.abs() < 1e38).then_some(f as i128))
            };
            match (exact(a, x), exact(b, y)) {
                (Some(x), Some(y)) => x < y,
                _ => x < y,
            }
        }
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
    // The markers sit inside `not`: its failure carries that schema, so the 400 path names the
    // properties without looking anything up.
    let clause = json!({
        "not": {"anyOf": forbidden.iter().map(|f| json!({"required": [f]})).collect::<Vec<_>>(), FORBIDDEN_MARKER: flag, FORBIDDEN_PROPERTIES: forbidden},
    });
    match map.get_mut("allOf") {
        Some(Value::Array(all)) => {
            if !all.iter().any(|m| m.get("not").and_then(|n| n.get(FORBIDDEN_MARKER)).is_some()) {
                all.push(clause);
            }
        }
        _ => {
            map.insert("allOf".into(), Value::Array(vec![clause]));
        }
    }
}

#[cfg(test)]
mod tests;
