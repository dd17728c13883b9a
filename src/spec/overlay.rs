//! OpenAPI Overlay 1.0 documents (`--overlay FILE`): change a vendor's own, unmodified spec —
//! typically to add the `x-standin` block — without editing it.
//!
//! ```yaml
//! overlay: 1.0.0
//! info: { title: Vendor behaviour for standin, version: 1.0.0 }
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
//! appended to, other values replaced); `remove` deletes the selected values. Targets are
//! JSONPath (RFC 9535, as Overlay 1.0 asks): `$.paths['/a'].get`, `$.paths.*.get`,
//! `$..parameters`, `$.tags[?@.name == 'internal']`. Each match is turned into a JSON pointer
//! and changed there. A target that selects nothing is a warning.
//!
//! Takes the parsed spec document and the overlay files; hands the changed document on to
//! bundling and conversion (the overlay runs before either).

use std::path::Path;

use serde_json::Value;

use super::error::Diagnostic;
use crate::util::pointer::unescape_token;

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
        let pointers = match select(doc, target) {
            Ok(p) => p,
            Err(e) => {
                diags.push(Diagnostic::error(file, format!("{at}/target"), format!("{target:?}: {e}")));
                continue;
            }
        };
        if pointers.is_empty() {
            diags.push(Diagnostic::warning(file, format!("{at}/target"), format!("{target:?} selects nothing in the spec")));
            continue;
        }
        let remove = action.get("remove") == Some(&Value::Bool(true));
        // Last first: removing an array item does not shift the ones still to visit, and a
        // descendant (`$..x` selects nested matches) goes before its ancestor.
        for pointer in pointers.iter().rev() {
            if remove {
                remove_at(doc, pointer);
            } else if let (Some(update), Some(slot)) = (action.get("update"), doc.pointer_mut(pointer)) {
                merge(slot, update.clone());
            }
        }
    }
}

/// The JSON pointers of every value the JSONPath `target` selects, in the order the query
/// yields them (array items by index, a node before its descendants), each once.
fn select(doc: &Value, target: &str) -> Result<Vec<String>, String> {
    let path = serde_json_path::JsonPath::parse(target.trim()).map_err(|e| e.to_string())?;
    let mut pointers: Vec<String> = path.query_located(doc).locations().map(|l| l.to_json_pointer()).collect();
    let mut seen = std::collections::HashSet::new();
    pointers.retain(|p| seen.insert(p.clone()));
    Ok(pointers)
}

fn remove_at(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = pointer.rsplit_once('/') else { return };
    let key = unescape_token(last);
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
        assert_eq!(select(&doc, "$.paths['/a'].get").unwrap(), vec!["/paths/~1a/get"]);
        assert_eq!(select(&doc, "$.paths.*.get").unwrap(), vec!["/paths/~1a/get", "/paths/~1b/get"]);
        assert!(select(&doc, "$.paths[").is_err(), "a target that does not parse is an error");
        assert!(select(&doc, "paths").is_err(), "a target starts with `$`");
    }

    #[test]
    fn descendant_targets_select_at_every_depth() {
        let doc = json!({"paths": {"/a": {"get": {"parameters": [{"name": "q"}]}}, "/b": {"parameters": []}}, "parameters": {}});
        let mut got = select(&doc, "$..parameters").unwrap();
        got.sort();
        assert_eq!(got, vec!["/parameters", "/paths/~1a/get/parameters", "/paths/~1b/parameters"]);
    }

    #[test]
    fn filter_targets_select_by_a_member_value() {
        let mut doc = json!({"tags": [{"name": "public"}, {"name": "internal"}, {"name": "internal", "x": 1}]});
        assert_eq!(select(&doc, "$.tags[?@.name == 'internal']").unwrap(), vec!["/tags/1", "/tags/2"]);
        // Removing both matches, last first, leaves the other item in place.
        for p in select(&doc, "$.tags[?@.name == 'internal']").unwrap().iter().rev() {
            remove_at(&mut doc, p);
        }
        assert_eq!(doc, json!({"tags": [{"name": "public"}]}));
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
