//! Read a spec file (YAML or JSON) and bundle every file it references into one document.
//!
//! First stage of the load pipeline: `read → bundle → check refs`. Its output is one
//! `serde_json::Value` in which every `$ref` is local (`#/...`), handed to `convert`.
//!
//! # Implementation rationale
//! External references (`schemas/deal.yaml#/Deal`) are *bundled*, not inlined: each referenced
//! file is placed under `/x-standin-bundle/<n>` of the root document and the reference rewritten
//! to point there. Inlining would loop forever on recursive schemas that span files; a bundle
//! keeps them as references, which the validator and the generator already handle.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::Diagnostic;
use crate::util::pointer::{deep_resolve, join, push_index};
// The pointer helpers live in `util::pointer`; these names stay for the stages that use them.
pub use crate::util::pointer::{deref, encode_pointer, get as pointer, push_token, resolve_fragment as resolve_pointer};

/// The key of the root document under which referenced files are bundled.
pub const BUNDLE_KEY: &str = "x-standin-bundle";

/// Files larger than this are refused before parsing (a spec is text; GitHub's is 13 MB).
const MAX_SPEC_BYTES: u64 = 256 * 1024 * 1024;

/// Read and parse one YAML or JSON file.
pub fn read_document(path: &Path) -> Result<Value, Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| Diagnostic::error(path, "", format!("cannot read file: {e}")))?;
    if meta.len() > MAX_SPEC_BYTES {
        return Err(Diagnostic::error(path, "", format!("file is {} bytes, over the {MAX_SPEC_BYTES}-byte limit", meta.len())));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Diagnostic::error(path, "", format!("cannot read file: {e}")))?;
    parse_document(path, &text)
}

/// Parse YAML or JSON text. JSON is tried first when the text looks like JSON (it is ~5x faster).
pub fn parse_document(path: &Path, text: &str) -> Result<Value, Diagnostic> {
    let looks_json = text.trim_start().starts_with('{');
    if looks_json {
        match serde_json::from_str::<Value>(text) {
            Ok(v) => return Ok(v),
            Err(e) if path.extension().is_some_and(|x| x == "json") => {
                return Err(Diagnostic::error(path, "", format!("invalid JSON at line {} column {}: {e}", e.line(), e.column())));
            }
            Err(_) => {} // fall through: YAML is a superset of JSON
        }
    }
    let mut yaml: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| {
        let at = e.location().map(|l| format!(" at line {} column {}", l.line(), l.column())).unwrap_or_default();
        Diagnostic::error(path, "", format!("invalid YAML{at}: {e}"))
    })?;
    // Merge keys (`<<: *anchor`) are applied only on request: yaml_serde leaves them as keys.
    yaml.apply_merge().map_err(|e| Diagnostic::error(path, "", format!("invalid YAML merge key: {e}")))?;
    serde_json::to_value(yaml).map_err(|e| Diagnostic::error(path, "", format!("YAML value cannot be represented as JSON: {e}")))
}

/// Bundle every external file referenced from `root` (recursively) into `root`.
///
/// Returns the problems found (unreadable files, bad references); the document is still usable
/// for collecting further problems.
pub fn bundle(root_path: &Path, root: &mut Value) -> Vec<Diagnostic> {
    let mut bundler = Bundler { files: HashMap::new(), docs: Vec::new(), diags: Vec::new() };
    let base = root_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    bundler.rewrite(root, &base, root_path, "", "");
    // Referenced files are processed breadth-first; each may reference more files.
    let mut next = 0;
    while next < bundler.docs.len() {
        let (path, mut doc) = std::mem::take(&mut bundler.docs[next]);
        let prefix = format!("/{BUNDLE_KEY}/{next}");
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        bundler.rewrite(&mut doc, &base, &path, &prefix, "");
        bundler.docs[next] = (path, doc);
        next += 1;
    }
    if !bundler.docs.is_empty() {
        let bundle: Map<String, Value> = bundler.docs.into_iter().enumerate().map(|(i, (_, d))| (i.to_string(), d)).collect();
        if let Some(obj) = root.as_object_mut() {
            obj.insert(BUNDLE_KEY.to_string(), Value::Object(bundle));
        }
    }
    bundler.diags
}

