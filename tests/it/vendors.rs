//! Vendor behaviour driven by each spec: credentials, error envelopes, rate limits, required
//! headers — acting as each vendor's client would.

use serde_json::json;

use crate::common::{parts, TestServer};

async fn bench() -> TestServer {
    TestServer::start("specs/bench.yaml", Some("fixtures/bench"), 0).await
}

#[tokio::test]
async fn bench_answers_with_true_rate_limit_headers_that_count_down() {
    let t = bench().await;
    let first = t.get("/api/agent/deals").header("x-api-key", "ke_live_countdown").send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-ratelimit-limit"], "60");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "59");
    let reset: u64 = first.headers()["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(reset > now && reset <= now + 60, "reset {reset} is the end of the current window");
    let second = t.get("/api/agent/deals").header("x-api-key", "ke_live_countdown").send().await.unwrap();
    assert_eq!(second.headers()["x-ratelimit-remaining"], "58");
}

#[tokio::test]
async fn bench_61st_request_in_a_minute_is_429_with_retry_after() {
    let t = bench().await;
    crate::common::fresh_window(60, 10).await;
    for i in 0..60 {
        let r = t.get("/api/agent/deals").header("x-api-key", "ke_live_burst").send().await.unwrap();
        assert_eq!(r.status(), 200, "request {}", i + 1);
    }
    let r = t.get("/api/agent/deals").header("x-api-key", "ke_live_burst").send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let (_, ct, body) = parts(r).await;
    assert_eq!(ct, "application/json");
    assert_eq!(body["error"]["code"], "rate_limited");
    // Another key is another tenant with its own window.
    let other = t.get("/api/agent/deals").header("x-api-key", "ke_live_other").send().await.unwrap();
    assert_eq!(other.status(), 200);
}

#[tokio::test]
async fn bench_missing_key_is_401_in_its_envelope() {
    let t = bench().await;
    let (status, ct, body) = parts(t.get("/api/agent/deals").send().await.unwrap()).await;
    assert_eq!((status, ct.as_str()), (401, "application/json"));
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn bench_invalid_query_and_unknown_path_use_its_envelope() {
    let t = bench().await;
    let (status, _, body) = parts(t.get("/api/agent/deals?limit=500").header("x-api-key", "ke_live_x").send().await.unwrap()).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("bench_invalid_query", body);
    let (status, _, body) = parts(t.get("/api/agent/nothing").header("x-api-key", "ke_live_x").send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn bento_needs_basic_credentials_and_a_user_agent() {
    let t = TestServer::start("specs/bento.yaml", Some("fixtures/bento"), 0).await;
    let url = "/api/v1/fetch/tags?site_uuid=site_1";
    // No User-Agent: the HTML refusal page the docs warn about, before anything else.
    let r = t.client.get(t.url(url)).header("authorization", "Basic cGs6c2s=").send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    // Malformed Basic credentials: 401 in Bento's `{error}` shape, which its SDK reads.
    let r = t.get(url).header("user-agent", "bento-node-site_1").header("authorization", "Basic !!!").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let (_, _, body) = parts(r).await;
    assert!(body["error"].as_str().unwrap().contains("base64"), "{body}");
    // Well-formed: the fixture.
    let r = t.get(url).header("user-agent", "bento-node-site_1").header("authorization", "Basic cGs6c2s=").send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn bento_batch_limits_are_hard_errors_in_its_envelope() {
    let t = TestServer::start("specs/bento.yaml", Some("fixtures/bento"), 0).await;
    let events: Vec<_> = (0..1001).map(|i| json!({"type": "$signed_up", "email": format!("u{i}@example.com")})).collect();
    let r = t
        .post_json("/api/v1/batch/events", &json!({"events": events, "site_uuid": "site_1"}))
        .header("user-agent", "AcmeCRM/1.0")
        .header("authorization", "Basic cGs6c2s=")
        .send()
        .await
        .unwrap();
    let (status, _, body) = parts(r).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("body.events"), "{body}");
}

#[tokio::test]
async fn bi369_errors_use_its_success_false_envelope() {
    let t = TestServer::start("specs/bi369.yaml", Some("fixtures/bi369"), 0).await;
    let (status, _, body) = parts(t.get("/v1/crm/leads").header("authorization", "Bearer ").send().await.unwrap()).await;
    assert_eq!(status, 401);
    insta::assert_json_snapshot!("bi369_unauthorized", body);
    let (status, _, body) = parts(t.get("/v1/crm/leads?perPage=1000").header("authorization", "Bearer key_1").send().await.unwrap()).await;
    assert_eq!(status, 400);
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
}

#[tokio::test]
async fn benchwork_bearer_token_is_required() {
    let t = TestServer::start("specs/benchwork.yaml", Some("fixtures/benchwork"), 0).await;
    let r = t.get("/api/v1/workflows").send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let (status, _, body) = parts(t.get("/api/v1/workflows").header("authorization", "Bearer bw_live_x").send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert!(body["workflows"].as_array().is_some_and(|w| !w.is_empty()));
}

#[tokio::test]
async fn bi369_declared_keys_have_scopes_plans_and_revocation() {
    let t = TestServer::start("specs/bi369.yaml", Some("fixtures/bi369"), 0).await;
    let lead = json!({"firstName": "Ada", "lastName": "Byron", "email": "ada@example.com"});
    // A read-only key reads, and is refused writes with 403 in Bi369's envelope.
    assert_eq!(t.get("/v1/crm/leads").bearer_auth("key_readonly").send().await.unwrap().status(), 200);
    let (status, _, body) = parts(t.post_json("/v1/crm/leads", &lead).bearer_auth("key_readonly").send().await.unwrap()).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "FORBIDDEN");
    // A revoked key is 401.
    let (status, _, body) = parts(t.get("/v1/crm/leads").bearer_auth("key_revoked").send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("UNAUTHORIZED")));
    // Plans: an undeclared key has the default (Pro) 600/min; the Enterprise key 3,000.
    crate::common::fresh_window(60, 40).await;
    for i in 0..600 {
        assert_eq!(t.get("/v1/projects").bearer_auth("key_someone").send().await.unwrap().status(), 200, "request {}", i + 1);
    }
    let r = t.get("/v1/projects").bearer_auth("key_someone").send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    for _ in 0..601 {
        assert_eq!(t.get("/v1/projects").bearer_auth("key_enterprise").send().await.unwrap().status(), 200);
    }
}

#[tokio::test]
async fn bento_site_uuid_is_required_in_the_query_or_the_body() {
    let t = TestServer::start("specs/bento.yaml", Some("fixtures/bento"), 0).await;
    let sdk = |r: reqwest::RequestBuilder| r.header("authorization", "Basic cGs6c2s=").header("user-agent", "bento-node-site_1");
    let (status, _, body) = parts(sdk(t.get("/api/v1/fetch/tags")).send().await.unwrap()).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("site_uuid is required")));
    let (status, _, _) = parts(sdk(t.post_json("/api/v1/fetch/tags", &json!({"tag": {"name": "vip"}}))).send().await.unwrap()).await;
    assert_eq!(status, 401);
    // The SDK's way: site_uuid as a top-level JSON field of a POST.
    let (status, _, _) =
        parts(sdk(t.post_json("/api/v1/fetch/tags", &json!({"tag": {"name": "vip"}, "site_uuid": "site_1"}))).send().await.unwrap()).await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn bento_batches_above_the_typical_size_are_accepted_with_a_contract_warning() {
    let t = TestServer::start("specs/bento.yaml", Some("fixtures/bento"), 0).await;
    let send = |n: usize| {
        let events: Vec<_> = (0..n).map(|i| json!({"type": "$signed_up", "email": format!("u{i}@example.com")})).collect();
        t.post_json("/api/v1/batch/events", &json!({"events": events, "site_uuid": "site_1"}))
            .header("user-agent", "AcmeCRM/1.0")
            .header("authorization", "Basic cGs6c2s=")
            .send()
    };
    let typical = send(100).await.unwrap();
    assert_eq!(typical.status(), 200);
    assert!(!typical.headers().contains_key("x-standin-warning"));
    let large = send(150).await.unwrap();
    assert_eq!(large.status(), 200, "the SDK's limit is 1000: accepted");
    assert!(large.headers()["x-standin-warning"].to_str().unwrap().contains("body.events has 150 items, more than the typical 100"));
}

#[tokio::test]
async fn an_overlay_adds_vendor_behaviour_to_an_unmodified_spec() {
    let options = standin::spec::LoadOptions {
        overlays: vec![crate::common::repo("tests/fixtures/overlays/shop-vendor.yaml")],
        ..Default::default()
    };
    let spec = standin::spec::Spec::load(&crate::common::repo("tests/fixtures/specs/shop.yaml"), &options).unwrap();
    // The action whose target selects nothing is a warning naming the overlay file.
    assert!(spec.warnings.iter().any(|w| w.file.ends_with("shop-vendor.yaml") && w.pointer == "/actions/3/target"), "{:?}", spec.warnings);
    assert!(!spec.operations.iter().any(|o| o.path.contains(":cancel")), "removed by the overlay");
    let (app, _) = standin::app::App::new(
        vec![std::sync::Arc::new(spec)],
        standin::app::Options { stateless: true, body_limit: 1 << 20, ..Default::default() },
    );
    let server = standin::server::start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let c = standin::tls::client();
    let (status, _, body) = parts(c.get(format!("{}/api/v2/products", server.url())).send().await.unwrap()).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"ok": false, "error": "AUTH_REQUIRED", "detail": "Missing or invalid credentials: send the API key in the X-Shop-Key header."})
        )
    );
    let r = c.get(format!("{}/api/v2/products", server.url())).header("x-shop-key", "k").send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["x-quota-left"].to_str().unwrap()), (200, "1"));
}

