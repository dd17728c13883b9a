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
//!
//! # What an API client may subscribe
//! Subscriptions made through the vendor's API come from clients, so standin must not become
//! their HTTP proxy ([`check_url`]): only `http`/`https` URLs, no `user:password@`, and never
//! standin's own listening address (a subscription to `/__standin/reset` would wipe every
//! tenant; to any other path of its own, a delivery loop). Loopback and private receivers are
//! allowed: a mock's webhooks usually go to a test receiver on localhost. The own-address check
//! runs at subscription time and again before each delivery, on the resolved addresses (a name
//! that later resolves to standin is caught then). Each tenant may hold
//! [`MAX_SUBSCRIPTIONS_PER_TENANT`] subscriptions; at most [`MAX_IN_FLIGHT`] deliveries are in
//! flight per mounted spec and [`MAX_QUEUED`] wait, later ones are logged as `dropped`.
//! Subscriptions from the command line are the operator's and are not checked.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;

/// Deliveries kept in the log.
const LOG_SIZE: usize = 1_000;

/// `x-standin.webhooks`, read with the spec (`spec::actions`).
pub use crate::spec::actions::WebhookConfig;

/// Subscriptions one tenant may create through the API.
pub const MAX_SUBSCRIPTIONS_PER_TENANT: usize = 100;

/// Deliveries sending at once, per mounted spec (each holds a connection).
pub const MAX_IN_FLIGHT: usize = 64;

/// Deliveries waiting or retrying beyond which new ones are dropped (logged as `dropped`).
pub const MAX_QUEUED: usize = 10_000;

/// Every address a standin server in this process listens on (several in tests).
static OWN_ADDRESSES: RwLock<Vec<std::net::SocketAddr>> = RwLock::new(Vec::new());

/// Note an address a server of this process listens on: webhooks never go there while the
/// returned guard lives (the server's task holds it; a port freed may be a test receiver's next).
pub fn serving_on(addr: std::net::SocketAddr) -> ServingOn {
    if let Ok(mut a) = OWN_ADDRESSES.write() {
        a.push(addr);
    }
    ServingOn(addr)
}

/// Keeps an address in the own-address list until dropped (see [`serving_on`]).
#[derive(Debug)]
pub struct ServingOn(std::net::SocketAddr);

impl Drop for ServingOn {
    fn drop(&mut self) {
        if let Ok(mut a) = OWN_ADDRESSES.write() {
            if let Some(i) = a.iter().position(|x| *x == self.0) {
                a.swap_remove(i);
            }
        }
    }
}

/// Whether `target` reaches a server of this process: the same port, on the bound address, a
/// loopback or unspecified address, or (when bound to every interface) a private one.
fn is_own(target: std::net::SocketAddr) -> bool {
    let ip = target.ip().to_canonical();
    let local = ip.is_loopback() || ip.is_unspecified();
    OWN_ADDRESSES
        .read()
        .map(|own| {
            own.iter().any(|a| {
                let bound = a.ip().to_canonical();
                let private = match ip {
                    std::net::IpAddr::V4(v4) => v4.is_private() || v4.is_link_local(),
                    std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80,
                };
                a.port() == target.port() && (ip == bound || local || (bound.is_unspecified() && private))
            })
        })
        .unwrap_or(false)
}

/// Why an API client may not subscribe `url` (see the module doc); `None` when it may.
pub fn check_url(url: &str) -> Option<String> {
    let Ok(parsed) = reqwest::Url::parse(url) else { return Some(format!("the webhook url {url:?} is not an absolute URL")) };
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some(format!("the webhook url must be http or https, not {}", parsed.scheme()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Some("the webhook url must not carry credentials (user:password@)".into());
    }
    let port = parsed.port_or_known_default().unwrap_or(80);
    let Some(host) = parsed.host_str().map(|h| h.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase()) else {
        return Some("the webhook url has no host".into());
    };
    let ips: Vec<std::net::IpAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) if host == "localhost" || host.ends_with(".localhost") => vec![std::net::Ipv4Addr::LOCALHOST.into()],
        Err(_) => Vec::new(), // a name: resolved and checked before each delivery
    };
    ips.into_iter().any(|ip| is_own((ip, port).into())).then(|| "the webhook url points at this standin server itself".into())
}

