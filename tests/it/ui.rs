//! The inspector page (`/__standin/ui`), one exchange in detail, contract coverage
//! (`/__standin/coverage`) and the HTML report written on shutdown (`serve --report-html`).

use std::sync::Arc;

use serde_json::{json, Value};

use crate::common::{load, parts, serve, terminate, TestServer};

/// The shop spec (stateless, fixtures) with a journal that keeps responses, as `serve` does.
async fn shop_keeping_responses() -> TestServer {
    let record = standin::record::RecordOptions { keep_responses: true, ..Default::default() };
    TestServer::with(
        "tests/fixtures/specs/shop.yaml",
        Some("tests/fixtures/responses/shop"),
        standin::app::Options { seed: 7, body_limit: 1 << 20, stateless: true, record: Some(record), ..Default::default() },
    )
    .await
}

/// A few calls: a good list, a list with a bad parameter, a bad create, an unknown path.
async fn exercise(t: &TestServer) {
    assert_eq!(t.get("/api/v2/products?limit=5&tags=a,b").send().await.unwrap().status(), 200);
    assert_eq!(t.get("/api/v2/products?limit=500&debug=1").send().await.unwrap().status(), 400);
    let bad = json!({"name": "Lamp", "price": 0, "currency": "EUR", "colour": "red", "tags": ["home"]});
    assert_eq!(t.post_json("/api/v2/products", &bad).bearer_auth("sk_live_secret").send().await.unwrap().status(), 400);
    assert_eq!(t.get("/api/v2/nowhere").send().await.unwrap().status(), 404);
}

fn operation<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["specs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["operations"].as_array().unwrap())
        .find(|o| o["operation"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report}"))
}

fn sent<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().unwrap().iter().find(|x| x["name"] == name).map(|x| &x["sent"]).unwrap_or(&Value::Null)
}

#[tokio::test]
async fn coverage_counts_exercised_operations_statuses_violations_and_what_was_sent() {
    // Arrange
    let t = TestServer::shop().await;
    exercise(&t).await;

    // Act
    let (status, ct, report) = parts(t.get("/__standin/coverage").send().await.unwrap()).await;

    // Assert
    assert_eq!((status, ct.as_str()), (200, "application/json"));
    let list = operation(&report, "listProducts");
    assert_eq!((list["requests"].as_u64(), list["violating"].as_u64()), (Some(2), Some(1)));
    assert_eq!(list["statuses"], json!([{"status": "200", "requests": 1, "violating": 0}]));
    assert_eq!(list["undeclaredStatuses"], json!([{"status": 400, "requests": 1, "violating": 1}]), "400 is not declared by listProducts");
    assert_eq!(sent(&list["parameters"], "limit"), 2);
    assert_eq!(sent(&list["parameters"], "tags"), 1);
    assert_eq!(sent(&list["parameters"], "inStock"), 0);
    assert_eq!(sent(&list["undeclaredParameters"], "debug"), 1);
    assert_eq!(list["problems"], json!([{"location": "query.limit", "count": 1}]));

    let create = operation(&report, "createProduct");
    assert_eq!(
        create["statuses"],
        json!([{"status": "201", "requests": 0, "violating": 0}, {"status": "400", "requests": 1, "violating": 1}])
    );
    assert_eq!(sent(&create["bodyFields"], "name"), 1);
    assert_eq!(sent(&create["bodyFields"], "price"), 1);
    assert_eq!(sent(&create["bodyFields"], "category"), 0, "declared, never sent");
    assert_eq!(sent(&create["undeclaredBodyFields"], "colour"), 1);

    let never: Vec<&str> = report["unexercised"].as_array().unwrap().iter().map(|o| o["operation"].as_str().unwrap()).collect();
    assert!(never.contains(&"getProduct") && never.contains(&"createUser"), "{never:?}");
    assert!(!never.contains(&"listProducts") && !never.contains(&"createProduct"));
    assert_eq!(report["summary"]["requests"], 4);
    assert_eq!(report["summary"]["violating"], 2);
    assert_eq!(report["summary"]["exercisedOperations"], 2);
    assert_eq!(report["summary"]["unmatched"], 1);
    assert_eq!(report["unmatched"]["examples"], json!([{"method": "GET", "path": "/api/v2/nowhere", "requests": 1}]));
    let buckets = report["timeline"]["buckets"].as_array().unwrap();
    assert_eq!(buckets.iter().map(|b| b["requests"].as_u64().unwrap()).sum::<u64>(), 4);
}

