//! Documented against inferred contracts. A spec written from a vendor's prose has two kinds of
//! constraint: what the vendor documents, and what its author inferred (a field set, required
//! fields, `additionalProperties: false`) where the documentation is silent. A request that
//! breaks a documented constraint is refused; one that breaks only inferred ones is answered,
//! with an `X-Standin-Warning` and a journal violation of kind `warning`.
//!
//! How a spec marks what is inferred:
//! - `x-standin-inferred: true` on a schema: the schema and everything in it (its properties,
//!   items, compositions) is inferred;
//! - `x-standin-inferred: [required, additionalProperties]` on a schema: only those keywords of
//!   that schema are inferred (the field set was guessed, the documented fields' types were not);
//! - `x-standin-inferred: true` on an operation: every parameter and body constraint of that
//!   operation is inferred (the endpoint itself is inferred);
//! - the `x-standin` block's `inferred` list, for specs one does not want to edit: schema
//!   pointers (`#/components/schemas/InvoiceCreate`) and operationIds.
//!
//! Takes the request view (after conversion) and the `x-standin` block; hands on the sorted
//! pointers of the inferred schemas and sets [`Operation::inferred`]. Request validation then
//! tells a problem's kind by where in the document the failing keyword sits (see
//! [`is_inferred`]), so nothing is compiled twice and a valid request costs nothing extra.

use serde_json::Value;

use super::ext::Extension;
use super::model::Operation;

/// The marker key, on a schema or an operation.
pub const MARKER: &str = "x-standin-inferred";

/// Collect the inferred schemas of `request` (sorted, without the `#`) and mark the inferred
/// operations (`doc` is the response view, whose operation objects are intact).
pub fn mark(request: &Value, doc: &Value, ext: &Extension, operations: &mut [Operation]) -> Vec<String> {
    let mut pointers: Vec<String> = ext.inferred.iter().filter_map(|e| e.strip_prefix('#')).map(str::to_string).collect();
    // Only specs that use the marker pay for the walk (a text search is far cheaper than the walk
    // on a large spec, and most specs have no marker at all).
    if mentions_marker(request) {
        super::load::walk_objects(request, "", &|k| k == "examples" || super::load::DATA_KEYS.contains(&k), &mut |at, map| match map
            .get(MARKER)
        {
            Some(Value::Bool(true)) => pointers.push(at.to_string()),
            Some(Value::Array(keywords)) => {
                for k in keywords.iter().filter_map(Value::as_str) {
                    let mut p = at.to_string();
                    crate::util::pointer::push_token(&mut p, k);
                    pointers.push(p);
                }
            }
            _ => {}
        });
    }
    follow_refs(request, &mut pointers);
    for op in operations {
        let listed = op.operation_id.as_deref().is_some_and(|id| ext.inferred.iter().any(|e| e == id));
        let marked = doc.pointer(&op.pointer).and_then(|o| o.get(MARKER)) == Some(&Value::Bool(true));
        op.inferred = listed || marked;
    }
    pointers
}

/// Add what the wholly inferred schemas reference, transitively (an inferred body's `Currency`
/// enum is as inferred as the body), then sort. Keyword-level entries (`…/required`) reference
/// nothing and are kept as they are.
fn follow_refs(request: &Value, pointers: &mut Vec<String>) {
    let mut seen: std::collections::HashSet<String> = pointers.iter().cloned().collect();
    let mut work: Vec<String> = pointers.clone();
    while let Some(at) = work.pop() {
        let Some(node) = request.pointer(&at) else { continue };
        super::load::walk_objects(node, "", &|k| k == "examples" || super::load::DATA_KEYS.contains(&k), &mut |_, map| {
            let Some(target) = map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) else { return };
            let target = percent_encoding::percent_decode_str(target).decode_utf8_lossy().into_owned();
            if seen.insert(target.clone()) {
                pointers.push(target.clone());
                work.push(target);
            }
        });
    }
    pointers.sort();
    pointers.dedup();
}

/// Whether any object of `value` has the marker key (a cheap pre-check before the full walk).
pub(crate) fn mentions_marker(value: &Value) -> bool {
    fn go(v: &Value, depth: usize) -> bool {
        match v {
            Value::Object(m) if depth < 256 => m.contains_key(MARKER) || m.values().any(|c| go(c, depth + 1)),
            Value::Array(a) if depth < 256 => a.iter().any(|c| go(c, depth + 1)),
            _ => false,
        }
    }
    go(value, 0)
}

/// Whether the keyword at `location` (a JSON pointer into the request view) lies inside one of
/// the `inferred` schemas (sorted, as [`mark`] returns them).
pub fn is_inferred(inferred: &[String], location: &str) -> bool {
    // A spec marks a few dozen schemas at most: a scan is as fast as anything cleverer, and it
    // runs only for a request that broke something.
    inferred.iter().any(|p| location.strip_prefix(p.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_inferred_inside_a_marked_schema_only() {
        let inferred = vec!["/components/schemas/A".to_string(), "/components/schemas/C/properties/x".to_string()];
        assert!(is_inferred(&inferred, "/components/schemas/A"));
        assert!(is_inferred(&inferred, "/components/schemas/A/required"));
        assert!(is_inferred(&inferred, "/components/schemas/A/properties/b/maxLength"));
        assert!(!is_inferred(&inferred, "/components/schemas/AB/required"), "a name sharing a prefix is another schema");
        assert!(!is_inferred(&inferred, "/components/schemas/B/required"));
        assert!(is_inferred(&inferred, "/components/schemas/C/properties/x/type"));
        assert!(!is_inferred(&inferred, "/components/schemas/C/required"));
        assert!(!is_inferred(&[], "/components/schemas/A"));
    }

    #[test]
    fn markers_are_found_at_any_depth() {
        let doc = serde_json::json!({"components": {"schemas": {
            "A": {"type": "object", "x-standin-inferred": true},
            "B": {"type": "object", "properties": {"c": {"type": "string", "x-standin-inferred": true}}},
            "D": {"type": "object"},
            "E": {"type": "object", "x-standin-inferred": ["required", "additionalProperties"], "properties": {"f": {"$ref": "#/components/schemas/G"}}},
            "F": {"x-standin-inferred": true, "properties": {"g": {"$ref": "#/components/schemas/G"}}},
            "G": {"type": "string"}
        }}});
        let ext = Extension { inferred: vec!["#/components/schemas/D".into()], ..Extension::default() };
        let found = mark(&doc, &doc, &ext, &mut []);
        assert_eq!(
            found,
            vec![
                "/components/schemas/A",
                "/components/schemas/B/properties/c",
                "/components/schemas/D",
                "/components/schemas/E/additionalProperties",
                "/components/schemas/E/required",
                "/components/schemas/F",
                "/components/schemas/G"
            ]
        );
    }
}
