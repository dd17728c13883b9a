//! The journal, the violations list, and HAR recording (redacted, readable after kill -9).

use std::process::Command;

use serde_json::{json, Value};

use crate::common::{parts, replay, serve, TestServer};

#[tokio::test]
async fn journal_lists_exchanges_and_violations_and_can_be_cleared() {
    let t = TestServer::shop().await;
    assert_eq!(t.get("/api/v2/products").send().await.unwrap().status(), 200);
    assert_eq!(t.get("/api/v2/products?limit=0").send().await.unwrap().status(), 400);
    assert_eq!(t.get("/api/v2/nowhere").send().await.unwrap().status(), 404);
    let (_, _, all) = parts(t.get("/__standin/requests").send().await.unwrap()).await;
    let statuses: Vec<u64> = all.as_array().unwrap().iter().map(|e| e["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![200, 400, 404], "admin calls are not journaled: {all}");
    assert_eq!(all[0]["operation"], "listProducts");
    // Where each answer came from; a rejection has no source.
    assert_eq!(all[0]["source"], "generated", "{all}");
    assert_eq!(all[1]["source"], Value::Null, "{all}");
    let (_, _, only) = parts(t.get("/__standin/requests?status=400").send().await.unwrap()).await;
    assert_eq!(only.as_array().unwrap().len(), 1);
    let (_, _, violations) = parts(t.get("/__standin/violations").send().await.unwrap()).await;
    assert_eq!(violations[0]["violations"][0]["location"], "query.limit");
    // By tenant: the credential the client sent (shown masked).
    let t2 = TestServer::start("specs/bench.yaml", Some("fixtures/bench"), 0).await;
    t2.get("/api/agent/deals").header("x-api-key", "ke_live_alpha").send().await.unwrap();
    // A key of the same kind: Bench's keys all start `ke_live_`.
    t2.get("/api/agent/deals").header("x-api-key", "ke_live_beta").send().await.unwrap();
    let (_, _, mine) = parts(t2.get("/__standin/requests?tenant=ke_live_alpha").send().await.unwrap()).await;
    assert_eq!(mine.as_array().unwrap().len(), 1);
    let shown = mine[0]["tenant"].as_str().unwrap();
    assert!(shown.starts_with("ke_l…") && !shown.contains("alpha"), "{shown}");
    t.client.delete(t.url("/__standin/requests")).send().await.unwrap();
    let (_, _, all) = parts(t.get("/__standin/requests").send().await.unwrap()).await;
    assert_eq!(all, json!([]));
}

#[test]
fn recording_is_a_redacted_har_that_survives_kill_9() {
    let dir = crate::common::scratch_dir("har");
    let file = dir.join("session.har");
    let (mut child, url) = serve(&["--spec", "specs/bench.yaml", "--record", file.to_str().unwrap()]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = standin::tls::client();
        for i in 0..5 {
            let r = c.get(format!("{url}/api/agent/deals?limit={}", i + 1)).header("x-api-key", "ke_live_secret").send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
        let r = c
            .post(format!("{url}/api/agent/deals"))
            .header("x-api-key", "ke_live_secret")
            .header("content-type", "application/json")
            .body("{\"customerName\": 5}")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    });
    // The writer runs off the request path: give it a moment, then kill without warning.
    let har_entries = |f: &std::path::Path| -> Option<Vec<Value>> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(f).ok()?).ok()?;
        v["log"]["entries"].as_array().cloned()
    };
    for _ in 0..50 {
        if har_entries(&file).is_some_and(|e| e.len() == 6) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-KILL", &child.id().to_string()]).status();
    let _ = child.wait();
    let text = std::fs::read_to_string(&file).unwrap();
    let har: Value = serde_json::from_str(&text).expect("the HAR is complete JSON after kill -9");
    assert_eq!(har["log"]["version"], "1.2");
    let entries = har["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 6);
    assert!(!text.contains("ke_live_secret"), "API keys are redacted by default");
    let first = &entries[0];
    assert_eq!(first["request"]["method"], "GET");
    assert_eq!(first["response"]["status"], 200);
    assert!(first["response"]["content"]["text"].as_str().unwrap().contains("Johnson Residence"));
    assert_eq!(first["_standin"]["operation"], "listDeals");
    assert_eq!(entries[5]["_standin"]["violations"][0]["location"], "body.customerName");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn record_then_replay_gives_byte_identical_answers_in_order() {
    let dir = crate::common::scratch_dir("replay");
    let file = dir.join("flow.har");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let c = standin::tls::client();
    // A stateful flow: the same GET before and after a change answers differently.
    let flow = |url: String| {
        let c = c.clone();
        async move {
            let mut out = Vec::new();
            let key = "ke_live_replay";
            let get = || c.get(format!("{url}/api/agent/deals/deal_abc123")).header("x-api-key", key);
            for r in [
                get(),
                c.post(format!("{url}/api/agent/deals/deal_abc123/stage"))
                    .header("x-api-key", key)
                    .header("content-type", "application/json")
                    .body("{\"stage\": \"won\"}"),
                get(),
                c.delete(format!("{url}/api/agent/deals/deal_abc123")).header("x-api-key", key),
                get(),
            ] {
                let r = r.send().await.unwrap();
                let status = r.status().as_u16();
                out.push((status, r.bytes().await.unwrap().to_vec()));
            }
            out
        }
    };
    let (mut child, url) = serve(&["--spec", "specs/bench.yaml", "--record", file.to_str().unwrap()]);
    let recorded = rt.block_on(flow(url));
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    assert_eq!(recorded.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![200, 200, 200, 200, 404]);
    let (mut child, url) = replay(&[file.to_str().unwrap()]);
    let replayed = rt.block_on(flow(url.clone()));
    let unmatched: Value = rt.block_on(async { c.get(format!("{url}/api/agent/contacts")).send().await.unwrap().json().await.unwrap() });
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(replayed, recorded, "replay answers are byte-identical and in recorded order");
    assert_eq!(unmatched["code"], "not_recorded");
    assert!(unmatched["nearest"].as_array().is_some_and(|n| !n.is_empty()));
}

#[test]
fn verify_passes_against_the_same_api_and_reports_drift_with_a_diff() {
    let dir = crate::common::scratch_dir("verify");
    let file = dir.join("shop.har");
    let junit = dir.join("junit.xml");
    let shop = ["--spec", "tests/fixtures/specs/shop.yaml", "--fixtures", "tests/fixtures/responses/shop", "--stateless"];
    // Record a session.
    let mut args: Vec<&str> = shop.to_vec();
    args.extend(["--seed", "7", "--record", file.to_str().unwrap()]);
    let (mut child, url) = serve(&args);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = standin::tls::client();
        c.get(format!("{url}/api/v2/products?limit=3")).send().await.unwrap();
        c.get(format!("{url}/api/v2/categories/1")).send().await.unwrap();
        c.post(format!("{url}/api/v2/products"))
            .header("content-type", "application/json")
            .body("{\"name\": \"Lamp\", \"price\": 5, \"currency\": \"EUR\"}")
            .send()
            .await
            .unwrap();
    });
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let verify = |target: &str| {
        Command::new(env!("CARGO_BIN_EXE_standin"))
            .args(["verify", file.to_str().unwrap(), "--target", target, "--junit", junit.to_str().unwrap()])
            .output()
            .unwrap()
    };
    // Same API: passes.
    let mut args: Vec<&str> = shop.to_vec();
    args.extend(["--seed", "7"]);
    let (mut same, url) = serve(&args);
    let out = verify(&url);
    let _ = same.kill();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // Drifted API (another seed): fails, naming each differing field.
    let mut args: Vec<&str> = shop.to_vec();
    args.extend(["--seed", "8"]);
    let (mut drifted, url) = serve(&args);
    let out = verify(&url);
    let _ = drifted.kill();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("FAIL 001 GET /api/v2/products?limit=3") && text.contains("/products/0/name:"), "{text}");
    assert!(text.contains("ok   002 GET /api/v2/categories/1"), "fixtures do not drift: {text}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<testsuite name=\"standin verify\" tests=\"3\"") && xml.contains("<failure"), "{xml}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn proxy_passes_answers_through_and_reports_both_sides_violations() {
    // An upstream that breaks the shop spec: `products` must be an array, `total` >= 0.
    let upstream =
        axum::Router::new().fallback(|| async { ([("content-type", "application/json")], "{\"products\": \"oops\", \"total\": -1}") });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, upstream).await });
    let options = standin::app::Options {
        body_limit: 1 << 20,
        stateless: true,
        record: Some(Default::default()),
        upstream: Some(upstream_url),
        ..Default::default()
    };
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, options).await;
    let resp = t.get("/api/v2/products?limit=0").send().await.unwrap();
    assert_eq!(resp.headers()["x-standin-source"], "upstream");
    let (status, _, body) = parts(resp).await;
    assert_eq!((status, body), (200, json!({"products": "oops", "total": -1})), "passed through unchanged");
    let (_, _, violations) = parts(t.get("/__standin/violations").send().await.unwrap()).await;
    let locations: Vec<&str> = violations[0]["violations"].as_array().unwrap().iter().filter_map(|v| v["location"].as_str()).collect();
    assert!(locations.contains(&"request.query.limit"), "{violations}");
    assert!(locations.contains(&"response.body.products") && locations.contains(&"response.body.total"), "{violations}");
}

