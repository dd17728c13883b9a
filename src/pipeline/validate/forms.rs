//! Form bodies (`application/x-www-form-urlencoded`, `multipart/form-data`) as JSON values: the
//! bracket convention nests keys (`a[b][c]=1`, `a[]=x`, `a[0]=x`, as Stripe, Rails and PHP send
//! them), and the media type's [`FormPlan`] (compiled at load) types the strings.
//!
//! Takes the raw body and the operation; hands on the value that validation checks and the
//! sandbox stores.

use serde_json::{Map, Value};

use crate::spec::form_plan::FormPlan;
use crate::spec::model::{is_form_mime, Operation};

use super::parse_query;

/// A form-encoded body as the JSON value its schema describes (brackets nest, strings are typed
/// by the schema), so the sandbox stores it like a JSON body. `None` when the operation
/// declares no form body.
/// A `multipart/form-data` body is read the same way, its parts as fields (a file part as its
/// text).
pub fn form_body(op: &Operation, body: &[u8]) -> Option<Value> {
    let content = &op.body.as_ref()?.content;
    if let Some(media) = content.iter().find(|m| is_form_mime(&m.mime)) {
        return Some(typed_form(&media.form_plan, body));
    }
    let media = content.iter().find(|m| m.mime.split(';').next().unwrap_or("").trim() == "multipart/form-data")?;
    let pairs = multipart_pairs(body)?;
    Some(media.form_plan.apply(form_to_value(&pairs)))
}

/// The fields of a `multipart/form-data` body (`name` → text), its boundary read from its first
/// line.
fn multipart_pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    let text = String::from_utf8_lossy(body);
    let boundary = text.lines().next()?.trim_end().strip_prefix("--")?.to_string();
    let mut pairs = Vec::new();
    for part in text.split(&format!("--{boundary}")).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").or_else(|| part.strip_prefix('\n')).unwrap_or(part);
        let (head, value) = part.split_once("\r\n\r\n").or_else(|| part.split_once("\n\n"))?;
        let name = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .and_then(|l| l.split(';').find_map(|p| p.trim().strip_prefix("name=")))
            .map(|n| n.trim_matches('"').to_string())?;
        let value = value.strip_suffix("\r\n").or_else(|| value.strip_suffix('\n')).unwrap_or(value);
        pairs.push((name, value.to_string()));
    }
    Some(pairs)
}

/// Parse a form body and type its strings by the media type's plan.
pub(super) fn typed_form(plan: &FormPlan, body: &[u8]) -> Value {
    let text = String::from_utf8_lossy(body);
    plan.apply(form_to_value(&parse_query(Some(&text))))
}

/// Build a JSON value from form pairs: `a[b][c]=1` nests objects, `a[]=x` and repeated keys make
/// arrays, `a[0]=x` indexes arrays (the bracket convention Stripe, Rails and PHP use).
fn form_to_value(pairs: &[(String, String)]) -> Value {
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        let mut path: Vec<&str> = Vec::new();
        let (head, mut rest) = match key.find('[') {
            Some(i) => (&key[..i], &key[i..]),
            None => (key.as_str(), ""),
        };
        path.push(head);
        while let Some(stripped) = rest.strip_prefix('[') {
            let Some(end) = stripped.find(']') else { break };
            path.push(&stripped[..end]);
            rest = &stripped[end + 1..];
        }
        insert_path(&mut root, &path, Value::String(value.clone()), 0);
    }
    root
}

fn insert_path(node: &mut Value, path: &[&str], value: Value, depth: usize) {
    let Some((first, rest)) = path.split_first() else { return };
    if depth > 32 {
        return;
    }
    if first.is_empty() || first.parse::<usize>().is_ok() {
        // Array position (`[]` appends, `[n]` indexes).
        if !node.is_array() {
            *node = Value::Array(Vec::new());
        }
        let Value::Array(items) = node else { return };
        let index = first.parse::<usize>().ok().filter(|i| *i < items.len() && !rest.is_empty()).unwrap_or(items.len());
        if rest.is_empty() {
            items.push(value);
        } else {
            if index == items.len() {
                items.push(Value::Object(Map::new()));
            }
            insert_path(&mut items[index], rest, value, depth + 1);
        }
        return;
    }
    if !node.is_object() {
        *node = Value::Object(Map::new());
    }
    let Value::Object(map) = node else { return };
    if rest.is_empty() {
        match map.get_mut(*first) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => {
                let prev = existing.take();
                *existing = Value::Array(vec![prev, value]);
            }
            None => {
                map.insert((*first).to_string(), value);
            }
        }
    } else {
        let child = map.entry((*first).to_string()).or_insert(Value::Null);
        insert_path(child, rest, value, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_bodies_nest_brackets_and_repeat_keys() {
        let pairs = parse_query(Some("amount=5&metadata[order]=7&items[0][price]=p1&items[0][qty]=2&expand[]=a&expand[]=b&tag=x&tag=y"));
        assert_eq!(
            form_to_value(&pairs),
            json!({"amount": "5", "metadata": {"order": "7"}, "items": [{"price": "p1", "qty": "2"}], "expand": ["a", "b"], "tag": ["x", "y"]})
        );
    }
}
