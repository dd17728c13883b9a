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
//!
//! # What a spec may make standin read
//! A spec is input, possibly someone else's. Every file is read with a size cap checked while
//! reading ([`MAX_SPEC_BYTES`]; `metadata().len()` is 0 for `/dev/zero` and pipes). A `$ref`
//! target must be a regular file (not `/dev/zero`, `/dev/stdin`, a FIFO, a directory) under the
//! root spec's folder, symlinks resolved first, or under a folder named in the
//! [`REF_ROOTS_ENV`] variable (`:`-separated): a spec cannot read `/etc/passwd` or `~/.ssh` into
//! the served documents. The root spec and overlays, named by the user, may be any readable file
//! (a pipe from `<(…)` too), size-capped all the same. Flow collections (`[`, `{`) nested deeper
//! than [`MAX_FLOW_DEPTH`] are refused by a pre-scan before the YAML parser sees the text:
//! libyaml's cost grows with the square of the depth (100,000 brackets took 23 s), and the
//! deserializer refuses anything past 128 levels anyway.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::error::Diagnostic;
use crate::util::pointer::{deep_resolve, join, push_index};
// The pointer helpers live in `util::pointer`; these names stay for the stages that use them.
pub use crate::util::pointer::{deref, encode_pointer, get as pointer, push_token, resolve_fragment as resolve_pointer};

/// The key of the root document under which referenced files are bundled.
pub const BUNDLE_KEY: &str = "x-standin-bundle";

/// Files larger than this are refused, checked while reading (a spec is text; GitHub's is
/// 13 MB, MS Graph's 47 MB).
pub const MAX_SPEC_BYTES: u64 = 256 * 1024 * 1024;

/// Deepest nesting of YAML flow collections (`[…]`, `{…}`) read (see the module doc).
pub const MAX_FLOW_DEPTH: usize = 256;

/// Folders besides the root spec's that `$ref`s may read from, `:`-separated.
pub const REF_ROOTS_ENV: &str = "STANDIN_REF_ROOTS";

/// Read and parse one YAML or JSON file (the root spec or an overlay: any readable file).
pub fn read_document(path: &Path) -> Result<Value, Diagnostic> {
    let file = std::fs::File::open(path).map_err(|e| Diagnostic::error(path, "", format!("cannot read file: {e}")))?;
    let text = read_capped(path, file)?;
    parse_document(path, &text)
}

/// The whole of `file` as text, refused past [`MAX_SPEC_BYTES`] without reading further.
fn read_capped(path: &Path, file: std::fs::File) -> Result<String, Diagnostic> {
    use std::io::Read;
    // Sized from the file's length up front (a regular file's is known): growing by doubling
    // touched twice the pages of a 45 MB spec.
    let hint = file.metadata().map_or(0, |m| m.len().min(MAX_SPEC_BYTES)) as usize;
    let mut bytes = Vec::with_capacity(hint + 1);
    file.take(MAX_SPEC_BYTES + 1).read_to_end(&mut bytes).map_err(|e| Diagnostic::error(path, "", format!("cannot read file: {e}")))?;
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(Diagnostic::error(path, "", format!("file is over the {MAX_SPEC_BYTES}-byte limit ({} MiB)", MAX_SPEC_BYTES >> 20)));
    }
    String::from_utf8(bytes).map_err(|e| Diagnostic::error(path, "", format!("cannot read file: not UTF-8 text ({e})")))
}

