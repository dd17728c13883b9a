//! Delayed changes: the `later:` of a declared action, applied after its delay.
//!
//! Takes the tenant's store handle, the item to change and the chosen [`Later`]; hands the
//! change to a tokio task that sleeps, sets the fields, stamps the item and emits the event.
//! The task holds the tenant it was started for: after a reset the change lands in the
//! forgotten data, not in the fresh tenant.

use std::sync::Arc;

use serde_json::Value;

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
pub(crate) fn schedule(later: Later, s: Scheduled) {
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_secs_f64(later.after.clamp(0.0, 86_400.0))).await;
        let now = now_rfc3339();
        let changed = s.tenant.update(&s.key, &s.id, &mut |item| {
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
        });
        let Some(item) = changed else { return };
        if let Some(e) = &later.emit {
            s.events.emit(&s.tenant_key, e, &item);
        }
    });
}
