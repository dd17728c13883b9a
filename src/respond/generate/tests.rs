//! Generation tests: determinism, shapes, bounds, and `Gen` serialized as its value.

use serde_json::{json, Value};

use super::{generate, Gen, Plan};

fn gen(schema: Value, seed: u64) -> Value {
    let doc = json!({"s": schema});
    generate(&doc, "/s", seed, false)
}

/// Answers are serialized straight from `Gen`; the sandbox and validators use `into_value`:
/// both must be the same JSON, key order included.
#[test]
fn serialized_gen_is_the_same_json_as_its_value() {
    let doc = json!({"s": {"type": "object", "required": ["id", "tags", "meta"], "properties": {
        "id": {"type": "string", "example": "prd_1"},
        "kind": {"const": "product"},
        "status": {"enum": ["a", "b", "c"]},
        "tags": {"type": "array", "uniqueItems": true, "minItems": 3, "items": {"enum": ["x", "y", "z"]}},
        "price": {"type": "number", "minimum": 1},
        "meta": {"type": "object", "minProperties": 3, "additionalProperties": {"type": "integer"}},
        "when": {"type": "string", "format": "date-time"},
        "nested": {"type": "array", "items": {"$ref": "#/s"}}
    }}});
    let plan = Plan::compile(&doc, "/s");
    for seed in 0..50 {
        let text = serde_json::to_string(&plan.generate_gen(seed, seed % 2 == 0)).unwrap();
        let value = plan.generate(seed, seed % 2 == 0);
        assert_eq!(text, serde_json::to_string(&value).unwrap(), "seed {seed}");
        let mut written = Vec::new();
        plan.generate_gen(seed, seed % 2 == 0).write_json(&mut written);
        assert_eq!(String::from_utf8(written).unwrap(), text, "seed {seed}");
        let tags = value["tags"].as_array().unwrap();
        assert_eq!(tags.len(), 3, "uniqueItems with three options: all three, once each");
        assert!(value["meta"].as_object().unwrap().len() >= 3);
    }
}

#[test]
fn strings_that_need_escaping_are_escaped() {
    for s in ["plain", "quote \" here", "back\\slash", "tab\there", "line\nbreak", "ünïcode"] {
        let mut out = Vec::new();
        Gen::Str(s.to_string()).write_json(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(s).unwrap());
    }
}

#[test]
fn uuids_and_ids_have_their_shape() {
    for seed in 0..20 {
        let u = gen(json!({"type": "string", "format": "uuid"}), seed);
        let u = u.as_str().unwrap();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12], "{u}");
        assert!(u.bytes().all(|b| b == b'-' || b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{u}");
        assert!(parts[2].starts_with('4') && "89ab".contains(&parts[3][..1]), "version 4, RFC variant: {u}");
        let doc = json!({"s": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}});
        let id = generate(&doc, "/s", seed, false)["id"].as_str().unwrap().to_string();
        assert!(id.len() == 12 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
}

#[test]
fn same_seed_same_value_other_seed_other_value() {
    let s = json!({"type": "object", "properties": {"email": {"type": "string", "format": "email"}, "n": {"type": "integer"}}});
    assert_eq!(gen(s.clone(), 1), gen(s.clone(), 1));
    assert_ne!(gen(s.clone(), 1), gen(s, 2));
}

#[test]
fn anchored_patterns_generate_matching_ascii() {
    let v = gen(json!({"type": "string", "pattern": "^deal_[A-Za-z0-9]{6}$"}), 3);
    let s = v.as_str().unwrap();
    assert!(s.starts_with("deal_") && s.len() == 11 && s.is_ascii(), "{s}");
}

#[test]
fn recursive_schema_terminates() {
    let doc = json!({"Node": {"type": "object", "required": ["child"], "properties": {"child": {"$ref": "#/Node"}}}});
    let v = generate(&doc, "/Node", 1, false);
    assert!(v.to_string().len() < 10_000);
}

#[test]
fn bounds_and_lengths_are_respected() {
    for seed in 0..50 {
        let v = gen(
            json!({"type": "object", "properties": {
            "a": {"type": "integer", "minimum": 5, "maximum": 7},
            "b": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
            "c": {"type": "string", "minLength": 3, "maxLength": 4},
            "d": {"type": "array", "minItems": 5, "items": {"type": "boolean"}}}}),
            seed,
        );
        let a = v["a"].as_i64().unwrap();
        assert!((5..=7).contains(&a));
        let b = v["b"].as_f64().unwrap();
        assert!(b > 0.0 && b <= 1.0, "{b}");
        let c = v["c"].as_str().unwrap().chars().count();
        assert!((3..=4).contains(&c));
        assert!(v["d"].as_array().unwrap().len() >= 5);
    }
}
