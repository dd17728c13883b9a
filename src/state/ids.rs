//! Ids and keys: an item's id as its key in a collection, new ids in the style of the existing
//! ones, and the parent key of a nested resource's item.
//!
//! Takes a [`Resource`] and the items a collection holds; hands back text keys and JSON ids.

use serde_json::Value;

use super::infer::Resource;
use super::store::IdView;
use crate::util::hash::stable_hash;

/// The id of an item as a map key.
pub(crate) fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The parent key of a seeded item of a nested resource (from a `projectId`-style field).
pub(crate) fn parent_of(r: &Resource, item: &Value) -> Option<String> {
    if r.parent_params.is_empty() {
        return Some(String::new());
    }
    let segments: Vec<&str> = r.collection.split('/').collect();
    let mut parts = Vec::new();
    for p in &r.parent_params {
        let pos = segments.iter().position(|s| *s == format!("{{{p}}}"))?;
        let parent_name = segments.get(pos.checked_sub(1)?)?;
        let value = reference_fields(r, p, parent_name).iter().find_map(|f| item.get(f).map(id_string))?;
        parts.push(value);
    }
    Some(parts.join("\u{0}"))
}

/// The fields of a nested resource's item that may refer to the parent named by path parameter
/// `param` under the literal segment `segment` (`projects`): `parentField` for the innermost
/// parent when declared, else `projectId`, `project_id`, `project` and the parameter's name.
pub(crate) fn reference_fields(r: &Resource, param: &str, segment: &str) -> Vec<String> {
    if let (Some(f), Some(last)) = (&r.parent_field, r.parent_params.last()) {
        if last == param {
            return vec![f.clone()];
        }
    }
    let singular = segment.strip_suffix('s').unwrap_or(segment);
    vec![format!("{singular}Id"), format!("{singular}_id"), singular.to_string(), param.to_string()]
}

/// The parent key of a request: the values of `r`'s parent path parameters, joined by NUL.
pub(crate) fn parent_key(r: &Resource, path_params: &[(String, String)]) -> String {
    r.parent_params
        .iter()
        .map(|p| path_params.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\u{0}")
}

/// A new id in the style of the existing ones: integers count up, prefixed strings keep their
/// prefix, otherwise the generated item's own id.
pub(crate) fn new_id(r: &Resource, existing: &dyn IdView, generated: &Value, seq: u64) -> Value {
    // Items are keyed by their id as text (`id_string`): ids are read from the keys, never by a
    // hashed field lookup in every item (a create would then cost time per stored item). The
    // first item's id stands for the style of the rest.
    let max_key = || existing.max_int_id();
    let random = crate::util::hash::stable_hash(&[r.name.as_bytes(), &seq.to_le_bytes(), &(existing.count() as u64).to_le_bytes()]);
    match r.id_style.as_deref() {
        Some("integer") => return Value::from(max_key() + 1),
        Some("uuid") => {
            let h = format!("{random:016x}{:016x}", random.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15);
            return Value::String(format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32]));
        }
        Some(prefix) => {
            let mut id = format!("{prefix}{:010x}", random & 0xff_ffff_ffff);
            while existing.contains(&id) {
                id.push('0');
            }
            return Value::String(id);
        }
        None => {}
    }
    let first = existing.first().and_then(|i| i.get(&r.id_field));
    let generated_id = generated.get(&r.id_field);
    // Numeric strings ("11001") count up too, staying strings.
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if first.and_then(Value::as_str).is_some_and(digits) && existing.all_digit_ids() {
        let max = existing.max_int_id().max(0) as u64;
        return Value::String((max + 1).to_string());
    }
    if generated_id.is_some_and(|g| g.is_i64() || g.is_u64()) || first.is_some_and(|f| f.is_i64() || f.is_u64()) {
        return Value::from(max_key() + 1);
    }
    let mut candidate = generated_id.and_then(Value::as_str).map(str::to_string).unwrap_or_default();
    if candidate.is_empty() {
        // No schema for the id: keep the prefix the existing ids share (`deal_`).
        let prefix = first.and_then(Value::as_str).and_then(|s| s.find('_').map(|p| &s[..=p])).unwrap_or("").to_string();
        candidate = format!("{prefix}{:08x}", crate::util::hash::stable_hash(&[r.name.as_bytes(), &seq.to_le_bytes()]) as u32);
    }
    if existing.contains(&candidate) {
        // The generated id is often the schema's example, the same for every item: a new one in
        // its style (`cus_NffrFeUfNV2Hib` → `cus_` and 14 more letters and digits), varied by
        // the tenant's create count, which is never reused (not even after old items are
        // forgotten), so one create costs one probe, not one per earlier create.
        let base = std::mem::take(&mut candidate);
        candidate = in_style_of(&base, stable_hash(&[r.name.as_bytes(), base.as_bytes(), &seq.to_le_bytes()]));
        let mut n = 0u64;
        while existing.contains(&candidate) {
            n += 1;
            candidate = format!("{}{seq}_{n}", in_style_of(&base, stable_hash(&[base.as_bytes(), &n.to_le_bytes()])));
        }
    }
    Value::String(candidate)
}

