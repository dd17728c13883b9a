//! OpenAPI Overlay 1.0 documents (`--overlay FILE`): change a vendor's own, unmodified spec —
//! typically to add the `x-standin` block — without editing it.
//!
//! ```yaml
//! overlay: 1.0.0
//! info: { title: Bench behaviour for standin, version: 1.0.0 }
//! actions:
//!   - target: $                          # the document root
//!     update: { x-standin: { rateLimit: { window: 60, limit: 60 } } }
//!   - target: $.paths['/agent/deals'].get
//!     update: { x-standin-list-key: deals }
//!   - target: $.paths['/internal']
//!     remove: true
//! ```
//!
//! `update` merges into every object the target selects (objects merge recursively, arrays are
//! appended to, other values replaced); `remove` deletes the selected values. Targets are a
//! JSONPath subset: `$`, `.name`, `['name']`, `[n]`, `[*]`, `.*` (enough for the paths of an
//! OpenAPI document). A target that selects nothing is a warning.

use std::path::Path;

use serde_json::Value;

use super::error::{escape_token, Diagnostic};

/// Apply an overlay file to `doc`. Errors and warnings name the overlay file and the action.
pub fn apply(file: &Path, doc: &mut Value, diags: &mut Vec<Diagnostic>) {
    let overlay = match super::load::read_document(file) {
        Ok(o) => o,
        Err(d) => return diags.push(d),
    };
    if !overlay.get("overlay").and_then(Value::as_str).is_some_and(|v| v.starts_with("1.")) {
        diags.push(Diagnostic::error(file, "/overlay", "not an OpenAPI Overlay 1.x document (expected `overlay: 1.0.0`)"));
        return;
    }
    let Some(actions) = overlay.get("actions").and_then(Value::as_array) else {
        diags.push(Diagnostic::error(file, "/actions", "an overlay needs an `actions` array"));
        return;
    };
    for (i, action) in actions.iter().enumerate() {
        let at = format!("/actions/{i}");
        let Some(target) = action.get("target").and_then(Value::as_str) else {
            diags.push(Diagnostic::error(file, format!("{at}/target"), "an action needs a `target`"));
            continue;
        };
        let segments = match parse(target) {
            Ok(s) => s,
            Err(e) => {
                diags.push(Diagnostic::error(file, format!("{at}/target"), format!("{target:?}: {e}")));
                continue;
            }
        };
        let pointers = select(doc, &segments);
        if pointers.is_empty() {
            diags.push(Diagnostic::warning(file, format!("{at}/target"), format!("{target:?} selects nothing in the spec")));
            continue;
        }
        let remove = action.get("remove") == Some(&Value::Bool(true));
        for pointer in pointers.iter().rev() {
            if remove {
                remove_at(doc, pointer);
            } else if let (Some(update), Some(slot)) = (action.get("update"), doc.pointer_mut(pointer)) {
                merge(slot, update.clone());
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Key(String),
    Index(usize),
    Wildcard,
}

fn parse(path: &str) -> Result<Vec<Segment>, String> {
    let mut rest = path.trim().strip_prefix('$').ok_or("a target starts with `$`")?;
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix(".*") {
            out.push(Segment::Wildcard);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return Err("empty name after `.`".into());
            }
            out.push(Segment::Key(r[..end].to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix("[*]") {
            out.push(Segment::Wildcard);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('[') {
            let quote = r.chars().next().filter(|c| *c == '\'' || *c == '"');
            match quote {
                Some(q) => {
                    let close = r[1..].find(q).ok_or("unterminated quoted name")? + 1;
                    out.push(Segment::Key(r[1..close].to_string()));
                    rest = r[close + 1..].strip_prefix(']').ok_or("expected `]` after a quoted name")?;
                }
                None => {
                    let close = r.find(']').ok_or("expected `]`")?;
                    let n = r[..close].trim().parse().map_err(|_| format!("unsupported selector [{}]", &r[..close]))?;
                    out.push(Segment::Index(n));
                    rest = &r[close + 1..];
                }
            }
        } else {
            return Err(format!("unsupported syntax at {rest:?} (supported: .name, ['name'], [n], [*], .*)"));
        }
    }
    Ok(out)
}

/// The JSON pointers of every value `segments` selects.
fn select(doc: &Value, segments: &[Segment]) -> Vec<String> {
    let mut current = vec![(String::new(), doc)];
    for seg in segments {
        let mut next = Vec::new();
        for (p, v) in current {
            match (seg, v) {
                (Segment::Key(k), Value::Object(m)) => {
                    if let Some(c) = m.get(k) {
                        next.push((format!("{p}/{}", escape_token(k)), c));
                    }
                }
                (Segment::Index(i), Value::Array(a)) => {
                    if let Some(c) = a.get(*i) {
                        next.push((format!("{p}/{i}"), c));
                    }
                }
                (Segment::Wildcard, Value::Object(m)) => next.extend(m.iter().map(|(k, c)| (format!("{p}/{}", escape_token(k)), c))),
                (Segment::Wildcard, Value::Array(a)) => next.extend(a.iter().enumerate().map(|(i, c)| (format!("{p}/{i}"), c))),
                _ => {}
            }
        }
        current = next;
    }
    current.into_iter().map(|(p, _)| p).collect()
}

fn remove_at(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else { return };
    let key = super::error::unescape_token(last);
    match doc.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.shift_remove(&key);
        }
        Some(Value::Array(a)) => {
            if let Ok(i) = key.parse::<usize>() {
                if i < a.len() {
                    a.remove(i);
                }
            }
        }
        _ => {}
    }
}

fn merge(target: &mut Value, update: Value) {
    match (target, update) {
        (Value::Object(t), Value::Object(u)) => {
            for (k, v) in u {
                match t.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        t.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(u)) => t.extend(u),
        (t, u) => *t = u,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_select_paths_with_slashes_and_wildcards() {
        let doc = json!({"paths": {"/a": {"get": {"x": 1}, "post": {}}, "/b": {"get": {}}}});
        assert_eq!(select(&doc, &parse("$.paths['/a'].get").unwrap()), vec!["/paths/~1a/get"]);
        assert_eq!(select(&doc, &parse("$.paths.*.get").unwrap()), vec!["/paths/~1a/get", "/paths/~1b/get"]);
        assert!(parse("$..deep").is_err());
    }

    #[test]
    fn update_merges_and_remove_deletes() {
        let mut doc = json!({"info": {"title": "t"}, "tags": [1], "paths": {"/x": {}}});
        merge(&mut doc, json!({"info": {"version": "2"}, "tags": [2]}));
        assert_eq!(doc["info"], json!({"title": "t", "version": "2"}));
        assert_eq!(doc["tags"], json!([1, 2]));
        remove_at(&mut doc, "/paths/~1x");
        assert_eq!(doc["paths"], json!({}));
    }
}