#[tokio::test]
async fn coverage_keeps_specs_on_one_port_apart_and_can_start_again() {
    // Arrange: two specs, told apart by base path.
    let specs = vec![
        Arc::new(load("tests/fixtures/specs/shop.yaml", Some("tests/fixtures/responses/shop"))),
        Arc::new(load("specs/bench.yaml", None)),
    ];
    let (app, _) = standin::app::App::new(
        specs,
        standin::app::Options { stateless: true, rate_limit_off: true, record: Some(Default::default()), ..Default::default() },
    );
    let server = standin::server::start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let c = standin::tls::client();
    let url = |p: &str| format!("{}{p}", server.url());
    assert_eq!(c.get(url("/api/agent/deals")).header("x-api-key", "ke_live_abc123").send().await.unwrap().status(), 200);
    assert_eq!(c.get(url("/api/v2/products")).send().await.unwrap().status(), 200);

    // Act
    let report: Value = c.get(url("/__standin/coverage")).send().await.unwrap().json().await.unwrap();
    let cleared = c.delete(url("/__standin/coverage")).send().await.unwrap().status();
    let after: Value = c.get(url("/__standin/coverage")).send().await.unwrap().json().await.unwrap();

    // Assert
    let titles: Vec<&str> = report["specs"].as_array().unwrap().iter().map(|s| s["title"].as_str().unwrap()).collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    for spec in report["specs"].as_array().unwrap() {
        assert_eq!(spec["summary"]["exercisedOperations"], 1, "{}", spec["title"]);
        assert_eq!(spec["summary"]["requests"], 1);
    }
    assert_eq!(operation(&report, "listDeals")["statuses"][0]["requests"], 1);
    assert_eq!(cleared, 200);
    assert_eq!(after["summary"]["requests"], 0);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn one_exchange_in_detail_has_headers_bodies_and_problems_with_secrets_redacted() {
    // Arrange
    let t = shop_keeping_responses().await;
    exercise(&t).await;
    let list: Value = t.get("/__standin/requests?operation=createProduct").send().await.unwrap().json().await.unwrap();
    let id = list[0]["id"].as_u64().unwrap();

    // Act
    let (status, _, d) = parts(t.get(&format!("/__standin/requests/{id}")).send().await.unwrap()).await;
    let (missing, _, _) = parts(t.get("/__standin/requests/999999").send().await.unwrap()).await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(d["operation"], "createProduct");
    assert_eq!(d["spec"], "Shop API");
    let headers = d["request"]["headers"].as_array().unwrap();
    assert!(headers.contains(&json!(["authorization", "Bearer [redacted]"])), "{headers:?}");
    assert!(!d.to_string().contains("sk_live_secret"), "the credential never shows");
    assert_eq!(d["request"]["body"]["json"]["colour"], "red");
    let locations: Vec<&str> = d["violations"].as_array().unwrap().iter().map(|p| p["location"].as_str().unwrap()).collect();
    assert!(locations.contains(&"body.colour") && locations.contains(&"body.price"), "{locations:?}");
    assert_eq!(d["response"]["kept"], true);
    assert_eq!(d["response"]["body"]["json"]["code"], "invalid_request");
    assert_eq!(missing, 404);

    let list: Value = t.get("/__standin/requests?operation=listProducts&status=400").send().await.unwrap().json().await.unwrap();
    let d: Value = t.get(&format!("/__standin/requests/{}", list[0]["id"])).send().await.unwrap().json().await.unwrap();
    assert_eq!(d["request"]["query"], json!([["limit", "500"], ["debug", "1"]]));
}

#[tokio::test]
async fn specs_list_their_routes() {
    let t = TestServer::shop().await;
    let (_, _, specs) = parts(t.get("/__standin/specs").send().await.unwrap()).await;
    let routes = specs[0]["routes"].as_array().unwrap();
    assert!(routes.contains(&json!({"method": "GET", "path": "/api/v2/products", "operation": "listProducts", "summary": "List products", "statuses": ["200"]})), "{routes:?}");
    assert_eq!(routes.len(), specs[0]["operations"].as_u64().unwrap() as usize);
}

#[tokio::test]
async fn the_page_and_its_assets_are_served_from_the_binary_and_load_nothing_from_elsewhere() {
    let t = TestServer::shop().await;
    for (path, ct) in [
        ("/__standin/ui", "text/html; charset=utf-8"),
        ("/__standin/ui/", "text/html; charset=utf-8"),
        ("/__standin/ui/app.js", "text/javascript; charset=utf-8"),
        ("/__standin/ui/style.css", "text/css; charset=utf-8"),
    ] {
        let resp = t.get(path).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.headers()["content-type"], ct, "{path}");
        let policy = resp.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(policy.starts_with("default-src 'none'") && policy.contains("connect-src 'self'"), "{policy}");
        let text = resp.text().await.unwrap();
        assert!(!text.contains("http://") && !text.contains("https://"), "{path} refers to another site");
    }
    assert_eq!(t.get("/__standin/ui/missing.js").send().await.unwrap().status(), 404);
    let (_, _, journal) = parts(t.get("/__standin/requests").send().await.unwrap()).await;
    assert_eq!(journal, json!([]), "the page's own loads are not traffic");
}