/// A new id shaped like `sample`: its prefix up to the last `_` or `-` kept when it starts with
/// letters (`cus_`, `pi_`), each later character replaced by a random one of its class (digit,
/// lower or upper case letter; hex digits where the sample is hex, as in a `sha` or a UUID);
/// other characters (`-`, `.`) stay.
fn in_style_of(sample: &str, seed: u64) -> String {
    let cut = sample
        .rfind(['_', '-'])
        .filter(|&i| i > 0 && sample[..i].bytes().all(|b| b.is_ascii_alphabetic() || b == b'_'))
        .map_or(0, |i| i + 1);
    let (prefix, rest) = sample.split_at(cut);
    if rest.is_empty() {
        return format!("{sample}{:x}", seed & 0xffff);
    }
    let hex = rest.bytes().filter(u8::is_ascii_alphanumeric).all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let mut state = seed | 1;
    let mut out = String::with_capacity(sample.len());
    out.push_str(prefix);
    for b in rest.bytes() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (state >> 32) as u8;
        out.push(match b {
            _ if !b.is_ascii_alphanumeric() => char::from(b),
            _ if hex => char::from(b"0123456789abcdef"[usize::from(n % 16)]),
            b'0'..=b'9' => char::from(b'0' + n % 10),
            b'A'..=b'Z' => char::from(b'A' + n % 26),
            _ => char::from(b'a' + n % 26),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map};

    fn resource(style: Option<&str>) -> Resource {
        Resource {
            name: "deals".into(),
            collection: "/deals".into(),
            id_param: "id".into(),
            parent_params: vec![],
            ops: vec![],
            list_key: None,
            item_key: None,
            id_field: "id".into(),
            client_id: false,
            item_schema: None,
            body_key: None,
            id_style: style.map(str::to_string),
            parent_field: None,
            enums: vec![],
            write_only: vec![],
            closed: None,
            maps: vec![],
            list_item_schema: None,
        }
    }

    #[test]
    fn new_ids_follow_the_declared_or_existing_style() {
        let mut existing = Map::new();
        existing.insert("deal_abc".into(), json!({"id": "deal_abc"}));
        let id = new_id(&resource(None), &existing, &json!({}), 1);
        assert!(id.as_str().unwrap().starts_with("deal_"), "{id}");
        let mut strs = Map::new();
        strs.insert("11001".into(), json!({"id": "11001"}));
        assert_eq!(new_id(&resource(None), &strs, &json!({}), 1), json!("11002"));
        let mut ints = Map::new();
        ints.insert("7".into(), json!({"id": 7}));
        assert_eq!(new_id(&resource(None), &ints, &json!({}), 1), json!(8));
        assert_eq!(new_id(&resource(Some("integer")), &ints, &json!({}), 1), json!(8));
        let uuid = new_id(&resource(Some("uuid")), &existing, &json!({}), 1);
        assert_eq!(uuid.as_str().unwrap().len(), 36);
        assert!(new_id(&resource(Some("ord_")), &existing, &json!({}), 1).as_str().unwrap().starts_with("ord_"));
    }

    #[test]
    fn ids_made_after_a_repeated_example_keep_its_style() {
        let mut existing = Map::new();
        existing.insert("cus_NffrFeUfNV2Hib".into(), json!({"id": "cus_NffrFeUfNV2Hib"}));
        let id = new_id(&resource(None), &existing, &json!({"id": "cus_NffrFeUfNV2Hib"}), 2);
        let id = id.as_str().unwrap();
        assert!(id.starts_with("cus_") && id.len() == 18 && id != "cus_NffrFeUfNV2Hib", "{id}");
        let sha = in_style_of("3a0f86fb8db8eea7ccbb9a95f325ddbedfb25e15", 9);
        assert!(sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()), "{sha}");
    }
}
