//! Schema → [`Plan`]: run once per response schema, on first use.
//!
//! Takes the response view and a pointer (or an inline schema) into it. Follows `$ref`s
//! (memoized by target, so shared and recursive schemas compile once), merges `allOf`, sorts
//! out `oneOf`/`anyOf` branches, reads bounds, formats and patterns, and works out each
//! property's name hint. Hands on a [`Plan`] that needs the document no more.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::hints::Hint;
use super::plan::{ArrayPlan, Kind, Node, NodeId, NumPlan, ObjectPlan, Plan, Prop, StrPlan};
use super::{GENERATED_FORMATS, MAX_MERGE_DEPTH, MAX_PLAN_NODES};
use crate::spec::load::resolve_pointer;

/// One schema's keywords, borrowed from the document: a document object, or several merged
/// (`allOf` members, `oneOf` siblings and a branch). `properties` and `required` are unioned.
#[derive(Clone, Default)]
struct Keywords<'a> {
    other: Vec<(&'a str, &'a Value)>,
    properties: Vec<(&'a str, &'a Value)>,
    required: Vec<&'a str>,
}

impl<'a> Keywords<'a> {
    fn of(map: &'a Map<String, Value>) -> Self {
        let mut k = Keywords::default();
        k.add(map, true);
        k
    }

    /// Add a schema object's keywords; for keywords other than `properties`/`required`, the
    /// first occurrence wins.
    fn add(&mut self, map: &'a Map<String, Value>, take_all: bool) {
        for (key, v) in map {
            match key.as_str() {
                "properties" => {
                    if let Value::Object(m) = v {
                        for (pk, pv) in m {
                            if !self.properties.iter().any(|(n, _)| *n == pk.as_str()) {
                                self.properties.push((pk.as_str(), pv));
                            }
                        }
                    }
                }
                "required" => {
                    if let Value::Array(r) = v {
                        for name in r.iter().filter_map(Value::as_str) {
                            if !self.required.contains(&name) {
                                self.required.push(name);
                            }
                        }
                    }
                }
                k => {
                    if take_all || !self.other.iter().any(|(ok, _)| *ok == k) {
                        self.other.push((k, v));
                    }
                }
            }
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.other.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    fn without(&self, key: &str) -> Self {
        Keywords { other: self.other.iter().filter(|(k, _)| *k != key).cloned().collect(), ..self.clone() }
    }

    fn is_object_like(&self) -> bool {
        !self.properties.is_empty() || self.get("additionalProperties").is_some()
    }
}

struct Compiler<'a> {
    doc: &'a Value,
    /// Regex generators of the `pattern`s met so far, by pattern text (`None`: not generatable).
    patterns: HashMap<&'a str, Option<Arc<rand_regex::Regex>>>,
    nodes: Vec<Node>,
    /// Document schema (by address) → its node, so shared and recursive schemas compile once.
    memo: HashMap<usize, NodeId>,
}

impl Plan {
    /// Compile the schema at `pointer` of `doc`.
    pub fn compile(doc: &Value, pointer: &str) -> Plan {
        match resolve_pointer(doc, pointer) {
            Some(schema) => Self::compile_schema(doc, schema),
            None => Plan { nodes: vec![Node { kind: Kind::Null, example: None }], root: 0, hint: Hint::NONE },
        }
    }

    /// Compile an inline schema that lives in `doc`.
    pub fn compile_schema(doc: &Value, schema: &Value) -> Plan {
        let mut c = Compiler { doc, patterns: HashMap::new(), nodes: Vec::new(), memo: HashMap::new() };
        let root = c.value(schema, 0);
        Plan { nodes: c.nodes, root, hint: Hint::NONE }
    }
}

impl<'a> Compiler<'a> {
    fn push(&mut self, kind: Kind) -> NodeId {
        self.nodes.push(Node { kind, example: None });
        self.nodes.len() - 1
    }

    /// The generator for `pattern`, compiled the first time this plan meets it.
    fn pattern(&mut self, pattern: &'a str) -> Option<Arc<rand_regex::Regex>> {
        self.patterns.entry(pattern).or_insert_with(|| super::pattern::compile(pattern).map(Arc::new)).clone()
    }

    fn deref(&self, mut v: &'a Value) -> Option<&'a Value> {
        for _ in 0..128 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => v = resolve_pointer(self.doc, r.strip_prefix('#')?)?,
                None => return Some(v),
            }
        }
        None
    }

    /// Compile a schema value (following `$ref`s), memoized by the target's address.
    fn value(&mut self, v: &'a Value, depth: usize) -> NodeId {
        let Some(target) = self.deref(v) else { return self.push(Kind::Null) };
        let key = target as *const Value as usize;
        if let Some(&id) = self.memo.get(&key) {
            return id;
        }
        if self.nodes.len() >= MAX_PLAN_NODES {
            return self.push(Kind::Null);
        }
        let map = match target {
            Value::Bool(true) => return self.push(Kind::Any),
            Value::Object(m) => m,
            _ => return self.push(Kind::Null),
        };
        // Reserve the id first: recursive references to this schema resolve to it.
        let id = self.push(Kind::Null);
        self.memo.insert(key, id);
        let node = self.build(Keywords::of(map), depth);
        self.nodes[id] = node;
        id
    }