struct Bundler {
    /// Canonical path of each bundled file → its index under `BUNDLE_KEY`.
    files: HashMap<PathBuf, usize>,
    /// Bundled files, in index order; a document is taken out while it is being rewritten.
    docs: Vec<(PathBuf, Value)>,
    diags: Vec<Diagnostic>,
}

impl Bundler {
    /// Rewrite every `$ref` below `value`: local refs get `prefix` (the position of this document
    /// inside the root), external refs point into the bundle.
    fn rewrite(&mut self, value: &mut Value, base: &Path, file: &Path, prefix: &str, pointer: &str) {
        self.rewrite_in(value, base, file, prefix, pointer, false, 0)
    }

    /// `names`: the keys of `value` are names (see [`NAME_MAPS`]).
    #[allow(clippy::too_many_arguments)]
    fn rewrite_in(&mut self, value: &mut Value, base: &Path, file: &Path, prefix: &str, pointer: &str, names: bool, depth: usize) {
        if depth > 256 {
            return;
        }
        match value {
            Value::Object(map) => {
                let mut new_ref = None;
                if let Some(Value::String(r)) = map.get("$ref") {
                    new_ref = self.rewrite_ref(r, base, file, prefix, &join(pointer, "$ref"));
                }
                if let Some(r) = new_ref {
                    map.insert("$ref".to_string(), Value::String(r));
                }
                for (k, v) in map.iter_mut() {
                    // `example(s)` and `default` are data, not schema: a `$ref` key inside them is literal.
                    if !names && DATA_KEYS.contains(&k.as_str()) {
                        continue;
                    }
                    let p = join(pointer, k);
                    self.rewrite_in(v, base, file, prefix, &p, holds_names(names, k), depth + 1);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter_mut().enumerate() {
                    let p = join(pointer, &i.to_string());
                    self.rewrite_in(v, base, file, prefix, &p, false, depth + 1);
                }
            }
            _ => {}
        }
    }

    fn rewrite_ref(&mut self, r: &str, base: &Path, file: &Path, prefix: &str, at: &str) -> Option<String> {
        if let Some(fragment) = r.strip_prefix('#') {
            return if prefix.is_empty() { None } else { Some(format!("#{prefix}{fragment}")) };
        }
        if r.starts_with("http://") || r.starts_with("https://") {
            self.diags.push(Diagnostic::error(file, at, format!("remote reference {r:?} is not fetched: standin never loads specs over the network; download it and reference the local file")));
            return None;
        }
        let (file_part, fragment) = match r.split_once('#') {
            Some((f, frag)) => (f, frag),
            None => (r, ""),
        };
        let decoded = percent_encoding::percent_decode_str(file_part).decode_utf8_lossy().to_string();
        let target = base.join(decoded);
        let canonical = match target.canonicalize() {
            Ok(c) => c,
            Err(e) => {
                self.diags.push(Diagnostic::error(file, at, format!("referenced file {} cannot be read: {e}", target.display())));
                return None;
            }
        };
        let index = match self.files.get(&canonical) {
            Some(&i) => i,
            None => {
                let doc = match read_document(&canonical) {
                    Ok(d) => d,
                    Err(d) => {
                        self.diags.push(d);
                        Value::Null
                    }
                };
                let i = self.docs.len();
                self.docs.push((canonical.clone(), doc));
                self.files.insert(canonical, i);
                i
            }
        };
        Some(format!("#/{BUNDLE_KEY}/{index}{fragment}"))
    }
}

/// Check that every local `$ref` in `doc` resolves, and rewrite each to its canonical form: the
/// JSON pointer percent-encoded (RFC 6901 §6; the validator refuses a raw `{`), and a pointer
/// that passes *through* another reference (`#/paths/~1a/get/responses/200/content/...` where
/// `responses/200` is itself a `$ref`, which some tools accept) rewritten to the place it means.
/// Returns one diagnostic per reference that resolves to nothing.
pub fn normalize_refs(file: &Path, doc: &mut Value) -> Vec<Diagnostic> {
    let mut found: Vec<(String, String)> = Vec::new();
    walk_refs(doc, &mut |pointer, r| found.push((pointer.to_string(), r.to_string())));
    let mut diags = Vec::new();
    let mut rewrites = Vec::new();
    for (at, r) in found {
        let Some(fragment) = r.strip_prefix('#') else { continue };
        let decoded = percent_encoding::percent_decode_str(fragment).decode_utf8_lossy().to_string();
        let target = if doc.pointer(&decoded).is_some() { Some(decoded) } else { deep_resolve(doc, &decoded) };
        match target {
            Some(t) => {
                let canonical = format!("#{}", encode_pointer(&t));
                if canonical != r {
                    rewrites.push((at, canonical));
                }
            }
            None => diags.push(Diagnostic::error(file, &at, format!("$ref {r:?} does not resolve to anything in the document"))),
        }
    }
    for (at, canonical) in rewrites {
        if let Some(slot) = doc.pointer_mut(&at) {
            *slot = Value::String(canonical);
        }
    }
    diags
}

/// Keys whose values are data (instances), not schema or structure: walkers do not descend.
pub const DATA_KEYS: [&str; 4] = ["example", "default", "const", "enum"];

/// Keys whose value maps *names* to things (schema properties, component names): a key there is
/// a name, never a keyword, so a property called `default`, `enum` or `examples` is still a
/// schema and is walked like any other.
pub const NAME_MAPS: [&str; 12] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "schemas",
    "parameters",
    "responses",
    "requestBodies",
    "headers",
    "callbacks",
    "pathItems",
];

