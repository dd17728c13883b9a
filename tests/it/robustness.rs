//! Bad input: hostile specs, random requests, and a bounded mixed load; the server stays up,
//! answers within bounds, and loses no exchange.

use std::sync::Arc;

use rand::{RngExt, SeedableRng};
use serde_json::{json, Value};

use crate::common::{parts, TestServer};

#[tokio::test]
async fn hostile_spec_loads_and_every_answer_is_bounded() {
    let t = TestServer::start("tests/fixtures/specs/hostile.yaml", None, 0).await;
    let cases = [
        ("POST", "/cycle", Some(json!({}))),
        ("GET", "/chain", None),
        ("GET", "/enum?v=4999", None),
        // Catastrophic backtracking pattern `^(a+)+$` with a non-matching input.
        ("POST", "/regex", Some(json!({"s": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab"}))),
        ("GET", "/many", None),
    ];
    for (method, path, body) in cases {
        let started = std::time::Instant::now();
        let mut req = t.client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), t.url(path));
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let size = resp.bytes().await.unwrap().len();
        assert!(status < 500, "{method} {path}: {status}");
        assert!(size < 2 * 1024 * 1024, "{method} {path}: {size} bytes");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{method} {path} took {:?}", started.elapsed());
    }
    // A 60-hop $ref chain still generates its object.
    let (_, _, chain) = parts(t.get("/chain").header("prefer", "dynamic=true").send().await.unwrap()).await;
    assert!(chain.is_object(), "{chain}");
}

/// Seeded random requests (methods, paths, percent-escapes, headers, bodies) never get a 5xx.
#[tokio::test]
async fn random_requests_never_crash_or_get_a_5xx() {
    let t = TestServer::start("specs/bento.yaml", Some("fixtures/bento"), 0).await;
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(42);
    let methods = ["GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD", "TRACE"];
    let paths = [
        "/api/v1/fetch/tags",
        "/api/v1/fetch/tags/%ff",
        "/api/v1/batch/events",
        "/api/v1//x",
        "/api/v1/fetch/emails/templates/%2e%2e",
        "/",
        "/api/v1/stats/ads",
        "/__standin/nope",
    ];
    let bodies = ["", "{", "[]", "null", "{\"events\": [{}]}", "\u{0}\u{1}", "{\"events\": \"x\", \"site_uuid\": 5}", "x=1&y[]=2"];
    for _ in 0..400 {
        let method = methods[rng.random_range(0..methods.len())];
        let mut path = paths[rng.random_range(0..paths.len())].to_string();
        if rng.random_bool(0.5) {
            path.push_str(&format!(
                "?site_uuid={}&page={}",
                rng.random_range(0..3u8),
                ["1", "-1", "x", "99999999999999999999"][rng.random_range(0..4)]
            ));
        }
        let mut req = t.client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), t.url(&path));
        if rng.random_bool(0.7) {
            req = req.header("authorization", ["Basic cGs6c2s=", "Basic !!", "Bearer x", "Basic "][rng.random_range(0..4)]);
        }
        if rng.random_bool(0.7) {
            req = req.header("user-agent", "fuzz/1.0");
        }
        if rng.random_bool(0.6) {
            req = req.header(
                "content-type",
                ["application/json", "text/plain", "application/x-www-form-urlencoded", "application/json; charset=utf-16"]
                    [rng.random_range(0..4)],
            );
        }
        let body = bodies[rng.random_range(0..bodies.len())];
        let resp = req.body(body.to_string()).send().await.unwrap();
        assert!(resp.status().as_u16() < 500, "{method} {path} {body:?} -> {}", resp.status());
    }
    assert_eq!(t.get("/__standin/health").send().await.unwrap().status(), 200);
}

