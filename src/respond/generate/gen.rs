//! [`Gen`], a generated value, and its two ways out: JSON text or a `serde_json::Value`.
//!
//! Takes what a [`run`](super::run) produced; hands on bytes for an answer (straight, without a
//! `Value` tree) or a value for the callers that edit it (the sandbox, path-id reflection).

use std::borrow::Cow;

use serde_json::{Number, Value};

use crate::util::json_text::write_json_str;

/// A generated value before it is JSON. Object keys and schema values (examples, `const`,
/// `enum`) borrow from the plan, and objects are plain lists: no key copies and no map hashing
/// per request. Serialized straight to bytes for an answer, or turned into a [`Value`] when
/// something edits it.
#[derive(Debug)]
pub enum Gen<'p> {
    Null,
    Bool(bool),
    Num(Number),
    Str(String),
    Arr(Vec<Gen<'p>>),
    /// Properties in generation order; names are unique.
    Obj(Vec<(Cow<'p, str>, Gen<'p>)>),
    /// A value from the spec, as it is there.
    Json(&'p Value),
}

impl Gen<'_> {
    /// The JSON value.
    pub fn into_value(self) -> Value {
        match self {
            Gen::Null => Value::Null,
            Gen::Bool(b) => Value::Bool(b),
            Gen::Num(n) => Value::Number(n),
            Gen::Str(s) => Value::String(s),
            Gen::Arr(items) => Value::Array(items.into_iter().map(Gen::into_value).collect()),
            Gen::Obj(props) => Value::Object(props.into_iter().map(|(k, v)| (k.into_owned(), v.into_value())).collect()),
            Gen::Json(v) => v.clone(),
        }
    }

    /// The top-level property `name`, if this is an object that has it.
    pub fn has_property(&self, name: &str) -> bool {
        match self {
            Gen::Obj(props) => props.iter().any(|(k, _)| k == name),
            Gen::Json(v) => v.get(name).is_some(),
            _ => false,
        }
    }

    /// JSON equality (`uniqueItems`): object order does not count.
    pub(super) fn same(&self, other: &Gen<'_>) -> bool {
        match (self, other) {
            (Gen::Json(a), Gen::Json(b)) => a == b,
            (Gen::Json(a), g) | (g, Gen::Json(a)) => g.equals(a),
            (Gen::Null, Gen::Null) => true,
            (Gen::Bool(a), Gen::Bool(b)) => a == b,
            (Gen::Num(a), Gen::Num(b)) => a == b,
            (Gen::Str(a), Gen::Str(b)) => a == b,
            (Gen::Arr(a), Gen::Arr(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.same(y)),
            (Gen::Obj(a), Gen::Obj(b)) => a.len() == b.len() && a.iter().all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v.same(v2))),
            _ => false,
        }
    }

    /// JSON equality with a value.
    fn equals(&self, v: &Value) -> bool {
        match (self, v) {
            (Gen::Json(a), b) => *a == b,
            (Gen::Null, Value::Null) => true,
            (Gen::Bool(a), Value::Bool(b)) => a == b,
            (Gen::Num(a), Value::Number(b)) => a == b,
            (Gen::Str(a), Value::String(b)) => a == b,
            (Gen::Arr(a), Value::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.equals(y)),
            (Gen::Obj(a), Value::Object(b)) => a.len() == b.len() && a.iter().all(|(k, g)| b.get(k.as_ref()).is_some_and(|v| g.equals(v))),
            _ => false,
        }
    }
}

impl Gen<'_> {
    /// Append compact JSON text (what `serde_json::to_writer` writes, without its per-byte
    /// escaping pass over strings that need none; generated strings rarely do).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Gen::Null => out.extend_from_slice(b"null"),
            Gen::Bool(true) => out.extend_from_slice(b"true"),
            Gen::Bool(false) => out.extend_from_slice(b"false"),
            Gen::Num(n) => {
                let _ = serde_json::to_writer(&mut *out, n);
            }
            Gen::Str(s) => write_json_str(out, s),
            Gen::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            Gen::Obj(props) => {
                out.push(b'{');
                for (i, (k, v)) in props.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, k);
                    out.push(b':');
                    v.write_json(out);
                }
                out.push(b'}');
            }
            Gen::Json(v) => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
        }
    }
}

impl serde::Serialize for Gen<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Gen::Null => serializer.serialize_unit(),
            Gen::Bool(b) => serializer.serialize_bool(*b),
            Gen::Num(n) => n.serialize(serializer),
            Gen::Str(s) => serializer.serialize_str(s),
            Gen::Arr(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Gen::Obj(props) => {
                let mut map = serializer.serialize_map(Some(props.len()))?;
                for (k, v) in props {
                    map.serialize_entry(k.as_ref(), v)?;
                }
                map.end()
            }
            Gen::Json(v) => v.serialize(serializer),
        }
    }
}
