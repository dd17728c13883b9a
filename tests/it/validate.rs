//! Request validation: every parameter location, body schema keywords, content types, JSON
//! syntax, OpenAPI 3.0 and 3.1 dialects; every problem listed with its location.

use serde_json::json;

use crate::common::{locations, parts, TestServer};

#[tokio::test]
async fn query_parameters_are_typed_and_all_problems_listed() {
    let t = TestServer::shop().await;
    let (status, ct, body) = parts(t.get("/api/v2/products?limit=0&minPrice=0&inStock=maybe&tags=a,b").send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(ct, "application/problem+json");
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn valid_typed_query_parameters_pass() {
    let t = TestServer::shop().await;
    let resp = t.get("/api/v2/products?limit=100&minPrice=0.5&inStock=true&tags=a,b").send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn header_and_cookie_parameters_are_validated() {
    let t = TestServer::shop().await;
    let resp = t.get("/api/v2/products").header("x-request-id", "not-a-uuid").header("cookie", "session=ab").send().await.unwrap();
    let (status, _, body) = parts(resp).await;
    assert_eq!(status, 400);
    assert_eq!(locations(&body), vec!["cookie.session", "header.x-request-id"]);
}

#[tokio::test]
async fn missing_required_query_parameter_is_named() {
    let t = TestServer::shop().await;
    let (status, _, body) = parts(t.get("/api/v2/products/search").send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(locations(&body), vec!["query.q"]);
    assert_eq!(body["errors"][0]["message"], "is required");
}

#[tokio::test]
async fn path_parameter_pattern_is_enforced() {
    let t = TestServer::shop().await;
    let (status, _, body) = parts(t.get("/api/v2/products/bad").send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(locations(&body), vec!["path.productId"]);
}

#[tokio::test]
async fn body_schema_problems_are_all_listed() {
    let t = TestServer::shop().await;
    // readOnly id sent, price not > 0 (3.0 boolean exclusiveMinimum), unknown property, wrong
    // enum, too many tags, and `name` missing; `category: null` is fine (3.0 nullable).
    let body =
        json!({"id": "prd_abcd", "price": 0, "currency": "GBP", "category": null, "tags": ["a","b","c","d","e","f"], "colour": "red"});
    let (status, _, body) = parts(t.post_json("/api/v2/products", &body).send().await.unwrap()).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn valid_body_is_accepted_with_null_for_nullable() {
    let t = TestServer::shop().await;
    let body = json!({"name": "Lamp", "price": 10.5, "currency": "EUR", "category": null});
    let resp = t.post_json("/api/v2/products", &body).send().await.unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn wrong_content_type_is_415_and_lists_what_is_accepted() {
    let t = TestServer::shop().await;
    let resp = t.client.post(t.url("/api/v2/products")).header("content-type", "text/plain").body("hi").send().await.unwrap();
    assert_eq!(resp.status(), 415);
    let (_, _, body) = parts(resp).await;
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn malformed_json_is_400_with_position() {
    let t = TestServer::shop().await;
    let resp =
        t.client.post(t.url("/api/v2/products")).header("content-type", "application/json").body("{\"name\": ").send().await.unwrap();
    let (status, _, body) = parts(resp).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["keyword"], "json");
    assert!(body["errors"][0]["message"].as_str().unwrap().contains("line 1 column"), "{body}");
}

#[tokio::test]
async fn missing_required_body_is_reported() {
    let t = TestServer::shop().await;
    let (status, _, body) = parts(t.client.post(t.url("/api/v2/products")).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(locations(&body), vec!["body"]);
}

#[tokio::test]
async fn one_of_with_discriminator_validates_the_chosen_branch() {
    let t = TestServer::shop().await;
    let ok = json!({"amount": 5, "method": {"type": "card", "number": "4242424242424242"}});
    assert_eq!(t.post_json("/api/v2/payments", &ok).send().await.unwrap().status(), 201);
    let bad = json!({"amount": 5, "method": {"type": "card", "number": "42"}, "receiptEmail": "nope"});
    let (status, _, body) = parts(t.post_json("/api/v2/payments", &bad).send().await.unwrap()).await;
    assert_eq!(status, 400);
    let locs = locations(&body);
    assert!(locs.contains(&"body.method".to_string()) && locs.contains(&"body.receiptEmail".to_string()), "{body}");
}

#[tokio::test]
async fn external_refs_write_only_and_422_only_operations() {
    let t = TestServer::shop().await;
    // createUser declares 422 and not 400: schema errors answer 422. Its schema lives in
    // shared/user.yaml (an external $ref), recursive through `manager`.
    let bad = json!({"id": "x", "email": "nope", "name": {"first": "A"}, "manager": {"email": "m@example.com"}});
    let (status, _, body) = parts(t.post_json("/api/v2/users", &bad).send().await.unwrap()).await;
    assert_eq!(status, 422);
    insta::assert_json_snapshot!(body);
    let good = json!({"email": "a@example.com", "password": "correct horse", "name": {"first": "A", "last": "B"}});
    let (status, _, created) = parts(t.post_json("/api/v2/users", &good).send().await.unwrap()).await;
    assert_eq!(status, 201);
    assert!(created.get("password").is_none(), "writeOnly property generated in a response: {created}");
}

#[tokio::test]
async fn openapi_31_dialect_is_honoured() {
    let t = TestServer::start("specs/benchwork.yaml", None, 0).await;
    let (status, _, body) =
        parts(t.get("/api/v1/workflows?limit=101&status=archived").header("authorization", "Bearer bw_live_x").send().await.unwrap()).await;
    assert_eq!(status, 400);
    // Benchwork's envelope has no problem list: every problem is named in the message.
    assert_eq!(body["error"]["code"], "bad_request");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("query.limit: 101 is greater than the maximum of 100") && message.contains("query.status"), "{message}");
}

#[tokio::test]
async fn form_encoded_bodies_are_typed_and_validated() {
    let t = TestServer::shop().await;
    let form = |body: &'static str| {
        t.client.post(t.url("/api/v2/payments")).header("content-type", "application/x-www-form-urlencoded").body(body)
    };
    let ok = form("amount=5&method[type]=card&method[number]=4242424242424242").send().await.unwrap();
    assert_eq!(ok.status(), 201);
    let (status, _, body) =
        parts(form("amount=0&method[type]=card&method[number]=4242424242424242&receiptEmail=x").send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(locations(&body), vec!["body.amount", "body.receiptEmail"]);
}

#[tokio::test]
async fn a_pattern_the_validator_cannot_compile_costs_only_that_pattern() {
    // Arrange: messy.yaml's /e has a Java-syntax pattern beside ordinary constraints.
    let t = TestServer::start("tests/fixtures/specs/messy.yaml", None, 0).await;
    // Act
    let (status, _, body) = parts(t.post_json("/e", &json!({"guid": "not hex", "count": 9, "default": 11})).send().await.unwrap()).await;
    // Assert: the rest of the body is still validated, the pattern is not.
    assert_eq!(status, 400);
    assert_eq!(locations(&body), vec!["body.count", "body.default"]);
    let ok = t.post_json("/e", &json!({"guid": "not hex", "count": 5, "default": 10})).send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_body_with_thousands_of_problems_lists_the_first_hundred_and_counts_the_rest() {
    let t = TestServer::shop().await;
    // 20,000 undeclared keys: one validator error standing for 20,000 problems.
    let mut body = serde_json::Map::new();
    for i in 0..20_000 {
        body.insert(format!("k{i}"), json!(i));
    }
    body.insert("name".into(), json!("Lamp"));
    body.insert("price".into(), json!(5));
    body.insert("currency".into(), json!("EUR"));
    let resp = t.post_json("/api/v2/products", &serde_json::Value::Object(body)).send().await.unwrap();
    let size = resp.content_length();
    let (status, _, body) = parts(resp).await;
    assert_eq!(status, 400);
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), standin::pipeline::validate::MAX_PROBLEMS + 1);
    let last = errors.last().unwrap();
    assert_eq!(last["keyword"], "truncated");
    assert_eq!(last["message"], "19900 more problems not listed (at most 100 are)");
    assert!(body["detail"].as_str().unwrap().contains("20000 problems"), "{}", body["detail"]);
    assert!(size.unwrap_or(0) < 64 << 10, "the answer stays small: {size:?} bytes");
}