/// [`check_url`]'s own-address check on what the host resolves to now (before a delivery).
async fn resolves_to_self(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else { return false };
    let Some(host) = parsed.host_str() else { return false };
    let port = parsed.port_or_known_default().unwrap_or(80);
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    match tokio::net::lookup_host((host, port)).await {
        Ok(mut addrs) => addrs.any(is_own),
        Err(_) => false, // the delivery fails on its own
    }
}

/// One subscription.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Subscription {
    pub id: String,
    /// `None`: every tenant (command line); `Some`: the tenant that subscribed through the API.
    pub tenant: Option<String>,
    pub url: String,
    /// Empty: every event.
    pub events: Vec<String>,
    pub secret: Option<String>,
}

/// Subscriptions kept where several replicas see them (`serve --store`): those made through the
/// vendor's API. Adding one is atomic with the per-tenant count. Both are round trips, awaited
/// (a request's subscription) or in a task of their own (an event's delivery).
pub trait SharedSubscriptions: Send + Sync {
    /// Add a subscription of `tenant`, unless it has `max` already; returns its id.
    fn add<'a>(
        &'a self,
        tenant: &'a str,
        url: &'a str,
        events: &'a [String],
        secret: Option<&'a str>,
        max: usize,
    ) -> crate::state::store::Step<'a, Result<String, String>>;
    /// Every subscription (empty when the store does not answer).
    fn all(&self) -> crate::state::store::Step<'_, Vec<Subscription>>;
    /// Queue a delivery's next attempt (`retry`, from [`Webhooks::resume`]'s side) in the
    /// store's delay queue for epoch millisecond `due_ms`, so that whichever replica claims it
    /// then makes the attempt, even if this one has stopped. `false`: not queued (the store is
    /// unreachable), the caller waits and retries itself.
    fn retry_later(&self, retry: Value, due_ms: u64) -> crate::state::store::Step<'_, bool>;
}

