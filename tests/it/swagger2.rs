//! Swagger 2.0 documents load (lowered to OpenAPI 3.0) and serve: routing, validation of body,
//! form and query parameters, security, generated answers that validate; and numeric formats
//! (`int32`, `int64`, `float`) bound parameters and bodies.

use serde_json::json;
use standin::spec::View;

use crate::common::{load, parts, TestServer};

const PETSTORE: &str = "tests/fixtures/specs/swagger2/petstore.yaml";
const FORMS: &str = "tests/fixtures/specs/swagger2/forms.json";

#[test]
fn swagger2_documents_load_as_openapi_30() {
    let s = load(PETSTORE, None);
    assert_eq!(s.openapi, "2.0, read as 3.0.3");
    assert_eq!(s.base_path, "/v2");
    assert_eq!(s.server_host.as_deref(), Some("petstore.example.com"));
    assert_eq!(s.operations.len(), 7);
    assert!(s.warnings.is_empty(), "{:#?}", s.warnings);
    let names: Vec<&str> = s.schemes.iter().map(|k| k.name.as_str()).collect();
    assert_eq!(names, ["api_key", "basic"]);
    let add = s.operations.iter().find(|o| o.operation_id.as_deref() == Some("addPet")).unwrap();
    let body = add.body.as_ref().expect("the body parameter is a request body");
    assert!(body.required);
    assert_eq!(body.content.iter().map(|m| m.mime.as_str()).collect::<Vec<_>>(), ["application/json"]);
    let upload = s.operations.iter().find(|o| o.operation_id.as_deref() == Some("uploadFile")).unwrap();
    assert_eq!(upload.body.as_ref().unwrap().content[0].mime, "multipart/form-data");
    let inventory = s.operations.iter().find(|o| o.operation_id.as_deref() == Some("getInventory")).unwrap();
    assert!(inventory.security.is_empty(), "`security: []` opens the operation");

    let forms = load(FORMS, None);
    assert_eq!(forms.base_path, "/api");
    assert_eq!(forms.warnings.len(), 1, "{:#?}", forms.warnings);
    assert_eq!(forms.warnings[0].pointer, "/paths/~1notes/get/parameters/3/collectionFormat");
    assert_eq!(forms.schemas.response["paths"]["/notes"]["get"]["x-audit"], "kept", "extensions are kept");
    assert!(forms.schemas.response.get("x-standin").is_some());
}

#[test]
fn check_reads_swagger2_and_names_what_it_cannot_convert() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["check", PETSTORE, FORMS])
        .current_dir(crate::common::repo(""))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("petstore.yaml: Petstore (Swagger 2.0 sample) 1.0.0 (OpenAPI 2.0, read as 3.0.3), base path \"/v2\", 7 operations"),
        "{text}"
    );
    assert!(
        text.contains("forms.json#/paths/~1notes/get/parameters/3/collectionFormat: collectionFormat \"tsv\" cannot be converted"),
        "{text}"
    );
    let strict = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["check", "--strict", FORMS])
        .current_dir(crate::common::repo(""))
        .output()
        .unwrap();
    assert!(!strict.status.success());
}