#[test]
fn strict_serve_exits_non_zero_with_a_junit_report_when_the_client_breaks_the_contract() {
    let dir = crate::common::scratch_dir("report");
    let report = dir.join("contract.xml");
    let (mut child, url) =
        serve(&["--spec", "tests/fixtures/specs/shop.yaml", "--stateless", "--strict", "--report", report.to_str().unwrap()]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = standin::tls::client();
        assert_eq!(c.get(format!("{url}/api/v2/products")).send().await.unwrap().status(), 200);
        assert_eq!(c.get(format!("{url}/api/v2/products/search")).send().await.unwrap().status(), 400);
    });
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "a violation with --strict fails the run");
    let xml = std::fs::read_to_string(&report).unwrap();
    // quick-junit writes every count of the suite, in this order.
    assert!(xml.contains("tests=\"2\" skipped=\"0\" errors=\"0\" failures=\"1\""), "{xml}");
    assert!(xml.contains("name=\"searchProducts\" classname=\"contract\">") && xml.contains("query.q"), "{xml}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn latency_and_injected_faults_for_resilience_tests() {
    // Per-request latency with Prefer.
    let t = TestServer::shop().await;
    let start = std::time::Instant::now();
    assert_eq!(t.get("/api/v2/products").header("prefer", "latency=150").send().await.unwrap().status(), 200);
    assert!(start.elapsed() >= std::time::Duration::from_millis(150));
    // Every request a 500 in the vendor's envelope.
    let chaos = standin::app::Chaos { error_rate: 1.0, ..Default::default() };
    let t = TestServer::with(
        "specs/bi369.yaml",
        Some("fixtures/bi369"),
        standin::app::Options { body_limit: 1 << 20, stateless: true, chaos, ..Default::default() },
    )
    .await;
    let (status, _, body) = parts(t.get("/v1/crm/leads").bearer_auth("k").send().await.unwrap()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (500, Some("INTERNAL_ERROR")));
    // Every connection cut mid-answer.
    let chaos = standin::app::Chaos { reset_rate: 1.0, ..Default::default() };
    let t = TestServer::with(
        "tests/fixtures/specs/shop.yaml",
        None,
        standin::app::Options { body_limit: 1 << 20, stateless: true, chaos, ..Default::default() },
    )
    .await;
    let result = async { t.get("/api/v2/products").send().await?.bytes().await }.await;
    assert!(result.is_err(), "the client sees a broken answer");
    // Health is never faulted.
    assert_eq!(t.get("/__standin/health").send().await.unwrap().status(), 200);
}

