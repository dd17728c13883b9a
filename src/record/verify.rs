//! `standin verify`: re-send a recorded session to a target and compare the answers.
//!
//! Takes [`har::Entry`]s and a target base URL; hands back one [`CaseResult`] per entry (its
//! [`Difference`]s, or why it could not be sent) and the JUnit report of them. Status, the
//! `Content-Type` (without parameters) and the body are compared; JSON bodies structurally,
//! pointer by pointer, with rules to ignore volatile fields (by default any `id`, `createdAt`,
//! `updatedAt`, `created_at`, `updated_at` at any depth). Credentials redacted in the recording
//! are supplied again as extra headers (`--header`).

use serde_json::Value;

use super::har;

/// Fields ignored at any depth unless `--no-default-ignores`: they differ between any two runs.
pub const DEFAULT_IGNORES: [&str; 5] = ["id", "createdAt", "updatedAt", "created_at", "updated_at"];

/// Request headers not re-sent: the client sets them for the new connection.
const SKIP: [&str; 6] = ["host", "content-length", "connection", "transfer-encoding", "accept-encoding", "keep-alive"];

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
        let mut rules: Vec<String> = if defaults { DEFAULT_IGNORES.iter().map(|f| format!(".**.{f}")).collect() } else { Vec::new() };
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
    crate::util::pointer::from_tokens(path)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 80 {
        format!("{}…", s.chars().take(80).collect::<String>())
    } else {
        s
    }
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
                    None if !ignore.matches(path) => {
                        out.push(Difference { at: pointer(path), recorded: short(va), now: "(missing)".into() })
                    }
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
    /// `001 GET /path?query`: the entry's number and request.
    pub name: String,
    pub differences: Vec<Difference>,
    /// Why the request could not be sent or its answer read.
    pub error: Option<String>,
}

impl CaseResult {
    /// Whether the answer matched the recording.
    pub fn passed(&self) -> bool {
        self.differences.is_empty() && self.error.is_none()
    }
}

/// A new answer to a recorded request.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: axum::body::Bytes,
}

/// Send the recorded request of `entry` to `target` (`http://host:port`; the recorded path is
/// kept), with `extra` headers replacing recorded ones of the same name. Redacted values are
/// not sent.
pub async fn resend(client: &reqwest::Client, target: &str, entry: &har::Entry, extra: &[(String, String)]) -> Result<Answer, String> {
    let method = reqwest::Method::from_bytes(entry.request.method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = client.request(method, format!("{target}{}", entry.path_and_query()));
    for h in &entry.request.headers {
        if SKIP.iter().any(|s| s.eq_ignore_ascii_case(&h.name))
            || h.value == har::REDACTED
            || extra.iter().any(|(x, _)| x.eq_ignore_ascii_case(&h.name))
        {
            continue;
        }
        req = req.header(h.name.as_str(), h.value.as_str());
    }
    for (n, v) in extra {
        req = req.header(n.as_str(), v.as_str());
    }
    if let Some(body) = &entry.request.post_data {
        req = req.body(body.text.clone());
    }
    let resp = req.send().await.map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    Ok(Answer { status, content_type, body })
}

/// Every difference between the recorded answer of `entry` and `now`.
pub fn compare(entry: &har::Entry, now: &Answer, ignore: &Ignore) -> Vec<Difference> {
    let mut out = Vec::new();
    let recorded = &entry.response;
    if recorded.status != now.status {
        out.push(Difference { at: "status".into(), recorded: recorded.status.to_string(), now: now.status.to_string() });
    }
    let base = |c: &str| c.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if base(&recorded.content.mime_type) != base(&now.content_type) {
        out.push(Difference { at: "content-type".into(), recorded: recorded.content.mime_type.clone(), now: now.content_type.clone() });
    }
    let text = &recorded.content.text;
    match (serde_json::from_str::<Value>(text), serde_json::from_slice::<Value>(&now.body)) {
        (Ok(a), Ok(b)) => out.extend(diff_json(&a, &b, ignore)),
        _ if text.as_bytes() != &now.body[..] && recorded.content.encoding.is_none() => {
            out.push(Difference { at: "body".into(), recorded: format!("{} bytes", text.len()), now: format!("{} bytes", now.body.len()) })
        }
        _ => {}
    }
    out
}

/// JUnit XML for CI: one test case per recorded exchange.
pub fn junit(results: &[CaseResult]) -> String {
    let cases = results.iter().map(|r| {
        let failure = (!r.passed()).then(|| {
            let lines: Vec<String> =
                r.error.iter().cloned().chain(r.differences.iter().map(|d| format!("{}: {} -> {}", d.at, d.recorded, d.now))).collect();
            super::junit::Failure { message: lines.first().cloned().unwrap_or_default(), text: lines.join("\n") }
        });
        super::junit::Case { name: r.name.clone(), failure }
    });
    super::junit::render("standin verify", "verify", cases)
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
        assert_eq!(
            d,
            vec![
                Difference { at: "/deals/0/value".into(), recorded: "1".into(), now: "2".into() },
                Difference { at: "/extra".into(), recorded: "(absent)".into(), now: "true".into() },
            ]
        );
        assert!(diff_json(&a, &b, &Ignore::new(&[".deals[].value".into(), ".extra".into()], true)).is_empty());
    }

    #[test]
    fn a_control_character_in_a_difference_still_makes_a_parsable_report() {
        // A body key with a raw U+0001 lands in the pointer of the difference.
        let a = json!({"na\u{1}me": 1});
        let b = json!({"na\u{1}me": 2});
        let differences = diff_json(&a, &b, &Ignore::default());
        assert_eq!(differences[0].at, "/na\u{1}me");
        let xml = junit(&[CaseResult { name: "001 GET /x".into(), differences, error: Some("request failed: \u{1}".into()) }]);
        assert!(!xml.contains('\u{1}'), "{xml:?}");
        let mut reader = quick_xml::Reader::from_str(&xml);
        let mut events = 0;
        loop {
            match reader.read_event() {
                Ok(quick_xml::events::Event::Eof) => break,
                Ok(_) => events += 1,
                Err(e) => panic!("the report is not XML: {e}\n{xml}"),
            }
        }
        assert!(events > 3 && xml.contains("<failure message=\"request failed: \""), "{xml}");
    }
}
