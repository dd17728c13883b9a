//! `standin verify`: re-send a recorded session to a target and compare the answers.
//!
//! Status, the `Content-Type` (without parameters) and the body are compared; JSON bodies
//! structurally, pointer by pointer, with rules to ignore volatile fields (by default any `id`,
//! `createdAt`, `updatedAt`, `created_at`, `updated_at` at any depth). Credentials redacted in
//! the recording are supplied again with `--header`.

use serde_json::Value;

/// One difference between the recorded and the new answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// `status`, `content-type`, or a JSON pointer into the body (`/deals/0/value`).
    pub at: String,
    pub recorded: String,
    pub now: String,
}

/// Selectors of fields to ignore: `.a.b`, `.**.createdAt` (any depth), `.items[].id` (any index).
#[derive(Debug, Clone, Default)]
pub struct Ignore(Vec<Vec<String>>);

impl Ignore {
    /// The default rules plus `extra`.
    pub fn new(extra: &[String], defaults: bool) -> Ignore {
        let mut rules: Vec<String> = if defaults { ["id", "createdAt", "updatedAt", "created_at", "updated_at"].iter().map(|f| format!(".**.{f}")).collect() } else { Vec::new() };
        rules.extend(extra.iter().cloned());
        Ignore(rules.iter().map(|r| r.replace("[]", ".[]").split('.').filter(|s| !s.is_empty()).map(str::to_string).collect()).collect())
    }

    fn matches(&self, path: &[String]) -> bool {
        self.0.iter().any(|rule| glob(rule, path))
    }
}

fn glob(rule: &[String], path: &[String]) -> bool {
    match rule.split_first() {
        None => path.is_empty(),
        Some((r, rest)) if r == "**" => (0..=path.len()).any(|i| glob(rest, &path[i..])),
        Some((r, rest)) => match path.split_first() {
            Some((p, prest)) => (r == "[]" && p.parse::<usize>().is_ok() || r == p || r == "*") && glob(rest, prest),
            None => false,
        },
    }
}

/// Compare two JSON bodies; differences at ignored paths are dropped.
pub fn diff_json(recorded: &Value, now: &Value, ignore: &Ignore) -> Vec<Difference> {
    let mut out = Vec::new();
    walk(recorded, now, &mut Vec::new(), ignore, &mut out);
    out
}

fn pointer(path: &[String]) -> String {
    path.iter().map(|p| format!("/{}", crate::spec::error::escape_token(p))).collect()
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 { format!("{}…", s.chars().take(80).collect::<String>()) } else { s }
}

fn walk(a: &Value, b: &Value, path: &mut Vec<String>, ignore: &Ignore, out: &mut Vec<Difference>) {
    if ignore.matches(path) {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                path.push(k.clone());
                match y.get(k) {
                    Some(vb) => walk(va, vb, path, ignore, out),
                    None if !ignore.matches(path) => out.push(Difference { at: pointer(path), recorded: short(va), now: "(missing)".into() }),
                    None => {}
                }
                path.pop();
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    path.push(k.clone());
                    if !ignore.matches(path) {
                        out.push(Difference { at: pointer(path), recorded: "(absent)".into(), now: short(vb) });
                    }
                    path.pop();
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                out.push(Difference { at: format!("{}/length", pointer(path)), recorded: x.len().to_string(), now: y.len().to_string() });
            }
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                path.push(i.to_string());
                walk(va, vb, path, ignore, out);
                path.pop();
            }
        }
        _ if a == b => {}
        _ => out.push(Difference { at: pointer(path), recorded: short(a), now: short(b) }),
    }
}

/// The outcome of re-sending one recorded exchange.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub name: String,
    pub differences: Vec<Difference>,
    pub error: Option<String>,
}

/// JUnit XML for CI: one test case per recorded exchange.
pub fn junit(results: &[CaseResult]) -> String {
    let esc = super::xml_escape;
    let failures = results.iter().filter(|r| !r.differences.is_empty() || r.error.is_some()).count();
    let mut xml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"standin verify\" tests=\"{}\" failures=\"{failures}\">\n", results.len());
    for r in results {
        xml.push_str(&format!("  <testcase classname=\"verify\" name=\"{}\"", esc(&r.name)));
        if r.differences.is_empty() && r.error.is_none() {
            xml.push_str("/>\n");
            continue;
        }
        let text: Vec<String> = r.error.iter().cloned().chain(r.differences.iter().map(|d| format!("{}: {} -> {}", d.at, d.recorded, d.now))).collect();
        xml.push_str(&format!(">\n    <failure message=\"{}\">{}</failure>\n  </testcase>\n", esc(text.first().map(String::as_str).unwrap_or("")), esc(&text.join("\n"))));
    }
    xml.push_str("</testsuite>\n");
    xml
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn structural_diff_ignores_volatile_fields_at_any_depth() {
        let a = json!({"deals": [{"id": "d1", "value": 1, "createdAt": "x"}], "total": 1});
        let b = json!({"deals": [{"id": "d2", "value": 2, "createdAt": "y"}], "total": 1, "extra": true});
        let d = diff_json(&a, &b, &Ignore::new(&[], true));
        assert_eq!(d, vec![
            Difference { at: "/deals/0/value".into(), recorded: "1".into(), now: "2".into() },
            Difference { at: "/extra".into(), recorded: "(absent)".into(), now: "true".into() },
        ]);
        assert!(diff_json(&a, &b, &Ignore::new(&[".deals[].value".into(), ".extra".into()], true)).is_empty());
    }
}
