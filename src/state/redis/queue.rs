//! The cluster's delay queue: delayed changes (`later:`) and the next attempts of webhook
//! deliveries, as JSON jobs in the sorted set `{ns}:delayed`, scored by due time (epoch ms).
//!
//! Takes jobs from [`super::super::scheduler`] ([`push`]); every replica polls the set every
//! [`POLL`] and claims the due jobs with one script ([`super::lua::CLAIM`], which removes what
//! it hands out), so each job runs once, on whichever replica claimed it, and a job outlives
//! the replica that scheduled it. The poller stops when its store is dropped.

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::Value;

use super::{lua, Inner, RValue};
use crate::state::scheduler;
use crate::state::store::{self, TenantStore};

/// How often each replica looks for due jobs (the granularity of `later.after`).
const POLL: Duration = Duration::from_millis(100);

/// Jobs claimed at once at most.
const BATCH: usize = 64;

/// Batches claimed one after another at most in one poll (while each comes back full).
const BURST: usize = 16;

static CLAIM: std::sync::LazyLock<redis::Script> = std::sync::LazyLock::new(|| redis::Script::new(lua::CLAIM));

/// Start this store's poller (once; needs the tokio runtime, which requests run in).
pub(super) fn start(inner: &Arc<Inner>) {
    if inner.poller.get().is_some() || tokio::runtime::Handle::try_current().is_err() {
        return;
    }
    inner.poller.get_or_init(|| {
        tokio::spawn(poll(Arc::downgrade(inner)));
    });
}

/// The delay queue's key in namespace `ns`.
pub(super) fn key(ns: &str) -> String {
    format!("{ns}:delayed")
}

/// The command that queues `job` in the delay queue `key`, due at `due_ms`.
pub(super) fn zadd(key: &str, job: &Value, due_ms: u64) -> redis::Cmd {
    let mut zadd = redis::cmd("ZADD");
    zadd.arg(key).arg(due_ms).arg(job.to_string());
    zadd
}

/// Queue `job`, due at `due_ms`. A failure is the request's fault (it gets a 503).
pub(super) async fn push(inner: &Inner, job: &Value, due_ms: u64) {
    inner.conn.query::<i64>(zadd(&inner.delayed, job, due_ms)).await;
}

async fn poll(store: Weak<Inner>) {
    loop {
        tokio::time::sleep(POLL).await;
        let Some(inner) = store.upgrade() else { return };
        // A full batch: claim again at once (at most BURST batches a poll), so a backlog drains
        // faster than one batch a poll.
        for _ in 0..BURST {
            let mut conn = inner.conn.shared.conn.clone();
            let mut claim = CLAIM.key(&inner.delayed);
            claim.arg(crate::util::time::unix_millis()).arg(BATCH);
            // Redis gone: the jobs wait there (and the poll is one of the steps that try again).
            let Ok(jobs) = inner.conn.run(claim.invoke_async::<Vec<RValue>>(&mut conn)).await else { break };
            let full = jobs.len() >= BATCH;
            for job in jobs.iter().filter_map(super::json_of) {
                let inner = Arc::clone(&inner);
                // Each in a task of its own, like a request: a slow one does not hold up the poll.
                tokio::spawn(async move { run(&inner, &job).await });
            }
            if !full {
                break;
            }
        }
    }
}

/// Carry out one claimed job (a delayed change, or a webhook delivery's next attempt); if the
/// store fails meanwhile, put it back.
async fn run(inner: &Arc<Inner>, job: &Value) {
    if job.get("delivery").is_some() {
        if !inner.webhooks.resume(job) {
            tracing::warn!("a webhook retry in the shared store could not be read; it is dropped");
        }
        return;
    }
    let tenant = |key: &str| Arc::new(inner.handle(key, false)) as Arc<dyn TenantStore>;
    let Some((later, s)) = scheduler::from_job(job, tenant, Arc::clone(&inner.events)) else {
        tracing::warn!("a delayed change in the shared store could not be read; it is dropped");
        return;
    };
    let ((), fault) = store::catch_faults(scheduler::apply(&later, &s)).await;
    if let Some(e) = fault {
        tracing::warn!("a delayed change failed ({e}); it is queued again");
        let due = crate::util::time::unix_millis() + 1000;
        // In a scope of its own: the push may fail too (then the job is lost; said once here).
        let ((), lost) = store::catch_faults(push(inner, job, due)).await;
        if let Some(e) = lost {
            tracing::warn!("a delayed change could not be queued again ({e}); it is dropped");
        }
    }
}
