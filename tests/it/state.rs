//! The stateful sandbox: CRUD round trips per vendor, tenant isolation, list filters and totals,
//! reset and state inspection.

use serde_json::json;

use crate::common::{parts, TestServer};

const BENCH_KEY: &str = "ke_live_state_a";

#[tokio::test]
async fn bench_deal_crud_round_trip() {
    let t = TestServer::stateful("specs/bench.yaml", Some("fixtures/bench")).await;
    let key = |r: reqwest::RequestBuilder| r.header("x-api-key", BENCH_KEY);
    // Create: the answer is the stored deal, with an id in the deal_ style and timestamps.
    let (status, _, created) = parts(
        key(t.post_json("/api/agent/deals", &json!({"customerName": "Nguyen Residence", "status": "new", "value": 31000})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("deal_"), "{id}");
    assert_eq!(created["customerName"], "Nguyen Residence");
    assert!(created["createdAt"].is_string());
    // Read it back.
    let (status, _, got) = parts(key(t.get(&format!("/api/agent/deals/{id}"))).send().await.unwrap()).await;
    assert_eq!((status, &got), (200, &created));
    // Patch merges (Bench's DealUpdate refuses `status`: stages move through /stage).
    let patched = key(t
        .client
        .patch(t.url(&format!("/api/agent/deals/{id}")))
        .header("content-type", "application/json")
        .body(json!({"value": 33000}).to_string()))
    .send()
    .await
    .unwrap();
    let (status, _, patched) = parts(patched).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!((patched["value"].as_i64(), patched["customerName"].as_str()), (Some(33000), Some("Nguyen Residence")));
    // The list has it, filtered by status, with a true total.
    let (_, _, list) = parts(key(t.get("/api/agent/deals?status=new&limit=100")).send().await.unwrap()).await;
    assert!(list["deals"].as_array().unwrap().iter().all(|d| d["status"] == "new"), "{list}");
    assert!(list["deals"].as_array().unwrap().iter().any(|d| d["id"] == id.as_str()), "{list}");
    assert_eq!(list["total"], list["deals"].as_array().unwrap().len());
    // Delete, then 404 in Bench's envelope.
    let del = key(t.client.delete(t.url(&format!("/api/agent/deals/{id}")))).send().await.unwrap();
    assert_eq!(del.status(), 200);
    let (status, _, body) = parts(key(t.get(&format!("/api/agent/deals/{id}"))).send().await.unwrap()).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["message"], format!("Deal with ID {id} not found"));
}

#[tokio::test]
async fn tenants_start_from_fixtures_and_see_only_their_own_data() {
    let t = TestServer::stateful("specs/bench.yaml", Some("fixtures/bench")).await;
    // Both start with the fixture deal.
    for k in ["ke_live_a", "ke_live_b"] {
        let (status, _, deal) = parts(t.get("/api/agent/deals/deal_abc123").header("x-api-key", k).send().await.unwrap()).await;
        assert_eq!((status, deal["customerName"].as_str()), (200, Some("Johnson Residence")));
    }
    let del = t.client.delete(t.url("/api/agent/deals/deal_abc123")).header("x-api-key", "ke_live_a").send().await.unwrap();
    assert_eq!(del.status(), 200);
    assert_eq!(t.get("/api/agent/deals/deal_abc123").header("x-api-key", "ke_live_a").send().await.unwrap().status(), 404);
    assert_eq!(t.get("/api/agent/deals/deal_abc123").header("x-api-key", "ke_live_b").send().await.unwrap().status(), 200);
    // Reset one tenant: its fixture data is back.
    let reset = t.client.post(t.url("/__standin/reset?tenant=ke_live_a")).send().await.unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(t.get("/api/agent/deals/deal_abc123").header("x-api-key", "ke_live_a").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn bench_list_pages_with_limit_and_offset_and_true_totals() {
    let t = TestServer::stateful("specs/bench.yaml", Some("fixtures/bench")).await;
    let all = parts(t.get("/api/agent/deals?limit=100").header("x-api-key", BENCH_KEY).send().await.unwrap()).await.2;
    let total = all["deals"].as_array().unwrap().len();
    assert!(total >= 3);
    let (_, _, page) = parts(t.get("/api/agent/deals?limit=2&offset=1").header("x-api-key", BENCH_KEY).send().await.unwrap()).await;
    assert_eq!(page["deals"].as_array().unwrap().len(), 2);
    assert_eq!((page["total"].as_u64(), page["limit"].as_u64(), page["offset"].as_u64()), (Some(total as u64), Some(2), Some(1)));
    assert_eq!(page["deals"][0], all["deals"][1]);
}

#[tokio::test]
async fn bi369_leads_round_trip_inside_its_envelope() {
    let t = TestServer::stateful("specs/bi369.yaml", Some("fixtures/bi369")).await;
    let auth = |r: reqwest::RequestBuilder| r.header("authorization", "Bearer key_state");
    let (status, _, created) = parts(
        auth(t.post_json("/v1/crm/leads", &json!({"firstName": "Ada", "lastName": "Byron", "email": "ada@example.com"})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["success"], true);
    let id = created["data"]["id"].as_i64().expect("integer ids, like the fixtures");
    let (status, _, got) = parts(auth(t.get(&format!("/v1/crm/leads/{id}"))).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(got["data"]["email"], "ada@example.com");
    let (_, _, list) = parts(auth(t.get("/v1/crm/leads?perPage=100")).send().await.unwrap()).await;
    assert_eq!(list["meta"]["total"], list["data"].as_array().unwrap().len());
    assert!(list["data"].as_array().unwrap().iter().any(|l| l["id"] == id));
    let (status, _, body) = parts(auth(t.get("/v1/crm/leads/999999")).send().await.unwrap()).await;
    assert_eq!(status, 404);
    insta::assert_json_snapshot!(body);
}

#[tokio::test]
async fn state_endpoint_shows_tenants_with_masked_keys() {
    let t = TestServer::stateful("specs/benchwork.yaml", Some("fixtures/benchwork")).await;
    let r = t.get("/api/v1/workflows").header("authorization", "Bearer bw_live_secret").send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, _, state) = parts(t.get("/__standin/state").send().await.unwrap()).await;
    let tenants = state.as_object().unwrap().values().next().unwrap().as_object().unwrap();
    assert!(tenants.keys().all(|k| !k.contains("secret")), "{state}");
    assert!(tenants.values().next().unwrap()["/workflows"].as_array().is_some_and(|w| !w.is_empty()));
}

/// The stored object a create answers with still validates against the response schema.
#[tokio::test]
async fn created_items_validate_against_the_response_schema() {
    let spec = crate::common::load("specs/bench.yaml", None);
    let op = spec.operations.iter().find(|o| o.operation_id.as_deref() == Some("createContact")).unwrap();
    let schema = op.default_response().unwrap().content[0].schema.clone().unwrap();
    let validator = spec.schemas.compile_pointer(standin::spec::View::Response, &schema).unwrap();
    let t = TestServer::stateful("specs/bench.yaml", Some("fixtures/bench")).await;
    for i in 0..5 {
        let body = json!({"firstName": "Grace", "lastName": format!("Hopper{i}"), "email": format!("grace{i}@example.com")});
        let (status, _, created) =
            parts(t.post_json("/api/agent/contacts", &body).header("x-api-key", BENCH_KEY).send().await.unwrap()).await;
        assert_eq!(status, 201, "{created}");
        let errors: Vec<String> = validator.iter_errors(&created).map(|e| format!("{e} at {}", e.instance_path().as_str())).collect();
        assert!(errors.is_empty(), "{errors:?}\n{created}");
    }
}

/// Concurrent writers lose nothing: 8 clients × 50 creates each, all stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_are_all_stored() {
    let t = std::sync::Arc::new(TestServer::stateful("specs/bi369.yaml", Some("fixtures/bi369")).await);
    let before = parts(t.get("/v1/crm/leads?perPage=1").header("authorization", "Bearer key_conc").send().await.unwrap()).await.2["meta"]
        ["total"]
        .as_u64()
        .unwrap();
    let mut tasks = Vec::new();
    for w in 0..8 {
        let t = std::sync::Arc::clone(&t);
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let body = json!({"firstName": "W", "lastName": format!("{w}-{i}"), "email": format!("w{w}i{i}@example.com")});
                let r = t.post_json("/v1/crm/leads", &body).header("authorization", "Bearer key_conc").send().await.unwrap();
                assert_eq!(r.status(), 201);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let after = parts(t.get("/v1/crm/leads?perPage=1").header("authorization", "Bearer key_conc").send().await.unwrap()).await.2["meta"]
        ["total"]
        .as_u64()
        .unwrap();
    assert_eq!(after, before + 400);
}

/// Concurrent updates land in order per item: 8 clients × 100 PATCHes, each on its own lead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_are_not_lost() {
    // 808 requests from one key: over Bi369's 600/min, so rate limits are off here.
    let options = standin::app::Options { body_limit: 1 << 20, rate_limit_off: true, ..Default::default() };
    let t = std::sync::Arc::new(TestServer::with("specs/bi369.yaml", Some("fixtures/bi369"), options).await);
    let mut tasks = Vec::new();
    for w in 0..8 {
        let t = std::sync::Arc::clone(&t);
        tasks.push(tokio::spawn(async move {
            let auth = |r: reqwest::RequestBuilder| r.header("authorization", "Bearer key_upd");
            let (_, _, created) = parts(
                auth(t.post_json("/v1/crm/leads", &json!({"firstName": "U", "lastName": "0", "email": format!("u{w}@example.com")})))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let id = created["data"]["id"].as_i64().unwrap();
            for i in 1..=100 {
                let r = auth(
                    t.client
                        .patch(t.url(&format!("/v1/crm/leads/{id}")))
                        .header("content-type", "application/json")
                        .body(json!({"lastName": i.to_string()}).to_string()),
                )
                .send()
                .await
                .unwrap();
                assert_eq!(r.status(), 200);
            }
            id
        }));
    }
    for task in tasks {
        let id = task.await.unwrap();
        let (_, _, lead) =
            parts(t.get(&format!("/v1/crm/leads/{id}")).header("authorization", "Bearer key_upd").send().await.unwrap()).await;
        assert_eq!(lead["data"]["lastName"], "100");
    }
}

#[tokio::test]
async fn benchwork_trigger_creates_a_running_execution_that_completes() {
    let t = TestServer::stateful("specs/benchwork.yaml", Some("fixtures/benchwork")).await;
    let auth = |r: reqwest::RequestBuilder| r.header("authorization", "Bearer bw_live_trigger");
    let (_, _, workflows) = parts(auth(t.get("/api/v1/workflows?status=active")).send().await.unwrap()).await;
    let wf = workflows["workflows"][0]["id"].as_str().unwrap().to_string();
    let (status, _, started) =
        parts(auth(t.post_json(&format!("/api/v1/workflows/{wf}/trigger"), &json!({"payload": {"orderId": 42}}))).send().await.unwrap())
            .await;
    assert_eq!(status, 200, "{started}");
    let exec = started["executionId"].as_str().unwrap().to_string();
    let (_, _, e) = parts(auth(t.get(&format!("/api/v1/executions/{exec}"))).send().await.unwrap()).await;
    assert_eq!((e["status"].as_str(), e["workflowId"].as_str()), (Some("running"), Some(wf.as_str())));
    assert_eq!(e["payload"], json!({"orderId": 42}));
    // The declared transition: success after 2 s (poll, bounded).
    let mut done = None;
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, _, e) = parts(auth(t.get(&format!("/api/v1/executions/{exec}"))).send().await.unwrap()).await;
        if e["status"] == "success" {
            done = Some(e);
            break;
        }
    }
    let done = done.expect("execution completes within 5 s");
    assert!(done["finishedAt"].is_string());
    let (_, _, events) = parts(t.get("/__standin/events").send().await.unwrap()).await;
    assert!(
        events.as_array().unwrap().iter().any(|ev| ev["event"] == "execution.completed" && ev["data"]["id"] == exec.as_str()),
        "{events}"
    );
    // An unknown workflow is Benchwork's 404.
    let r = auth(t.post_json("/api/v1/workflows/wf_nope/trigger", &json!({}))).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn bi369_pay_records_the_payment_and_emits_invoice_paid() {
    let t = TestServer::stateful("specs/bi369.yaml", Some("fixtures/bi369")).await;
    let auth = |r: reqwest::RequestBuilder| r.header("authorization", "Bearer key_pay");
    let (_, _, list) = parts(auth(t.get("/v1/finance/invoices?status=sent")).send().await.unwrap()).await;
    let invoice = list["data"][0].clone();
    let id = invoice["id"].as_i64().expect("a sent invoice in the fixtures");
    let before = invoice["payments"].as_array().map_or(0, Vec::len);
    let r = auth(
        t.client
            .patch(t.url(&format!("/v1/finance/invoices/{id}/pay")))
            .header("content-type", "application/json")
            .body(json!({"amount": 1200, "method": "card"}).to_string()),
    )
    .send()
    .await
    .unwrap();
    let (status, _, paid) = parts(r).await;
    assert_eq!(status, 200, "{paid}");
    assert_eq!((paid["data"]["status"].as_str(), paid["data"]["amountPaid"].as_f64()), (Some("paid"), Some(1200.0)));
    assert_eq!(paid["data"]["payments"].as_array().unwrap().len(), before + 1);
    let (_, _, got) = parts(auth(t.get(&format!("/v1/finance/invoices/{id}"))).send().await.unwrap()).await;
    assert_eq!(got["data"]["status"], "paid");
    let (_, _, events) = parts(t.get("/__standin/events").send().await.unwrap()).await;
    assert!(events.as_array().unwrap().iter().any(|ev| ev["event"] == "invoice.paid"));
}

#[tokio::test]
async fn bench_stage_move_changes_the_deal_and_appends_to_its_activity_log() {
    let t = TestServer::stateful("specs/bench.yaml", Some("fixtures/bench")).await;
    let key = |r: reqwest::RequestBuilder| r.header("x-api-key", "ke_live_stage");
    let (status, _, deal) = parts(
        key(t.post_json("/api/agent/deals/deal_abc123/stage", &json!({"stage": "proposal_sent", "note": "Sent the 8.2 kW proposal"})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{deal}");
    assert_eq!(deal["status"], "proposal_sent");
    let (_, _, log) = parts(key(t.get("/api/agent/deals/deal_abc123/activities")).send().await.unwrap()).await;
    let entry = log["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "stage_change" && a["toStage"] == "proposal_sent")
        .cloned()
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!((entry["fromStage"].as_str(), entry["body"].as_str()), (Some("demo_scheduled"), Some("Sent the 8.2 kW proposal")));
    let (_, _, events) = parts(t.get("/__standin/events").send().await.unwrap()).await;
    assert!(events.as_array().unwrap().iter().any(|e| e["event"] == "deal.stage_changed"));
}

#[tokio::test]
async fn bi369_crud_changes_emit_the_documented_events() {
    let t = TestServer::stateful("specs/bi369.yaml", Some("fixtures/bi369")).await;
    let auth = |r: reqwest::RequestBuilder| r.header("authorization", "Bearer key_events");
    let (_, _, created) = parts(
        auth(t.post_json("/v1/crm/leads", &json!({"firstName": "Lin", "lastName": "Ko", "email": "lin@example.com"})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let id = created["data"]["id"].as_i64().unwrap();
    let r = auth(
        t.client
            .patch(t.url(&format!("/v1/crm/leads/{id}")))
            .header("content-type", "application/json")
            .body(json!({"status": "converted"}).to_string()),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let (_, _, events) = parts(t.get("/__standin/events").send().await.unwrap()).await;
    let names: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(names, vec!["lead.created", "lead.converted", "lead.updated"]);
}

#[tokio::test]
async fn bento_tags_round_trip_in_its_data_envelope() {
    let t = TestServer::stateful("specs/bento.yaml", Some("fixtures/bento")).await;
    let sdk = |r: reqwest::RequestBuilder| r.header("authorization", "Basic cGs6c2s=").header("user-agent", "bento-node-site_1");
    let (status, _, created) =
        parts(sdk(t.post_json("/api/v1/fetch/tags", &json!({"tag": {"name": "vip"}, "site_uuid": "site_1"}))).send().await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    let id = created["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(created["data"]["attributes"]["name"], "vip");
    let (_, _, tags) = parts(sdk(t.get("/api/v1/fetch/tags?site_uuid=site_1")).send().await.unwrap()).await;
    assert!(tags["data"].as_array().unwrap().iter().any(|t| t["id"] == id.as_str()), "{tags}");
    let del = sdk(t
        .client
        .delete(t.url(&format!("/api/v1/fetch/tags/{id}")))
        .header("content-type", "application/json")
        .body(json!({"tag": {"name": "vip"}, "site_uuid": "site_1"}).to_string()))
    .send()
    .await
    .unwrap();
    assert_eq!(del.status(), 200);
    let (_, _, tags) = parts(sdk(t.get("/api/v1/fetch/tags?site_uuid=site_1")).send().await.unwrap()).await;
    assert!(!tags["data"].as_array().unwrap().iter().any(|t| t["id"] == id.as_str()));
}

#[tokio::test]
async fn benchwork_trigger_can_be_told_to_fail() {
    let t = TestServer::stateful("specs/benchwork.yaml", Some("fixtures/benchwork")).await;
    let auth = |r: reqwest::RequestBuilder| r.header("authorization", "Bearer bw_live_fail");
    let (_, _, workflows) = parts(auth(t.get("/api/v1/workflows?status=active")).send().await.unwrap()).await;
    let wf = workflows["workflows"][0]["id"].as_str().unwrap().to_string();
    let (_, _, started) = parts(
        auth(t.post_json(&format!("/api/v1/workflows/{wf}/trigger"), &json!({"payload": {"simulateFailure": true}}))).send().await.unwrap(),
    )
    .await;
    let exec = started["executionId"].as_str().unwrap().to_string();
    let mut status = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (_, _, e) = parts(auth(t.get(&format!("/api/v1/executions/{exec}"))).send().await.unwrap()).await;
        status = e["status"].as_str().unwrap_or_default().to_string();
        if status != "running" {
            break;
        }
    }
    assert_eq!(status, "failed");
    let (_, _, events) = parts(t.get("/__standin/events").send().await.unwrap()).await;
    assert!(events.as_array().unwrap().iter().any(|e| e["event"] == "execution.failed"));
}

/// A client that sends a new credential with every request cannot grow the store without end:
/// past `MAX_TENANTS` the tenant used longest ago is forgotten and starts from the fixtures again.
#[tokio::test]
async fn tenants_past_the_cap_forget_the_one_used_longest_ago() {
    // Arrange: tenant A creates a deal, then a second passes (last use is kept to the second).
    let t = TestServer::stateful("specs/bench.yaml", Some("fixtures/bench")).await;
    let (status, _, created) = parts(
        t.post_json("/api/agent/deals", &json!({"customerName": "Kept?", "status": "new", "value": 1}))
            .header("x-api-key", "ke_live_first")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["deal"]["id"].as_str().or(created["id"].as_str()).expect("an id").to_string();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // Act: as many other tenants as the cap allows.
    for i in 0..standin::state::MAX_TENANTS {
        let r = t.get("/api/agent/deals?limit=1").header("x-api-key", format!("ke_live_k{i}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    // Assert: the store holds the cap, and A starts again from the fixtures.
    let app = t.server.app();
    assert_eq!(app.mounts[0].sandbox.as_ref().unwrap().tenant_count(), standin::state::MAX_TENANTS);
    let r = t.get(&format!("/api/agent/deals/{id}")).header("x-api-key", "ke_live_first").send().await.unwrap();
    assert_eq!(r.status(), 404);
}

/// A load test that keeps creating cannot grow one collection without end: past `MAX_ITEMS` the
/// oldest items are forgotten, the newest stay, and creates keep answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collection_past_the_cap_forgets_its_oldest_items() {
    // 10,002 creates from one key: over Bench's rate limit, so rate limits are off here.
    let options = standin::app::Options { body_limit: 1 << 20, rate_limit_off: true, ..Default::default() };
    let t = TestServer::with("specs/bench.yaml", Some("fixtures/bench"), options).await;
    let (client, url) = (t.client.clone(), t.url("/api/agent/deals"));
    let create = move |name: String| {
        let req = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-api-key", BENCH_KEY)
            .body(json!({"customerName": name, "status": "new", "value": 1}).to_string());
        async move {
            let (status, _, body) = parts(req.send().await.unwrap()).await;
            assert_eq!(status, 201, "{body}");
            body["id"].as_str().expect("an id").to_string()
        }
    };
    let first = create("first".into()).await;
    // As many more as the cap, eight at a time.
    let mut made = 0;
    while made < standin::state::MAX_ITEMS {
        let mut batch = tokio::task::JoinSet::new();
        for i in 0..8.min(standin::state::MAX_ITEMS - made) {
            batch.spawn(create(format!("n{}", made + i)));
        }
        made += batch.len();
        while let Some(done) = batch.join_next().await {
            done.expect("a create");
        }
    }
    let last = create("last".into()).await;
    let get = |id: &str| t.get(&format!("/api/agent/deals/{id}")).header("x-api-key", BENCH_KEY).send();
    assert_eq!(get(&first).await.unwrap().status(), 404, "the oldest is forgotten");
    assert_eq!(get(&last).await.unwrap().status(), 200, "the newest is kept");
    let (_, _, list) = parts(t.get("/api/agent/deals?limit=1").header("x-api-key", BENCH_KEY).send().await.unwrap()).await;
    let total = list["total"].as_u64().expect("a total");
    assert!(total <= standin::state::MAX_ITEMS as u64 && total >= (standin::state::MAX_ITEMS * 9 / 10) as u64, "{total}");
}
