//! How the strings of a form body (`application/x-www-form-urlencoded`, `multipart/form-data`)
//! are typed from its schema, compiled once at load: a form carries only text, and
//! `amount=5&metadata[live]=true&expand[]=x` must become `{"amount": 5, "metadata": {"live":
//! true}, "expand": ["x"]}` before it is validated or stored.
//!
//! Takes the request view and a schema pointer; hands on a [`FormPlan`] tree that request
//! validation walks along the sent value, so no request derefs, searches compositions or reads
//! the schema document.
//!
//! # Implementation rationale
//! The plan follows `$ref`s, `allOf`/`anyOf`/`oneOf` members (the first that declares a
//! property or `items` wins) and `additionalProperties`, down to [`MAX_DEPTH`] levels of
//! nesting (deeper brackets than any vendor's forms use), and stops at a `$ref` already being
//! compiled above it (recursive schemas such as Stripe's are finite plans).

use std::collections::HashMap;

use serde_json::Value;

use super::load::deref;
use super::model::schema_type;

/// Deepest nesting a plan describes; deeper form values stay strings.
pub const MAX_DEPTH: usize = 8;

/// What to do with one form value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum FormPlan {
    /// Leave it as sent (no schema, or one standin cannot type).
    #[default]
    Keep,
    /// A string typed as `integer`, `number`, `boolean` or `null` (others stay strings).
    Scalar(String),
    /// A list (one value sent for it becomes a list of one), each item by the plan.
    Array(Box<FormPlan>),
    /// An object: its declared properties, and the plan of any other key.
    Object { properties: HashMap<String, FormPlan>, other: Box<FormPlan> },
}

impl FormPlan {
    /// The plan of the schema at `pointer` in `doc` (the request view).
    pub fn compile(doc: &Value, pointer: &str) -> FormPlan {
        let Some(schema) = doc.pointer(pointer) else { return FormPlan::Keep };
        compile(doc, schema, 0, &mut Vec::new())
    }

    /// Type a value built from form pairs (strings, lists and objects of them).
    pub fn apply(&self, value: Value) -> Value {
        match (self, value) {
            (FormPlan::Keep, v) => v,
            (FormPlan::Scalar(ty), Value::String(s)) => scalar(&s, ty),
            (FormPlan::Array(item), Value::String(s)) => Value::Array(vec![item.apply(Value::String(s))]),
            (FormPlan::Array(item), Value::Array(items)) => Value::Array(items.into_iter().map(|v| item.apply(v)).collect()),
            (FormPlan::Object { properties, other }, Value::Object(map)) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = properties.get(&k).unwrap_or(other).apply(v);
                        (k, v)
                    })
                    .collect(),
            ),
            (_, v) => v,
        }
    }
}

/// A form string as the JSON scalar of type `ty`; a string that does not parse stays a string
/// (the validator then names it).
pub fn scalar(s: &str, ty: &str) -> Value {
    match ty {
        "integer" => s
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| s.parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| Value::String(s.to_string())),
        "number" => s
            .parse::<i64>()
            .map(Value::from)
            .ok()
            .or_else(|| s.parse::<f64>().ok().and_then(serde_json::Number::from_f64).map(Value::Number))
            .unwrap_or_else(|| Value::String(s.to_string())),
        "boolean" => match s {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(s.to_string()),
        },
        "null" if s.is_empty() || s == "null" => Value::Null,
        _ => Value::String(s.to_string()),
    }
}

/// Compile one schema; `refs` holds the `$ref`s being compiled above (a cycle stops there).
fn compile(doc: &Value, schema: &Value, depth: usize, refs: &mut Vec<String>) -> FormPlan {
    if depth > MAX_DEPTH {
        return FormPlan::Keep;
    }
    let reference = schema.get("$ref").and_then(Value::as_str).map(str::to_string);
    if let Some(r) = &reference {
        if refs.contains(r) {
            return FormPlan::Keep;
        }
        refs.push(r.clone());
    }
    let plan = match deref(doc, schema, "") {
        Ok((resolved, _)) => compile_resolved(doc, resolved, depth, refs),
        Err(_) => FormPlan::Keep,
    };
    if reference.is_some() {
        refs.pop();
    }
    plan
}

