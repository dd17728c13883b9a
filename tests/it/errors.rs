//! Refusals answered in the operation's declared error schema: a `{code: integer, message}` 400,
//! a Stripe-like `default`, a `4XX` range, a list of field errors; the vendor envelope where it
//! fits the declared schema.

use serde_json::{json, Value};

use crate::common::{parts, TestServer};

const SPEC: &str = "tests/fixtures/specs/errors.yaml";

/// Validate `body` against the schema at `pointer` of the errors spec (the test's own check).
fn valid(pointer: &str, body: &Value) -> bool {
    let text = std::fs::read_to_string(crate::common::repo(SPEC)).unwrap();
    let doc: Value = yaml_serde::from_str(&text).unwrap();
    let schema = json!({"$ref": format!("#{pointer}"), "components": doc["components"]});
    jsonschema::validator_for(&schema).unwrap().is_valid(body)
}

#[tokio::test]
async fn a_declared_400_is_answered_in_its_schema_with_the_problems() {
    let t = TestServer::start(SPEC, None, 1).await;
    let resp = t.get("/v1/widgets?limit=500").send().await.unwrap();
    assert_eq!(resp.headers()["x-error-trace"], "trace-1", "a required declared header is sent");
    assert!(!resp.headers().contains_key("x-optional-hint"));
    let (status, ct, body) = parts(resp).await;
    assert_eq!((status, ct.as_str()), (400, "application/json"));
    assert!(valid("/components/schemas/PlainError", &body), "{body}");
    assert_eq!(body["code"], 400, "an integer code carries the HTTP status");
    assert!(body["message"].as_str().unwrap().contains("query.limit"), "{body}");
    insta::assert_json_snapshot!("plain_400", body);
}

#[tokio::test]
async fn a_stripe_like_default_error_carries_its_own_type() {
    let t = TestServer::start(SPEC, None, 1).await;
    let resp = t.post_json("/v1/widgets", &json!({"size": "big"})).send().await.unwrap();
    let (status, ct, body) = parts(resp).await;
    assert_eq!((status, ct.as_str()), (400, "application/json"));
    assert!(valid("/components/schemas/StripeError", &body), "{body}");
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert_eq!(body["error"]["code"], "invalid_request");
    assert!(body["error"]["message"].as_str().unwrap().contains("body.name"), "{body}");
    assert_eq!(body["error"]["param"], "name", "the first problem's field: {body}");
    insta::assert_json_snapshot!("stripe_default", body);
}

#[tokio::test]
async fn a_4xx_range_and_a_list_of_field_errors() {
    let t = TestServer::start(SPEC, None, 1).await;
    let (status, _, body) = parts(t.get("/v1/widgets/NOPE").send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert!(valid("/components/schemas/PlainError", &body), "{body}");
    assert_eq!(body["code"], 400);
    let (status, _, body) = parts(t.post_json("/v1/orders", &json!({"quantity": 0})).send().await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert!(valid("/components/schemas/ValidationError", &body), "{body}");
    let mut fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    fields.sort();
    assert_eq!(fields, ["quantity", "sku"], "{body}");
    insta::assert_json_snapshot!("field_errors_422", body);
}

#[tokio::test]
async fn a_vendor_envelope_that_fits_the_declared_schema_stays() {
    // Bi369 declares `{success, error: {code, message}}` and documents the same envelope.
    let t = TestServer::start("specs/bi369.yaml", None, 1).await;
    let (status, ct, body) = parts(t.get("/v1/crm/leads").send().await.unwrap()).await;
    assert_eq!((status, ct.as_str()), (401, "application/json"));
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");
}

#[tokio::test]
async fn examples_are_resolved_or_skipped_never_served_broken() {
    let t = TestServer::start(SPEC, None, 1).await;
    // `value: {$ref: "#/components/examples/Gadget"}`: the Example object's value is served.
    let resp = t.get("/v1/gadgets/g1").send().await.unwrap();
    assert_eq!(resp.headers()["x-standin-source"], "example:wrapped");
    let (_, _, body) = parts(resp).await;
    assert_eq!(body, json!({"id": "wd_gadget1", "name": "Gadget"}));
    // A schema given as an example and an example of the wrong type: a generated body instead.
    let resp = t.get("/v1/things/t1").send().await.unwrap();
    assert_eq!(resp.headers()["x-standin-source"], "generated");
    let (_, _, body) = parts(resp).await;
    assert!(valid("/components/schemas/Widget", &body), "{body}");
}

#[tokio::test]
async fn the_self_check_reports_a_broken_fixture_as_standins_own_bug() {
    let mut spec = crate::common::load(SPEC, None);
    // A fixture that skipped the load-time check: `name` is required by the Widget schema.
    let op = spec.operations.iter_mut().find(|o| o.operation_id.as_deref() == Some("getWidget")).unwrap();
    op.responses[0].content[0].fixture = Some(std::sync::Arc::new(json!({"id": "wd_1"})));
    let options = standin::app::Options { stateless: true, record: Some(Default::default()), ..Default::default() };
    let t = TestServer::with_spec(spec, options).await;
    let resp = t.get("/v1/widgets/wd_1").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let (_, _, journal) = parts(t.get("/__standin/violations").send().await.unwrap()).await;
    let problems = journal[0]["violations"].as_array().unwrap();
    assert_eq!(problems[0]["keyword"], standin::respond::self_check::KEYWORD, "{journal}");
    assert_eq!(problems[0]["location"], "response.body", "{journal}");
    // A correct answer adds nothing.
    t.get("/v1/widgets").send().await.unwrap();
    let (_, _, journal) = parts(t.get("/__standin/violations").send().await.unwrap()).await;
    assert_eq!(journal.as_array().unwrap().len(), 1, "{journal}");
}

#[tokio::test]
async fn accept_q_values_wildcards_and_vendor_suffixes_choose_the_declared_type() {
    let t = TestServer::start(SPEC, None, 1).await;
    let ct = |accept: &'static str| {
        let req = t.get("/v1/reports").header("accept", accept);
        async move {
            let resp = req.send().await.unwrap();
            (
                resp.status().as_u16(),
                resp.headers().get("content-type").map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string()).unwrap_or_default(),
            )
        }
    };
    assert_eq!(ct("text/csv;q=0.8, application/json;q=0.2").await, (200, "text/csv".into()));
    assert_eq!(ct("application/json;q=0, text/*;q=0.1").await, (200, "text/csv".into()));
    assert_eq!(ct("*/*").await, (200, "application/json".into()));
    assert_eq!(ct("application/vnd.errors.report+json").await, (200, "application/vnd.errors.report+json".into()));
    assert_eq!(ct("application/vnd.other+json").await.1, "application/json", "a +json type is answered in JSON");
    assert_eq!(ct("image/png").await.0, 406);
    assert_eq!(ct("text/csv;q=0, application/json;q=0").await.0, 406);
}

#[tokio::test]
async fn a_declared_closed_problem_schema_gets_type_title_status_and_detail() {
    let t = TestServer::start(SPEC, None, 1).await;
    let (status, ct, body) = parts(t.get("/v1/problems").send().await.unwrap()).await;
    assert_eq!((status, ct.as_str()), (400, "application/problem+json"));
    assert_eq!(body["type"], "urn:standin:problem:invalid_request");
    assert_eq!(body["title"], standin::reject::TITLE_INVALID_REQUEST);
    assert_eq!(body["status"], 400);
    assert!(body["detail"].as_str().unwrap().contains("query.since"), "{body}");
    assert_eq!(body.as_object().unwrap().len(), 4, "nothing the schema does not allow: {body}");
}
