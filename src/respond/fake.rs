//! Generate realistic, schema-valid, deterministic data from a response schema.
//!
//! Last resort of the response sources (fixture > example > generated). The walk follows
//! `$ref`s in the response view, honours `const`, `enum`, `allOf` (merged), `oneOf`/`anyOf`
//! (first non-null branch), formats, bounds, lengths, patterns and array sizes, and uses property
//! names as hints (`email`, `firstName`, `city`, `amount`, …) via the `fake` crate.
//!
//! Determinism: the caller seeds a `ChaCha8Rng` (portable across platforms and rand versions,
//! unlike `StdRng`) from the CLI seed and a stable hash of the request, so the same seed, route
//! and request give the same body.
//!
//! Bounds: recursion stops adding optional properties past [`OPTIONAL_DEPTH`] and emits `null`
//! (or the smallest valid value) past [`MAX_DEPTH`]; every body is capped at [`NODE_BUDGET`]
//! generated values, so a hostile schema (huge `minItems`, deep recursion) cannot run away.

use std::collections::HashMap;

use fake::Fake;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Number, Value};

use crate::spec::load::resolve_pointer;

/// Below this depth optional properties are generated too; deeper, only required ones.
const OPTIONAL_DEPTH: usize = 4;
/// Deeper than this, generation returns `null` for anything but scalars.
const MAX_DEPTH: usize = 12;
/// At most this many values per generated body.
const NODE_BUDGET: usize = 20_000;
/// Arrays never grow past this, whatever `minItems` says.
const MAX_ARRAY: usize = 1_000;

/// Formats [`Generator::formatted`] produces valid values for.
const GENERATED_FORMATS: [&str; 12] = ["email", "idn-email", "uuid", "date-time", "date", "time", "uri", "url", "hostname", "ipv4", "ipv6", "byte"];

/// Regex generators for every `pattern` in a spec, compiled once at load.
#[derive(Default)]
pub struct Patterns {
    compiled: HashMap<String, Option<rand_regex::Regex>>,
}

impl std::fmt::Debug for Patterns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Patterns({})", self.compiled.len())
    }
}

impl Patterns {
    /// Collect and compile every string-valued `pattern` keyword in `doc`.
    pub fn build(doc: &Value) -> Self {
        let mut compiled = HashMap::new();
        collect_patterns(doc, &mut compiled, 0);
        Self { compiled }
    }

    fn get(&self, pattern: &str) -> Option<&rand_regex::Regex> {
        self.compiled.get(pattern).and_then(Option::as_ref)
    }
}

fn collect_patterns(v: &Value, out: &mut HashMap<String, Option<rand_regex::Regex>>, depth: usize) {
    if depth > 256 {
        return;
    }
    match v {
        Value::Object(map) => {
            if let Some(Value::String(p)) = map.get("pattern") {
                if !out.contains_key(p) {
                    out.insert(p.clone(), compile_pattern(p));
                }
            }
            for (k, child) in map {
                if matches!(k.as_str(), "example" | "examples" | "default" | "enum" | "const") {
                    continue;
                }
                collect_patterns(child, out, depth + 1);
            }
        }
        Value::Array(items) => items.iter().for_each(|c| collect_patterns(c, out, depth + 1)),
        _ => {}
    }
}

/// Compile a pattern for generation: anchors stripped (rand_regex rejects them), ASCII classes
/// (Unicode `\w` yields exotic code points), repeats bounded. `None` for unsupported syntax
/// (look-around, backreferences): those strings fall back to plain words.
fn compile_pattern(p: &str) -> Option<rand_regex::Regex> {
    let mut s = p;
    s = s.strip_prefix('^').unwrap_or(s);
    s = s.strip_prefix("\\A").unwrap_or(s);
    if s.ends_with('$') && !s.ends_with("\\$") {
        s = &s[..s.len() - 1];
    }
    s = s.strip_suffix("\\z").unwrap_or(s);
    let hir = regex_syntax::ParserBuilder::new().unicode(false).utf8(true).build().parse(s).ok()?;
    // A hostile pattern (`(a{1000}){1000}`) would make every generated string huge: refuse to
    // generate from patterns whose strings are necessarily longer than this.
    const MAX_PATTERN_LEN: usize = 4096;
    let props = hir.properties();
    if props.minimum_len().is_some_and(|n| n > MAX_PATTERN_LEN) || props.maximum_len().is_some_and(|n| n > MAX_PATTERN_LEN) {
        return None;
    }
    rand_regex::Regex::with_hir(hir, 8).ok()
}