fn compile_resolved(doc: &Value, schema: &Value, depth: usize, refs: &mut Vec<String>) -> FormPlan {
    match schema_type(doc, schema).as_deref() {
        Some("array") => match find(doc, schema, &|s| s.get("items"), 0) {
            Some(items) => FormPlan::Array(Box::new(compile(doc, items, depth + 1, refs))),
            None => FormPlan::Array(Box::default()),
        },
        Some("object") => {
            let mut properties = HashMap::new();
            collect_properties(doc, schema, depth, refs, &mut properties, 0);
            let other = match find(doc, schema, &|s| s.get("additionalProperties").filter(|a| a.is_object()), 0) {
                Some(a) => compile(doc, a, depth + 1, refs),
                None => FormPlan::Keep,
            };
            FormPlan::Object { properties, other: Box::new(other) }
        }
        Some(t) => FormPlan::Scalar(t.to_string()),
        None => FormPlan::Keep,
    }
}

/// The declared properties of an object schema and of its composition members (the first
/// declaration of a name wins), each compiled.
fn collect_properties(
    doc: &Value,
    schema: &Value,
    depth: usize,
    refs: &mut Vec<String>,
    out: &mut HashMap<String, FormPlan>,
    nesting: usize,
) {
    if nesting > 16 {
        return;
    }
    let Ok((schema, _)) = deref(doc, schema, "") else { return };
    if let Some(Value::Object(props)) = schema.get("properties") {
        for (name, p) in props {
            if !out.contains_key(name) {
                let plan = compile(doc, p, depth + 1, refs);
                out.insert(name.clone(), plan);
            }
        }
    }
    for k in ["allOf", "anyOf", "oneOf"] {
        for member in schema.get(k).and_then(Value::as_array).into_iter().flatten() {
            collect_properties(doc, member, depth, refs, out, nesting + 1);
        }
    }
}

/// The first of `schema` and its composition members for which `get` finds something.
fn find<'d>(doc: &'d Value, schema: &'d Value, get: &dyn Fn(&'d Value) -> Option<&'d Value>, nesting: usize) -> Option<&'d Value> {
    if nesting > 16 {
        return None;
    }
    let schema = deref(doc, schema, "").ok()?.0;
    if let Some(found) = get(schema) {
        return Some(found);
    }
    ["allOf", "anyOf", "oneOf"].iter().filter_map(|k| schema.get(*k)?.as_array()).flatten().find_map(|m| find(doc, m, get, nesting + 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_values_are_typed_from_the_schema_through_refs_and_compositions() {
        let doc = json!({
            "s": {"type": "object", "properties": {
                "amount": {"type": "integer"}, "live": {"type": "boolean"},
                "tags": {"type": "array", "items": {"type": "string"}},
                "meta": {"$ref": "#/m"}
            }, "allOf": [{"properties": {"rate": {"type": "number"}}}]},
            "m": {"type": "object", "additionalProperties": {"type": "integer"}}
        });
        let plan = FormPlan::compile(&doc, "/s");
        let v = plan.apply(json!({"amount": "5", "live": "true", "tags": "one", "other": "x", "rate": "0.5", "meta": {"n": "3"}}));
        assert_eq!(v, json!({"amount": 5, "live": true, "tags": ["one"], "other": "x", "rate": 0.5, "meta": {"n": 3}}));
    }

    #[test]
    fn a_recursive_schema_compiles_to_a_finite_plan() {
        let doc = json!({"node": {"type": "object", "properties": {"n": {"type": "integer"}, "child": {"$ref": "#/node"}}}});
        let plan = FormPlan::compile(&doc, "/node");
        let v = plan.apply(json!({"n": "1", "child": {"n": "2", "child": {"n": "3"}}}));
        assert_eq!(v["n"], 1);
        assert_eq!(v["child"]["n"], 2);
        assert_eq!(v["child"]["child"], json!({"n": "3"}), "the cycle stops at the ref already being compiled");
    }
}
