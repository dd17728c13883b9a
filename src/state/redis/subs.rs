//! Webhook subscriptions made through a vendor's API, shared by the replicas on one store: a
//! hash `{ns}:webhooks` (id → JSON), a set of ids per tenant (for the per-tenant cap) and a
//! counter for the ids, changed together by one script.
//!
//! Takes what [`crate::webhooks::Webhooks::subscribe_for`] checked; hands back every
//! subscription for each emitted event (one round trip per event, none per request).

use std::sync::LazyLock;

use serde_json::{json, Value};

use super::{Connection, RValue};
use crate::state::store::{self, Step};
use crate::webhooks::{SharedSubscriptions, Subscription};

/// Add `ARGV[2]` unless the tenant's set `KEYS[2]` holds `ARGV[1]` already: its id, or nil.
const ADD: &str = r#"
if redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[1]) then return false end
local id = string.format('wh_%06d', redis.call('INCR', KEYS[3]))
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('SADD', KEYS[2], id)
return id
"#;

static ADD_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(ADD));

/// The subscriptions of one spec's namespace.
pub struct Subscriptions {
    pub(super) conn: Connection,
    pub(super) ns: String,
}

impl SharedSubscriptions for Subscriptions {
    fn add<'a>(
        &'a self,
        tenant: &'a str,
        url: &'a str,
        events: &'a [String],
        secret: Option<&'a str>,
        max: usize,
    ) -> Step<'a, Result<String, String>> {
        let keys = [
            format!("{}:webhooks", self.ns),
            format!("{}:webhooks:t:{}", self.ns, super::tenant_hash(tenant)),
            format!("{}:webhooks:n", self.ns),
        ];
        let sub = json!({"tenant": tenant, "url": url, "events": events, "secret": secret}).to_string();
        let args = vec![max.to_string().into_bytes(), sub.into_bytes()];
        Step::boxed(async move {
            match self.conn.eval(&ADD_SCRIPT, &[&keys[0], &keys[1], &keys[2]], args).await {
                Some(v @ RValue::BulkString(_)) => super::text(&v).ok_or_else(|| "the shared store answered oddly".to_string()),
                Some(_) => Err(format!("this tenant has {max} webhook subscriptions already, the most it may hold")),
                None => {
                    store::report_fault("the shared store did not take the subscription".into());
                    Err("the shared store is unavailable".into())
                }
            }
        })
    }

    fn all(&self) -> Step<'_, Vec<Subscription>> {
        let mut conn = self.conn.shared.conn.clone();
        let key = format!("{}:webhooks", self.ns);
        Step::boxed(async move {
            // Not a fault of a request: without the shared subscriptions only they miss the event.
            let Ok(pairs) = self.conn.run(redis::cmd("HGETALL").arg(key).query_async::<Vec<(String, String)>>(&mut conn)).await else {
                return Vec::new();
            };
            pairs.into_iter().filter_map(|(id, text)| subscription(id, &text)).collect()
        })
    }

    fn retry_later(&self, retry: Value, due_ms: u64) -> Step<'_, bool> {
        // The delay queue of the sandbox's `later:` changes, which tells the two kinds apart.
        let zadd = super::queue::zadd(&super::queue::key(&self.ns), &retry, due_ms);
        let mut conn = self.conn.shared.conn.clone();
        Step::boxed(async move { self.conn.run(zadd.query_async::<i64>(&mut conn)).await.is_ok() })
    }
}

/// A subscription as stored (JSON: tenant, url, events, secret).
fn subscription(id: String, text: &str) -> Option<Subscription> {
    let v: Value = serde_json::from_str(text).ok()?;
    let strings = |k: &str| v.get(k).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect());
    Some(Subscription {
        id,
        tenant: Some(v.get("tenant")?.as_str()?.to_string()),
        url: v.get("url")?.as_str()?.to_string(),
        events: strings("events").unwrap_or_default(),
        secret: v.get("secret").and_then(Value::as_str).map(str::to_string),
    })
}