/// Many connections, valid and invalid traffic, a bounded time: the server stays healthy and the
/// journal holds every exchange.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_load_keeps_the_server_healthy_and_the_journal_complete() {
    let har = std::env::temp_dir().join(format!("standin-load-{}.har", std::process::id()));
    let record = standin::record::RecordOptions { capacity: 100_000, har: Some(har.clone()), ..Default::default() };
    let options = standin::app::Options { body_limit: 1 << 20, record: Some(record), rate_limit_off: true, ..Default::default() };
    let t = Arc::new(TestServer::with("specs/bi369.yaml", Some("fixtures/bi369"), options).await);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mut tasks = Vec::new();
    for w in 0..16u32 {
        let t = Arc::clone(&t);
        tasks.push(tokio::spawn(async move {
            let mut sent = 0u64;
            let mut i = 0u32;
            while std::time::Instant::now() < deadline && i < 2_000 {
                i += 1;
                let r = match (w + i) % 4 {
                    0 => t.get("/v1/crm/leads?perPage=5").bearer_auth("key_load"),
                    1 => t
                        .post_json(
                            "/v1/crm/leads",
                            &json!({"firstName": "L", "lastName": i.to_string(), "email": format!("l{w}x{i}@example.com")}),
                        )
                        .bearer_auth("key_load"),
                    // Bi369 documents no lead fields (they are inferred): only a body that is not
                    // JSON is refused.
                    2 => t
                        .post_json("/v1/crm/leads", &json!({}))
                        .header("content-type", "application/json")
                        .body("{\"email\": ")
                        .bearer_auth("key_load"),
                    _ => t.get("/v1/crm/leads"),
                };
                let status = r.send().await.unwrap().status().as_u16();
                assert!(status < 500);
                sent += 1;
            }
            sent
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert!(total > 100, "only {total} requests in 2 s");
    assert_eq!(t.get("/__standin/health").send().await.unwrap().status(), 200);
    let (_, _, journal) = parts(t.get("/__standin/requests").send().await.unwrap()).await;
    let logged = journal.as_array().unwrap().len() as u64;
    assert_eq!(logged, total, "the journal holds every exchange");
    let invalid = journal.as_array().unwrap().iter().filter(|e: &&Value| e["status"] == 400).count();
    assert!(invalid > 0);
    // The recording holds them too (the journal read above flushed the writer).
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(&har).unwrap()).unwrap();
    assert_eq!(recorded["log"]["entries"].as_array().unwrap().len() as u64, total, "the recording holds every exchange");
    std::fs::remove_file(&har).ok();
}

fn limited(max_connections: usize, idle_ms: u64, request_ms: u64) -> standin::app::Options {
    let limits = standin::server::Limits {
        max_connections,
        idle_timeout: std::time::Duration::from_millis(idle_ms),
        request_timeout: std::time::Duration::from_millis(request_ms),
        ..Default::default()
    };
    standin::app::Options { body_limit: 1 << 20, stateless: true, limits, ..Default::default() }
}

/// A slow client that never finishes its request is disconnected after the idle timeout.
#[tokio::test]
async fn slow_clients_are_disconnected_after_the_idle_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, limited(64, 500, 30_000)).await;
    let mut s = tokio::net::TcpStream::connect(t.server.addr).await.unwrap();
    s.write_all(b"GET /api/v2/products HTTP/1.1\r\nHost: x\r\n").await.unwrap(); // never finished
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(std::time::Duration::from_secs(3), s.read(&mut buf)).await.expect("closed well before 3 s");
    assert!(matches!(read, Ok(0) | Err(_)), "the server closed the connection");
}

/// Connections beyond the cap wait to be accepted; a slot frees when one closes.
#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_slot() {
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, limited(2, 60_000, 30_000)).await;
    let a = tokio::net::TcpStream::connect(t.server.addr).await.unwrap();
    let _b = tokio::net::TcpStream::connect(t.server.addr).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let c = standin::tls::client_builder().timeout(std::time::Duration::from_millis(500)).build().unwrap();
    assert!(c.get(t.url("/api/v2/products")).send().await.is_err(), "a third connection is not served while two are open");
    drop(a);
    let c = standin::tls::client_builder().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    assert_eq!(c.get(t.url("/api/v2/products")).send().await.unwrap().status(), 200);
}

