//! Webhooks: subscriptions, signed deliveries with bounded retries, and a delivery log.
//!
//! Events come from state changes (declared actions emit them); each subscription whose event
//! list matches gets a POST of the vendor's payload (`x-standin.webhooks.payload`, default
//! `{"id", "event", "createdAt", "data"}`), signed with HMAC-SHA256 over `"<t>.<body>"` in the
//! header `x-standin.webhooks.signatureHeader` (default `X-Standin-Signature`) as
//! `t=<unix seconds>,v1=<hex digest>` when the subscription has a secret. Failures (non-2xx or no
//! connection) are retried with exponential backoff, at most `retries` times.
//!
//! Subscriptions come from the vendor's own API (a `subscribe` action, tenant-scoped) or from
//! the command line (`serve --webhook URL[,SECRET]`, every tenant and event). The log is at
//! `GET /__standin/webhooks`; `POST /__standin/webhooks/fire` emits any event by hand.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Deliveries kept in the log.
const LOG_SIZE: usize = 1_000;

/// `x-standin.webhooks`, read with the spec (`spec::actions`).
pub use crate::spec::actions::WebhookConfig;

/// One subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    /// `None`: every tenant (command line); `Some`: the tenant that subscribed through the API.
    pub tenant: Option<String>,
    pub url: String,
    /// Empty: every event.
    pub events: Vec<String>,
    pub secret: Option<String>,
}

/// The webhooks of one mounted spec.
pub struct Webhooks {
    config: WebhookConfig,
    subscriptions: RwLock<Vec<Subscription>>,
    log: Arc<Mutex<VecDeque<Value>>>,
    /// Built on the first delivery: a TLS-capable client costs megabytes most runs never use.
    client: std::sync::OnceLock<reqwest::Client>,
    next: AtomicU64,
}

impl std::fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhooks").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Webhooks {
    pub fn new(config: WebhookConfig) -> Self {
        Self {
            config,
            subscriptions: RwLock::new(Vec::new()),
            log: Arc::new(Mutex::new(VecDeque::new())),
            client: std::sync::OnceLock::new(),
            next: AtomicU64::new(1),
        }
    }

    fn client(&self) -> reqwest::Client {
        self.client
            .get_or_init(|| {
                crate::tls::client_builder()
                    .timeout(Duration::from_secs(5))
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap_or_default()
            })
            .clone()
    }

    /// Add a subscription; returns its id.
    pub fn subscribe(&self, tenant: Option<String>, url: String, events: Vec<String>, secret: Option<String>) -> String {
        let id = format!("wh_{:06}", self.next.fetch_add(1, Ordering::Relaxed));
        if let Ok(mut s) = self.subscriptions.write() {
            s.push(Subscription { id: id.clone(), tenant, url, events, secret });
        }
        id
    }

    /// Send `event` about `data` to every matching subscription (in the background).
    pub fn emit(&self, tenant: &str, event: &str, data: &Value) {
        let subs: Vec<Subscription> = self
            .subscriptions
            .read()
            .map(|s| {
                s.iter()
                    .filter(|s| {
                        s.tenant.as_deref().is_none_or(|t| t == tenant) && (s.events.is_empty() || s.events.iter().any(|e| e == event))
                    })
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        if subs.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let now_secs = crate::util::time::unix_secs();
        for sub in subs {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let delivery_id = format!("evt_{n:08}");
            let now = crate::util::time::format_rfc3339(now_secs as i64);
            let payload = crate::spec::ext::fill_placeholders(&self.config.payload, &|name| match name {
                "id" => Some(Value::String(delivery_id.clone())),
                "event" => Some(Value::String(event.to_string())),
                "now" => Some(Value::String(now.clone())),
                "data" => Some(data.clone()),
                _ => None,
            });
            let body = payload.to_string();
            let entry =
                json!({"id": delivery_id, "event": event, "subscription": sub.id, "url": sub.url, "status": "pending", "attempts": []});
            if let Ok(mut log) = self.log.lock() {
                if log.len() >= LOG_SIZE {
                    log.pop_front();
                }
                log.push_back(entry);
            }
            let job = Job {
                id: delivery_id,
                sub,
                body,
                header: self.config.signature_header.clone(),
                retries: self.config.retries,
                backoff_ms: self.config.backoff_ms,
                client: self.client(),
                log: Arc::clone(&self.log),
            };
            runtime.spawn(job.run());
        }
    }

    /// The delivery log, oldest first.
    pub fn log(&self) -> Vec<Value> {
        self.log.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }
}

/// One delivery, with its retries.
struct Job {
    id: String,
    sub: Subscription,
    body: String,
    header: String,
    retries: u32,
    backoff_ms: u64,
    client: reqwest::Client,
    log: Arc<Mutex<VecDeque<Value>>>,
}

impl Job {
    async fn run(self) {
        let mut delay = Duration::from_millis(self.backoff_ms);
        for attempt in 0..=self.retries {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
            let t = crate::util::time::unix_secs();
            let mut req =
                self.client.post(&self.sub.url).header("content-type", "application/json").header("user-agent", "standin-webhooks");
            if let Some(secret) = &self.sub.secret {
                req = req.header(self.header.as_str(), format!("t={t},v1={}", sign(secret, t, &self.body)));
            }
            let result = req.body(self.body.clone()).send().await;
            let (ok, record) = match result {
                Ok(r) => (r.status().is_success(), json!({"at": t, "status": r.status().as_u16()})),
                Err(e) => (false, json!({"at": t, "error": e.to_string()})),
            };
            self.record(record, ok, attempt == self.retries);
            if ok {
                return;
            }
        }
    }

    fn record(&self, attempt: Value, delivered: bool, last: bool) {
        let Ok(mut log) = self.log.lock() else { return };
        if let Some(entry) = log.iter_mut().rev().find(|e| e["id"] == self.id.as_str()) {
            if let Some(a) = entry["attempts"].as_array_mut() {
                a.push(attempt);
            }
            entry["status"] = Value::from(if delivered {
                "delivered"
            } else if last {
                "failed"
            } else {
                "retrying"
            });
        }
    }
}

/// Hex HMAC-SHA256 of `"{t}.{body}"` with `secret` (Stripe's scheme).
pub fn sign(secret: &str, t: u64, body: &str) -> String {
    hmac_hex(secret, format!("{t}.{body}").as_bytes())
}

/// Hex HMAC-SHA256 of `message` with `secret`.
pub fn hmac_hex(secret: &str, message: &[u8]) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(message);
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        assert_eq!(hmac_hex("Jefe", b"what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert_eq!(sign("Jefe", 7, "x"), hmac_hex("Jefe", b"7.x"));
    }
}