#[tokio::test]
async fn the_coverage_report_renders_as_html_for_the_page_and_as_a_whole_document() {
    let t = TestServer::shop().await;
    exercise(&t).await;
    let fragment = t.get("/__standin/coverage?format=fragment").send().await.unwrap().text().await.unwrap();
    assert!(fragment.starts_with("<section class=\"cov\""), "{fragment}");
    assert!(fragment.contains("<tr class=\"cov-exercised cov-violated\" data-operation=\"listProducts\""), "{fragment}");
    assert!(fragment.contains("<tr class=\"cov-unexercised\" data-operation=\"getProduct\""));
    let resp = t.get("/__standin/coverage?format=html").send().await.unwrap();
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let doc = resp.text().await.unwrap();
    assert!(doc.starts_with("<!DOCTYPE html>") && doc.contains(&fragment));
}

#[test]
fn report_html_is_written_on_shutdown_self_contained_with_the_matrix() {
    // Arrange
    let dir = crate::common::scratch_dir("report-html");
    let file = dir.join("coverage.html");
    let junit = dir.join("junit.xml");
    let (mut child, url) = serve(&[
        "--spec",
        "tests/fixtures/specs/shop.yaml",
        "--stateless",
        "--report",
        junit.to_str().unwrap(),
        "--report-html",
        file.to_str().unwrap(),
    ]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = standin::tls::client();
        c.get(format!("{url}/api/v2/products?limit=3")).send().await.unwrap();
        c.get(format!("{url}/api/v2/products/prd_lamp1")).send().await.unwrap();
        c.get(format!("{url}/api/v2/products?limit=0")).send().await.unwrap();
    });

    // Act
    terminate(&mut child);

    // Assert
    let html = std::fs::read_to_string(&file).expect("report written on shutdown");
    std::fs::remove_dir_all(&dir).ok();
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(html.contains("<table class=\"cov-matrix\""));
    assert!(html.contains("<tr class=\"cov-exercised cov-violated\" data-operation=\"listProducts\" data-requests=\"2\">"), "{html}");
    assert!(html.contains("<tr class=\"cov-exercised\" data-operation=\"getProduct\" data-requests=\"1\">"));
    assert!(html.contains("<tr class=\"cov-unexercised\" data-operation=\"createUser\" data-requests=\"0\">"));
    assert!(html.contains("<svg class=\"cov-chart\""), "latency chart inline");
    assert!(!html.contains("http://") && !html.contains("https://"), "no external references");
    assert!(!html.contains("<script") && !html.contains("<link"), "nothing to run or load");
}