/// A request slower than the request timeout gets 503.
#[tokio::test]
async fn requests_slower_than_the_timeout_get_503() {
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, limited(64, 60_000, 300)).await;
    let r = t.get("/api/v2/products").header("prefer", "latency=2000").send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(t.get("/api/v2/products").send().await.unwrap().status(), 200);
}

/// Oversized bodies, URLs and headers are refused before any work, in the vendor's envelope
/// (Bench: `{"error": {"code", "message"}}`), with the limit named.
#[tokio::test]
async fn oversized_body_url_and_headers_get_413_414_431_in_the_vendor_envelope() {
    let limits = standin::server::Limits { max_url_bytes: 1024, max_header_bytes: 2048, ..Default::default() };
    let options = standin::app::Options { body_limit: 4096, rate_limit_off: true, limits, ..Default::default() };
    let t = TestServer::with("specs/bench.yaml", Some("fixtures/bench"), options).await;
    let key = ("x-api-key", "ke_live_limits");
    let cases = [
        (t.post_json("/api/agent/deals", &serde_json::json!({"title": "x".repeat(5000)})).header(key.0, key.1), 413, "4096 bytes"),
        (t.get(&format!("/api/agent/deals?q={}", "a".repeat(1100))).header(key.0, key.1), 414, "limit is 1024 bytes"),
        (t.get("/api/agent/deals").header(key.0, key.1).header("x-padding", "p".repeat(3000)), 431, "limit is 2048 bytes"),
    ];
    for (request, status, says) in cases {
        let (got, ct, body) = parts(request.send().await.unwrap()).await;
        assert_eq!((got, ct.as_str()), (status, "application/json"), "{body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{status}: {body}");
    }
    // Under the limits the same calls are served.
    let ok = t.get(&format!("/api/agent/deals?q={}", "a".repeat(900))).header(key.0, key.1).send().await.unwrap();
    assert_eq!(ok.status(), 200);
}

/// Open `n` connections to `addr` that each send a request head one byte every `every`, never
/// finishing it (slowloris). They run until the returned handle is dropped or aborted.
fn trickle(addr: std::net::SocketAddr, n: usize, every: std::time::Duration) -> Vec<tokio::task::JoinHandle<()>> {
    use tokio::io::AsyncWriteExt;
    (0..n)
        .map(|_| {
            tokio::spawn(async move {
                let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else { return };
                for b in b"GET /api/v2/products HTTP/1.1\r\nHost: x\r\nX-Slow: ".iter().chain(std::iter::repeat(&b'a')) {
                    if s.write_all(&[*b]).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(every).await;
                }
            })
        })
        .collect()
}

/// A client trickling its header one byte at a time (each byte resets the idle timer) is still
/// closed once the header timeout has passed.
#[tokio::test]
async fn a_trickled_header_is_cut_at_the_header_timeout() {
    let mut options = limited(64, 60_000, 30_000);
    options.limits.header_timeout = std::time::Duration::from_millis(500);
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, options).await;
    let started = std::time::Instant::now();
    let slow = trickle(t.server.addr, 1, std::time::Duration::from_millis(50)).pop().unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(3), slow).await.expect("the server closed the connection").unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
}

