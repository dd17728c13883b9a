//! Spec linting: problems serving does not need to look for, found by `standin check`.
//!
//! Reads the spec with the eyes of the later stages (response validation, generation bounds,
//! the sandbox's inferred resources, the route table), so it sits beside them, not in `spec/`.
//!
//! Takes a loaded [`Spec`]; hands back warnings ([`Diagnostic`]s with file and pointer):
//! examples that break their own schema, formats standin does not check, schemas generation has
//! to bound, `x-standin` actions naming operations or resources that do not exist, and route
//! conflicts. Nothing here runs when serving.

use std::collections::HashMap;

use crate::spec::{Diagnostic, Spec, View};

/// Problems serving does not need to look for: examples that break their own schema, and route
/// conflicts.
pub fn lint(spec: &Spec) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for op in &spec.operations {
        for response in &op.responses {
            for media in &response.content {
                let (Some(schema), false) = (&media.schema, media.examples.is_empty()) else { continue };
                let Ok(validator) = spec.schemas.compile_pointer(View::Response, schema) else { continue };
                for (name, pointer) in &media.examples {
                    let Some(example) = spec.schemas.response.pointer(pointer) else { continue };
                    if let Some(err) = validator.iter_errors(example).next() {
                        let at = schema.strip_suffix("/schema").unwrap_or(schema);
                        let pointer = if name == "example" { format!("{at}/example") } else { format!("{at}/examples/{name}") };
                        out.push(Diagnostic::warning(
                            &spec.file,
                            pointer,
                            format!(
                                "example does not match its schema at {:?}: {}",
                                err.instance_path().as_str(),
                                crate::util::text::short(&err.to_string())
                            ),
                        ));
                    }
                }
            }
        }
    }
    unknown_formats(spec, &mut out);
    generation_bounds(spec, &mut out);
    // Declared actions must name operations and inferred resources.
    let resources = crate::state::infer::infer(spec);
    let has = |c: &str| resources.iter().any(|r| r.collection == c);
    for (id, action) in &spec.ext.actions {
        let at = format!("/x-standin/actions/{}", crate::util::pointer::escape_token(id));
        if !spec.operations.iter().any(|o| o.operation_id.as_deref() == Some(id)) {
            out.push(Diagnostic::warning(&spec.file, &at, format!("action for operationId {id:?}, which the spec does not have")));
        }
        for c in action.target.iter().chain(action.create.as_ref().map(|c| &c.collection)) {
            if !has(c) {
                out.push(Diagnostic::warning(
                    &spec.file,
                    &at,
                    format!("{c} is not a resource standin infers (a collection path with an item path)"),
                ));
            }
        }
    }
    let (_, route_warnings) = crate::routes::RouteTable::build(spec);
    out.extend(route_warnings);
    out
}

/// Formats standin validates or generates; others are accepted as any string (and listed once).
const KNOWN_FORMATS: [&str; 30] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
    "int32",
    "int64",
    "float",
    "double",
    "byte",
    "binary",
    "password",
    "url",
    "decimal",
    "uint64",
    "phone",
];

fn unknown_formats(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let mut seen = std::collections::HashSet::new();
    let skip =
        |k: &str| matches!(k, "examples" | "info" | "servers" | "tags") || k.starts_with("x-") || crate::spec::load::DATA_KEYS.contains(&k);
    crate::spec::load::walk_objects(&spec.schemas.response, "", &skip, &mut |at, map| {
        if let Some(serde_json::Value::String(f)) = map.get("format") {
            if !KNOWN_FORMATS.contains(&f.as_str()) && seen.insert(f.clone()) {
                out.push(Diagnostic::warning(
                    &spec.file,
                    format!("{at}/format"),
                    format!("unknown format {f:?} is not checked (first use shown)"),
                ));
            }
        }
    });
}

/// Schemas generation has to bound: `minItems` above the array cap, patterns that cannot be
/// generated (look-around, backreferences, or strings longer than 4,096 characters).
fn generation_bounds(spec: &Spec, out: &mut Vec<Diagnostic>) {
    let mut generatable: HashMap<String, bool> = HashMap::new();
    let skip =
        |k: &str| matches!(k, "examples" | "info" | "servers" | "tags") || k.starts_with("x-") || crate::spec::load::DATA_KEYS.contains(&k);
    crate::spec::load::walk_objects(&spec.schemas.response, "", &skip, &mut |at, map| {
        if let Some(n) =
            map.get("minItems").and_then(serde_json::Value::as_u64).filter(|n| *n as usize > crate::respond::generate::MAX_ARRAY)
        {
            out.push(Diagnostic::warning(
                &spec.file,
                format!("{at}/minItems"),
                format!(
                    "minItems {n}: generated arrays are capped at {} items, so generated bodies do not satisfy it",
                    crate::respond::generate::MAX_ARRAY
                ),
            ));
        }
        if let Some(p) = map.get("pattern").and_then(serde_json::Value::as_str) {
            let ok = *generatable.entry(p.to_string()).or_insert_with(|| crate::respond::generate::generatable(p));
            if !ok {
                out.push(Diagnostic::warning(&spec.file, format!("{at}/pattern"), format!("strings matching {p:?} cannot be generated (unsupported syntax, or longer than 4,096 characters); generated values are plain words")));
            }
        }
    });
}
