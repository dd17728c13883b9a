//! Generate realistic, schema-valid, deterministic data from a response schema.
//!
//! Last resort of the response sources (fixture > example > generated). A response schema is
//! first compiled into a [`Plan`] (once, on first use of that response): `$ref`s resolved,
//! `allOf` merged, `oneOf` branches sorted out, bounds, formats, patterns (compiled regex
//! generators) and property-name hints (`email`, `firstName`, `city`, `amount`, …) decided. Each
//! request then only walks the plan with a seeded RNG: no schema lookups, hashing or string
//! matching on the hot path.
//!
//! Determinism: the caller seeds a `ChaCha8Rng` (portable across platforms and rand versions,
//! unlike `StdRng`) from the CLI seed and a stable hash of the request, so the same seed, route
//! and request give the same body.
//!
//! Bounds: past [`OPTIONAL_DEPTH`] only required properties are generated; past [`MAX_DEPTH`]
//! objects and arrays are empty; every body is capped at [`NODE_BUDGET`] values and every plan
//! at [`MAX_PLAN_NODES`] nodes, so a hostile schema (huge `minItems`, deep recursion) cannot run
//! away.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use fake::Fake;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Number, Value};

use crate::spec::load::{resolve_pointer, walk_objects, DATA_KEYS};

/// Below this depth optional properties are generated too; deeper, only required ones.
const OPTIONAL_DEPTH: usize = 4;
/// Deeper than this, objects and arrays are generated empty.
const MAX_DEPTH: usize = 12;
/// At most this many values per generated body.
const NODE_BUDGET: usize = 20_000;
/// Arrays never grow past this, whatever `minItems` says.
pub const MAX_ARRAY: usize = 1_000;
/// A plan never holds more nodes than this (the rest generate `null`).
const MAX_PLAN_NODES: usize = 200_000;
/// `allOf` nested deeper than this is not merged further.
const MAX_MERGE_DEPTH: usize = 16;

/// Formats [`Run::formatted`] produces valid values for.
const GENERATED_FORMATS: [&str; 12] =
    ["email", "idn-email", "uuid", "date-time", "date", "time", "uri", "url", "hostname", "ipv4", "ipv6", "byte"];

/// Regex generators for every `pattern` in a spec, compiled once at load.
#[derive(Default)]
pub struct Patterns {
    compiled: HashMap<String, Option<Arc<rand_regex::Regex>>>,
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
        collect_patterns(doc, &mut compiled);
        Self { compiled }
    }

    /// Whether strings matching `pattern` can be generated (else they fall back to words).
    pub fn generatable(&self, pattern: &str) -> bool {
        self.compiled.get(pattern).is_some_and(Option::is_some)
    }

    fn get(&self, pattern: &str) -> Option<Arc<rand_regex::Regex>> {
        self.compiled.get(pattern).and_then(Clone::clone)
    }
}

