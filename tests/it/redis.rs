//! `serve --store redis://…`: two standin replicas on one Redis act as one sandbox.
//!
//! Each test starts its own `redis-server` on a free loopback port (no persistence) and two
//! in-process servers with their own connections to it. Skipped, with the reason printed, only
//! when the `redis-server` binary is missing (`.ci/run` installs it).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use standin::app::{App, Options};
use standin::server::RunningServer;

const SPEC: &str = "tests/fixtures/specs/replicas.yaml";
const KEY: &str = "ke_live_replicas";

/// A `redis-server` on a free loopback port, stopped when dropped.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    /// `None` (with the reason printed) when redis-server is not installed.
    #[allow(clippy::print_stderr)] // the reason the test is skipped
    fn start() -> Option<Redis> {
        if Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_err() {
            eprintln!("skipped: redis-server is not installed (apt-get install redis-server)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = Redis { port, child: None };
        redis.run();
        Some(redis)
    }

    /// Start (again) on the same port and wait until it answers.
    fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Send the server a signal (`STOP`: it hangs, its connections open; `CONT`: it goes on).
    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("redis-server runs").id().to_string();
        assert!(Command::new("kill").args([&format!("-{sig}"), &pid]).status().expect("kill").success());
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One replica: an in-process server with its own connection to the store.
struct Replica {
    server: RunningServer,
    client: reqwest::Client,
}

impl Replica {
    async fn start(redis: &Redis) -> Replica {
        Replica::start_with(redis, false).await
    }

    /// A replica, with rate limits off when `unlimited` (a test that sends thousands).
    async fn start_with(redis: &Redis, unlimited: bool) -> Replica {
        let conn = standin::state::redis::connect(&redis.url(), "test").await.expect("connect to redis");
        let spec = crate::common::load(SPEC, None);
        let options = Options {
            body_limit: 1 << 20,
            store: Some(conn),
            record: Some(Default::default()),
            rate_limit_off: unlimited,
            ..Default::default()
        };
        let (app, _) = App::new(vec![Arc::new(spec)], options);
        let server = standin::server::start(app, "127.0.0.1:0".parse().unwrap()).await.expect("bind loopback");
        Replica { server, client: standin::tls::client() }
    }

    fn url(&self, path: &str) -> String {
        let base = if path.starts_with("/__standin") { "" } else { "/api" };
        format!("{}{base}{path}", self.server.url())
    }

    async fn send(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value, reqwest::header::HeaderMap) {
        let mut req = self.client.request(method.parse().unwrap(), self.url(path)).header("x-api-key", KEY);
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)), headers)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_item_created_on_one_replica_is_read_changed_listed_and_deleted_on_the_other() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Arc::new(Replica::start(&redis).await), Arc::new(Replica::start(&redis).await));
    let (status, created, _) = a.send("POST", "/items", Some(json!({"name": "Desk", "status": "new"}))).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].to_string();
    let (status, got, _) = b.send("GET", &format!("/items/{id}"), None).await;
    assert_eq!((status, &got["name"]), (200, &json!("Desk")));
    let (status, changed, _) = b.send("PATCH", &format!("/items/{id}"), Some(json!({"status": "sold"}))).await;
    assert_eq!((status, &changed["status"], &changed["name"]), (200, &json!("sold"), &json!("Desk")));
    let (_, list, _) = a.send("GET", "/items", None).await;
    assert_eq!(list.as_array().map(|l| l.iter().filter(|i| i["status"] == "sold").count()), Some(1), "{list}");
    // The admin view reads the shared store too.
    let (_, state, _) = a.send("GET", "/__standin/state", None).await;
    assert!(state.to_string().contains("\"sold\""), "{state}");
    let (status, _, _) = b.send("DELETE", &format!("/items/{id}"), None).await;
    assert!(status < 300, "{status}");
    let (status, _, _) = a.send("GET", &format!("/items/{id}"), None).await;
    assert_eq!(status, 404);

    // Creates on both replicas at once get distinct integer ids (allocated atomically).
    let mut tasks = Vec::new();
    for n in 0..20 {
        let r = Arc::clone(if n % 2 == 0 { &a } else { &b });
        tasks.push(async move { r.send("POST", "/items", Some(json!({"name": format!("n{n}")}))).await });
    }
    let mut ids: Vec<i64> = Vec::new();
    for (status, item, _) in futures_join(tasks).await {
        assert_eq!(status, 201, "{item}");
        ids.push(item["id"].as_i64().unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 20, "{ids:?}");

    // A reset on one replica is a reset of both.
    let (status, reset, _) = b.send("POST", "/__standin/reset", None).await;
    assert_eq!((status, reset["reset"].as_u64()), (200, Some(1)), "{reset}");
    let (_, list, _) = a.send("GET", "/items", None).await;
    assert_eq!(list, json!([]));
}

