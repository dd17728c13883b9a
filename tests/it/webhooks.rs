//! Webhooks: subscription through the vendor's API, HMAC signature, retry after a 500 from the
//! receiver, delivery log, and events fired by hand.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::common::{load, parts, TestServer};

/// A loopback receiver that records every delivery and answers 500 to the first `fail_first`.
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>>,
}

async fn receiver(fail_first: usize) -> Receiver {
    let got: Arc<Mutex<Vec<(axum::http::HeaderMap, String)>>> = Arc::default();
    let seen = Arc::clone(&got);
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: String| {
        let seen = Arc::clone(&seen);
        async move {
            let mut g = seen.lock().unwrap();
            g.push((headers, body));
            if g.len() <= fail_first {
                axum::http::StatusCode::INTERNAL_SERVER_ERROR
            } else {
                axum::http::StatusCode::OK
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, got }
}

async fn wait_for<F: Fn() -> bool>(f: F) -> bool {
    for _ in 0..100 {
        if f() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test]
async fn benchwork_subscription_gets_a_signed_execution_completed_after_one_retry() {
    let rx = receiver(1).await;
    let t = TestServer::stateful("specs/benchwork.yaml", Some("fixtures/benchwork")).await;
    let auth = |r: reqwest::RequestBuilder| r.header("authorization", "Bearer bw_live_hooks");
    // Subscribe through Benchwork's own API.
    let (status, _, sub) = parts(
        auth(t.post_json("/api/v1/webhooks", &json!({"url": rx.url, "events": ["execution.completed"], "secret": "whsec_test"})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{sub}");
    assert!(sub["webhookId"].as_str().unwrap().starts_with("wh_"));
    // Trigger: the execution completes after 2 s and the event is delivered.
    let (_, _, wfs) = parts(auth(t.get("/api/v1/workflows?status=active")).send().await.unwrap()).await;
    let wf = wfs["workflows"][0]["id"].as_str().unwrap().to_string();
    let (_, _, started) = parts(auth(t.post_json(&format!("/api/v1/workflows/{wf}/trigger"), &json!({}))).send().await.unwrap()).await;
    let exec = started["executionId"].as_str().unwrap().to_string();
    assert!(wait_for(|| rx.got.lock().unwrap().len() >= 2).await, "a 500, then a retried delivery");
    let got = rx.got.lock().unwrap().clone();
    let (headers, body) = &got[1];
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        (payload["event"].as_str(), payload["data"]["id"].as_str(), payload["data"]["status"].as_str()),
        (Some("execution.completed"), Some(exec.as_str()), Some("success"))
    );
    // Signature: t=<unix>,v1=hex(HMAC-SHA256(secret, "t.body")).
    let sig = headers["x-benchwork-signature"].to_str().unwrap();
    let (t_part, v1) = sig.split_once(",v1=").unwrap();
    let ts = t_part.strip_prefix("t=").unwrap();
    assert_eq!(v1, standin::webhooks::hmac_hex("whsec_test", format!("{ts}.{body}").as_bytes()));
    // The delivery log says so.
    let (_, _, log) = parts(t.get("/__standin/webhooks").send().await.unwrap()).await;
    let entry = log.as_array().unwrap().iter().find(|e| e["event"] == "execution.completed").unwrap().clone();
    assert_eq!(entry["status"], "delivered");
    assert_eq!(entry["attempts"].as_array().unwrap().len(), 2);
    assert_eq!(entry["attempts"][0]["status"], 500);
}

#[tokio::test]
async fn events_fired_by_hand_reach_command_line_subscriptions() {
    let rx = receiver(0).await;
    let spec = load("specs/bi369.yaml", Some("fixtures/bi369"));
    let (app, _) = standin::app::App::new(vec![Arc::new(spec)], standin::app::Options { body_limit: 1 << 20, ..Default::default() });
    // What `serve --webhook URL,SECRET` does.
    app.mounts[0].sandbox.as_ref().unwrap().webhooks.subscribe(None, rx.url.clone(), vec![], Some("s3cret".into()));
    let server = standin::server::start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let client = standin::tls::client();
    let r = client
        .post(format!("{}/__standin/webhooks/fire", server.url()))
        .body(json!({"event": "invoice.overdue", "data": {"id": 5002, "status": "overdue"}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(wait_for(|| !rx.got.lock().unwrap().is_empty()).await);
    let (headers, body) = rx.got.lock().unwrap()[0].clone();
    let payload: Value = serde_json::from_str(&body).unwrap();
    // Bi369's payload shape, from its x-standin.webhooks block.
    assert_eq!((payload["event"].as_str(), payload["data"]["id"].as_i64()), (Some("invoice.overdue"), Some(5002)));
    assert!(payload["id"].is_string() && payload["createdAt"].is_string());
    assert!(headers.contains_key("x-bi369-signature"));
}

#[tokio::test]
async fn subscriptions_to_other_schemes_credentials_or_standin_itself_are_refused_with_the_vendors_error() {
    let t = TestServer::stateful("specs/benchwork.yaml", Some("fixtures/benchwork")).await;
    let own = t.url("");
    let port = own.rsplit(':').next().unwrap().trim_end_matches('/').to_string();
    let auth = |r: reqwest::RequestBuilder| r.header("authorization", "Bearer bw_live_ssrf");
    for url in [
        format!("{own}/__standin/reset"),
        format!("http://localhost:{port}/__standin/reset"),
        format!("http://[::1]:{port}/api/v1/workflows"),
        format!("http://0.0.0.0:{port}/"),
        "ftp://127.0.0.1/x".to_string(),
        "file:///etc/passwd".to_string(),
        "http://user:pw@127.0.0.1:9/hook".to_string(),
    ] {
        let (status, _, body) = parts(
            auth(t.post_json("/api/v1/webhooks", &json!({"url": url, "events": ["execution.completed"], "secret": "s"})))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{url}: {body}");
        assert!(body.to_string().contains("webhook url"), "{url}: the reason is given: {body}");
    }
    // A loopback receiver on another port is what a test suite uses: allowed.
    let rx = receiver(0).await;
    let (status, _, body) = parts(
        auth(t.post_json("/api/v1/webhooks", &json!({"url": rx.url, "events": ["execution.completed"], "secret": "s"})))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_tenant_holds_a_bounded_number_of_subscriptions() {
    let options =
        standin::app::Options { body_limit: 1 << 20, record: Some(Default::default()), rate_limit_off: true, ..Default::default() };
    let t = TestServer::with("specs/benchwork.yaml", Some("fixtures/benchwork"), options).await;
    let post = |key: &'static str| {
        t.post_json("/api/v1/webhooks", &json!({"url": "http://127.0.0.1:9/hook", "events": ["execution.completed"], "secret": "s"}))
            .header("authorization", format!("Bearer {key}"))
    };
    for i in 0..standin::webhooks::MAX_SUBSCRIPTIONS_PER_TENANT {
        assert_eq!(post("bw_live_many").send().await.unwrap().status(), 200, "subscription {i}");
    }
    let (status, _, body) = parts(post("bw_live_many").send().await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.to_string().contains("subscriptions already"), "{body}");
    assert_eq!(post("bw_live_other").send().await.unwrap().status(), 200, "other tenants are not affected");
}

#[tokio::test]
async fn deliveries_in_flight_are_bounded() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    // A slow receiver that notes the most deliveries it held at once.
    let (now, most, done) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (n, m, d) = (Arc::clone(&now), Arc::clone(&most), Arc::clone(&done));
    let app = axum::Router::new().fallback(move || {
        let (n, m, d) = (Arc::clone(&n), Arc::clone(&m), Arc::clone(&d));
        async move {
            m.fetch_max(n.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            n.fetch_sub(1, Ordering::SeqCst);
            d.fetch_add(1, Ordering::SeqCst);
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let spec = load("specs/bi369.yaml", Some("fixtures/bi369"));
    let (app, _) = standin::app::App::new(vec![Arc::new(spec)], standin::app::Options { body_limit: 1 << 20, ..Default::default() });
    let hooks = &app.mounts[0].sandbox.as_ref().unwrap().webhooks;
    for _ in 0..200 {
        hooks.subscribe(None, url.clone(), vec![], None);
    }
    let server = standin::server::start(app, "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let r = standin::tls::client()
        .post(format!("{}/__standin/webhooks/fire", server.url()))
        .body(json!({"event": "invoice.overdue", "data": {"id": 1}}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(wait_for(|| done.load(Ordering::SeqCst) == 200).await, "every delivery arrives: {}", done.load(Ordering::SeqCst));
    let most = most.load(Ordering::SeqCst);
    assert!(most <= standin::webhooks::MAX_IN_FLIGHT && most > 1, "at most {} at once, saw {most}", standin::webhooks::MAX_IN_FLIGHT);
}