/// A body trickled a few bytes a second (each byte resets the idle timer) is refused with 408,
/// naming the minimum rate and its flag, soon after the grace period and long before the request
/// timeout; its connection is closed and the refusal journaled. A good request on another
/// connection is answered meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_body_gets_408_at_the_minimum_rate_while_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Arrange: 240 bytes/s after 1 s, a 30 s request timeout.
    let mut options = limited(64, 60_000, 30_000);
    options.limits.min_body_rate = standin::server::MinBodyRate { bytes_per_sec: 240, grace: std::time::Duration::from_secs(1) };
    options.record = Some(Default::default());
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, options).await;
    let started = std::time::Instant::now();
    let (mut read, mut write) = tokio::net::TcpStream::connect(t.server.addr).await.unwrap().into_split();
    write
        .write_all(b"POST /api/v2/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
        .await
        .unwrap();
    // Act: 10 bytes/s until the server stops reading.
    let trickling = tokio::spawn(async move {
        while write.write_all(b" ").await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
    let answer = tokio::spawn(async move {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let closed = loop {
            match read.read(&mut buf).await {
                Ok(0) => break true,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => break true,
            }
        };
        (String::from_utf8_lossy(&got).into_owned(), closed, std::time::Instant::now())
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let good = t.get("/api/v2/products").send().await.unwrap();
    // Assert
    assert_eq!(good.status(), 200, "a good request is answered while the body trickles");
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "took {:?}", started.elapsed());
    let (got, closed, at) =
        tokio::time::timeout(std::time::Duration::from_secs(10), answer).await.expect("answered well before 30 s").unwrap();
    trickling.abort();
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.to_ascii_lowercase().contains("connection: close"), "{got}");
    assert!(got.contains("240 bytes/s") && got.contains("--min-body-rate"), "{got}");
    assert!(closed, "the connection is closed after the 408");
    let took = at - started;
    assert!(took >= std::time::Duration::from_secs(1) && took < std::time::Duration::from_secs(4), "took {took:?}");
    let (_, _, journal) = parts(t.get("/__standin/requests").send().await.unwrap()).await;
    let statuses: Vec<&Value> = journal.as_array().unwrap().iter().map(|e| &e["status"]).collect();
    assert!(statuses.contains(&&json!(408)), "the refusal is journaled: {journal}");
}

/// 1,100 connections trickling header bytes (more than the 1,024-connection cap) do not keep a
/// good request out: it is answered within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_request_is_answered_while_a_thousand_connections_trickle_headers() {
    let options = standin::app::Options { body_limit: 1 << 20, stateless: true, ..Default::default() };
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, options).await;
    let slow = trickle(t.server.addr, 1_100, std::time::Duration::from_millis(200));
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let c = standin::tls::client_builder().timeout(std::time::Duration::from_secs(5)).build().unwrap();
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let r = c.get(t.url("/api/v2/products")).send().await.expect("answered");
        assert_eq!(r.status(), 200);
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "took {:?}", started.elapsed());
    }
    slow.iter().for_each(|s| s.abort());
}

/// Shutdown does not wait for a client that sent half a header (or for idle ones); a request in
/// flight is finished first.
#[tokio::test]
async fn shutdown_closes_half_sent_requests_at_once_and_finishes_ones_in_flight() {
    use tokio::io::AsyncWriteExt;
    let spec = crate::common::load("tests/fixtures/specs/shop.yaml", None);
    let options = standin::app::Options { body_limit: 1 << 20, stateless: true, ..Default::default() };
    let (app, _) = standin::app::App::new(vec![Arc::new(spec)], options);
    let server = standin::server::start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let mut half = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /api/v2/products HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let _idle = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let url = format!("{}/api/v2/products", server.url());
    let in_flight = tokio::spawn(async move { standin::tls::client().get(url).header("prefer", "latency=600").send().await });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    tokio::time::timeout(std::time::Duration::from_secs(3), server.stop()).await.expect("stopped promptly").unwrap();
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    assert_eq!(in_flight.await.unwrap().expect("the request in flight was answered").status(), 200);
}

/// `standin serve` exits promptly on SIGTERM while a client holds half a header, and still saves
/// its state.
#[test]
fn sigterm_with_a_half_sent_header_exits_promptly_and_saves_state() {
    use std::io::Write;
    let dir = crate::common::scratch_dir("term");
    let state = dir.join("state.json");
    let (mut child, url) = crate::common::serve(&["--spec", "specs/bench.yaml", "--state", state.to_str().unwrap()]);
    let addr = url.trim_start_matches("http://");
    let mut half = std::net::TcpStream::connect(addr).unwrap();
    half.write_all(b"POST /api/agent/deals HTTP/1.1\r\nHost: x\r\n").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let started = std::time::Instant::now();
    let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "still running 5 s after SIGTERM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.success());
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    assert!(state.exists(), "the state was saved");
    std::fs::remove_dir_all(&dir).ok();
}