#[tokio::test]
async fn swagger2_petstore_routes_validates_and_authenticates() {
    let t = TestServer::start(PETSTORE, None, 3).await;
    let key = |r: reqwest::RequestBuilder| r.header("api_key", "k");

    let (status, ct, body) = parts(key(t.get("/v2/pets?status=available,sold&limit=5")).send().await.unwrap()).await;
    assert_eq!((status, ct.as_str()), (200, "application/json"), "{body}");
    assert!(body.is_array());
    let (status, _, _) = parts(t.get("/v2/pets").basic_auth("user", Some("pw")).send().await.unwrap()).await;
    assert_eq!(status, 200, "basic auth is the other alternative");
    let (status, _, _) = parts(t.get("/v2/pets").send().await.unwrap()).await;
    assert_eq!(status, 401);
    let (status, _, body) = parts(t.get("/v2/store/inventory").send().await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"available": 3, "sold": 1})), "the response example, without credentials");
    let (status, _, _) = parts(key(t.get("/pets")).send().await.unwrap()).await;
    assert_eq!(status, 404, "served under basePath");

    // Query: csv array items and the referenced `limit` parameter.
    let (status, _, body) = parts(key(t.get("/v2/pets?status=available,bogus")).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(crate::common::locations(&body), ["query.status[1]"], "{body}");
    let (status, _, body) = parts(key(t.get("/v2/pets?limit=0")).send().await.unwrap()).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["query.limit".to_string()]));

    // Body parameter.
    let (status, _, body) = parts(key(t.post_json("/v2/pets", &json!({"name": 5}))).send().await.unwrap()).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["body.name".to_string()]), "{body}");
    let (status, _, body) = parts(key(t.post_json("/v2/pets", &json!({"tag": "x"}))).send().await.unwrap()).await;
    assert_eq!(status, 400, "name is required: {body}");
    let (status, _, body) = parts(key(t.post_json("/v2/pets", &json!({"name": "rex", "status": "sold"}))).send().await.unwrap()).await;
    assert_eq!(status, 201, "{body}");

    // Form parameters (urlencoded) and a file upload (multipart).
    let form =
        |b: &str| key(t.client.post(t.url("/v2/pets/5")).header("content-type", "application/x-www-form-urlencoded").body(b.to_string()));
    let (status, _, body) = parts(form("name=x&status=bogus").send().await.unwrap()).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["body.status".to_string()]), "{body}");
    let (status, _, body) = parts(form("name=x&status=sold").send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, _) =
        parts(key(t.client.post(t.url("/v2/pets/5")).header("content-type", "application/json").body("{}")).send().await.unwrap()).await;
    assert_eq!(status, 415, "the operation consumes forms only");
    let multipart =
        "--b\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.png\"\r\ncontent-type: image/png\r\n\r\nPNG\r\n--b--\r\n";
    let (status, _, body) = parts(
        key(t.client.post(t.url("/v2/pets/5/uploadImage")).header("content-type", "multipart/form-data; boundary=b").body(multipart))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Path parameter: int64.
    let (status, _, body) = parts(key(t.get("/v2/pets/abc")).send().await.unwrap()).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["path.petId".to_string()]));
    let (status, _, body) = parts(key(t.get("/v2/pets/12")).send().await.unwrap()).await;
    assert_eq!((status, &body["id"]), (200, &json!(12)), "{body}");
}

#[tokio::test]
async fn swagger2_generated_answers_validate_against_the_lowered_schemas() {
    let spec = load(PETSTORE, None);
    let t = TestServer::start(PETSTORE, None, 11).await;
    let mut checked = 0;
    for (path, op_id) in [("/v2/pets", "findPets"), ("/v2/pets/7", "getPetById"), ("/v2/store/inventory", "getInventory")] {
        let resp = t.get(path).header("api_key", "k").send().await.unwrap();
        let headers = resp.headers().clone();
        let (status, ct, body) = parts(resp).await;
        assert_eq!((status, ct.as_str()), (200, "application/json"), "{path}: {body}");
        let op = spec.operations.iter().find(|o| o.operation_id.as_deref() == Some(op_id)).unwrap();
        let media = &op.response_for(200).unwrap().content[0];
        let validator = spec.schemas.compile_pointer(View::Response, media.schema.as_deref().unwrap()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&body).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{path}: {errors:?}\n{body}");
        if op_id == "findPets" {
            let total = headers.get("x-total-count").and_then(|v| v.to_str().ok()).expect("declared header is sent");
            assert!(total.parse::<i32>().is_ok(), "{total}");
        }
        checked += 1;
    }
    assert_eq!(checked, 3);
}

