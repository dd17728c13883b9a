//! Security schemes and requirements, lowered from `components.securitySchemes` and `security`.
//!
//! An operation's requirement is a list of alternatives (OR), each a list of schemes (AND), as
//! in OpenAPI 3 §4.8.30. An empty list means no authentication; an empty alternative (`{}`)
//! means authentication is optional.
//!
//! Takes the bundled document and the lowered operations; hands on the [`Scheme`]s and, on each
//! operation, the indexes of the schemes each alternative needs (read by authentication).

use serde_json::Value;

use super::error::Diagnostic;
use super::model::Operation;
use crate::util::pointer::{deref, escape_token};

/// Where a credential travels and how it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemeKind {
    /// `apiKey` in a header (name compared case-insensitively), query parameter or cookie.
    ApiKey { location: KeyLocation, name: String },
    /// `http` `basic`: `Authorization: Basic base64(user:password)`.
    Basic,
    /// `http` `bearer`, and `oauth2`/`openIdConnect` (a bearer token in practice).
    Bearer,
}

/// Where an API key travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyLocation {
    Header,
    Query,
    Cookie,
}

/// A named security scheme.
#[derive(Debug, Clone)]
pub struct Scheme {
    pub name: String,
    pub kind: SchemeKind,
}

/// Read `components.securitySchemes`. Unsupported schemes (mutualTLS, other http schemes) are
/// warnings: operations that need only them are served without checking credentials.
pub fn read_schemes(file: &std::path::Path, doc: &Value, diags: &mut Vec<Diagnostic>) -> Vec<Scheme> {
    let mut out = Vec::new();
    let Some(map) = doc.pointer("/components/securitySchemes").and_then(Value::as_object) else { return out };
    for (name, s) in map {
        let at = format!("/components/securitySchemes/{}", escape_token(name));
        let s = match deref(doc, s, &at) {
            Ok((s, _)) => s,
            Err(e) => {
                diags.push(Diagnostic::error(file, &at, e));
                continue;
            }
        };
        let kind = match (s.get("type").and_then(Value::as_str), s.get("scheme").and_then(Value::as_str).map(str::to_ascii_lowercase)) {
            (Some("apiKey"), _) => {
                let location = match s.get("in").and_then(Value::as_str) {
                    Some("header") => KeyLocation::Header,
                    Some("query") => KeyLocation::Query,
                    Some("cookie") => KeyLocation::Cookie,
                    other => {
                        diags.push(Diagnostic::error(file, &at, format!("apiKey scheme {name:?} has invalid `in`: {other:?}")));
                        continue;
                    }
                };
                let Some(key) = s.get("name").and_then(Value::as_str) else {
                    diags.push(Diagnostic::error(file, &at, format!("apiKey scheme {name:?} has no `name`")));
                    continue;
                };
                SchemeKind::ApiKey { location, name: key.to_string() }
            }
            (Some("http"), Some(ref scheme)) if scheme == "basic" => SchemeKind::Basic,
            (Some("http"), Some(ref scheme)) if scheme == "bearer" => SchemeKind::Bearer,
            (Some("oauth2" | "openIdConnect"), _) => SchemeKind::Bearer,
            (ty, scheme) => {
                diags.push(Diagnostic::warning(file, &at, format!("security scheme {name:?} ({ty:?} {scheme:?}) is not checked")));
                continue;
            }
        };
        out.push(Scheme { name: name.clone(), kind });
    }
    out
}

/// Resolve the requirement of every operation (its own `security`, else the document's).
pub fn attach_requirements(file: &std::path::Path, doc: &Value, schemes: &[Scheme], ops: &mut [Operation], diags: &mut Vec<Diagnostic>) {
    let root = doc.get("security");
    for op in ops {
        let own = doc.pointer(&op.pointer).and_then(|o| o.get("security"));
        let (req, at) = match (own, root) {
            (Some(r), _) => (r, format!("{}/security", op.pointer)),
            (None, Some(r)) => (r, "/security".to_string()),
            (None, None) => continue,
        };
        let Some(alternatives) = req.as_array() else {
            diags.push(Diagnostic::error(file, &at, "`security` must be an array"));
            continue;
        };
        let mut out = Vec::new();
        for alt in alternatives {
            let Some(alt) = alt.as_object() else { continue };
            let mut all = Vec::new();
            let mut usable = true;
            for name in alt.keys() {
                match schemes.iter().position(|s| s.name == *name) {
                    Some(i) => all.push(i),
                    None => usable = false, // unknown or unsupported scheme: this alternative is not checked
                }
            }
            if usable {
                out.push(all);
            } else if alternatives.len() == 1 {
                // The only alternative cannot be checked: serve without authentication.
                out.clear();
                break;
            }
        }
        op.security = out;
    }
}
