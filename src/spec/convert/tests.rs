//! The conversion of schemas to 2020-12 in each view.

use super::*;

fn convert(schema: Value, dialect: Dialect, view: View) -> Value {
    let doc = json!({"components": {"schemas": {"S": schema}}});
    convert_view(doc, dialect, view)["components"]["schemas"]["S"].clone()
}

fn request_doc() -> Value {
    json!({
        "openapi": "3.0.3",
        "paths": {"/deals": {"post": {
            "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewDeal"}, "examples": {"one": {"value": {}}}}}},
            "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Deal"}}}}}
        }}},
        "components": {
            "schemas": {
                "NewDeal": {"type": "object", "properties": {"owner": {"$ref": "#/components/schemas/Owner"}, "examples": {"type": "array"}}},
                "Owner": {"type": "object", "properties": {"name": {"type": "string"}}},
                "Deal": {"type": "object", "properties": {"id": {"type": "string"}}}
            },
            "examples": {"big": {"value": {"a": 1}}}
        }
    })
}

#[test]
fn request_view_holds_only_what_request_schemas_reach_at_the_same_pointers() {
    let doc = request_doc();
    let req = request_side(&doc);
    assert_eq!(
        req.pointer("/components/schemas/NewDeal"),
        doc.pointer("/components/schemas/NewDeal"),
        "a property named `examples` is a property, not an examples map"
    );
    assert_eq!(req.pointer("/components/schemas/Owner"), doc.pointer("/components/schemas/Owner"), "reached through NewDeal");
    assert_eq!(req.pointer("/components/schemas/Deal"), None, "only responses use it");
    assert_eq!(req.pointer("/components/examples"), None);
    assert_eq!(req.pointer("/paths/~1deals/post/responses"), None);
    assert_eq!(req.pointer("/paths/~1deals/post/requestBody/content/application~1json/examples"), None, "examples maps are for responses");
    assert_eq!(req["openapi"], "3.0.3");
}

#[test]
fn request_view_follows_refs_under_properties_named_like_data_keywords() {
    // Kubernetes' JSONSchemaProps has properties called `default`, `enum` and `example`.
    let mut doc = request_doc();
    doc["components"]["schemas"]["Owner"]["properties"]["default"] = json!({"$ref": "#/components/schemas/Deal"});
    let req = request_side(&doc);
    assert_eq!(req.pointer("/components/schemas/Deal"), doc.pointer("/components/schemas/Deal"));
}

#[test]
fn request_view_follows_refs_into_operation_responses() {
    let mut doc = request_doc();
    doc["components"]["schemas"]["Owner"] = json!({"$ref": "#/paths/~1deals/post/responses/200/content/application~1json/schema"});
    let req = request_side(&doc);
    assert_eq!(
        req.pointer("/paths/~1deals/post/responses/200/content/application~1json/schema"),
        doc.pointer("/paths/~1deals/post/responses/200/content/application~1json/schema")
    );
    assert!(req.pointer("/components/schemas/Deal").is_some(), "reached through the response schema");
}

#[test]
fn request_view_is_a_whole_copy_when_ids_may_resolve_references() {
    let mut doc = request_doc();
    doc["components"]["schemas"]["Deal"]["$id"] = json!("https://example.com/deal");
    let req = request_side(&doc);
    assert_eq!(req.pointer("/components/schemas/Deal"), doc.pointer("/components/schemas/Deal"), "kept though no $ref names it");
    assert!(req.pointer("/paths/~1deals/post/responses").is_some());
}

#[test]
fn nullable_with_type_becomes_type_array_and_enum_gets_null() {
    let out = convert(json!({"type": "string", "nullable": true, "enum": ["a"]}), Dialect::Oas30, View::Response);
    assert_eq!(out, json!({"type": ["string", "null"], "enum": ["a", null]}));
}

#[test]
fn nullable_without_type_becomes_any_of_null() {
    let out = convert(json!({"allOf": [{"$ref": "#/x"}], "nullable": true}), Dialect::Oas30, View::Response);
    assert_eq!(out, json!({"anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]}));
}

#[test]
fn boolean_exclusive_minimum_becomes_numeric() {
    let out = convert(json!({"type": "number", "minimum": 0, "exclusiveMinimum": true}), Dialect::Oas30, View::Request);
    assert_eq!(out, json!({"type": "number", "exclusiveMinimum": 0}));
}

#[test]
fn ref_siblings_are_dropped_in_30_and_kept_in_31() {
    let s = json!({"$ref": "#/components/schemas/S", "deprecated": true});
    assert_eq!(convert(s.clone(), Dialect::Oas30, View::Request), json!({"$ref": "#/components/schemas/S"}));
    assert_eq!(convert(s.clone(), Dialect::Oas31, View::Request), s);
}

#[test]
fn integer_formats_bound_the_request_view_unless_narrower() {
    let out = convert(json!({"type": "integer", "format": "int64"}), Dialect::Oas30, View::Request);
    assert_eq!(out, json!({"type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX}));
    let out = convert(json!({"type": "integer", "format": "int32", "minimum": 1, "maximum": 1e12}), Dialect::Oas30, View::Request);
    assert_eq!((out["minimum"].clone(), out["maximum"].clone()), (json!(1), json!(i32::MAX)));
    let out = convert(json!({"type": "integer", "format": "int64", "maximum": 9223372036854775808u64}), Dialect::Oas31, View::Request);
    assert_eq!(out["maximum"], json!(i64::MAX), "2^63 is wider than int64");
    let out = convert(json!({"type": ["integer", "null"], "format": "int32"}), Dialect::Oas31, View::Request);
    assert_eq!(out["maximum"], json!(i32::MAX));
    let out = convert(json!({"type": "integer", "format": "int64"}), Dialect::Oas30, View::Response);
    assert!(out.get("maximum").is_none(), "the response view is left as written");
    let out = convert(json!({"type": "string", "format": "int64"}), Dialect::Oas30, View::Request);
    assert!(out.get("maximum").is_none(), "a string carrying an int64 has no numeric bound");
}

#[test]
fn float_format_is_bounded_by_f32_max() {
    let out = convert(json!({"type": "number", "format": "float"}), Dialect::Oas30, View::Request);
    assert_eq!(out["maximum"].as_f64(), Some(f64::from(f32::MAX)));
    assert!(less(&Number::from(i64::MAX), &Number::from_f64(2f64.powi(63)).unwrap()));
    assert!(!less(&Number::from_f64(2f64.powi(63)).unwrap(), &Number::from(i64::MAX)));
}

#[test]
fn read_only_properties_are_not_required_and_refused_in_requests_only() {
    let s = json!({"type": "object", "required": ["id", "name"], "properties": {"id": {"type": "string", "readOnly": true}, "name": {"type": "string"}}});
    let req = convert(s.clone(), Dialect::Oas31, View::Request);
    assert_eq!(req["required"], json!(["name"]));
    assert_eq!(req["allOf"][0]["not"][FORBIDDEN_MARKER], "readOnly");
    assert_eq!(req["allOf"][0]["not"][FORBIDDEN_PROPERTIES], json!(["id"]));
    assert_eq!(req["properties"], s["properties"], "property schemas stay in place");
    let resp = convert(s.clone(), Dialect::Oas31, View::Response);
    assert_eq!(resp, s);
}
