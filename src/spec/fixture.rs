//! Fixtures: response bodies a user supplies per operation, checked against the spec at load.
//!
//! Layout of a fixture directory (`--fixtures DIR`):
//! * `DIR/<operationId>.json` — the body of the operation's default success response (its lowest
//!   2xx code);
//! * `DIR/<operationId>.<status>.json` — the body of the response declared for `<status>`
//!   (answered for `Prefer: code=<status>`);
//! * files starting with `_` are reserved for other data and skipped.
//!
//! A fixture that names no operation, names a status the operation does not declare, or does
//! not validate against its response schema is a load error: fixtures are ours, so they must
//! always be valid.

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use super::model::{is_json_mime, Operation, StatusKey};
use super::{Diagnostic, Schemas};

/// Attach every fixture in `dir` to its operation's response. Returns how many were attached.
pub fn attach(dir: &Path, ops: &mut [Operation], schemas: &Schemas, diags: &mut Vec<Diagnostic>) -> usize {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::error(dir, "", format!("fixture directory cannot be read: {e}")));
            return 0;
        }
    };
    let mut files: Vec<_> =
        entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    files.sort();
    let mut attached = 0;
    for file in files {
        let Some(stem) = file.file_stem().and_then(|s| s.to_str()) else { continue };
        if stem.starts_with('_') {
            continue;
        }
        attached += usize::from(attach_file(&file, stem, ops, schemas, diags));
    }
    attached
}

/// Attach one fixture file (`stem` is its name without `.json`): whether it was attached (a
/// mistake is a diagnostic naming the file).
fn attach_file(file: &Path, stem: &str, ops: &mut [Operation], schemas: &Schemas, diags: &mut Vec<Diagnostic>) -> bool {
    let (op_id, status) = match stem.rsplit_once('.') {
        Some((id, code)) if code.parse::<u16>().is_ok() => (id, code.parse::<u16>().ok()),
        _ => (stem, None),
    };
    let Some(op) = ops.iter_mut().find(|o| o.operation_id.as_deref() == Some(op_id)) else {
        diags.push(Diagnostic::error(file, "", format!("fixture names operationId {op_id:?}, which the spec does not have")));
        return false;
    };
    let label = op.label().to_string();
    let response = match status {
        None => {
            let idx = op.default_response().map(|r| r.status);
            idx.and_then(|s| op.responses.iter_mut().find(|r| r.status == s))
        }
        Some(code) => op.responses.iter_mut().find(|r| r.status == StatusKey::Code(code)).or(None),
    };
    let Some(response) = response else {
        diags.push(Diagnostic::error(
            file,
            "",
            format!(
                "operation {label} declares no response for this fixture ({})",
                status.map_or("no success response".to_string(), |s| format!("status {s}"))
            ),
        ));
        return false;
    };
    let Some(media) = response.content.iter_mut().find(|m| is_json_mime(&m.mime)) else {
        diags.push(Diagnostic::error(file, "", format!("response {} of {label} has no JSON content to hold a fixture", response.status)));
        return false;
    };
    let body = match std::fs::read_to_string(file).map_err(|e| e.to_string()).and_then(|t| {
        serde_json::from_str::<Value>(&t).map_err(|e| format!("invalid JSON at line {} column {}: {e}", e.line(), e.column()))
    }) {
        Ok(b) => b,
        Err(e) => {
            diags.push(Diagnostic::error(file, "", e));
            return false;
        }
    };
    if let Some(schema) = &media.schema {
        match schemas.compile_pointer(super::View::Response, schema) {
            Ok(v) => {
                let mut bad = false;
                for err in v.iter_errors(&body) {
                    bad = true;
                    diags.push(Diagnostic::error(
                        file,
                        err.instance_path().to_string(),
                        format!(
                            "fixture does not match the response schema of {label} ({}): {}",
                            response.status,
                            crate::util::text::short(&err.to_string())
                        ),
                    ));
                }
                if bad {
                    return false;
                }
            }
            Err(e) => {
                diags.push(Diagnostic::error(file, "", format!("response schema of {label} cannot be compiled: {e}")));
                return false;
            }
        }
    }
    media.fixture = Some(Arc::new(body));
    true
}
