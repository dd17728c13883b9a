//! What every exchange carries, whatever the pipeline decided: a request id, and one entry in
//! the journal, faults and timeouts included; an injected fault stores nothing.

use serde_json::{json, Value};

use crate::common::{parts, TestServer};

const KEY: (&str, &str) = ("x-api-key", "ke_live_exchange");

/// The client's `X-Request-Id` comes back as sent; without one, each answer gets its own,
/// error answers included.
#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let t = TestServer::shop().await;
    let r = t.get("/api/v2/products").header("x-request-id", "trace-42").send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-42");
    let a = t.get("/api/v2/products").send().await.unwrap();
    let b = t.get("/nowhere").send().await.unwrap();
    assert_eq!(b.status(), 404);
    let (a, b) = (a.headers()["x-request-id"].to_str().unwrap().to_string(), b.headers()["x-request-id"].to_str().unwrap().to_string());
    assert_ne!(a, b);
    assert!(a.len() == 16 && a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    // An id that is no usable header token is replaced, not echoed.
    let r = t.get("/api/v2/products").header("x-request-id", "x".repeat(300)).send().await.unwrap();
    assert_eq!(r.headers()["x-request-id"].len(), 16);
}

/// A POST answered with an injected 500 has stored nothing, as a failing server would not have;
/// the 500 is in the journal with its operation.
#[tokio::test]
async fn an_injected_fault_stores_nothing_and_is_journaled() {
    let chaos = standin::app::Chaos { error_rate: 1.0, ..Default::default() };
    let options =
        standin::app::Options { body_limit: 1 << 20, rate_limit_off: true, chaos, record: Some(Default::default()), ..Default::default() };
    let t = TestServer::with("specs/bench.yaml", None, options).await;
    let body = json!({"customerName": "Fault Residence", "status": "new", "value": 1});
    let (status, _, _) = parts(t.post_json("/api/agent/deals", &body).header(KEY.0, KEY.1).send().await.unwrap()).await;
    assert_eq!(status, 500);
    let state = t.get("/__standin/state").send().await.unwrap().text().await.unwrap();
    assert!(!state.contains("Fault Residence"), "the faulted create was stored: {state}");
    let journal: Value = t.get("/__standin/requests").send().await.unwrap().json().await.unwrap();
    let entries = journal.as_array().unwrap();
    assert_eq!(entries.len(), 1, "{journal}");
    assert_eq!((entries[0]["status"].as_u64(), entries[0]["operation"].as_str()), (Some(500), Some("createDeal")), "{journal}");
}

/// A request that outlasts the request timeout is answered 503 and journaled as such.
#[tokio::test]
async fn a_timeout_is_journaled() {
    let limits = standin::server::Limits { request_timeout: std::time::Duration::from_millis(200), ..Default::default() };
    let options =
        standin::app::Options { body_limit: 1 << 20, stateless: true, limits, record: Some(Default::default()), ..Default::default() };
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, options).await;
    assert_eq!(t.get("/api/v2/products").header("prefer", "latency=2000").send().await.unwrap().status(), 503);
    let journal: Value = t.get("/__standin/requests").send().await.unwrap().json().await.unwrap();
    let statuses: Vec<u64> = journal.as_array().unwrap().iter().filter_map(|e| e["status"].as_u64()).collect();
    assert_eq!(statuses, [503], "{journal}");
}