/// The webhooks of one mounted spec.
pub struct Webhooks {
    config: WebhookConfig,
    subscriptions: RwLock<Vec<Subscription>>,
    /// Where API subscriptions live when replicas share a store (else in `subscriptions`), and
    /// where deliveries wait for their retries.
    shared: Option<Arc<dyn SharedSubscriptions>>,
    /// Starts this replica's delivery ids when replicas share a store (ids stay distinct across
    /// them: a retry may be made, and logged, by another replica); empty otherwise.
    id_tag: String,
    log: Arc<Mutex<VecDeque<Value>>>,
    /// Built on the first delivery: a TLS-capable client costs megabytes most runs never use.
    client: std::sync::OnceLock<reqwest::Client>,
    next: AtomicU64,
    /// Deliveries sending now ([`MAX_IN_FLIGHT`] permits).
    sending: Arc<tokio::sync::Semaphore>,
    /// Deliveries not finished (waiting, sending or retrying).
    queued: Arc<std::sync::atomic::AtomicUsize>,
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
            shared: None,
            id_tag: String::new(),
            log: Arc::new(Mutex::new(VecDeque::new())),
            client: std::sync::OnceLock::new(),
            next: AtomicU64::new(1),
            sending: Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT)),
            queued: Arc::default(),
        }
    }

    /// Keep API subscriptions in `shared` (replicas on one store deliver to each other's).
    pub fn with_shared(mut self, shared: Box<dyn SharedSubscriptions>) -> Self {
        self.shared = Some(Arc::from(shared));
        let started = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let tag = crate::util::hash::stable_hash(&[&std::process::id().to_le_bytes(), &started.to_le_bytes()]);
        self.id_tag.clear();
        crate::util::hash::push_hex(&mut self.id_tag, &tag.to_be_bytes()[5..]);
        self.id_tag.push('_');
        self
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

    /// Add a subscription an API client asked for: refused (with the reason) when [`check_url`]
    /// refuses its URL or the tenant has [`MAX_SUBSCRIPTIONS_PER_TENANT`] already.
    pub async fn subscribe_for(&self, tenant: &str, url: String, events: Vec<String>, secret: Option<String>) -> Result<String, String> {
        if let Some(reason) = check_url(&url) {
            return Err(reason);
        }
        if let Some(shared) = &self.shared {
            return shared.add(tenant, &url, &events, secret.as_deref(), MAX_SUBSCRIPTIONS_PER_TENANT).await;
        }
        let id = format!("wh_{:06}", self.next.fetch_add(1, Ordering::Relaxed));
        // Counted and added under one lock: concurrent requests cannot pass the bound together.
        let mut subs = self.subscriptions.write().map_err(|_| "the subscriptions are unavailable".to_string())?;
        if subs.iter().filter(|s| s.tenant.as_deref() == Some(tenant)).count() >= MAX_SUBSCRIPTIONS_PER_TENANT {
            return Err(format!("this tenant has {MAX_SUBSCRIPTIONS_PER_TENANT} webhook subscriptions already, the most it may hold"));
        }
        subs.push(Subscription { id: id.clone(), tenant: Some(tenant.to_string()), url, events, secret });
        Ok(id)
    }

    /// Add a subscription (unchecked: the command line's); returns its id.
    pub fn subscribe(&self, tenant: Option<String>, url: String, events: Vec<String>, secret: Option<String>) -> String {
        let id = format!("wh_{:06}", self.next.fetch_add(1, Ordering::Relaxed));
        if let Ok(mut s) = self.subscriptions.write() {
            s.push(Subscription { id: id.clone(), tenant, url, events, secret });
        }
        id
    }

    /// Send `event` about `data` to every matching subscription (in the background). The shared
    /// subscriptions are read in a task of its own, so an event costs its request no round trip.
    pub fn emit(self: &Arc<Self>, tenant: &str, event: &str, data: &Value) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        let subs: Vec<Subscription> =
            self.subscriptions.read().map(|s| s.iter().filter(|s| matches(s, tenant, event)).cloned().collect()).unwrap_or_default();
        self.deliver(&runtime, subs, event, data);
        if self.shared.is_some() {
            let (me, handle) = (Arc::clone(self), runtime.clone());
            let (tenant, event, data) = (tenant.to_string(), event.to_string(), data.clone());
            runtime.spawn(async move {
                let Some(shared) = &me.shared else { return };
                let subs = shared.all().await.into_iter().filter(|s| matches(s, &tenant, &event)).collect();
                me.deliver(&handle, subs, &event, &data);
            });
        }
    }

    /// Queue a delivery of `event` about `data` to each of `subs`.
    fn deliver(&self, runtime: &tokio::runtime::Handle, subs: Vec<Subscription>, event: &str, data: &Value) {
        let now_secs = crate::util::time::unix_secs();
        for sub in subs {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let delivery_id = format!("evt_{}{n:08}", self.id_tag);
            let now = crate::util::time::format_rfc3339(now_secs as i64);
            let payload = crate::spec::ext::fill_placeholders(&self.config.payload, &|name| match name {
                "id" => Some(Value::String(delivery_id.clone())),
                "event" => Some(Value::String(event.to_string())),
                "now" => Some(Value::String(now.clone())),
                "data" => Some(data.clone()),
                _ => None,
            });
            let body = payload.to_string();
            let dropped = self.queued.load(Ordering::Relaxed) >= MAX_QUEUED;
            let status = if dropped { "dropped" } else { "pending" };
            let entry =
                json!({"id": delivery_id, "event": event, "subscription": sub.id, "url": sub.url, "status": status, "attempts": []});
            if let Ok(mut log) = self.log.lock() {
                if log.len() >= LOG_SIZE {
                    log.pop_front();
                }
                log.push_back(entry);
            }
            if dropped {
                continue;
            }
            let plan = Plan {
                id: delivery_id,
                event: event.to_string(),
                sub,
                body,
                header: self.config.signature_header.clone(),
                retries: self.config.retries,
                attempt: 0,
                delay_ms: self.config.backoff_ms,
            };
            self.start(runtime, plan);
        }
    }

    /// Send a delivery's attempts from `plan.attempt` on, in the background.
    fn start(&self, runtime: &tokio::runtime::Handle, plan: Plan) {
        self.queued.fetch_add(1, Ordering::Relaxed);
        let job = Job {
            plan,
            client: self.client(),
            shared: self.shared.clone(),
            log: Arc::clone(&self.log),
            sending: Arc::clone(&self.sending),
            queued: Arc::clone(&self.queued),
        };
        runtime.spawn(job.run());
    }

    /// Make a delivery's next attempt, claimed from the shared store's delay queue (queued by
    /// this replica or another, see [`SharedSubscriptions::retry_later`]). The attempts show
    /// in this replica's log, under the delivery's id. `false`: `retry` is not a delivery.
    pub fn resume(&self, retry: &Value) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return false };
        let Some(plan) = Plan::from_json(retry) else { return false };
        // The same bound as new deliveries: past it, the retry is dropped (and logged so).
        let dropped = self.queued.load(Ordering::Relaxed) >= MAX_QUEUED;
        if let Ok(mut log) = self.log.lock() {
            match log.iter_mut().rev().find(|e| e["id"] == plan.id.as_str()) {
                Some(entry) if dropped => entry["status"] = Value::from("dropped"),
                Some(_) => {}
                None => {
                    if log.len() >= LOG_SIZE {
                        log.pop_front();
                    }
                    let status = if dropped { "dropped" } else { "retrying" };
                    log.push_back(json!({"id": plan.id, "event": plan.event, "subscription": plan.sub.id, "url": plan.sub.url, "status": status, "attempts": []}));
                }
            }
        }
        if !dropped {
            self.start(&runtime, plan);
        }
        true
    }

    /// The delivery log, oldest first.
    pub fn log(&self) -> Vec<Value> {
        self.log.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Whether subscription `s` takes `event` of `tenant`.
fn matches(s: &Subscription, tenant: &str, event: &str) -> bool {
    s.tenant.as_deref().is_none_or(|t| t == tenant) && (s.events.is_empty() || s.events.iter().any(|e| e == event))
}

/// What a delivery sends and where it stands: enough to make the next attempt anywhere (as
/// JSON in the shared store's delay queue, under `delivery`).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Plan {
    id: String,
    event: String,
    #[serde(rename = "subscription")]
    sub: Subscription,
    body: String,
    header: String,
    retries: u32,
    /// The attempt to make next (0: the first).
    attempt: u32,
    /// The wait before the attempt after it (doubles with each).
    delay_ms: u64,
}

