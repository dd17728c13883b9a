//! Events the sandbox emits on state changes: a bounded log (for `/__standin/events`) and a sink
//! (the webhook deliverer).
//!
//! Takes `(tenant, event, data)` from CRUD changes and actions; hands each to the sink and keeps
//! the last [`EVENT_LOG`] with the tenant masked.

use std::collections::VecDeque;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::{mask, now_rfc3339};

/// Where events go besides the log: `(tenant, event, data)` (the webhook deliverer).
pub type EventSink = Box<dyn Fn(&str, &str, &Value) + Send + Sync>;

/// Events emitted by the sandbox: kept (the last [`EVENT_LOG`]) and handed to a sink (webhooks).
#[derive(Default)]
pub struct Events {
    log: Mutex<VecDeque<Value>>,
    sink: OnceLock<EventSink>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

/// How many events `/__standin/events` keeps.
pub const EVENT_LOG: usize = 1_000;

impl Events {
    /// Record `event` about `data` for `tenant`, and hand it to the sink.
    pub fn emit(&self, tenant: &str, event: &str, data: &Value) {
        let entry = serde_json::json!({"event": event, "tenant": mask(tenant), "at": now_rfc3339(), "data": data});
        if let Ok(mut log) = self.log.lock() {
            if log.len() >= EVENT_LOG {
                log.pop_front();
            }
            log.push_back(entry);
        }
        if let Some(sink) = self.sink.get() {
            sink(tenant, event, data);
        }
    }

    /// Set where events go besides the log (once).
    pub fn set_sink(&self, sink: EventSink) {
        let _ = self.sink.set(sink);
    }

    /// The logged events, oldest first.
    pub fn list(&self) -> Vec<Value> {
        self.log.lock().map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }
}