fn collect_patterns(doc: &Value, out: &mut HashMap<String, Option<Arc<rand_regex::Regex>>>) {
    walk_objects(doc, "", &|k| k == "examples" || DATA_KEYS.contains(&k), &mut |_, map| {
        if let Some(Value::String(p)) = map.get("pattern") {
            if !out.contains_key(p) {
                out.insert(p.clone(), compile_pattern(p).map(Arc::new));
            }
        }
    });
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

// ---------------------------------------------------------------------------------------------
// Plans

type NodeId = usize;

/// A compiled generator for one schema.
#[derive(Debug)]
pub struct Plan {
    nodes: Vec<Node>,
    root: NodeId,
    /// What the name of the generated thing suggests (set once by [`Plan::named`]).
    hint: Hint,
}

#[derive(Debug)]
struct Node {
    kind: Kind,
    /// A scalar example or default of the right type, used unless `Prefer: dynamic=true` or the
    /// value repeats in an array.
    example: Option<Value>,
}

#[derive(Debug)]
enum Kind {
    Null,
    /// `true` or `{}`: anything; a word.
    Any,
    Const(Value),
    /// The non-null options (or only `null`).
    Enum(Vec<Value>),
    /// `oneOf`/`anyOf`: the compiled branches (siblings merged in), which is told apart from the
    /// others by its required set (for `oneOf`), and which do not recurse.
    Choice {
        options: Vec<NodeId>,
        distinct: Option<usize>,
        shallow: Vec<bool>,
    },
    Object(ObjectPlan),
    Array(ArrayPlan),
    Str(StrPlan),
    Int(NumPlan),
    Num(NumPlan),
    Bool,
}

#[derive(Debug)]
struct Prop {
    name: String,
    node: NodeId,
    required: bool,
    hint: Hint,
}

#[derive(Debug)]
struct ObjectPlan {
    props: Vec<Prop>,
    /// Required names without a property schema (generated from `additional`, or `null`).
    bare_required: Vec<(String, Hint)>,
    /// `additionalProperties` as a schema (`None` for absent, `true`, or `false`).
    additional: Option<NodeId>,
    additional_false: bool,
    min_properties: usize,
}

#[derive(Debug)]
struct ArrayPlan {
    items: NodeId,
    prefix: Vec<NodeId>,
    min: usize,
    max: usize,
    unique: bool,
    /// With `uniqueItems`, an enum of items caps the length.
    enum_len: Option<usize>,
}

#[derive(Debug)]
struct StrPlan {
    format: Option<String>,
    pattern: Option<Arc<rand_regex::Regex>>,
    min: usize,
    max: Option<usize>,
}

#[derive(Debug)]
struct NumPlan {
    lo: Option<f64>,
    hi: Option<f64>,
    lo_ex: bool,
    hi_ex: bool,
    multiple_of: Option<f64>,
}

/// What a property name suggests: the kind of text and the typical numeric range.
#[derive(Debug, Clone, Copy)]
struct Hint {
    text: Text,
    range: (f64, f64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Text {
    Word,
    Email,
    FirstName,
    LastName,
    FullName,
    Username,
    Company,
    Url,
    Phone,
    City,
    CountryCode,
    Country,
    State,
    Street,
    Zip,
    Currency,
    DateTime,
    Sentence,
    Title,
    Id,
}

impl Hint {
    const NONE: Hint = Hint { text: Text::Word, range: (1.0, 1_000.0) };

    fn from_name(name: &str) -> Hint {
        let n = normalize_name(name);
        let has = |k: &str| n.contains(k);
        let text = if has("email") {
            Text::Email
        } else if n == "firstname" || n == "givenname" {
            Text::FirstName
        } else if n == "lastname" || n == "surname" || n == "familyname" {
            Text::LastName
        } else if has("url") || has("website") || has("link") || has("href") {
            Text::Url
        } else if has("company") || has("organization") || n == "customername" || n == "account" {
            Text::Company
        } else if n == "name" || n.ends_with("fullname") || n == "displayname" {
            Text::FullName
        } else if has("username") || n == "login" || n == "handle" {
            Text::Username
        } else if has("phone") || has("mobile") {
            Text::Phone
        } else if has("city") {
            Text::City
        } else if n == "countrycode" || n == "country" {
            Text::CountryCode
        } else if has("country") {
            Text::Country
        } else if n == "state" || n == "region" || n == "province" {
            Text::State
        } else if has("street") || has("address") {
            Text::Street
        } else if has("zip") || has("postal") {
            Text::Zip
        } else if has("currency") {
            Text::Currency
        } else if n.ends_with("at") || has("date") || has("time") {
            Text::DateTime
        } else if ["description", "note", "comment", "message", "summary", "content", "body"].iter().any(|k| has(k)) {
            Text::Sentence
        } else if has("title") || has("subject") || n.ends_with("name") || has("label") {
            Text::Title
        } else if n == "id" || n.ends_with("id") || n.ends_with("uuid") {
            Text::Id
        } else {
            Text::Word
        };
        let range = if n.ends_with("id") {
            (1.0, 99_999.0)
        } else if ["amount", "price", "value", "total", "balance", "cost", "revenue", "paid", "subtotal", "tax"].iter().any(|k| has(k)) {
            (100.0, 50_000.0)
        } else if ["count", "quantity", "qty", "number", "size"].iter().any(|k| has(k)) {
            (1.0, 50.0)
        } else if has("age") {
            (18.0, 90.0)
        } else if has("percent") || has("rate") {
            (0.0, 100.0)
        } else if has("latitude") || n == "lat" {
            (-90.0, 90.0)
        } else if has("longitude") || n == "lng" || n == "lon" {
            (-180.0, 180.0)
        } else if n.ends_with("ms") || has("duration") {
            (10.0, 5_000.0)
        } else if n.ends_with("at") || has("timestamp") || has("time") {
            (1_700_000_000.0, 1_760_000_000.0)
        } else {
            (1.0, 1_000.0)
        };
        Hint { text, range }
    }
}

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
    patterns: &'a Patterns,
    nodes: Vec<Node>,
    /// Document schema (by address) → its node, so shared and recursive schemas compile once.
    memo: HashMap<usize, NodeId>,
}

impl Plan {
    /// Compile the schema at `pointer` of `doc`.
    pub fn compile(doc: &Value, patterns: &Patterns, pointer: &str) -> Plan {
        match resolve_pointer(doc, pointer) {
            Some(schema) => Self::compile_schema(doc, patterns, schema),
            None => Plan { nodes: vec![Node { kind: Kind::Null, example: None }], root: 0, hint: Hint::NONE },
        }
    }

    /// Compile an inline schema that lives in `doc`.
    pub fn compile_schema(doc: &Value, patterns: &Patterns, schema: &Value) -> Plan {
        let mut c = Compiler { doc, patterns, nodes: Vec::new(), memo: HashMap::new() };
        let root = c.value(schema, 0);
        Plan { nodes: c.nodes, root, hint: Hint::NONE }
    }

    /// Generate one value.
    pub fn generate(&self, seed: u64, dynamic: bool) -> Value {
        self.generate_gen(seed, dynamic).into_value()
    }

    /// Generate one value, to serialize as it is ([`Gen`] borrows keys and examples from the plan).
    pub fn generate_gen(&self, seed: u64, dynamic: bool) -> Gen<'_> {
        let mut run = Run { plan: self, rng: ChaCha8Rng::seed_from_u64(seed), dynamic, budget: NODE_BUDGET };
        run.gen(self.root, Ctx { depth: 0, hint: Hint::NONE, repeat: false, only_required: false })
    }

    /// This plan generates something named `name` (a response header): the name's hint is
    /// worked out here, once, not per value.
    pub fn named(mut self, name: &str) -> Plan {
        self.hint = Hint::from_name(name);
        self
    }

    /// Generate one value for a plan made [`Plan::named`].
    pub fn generate_named(&self, seed: u64) -> Value {
        let mut run = Run { plan: self, rng: ChaCha8Rng::seed_from_u64(seed), dynamic: false, budget: 1_000 };
        run.gen(self.root, Ctx { depth: 0, hint: self.hint, repeat: false, only_required: false }).into_value()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the plan has no nodes (never: a plan has at least its root).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

/// A generated value before it is JSON. Object keys and schema values (examples, `const`,
/// `enum`) borrow from the plan, and objects are plain lists: no key copies and no map hashing
/// per request. Serialized straight to bytes for an answer, or turned into a [`Value`] when
/// something edits it.
#[derive(Debug)]
pub enum Gen<'p> {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<Gen<'p>>),
    /// Properties in generation order; names are unique.
    Obj(Vec<(Cow<'p, str>, Gen<'p>)>),
    /// A value from the spec, as it is there.
    Json(&'p Value),
}

impl Gen<'_> {
    /// The JSON value.
    pub fn into_value(self) -> Value {
        match self {
            Gen::Null => Value::Null,
            Gen::Bool(b) => Value::Bool(b),
            Gen::Num(n) => Value::Number(n),
            Gen::Str(s) => Value::String(s),
            Gen::Arr(items) => Value::Array(items.into_iter().map(Gen::into_value).collect()),
            Gen::Obj(props) => Value::Object(props.into_iter().map(|(k, v)| (k.into_owned(), v.into_value())).collect()),
            Gen::Json(v) => v.clone(),
        }
    }

    /// The top-level property `name`, if this is an object that has it.
    pub fn has_property(&self, name: &str) -> bool {
        match self {
            Gen::Obj(props) => props.iter().any(|(k, _)| k == name),
            Gen::Json(v) => v.get(name).is_some(),
            _ => false,
        }
    }

    /// JSON equality (`uniqueItems`): object order does not count.
    fn same(&self, other: &Gen<'_>) -> bool {
        match (self, other) {
            (Gen::Json(a), Gen::Json(b)) => a == b,
            (Gen::Json(a), g) | (g, Gen::Json(a)) => g.equals(a),
            (Gen::Null, Gen::Null) => true,
            (Gen::Bool(a), Gen::Bool(b)) => a == b,
            (Gen::Num(a), Gen::Num(b)) => a == b,
            (Gen::Str(a), Gen::Str(b)) => a == b,
            (Gen::Arr(a), Gen::Arr(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y)),
            (Gen::Obj(a), Gen::Obj(b)) => a.len() == b.len() && a.iter().all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v.same(v2))),
            _ => false,
        }
    }

    /// JSON equality with a value.
    fn equals(&self, v: &Value) -> bool {
        match (self, v) {
            (Gen::Json(a), b) => *a == b,
            (Gen::Null, Value::Null) => true,
            (Gen::Bool(a), Value::Bool(b)) => a == b,
            (Gen::Num(a), Value::Number(b)) => a == b,
            (Gen::Str(a), Value::String(b)) => a == b,
            (Gen::Arr(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y)),
            (Gen::Obj(a), Value::Object(b)) => a.len() == b.len() && a.iter().all(|(k, g)| b.get(k.as_ref()).is_some_and(|v| g.equals(v))),
            _ => false,
        }
    }
}