/// What kind of file `t` is, for a message (`a character device`).
fn kind_of(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Whether flow collections in YAML `text` nest deeper than `limit`: the line where they do.
///
/// Two counts, either can trip it: one that skips quoted scalars and comments (a quote opens
/// only where a scalar can start), and one that counts every bracket. The first alone is blinded
/// by a stray quote that never closes, the second alone by closing brackets inside strings; a
/// false alarm needs hundreds of unbalanced brackets inside strings or block scalars.
fn flow_depth_over(text: &str, limit: usize) -> Option<usize> {
    let (mut aware, mut plain, mut line) = (0usize, 0usize, 1usize);
    // `last`: the last byte that was not a space (or a newline); `prev`: the byte before.
    let (mut quote, mut last, mut prev) = (None::<u8>, b'\n', b'\n');
    let mut bytes = text.bytes().peekable();
    while let Some(b) = bytes.next() {
        if b == b'\n' {
            line += 1;
        }
        match b {
            b'[' | b'{' => plain += 1,
            b']' | b'}' => plain = plain.saturating_sub(1),
            _ => {}
        }
        match (quote, b) {
            // An escaped character (a newline is left to the loop, which counts it).
            (Some(b'"'), b'\\') => {
                bytes.next_if(|&c| c != b'\n');
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') if matches!(last, b'\n' | b':' | b'-' | b'[' | b'{' | b',' | b'?') => quote = Some(b),
            (None, b'#') if prev.is_ascii_whitespace() => {
                // A comment, to the end of the line.
                while let Some(&c) = bytes.peek() {
                    if c == b'\n' {
                        break;
                    }
                    bytes.next();
                }
            }
            (None, b'[' | b'{') => aware += 1,
            (None, b']' | b'}') => aware = aware.saturating_sub(1),
            _ => {}
        }
        if aware > limit || plain > limit {
            return Some(line);
        }
        if b == b'\n' || !b.is_ascii_whitespace() {
            last = b;
        }
        prev = b;
    }
    None
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
    if let Some(line) = flow_depth_over(text, MAX_FLOW_DEPTH) {
        return Err(Diagnostic::error(
            path,
            "",
            format!("invalid YAML at line {line}: flow collections (`[`, `{{`) nested deeper than {MAX_FLOW_DEPTH} levels"),
        ));
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
    let base = root_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let base = if base.as_os_str().is_empty() { PathBuf::from(".") } else { base };
    let extra = std::env::var_os(REF_ROOTS_ENV).unwrap_or_default();
    let roots = std::iter::once(base.clone()).chain(std::env::split_paths(&extra)).filter_map(|r| r.canonicalize().ok()).collect();
    let mut bundler = Bundler { files: HashMap::new(), docs: Vec::new(), diags: Vec::new(), roots };
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
    /// Folders `$ref` targets must be under (canonical): the root spec's and [`REF_ROOTS_ENV`].
    roots: Vec<PathBuf>,
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
                let doc = match self.read_target(&canonical, file, at) {
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

    /// Read a `$ref` target (canonical path): a regular file under one of the roots. Errors
    /// name the referring file and pointer, and the target.
    fn read_target(&self, target: &Path, file: &Path, at: &str) -> Result<Value, Diagnostic> {
        // `stat` first: opening a FIFO would block until something writes to it; the open file
        // is checked again (it may have been swapped in between).
        let cannot = |e: std::io::Error| Diagnostic::error(file, at, format!("referenced file {} cannot be read: {e}", target.display()));
        let irregular = |kind| {
            Diagnostic::error(
                file,
                at,
                format!("referenced file {} is {}: references are read only from regular files", target.display(), kind_of(kind)),
            )
        };
        let kind = std::fs::metadata(target).map_err(cannot)?.file_type();
        if !kind.is_file() {
            return Err(irregular(kind));
        }
        if !self.roots.iter().any(|r| target.starts_with(r)) {
            let root = self.roots.first().map_or_else(String::new, |r| format!(" {}", r.display()));
            return Err(Diagnostic::error(file, at, format!("referenced file {} is outside the spec's folder{root}: references are read only under it (name more folders in {REF_ROOTS_ENV}, `:`-separated)", target.display())));
        }
        let handle = std::fs::File::open(target).map_err(cannot)?;
        let kind = handle.metadata().map_err(cannot)?.file_type();
        if !kind.is_file() {
            return Err(irregular(kind));
        }
        let text = read_capped(target, handle)
            .map_err(|d| Diagnostic::error(file, at, format!("referenced file {}: {}", target.display(), d.message)))?;
        parse_document(target, &text)
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