/// Whether the children of `key` form a name map, given whether `key` itself is a name.
pub fn holds_names(key_is_name: bool, key: &str) -> bool {
    !key_is_name && NAME_MAPS.contains(&key)
}

/// Visit every object in `value` with its JSON pointer, depth-first, not descending into keys
/// for which `skip` is true (keys of a name map are names, never skipped). Depth is bounded, so
/// a hostile document cannot overflow the stack.
pub fn walk_objects<'v>(value: &'v Value, pointer: &str, skip: &dyn Fn(&str) -> bool, f: &mut dyn FnMut(&str, &'v Map<String, Value>)) {
    // One pointer buffer for the whole walk, grown and cut back token by token: building a new
    // string per node took a good share of loading GitHub's spec (a million nodes).
    fn go<'v>(
        value: &'v Value,
        at: &mut String,
        names: bool,
        depth: usize,
        skip: &dyn Fn(&str) -> bool,
        f: &mut dyn FnMut(&str, &'v Map<String, Value>),
    ) {
        if depth > 256 {
            return;
        }
        match value {
            Value::Object(map) => {
                f(at, map);
                for (k, v) in map {
                    if (names || !skip(k)) && (v.is_object() || v.is_array()) {
                        let len = at.len();
                        push_token(at, k);
                        go(v, at, holds_names(names, k), depth + 1, skip, f);
                        at.truncate(len);
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    if v.is_object() || v.is_array() {
                        let len = at.len();
                        push_index(at, i);
                        go(v, at, false, depth + 1, skip, f);
                        at.truncate(len);
                    }
                }
            }
            _ => {}
        }
    }
    let mut at = String::with_capacity(256);
    at.push_str(pointer);
    go(value, &mut at, false, 0, skip, f)
}

fn walk_refs(value: &Value, f: &mut impl FnMut(&str, &str)) {
    walk_objects(value, "", &|k| DATA_KEYS.contains(&k), &mut |at, map| {
        if let Some(Value::String(r)) = map.get("$ref") {
            f(&join(at, "$ref"), r);
        }
    });
}