impl Gen<'_> {
    /// Append compact JSON text (what `serde_json::to_writer` writes, without its per-byte
    /// escaping pass over strings that need none; generated strings rarely do).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Gen::Null => out.extend_from_slice(b"null"),
            Gen::Bool(true) => out.extend_from_slice(b"true"),
            Gen::Bool(false) => out.extend_from_slice(b"false"),
            Gen::Num(n) => {
                let _ = serde_json::to_writer(&mut *out, n);
            }
            Gen::Str(s) => write_json_str(out, s),
            Gen::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            Gen::Obj(props) => {
                out.push(b'{');
                for (i, (k, v)) in props.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, k);
                    out.push(b':');
                    v.write_json(out);
                }
                out.push(b'}');
            }
            Gen::Json(v) => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
        }
    }
}

/// Append `s` as a JSON string, exactly as `serde_json::to_writer` writes it. Runs that need no
/// escaping are found eight bytes at a time and copied whole: serde_json looks up every byte in a
/// table, which showed in profiles of generated bodies and of error envelopes.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if i + 8 <= bytes.len() {
            let mut chunk = [0u8; 8];
            chunk.copy_from_slice(&bytes[i..i + 8]);
            if !needs_escape(u64::from_le_bytes(chunk)) {
                i += 8;
                continue;
            }
        }
        let end = (i + 8).min(bytes.len());
        while i < end {
            let b = bytes[i];
            if b < 0x20 || b == b'"' || b == b'\\' {
                out.extend_from_slice(&bytes[start..i]);
                escape_byte(out, b);
                start = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Compact JSON text of `v`, byte for byte what `serde_json::to_writer` writes, stopping once
/// `out` is longer than `limit` bytes (error messages show only the start of an instance; pass
/// `usize::MAX` for all of it).
pub fn write_value(out: &mut Vec<u8>, v: &Value, limit: usize) {
    if out.len() > limit {
        return;
    }
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => {
            // A long string is cut at a character boundary past what the message can show.
            let room = limit.saturating_add(1).saturating_sub(out.len());
            let cut = if s.len() <= room { s.len() } else { (room..=s.len()).find(|i| s.is_char_boundary(*i)).unwrap_or(s.len()) };
            write_json_str(out, &s[..cut]);
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if out.len() > limit {
                    return;
                }
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item, limit);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if out.len() > limit {
                    return;
                }
                if i > 0 {
                    out.push(b',');
                }
                write_json_str(out, k);
                out.push(b':');
                write_value(out, item, limit);
            }
            out.push(b'}');
        }
    }
}

