//! Per-tenant fixed-window rate limiting with the vendor's headers (`x-standin.rateLimit`).
//!
//! Each (tenant, bucket) pair counts requests in a window aligned to the clock
//! (`now - now % window`), so `Reset` is a true epoch second and `Remaining` really counts down.
//! A bucket is the operation's own limit when it has one, else the spec-wide limit.
//!
//! # Implementation rationale
//! governor's GCRA refills continuously and cannot produce a vendor's fixed-window
//! `Remaining`/`Reset` (shared/research/crates.md §5). The counters are sharded by key hash so
//! concurrent tenants do not contend on one lock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, HeaderValue};

use crate::spec::ext::RateLimitPolicy;

const SHARDS: usize = 16;

/// Counters for one mounted spec.
#[derive(Debug)]
pub struct RateLimiter {
    shards: Vec<Mutex<HashMap<String, (u64, u64)>>>,
    /// `--rate-limit-window`: replaces every window length (CI shrinks it to seconds).
    window_override: Option<u64>,
}

/// The state of one bucket after counting a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u64,
    pub remaining: u64,
    /// Epoch seconds when the window ends.
    pub reset: u64,
    /// Seconds until then.
    pub retry_after: u64,
    pub exceeded: bool,
}

impl RateLimiter {
    pub fn new(window_override: Option<u64>) -> Self {
        Self { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(), window_override }
    }

    /// Count one request of `tenant` to operation `op_id` under `policy`.
    pub fn check(&self, policy: &RateLimitPolicy, tenant: &str, op_id: Option<&str>, plan: Option<&str>) -> RateInfo {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let (limit, window, bucket) = match op_id.and_then(|id| policy.routes.get(id).map(|r| (id, r))) {
            Some((id, r)) => {
                let (l, w) = r.resolve(policy.window);
                (l, w, id)
            }
            None => (plan.and_then(|p| policy.plans.get(p)).copied().unwrap_or(policy.limit), policy.window, ""),
        };
        let window = self.window_override.unwrap_or(window).max(1);
        self.count(&format!("{tenant}\u{0}{bucket}"), limit, window, now)
    }

    fn count(&self, key: &str, limit: u64, window: u64, now: u64) -> RateInfo {
        let start = now - now % window;
        let shard = (crate::respond::fake::stable_hash(&[key.as_bytes()]) as usize) % SHARDS;
        let mut map = match self.shards[shard].lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        // Forget windows that ended, so idle tenants do not accumulate.
        if map.len() > 10_000 {
            map.retain(|_, (s, _)| *s + window > now);
        }
        let entry = map.entry(key.to_string()).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        let exceeded = entry.1 >= limit;
        if !exceeded {
            entry.1 += 1;
        }
        let reset = start + window;
        RateInfo { limit, remaining: limit.saturating_sub(entry.1), reset, retry_after: reset.saturating_sub(now).max(1), exceeded }
    }
}

/// The headers the vendor sends for this state (names from the policy).
pub fn headers(policy: &RateLimitPolicy, info: &RateInfo) -> Vec<(HeaderName, HeaderValue)> {
    let h = &policy.headers;
    let mut out = Vec::new();
    let mut add = |name: &Option<String>, value: u64| {
        if let Some(n) = name.as_deref().and_then(|n| HeaderName::from_bytes(n.as_bytes()).ok()) {
            out.push((n, HeaderValue::from(value)));
        }
    };
    add(&h.limit, info.limit);
    add(&h.remaining, info.remaining);
    add(&h.reset, info.reset);
    if info.exceeded {
        let retry = h.retry_after.clone().or_else(|| Some("Retry-After".to_string()));
        add(&retry, info.retry_after);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_window_counts_down_then_refuses_until_reset() {
        let rl = RateLimiter::new(None);
        for expected in (0..3).rev() {
            let i = rl.count("k", 3, 60, 120);
            assert_eq!((i.remaining, i.exceeded, i.reset), (expected, false, 180));
        }
        let i = rl.count("k", 3, 60, 150);
        assert!(i.exceeded);
        assert_eq!(i.retry_after, 30);
        // The next window starts fresh.
        assert!(!rl.count("k", 3, 60, 181).exceeded);
    }
}