impl Plan {
    fn to_json(&self) -> Value {
        json!({ "delivery": self })
    }

    fn from_json(v: &Value) -> Option<Plan> {
        Plan::deserialize(v.get("delivery")?).ok()
    }
}

/// One delivery, with its retries: waited for here, or, when replicas share a store, queued
/// there for whichever replica claims them.
struct Job {
    plan: Plan,
    client: reqwest::Client,
    shared: Option<Arc<dyn SharedSubscriptions>>,
    log: Arc<Mutex<VecDeque<Value>>>,
    sending: Arc<tokio::sync::Semaphore>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl Job {
    async fn run(mut self) {
        self.attempts().await;
        self.queued.fetch_sub(1, Ordering::Relaxed);
    }

    async fn attempts(&mut self) {
        // Bounded: each turn makes attempt `attempt`, and it grows up to `retries`.
        while self.plan.attempt <= self.plan.retries {
            if self.attempt().await {
                return;
            }
            let delay = Duration::from_millis(self.plan.delay_ms);
            self.plan.attempt += 1;
            self.plan.delay_ms = self.plan.delay_ms.saturating_mul(2);
            if self.plan.attempt > self.plan.retries {
                return;
            }
            if let Some(shared) = &self.shared {
                let due = crate::util::time::unix_millis() + delay.as_millis() as u64;
                if shared.retry_later(self.plan.to_json(), due).await {
                    return;
                }
            }
            tokio::time::sleep(delay).await;
        }
    }

    /// Make attempt `plan.attempt`; `true` when nothing more is to be tried (delivered, or
    /// refused for good).
    async fn attempt(&self) -> bool {
        // A permit per attempt, not across the backoff sleeps.
        let Ok(_permit) = self.sending.acquire().await else { return true };
        let (plan, t) = (&self.plan, crate::util::time::unix_secs());
        let last = plan.attempt >= plan.retries;
        if plan.sub.tenant.is_some() && resolves_to_self(&plan.sub.url).await {
            self.record(json!({"at": t, "error": "refused: the url resolves to this standin server"}), false, true);
            return true;
        }
        let mut req = self.client.post(&plan.sub.url).header("content-type", "application/json").header("user-agent", "standin-webhooks");
        if let Some(secret) = &plan.sub.secret {
            req = req.header(plan.header.as_str(), format!("t={t},v1={}", sign(secret, t, &plan.body)));
        }
        let result = req.body(plan.body.clone()).send().await;
        let (ok, record) = match result {
            Ok(r) => (r.status().is_success(), json!({"at": t, "status": r.status().as_u16()})),
            Err(e) => (false, json!({"at": t, "error": e.to_string()})),
        };
        self.record(record, ok, last);
        ok
    }

    fn record(&self, attempt: Value, delivered: bool, last: bool) {
        let Ok(mut log) = self.log.lock() else { return };
        if let Some(entry) = log.iter_mut().rev().find(|e| e["id"] == self.plan.id.as_str()) {
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