/// Whether any of eight bytes is a control character, `"` or `\\` (exact: the "has a byte less
/// than n" and "has a zero byte" bit tricks never report a byte that is not there).
fn needs_escape(x: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    (control | zero(quote) | zero(backslash)) != 0
}

fn escape_byte(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Pushed byte by byte: two- and six-byte copies through `extend_from_slice` are calls to
    // memcpy, dearer than the escape itself.
    out.push(b'\\');
    match b {
        b'"' | b'\\' => out.push(b),
        b'\n' => out.push(b'n'),
        b'\r' => out.push(b'r'),
        b'\t' => out.push(b't'),
        0x08 => out.push(b'b'),
        0x0c => out.push(b'f'),
        _ => {
            out.push(b'u');
            out.push(b'0');
            out.push(b'0');
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        }
    }
}

impl serde::Serialize for Gen<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Gen::Null => serializer.serialize_unit(),
            Gen::Bool(b) => serializer.serialize_bool(*b),
            Gen::Num(n) => n.serialize(serializer),
            Gen::Str(s) => serializer.serialize_str(s),
            Gen::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Gen::Obj(props) => {
                let mut map = serializer.serialize_map(Some(props.len()))?;
                for (k, v) in props {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
            Gen::Json(v) => v.serialize(serializer),
        }
    }
}

