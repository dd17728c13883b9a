//! Swagger 2.0 lowering tests: what each 2.0 construct becomes in 3.0.

use super::*;

fn lowered(doc: Value) -> (Value, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let out = lower(Path::new("t.yaml"), doc, &mut diags);
    (out, diags)
}

#[test]
fn version_is_read_quoted_or_not() {
    assert!(is_swagger2(&json!({"swagger": "2.0"})));
    assert!(is_swagger2(&json!({"swagger": 2.0})));
    assert!(!is_swagger2(&json!({"swagger": "1.2"})));
    assert!(!is_swagger2(&json!({"openapi": "3.0.0", "swagger": "2.0"})));
}

#[test]
fn servers_come_from_host_base_path_and_schemes() {
    let (out, _) = lowered(json!({"swagger": "2.0", "host": "api.x.com", "basePath": "/v2", "schemes": ["http", "https"], "paths": {}}));
    assert_eq!(out["servers"], json!([{"url": "https://api.x.com/v2"}, {"url": "http://api.x.com/v2"}]));
    let (out, _) = lowered(json!({"swagger": "2.0", "basePath": "/v1", "paths": {}}));
    assert_eq!(out["servers"], json!([{"url": "/v1"}]));
    let (out, _) = lowered(json!({"swagger": "2.0", "paths": {}}));
    assert!(out.get("servers").is_none());
}

#[test]
fn body_parameter_becomes_a_request_body_per_consumed_type() {
    let (out, diags) = lowered(json!({
        "swagger": "2.0", "consumes": ["application/json", "application/xml"],
        "paths": {"/pets": {"post": {"parameters": [{"in": "body", "name": "pet", "required": true, "schema": {"$ref": "#/definitions/Pet"}}], "responses": {"200": {"description": "ok"}}}}},
        "definitions": {"Pet": {"type": "object"}}
    }));
    assert!(diags.is_empty(), "{diags:?}");
    let body = &out["paths"]["/pets"]["post"]["requestBody"];
    assert_eq!(body["required"], true);
    assert_eq!(body["content"]["application/json"]["schema"], json!({"$ref": "#/components/schemas/Pet"}));
    assert!(body["content"]["application/xml"].is_object());
    assert_eq!(out["components"]["schemas"]["Pet"], json!({"type": "object"}));
}

#[test]
fn form_parameters_become_an_object_schema_and_files_make_it_multipart() {
    let (out, _) = lowered(json!({
        "swagger": "2.0",
        "paths": {"/up": {"post": {"parameters": [
            {"in": "formData", "name": "note", "type": "string", "required": true},
            {"in": "formData", "name": "file", "type": "file"},
            {"in": "formData", "name": "tags", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"}
        ], "responses": {"200": {"description": "ok"}}}}}
    }));
    let media = &out["paths"]["/up"]["post"]["requestBody"]["content"]["multipart/form-data"];
    assert_eq!(media["schema"]["properties"]["file"], json!({"type": "string", "format": "binary"}));
    assert_eq!(media["schema"]["required"], json!(["note"]));
    assert_eq!(media["encoding"]["tags"], json!({"style": "form", "explode": true}));
}

#[test]
fn collection_formats_map_to_styles_and_tsv_is_a_warning() {
    let (out, diags) = lowered(json!({
        "swagger": "2.0",
        "paths": {"/p/{ids}": {"get": {"parameters": [
            {"in": "query", "name": "a", "type": "array", "items": {"type": "integer", "format": "int32"}},
            {"in": "query", "name": "b", "type": "array", "items": {"type": "string"}, "collectionFormat": "pipes"},
            {"in": "query", "name": "c", "type": "array", "items": {"type": "string"}, "collectionFormat": "tsv"},
            {"in": "path", "name": "ids", "required": true, "type": "array", "items": {"type": "string"}}
        ], "responses": {"200": {"description": "ok"}}}}}
    }));
    let params = out["paths"]["/p/{ids}"]["get"]["parameters"].as_array().unwrap();
    assert_eq!((params[0]["style"].as_str(), params[0]["explode"].as_bool()), (Some("form"), Some(false)));
    assert_eq!(params[0]["schema"], json!({"type": "array", "items": {"type": "integer", "format": "int32"}}));
    assert_eq!(params[1]["style"], "pipeDelimited");
    assert_eq!(params[3]["style"], "simple");
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].pointer, "/paths/~1p~1{ids}/get/parameters/2/collectionFormat");
}

#[test]
fn responses_get_content_examples_and_header_schemas() {
    let (out, _) = lowered(json!({
        "swagger": "2.0", "produces": ["application/json"],
        "paths": {"/a": {"get": {"responses": {
            "200": {"description": "ok", "schema": {"type": "object", "x-nullable": true}, "examples": {"application/json": {"a": 1}}, "headers": {"X-Rate": {"type": "integer"}}},
            "404": {"$ref": "#/responses/NotFound"}
        }}}},
        "responses": {"NotFound": {"description": "no"}}
    }));
    let ok = &out["paths"]["/a"]["get"]["responses"]["200"];
    assert_eq!(
        ok["content"]["application/json"],
        json!({"schema": {"type": "object", "x-nullable": true, "nullable": true}, "example": {"a": 1}})
    );
    assert_eq!(ok["headers"]["X-Rate"], json!({"schema": {"type": "integer"}}));
    assert_eq!(out["paths"]["/a"]["get"]["responses"]["404"], json!({"$ref": "#/components/responses/NotFound"}));
    assert_eq!(out["components"]["responses"]["NotFound"], json!({"description": "no"}));
}

#[test]
fn security_definitions_become_security_schemes() {
    let (out, _) = lowered(json!({
        "swagger": "2.0", "paths": {},
        "securityDefinitions": {
            "basic": {"type": "basic"},
            "key": {"type": "apiKey", "name": "X-Key", "in": "header"},
            "oauth": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": "https://a", "tokenUrl": "https://t", "scopes": {"read": "r"}}
        }
    }));
    let s = &out["components"]["securitySchemes"];
    assert_eq!(s["basic"], json!({"type": "http", "scheme": "basic"}));
    assert_eq!(s["key"], json!({"type": "apiKey", "name": "X-Key", "in": "header"}));
    assert_eq!(s["oauth"]["flows"]["authorizationCode"]["tokenUrl"], "https://t");
}

#[test]
fn referenced_body_parameters_are_inlined_and_refs_in_examples_left_alone() {
    let (out, _) = lowered(json!({
        "swagger": "2.0",
        "parameters": {"Body": {"in": "body", "name": "b", "schema": {"$ref": "#/definitions/X"}}, "Limit": {"in": "query", "name": "limit", "type": "integer"}},
        "definitions": {"X": {"type": "object", "example": {"$ref": "#/definitions/literal"}}},
        "paths": {"/x": {"post": {"parameters": [{"$ref": "#/parameters/Body"}, {"$ref": "#/parameters/Limit"}], "responses": {}}}}
    }));
    let op = &out["paths"]["/x"]["post"];
    assert_eq!(op["requestBody"]["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/X");
    assert_eq!(op["parameters"], json!([{"$ref": "#/components/parameters/Limit"}]));
    assert!(out["components"]["parameters"].get("Body").is_none());
    assert_eq!(out["components"]["schemas"]["X"]["example"], json!({"$ref": "#/definitions/literal"}));
}