#[tokio::test]
async fn benchwork_and_bento_error_envelopes() {
    let t = TestServer::stateful("specs/benchwork.yaml", Some("fixtures/benchwork")).await;
    let (status, _, body) = parts(t.get("/api/v1/executions/exec_nope").bearer_auth("bw_live_x").send().await.unwrap()).await;
    assert_eq!(status, 404);
    insta::assert_json_snapshot!("benchwork_not_found", body);
    let t = TestServer::start("specs/bento.yaml", Some("fixtures/bento"), 0).await;
    let (status, _, body) = parts(t.get("/api/v1/fetch/tags?site_uuid=s").header("user-agent", "AcmeCRM/1.0").send().await.unwrap()).await;
    assert_eq!(status, 401);
    insta::assert_json_snapshot!("bento_unauthorized", body);
}

#[tokio::test]
async fn bodies_the_docs_do_not_describe_are_accepted_with_a_warning_and_documented_types_stay_hard() {
    // Bi369 documents no invoice fields: what a client written from its doc sends is answered.
    let t = TestServer::stateful("specs/bi369.yaml", Some("fixtures/bi369")).await;
    let invoice = json!({"customerName": "Northwind", "amount": 4200, "currency": "EUR", "dueDate": "2025-03-31"});
    let resp = t.post_json("/v1/finance/invoices", &invoice).bearer_auth("key_1").send().await.unwrap();
    assert_eq!(resp.status(), 201);
    assert!(resp.headers()["x-standin-warning"].to_str().unwrap().contains("inferred"));
    let (_, _, body) = parts(resp).await;
    assert_eq!(body["success"], true);
    // A body that is not JSON is still the vendor's 400 (the doc: "all requests use JSON").
    let resp = t
        .client
        .post(t.url("/v1/finance/invoices"))
        .bearer_auth("key_1")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    // Bench documents the deal's fields but not the field set of its create body.
    let t = bench().await;
    let deal = json!({"customerName": "Johnson Residence", "value": 24500, "status": "demo_scheduled", "region": "west"});
    let resp = t.post_json("/api/agent/deals", &deal).header("x-api-key", "ke_live_x").send().await.unwrap();
    assert_eq!(resp.status(), 201, "an undocumented field is a warning");
    assert!(resp.headers().contains_key("x-standin-warning"));
    let bad = json!({"customerName": "Johnson Residence", "value": "a lot"});
    let (status, _, body) = parts(t.post_json("/api/agent/deals", &bad).header("x-api-key", "ke_live_x").send().await.unwrap()).await;
    assert_eq!(status, 400, "the deal's value is a documented number");
    assert_eq!(body["error"]["details"][0]["field"], "body.value", "{body}");
}
