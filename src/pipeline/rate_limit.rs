//! Per-tenant fixed-window rate limiting with the vendor's headers (`x-standin.rateLimit`).
//!
//! Each (tenant, bucket) pair counts requests in a window aligned to the clock
//! (`now - now % window`), so `Reset` is a true epoch second and `Remaining` really counts down.
//! A bucket is the operation's own limit when it has one, else the spec-wide limit.
//!
//! The counts live in a [`WindowCounter`] (in memory: [`MemoryCounter`]), the same kind of
//! store the sandbox keeps its data in, so a shared store can count for several instances.
//!
//! # Implementation rationale
//! governor's GCRA refills continuously and cannot produce a vendor's fixed-window
//! `Remaining`/`Reset` (shared/research/crates.md §5).

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, HeaderValue};

use crate::spec::ext::RateLimitPolicy;
use crate::state::store::{MemoryCounter, WindowCounter};

/// The stage, first half: count the request against its tenant's window, when the spec has a
/// rate limit and limits are on. The count is kept in the answer's facts either way (the
/// vendor's rate-limit headers go on refusals too).
pub async fn count(
    app: &crate::app::App,
    mount: &crate::app::Mount,
    op: &crate::spec::Operation,
    caller: &super::auth::Caller<'_>,
) -> Option<RateInfo> {
    let policy = mount.spec.ext.rate_limit.as_ref().filter(|_| !app.rate_limit_off)?;
    Some(mount.limiter.check(policy, &caller.tenant.0, op.operation_id.as_deref(), caller.key.and_then(|k| k.plan.as_deref())).await)
}

/// The stage, second half: a request over its window's limit is refused with 429.
pub fn enforce(rate: Option<RateInfo>) -> Result<(), crate::reject::Rejection> {
    match rate {
        Some(info) if info.exceeded => Err(crate::reject::Rejection::rate_limited(info.limit, info.retry_after)),
        _ => Ok(()),
    }
}

/// Counters for one mounted spec.
#[derive(Debug)]
pub struct RateLimiter {
    counter: Box<dyn WindowCounter>,
    /// `--rate-limit-window`: replaces every window length (CI shrinks it to seconds).
    window_override: Option<u64>,
}

/// The state of one bucket after counting a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInfo {
    pub limit: u64,
    /// The window length in seconds.
    pub window: u64,
    pub remaining: u64,
    /// Epoch seconds when the window ends.
    pub reset: u64,
    /// Seconds until then.
    pub retry_after: u64,
    pub exceeded: bool,
}

impl RateLimiter {
    pub fn new(window_override: Option<u64>) -> Self {
        Self::with_counter(window_override, Box::new(MemoryCounter::default()))
    }

    /// Counting in `counter` (a shared one: `serve --store`).
    pub fn with_counter(window_override: Option<u64>, counter: Box<dyn WindowCounter>) -> Self {
        Self { counter, window_override }
    }

    /// Count one request of `tenant` to operation `op_id` under `policy`.
    pub async fn check(&self, policy: &RateLimitPolicy, tenant: &str, op_id: Option<&str>, plan: Option<&str>) -> RateInfo {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let (limit, window, bucket) = match op_id.and_then(|id| policy.routes.get(id).map(|r| (id, r))) {
            Some((id, r)) => {
                let (l, w) = r.resolve(policy.window);
                (l, w, id)
            }
            None => (plan.and_then(|p| policy.plans.get(p)).copied().unwrap_or(policy.limit), policy.window, ""),
        };
        let window = self.window_override.unwrap_or(window).max(1);
        self.count(&format!("{tenant}\u{0}{bucket}"), limit, window, now).await
    }

    async fn count(&self, key: &str, limit: u64, window: u64, now: u64) -> RateInfo {
        let start = now - now % window;
        // Requests past the limit are counted too; they are refused and leave nothing remaining.
        let n = self.counter.increment(key, start, window).await;
        let exceeded = n > limit;
        let reset = start + window;
        RateInfo { limit, window, remaining: limit.saturating_sub(n), reset, retry_after: reset.saturating_sub(now).max(1), exceeded }
    }
}

/// The headers the vendor sends for this state (names from the policy).
pub fn headers(policy: &RateLimitPolicy, info: &RateInfo) -> Vec<(HeaderName, HeaderValue)> {
    let h = &policy.headers;
    let mut out = Vec::new();
    let mut put = |name: Option<&str>, value: String| {
        if let (Some(n), Ok(v)) = (name.and_then(|n| HeaderName::from_bytes(n.as_bytes()).ok()), HeaderValue::from_str(&value)) {
            out.push((n, v));
        }
    };
    let reset = match h.reset_style {
        crate::spec::ext::ResetStyle::Epoch => info.reset,
        crate::spec::ext::ResetStyle::Seconds => info.retry_after,
    };
    put(h.limit.as_deref(), info.limit.to_string());
    put(h.remaining.as_deref(), info.remaining.to_string());
    put(h.reset.as_deref(), reset.to_string());
    put(h.combined.as_deref(), format!("limit={}, remaining={}, reset={}", info.limit, info.remaining, info.retry_after));
    put(h.policy.as_deref(), format!("{};w={}", info.limit, info.window));
    if info.exceeded {
        put(Some(h.retry_after.as_deref().unwrap_or("Retry-After")), info.retry_after.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fixed_window_counts_down_then_refuses_until_reset() {
        let rl = RateLimiter::new(None);
        for expected in (0..3).rev() {
            let i = rl.count("k", 3, 60, 120).await;
            assert_eq!((i.remaining, i.exceeded, i.reset, i.window), (expected, false, 180, 60));
        }
        let i = rl.count("k", 3, 60, 150).await;
        assert!(i.exceeded);
        assert_eq!(i.retry_after, 30);
        // The next window starts fresh.
        assert!(!rl.count("k", 3, 60, 181).await.exceeded);
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn ietf_fields_use_seconds_until_reset() {
        let policy: RateLimitPolicy = serde_json::from_value(serde_json::json!({
            "limit": 60, "headers": {"limit": "RateLimit-Limit", "reset": "RateLimit-Reset", "resetStyle": "seconds", "combined": "RateLimit", "policy": "RateLimit-Policy"}
        })).unwrap();
        let info = RateInfo { limit: 60, window: 60, remaining: 59, reset: 1_000_042, retry_after: 42, exceeded: false };
        let h: Vec<(String, String)> =
            headers(&policy, &info).into_iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string())).collect();
        assert!(h.contains(&("ratelimit-reset".into(), "42".into())));
        assert!(h.contains(&("ratelimit".into(), "limit=60, remaining=59, reset=42".into())));
        assert!(h.contains(&("ratelimit-policy".into(), "60;w=60".into())));
    }
}