/// Compile and generate in one step (tests, one-off use).
pub fn generate(doc: &Value, patterns: &Patterns, pointer: &str, seed: u64, dynamic: bool) -> Value {
    Plan::compile(doc, patterns, pointer).generate(seed, dynamic)
}

impl<'a> Compiler<'a> {
    fn push(&mut self, kind: Kind) -> NodeId {
        self.nodes.push(Node { kind, example: None });
        self.nodes.len() - 1
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
                pattern: k.get("pattern").and_then(Value::as_str).and_then(|p| self.patterns.get(p)),
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

// ---------------------------------------------------------------------------------------------
// Running a plan

struct Run<'p> {
    plan: &'p Plan,
    rng: ChaCha8Rng,
    /// `Prefer: dynamic=true`: ignore schema examples and defaults, always invent.
    dynamic: bool,
    /// Values still allowed in this body.
    budget: usize,
}

#[derive(Clone, Copy)]
struct Ctx {
    depth: usize,
    /// What the name of the property being generated suggests.
    hint: Hint,
    /// Inside the 2nd+ item of an array: examples would repeat, so invent instead.
    repeat: bool,
    /// Generate only the required properties of this object (a `oneOf` branch told apart from its
    /// siblings by its required set); not inherited by children.
    only_required: bool,
}

impl<'p> Run<'p> {
    fn gen(&mut self, id: NodeId, ctx: Ctx) -> Gen<'p> {
        if self.budget == 0 || ctx.depth > MAX_DEPTH * 2 {
            return Gen::Null;
        }
        self.budget -= 1;
        let plan = self.plan;
        let node = &plan.nodes[id];
        if !self.dynamic && !ctx.repeat {
            if let Some(ex) = &node.example {
                return Gen::Json(ex);
            }
        }
        match &node.kind {
            Kind::Null => Gen::Null,
            Kind::Any => Gen::Str(self.word()),
            Kind::Const(c) => Gen::Json(c),
            Kind::Enum(options) => Gen::Json(&options[self.rng.random_range(0..options.len())]),
            Kind::Choice { options, distinct, shallow } => {
                let next = Ctx { depth: ctx.depth + 1, ..ctx };
                if let Some(i) = distinct {
                    return self.gen(options[*i], Ctx { only_required: true, ..next });
                }
                let pick = if ctx.depth >= OPTIONAL_DEPTH { shallow.iter().position(|s| *s).unwrap_or(0) } else { 0 };
                self.gen(options[pick], Ctx { only_required: false, ..next })
            }
            Kind::Object(o) => self.object(o, ctx),
            Kind::Array(a) => self.array(a, ctx),
            Kind::Str(s) => Gen::Str(self.string(s, ctx)),
            Kind::Int(n) => self.integer(n, ctx),
            Kind::Num(n) => self.number(n, ctx),
            Kind::Bool => Gen::Bool(self.rng.random_bool(0.5)),
        }
    }