/// Stable 64-bit FNV-1a hash (not `DefaultHasher`, whose output may change between releases).
pub fn stable_hash(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Generate a value for the schema at `pointer` of `doc`.
pub fn generate(doc: &Value, patterns: &Patterns, pointer: &str, seed: u64, dynamic: bool) -> Value {
    let Some(schema) = resolve_pointer(doc, pointer) else { return Value::Null };
    let mut g = Generator { doc, patterns, rng: ChaCha8Rng::seed_from_u64(seed), dynamic, budget: NODE_BUDGET };
    g.value(schema, &Ctx { depth: 0, name: None, repeat: false, only_required: false })
}

/// Generate a value for an inline schema (used for response headers).
pub fn generate_schema(doc: &Value, patterns: &Patterns, schema: &Value, name: &str, seed: u64) -> Value {
    let mut g = Generator { doc, patterns, rng: ChaCha8Rng::seed_from_u64(seed), dynamic: false, budget: 1_000 };
    g.value(schema, &Ctx { depth: 0, name: Some(name), repeat: false, only_required: false })
}

struct Generator<'a> {
    doc: &'a Value,
    patterns: &'a Patterns,
    rng: ChaCha8Rng,
    /// `Prefer: dynamic=true`: ignore schema examples and defaults, always invent.
    dynamic: bool,
    /// Values still allowed in this body.
    budget: usize,
}

#[derive(Clone, Copy)]
struct Ctx<'n> {
    depth: usize,
    /// The property name this value is for (a hint for realistic data).
    name: Option<&'n str>,
    /// Inside the 2nd+ item of an array: examples would repeat, so invent instead.
    repeat: bool,
    /// Generate only the required properties of this object (a `oneOf` branch told apart from its
    /// siblings by its required set); not inherited by children.
    only_required: bool,
}

impl<'a> Generator<'a> {
    fn value<'s>(&mut self, schema: &'s Value, ctx: &Ctx<'_>) -> Value
    where
        'a: 's,
    {
        if self.budget == 0 || ctx.depth > MAX_DEPTH * 2 {
            return Value::Null;
        }
        self.budget -= 1;
        let schema = match self.deref(schema) {
            Some(s) => s,
            None => return Value::Null,
        };
        let map = match schema {
            Value::Bool(true) => return Value::String(self.word()),
            Value::Object(m) => m,
            _ => return Value::Null,
        };
        if let Some(c) = map.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(options)) = map.get("enum") {
            let non_null: Vec<&Value> = options.iter().filter(|v| !v.is_null()).collect();
            if non_null.is_empty() {
                return options.first().cloned().unwrap_or(Value::Null);
            }
            return non_null[self.rng.random_range(0..non_null.len())].clone();
        }
        if !self.dynamic && !ctx.repeat {
            // A scalar example or default of the right type reads better than invented data;
            // except where the format is one we generate (examples often break their format).
            let generated_format = map.get("format").and_then(Value::as_str).is_some_and(|f| GENERATED_FORMATS.contains(&f));
            if let Some(ex) = map.get("examples").and_then(Value::as_array).and_then(|a| a.first()).filter(|_| !generated_format) {
                if scalar_fits(ex, map) {
                    return ex.clone();
                }
            }
            if let Some(d) = map.get("default") {
                if scalar_fits(d, map) {
                    return d.clone();
                }
            }
        }
        if let Some(Value::Array(all)) = map.get("allOf") {
            let merged = Value::Object(self.merge_all_of(map, all, 0));
            return self.value(&merged, &Ctx { depth: ctx.depth + 1, ..*ctx });
        }
        if let Some(Value::Array(branches)) = map.get("oneOf") {
            // Exactly one branch must match: prefer an object branch whose required set no other
            // branch's required set fits in, and generate only its required properties.
            if let Some(branch) = self.distinct_branch(branches) {
                let only = Ctx { depth: ctx.depth + 1, only_required: true, ..*ctx };
                if map.len() > 1 {
                    let mut base = map.clone();
                    base.remove("oneOf");
                    let merged = Value::Object(self.merge_all_of(&base, std::slice::from_ref(branch), 0));
                    return self.value(&merged, &only);
                }
                return self.value(branch, &only);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = map.get(key) {
                if let Some(branch) = self.pick_branch(branches, ctx.depth) {
                    // Sibling keywords (properties next to oneOf) apply too: merge them in.
                    if map.len() > 1 {
                        let mut base = map.clone();
                        base.remove(key);
                        let merged = Value::Object(self.merge_all_of(&base, std::slice::from_ref(branch), 0));
                        return self.value(&merged, &Ctx { depth: ctx.depth + 1, ..*ctx });
                    }
                    return self.value(branch, &Ctx { depth: ctx.depth + 1, ..*ctx });
                }
                return Value::Null;
            }
        }
        self.typed(map, ctx)
    }

