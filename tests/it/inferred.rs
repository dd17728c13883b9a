//! Documented against inferred contracts (`x-standin-inferred`): a request that breaks only what
//! the spec's author inferred is answered, with a warning header and a journal warning; one that
//! breaks a documented constraint is still refused with every problem listed.

use serde_json::json;

use crate::common::{locations, parts, TestServer};

const SPEC: &str = "tests/fixtures/specs/inferred.yaml";

async fn server() -> TestServer {
    TestServer::start(SPEC, None, 1).await
}

fn warning(resp: &reqwest::Response) -> Option<String> {
    resp.headers().get("x-standin-warning").map(|v| v.to_str().unwrap().to_string())
}

#[tokio::test]
async fn a_body_breaking_a_wholly_inferred_schema_is_answered_with_a_warning() {
    let t = server().await;
    // What a client written from a doc that names no invoice fields plausibly sends.
    let body = json!({"customerName": "Northwind", "amount": 4200, "currency": "EUR", "dueDate": "2025-03-31"});
    let resp = t.post_json("/v1/invoices", &body).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    let w = warning(&resp).expect("a warning header");
    assert!(w.contains("inferred constraints"), "{w}");
    let journal: serde_json::Value = t.get("/__standin/violations").send().await.unwrap().json().await.unwrap();
    let entry = &journal[0];
    assert_eq!(entry["status"], 201);
    assert_eq!(entry["violations"], json!([]), "no documented constraint was broken");
    let warnings = entry["warnings"].as_array().unwrap();
    assert!(warnings.iter().all(|w| w["kind"] == "warning"));
    let mut where_: Vec<&str> = warnings.iter().map(|w| w["location"].as_str().unwrap()).collect();
    where_.sort();
    assert_eq!(where_, ["body.amount", "body.currency", "body.customer", "body.customerName", "body.lineItems"]);
}

#[tokio::test]
async fn only_the_marked_keywords_of_a_schema_are_inferred() {
    let t = server().await;
    // The field set is inferred: an unknown field and a missing one are warnings.
    let resp = t.post_json("/v1/leads", &json!({"name": "Ada", "phone": "+44"})).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert!(warning(&resp).is_some());
    // The documented type and length of `name` are still enforced, and every problem is listed.
    let (status, _, body) = parts(t.post_json("/v1/leads", &json!({"name": "", "email": 5})).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(locations(&body), vec!["body.email", "body.name"]);
}

#[tokio::test]
async fn the_extension_block_list_and_the_operation_marker_make_problems_warnings() {
    let t = server().await;
    let resp = t.post_json("/v1/notes", &json!({"text": 5})).send().await.unwrap();
    assert_eq!(resp.status(), 204, "Note is listed in x-standin.inferred");
    assert!(warning(&resp).is_some());
    let resp = t.get("/v1/reports").send().await.unwrap();
    assert_eq!(resp.status(), 200, "the operation is inferred: its required parameter too");
    assert!(warning(&resp).unwrap().contains("query.from"));
}

#[tokio::test]
async fn a_valid_request_and_malformed_json_are_unaffected() {
    let t = server().await;
    let ok = json!({"customer": {"name": "N"}, "lineItems": [{}], "dueDate": "2025-03-31"});
    let resp = t.post_json("/v1/invoices", &ok).send().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert_eq!(warning(&resp), None);
    let resp = t.url("/v1/invoices");
    let resp = t.client.post(resp).header("content-type", "application/json").body("{").send().await.unwrap();
    assert_eq!(resp.status(), 400, "a body that is not JSON cannot be taken as meant");
}

#[tokio::test]
async fn a_refused_request_lists_its_inferred_problems_too() {
    let t = server().await;
    // `name` breaks a documented constraint; the undeclared `phone` only an inferred one.
    let (status, _, body) =
        parts(t.post_json("/v1/leads", &json!({"name": "", "email": "a@b.c", "phone": "+44"})).send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(locations(&body), vec!["body.name", "body.phone"]);
}
