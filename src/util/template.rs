//! `{{…}}` templates over JSON values: the one placeholder syntax of error envelopes, webhook
//! payloads and `x-standin` actions.
//!
//! Takes a template value and a lookup from a placeholder's expression to a value; hands on the
//! filled value. Objects and arrays are walked; only strings change. Two flavours:
//! * [`substitute`]: a string that is exactly `{{name}}` becomes the value (any JSON type);
//!   unknown names and all other strings are kept as written (error envelopes, webhooks);
//! * [`render`]: a string that is exactly `{{expr}}` becomes the value, or `null`; `{{expr}}`
//!   inside a longer string is replaced by the value's text (actions).

use serde_json::Value;

/// The expression of a string that is exactly one placeholder (`{{expr}}`).
fn whole(s: &str) -> Option<&str> {
    s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")).filter(|e| !e.contains("{{"))
}

/// `template` with every string replaced by `fill(string, its value)`.
fn walk(template: &Value, fill: &dyn Fn(&str, &Value) -> Value) -> Value {
    match template {
        Value::String(s) => fill(s, template),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), walk(v, fill))).collect()),
        Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, fill)).collect()),
        other => other.clone(),
    }
}

/// Whole-value placeholders only: `{{name}}` (name trimmed) becomes `lookup(name)`; a name the
/// lookup does not know, and every other value, is kept.
pub fn substitute(template: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    walk(template, &|s, original| whole(s).and_then(|name| lookup(name.trim())).unwrap_or_else(|| original.clone()))
}

/// Typed whole values and interpolation: `{{expr}}` alone becomes `lookup(expr)` or `null`;
/// inside a longer string it becomes the value's text (a string as it is, `null` as nothing,
/// anything else as JSON).
pub fn render(template: &Value, lookup: &dyn Fn(&str) -> Option<Value>) -> Value {
    walk(template, &|s, original| {
        if let Some(expr) = whole(s) {
            return lookup(expr).unwrap_or(Value::Null);
        }
        if !s.contains("{{") {
            return original.clone();
        }
        let mut out = String::new();
        let mut rest = s;
        while let Some(start) = rest.find("{{") {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find("}}") else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            match lookup(&rest[start + 2..start + end]).unwrap_or(Value::Null) {
                Value::String(s) => out.push_str(&s),
                Value::Null => {}
                other => out.push_str(&other.to_string()),
            }
            rest = &rest[start + end + 2..];
        }
        out.push_str(rest);
        Value::String(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn substitute_keeps_what_it_does_not_know_and_render_interpolates() {
        let lookup = |n: &str| (n == "a").then(|| json!(1));
        let t = json!({"x": ["{{ a }}", "{{b}}", "a {{a}}"], "y": 2});
        assert_eq!(substitute(&t, &lookup), json!({"x": [1, "{{b}}", "a {{a}}"], "y": 2}));
        assert_eq!(render(&t, &lookup), json!({"x": [null, null, "a 1"], "y": 2}));
    }
}