    fn deref<'s>(&self, mut schema: &'s Value) -> Option<&'s Value>
    where
        'a: 's,
    {
        for _ in 0..32 {
            match schema.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    // A `$ref` with siblings (3.1): the siblings are merged by the caller when
                    // it matters; generation follows the reference.
                    let fragment = r.strip_prefix('#')?;
                    schema = resolve_pointer(self.doc, fragment)?;
                }
                None => return Some(schema),
            }
        }
        None
    }

    /// Choose a `oneOf`/`anyOf` branch: the first that is not `null`; deep in recursion, prefer a
    /// branch that does not recurse.
    fn pick_branch<'s>(&self, branches: &'s [Value], depth: usize) -> Option<&'s Value>
    where
        'a: 's,
    {
        let is_null = |b: &Value| self.deref(b).and_then(|s| s.get("type")).is_some_and(|t| t == "null");
        if depth >= OPTIONAL_DEPTH {
            if let Some(b) = branches.iter().find(|b| b.get("$ref").is_none() && !is_null(b)) {
                return Some(b);
            }
        }
        branches.iter().find(|b| !is_null(b)).or(branches.first())
    }

    /// The first object branch of a `oneOf` whose `required` set contains no other branch's
    /// `required` set, so an object with exactly those properties matches only that branch.
    /// `None` when the branches are not all objects with `required`, or none is distinct.
    fn distinct_branch<'s>(&self, branches: &'s [Value]) -> Option<&'s Value>
    where
        'a: 's,
    {
        if branches.len() < 2 {
            return None;
        }
        let mut sets = Vec::with_capacity(branches.len());
        for b in branches {
            let s = self.deref(b)?;
            if s.get("type").and_then(Value::as_str) != Some("object") || s.get("allOf").is_some() || s.get("oneOf").is_some() || s.get("anyOf").is_some() {
                return None;
            }
            let req: Vec<&str> = s.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            sets.push(req);
        }
        (0..branches.len())
            .find(|&i| (0..branches.len()).all(|j| j == i || !sets[j].iter().all(|r| sets[i].contains(r))))
            .map(|i| &branches[i])
    }

    /// Merge `allOf` members (and the holder's own keywords) into one object schema.
    fn merge_all_of(&self, holder: &Map<String, Value>, members: &[Value], depth: usize) -> Map<String, Value> {
        let mut out = holder.clone();
        out.remove("allOf");
        if depth > 16 {
            return out;
        }
        for m in members {
            let Some(Value::Object(m)) = self.deref(m) else { continue };
            let m = if let Some(Value::Array(inner)) = m.get("allOf") { self.merge_all_of(m, inner, depth + 1) } else { m.clone() };
            for (k, v) in m {
                match (k.as_str(), out.get_mut(&k)) {
                    ("properties", Some(Value::Object(props))) => {
                        if let Value::Object(more) = v {
                            for (pk, pv) in more {
                                props.entry(pk).or_insert(pv);
                            }
                        }
                    }
                    ("required", Some(Value::Array(req))) => {
                        if let Value::Array(more) = v {
                            for r in more {
                                if !req.contains(&r) {
                                    req.push(r);
                                }
                            }
                        }
                    }
                    (_, Some(_)) => {}
                    (_, None) => {
                        out.insert(k, v);
                    }
                }
            }
        }
        out
    }

    fn typed(&mut self, map: &Map<String, Value>, ctx: &Ctx<'_>) -> Value {
        let ty = match map.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(ts)) => {
                let first = ts.iter().filter_map(Value::as_str).find(|t| *t != "null");
                if first.is_none() && !ts.is_empty() {
                    return Value::Null;
                }
                first
            }
            _ => None,
        };
        let ty = ty.unwrap_or_else(|| {
            if map.contains_key("properties") || map.contains_key("additionalProperties") {
                "object"
            } else if map.contains_key("items") || map.contains_key("prefixItems") {
                "array"
            } else if map.contains_key("minimum") || map.contains_key("maximum") {
                "number"
            } else {
                "string"
            }
        });
        if ctx.depth > MAX_DEPTH && matches!(ty, "object" | "array") {
            return if ty == "array" { Value::Array(vec![]) } else { Value::Object(Map::new()) };
        }
        match ty {
            "object" => self.object(map, ctx),
            "array" => self.array(map, ctx),
            "integer" => self.integer(map, ctx),
            "number" => self.number(map, ctx),
            "boolean" => Value::Bool(self.rng.random_bool(0.5)),
            "null" => Value::Null,
            _ => Value::String(self.string(map, ctx)),
        }
    }

    fn object(&mut self, map: &Map<String, Value>, ctx: &Ctx<'_>) -> Value {
        let mut out = Map::new();
        let required: Vec<&str> = map.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        if let Some(Value::Object(props)) = map.get("properties") {
            for (name, schema) in props {
                // writeOnly properties never appear in responses.
                let forbidden = self.deref(schema).is_some_and(|s| s.get("writeOnly") == Some(&Value::Bool(true)));
                if forbidden {
                    continue;
                }
                let is_required = required.contains(&name.as_str());
                if !is_required && (ctx.depth >= OPTIONAL_DEPTH || ctx.only_required) {
                    continue;
                }
                let child = Ctx { depth: ctx.depth + 1, name: Some(name), repeat: ctx.repeat, only_required: false };
                let v = self.value(schema, &child);
                out.insert(name.clone(), v);
            }
        }
        // Required properties that have no schema of their own.
        for r in &required {
            if !out.contains_key(*r) {
                let extra = map.get("additionalProperties").unwrap_or(&Value::Bool(true));
                let child = Ctx { depth: ctx.depth + 1, name: Some(r), repeat: ctx.repeat, only_required: false };
                let v = if *extra == Value::Bool(false) { Value::Null } else { self.value(extra, &child) };
                out.insert((*r).to_string(), v);
            }
        }
        let min = map.get("minProperties").and_then(Value::as_u64).unwrap_or(0) as usize;
        let additional = map.get("additionalProperties").cloned();
        let want_extra = match &additional {
            Some(Value::Object(_)) if out.is_empty() && ctx.depth < OPTIONAL_DEPTH => 2,
            _ => 0,
        }
        .max(min.saturating_sub(out.len()))
        .min(50);
        if want_extra > 0 && additional != Some(Value::Bool(false)) {
            let schema = additional.unwrap_or(Value::Bool(true));
            let schema = &schema;
            for i in 0..want_extra {
                let key = format!("{}{}", self.word(), if i > 0 { i.to_string() } else { String::new() });
                let child = Ctx { depth: ctx.depth + 1, name: None, repeat: ctx.repeat, only_required: false };
                let v = self.value(schema, &child);
                out.insert(key, v);
            }
        }
        Value::Object(out)
    }

    fn array(&mut self, map: &Map<String, Value>, ctx: &Ctx<'_>) -> Value {
        let min = map.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = map.get("maxItems").and_then(Value::as_u64).map(|m| m as usize).unwrap_or(usize::MAX);
        let prefix: &[Value] = map.get("prefixItems").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
        let typical = if ctx.depth >= OPTIONAL_DEPTH { 1 } else { 2 + self.rng.random_range(0..2usize) };
        let mut n = typical.max(min).min(max).min(MAX_ARRAY);
        let unique = map.get("uniqueItems") == Some(&Value::Bool(true));
        let any = Value::Bool(true);
        let items = map.get("items").unwrap_or(&any);
        if let Some(Value::Array(e)) = self.deref(items).and_then(|s| s.get("enum")) {
            if unique {
                n = n.min(e.len());
            }
        }
        let mut out: Vec<Value> = Vec::with_capacity(n);
        let mut attempts = 0;
        while out.len() < n && attempts < n * 4 + 8 && self.budget > 0 {
            attempts += 1;
            let i = out.len();
            let child = Ctx { depth: ctx.depth + 1, name: ctx.name, repeat: ctx.repeat || i > 0, only_required: false };
            let v = match prefix.get(i) {
                Some(p) => self.value(p, &child),
                None => self.value(items, &child),
            };
            if unique && out.contains(&v) {
                continue;
            }
            out.push(v);
        }
        Value::Array(out)
    }

    fn bounds(map: &Map<String, Value>) -> (Option<f64>, Option<f64>, bool, bool) {
        let min = map.get("minimum").and_then(Value::as_f64);
        let max = map.get("maximum").and_then(Value::as_f64);
        let emin = map.get("exclusiveMinimum").and_then(Value::as_f64);
        let emax = map.get("exclusiveMaximum").and_then(Value::as_f64);
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
        (lo, hi, lo_ex, hi_ex)
    }

    /// A typical range for a number, from its name.
    fn hinted_range(name: Option<&str>) -> (f64, f64) {
        let n = name.map(normalize_name).unwrap_or_default();
        if n.ends_with("id") {
            (1.0, 99_999.0)
        } else if ["amount", "price", "value", "total", "balance", "cost", "revenue", "paid", "subtotal", "tax"].iter().any(|k| n.contains(k)) {
            (100.0, 50_000.0)
        } else if ["count", "quantity", "qty", "number", "size"].iter().any(|k| n.contains(k)) {
            (1.0, 50.0)
        } else if n.contains("age") {
            (18.0, 90.0)
        } else if n.contains("percent") || n.contains("rate") {
            (0.0, 100.0)
        } else if n.contains("latitude") || n == "lat" {
            (-90.0, 90.0)
        } else if n.contains("longitude") || n == "lng" || n == "lon" {
            (-180.0, 180.0)
        } else if n.ends_with("ms") || n.contains("duration") {
            (10.0, 5_000.0)
        } else if n.ends_with("at") || n.contains("timestamp") || n.contains("time") {
            (1_700_000_000.0, 1_760_000_000.0)
        } else {
            (1.0, 1_000.0)
        }
    }

    fn integer(&mut self, map: &Map<String, Value>, ctx: &Ctx<'_>) -> Value {
        let (lo, hi, lo_ex, hi_ex) = Self::bounds(map);
        let (hint_lo, hint_hi) = Self::hinted_range(ctx.name);
        let mut lo_i = lo.map(|l| if lo_ex { l.floor() as i64 + 1 } else { l.ceil() as i64 });
        let mut hi_i = hi.map(|h| if hi_ex { h.ceil() as i64 - 1 } else { h.floor() as i64 });
        let (mut a, mut b) = (hint_lo as i64, hint_hi as i64);
        if let Some(l) = lo_i {
            a = a.max(l);
            if b < a {
                b = l.saturating_add(1000);
            }
        }
        if let Some(h) = hi_i {
            b = b.min(h);
            if a > b {
                a = h.saturating_sub(1000).max(lo_i.unwrap_or(i64::MIN));
            }
        }
        if a > b {
            lo_i = Some(b);
            hi_i = Some(b);
            let _ = (lo_i, hi_i);
            a = b;
        }
        let mut v = if a == b { a } else { self.rng.random_range(a..=b) };
        if let Some(m) = map.get("multipleOf").and_then(Value::as_f64).filter(|m| *m >= 1.0 && m.fract() == 0.0) {
            let m = m as i64;
            v = (v / m) * m;
            if v < a {
                v += m;
            }
        }
        Value::Number(Number::from(v))
    }

    fn number(&mut self, map: &Map<String, Value>, ctx: &Ctx<'_>) -> Value {
        let (lo, hi, lo_ex, hi_ex) = Self::bounds(map);
        let (mut a, mut b) = Self::hinted_range(ctx.name);
        if let Some(l) = lo {
            a = a.max(l);
            if b < a {
                b = a + 1000.0;
            }
        }
        if let Some(h) = hi {
            b = b.min(h);
            if a > b {
                a = (h - 1000.0).max(lo.unwrap_or(f64::MIN));
            }
        }
        let mut v = if a < b { self.rng.random_range(a..b) } else { a };
        v = (v * 100.0).round() / 100.0;
        if let Some(m) = map.get("multipleOf").and_then(Value::as_f64).filter(|m| *m > 0.0) {
            v = (v / m).round() * m;
            let digits = decimals(m);
            let p = 10f64.powi(digits);
            v = (v * p).round() / p;
        }
        // Keep strict bounds strict after rounding.
        if lo.is_some_and(|l| v < l || (lo_ex && v <= l)) || hi.is_some_and(|h| v > h || (hi_ex && v >= h)) {
            v = match (lo, hi) {
                (Some(l), Some(h)) => (l + h) / 2.0,
                (Some(l), None) => l + 1.0,
                (None, Some(h)) => h - 1.0,
                (None, None) => v,
            };
        }
        if v.fract() == 0.0 && v.abs() < 1e15 && map.get("multipleOf").is_none() && self.rng.random_bool(0.0) {
            return Value::Number(Number::from(v as i64));
        }
        Number::from_f64(v).map(Value::Number).unwrap_or(Value::Null)
    }

    fn string(&mut self, map: &Map<String, Value>, ctx: &Ctx<'_>) -> String {
        let min = map.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = map.get("maxLength").and_then(Value::as_u64).map(|m| m as usize);
        if let Some(p) = map.get("pattern").and_then(Value::as_str) {
            if let Some(re) = self.patterns.get(p) {
                let s: String = self.rng.sample(re);
                return fit_length(s, min, max, &mut self.rng);
            }
        }
        let s = match map.get("format").and_then(Value::as_str) {
            Some(f) => self.formatted(f, ctx).unwrap_or_else(|| self.named(ctx)),
            None => self.named(ctx),
        };
        // Formatted strings are kept whole when they fit; padding would break the format.
        fit_length(s, min, max, &mut self.rng)
    }

    fn formatted(&mut self, format: &str, ctx: &Ctx<'_>) -> Option<String> {
        use fake::faker::internet::en::{IPv4, IPv6, SafeEmail};
        Some(match format {
            "email" | "idn-email" => SafeEmail().fake_with_rng(&mut self.rng),
            "uuid" => self.uuid(),
            "date-time" => self.datetime(),
            "date" => self.datetime()[..10].to_string(),
            "time" => self.datetime()[11..].to_string(),
            "uri" | "url" | "iri" | "uri-reference" | "iri-reference" | "uri-template" => format!("https://{}/{}", self.domain(), self.word()),
            "hostname" | "idn-hostname" => self.domain(),
            "ipv4" => IPv4().fake_with_rng(&mut self.rng),
            "ipv6" => IPv6().fake_with_rng(&mut self.rng),
            "byte" => {
                use base64::Engine;
                let raw: Vec<u8> = (0..12).map(|_| self.rng.random()).collect();
                base64::engine::general_purpose::STANDARD.encode(raw)
            }
            "password" => fake::faker::internet::en::Password(12..16).fake_with_rng(&mut self.rng),
            "int32" | "int64" | "uint64" => self.rng.random_range(1..100_000u32).to_string(),
            "decimal" | "double" | "float" => format!("{:.2}", self.rng.random_range(1.0..1000.0f64)),
            "duration" => format!("PT{}M", self.rng.random_range(1..120u32)),
            "json-pointer" => format!("/{}", self.word()),
            "regex" => "^[a-z]+$".to_string(),
            "phone" => fake::faker::phone_number::en::PhoneNumber().fake_with_rng(&mut self.rng),
            _ => {
                let _ = ctx;
                return None;
            }
        })
    }

    /// A string chosen from the property name, e.g. `firstName` → a first name.
    fn named(&mut self, ctx: &Ctx<'_>) -> String {
        use fake::faker::address::en::{CityName, CountryCode, CountryName, StateName, StreetName, ZipCode};
        use fake::faker::company::en::CompanyName;
        use fake::faker::internet::en::{SafeEmail, Username};
        use fake::faker::lorem::en::{Sentence, Words};
        use fake::faker::name::en::{FirstName, LastName, Name};
        use fake::faker::phone_number::en::PhoneNumber;
        let n = ctx.name.map(normalize_name).unwrap_or_default();
        let r = &mut self.rng;
        if n.contains("email") {
            SafeEmail().fake_with_rng(r)
        } else if n == "firstname" || n == "givenname" {
            FirstName().fake_with_rng(r)
        } else if n == "lastname" || n == "surname" || n == "familyname" {
            LastName().fake_with_rng(r)
        } else if n.contains("url") || n.contains("website") || n.contains("link") || n.contains("href") {
            let d = self.domain();
            format!("https://{d}/{}", self.word())
        } else if n.contains("company") || n.contains("organization") || n == "customername" || n == "account" {
            CompanyName().fake_with_rng(r)
        } else if n == "name" || n.ends_with("fullname") || n == "displayname" || n.ends_with("username") && false {
            Name().fake_with_rng(r)
        } else if n.contains("username") || n == "login" || n == "handle" {
            Username().fake_with_rng(r)
        } else if n.contains("phone") || n.contains("mobile") {
            PhoneNumber().fake_with_rng(r)
        } else if n.contains("city") {
            CityName().fake_with_rng(r)
        } else if n == "countrycode" || n == "country" {
            CountryCode().fake_with_rng(r)
        } else if n.contains("country") {
            CountryName().fake_with_rng(r)
        } else if n == "state" || n == "region" || n == "province" {
            StateName().fake_with_rng(r)
        } else if n.contains("street") || n.contains("address") {
            format!("{} {}", r.random_range(1..9999u32), StreetName().fake_with_rng::<String, _>(r))
        } else if n.contains("zip") || n.contains("postal") {
            ZipCode().fake_with_rng(r)
        } else if n.contains("currency") {
            ["USD", "EUR", "GBP"][self.rng.random_range(0..3)].to_string()
        } else if n.ends_with("at") || n.contains("date") || n.contains("time") {
            self.datetime()
        } else if n.contains("description") || n.contains("note") || n.contains("comment") || n.contains("message") || n.contains("summary") || n.contains("content") || n.contains("body") {
            Sentence(4..10).fake_with_rng(r)
        } else if n.contains("title") || n.contains("subject") || n.ends_with("name") || n.contains("label") {
            let w: Vec<String> = Words(2..4).fake_with_rng(r);
            capitalize(&w.join(" "))
        } else if n == "id" || n.ends_with("id") || n.ends_with("uuid") {
            let id: u64 = self.rng.random_range(0..u64::MAX);
            format!("{id:016x}")[..12].to_string()
        } else {
            self.word()
        }
    }

    fn word(&mut self) -> String {
        fake::faker::lorem::en::Word().fake_with_rng(&mut self.rng)
    }

    fn domain(&mut self) -> String {
        let suffix: String = fake::faker::internet::en::DomainSuffix().fake_with_rng(&mut self.rng);
        format!("{}.{suffix}", self.word())
    }

    fn uuid(&mut self) -> String {
        let mut b: [u8; 16] = self.rng.random();
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
    }

    /// An RFC 3339 UTC timestamp between 2023-01-01 and 2026-01-01.
    fn datetime(&mut self) -> String {
        let secs: i64 = self.rng.random_range(1_672_531_200..1_767_225_600);
        format_rfc3339(secs)
    }
}