#[tokio::test]
async fn swagger2_petstore_serves_statefully() {
    let t = TestServer::stateful(PETSTORE, None).await;
    let (status, _, created) =
        parts(t.post_json("/v2/pets", &json!({"name": "rex", "tag": "dog"})).header("api_key", "k").send().await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("an integer id");
    let (status, _, got) = parts(t.get(&format!("/v2/pets/{id}")).header("api_key", "k").send().await.unwrap()).await;
    assert_eq!((status, &got["name"]), (200, &json!("rex")), "{got}");
}

/// A 3.0 document with numeric formats in a path, a query and a body.
const FORMATS_30: &str = r#"
openapi: 3.0.3
info: {title: Formats, version: '1'}
paths:
  /items/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, format: int64}}
      - {name: n, in: query, schema: {type: integer, format: int32}}
      - {name: x, in: query, schema: {type: number, format: double}}
    get:
      operationId: getItem
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
    put:
      operationId: putItem
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                count: {type: integer, format: int32}
                total: {type: integer, format: int64, minimum: 0}
                ratio: {type: number, format: float}
                weight: {type: number, format: double}
      responses:
        '200': {description: ok, content: {application/json: {schema: {type: object}}}}
"#;

#[tokio::test]
async fn numeric_formats_bound_parameters_and_bodies() {
    let dir = crate::common::scratch_dir("formats");
    let file = dir.join("formats.yaml");
    std::fs::write(&file, FORMATS_30).unwrap();
    let t = TestServer::start(file.to_str().unwrap(), None, 1).await;

    let get = |path: String| {
        let t = &t;
        async move { parts(t.get(&path).send().await.unwrap()).await }
    };
    let (status, _, body) = get("/items/9223372036854775808".into()).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["errors"],
        json!([{"location": "path.id", "message": "9223372036854775808 is greater than the maximum of 9223372036854775807", "keyword": "maximum"}])
    );
    let (status, _, body) = get("/items/-9223372036854775809".into()).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["path.id".to_string()]), "{body}");
    let (status, _, body) = get("/items/99999999999999999999999".into()).await;
    assert_eq!(status, 400, "{body}");
    let (status, _, body) = get("/items/9223372036854775807".into()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = get("/items/-9223372036854775808?n=-2147483648".into()).await;
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = get("/items/1?n=2147483648".into()).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["query.n".to_string()]), "{body}");
    for x in ["1e400", "NaN", "inf", "-Infinity"] {
        let (status, _, body) = get(format!("/items/1?x={x}")).await;
        assert_eq!((status, crate::common::locations(&body)), (400, vec!["query.x".to_string()]), "x={x}: {body}");
    }
    let (status, _, body) = get("/items/1?x=1.7976931348623157e308".into()).await;
    assert_eq!(status, 200, "the largest double is a double: {body}");

    let put = |b: &str| {
        let t = &t;
        let b = b.to_string();
        async move { parts(t.client.put(t.url("/items/1")).header("content-type", "application/json").body(b).send().await.unwrap()).await }
    };
    let (status, _, body) = put(r#"{"count": 2147483648, "total": 9223372036854775808, "ratio": 1e39}"#).await;
    assert_eq!(status, 400, "{body}");
    let mut found = crate::common::locations(&body);
    found.sort();
    assert_eq!(found, ["body.count", "body.ratio", "body.total"], "{body}");
    let (status, _, body) = put(r#"{"total": -1}"#).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["body.total".to_string()]), "the spec's own minimum stays: {body}");
    let (status, _, body) = put(r#"{"weight": 1e400}"#).await;
    assert_eq!(status, 400, "an overflowing literal is refused, not read as infinity: {body}");
    assert_eq!(body["errors"][0]["keyword"], "json", "{body}");
    let (status, _, body) = put(r#"{"count": -2147483648, "total": 9223372036854775807, "ratio": 3.4e38, "weight": 1e308}"#).await;
    assert_eq!(status, 200, "{body}");
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn int64_path_id_in_a_swagger2_document_is_bounded_too() {
    let t = TestServer::start(PETSTORE, None, 3).await;
    let (status, _, body) = parts(t.get("/v2/pets/9223372036854775808").header("api_key", "k").send().await.unwrap()).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["path.petId".to_string()]), "{body}");
    let (status, _, body) =
        parts(t.post_json("/v2/pets", &json!({"name": "rex", "age": 2147483648u64})).header("api_key", "k").send().await.unwrap()).await;
    assert_eq!((status, crate::common::locations(&body)), (400, vec!["body.age".to_string()]), "{body}");
}