    /// Compile merged keywords (not memoized: they are not a document node).
    fn merged(&mut self, k: Keywords<'a>, depth: usize) -> NodeId {
        if self.nodes.len() >= MAX_PLAN_NODES {
            return self.push(Kind::Null);
        }
        let id = self.push(Kind::Null);
        let node = self.build(k, depth);
        self.nodes[id] = node;
        id
    }

    fn build(&mut self, k: Keywords<'a>, depth: usize) -> Node {
        let example = scalar_example(&k);
        if let Some(c) = k.get("const") {
            return Node { kind: Kind::Const(c.clone()), example: None };
        }
        if let Some(Value::Array(options)) = k.get("enum") {
            let non_null: Vec<Value> = options.iter().filter(|v| !v.is_null()).cloned().collect();
            let options = if non_null.is_empty() { vec![options.first().cloned().unwrap_or(Value::Null)] } else { non_null };
            return Node { kind: Kind::Enum(options), example: None };
        }
        if let Some(Value::Array(members)) = k.get("allOf") {
            if depth < MAX_MERGE_DEPTH {
                let merged = self.merge(k.without("allOf"), members, 0);
                return self.build(merged, depth + 1);
            }
        }
        for key in ["oneOf", "anyOf"] {
            let Some(Value::Array(branches)) = k.get(key) else { continue };
            let siblings = k.without(key);
            let non_null: Vec<&'a Value> = branches.iter().filter(|b| !self.is_null_schema(b)).collect();
            if non_null.is_empty() {
                return Node { kind: Kind::Null, example: None };
            }
            let distinct = if key == "oneOf" { self.distinct_branch(&non_null) } else { None };
            let shallow: Vec<bool> = non_null.iter().map(|b| b.get("$ref").is_none()).collect();
            // Keywords next to oneOf (properties, type, …) apply to every branch: merge them in.
            let has_siblings = siblings.is_object_like()
                || siblings.other.iter().any(|(k, _)| {
                    matches!(*k, "type" | "items" | "minimum" | "maximum" | "minLength" | "maxLength" | "pattern" | "format")
                });
            let mut options = Vec::with_capacity(non_null.len());
            for b in &non_null {
                let id = if has_siblings && depth < MAX_MERGE_DEPTH {
                    let merged = self.merge(siblings.clone(), std::slice::from_ref(*b), 0);
                    self.merged(merged, depth + 1)
                } else {
                    self.value(b, depth + 1)
                };
                options.push(id);
            }
            return Node { kind: Kind::Choice { options, distinct, shallow }, example };
        }
        let kind = self.typed(&k, depth);
        Node { kind, example }
    }

    fn is_null_schema(&self, b: &'a Value) -> bool {
        self.deref(b).and_then(|s| s.get("type")).is_some_and(|t| t == "null")
    }

    /// The first object branch of a `oneOf` whose `required` set contains no other branch's
    /// `required` set, so an object with exactly those properties matches only that branch.
    fn distinct_branch(&self, branches: &[&'a Value]) -> Option<usize> {
        if branches.len() < 2 {
            return None;
        }
        let mut sets = Vec::with_capacity(branches.len());
        for b in branches {
            let s = self.deref(b)?;
            if s.get("type").and_then(Value::as_str) != Some("object")
                || s.get("allOf").is_some()
                || s.get("oneOf").is_some()
                || s.get("anyOf").is_some()
            {
                return None;
            }
            let req: Vec<&str> =
                s.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            sets.push(req);
        }
        (0..branches.len()).find(|&i| (0..branches.len()).all(|j| j == i || !sets[j].iter().all(|r| sets[i].contains(r))))
    }

    /// Merge `members` into `base` (`allOf` semantics, flattening nested `allOf`s).
    fn merge(&self, mut base: Keywords<'a>, members: &'a [Value], depth: usize) -> Keywords<'a> {
        for m in members {
            let Some(Value::Object(map)) = self.deref(m) else { continue };
            base.add(map, false);
            if depth < MAX_MERGE_DEPTH {
                if let Some(Value::Array(inner)) = map.get("allOf") {
                    base = self.merge(base, inner, depth + 1);
                }
            }
        }
        base.other.retain(|(k, _)| *k != "allOf");
        base
    }