    fn object(&mut self, o: &'p ObjectPlan, ctx: Ctx) -> Gen<'p> {
        if ctx.depth > MAX_DEPTH {
            return Gen::Obj(Vec::new());
        }
        let mut out: Vec<(Cow<'p, str>, Gen<'p>)> = Vec::with_capacity(o.props.len() + o.bare_required.len());
        for p in &o.props {
            if !p.required && (ctx.depth >= OPTIONAL_DEPTH || ctx.only_required) {
                continue;
            }
            let child = Ctx { depth: ctx.depth + 1, hint: p.hint, repeat: ctx.repeat, only_required: false };
            let v = self.gen(p.node, child);
            out.push((Cow::Borrowed(&p.name), v));
        }
        for (name, hint) in &o.bare_required {
            let child = Ctx { depth: ctx.depth + 1, hint: *hint, repeat: ctx.repeat, only_required: false };
            let v = match o.additional {
                Some(a) => self.gen(a, child),
                None if o.additional_false => Gen::Null,
                None => Gen::Str(self.word()),
            };
            out.push((Cow::Borrowed(name), v));
        }
        let want_extra = match o.additional {
            Some(_) if out.is_empty() && ctx.depth < OPTIONAL_DEPTH => 2,
            _ => 0,
        }
        .max(o.min_properties.saturating_sub(out.len()))
        .min(50);
        if want_extra > 0 && !o.additional_false {
            for i in 0..want_extra {
                let key = format!("{}{}", self.word(), if i > 0 { i.to_string() } else { String::new() });
                let child = Ctx { depth: ctx.depth + 1, hint: Hint::NONE, repeat: ctx.repeat, only_required: false };
                let v = match o.additional {
                    Some(a) => self.gen(a, child),
                    None => Gen::Str(self.word()),
                };
                // A made-up name may repeat a declared one: the later value wins, in place.
                match out.iter_mut().find(|(k, _)| *k == key) {
                    Some(slot) => slot.1 = v,
                    None => out.push((Cow::Owned(key), v)),
                }
            }
        }
        Gen::Obj(out)
    }

    fn array(&mut self, a: &ArrayPlan, ctx: Ctx) -> Gen<'p> {
        if ctx.depth > MAX_DEPTH {
            return Gen::Arr(Vec::new());
        }
        let typical = if ctx.depth >= OPTIONAL_DEPTH { 1 } else { 2 + self.rng.random_range(0..2usize) };
        let mut n = typical.max(a.min).min(a.max).min(MAX_ARRAY);
        if a.unique {
            if let Some(len) = a.enum_len {
                n = n.min(len);
            }
        }
        let mut out: Vec<Gen<'p>> = Vec::with_capacity(n);
        let mut attempts = 0;
        while out.len() < n && attempts < n * 4 + 8 && self.budget > 0 {
            attempts += 1;
            let i = out.len();
            let child = Ctx { depth: ctx.depth + 1, hint: ctx.hint, repeat: ctx.repeat || i > 0, only_required: false };
            let node = a.prefix.get(i).copied().unwrap_or(a.items);
            let v = self.gen(node, child);
            if a.unique && out.iter().any(|o| o.same(&v)) {
                continue;
            }
            out.push(v);
        }
        Gen::Arr(out)
    }