/// Send `raw` on a new connection and read what comes back within `wait` (until the server
/// closes, or the wait is over).
async fn raw_exchange(addr: std::net::SocketAddr, raw: &[u8], wait: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
            if got.windows(4).any(|w| w == b"\r\n\r\n") && !got.starts_with(b"HTTP/1.1 100") {
                // A whole head of a final answer; give its body a moment to follow.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                if let Ok(Ok(n)) = tokio::time::timeout(std::time::Duration::from_millis(50), s.read(&mut buf)).await {
                    got.extend_from_slice(&buf[..n]);
                }
                break;
            }
        }
    })
    .await;
    String::from_utf8_lossy(&got).into_owned()
}

/// `Expect: 100-continue` with a `Content-Length` over the limit: 413 at once, no `100 Continue`.
#[tokio::test]
async fn expect_continue_over_the_limit_gets_413_at_once() {
    let t = TestServer::shop().await;
    let head = b"POST /api/v2/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\nExpect: 100-continue\r\n\r\n";
    let started = std::time::Instant::now();
    let got = raw_exchange(t.server.addr, head, std::time::Duration::from_secs(3)).await;
    assert!(got.starts_with("HTTP/1.1 413"), "{got}");
    assert!(!got.contains("100 Continue"), "{got}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1), "took {:?}", started.elapsed());
    // Under the limit, the client is asked to go on and the request is served.
    let ok =
        b"POST /api/v2/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
    let got = raw_exchange(t.server.addr, ok, std::time::Duration::from_millis(500)).await;
    assert!(got.starts_with("HTTP/1.1 100 Continue"), "{got}");
}

/// A malformed chunked body and a body cut short by the client are 400 naming the fault (or a
/// closed connection), journaled as such — not 413 "larger than the limit".
#[tokio::test]
async fn broken_and_cut_short_bodies_are_400_not_413() {
    use tokio::io::AsyncWriteExt;
    let t = TestServer::shop().await;
    let chunked = b"POST /api/v2/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
    let got = raw_exchange(t.server.addr, chunked, std::time::Duration::from_secs(2)).await;
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 400"), "{got}");
    assert!(!got.contains("larger than"), "{got}");
    // Cut short: 10 of 1000 bytes, then the client goes away.
    let mut s = tokio::net::TcpStream::connect(t.server.addr).await.unwrap();
    s.write_all(b"POST /api/v2/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\": 1")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(s);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let (_, _, journal) = parts(t.get("/__standin/requests").send().await.unwrap()).await;
    let entries = journal.as_array().unwrap();
    assert_eq!(entries.len(), 2, "{journal}");
    for e in entries {
        assert_eq!(e["status"], 400, "{e}");
        let message = e["violations"][0]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("could not be read"), "{e}");
    }
}

/// The validation proxy never forwards an over-limit or broken body (as an empty one, or at all).
#[tokio::test]
async fn the_proxy_does_not_forward_over_limit_or_broken_bodies() {
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let upstream = axum::Router::new().fallback(move || {
        counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async { "{}" }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, upstream).await });
    let options = standin::app::Options { body_limit: 1024, upstream: Some(base), stateless: true, ..Default::default() };
    let t = TestServer::with("tests/fixtures/specs/shop.yaml", None, options).await;
    let big = t.client.post(t.url("/api/v2/products")).header("content-type", "application/json").body("x".repeat(5000));
    assert_eq!(big.send().await.unwrap().status(), 413);
    let chunked = b"POST /api/v2/products HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
    let got = raw_exchange(t.server.addr, chunked, std::time::Duration::from_secs(2)).await;
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 400"), "{got}");
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "nothing reached the upstream");
    // A good request does.
    let ok = t.client.post(t.url("/api/v2/products")).header("content-type", "application/json").body("{}");
    ok.send().await.unwrap();
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}