    fn typed(&mut self, k: &Keywords<'a>, depth: usize) -> Kind {
        let ty = match k.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(ts)) => {
                let first = ts.iter().filter_map(Value::as_str).find(|t| *t != "null");
                if first.is_none() && !ts.is_empty() {
                    return Kind::Null;
                }
                first
            }
            _ => None,
        };
        let ty = ty.unwrap_or_else(|| {
            if k.is_object_like() {
                "object"
            } else if k.get("items").is_some() || k.get("prefixItems").is_some() {
                "array"
            } else if k.get("minimum").is_some() || k.get("maximum").is_some() {
                "number"
            } else {
                "string"
            }
        });
        match ty {
            "object" => self.object(k, depth),
            "array" => self.array(k, depth),
            "integer" => Kind::Int(num_plan(k)),
            "number" => Kind::Num(num_plan(k)),
            "boolean" => Kind::Bool,
            "null" => Kind::Null,
            _ => Kind::Str(StrPlan {
                format: k.get("format").and_then(Value::as_str).map(str::to_string),
                pattern: k.get("pattern").and_then(Value::as_str).and_then(|p| self.pattern(p)),
                min: k.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize,
                max: k.get("maxLength").and_then(Value::as_u64).map(|m| m as usize),
            }),
        }
    }

    fn object(&mut self, k: &Keywords<'a>, depth: usize) -> Kind {
        let mut props = Vec::new();
        for (name, schema) in k.properties.clone() {
            // writeOnly properties never appear in responses.
            if self.deref(schema).is_some_and(|s| s.get("writeOnly") == Some(&Value::Bool(true))) {
                continue;
            }
            let node = self.value(schema, depth + 1);
            props.push(Prop { name: name.to_string(), node, required: k.required.contains(&name), hint: Hint::from_name(name) });
        }
        let additional_value = k.get("additionalProperties");
        let additional_false = additional_value == Some(&Value::Bool(false));
        let additional = additional_value.filter(|a| a.is_object()).map(|a| self.value(a, depth + 1));
        let bare_required = k
            .required
            .iter()
            .filter(|r| !props.iter().any(|p| p.name == **r) && !k.properties.iter().any(|(n, _)| n == *r))
            .map(|r| (r.to_string(), Hint::from_name(r)))
            .collect();
        Kind::Object(ObjectPlan {
            props,
            bare_required,
            additional,
            additional_false,
            min_properties: k.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize,
        })
    }

    fn array(&mut self, k: &Keywords<'a>, depth: usize) -> Kind {
        let any = self.push(Kind::Any);
        let items_schema = k.get("items");
        let items = match items_schema {
            Some(i) if i.is_object() || i.is_boolean() => self.value(i, depth + 1),
            _ => any,
        };
        let prefix = k
            .get("prefixItems")
            .and_then(Value::as_array)
            .map(|p| p.iter().map(|s| self.value(s, depth + 1)).collect())
            .unwrap_or_default();
        let enum_len = items_schema.and_then(|i| self.deref(i)).and_then(|s| s.get("enum")).and_then(Value::as_array).map(Vec::len);
        Kind::Array(ArrayPlan {
            items,
            prefix,
            min: k.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize,
            max: k.get("maxItems").and_then(Value::as_u64).map(|m| m as usize).unwrap_or(usize::MAX),
            unique: k.get("uniqueItems") == Some(&Value::Bool(true)),
            enum_len,
        })
    }
}

fn num_plan(k: &Keywords<'_>) -> NumPlan {
    let min = k.get("minimum").and_then(Value::as_f64);
    let max = k.get("maximum").and_then(Value::as_f64);
    let emin = k.get("exclusiveMinimum").and_then(Value::as_f64);
    let emax = k.get("exclusiveMaximum").and_then(Value::as_f64);
    let (lo, lo_ex) = match (min, emin) {
        (Some(a), Some(b)) if b >= a => (Some(b), true),
        (Some(a), _) => (Some(a), false),
        (None, Some(b)) => (Some(b), true),
        (None, None) => (None, false),
    };
    let (hi, hi_ex) = match (max, emax) {
        (Some(a), Some(b)) if b <= a => (Some(b), true),
        (Some(a), _) => (Some(a), false),
        (None, Some(b)) => (Some(b), true),
        (None, None) => (None, false),
    };
    NumPlan { lo, hi, lo_ex, hi_ex, multiple_of: k.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0) }
}

/// A scalar example or default of the right type, unless the format is one we generate
/// (examples often break their format).
fn scalar_example(k: &Keywords<'_>) -> Option<Value> {
    let generated_format = k.get("format").and_then(Value::as_str).is_some_and(|f| GENERATED_FORMATS.contains(&f));
    let ty = k.get("type");
    if !generated_format {
        if let Some(ex) = k.get("examples").and_then(Value::as_array).and_then(|a| a.first()) {
            if scalar_fits(ex, ty) {
                return Some(ex.clone());
            }
        }
    }
    k.get("default").filter(|d| !generated_format && scalar_fits(d, ty)).cloned()
}
/// Whether a scalar example/default has a JSON type the schema's `type` allows.
fn scalar_fits(v: &Value, ty: Option<&Value>) -> bool {
    if v.is_object() || v.is_array() {
        return false;
    }
    let fits = |t: &str| match t {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    };
    match ty {
        Some(Value::String(t)) => fits(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(fits),
        _ => !v.is_null(),
    }
}