    fn integer(&mut self, n: &NumPlan, ctx: Ctx) -> Gen<'p> {
        let lo_i = n.lo.map(|l| if n.lo_ex { l.floor() as i64 + 1 } else { l.ceil() as i64 });
        let hi_i = n.hi.map(|h| if n.hi_ex { h.ceil() as i64 - 1 } else { h.floor() as i64 });
        let (mut a, mut b) = (ctx.hint.range.0 as i64, ctx.hint.range.1 as i64);
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
            a = b;
        }
        let mut v = if a == b { a } else { self.rng.random_range(a..=b) };
        if let Some(m) = n.multiple_of.filter(|m| *m >= 1.0 && m.fract() == 0.0) {
            let m = m as i64;
            v = (v / m) * m;
            if v < a {
                v = v.saturating_add(m);
            }
        }
        Gen::Num(Number::from(v))
    }

    fn number(&mut self, n: &NumPlan, ctx: Ctx) -> Gen<'p> {
        let (mut a, mut b) = ctx.hint.range;
        if let Some(l) = n.lo {
            a = a.max(l);
            if b < a {
                b = a + 1000.0;
            }
        }
        if let Some(h) = n.hi {
            b = b.min(h);
            if a > b {
                a = (h - 1000.0).max(n.lo.unwrap_or(f64::MIN));
            }
        }
        let mut v = if a < b { self.rng.random_range(a..b) } else { a };
        v = (v * 100.0).round() / 100.0;
        if let Some(m) = n.multiple_of {
            v = (v / m).round() * m;
            let p = 10f64.powi(decimals(m));
            v = (v * p).round() / p;
        }
        // Keep strict bounds strict after rounding.
        if n.lo.is_some_and(|l| v < l || (n.lo_ex && v <= l)) || n.hi.is_some_and(|h| v > h || (n.hi_ex && v >= h)) {
            v = match (n.lo, n.hi) {
                (Some(l), Some(h)) => (l + h) / 2.0,
                (Some(l), None) => l + 1.0,
                (None, Some(h)) => h - 1.0,
                (None, None) => v,
            };
        }
        Number::from_f64(v).map(Gen::Num).unwrap_or(Gen::Null)
    }

    fn string(&mut self, s: &StrPlan, ctx: Ctx) -> String {
        if let Some(re) = &s.pattern {
            let out: String = self.rng.sample(&**re);
            return fit_length(out, s.min, s.max, &mut self.rng);
        }
        let out = match s.format.as_deref().and_then(|f| self.formatted(f)) {
            Some(v) => v,
            None => self.text(ctx.hint.text),
        };
        fit_length(out, s.min, s.max, &mut self.rng)
    }

    fn formatted(&mut self, format: &str) -> Option<String> {
        use fake::faker::internet::en::{IPv4, IPv6, SafeEmail};
        Some(match format {
            "email" | "idn-email" => SafeEmail().fake_with_rng(&mut self.rng),
            "uuid" => self.uuid(),
            "date-time" => self.datetime(),
            "date" => self.datetime()[..10].to_string(),
            "time" => self.datetime()[11..].to_string(),
            "uri" | "url" | "iri" | "uri-reference" | "iri-reference" | "uri-template" => {
                format!("https://{}/{}", self.domain(), self.word())
            }
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
            _ => return None,
        })
    }

    /// A string of the kind a property name suggests.
    fn text(&mut self, hint: Text) -> String {
        use fake::faker::address::en::{CityName, CountryCode, CountryName, StateName, StreetName, ZipCode};
        use fake::faker::company::en::CompanyName;
        use fake::faker::internet::en::{SafeEmail, Username};
        use fake::faker::lorem::en::{Sentence, Words};
        use fake::faker::name::en::{FirstName, LastName};
        use fake::faker::phone_number::en::PhoneNumber;
        let r = &mut self.rng;
        match hint {
            Text::Email => SafeEmail().fake_with_rng(r),
            Text::FirstName => FirstName().fake_with_rng(r),
            Text::LastName => LastName().fake_with_rng(r),
            Text::FullName => {
                // fake's `Name` goes through a format template per call; the same names, cheaper.
                let mut name: String = FirstName().fake_with_rng(r);
                let last: String = LastName().fake_with_rng(r);
                name.push(' ');
                name.push_str(&last);
                name
            }
            Text::Username => Username().fake_with_rng(r),
            Text::Company => CompanyName().fake_with_rng(r),
            Text::Url => format!("https://{}/{}", self.domain(), self.word()),
            Text::Phone => PhoneNumber().fake_with_rng(r),
            Text::City => CityName().fake_with_rng(r),
            Text::CountryCode => CountryCode().fake_with_rng(r),
            Text::Country => CountryName().fake_with_rng(r),
            Text::State => StateName().fake_with_rng(r),
            Text::Street => format!("{} {}", r.random_range(1..9999u32), StreetName().fake_with_rng::<String, _>(r)),
            Text::Zip => ZipCode().fake_with_rng(r),
            Text::Currency => ["USD", "EUR", "GBP"][r.random_range(0..3)].to_string(),
            Text::DateTime => self.datetime(),
            Text::Sentence => Sentence(4..10).fake_with_rng(r),
            Text::Title => {
                let w: Vec<String> = Words(2..4).fake_with_rng(r);
                capitalize(&w.join(" "))
            }
            Text::Id => {
                let id: u64 = r.random_range(0..u64::MAX);
                let mut out = String::with_capacity(12);
                push_hex(&mut out, &id.to_be_bytes()[..6]);
                out
            }
            Text::Word => self.word(),
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
        let mut out = String::with_capacity(36);
        for (i, part) in [&b[0..4], &b[4..6], &b[6..8], &b[8..10], &b[10..16]].into_iter().enumerate() {
            if i > 0 {
                out.push('-');
            }
            push_hex(&mut out, part);
        }
        out
    }

    /// An RFC 3339 UTC timestamp between 2023-01-01 and 2026-01-01.
    fn datetime(&mut self) -> String {
        let secs: i64 = self.rng.random_range(1_672_531_200..1_767_225_600);
        format_rfc3339(secs)
    }
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

fn normalize_name(n: &str) -> String {
    n.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
}

/// Lower-case hex of `bytes`, appended (ids and uuids: no `format!` per byte).
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xf) as usize] as char);
    }
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
    // Bytes bound characters from above: most strings need no count at all.
    if s.len() >= min && max.is_none_or(|m| s.len() <= m) && (min == 0 || s.is_ascii()) {
        return s;
    }
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
    if !(0..=9999).contains(&y) {
        return format!("{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}Z");
    }
    // Digits by hand: `format!` showed up in generation profiles.
    let mut out = [0u8; 20];
    let two = |buf: &mut [u8], v: i64| {
        buf[0] = b'0' + (v / 10) as u8;
        buf[1] = b'0' + (v % 10) as u8;
    };
    two(&mut out[0..2], y / 100);
    two(&mut out[2..4], y % 100);
    out[4] = b'-';
    two(&mut out[5..7], mo);
    out[7] = b'-';
    two(&mut out[8..10], d);
    out[10] = b'T';
    two(&mut out[11..13], h);
    out[13] = b':';
    two(&mut out[14..16], m);
    out[16] = b':';
    two(&mut out[17..19], s);
    out[19] = b'Z';
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

