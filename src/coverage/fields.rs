//! Body field paths: the ones a request sent (read from JSON without building it) and the ones
//! an operation's request schema declares (walked at report time).

use serde_json::Value;

use super::*;

/// Walks a JSON document without building it, reporting every object member's path.
pub(super) struct FieldPaths<'a, 'f> {
    pub(super) path: &'a mut String,
    pub(super) record: &'f mut dyn FnMut(&str),
    pub(super) depth: u32,
}

impl<'de> serde::de::DeserializeSeed<'de> for FieldPaths<'_, '_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

/// Appends a map key to the path (a `.` first unless the path is empty).
struct KeyOnto<'a>(&'a mut String);

impl<'de> serde::de::DeserializeSeed<'de> for KeyOnto<'_> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> serde::de::Visitor<'de> for KeyOnto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<(), E> {
        if !self.0.is_empty() {
            self.0.push('.');
        }
        self.0.push_str(v);
        Ok(())
    }
}

impl<'de> serde::de::Visitor<'de> for FieldPaths<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JSON")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let base = self.path.len();
        while map.next_key_seed(KeyOnto(self.path))?.is_some() {
            (self.record)(self.path);
            if self.depth < MAX_DEPTH {
                map.next_value_seed(FieldPaths { path: self.path, record: self.record, depth: self.depth + 1 })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
            self.path.truncate(base);
        }
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let base = self.path.len();
        self.path.push_str("[]");
        while seq.next_element_seed(FieldPaths { path: self.path, record: self.record, depth: self.depth + 1 })?.is_some() {}
        self.path.truncate(base);
        Ok(())
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        Ok(())
    }
}

/// The body fields an operation's request schema declares (first JSON or form media type),
/// array elements as `[]`, at most [`MAX_NAMES`].
pub fn declared_fields(spec: &Spec, op: &Operation) -> Vec<String> {
    let Some(body) = &op.body else {
        return Vec::new();
    };
    let Some(pointer) = body
        .content
        .iter()
        .find(|m| crate::spec::model::is_json_mime(&m.mime) || crate::spec::model::is_form_mime(&m.mime))
        .or(body.content.first())
        .and_then(|m| m.schema.as_deref())
    else {
        return Vec::new();
    };
    let doc = spec.schemas.doc(crate::spec::View::Request);
    let Some(schema) = crate::spec::load::pointer(doc, pointer) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    walk_schema(doc, schema, &mut String::new(), 0, &mut out, &mut seen);
    out
}

fn walk_schema(
    doc: &Value,
    schema: &Value,
    path: &mut String,
    depth: u32,
    out: &mut Vec<String>,
    seen: &mut std::collections::HashSet<String>,
) {
    if depth > MAX_DEPTH || out.len() >= MAX_NAMES {
        return;
    }
    let Ok((schema, _)) = crate::spec::load::deref(doc, schema, "") else {
        return;
    };
    for key in ["allOf", "oneOf", "anyOf"] {
        for sub in schema.get(key).and_then(Value::as_array).map_or(&[][..], Vec::as_slice) {
            walk_schema(doc, sub, path, depth + 1, out, seen);
        }
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, sub) in props {
            let base = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(name);
            if out.len() < MAX_NAMES && seen.insert(path.clone()) {
                out.push(path.clone());
            }
            walk_schema(doc, sub, path, depth + 1, out, seen);
            path.truncate(base);
        }
    }
    if let Some(items) = schema.get("items").filter(|i| i.is_object()) {
        let base = path.len();
        path.push_str("[]");
        walk_schema(doc, items, path, depth + 1, out, seen);
        path.truncate(base);
    }
}