/// Whether a scalar example/default has a JSON type the schema's `type` allows.
fn scalar_fits(v: &Value, schema: &Map<String, Value>) -> bool {
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
    match schema.get("type") {
        Some(Value::String(t)) => fits(t),
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).any(fits),
        _ => !v.is_null(),
    }
}

fn normalize_name(n: &str) -> String {
    n.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn decimals(m: f64) -> i32 {
    let s = format!("{m}");
    s.split_once('.').map_or(0, |(_, d)| d.len() as i32)
}

/// Pad with letters or truncate (by characters) to fit `minLength`/`maxLength`.
fn fit_length(mut s: String, min: usize, max: Option<usize>, rng: &mut ChaCha8Rng) -> String {
    let len = s.chars().count();
    if len < min {
        let pad = (min - len).min(100_000);
        s.extend((0..pad).map(|_| char::from(b'a' + rng.random_range(0..26u8))));
    }
    if let Some(max) = max {
        if s.chars().count() > max {
            s = s.chars().take(max).collect();
        }
    }
    s
}

/// Format Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, proleptic Gregorian).
pub fn format_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if mo <= 2 { y + 1 } else { y };
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gen(schema: Value, seed: u64) -> Value {
        let doc = json!({"s": schema});
        let patterns = Patterns::build(&doc);
        generate(&doc, &patterns, "/s", seed, false)
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(1_705_309_200), "2024-01-15T09:00:00Z");
    }

    #[test]
    fn same_seed_same_value_other_seed_other_value() {
        let s = json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"}, "n": {"type": "integer"}}});
        assert_eq!(gen(s.clone(), 1), gen(s.clone(), 1));
        assert_ne!(gen(s.clone(), 1), gen(s, 2));
    }

    #[test]
    fn anchored_patterns_generate_matching_ascii() {
        let v = gen(json!({"type": "string", "pattern": "^deal_[A-Za-z0-9]{6}$"}), 3);
        let s = v.as_str().unwrap();
        assert!(s.starts_with("deal_") && s.len() == 11 && s.is_ascii(), "{s}");
    }

    #[test]
    fn recursive_schema_terminates() {
        let doc = json!({"Node": {"type": "object", "required": ["child"], "properties": {"child": {"$ref": "#/Node"}}}});
        let v = generate(&doc, &Patterns::default(), "/Node", 1, false);
        assert!(v.to_string().len() < 10_000);
    }

    #[test]
    fn bounds_and_lengths_are_respected() {
        for seed in 0..50 {
            let v = gen(json!({"type": "object", "properties": {
                "a": {"type": "integer", "minimum": 5, "maximum": 7},
                "b": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "c": {"type": "string", "minLength": 3, "maxLength": 4},
                "d": {"type": "array", "minItems": 5, "items": {"type": "boolean"}}}}), seed);
            let a = v["a"].as_i64().unwrap();
            assert!((5..=7).contains(&a));
            let b = v["b"].as_f64().unwrap();
            assert!(b > 0.0 && b <= 1.0, "{b}");
            let c = v["c"].as_str().unwrap().chars().count();
            assert!((3..=4).contains(&c));
            assert!(v["d"].as_array().unwrap().len() >= 5);
        }
    }
}