/// The recipe from the README: start standin in-process, drive a client, snapshot what it sent.
#[tokio::test]
async fn snapshot_what_a_client_sent() {
    let t = TestServer::start("specs/bento.yaml", Some("fixtures/bento"), 0).await;
    // The "client under test": tracks a purchase the way Bento's SDK does.
    let client = standin::tls::client();
    client
        .post(t.url("/api/v1/batch/events"))
        .basic_auth("pk_live", Some("sk_live"))
        .header("user-agent", "bento-node-site_1")
        .json(&json!({"events": [{"type": "$purchase", "email": "ari@example.com", "details": {"unique": {"key": "order-1"}, "value": {"currency": "USD", "amount": 1999}}}], "site_uuid": "site_1"}))
        .send()
        .await
        .unwrap();
    insta::assert_json_snapshot!(t.server.sent(), { "[].headers.authorization" => "[credentials]" });
}

/// `kill -9` right after an answer, with no pause: the answer left only once its entry was in
/// the file, so the HAR has it. Several rounds, since the loss this guards against was a race.
#[test]
fn kill_9_right_after_one_answer_finds_it_in_the_har() {
    let dir = crate::common::scratch_dir("har-k9");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for round in 0..5 {
        let file = dir.join(format!("one-{round}.har"));
        let (mut child, url) = serve(&["--spec", "specs/bench.yaml", "--record", file.to_str().unwrap()]);
        let status = rt.block_on(async {
            let r =
                standin::tls::client().get(format!("{url}/api/agent/deals?limit={}", round + 1)).header("x-api-key", "ke_live_k9").send();
            r.await.unwrap().status()
        });
        child.kill().unwrap(); // SIGKILL
        let _ = child.wait();
        assert_eq!(status, 200);
        let entries = standin::record::har::read(&file).expect("the HAR parses after kill -9");
        assert_eq!(entries.len(), 1, "round {round}: the answered exchange is in the HAR");
        assert_eq!(entries[0].path_and_query(), format!("/api/agent/deals?limit={}", round + 1));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Large entries written while the process is killed: the file reads back (a torn last entry
/// at worst, dropped with a warning) and holds every exchange a client got an answer for.
#[test]
fn kill_9_under_load_with_large_entries_keeps_every_answered_exchange_readable() {
    use std::sync::{Arc, Mutex};
    let dir = crate::common::scratch_dir("har-k9-load");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let body = Arc::new(format!("{{\"customerName\": \"{}\"}}", "x".repeat(400 * 1024)));
    for round in 0..3u64 {
        let file = dir.join(format!("load-{round}.har"));
        let (mut child, url) = serve(&["--spec", "specs/bench.yaml", "--record", file.to_str().unwrap()]);
        let answered: Arc<Mutex<Vec<u64>>> = Arc::default();
        rt.block_on(async {
            let c = standin::tls::client();
            let senders: Vec<_> = (0..4u64)
                .map(|task| {
                    let (c, url, body, answered) = (c.clone(), url.clone(), Arc::clone(&body), Arc::clone(&answered));
                    tokio::spawn(async move {
                        for n in 0.. {
                            let seq = task * 1_000_000 + n;
                            let r = c
                                .post(format!("{url}/api/agent/deals?seq={seq}"))
                                .header("x-api-key", "ke_live_k9")
                                .header("content-type", "application/json")
                                .body(body.as_str().to_owned());
                            match r.send().await {
                                Ok(_) => answered.lock().unwrap().push(seq),
                                Err(_) => break,
                            }
                        }
                    })
                })
                .collect();
            // Kill mid-stream: once answers flow (a loaded machine may take a while), a little later.
            for _ in 0..200 {
                if !answered.lock().unwrap().is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100 + 97 * round)).await;
            child.kill().unwrap(); // SIGKILL
            for s in senders {
                let _ = s.await;
            }
        });
        let _ = child.wait();
        let entries = standin::record::har::read(&file).expect("the HAR reads back after kill -9 mid-write");
        let recorded: std::collections::HashSet<String> = entries.iter().map(|e| e.path_and_query().to_string()).collect();
        let answered = answered.lock().unwrap().clone();
        assert!(!answered.is_empty(), "round {round}: some requests were answered before the kill");
        for seq in &answered {
            assert!(recorded.contains(&format!("/api/agent/deals?seq={seq}")), "round {round}: answered exchange {seq} is missing");
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `standin replay` runs on the same server loop: a trickled header is cut at `--header-timeout`.
#[test]
fn replay_cuts_slow_headers_like_serve() {
    use std::io::{Read, Write};
    let dir = crate::common::scratch_dir("replay-slow");
    let file = dir.join("empty.har");
    std::fs::write(&file, r#"{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": []}}"#).unwrap();
    let (mut child, url) = replay(&[file.to_str().unwrap(), "--header-timeout", "1"]);
    let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(100))).unwrap();
    let started = std::time::Instant::now();
    let closed = loop {
        if s.write_all(b"a").is_err() {
            break true;
        }
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(_) => {} // hyper's answer to a timed-out head, if any; the close follows
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break true,
        }
        if started.elapsed() > std::time::Duration::from_secs(4) {
            break false;
        }
    };
    crate::common::terminate(&mut child);
    std::fs::remove_dir_all(&dir).ok();
    assert!(closed, "the trickling connection was closed");
    assert!(started.elapsed() < std::time::Duration::from_secs(3), "took {:?}", started.elapsed());
}

/// `standin replay` reads bodies under the same minimum rate: a body trickled below
/// `--min-body-rate` gets 408 once the 5 s grace period is over, not after the request timeout.
#[test]
fn replay_refuses_a_trickled_body_like_serve() {
    use std::io::{Read, Write};
    // Arrange
    let dir = crate::common::scratch_dir("replay-slow-body");
    let file = dir.join("empty.har");
    std::fs::write(&file, r#"{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": []}}"#).unwrap();
    let (mut child, url) = replay(&[file.to_str().unwrap(), "--min-body-rate", "1000"]);
    let mut s = std::net::TcpStream::connect(url.trim_start_matches("http://")).unwrap();
    s.write_all(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n").unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    let started = std::time::Instant::now();
    // Act: 50 bytes every 200 ms (250 bytes/s) until the answer comes.
    let mut got = Vec::new();
    while started.elapsed() < std::time::Duration::from_secs(12) && !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let _ = s.write_all(&[b'a'; 50]);
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let took = started.elapsed();
    crate::common::terminate(&mut child);
    std::fs::remove_dir_all(&dir).ok();
    // Assert
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(took >= std::time::Duration::from_secs(5) && took < std::time::Duration::from_secs(9), "took {took:?}");
}

/// A spec whose API key travels in the query, with a login taking a password.
const QUERY_KEY_SPEC: &str = r#"
openapi: 3.0.3
info: {title: Keyed, version: "1"}
servers: [{url: /v1}]
security: [{key: []}]
components:
  securitySchemes:
    key: {type: apiKey, in: query, name: api_key}
paths:
  /items:
    get:
      operationId: listItems
      responses:
        "200": {description: ok, content: {application/json: {schema: {type: array, items: {type: string}}}}}
  /login:
    post:
      operationId: login
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                user: {type: string}
                password: {type: string}
                client_secret: {type: string}
          application/x-www-form-urlencoded:
            schema:
              type: object
              properties:
                user: {type: string}
                password: {type: string}
      responses:
        "204": {description: ok}
"#;

/// Credentials in the query (the spec's API key) and secret-like body members are redacted in
/// the journal, the HAR file and the completion line, outside every base path too.
#[test]
fn journal_har_and_log_line_redact_query_keys_and_secret_body_fields() {
    let dir = crate::common::scratch_dir("redact");
    let spec = dir.join("keyed.yaml");
    std::fs::write(&spec, QUERY_KEY_SPEC).unwrap();
    let har = dir.join("s.har");
    let (mut child, url, lines) =
        crate::common::serve_logged(&["--spec", spec.to_str().unwrap(), "--log-format", "text", "--record", har.to_str().unwrap()]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let journal: Value = rt.block_on(async {
        let c = standin::tls::client();
        c.get(format!("{url}/v1/items?api_key=sk_live_q1&page=2")).send().await.unwrap();
        c.get(format!("{url}/elsewhere?api_key=sk_live_q2")).send().await.unwrap();
        let login = json!({"user": "ari", "password": "hunter2", "client_secret": "cs_live_3"});
        c.post(format!("{url}/v1/login?api_key=sk_live_q1")).json(&login).send().await.unwrap();
        let form = "user=bo&password=pw_form_9";
        c.post(format!("{url}/v1/login?api_key=sk_live_q1"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        c.get(format!("{url}/__standin/requests")).send().await.unwrap().json().await.unwrap()
    });
    crate::common::terminate(&mut child);
    let log: Vec<String> =
        lines.map_while(Result::ok).filter(|l| l.contains(" 200 ") || l.contains(" 404 ") || l.contains(" 204 ")).collect();
    let recorded = std::fs::read_to_string(&har).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let entries = journal.as_array().unwrap();
    assert_eq!(entries.len(), 4, "{journal}");
    assert_eq!(entries[0]["query"], "api_key=%5Bredacted%5D&page=2");
    assert_eq!(entries[1]["query"], "api_key=%5Bredacted%5D", "outside every base path too");
    assert_eq!(log.len(), 4, "{log:?}");
    for (what, text) in [("journal", journal.to_string()), ("log", log.join("\n")), ("HAR", recorded.clone())] {
        for secret in ["sk_live_q1", "sk_live_q2", "hunter2", "cs_live_3", "pw_form_9"] {
            assert!(!text.contains(secret), "{secret} in the {what}: {text}");
        }
    }
    assert!(recorded.contains("ari") && recorded.contains("user=bo"), "the rest of the body is kept");
}

/// A spec whose sign-up body has `writeOnly` members named like nothing secret: one on the body,
/// one nested and reached through a `$ref`.
const WRITE_ONLY_SPEC: &str = r#"
openapi: 3.1.0
info: {title: Sign-ups, version: "1"}
paths:
  /signups:
    post:
      operationId: createSignup
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Signup'}
      responses:
        "201":
          description: created
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Signup'}
components:
  schemas:
    Signup:
      type: object
      required: [email]
      properties:
        id: {type: string, readOnly: true}
        email: {type: string}
        recoveryPhrase: {type: string, writeOnly: true}
        card: {$ref: '#/components/schemas/Card'}
    Card:
      type: object
      properties:
        last4: {type: string}
        cvc: {$ref: '#/components/schemas/Cvc'}
    Cvc: {type: string, writeOnly: true, maxLength: 12}
"#;

/// Issue #14: the members a request body schema marks `writeOnly` are redacted in the journal (its
/// list and an entry's detail), the HAR file and the completion line, as credentials are, and so
/// is a problem quoting one; the rest of the body is kept.
#[test]
fn write_only_body_members_are_redacted_in_the_journal_har_and_log_line() {
    // Arrange
    let dir = crate::common::scratch_dir("write-only");
    let spec = dir.join("signups.yaml");
    std::fs::write(&spec, WRITE_ONLY_SPEC).unwrap();
    let har = dir.join("s.har");
    let (mut child, url, lines) = crate::common::serve_logged(&[
        "--spec",
        spec.to_str().unwrap(),
        "--stateless",
        "--log-format",
        "json",
        "--record",
        har.to_str().unwrap(),
    ]);
    // Act
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (statuses, list, detail) = rt.block_on(async {
        let c = standin::tls::client();
        let signup = json!({"email": "ari@example.com", "recoveryPhrase": "wo_phrase_77", "card": {"last4": "4242", "cvc": "wo_cvc_31"}});
        let created = c.post(format!("{url}/signups")).json(&signup).send().await.unwrap().status();
        // Over `maxLength`: the problem's message would quote the value.
        let too_long = json!({"email": "ari@example.com", "card": {"cvc": "wo_cvc_too_long_99"}});
        let refused = c.post(format!("{url}/signups")).json(&too_long).send().await.unwrap().status();
        let list: Value = c.get(format!("{url}/__standin/requests")).send().await.unwrap().json().await.unwrap();
        let id = list.as_array().unwrap().iter().find(|e| e["status"] == 201).unwrap()["id"].as_u64().unwrap();
        let detail: Value = c.get(format!("{url}/__standin/requests/{id}")).send().await.unwrap().json().await.unwrap();
        ((created.as_u16(), refused.as_u16()), list, detail)
    });
    crate::common::terminate(&mut child);
    let log: Vec<String> = lines.map_while(Result::ok).filter(|l| l.contains("/signups")).collect();
    let recorded = std::fs::read_to_string(&har).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    // Assert
    assert_eq!(statuses, (201, 400));
    assert_eq!(log.len(), 2, "{log:?}");
    assert!(list.to_string().contains("body.card.cvc"), "the problem is kept, its message redacted: {list}");
    assert_eq!(detail["request"]["body"]["json"]["recoveryPhrase"], "[redacted]", "{detail}");
    assert_eq!(detail["request"]["body"]["json"]["card"]["cvc"], "[redacted]", "{detail}");
    for (what, text) in [("journal", list.to_string()), ("detail", detail.to_string()), ("log", log.join("\n")), ("HAR", recorded.clone())]
    {
        for secret in ["wo_phrase_77", "wo_cvc_31", "wo_cvc_too_long_99"] {
            assert!(!text.contains(secret), "{secret} in the {what}: {text}");
        }
    }
    assert!(recorded.contains("ari@example.com") && recorded.contains("4242"), "the rest of the body is kept");
}

/// The state file holds every tenant's data: only its owner may read it.
#[cfg(unix)]
#[test]
fn the_state_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::common::scratch_dir("state-mode");
    let state = dir.join("state.json");
    let (mut child, url) = serve(&["--spec", "specs/bench.yaml", "--state", state.to_str().unwrap()]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        standin::tls::client().get(format!("{url}/api/agent/deals")).header("x-api-key", "ke_live_mode").send().await.unwrap()
    });
    crate::common::terminate(&mut child);
    let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(mode, 0o600);
}

/// Issue #14: the sandbox never gives a `writeOnly` member back, not even one nested in an
/// object the client sent (a card's `cvc`): not in the create's answer, not when read again.
#[tokio::test]
async fn the_sandbox_never_answers_with_a_write_only_member_at_any_depth() {
    let dir = crate::common::scratch_dir("write-only-state");
    let spec = dir.join("signups.yaml");
    let with_get = WRITE_ONLY_SPEC.replace(
        "components:",
        "  /signups/{id}:\n    get:\n      operationId: getSignup\n      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n      responses:\n        \"200\":\n          description: one\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Signup'}\ncomponents:",
    );
    std::fs::write(&spec, with_get).unwrap();
    let s = crate::common::TestServer::stateful(spec.to_str().unwrap(), None).await;
    let sent = serde_json::json!({"email": "a@example.com", "recoveryPhrase": "horse battery", "card": {"last4": "4242", "cvc": "987"}});
    let resp = s.post_json("/signups", &sent).send().await.unwrap();
    let (status, _, created) = crate::common::parts(resp).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!((&created["email"], &created["card"]["last4"]), (&sent["email"], &sent["card"]["last4"]), "{created}");
    let id = created["id"].as_str().expect("an id").to_string();
    let (status, _, got) = crate::common::parts(s.get(&format!("/signups/{id}")).send().await.unwrap()).await;
    assert_eq!(status, 200, "{got}");
    for answer in [&created, &got] {
        let text = answer.to_string();
        assert!(!text.contains("987") && !text.contains("horse battery") && answer["card"].get("cvc").is_none(), "{text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
