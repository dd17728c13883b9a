//! Route table: from a request path and method to an operation, built once per spec.
//!
//! Built at load from the spec's operations, read-only afterwards, shared by all requests.
//! Hands the pipeline a [`RouteMatch`]: the operation index and its decoded path parameters.
//!
//! # Implementation rationale
//! axum's own router (matchit 0.8) panics on real-world templates such as `/files/{name}.json`
//! and `/v1/{name}:cancel`, and a panic at startup is not an error message. We route with
//! matchit 0.9 behind one fallback handler, which accepts those, returns errors instead of
//! panicking, and lets us answer 404/405 in the API's own error format. Templates matchit still
//! refuses (two variables in one segment, `/{a}.{b}`) go to a small segment matcher instead.

use std::collections::BTreeSet;

use axum::http::Method;

use crate::spec::{Diagnostic, Spec};

/// All routes of one spec.
#[derive(Debug)]
pub struct RouteTable {
    /// Path template router; each value indexes `paths`.
    router: matchit::Router<usize>,
    /// Templates matchit refuses, matched segment by segment (rare).
    fallback: Vec<(Vec<Segment>, usize)>,
    /// One entry per distinct path template.
    paths: Vec<PathEntry>,
}

#[derive(Debug)]
struct PathEntry {
    /// `(method, operation index)`, one per declared method.
    methods: Vec<(Method, usize)>,
    /// Parameter names in template order.
    names: Vec<String>,
}

/// The result of a lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// The operation (index into `Spec::operations`) and its percent-decoded path parameters.
    Found {
        operation: usize,
        params: Vec<(String, String)>,
    },
    /// The path exists but not with this method; `allow` lists the methods that do.
    MethodNotAllowed {
        allow: Vec<Method>,
    },
    NotFound,
}

/// One segment of a fallback template: literal text and variables, alternating.
#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Var(String),
}
type Segment = Vec<Part>;

impl RouteTable {
    /// Build the table; conflicts and unusable templates become warnings naming the paths.
    pub fn build(spec: &Spec) -> (RouteTable, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let mut table = RouteTable { router: matchit::Router::new(), fallback: Vec::new(), paths: Vec::new() };
        let mut by_template: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, op) in spec.operations.iter().enumerate() {
            let idx = match by_template.get(op.path.as_str()) {
                Some(idx) => *idx,
                None => {
                    let idx = table.paths.len();
                    table.paths.push(PathEntry { methods: vec![], names: crate::spec::model::template_names(&op.path) });
                    by_template.insert(&op.path, idx);
                    let route = matchit_route(&op.path);
                    match table.router.insert(route, idx) {
                        Ok(()) => {}
                        Err(matchit::InsertError::Conflict { with }) => {
                            diags.push(Diagnostic::warning(
                                &spec.file,
                                crate::spec::error::join("/paths", &op.path),
                                format!(
                                    "path {} conflicts with {} (same shape, different variable names); requests go to the first",
                                    op.path,
                                    with.replace("{{", "{").replace("}}", "}")
                                ),
                            ));
                        }
                        Err(_) => table.fallback.push((parse_segments(&op.path), idx)),
                    }
                    idx
                }
            };
            table.paths[idx].methods.push((op.method.clone(), i));
        }
        (table, diags)
    }

    /// Find the operation for `method` and `path` (the path below the spec's base path, raw,
    /// not yet percent-decoded). A trailing slash is ignored when only the other form exists.
    pub fn lookup(&self, method: &Method, path: &str) -> RouteMatch {
        let path = if path.is_empty() { "/" } else { path };
        let other_form: String;
        let found = match self.find_path(path) {
            Some(found) => Some(found),
            None if path.len() > 1 && path.ends_with('/') => self.find_path(path.trim_end_matches('/')),
            None => {
                other_form = format!("{path}/");
                self.find_path(&other_form)
            }
        };
        let Some((idx, raw_params)) = found else { return RouteMatch::NotFound };
        let entry = &self.paths[idx];
        let op = entry.methods.iter().find(|(m, _)| m == method).or_else(|| {
            // HEAD is answered by GET when not declared (RFC 9110 §9.3.2).
            (method == Method::HEAD).then(|| entry.methods.iter().find(|(m, _)| *m == Method::GET)).flatten()
        });
        match op {
            Some((_, operation)) => {
                let params = entry
                    .names
                    .iter()
                    .filter_map(|n| raw_params.iter().find(|(k, _)| *k == n.as_str()).map(|(k, v)| ((*k).to_string(), decode(v))))
                    .collect();
                RouteMatch::Found { operation: *operation, params }
            }
            None => {
                let mut allow: BTreeSet<String> = entry.methods.iter().map(|(m, _)| m.to_string()).collect();
                if allow.contains("GET") {
                    allow.insert("HEAD".into());
                }
                RouteMatch::MethodNotAllowed { allow: allow.iter().filter_map(|m| Method::from_bytes(m.as_bytes()).ok()).collect() }
            }
        }
    }

    /// The path entry a concrete path matches, and the raw text of each variable (borrowed:
    /// only the parameters the operation declares are copied out, once, in `lookup`).
    fn find_path<'r, 'p>(&'r self, path: &'p str) -> Option<(usize, Vec<(&'r str, &'p str)>)> {
        if let Ok(m) = self.router.at(path) {
            // A variable never matches an empty segment.
            if m.params.iter().any(|(_, v)| v.is_empty()) {
                return None;
            }
            return Some((*m.value, m.params.iter().collect()));
        }
        let segs: Vec<&str> = path.split('/').collect();
        for (template, idx) in &self.fallback {
            if template.len() != segs.len() {
                continue;
            }
            let mut params = Vec::new();
            if template.iter().zip(&segs).all(|(t, s)| match_segment(t, s, &mut params)) {
                return Some((*idx, params));
            }
        }
        None
    }

    /// Number of distinct path templates.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// Escape literal braces for matchit and keep `{name}` variables.