#[cfg(test)]
mod json_text_tests {
    use super::write_json_str;

    #[test]
    fn json_strings_are_escaped_exactly_as_serde_json_does() {
        let cases = [
            "",
            "plain",
            "exactly8",
            "a \"quoted\" \\ path",
            "tab\tnew\nline\r\u{8}\u{c}",
            "ctl \u{1}\u{1f} end",
            "ünïcödé → ✓ and a longer tail of text",
            "\u{7f}",
            "0123456\"",
            "01234567\\89abcdef\u{1f}",
        ];
        for s in cases {
            let mut out = Vec::new();
            write_json_str(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        let value = serde_json::json!({"a": [1, -2.5, 1e300, true, null, "x\"y"], "b": {"ü": {}}, "c": []});
        let mut out = Vec::new();
        super::write_value(&mut out, &value, usize::MAX);
        assert_eq!(out, serde_json::to_vec(&value).unwrap());
        // Every single byte value in every position of a chunk.
        for b in 0u8..0x80 {
            for pos in 0..10 {
                let mut s = "x".repeat(10);
                s.replace_range(pos..pos + 1, std::str::from_utf8(&[b]).unwrap());
                let mut out = Vec::new();
                write_json_str(&mut out, &s);
                assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap(), "byte {b:#x} at {pos}");
            }
        }
    }
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

    /// Answers are serialized straight from `Gen`; the sandbox and validators use `into_value`:
    /// both must be the same JSON, key order included.
    #[test]
    fn serialized_gen_is_the_same_json_as_its_value() {
        let doc = json!({"s": {"type": "object", "required": ["id", "tags", "meta"], "properties": {
            "id": {"type": "string", "example": "prd_1"},
            "kind": {"const": "product"},
            "status": {"enum": ["a", "b", "c"]},
            "tags": {"type": "array", "uniqueItems": true, "minItems": 3, "items": {"enum": ["x", "y", "z"]}},
            "price": {"type": "number", "minimum": 1},
            "meta": {"type": "object", "minProperties": 3, "additionalProperties": {"type": "integer"}},
            "when": {"type": "string", "format": "date-time"},
            "nested": {"type": "array", "items": {"$ref": "#/s"}}
        }}});
        let plan = Plan::compile(&doc, &Patterns::build(&doc), "/s");
        for seed in 0..50 {
            let text = serde_json::to_string(&plan.generate_gen(seed, seed % 2 == 0)).unwrap();
            let value = plan.generate(seed, seed % 2 == 0);
            assert_eq!(text, serde_json::to_string(&value).unwrap(), "seed {seed}");
            let mut written = Vec::new();
            plan.generate_gen(seed, seed % 2 == 0).write_json(&mut written);
            assert_eq!(String::from_utf8(written).unwrap(), text, "seed {seed}");
            let tags = value["tags"].as_array().unwrap();
            assert_eq!(tags.len(), 3, "uniqueItems with three options: all three, once each");
            assert!(value["meta"].as_object().unwrap().len() >= 3);
        }
    }

    #[test]
    fn strings_that_need_escaping_are_escaped() {
        for s in ["plain", "quote \" here", "back\\slash", "tab\there", "line\nbreak", "ünïcode"] {
            let mut out = Vec::new();
            Gen::Str(s.to_string()).write_json(&mut out);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap());
        }
    }

    #[test]
    fn uuids_and_ids_have_their_shape() {
        for seed in 0..20 {
            let u = gen(json!({"type": "string", "format": "uuid"}), seed);
            let u = u.as_str().unwrap();
            let parts: Vec<&str> = u.split('-').collect();
            assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12], "{u}");
            assert!(u.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{u}");
            assert!(parts[2].starts_with('4') && "89ab".contains(&parts[3][..1]), "version 4, RFC variant: {u}");
            let doc = json!({"s": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}});
            let id = generate(&doc, &Patterns::default(), "/s", seed, false)["id"].as_str().unwrap().to_string();
            assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        }
    }

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(951_782_400 + 86_399), "2000-02-29T23:59:59Z");
        assert_eq!(format_rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
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
            let v = gen(
                json!({"type": "object", "properties": {
                "a": {"type": "integer", "minimum": 5, "maximum": 7},
                "b": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
                "c": {"type": "string", "minLength": 3, "maxLength": 4},
                "d": {"type": "array", "minItems": 5, "items": {"type": "boolean"}}}}),
                seed,
            );
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