/// Run the requests concurrently (on the test's runtime), in order of the input.
async fn futures_join<F: std::future::Future + Send + 'static>(futs: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_counts_requests_to_both_replicas() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Replica::start(&redis).await, Replica::start(&redis).await);
    let mut resets = std::collections::BTreeSet::new();
    let mut n = 0;
    // Near the end of a minute the window could turn over mid-test: then count again.
    for _ in 0..2 {
        resets.clear();
        for i in 0..60 {
            let r = if i % 2 == 0 { &a } else { &b };
            let (status, body, headers) = r.send("GET", "/items", None).await;
            assert_eq!(status, 200, "request {} {body}", i + 1);
            resets.insert(headers["x-ratelimit-reset"].to_str().unwrap().to_string());
            n = headers["x-ratelimit-remaining"].to_str().unwrap().parse::<u64>().unwrap();
        }
        if resets.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        redis_flush(&redis).await;
    }
    assert_eq!((resets.len(), n), (1, 0), "{resets:?}");
    let (status, _, headers) = b.send("GET", "/items", None).await;
    assert_eq!(status, 429);
    assert_eq!(headers["x-ratelimit-reset"].to_str().unwrap(), resets.first().unwrap());
    let (status, _, _) = a.send("GET", "/items", None).await;
    assert_eq!(status, 429);
}

