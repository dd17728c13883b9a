//! Small readings of media types, header values, path templates and schema types that the
//! model, validation and the sandbox share.
//!
//! Takes strings and schema values; hands on plain answers. Imports nothing of ours but the
//! document loader's `$ref` resolution.

use serde_json::Value;

use super::load::deref;

/// Whether a media type is an HTML form body (`application/x-www-form-urlencoded`).
pub fn is_form_mime(mime: &str) -> bool {
    mime.split(';').next().unwrap_or("").trim() == "application/x-www-form-urlencoded"
}

/// The `Content-Type` to send for a declared media type (wildcards become concrete).
pub(super) fn answer_content_type(mime: &str) -> String {
    match mime {
        "*/*" | "application/*" => "application/json".into(),
        "text/*" => "text/plain; charset=utf-8".into(),
        m if m.starts_with("text/") && !m.contains("charset") => format!("{m}; charset=utf-8"),
        m => m.to_string(),
    }
}

/// The text a JSON value is sent as in a header: a string as it is, other values as JSON text,
/// `null` not at all.
pub fn header_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => {
            let mut out = Vec::new();
            crate::util::json_text::write_value(&mut out, other, usize::MAX);
            String::from_utf8(out).ok()
        }
    }
}

/// Whether a media type carries JSON (`application/json`, `application/problem+json`, `*/*+json`).
pub fn is_json_mime(mime: &str) -> bool {
    let base = mime.split(';').next().unwrap_or("").trim();
    base == "application/json" || base.ends_with("+json") || base == "*/*" || base == "application/*"
}

/// The `{name}` variables of a path template.
pub fn template_names(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else { break };
        out.push(rest[start + 1..start + end].to_string());
        rest = &rest[start + end + 1..];
    }
    out
}

/// The first non-null `type` of a schema, looking through `$ref`, `allOf`, `anyOf`, `oneOf`.
pub fn schema_type(doc: &Value, schema: &Value) -> Option<String> {
    fn go(doc: &Value, schema: &Value, depth: usize) -> Option<String> {
        if depth > 16 {
            return None;
        }
        let schema = deref(doc, schema, "").ok()?.0;
        match schema.get("type") {
            Some(Value::String(t)) => return Some(t.clone()),
            Some(Value::Array(ts)) => return ts.iter().filter_map(Value::as_str).find(|t| *t != "null").map(str::to_string),
            _ => {}
        }
        for k in ["allOf", "anyOf", "oneOf"] {
            if let Some(Value::Array(items)) = schema.get(k) {
                if let Some(t) = items.iter().find_map(|s| go(doc, s, depth + 1)) {
                    return Some(t);
                }
            }
        }
        if schema.get("properties").is_some() {
            return Some("object".into());
        }
        if schema.get("items").is_some() {
            return Some("array".into());
        }
        None
    }
    go(doc, schema, 0)
}
