//! Routing: templates, literal precedence, suffix and custom-verb templates, 404/405, slashes,
//! percent-encoding, base path, HEAD/OPTIONS, admin endpoints.

use serde_json::json;

use crate::common::{parts, TestServer};

#[tokio::test]
async fn literal_segment_wins_over_template() {
    // Arrange
    let t = TestServer::shop().await;
    // Act
    let (status, _, body) = parts(t.get("/api/v2/products/search?q=lamp").send().await.unwrap()).await;
    // Assert: searchProducts answers an array; getProduct would answer an object.
    assert_eq!(status, 200);
    assert!(body.is_array(), "{body}");
}

#[tokio::test]
async fn suffix_and_custom_verb_templates_route() {
    let t = TestServer::shop().await;
    let (status, _, body) = parts(t.get("/api/v2/files/report.json").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(body.is_object());
    let resp = t.client.post(t.url("/api/v2/jobs/7:cancel")).send().await.unwrap();
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(resp.text().await.unwrap(), "cancelling");
}

#[tokio::test]
async fn unknown_path_is_404_problem() {
    let t = TestServer::shop().await;
    let (status, ct, body) = parts(t.get("/api/v2/nothing/here").send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(ct, "application/problem+json");
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn path_outside_the_base_path_is_404() {
    let t = TestServer::shop().await;
    let resp = t.get("/products").send().await.unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn returns_405_with_allow_header_for_known_path() {
    let t = TestServer::shop().await;
    let resp = t.client.put(t.url("/api/v2/products/prd_abcd")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "DELETE, GET, HEAD");
    let (_, _, body) = parts(resp).await;
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn options_on_a_known_path_lists_methods() {
    let t = TestServer::shop().await;
    let resp = t.client.request(reqwest::Method::OPTIONS, t.url("/api/v2/products")).send().await.unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["allow"], "GET, HEAD, POST");
}

#[tokio::test]
async fn trailing_slash_reaches_the_same_operation() {
    let t = TestServer::shop().await;
    let (status, _, body) = parts(t.get("/api/v2/products/").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(body["products"].is_array());
}

#[tokio::test]
async fn percent_encoded_path_parameters_are_decoded_and_reflected() {
    let t = TestServer::shop().await;
    let (status, _, body) = parts(t.get("/api/v2/products/prd_%61bcd").header("prefer", "dynamic=true").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body["id"], "prd_abcd");
}

#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let t = TestServer::shop().await;
    let resp = t.client.head(t.url("/api/v2/products")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert!(resp.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn health_answers_200_under_the_admin_prefix() {
    let t = TestServer::shop().await;
    let (status, _, body) = parts(t.get("/__standin/health").send().await.unwrap()).await;
    assert_eq!((status, body), (200, json!({"status": "ok"})));
    let (status, _, body) = parts(t.get("/__standin/specs").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["basePath"], "/api/v2");
}

#[tokio::test]
async fn cors_preflight_and_responses_allow_any_origin() {
    let t = TestServer::shop().await;
    let pre = t
        .client
        .request(reqwest::Method::OPTIONS, t.url("/api/v2/products"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, x-api-key")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    assert_eq!(pre.headers()["access-control-allow-headers"], "content-type, x-api-key");
    let resp = t.get("/api/v2/products").header("origin", "http://localhost:3000").send().await.unwrap();
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
}