/// This machine's address on its outbound interface (not loopback), if it has one.
fn outbound_ip() -> Option<std::net::IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("203.0.113.1:9").ok()?; // no packet is sent; the kernel picks the interface
    Some(s.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

fn with_admin_token(token: Option<&str>) -> standin::app::Options {
    standin::app::Options {
        body_limit: 1 << 20,
        record: Some(Default::default()),
        admin: standin::admin::Access { token: token.map(str::to_string) },
        ..Default::default()
    }
}

/// Admin calls from another machine are refused without a token (here: a client reaching
/// `--host 0.0.0.0` through this machine's own non-loopback address), and answered with it.
#[tokio::test]
async fn admin_calls_from_other_machines_need_the_token() {
    // Without one (a sandbox with loopback only), the unit tests of `admin::Access` cover this.
    let Some(ip) = outbound_ip() else { return };
    for (token, sent, want) in [(None, None, 403), (Some("s3cret"), None, 401), (Some("s3cret"), Some("s3cret"), 200)] {
        let spec = crate::common::load("specs/bench.yaml", Some("fixtures/bench"));
        let (app, _) = standin::app::App::new(vec![Arc::new(spec)], with_admin_token(token));
        let server = standin::server::start(app, "0.0.0.0:0".parse().unwrap()).await.unwrap();
        let base = format!("http://{ip}:{}", server.addr.port());
        let c = standin::tls::client();
        let mut r = c.get(format!("{base}/__standin/state"));
        if let Some(t) = sent {
            r = r.bearer_auth(t);
        }
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), want, "token {token:?}, sent {sent:?}");
        // Health and the API itself stay open to everyone.
        assert_eq!(c.get(format!("{base}/__standin/health")).send().await.unwrap().status(), 200);
        let api = c.get(format!("{base}/api/agent/deals")).header("x-api-key", "ke_live_remote").send().await.unwrap();
        assert_eq!(api.status(), 200);
    }
}

/// With `--admin-token`, every admin call needs it (header, bearer or `?token=`), even from
/// loopback; the inspector page's static files do not (they hold no data).
#[tokio::test]
async fn admin_token_is_required_when_set() {
    let t = TestServer::with("specs/bench.yaml", Some("fixtures/bench"), with_admin_token(Some("s3cret"))).await;
    let (status, ct, body) = parts(t.get("/__standin/requests").send().await.unwrap()).await;
    assert_eq!((status, ct.as_str()), (401, "application/problem+json"), "{body}");
    assert_eq!(t.get("/__standin/requests").bearer_auth("wrong").send().await.unwrap().status(), 401);
    assert_eq!(t.client.post(t.url("/__standin/reset")).send().await.unwrap().status(), 401);
    assert_eq!(t.get("/__standin/requests").bearer_auth("s3cret").send().await.unwrap().status(), 200);
    assert_eq!(t.get("/__standin/requests").header("x-standin-admin-token", "s3cret").send().await.unwrap().status(), 200);
    assert_eq!(t.get("/__standin/requests?token=s3cret").send().await.unwrap().status(), 200);
    for open in ["/__standin/health", "/__standin/ui", "/__standin/ui/app.js", "/__standin/ui/style.css"] {
        assert_eq!(t.get(open).send().await.unwrap().status(), 200, "{open}");
    }
    let script = t.get("/__standin/ui/app.js").send().await.unwrap().text().await.unwrap();
    assert!(script.contains("x-standin-admin-token"), "the page sends the token it was given");
}