fn matchit_route(template: &str) -> String {
    // OpenAPI templates use the same `{name}` syntax as matchit; literal braces do not occur in
    // valid templates. A `*` at the start of a variable name would mean catch-all to matchit.
    template.replace("{*", "{{*")
}

fn parse_segments(template: &str) -> Vec<Segment> {
    template
        .split('/')
        .map(|seg| {
            let mut parts = Vec::new();
            let mut rest = seg;
            while let Some(start) = rest.find('{') {
                if start > 0 {
                    parts.push(Part::Lit(rest[..start].to_string()));
                }
                match rest[start..].find('}') {
                    Some(end) => {
                        parts.push(Part::Var(rest[start + 1..start + end].to_string()));
                        rest = &rest[start + end + 1..];
                    }
                    None => {
                        parts.push(Part::Lit(rest[start..].to_string()));
                        rest = "";
                    }
                }
            }
            if !rest.is_empty() {
                parts.push(Part::Lit(rest.to_string()));
            }
            parts
        })
        .collect()
}

/// Match one segment against literal/variable parts; variables take the shortest non-empty text.
fn match_segment<'r, 'p>(parts: &'r [Part], text: &'p str, out: &mut Vec<(&'r str, &'p str)>) -> bool {
    match parts.split_first() {
        None => text.is_empty(),
        Some((Part::Lit(l), rest)) => text.strip_prefix(l.as_str()).is_some_and(|t| match_segment(rest, t, out)),
        Some((Part::Var(name), rest)) => {
            for end in 1..=text.len() {
                if !text.is_char_boundary(end) {
                    continue;
                }
                let mark = out.len();
                out.push((name.as_str(), &text[..end]));
                if match_segment(rest, &text[end..], out) {
                    return true;
                }
                out.truncate(mark);
            }
            false
        }
    }
}

fn decode(raw: &str) -> String {
    if !raw.contains('%') {
        return raw.to_string();
    }
    percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_matcher_splits_two_variables_in_one_segment() {
        let segs = parse_segments("/img/{name}.{ext}");
        let mut out = Vec::new();
        assert!(match_segment(&segs[2], "logo.png", &mut out));
        assert_eq!(out, vec![("name", "logo"), ("ext", "png")]);
    }
}
