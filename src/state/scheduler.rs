//! Delayed changes: the `later:` of a declared action, applied after its delay.
//!
//! Takes the tenant's store handle, the item to change and the chosen [`Later`]; after the
//! delay sets the fields, stamps the item and emits the event. In memory the change waits in a
//! tokio task, which holds the tenant it was started for: after a reset the change lands in the
//! forgotten data, not in the fresh tenant. A store with a delay queue of its own (Redis:
//! [`TenantStore::defer`]) takes the change as a JSON job instead ([`job`]), and whichever
//! replica claims it when it is due rebuilds it ([`from_job`]) and applies it ([`apply`]), once.

use std::sync::Arc;

use serde_json::{json, Value};

use super::actions::{self, Later};
use super::crud::stamp;
use super::store::{CollectionKey, TenantStore};
use super::{now_rfc3339, Events};

/// What a delayed change needs from the request that scheduled it.
pub(crate) struct Scheduled {
    pub tenant: Arc<dyn TenantStore>,
    pub events: Arc<Events>,
    pub tenant_key: String,
    /// The item to change: its collection and id.
    pub key: CollectionKey,
    pub id: String,
    pub seq: u64,
    pub path: Vec<(String, String)>,
    pub body: Value,
}

/// Apply `later` to the item after `later.after` seconds (at most a day). Must run inside a
/// tokio runtime (every request does).
pub(crate) async fn schedule(later: Later, s: Scheduled) {
    let delay = std::time::Duration::from_secs_f64(later.after.clamp(0.0, 86_400.0));
    let due_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| (d + delay).as_millis() as u64);
    if s.tenant.defer(&job(&later, &s), due_ms).await {
        return;
    }
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        apply(&later, &s).await;
    });
}

/// Set the fields of `later` on the item, stamp it and emit the event (if the item still exists).
pub(crate) async fn apply(later: &Later, s: &Scheduled) {
    let now = now_rfc3339();
    let changed = s
        .tenant
        .update(&s.key, &s.id, &mut |item| {
            let before = item.clone();
            let ctx = actions::Context {
                now: &now,
                seq: s.seq,
                path: &s.path,
                body: &s.body,
                item: Some(&before),
                before: Some(&before),
                created: Some(&before),
            };
            actions::apply_set(item, &later.set, &ctx);
            if let Some(obj) = item.as_object_mut() {
                stamp(obj, &now, false);
            }
        })
        .await;
    let Some(item) = changed else { return };
    if let Some(e) = &later.emit {
        s.events.emit(&s.tenant_key, e, &item);
    }
}

/// A delayed change as JSON, for a store's delay queue. Carries a nonce: two identical changes
/// scheduled at once are two jobs.
pub(crate) fn job(later: &Later, s: &Scheduled) -> Value {
    static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nonce = format!(
        "{:x}.{:x}",
        std::process::id(),
        crate::util::hash::stable_hash(&[
            now_rfc3339().as_bytes(),
            &NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_le_bytes(),
            &std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64).to_le_bytes()
        ])
    );
    json!({
        "tenant": s.tenant_key,
        "collection": s.key.0,
        "parent": s.key.1,
        "id": s.id,
        "seq": s.seq,
        "path": s.path,
        "body": s.body,
        "later": {"after": later.after, "set": later.set, "emit": later.emit},
        "nonce": nonce,
    })
}

/// A job of [`job`] back as the change and its target; `tenant` finds the tenant's store.
pub(crate) fn from_job(job: &Value, tenant: impl FnOnce(&str) -> Arc<dyn TenantStore>, events: Arc<Events>) -> Option<(Later, Scheduled)> {
    let later: Later = serde_json::from_value(job.get("later")?.clone()).ok()?;
    let tenant_key = job.get("tenant")?.as_str()?.to_string();
    let path = serde_json::from_value(job.get("path")?.clone()).ok()?;
    let key = (job.get("collection")?.as_u64()? as usize, job.get("parent")?.as_str()?.to_string());
    let s = Scheduled {
        tenant: tenant(&tenant_key),
        events,
        tenant_key,
        key,
        id: job.get("id")?.as_str()?.to_string(),
        seq: job.get("seq")?.as_u64()?,
        path,
        body: job.get("body").cloned().unwrap_or(Value::Null),
    };
    Some((later, s))
}