/// Without a token, a loopback client must still name this server in `Host` (DNS rebinding:
/// a web page whose name now points at 127.0.0.1 sends its own name).
#[tokio::test]
async fn admin_calls_naming_another_host_are_refused() {
    let t = TestServer::with("specs/bench.yaml", Some("fixtures/bench"), with_admin_token(None)).await;
    let port = t.server.addr.port();
    for host in ["evil.example", "evil.example:80", "attacker.test:4010"] {
        let r = t.get("/__standin/state").header("host", host).send().await.unwrap();
        assert_eq!(r.status(), 403, "{host}");
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}"), "app.localhost".into(), format!("[::1]:{port}")] {
        let r = t.get("/__standin/state").header("host", &host).send().await.unwrap();
        assert_eq!(r.status(), 200, "{host}");
    }
    // The vendor API itself does not care about the Host it is called by.
    let r = t.get("/api/agent/deals").header("host", "evil.example").header("x-api-key", "ke_live_host").send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Admin answers carry no CORS headers and admin preflights are refused; the vendor API's own
/// CORS is unchanged.
#[tokio::test]
async fn admin_calls_get_no_cors() {
    let t = TestServer::with("specs/bench.yaml", Some("fixtures/bench"), with_admin_token(None)).await;
    let origin = ("origin", "http://evil.example");
    let r = t.get("/__standin/requests").header(origin.0, origin.1).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("access-control-allow-origin").is_none(), "{:?}", r.headers());
    let pre = t
        .client
        .request(reqwest::Method::OPTIONS, t.url("/__standin/reset"))
        .header(origin.0, origin.1)
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 403);
    assert!(pre.headers().keys().all(|k| !k.as_str().starts_with("access-control-")), "{:?}", pre.headers());
    let api = t.get("/api/agent/deals").header(origin.0, origin.1).header("x-api-key", "ke_live_cors").send().await.unwrap();
    assert_eq!(api.headers()["access-control-allow-origin"], "*");
}

/// A state file of the wrong shape stops `serve` with a message naming what was found, instead
/// of being ignored and then overwritten.
#[test]
fn a_state_file_of_the_wrong_shape_is_a_clear_error() {
    let dir = crate::common::scratch_dir("state-shape");
    let state = dir.join("state.json");
    for (text, says) in [("[1, 2]", "found an array"), (r#"{"Bench": "x"}"#, "`Bench` must be an object of tenants, found a string")] {
        std::fs::write(&state, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_standin"))
            .args(["serve", "--spec", "specs/bench.yaml", "--port", "0", "--state", state.to_str().unwrap()])
            .current_dir(crate::common::repo(""))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}");
        assert!(stderr.contains(says), "{text}: {stderr}");
        assert_eq!(std::fs::read_to_string(&state).unwrap(), text, "the file is left as it was");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Serving bench and bi369 with a state file, then only bi369: Bench's saved state is kept.
#[test]
fn saved_state_of_specs_not_served_now_is_kept() {
    let dir = crate::common::scratch_dir("state-keep");
    let state = dir.join("state.json");
    let file = state.to_str().unwrap();
    let (mut both, url) = crate::common::serve(&["--spec", "specs/bench.yaml", "--spec", "specs/bi369.yaml", "--state", file]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = rt.block_on(async {
        let deal = json!({"customerName": "Kept deal", "status": "new", "value": 1});
        let r = standin::tls::client().post(format!("{url}/api/agent/deals")).header("x-api-key", "ke_live_kept").json(&deal).send().await;
        r.map(|r| r.status())
    });
    crate::common::terminate(&mut both);
    assert!(status.as_ref().is_ok_and(|s| s.is_success()), "{status:?}");
    let first: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(first.to_string().contains("Kept deal"), "{first}");
    let (mut one, _) = crate::common::serve(&["--spec", "specs/bi369.yaml", "--state", file]);
    crate::common::terminate(&mut one);
    let second: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    for (title, saved) in first.as_object().unwrap() {
        if saved.to_string().contains("Kept deal") {
            assert_eq!(&second[title], saved, "{title}'s state is kept while it is not served");
        }
    }
}