/// Forget every key (a fresh window for the rate-limit test).
async fn redis_flush(redis: &Redis) {
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_change_runs_once_across_replicas() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Replica::start(&redis).await, Replica::start(&redis).await);
    // Both replicas poll the queue once they have served a stateful request.
    let (_, created, _) = a.send("POST", "/items", Some(json!({"name": "Crate"}))).await;
    let id = created["id"].to_string();
    b.send("GET", "/items", None).await;
    let (status, shipping, _) = a.send("POST", &format!("/items/{id}/ship"), None).await;
    assert_eq!((status, &shipping["status"]), (200, &json!("shipping")), "{shipping}");
    let mut shipped = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        shipped = b.send("GET", &format!("/items/{id}"), None).await.1;
        if shipped["status"] == "shipped" {
            break;
        }
    }
    assert_eq!(shipped["status"], "shipped", "{shipped}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut fired = 0;
    for r in [&a, &b] {
        let (_, events, _) = r.send("GET", "/__standin/events", None).await;
        fired += events.as_array().unwrap().iter().filter(|e| e["event"] == "item.shipped").count();
    }
    assert_eq!(fired, 1, "the delayed change ran on exactly one replica");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stateful_requests_get_503_while_redis_is_gone_and_work_again_when_it_returns() {
    let Some(mut redis) = Redis::start() else { return };
    let a = Replica::start(&redis).await;
    let (status, _, _) = a.send("POST", "/items", Some(json!({"name": "Before"}))).await;
    assert_eq!(status, 201);
    redis.stop();
    let started = std::time::Instant::now();
    let (status, body, _) = a.send("GET", "/items", None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "store_unavailable", "{body}");
    let (status, _, _) = a.send("POST", "/items", Some(json!({"name": "During"}))).await;
    assert_eq!(status, 503);
    // The admin calls on the sandbox say so too, rather than showing or resetting nothing.
    for (method, path) in [("GET", "/__standin/state"), ("POST", "/__standin/reset")] {
        let (status, body, _) = a.send(method, path, None).await;
        assert_eq!(status, 503, "{method} {path}: {body}");
        assert!(body.to_string().contains("store"), "{method} {path}: {body}");
    }
    // Stateless answers keep working (the rate limiter lets them through).
    let (status, body, _) = a.send("GET", "/status", None).await;
    assert_eq!((status, &body["ok"]), (200, &json!(true)), "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    redis.run();
    let mut status = 0;
    for _ in 0..50 {
        status = a.send("POST", "/items", Some(json!({"name": "After"}))).await.0;
        if status == 201 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 201, "the sandbox works again once Redis is back");
    let (status, list, _) = a.send("GET", "/items", None).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(1)), "{list}");
    let (status, state, _) = a.send("GET", "/__standin/state", None).await;
    assert!(status == 200 && state.to_string().contains("After"), "{status} {state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_hangs_costs_one_wait_then_quick_503s_and_the_sandbox_recovers() {
    let Some(redis) = Redis::start() else { return };
    let a = Replica::start(&redis).await;
    assert_eq!(a.send("POST", "/items", Some(json!({"name": "Before"}))).await.0, 201);
    // Redis stops answering with its connections open (a hung or partitioned server): no
    // connection error, only silence.
    redis.signal("STOP");
    let started = std::time::Instant::now();
    let (status, body, _) = a.send("GET", "/items", None).await;
    assert_eq!((status, &body["code"]), (503, &json!("store_unavailable")), "{body}");
    assert!(started.elapsed() < Duration::from_secs(6), "the first request waits out the call timeout only: {:?}", started.elapsed());
    // The ones after it do not each wait: a 503 at once (one in a while tries Redis again).
    let mut slow = 0;
    for _ in 0..10 {
        let started = std::time::Instant::now();
        let (status, _, _) = a.send("GET", "/items", None).await;
        assert_eq!(status, 503);
        slow += usize::from(started.elapsed() >= Duration::from_secs(1));
    }
    assert!(slow <= 1, "{slow} of 10 requests waited for the hung store");
    // Stateless answers go on (the rate limiter lets them through without waiting either).
    let started = std::time::Instant::now();
    let (status, body, _) = a.send("GET", "/status", None).await;
    assert_eq!((status, &body["ok"]), (200, &json!(true)), "{body}");
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    redis.signal("CONT");
    let mut listed = Value::Null;
    for _ in 0..100 {
        let (status, body, _) = a.send("GET", "/items", None).await;
        if status == 200 {
            listed = body;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "the sandbox answers again, with what it held: {listed}");
}

#[test]
fn serve_exits_with_a_message_naming_the_url_when_redis_is_unreachable() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("redis://127.0.0.1:{port}");
    let out = Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["serve", "--spec", SPEC, "--port", "0", "--store", &url])
        .current_dir(crate::common::repo(""))
        .output()
        .expect("run standin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&url) && stderr.contains("cannot reach the store"), "{stderr}");
    // The same from the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_standin"))
        .args(["serve", "--spec", SPEC, "--port", "0"])
        .env("STANDIN_STORE", &url)
        .current_dir(crate::common::repo(""))
        .output()
        .expect("run standin");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&url), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_stops_loses_nothing_not_even_its_delayed_change() {
    let Some(redis) = Redis::start() else { return };
    let a = Replica::start(&redis).await;
    let (_, created, _) = a.send("POST", "/items", Some(json!({"name": "Parcel"}))).await;
    let id = created["id"].to_string();
    let (status, _, _) = a.send("POST", &format!("/items/{id}/ship"), None).await;
    assert_eq!(status, 200);
    // A stops before the change is due (its sandbox and poller go with it); B was never asked.
    a.server.stop().await.expect("stop");
    let b = Replica::start(&redis).await;
    let mut item = Value::Null;
    for _ in 0..40 {
        item = b.send("GET", &format!("/items/{id}"), None).await.1;
        if item["status"] == "shipped" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((&item["name"], &item["status"]), (&json!("Parcel"), &json!("shipped")), "{item}");
    let (_, events, _) = b.send("GET", "/__standin/events", None).await;
    assert_eq!(events.as_array().unwrap().iter().filter(|e| e["event"] == "item.shipped").count(), 1, "{events}");
}

/// A webhook receiver on loopback: the bodies it got.
async fn receiver() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    flaky_receiver(0).await
}

/// A webhook receiver that answers 503 to the first `failures` deliveries, then 200.
async fn flaky_receiver(failures: usize) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let got: Arc<std::sync::Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&got);
    let app = axum::Router::new().fallback(move |body: String| {
        let seen = Arc::clone(&seen);
        async move {
            let mut seen = seen.lock().unwrap();
            seen.push(body);
            if seen.len() <= failures {
                axum::http::StatusCode::SERVICE_UNAVAILABLE
            } else {
                axum::http::StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_made_on_one_replica_gets_the_events_of_the_other_once() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Replica::start(&redis).await, Replica::start(&redis).await);
    let (url, got) = receiver().await;
    let (status, sub, _) = a.send("POST", "/webhooks", Some(json!({"url": url, "events": ["item.shipped"]}))).await;
    assert_eq!(status, 201, "{sub}");
    assert!(sub["webhookId"].as_str().is_some_and(|id| id.starts_with("wh_")), "{sub}");
    let (_, created, _) = b.send("POST", "/items", Some(json!({"name": "Box"}))).await;
    let id = created["id"].to_string();
    let (status, _, _) = b.send("POST", &format!("/items/{id}/ship"), None).await;
    assert_eq!(status, 200);
    for _ in 0..40 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("item.shipped") && got[0].contains("\"Box\""), "{got:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_retry_is_made_once_by_another_replica_after_the_first_stopped() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Replica::start(&redis).await, Replica::start(&redis).await);
    let (url, got) = flaky_receiver(1).await;
    let (status, sub, _) = a.send("POST", "/webhooks", Some(json!({"url": url, "events": ["item.shipped"]}))).await;
    assert_eq!(status, 201, "{sub}");
    let fired = json!({"event": "item.shipped", "data": {"name": "Crate"}, "tenant": KEY});
    assert_eq!(a.send("POST", "/__standin/webhooks/fire", Some(fired)).await.0, 200);
    // A's first attempt gets a 503; its retry (due after the 500 ms backoff) waits in Redis.
    for _ in 0..40 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(got.lock().unwrap().len(), 1, "the first attempt was made");
    tokio::time::sleep(Duration::from_millis(100)).await;
    a.server.stop().await.expect("stop");
    let mut delivered = Value::Null;
    for _ in 0..40 {
        let (_, log, _) = b.send("GET", "/__standin/webhooks", None).await;
        if let Some(entry) = log.as_array().and_then(|l| l.iter().find(|e| e["status"] == "delivered")) {
            delivered = entry.clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(delivered["attempts"].as_array().map(Vec::len), Some(1), "B made the retry: {delivered}");
    tokio::time::sleep(Duration::from_millis(700)).await;
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one failed attempt, one retry, nothing more: {got:?}");
    assert_eq!(got[0], got[1], "the retry sends the same delivery");
    assert!(got[1].contains("item.shipped") && got[1].contains("Crate"), "{got:?}");
}

/// The in-memory caps hold for the shared store too, whichever replica is asked: a collection
/// past `MAX_ITEMS` forgets its oldest tenth, and past `MAX_TENANTS` the tenant used longest
/// ago is forgotten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_item_and_tenant_caps_hold_across_replicas() {
    let Some(redis) = Redis::start() else { return };
    let a = Arc::new(Replica::start_with(&redis, true).await);
    let b = Arc::new(Replica::start_with(&redis, true).await);
    let (status, first, _) = a.send("POST", "/items", Some(json!({"name": "Oldest"}))).await;
    assert_eq!(status, 201, "{first}");
    // Items: creates spread over both replicas, 16 at a time, past the cap.
    let mut made = 1;
    while made <= standin::state::MAX_ITEMS {
        let batch: Vec<_> = (0..16)
            .map(|i| {
                let r = Arc::clone(if i % 2 == 0 { &a } else { &b });
                async move { r.send("POST", "/items", Some(json!({"name": "Load"}))).await.0 }
            })
            .collect();
        for status in futures_join(batch).await {
            assert_eq!(status, 201);
        }
        made += 16;
    }
    let (_, list, _) = b.send("GET", "/items", None).await;
    let items = list.as_array().expect("a list");
    assert!(items.len() <= standin::state::MAX_ITEMS && items.len() >= standin::state::MAX_ITEMS * 9 / 10, "{}", items.len());
    assert!(items.iter().all(|i| i["name"] == "Load"), "the oldest item was forgotten first");
    // Tenants: the first key's data goes once as many others have been used since.
    tokio::time::sleep(Duration::from_millis(1100)).await; // last use is kept to the second
    for i in 0..standin::state::MAX_TENANTS {
        let r = if i % 2 == 0 { &a } else { &b };
        let resp = r.client.get(r.url("/items")).header("x-api-key", format!("ke_live_k{i}")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
    }
    let (status, list, _) = a.send("GET", "/items", None).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (200, Some(0)), "the first tenant starts from the fixtures again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_reset_on_one_replica_the_other_counts_ids_from_the_fixtures_again() {
    let Some(redis) = Redis::start() else { return };
    let (a, b) = (Replica::start(&redis).await, Replica::start(&redis).await);
    let (status, first, _) = a.send("POST", "/items", Some(json!({"name": "One"}))).await;
    assert_eq!(status, 201, "{first}");
    let (_, second, _) = a.send("POST", "/items", Some(json!({"name": "Two"}))).await;
    assert_eq!(second["id"].as_i64(), first["id"].as_i64().map(|n| n + 1), "{second}");
    // A remembers the collection from its creates; B's reset must still be seen.
    let (status, _, _) = b.send("POST", "/__standin/reset", None).await;
    assert_eq!(status, 200);
    let (status, again, _) = a.send("POST", "/items", Some(json!({"name": "Again"}))).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["id"], first["id"], "ids count from the fixtures again, as in memory: {again}");
    let (_, list, _) = b.send("GET", "/items", None).await;
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
}
