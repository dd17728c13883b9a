//! Swagger 2.0 schemas → 3.0 schemas, and 2.0 `$ref`s → their 3.0 places.
//!
//! Takes a 2.0 schema (or the whole lowered document, for references); hands on the 3.0 form:
//! `type: file` → binary string, `x-nullable` → `nullable`, a string `discriminator` →
//! `{propertyName}`.

use serde_json::{json, Value};

use crate::spec::load::DATA_KEYS;

/// Keywords whose value is one subschema, in a 2.0 schema.
const SUBSCHEMA: [&str; 3] = ["additionalProperties", "items", "not"];
/// Keywords whose value is an array of subschemas (2.0 has `allOf`; `anyOf`/`oneOf` appear in
/// documents that mix versions).
const SUBSCHEMA_ARRAYS: [&str; 4] = ["allOf", "anyOf", "oneOf", "items"];

/// A 2.0 schema lowered to a 3.0 schema (`type: file`, `x-nullable`, string discriminators);
/// references are rewritten afterwards for the whole document.
pub(super) fn schema(s: &Value) -> Value {
    let mut s = s.clone();
    lower_schema(&mut s, 0);
    s
}

fn lower_schema(s: &mut Value, depth: usize) {
    if depth > 200 {
        return;
    }
    let Value::Object(m) = s else { return };
    if m.contains_key("$ref") {
        return;
    }
    if m.get("type").and_then(Value::as_str) == Some("file") {
        m.insert("type".into(), "string".into());
        m.insert("format".into(), "binary".into());
    }
    if m.get("x-nullable") == Some(&Value::Bool(true)) {
        m.insert("nullable".into(), Value::Bool(true));
    }
    if let Some(Value::String(name)) = m.get("discriminator") {
        let name = name.clone();
        m.insert("discriminator".into(), json!({"propertyName": name}));
    }
    for k in SUBSCHEMA {
        if let Some(v) = m.get_mut(k) {
            if v.is_object() {
                lower_schema(v, depth + 1);
            }
        }
    }
    for k in SUBSCHEMA_ARRAYS {
        if let Some(Value::Array(items)) = m.get_mut(k) {
            items.iter_mut().for_each(|v| lower_schema(v, depth + 1));
        }
    }
    if let Some(Value::Object(props)) = m.get_mut("properties") {
        props.values_mut().for_each(|v| lower_schema(v, depth + 1));
    }
}

/// Rewrite every local reference into a 2.0 section to its 3.0 place. Data (examples, defaults,
/// enums) is left alone: a `$ref` key there is literal.
pub(super) fn rewrite_refs(v: &mut Value, names: bool, depth: usize) {
    if depth > 256 {
        return;
    }
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                for (from, to) in [
                    ("#/definitions/", "#/components/schemas/"),
                    ("#/parameters/", "#/components/parameters/"),
                    ("#/responses/", "#/components/responses/"),
                ] {
                    if let Some(rest) = r.strip_prefix(from) {
                        *r = format!("{to}{rest}");
                        break;
                    }
                }
            }
            for (k, child) in m.iter_mut() {
                if !names && (DATA_KEYS.contains(&k.as_str()) || k == "examples") {
                    continue;
                }
                if child.is_object() || child.is_array() {
                    rewrite_refs(child, crate::spec::load::holds_names(names, k), depth + 1);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|c| rewrite_refs(c, false, depth + 1)),
        _ => {}
    }
}
