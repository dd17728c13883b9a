//! The `x-standin` extension block: vendor behaviour standard OpenAPI cannot express.
//!
//! Read once at load from the document root. Everything here is data, never code per vendor:
//!
//! ```yaml
//! x-standin:
//!   rateLimit:                       # fixed window per API key (tenant)
//!     window: 60                     # seconds
//!     limit: 60                      # requests per window
//!     routes: { getSiteStats: { limit: 30, window: 3600 } }   # per-operation overrides
//!     headers:                       # header names the vendor sends (absent = not sent)
//!       limit: X-RateLimit-Limit
//!       remaining: X-RateLimit-Remaining
//!       reset: X-RateLimit-Reset     # epoch seconds of the window end
//!       retryAfter: Retry-After      # seconds, on 429
//!       resetStyle: epoch            # or `seconds` (IETF RateLimit-Reset: seconds until reset)
//!       combined: RateLimit          # IETF: `limit=60, remaining=59, reset=42`
//!       policy: RateLimit-Policy     # IETF: `60;w=60`
//!   errors:                          # the body of every error standin makes itself
//!     contentType: application/json
//!     body: { success: false, error: { code: "{{code}}", message: "{{message}}" } }
//!     codes: { "400": VALIDATION_ERROR, "401": UNAUTHORIZED, "404": NOT_FOUND }
//!     validationStatus: { createTag: 422 }   # per-operation status for invalid requests
//!   requireHeaders:                  # headers without which the vendor refuses the request
//!     User-Agent: { status: 403, contentType: text/html, body: "<html>…</html>" }
//! ```
//!
//! In `errors.body`, string values exactly `{{code}}`, `{{message}}`, `{{status}}` (a number)
//! and `{{problems}}` (an array of `{"field", "message"}`) are substituted. Other keys
//! (`pagination`, `scopes`, `requireOneOf`, …) are kept for the stages that read them.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

/// The parsed `x-standin` block.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Extension {
    #[serde(default)]
    pub rate_limit: Option<RateLimitPolicy>,
    #[serde(default)]
    pub errors: Option<ErrorEnvelope>,
    #[serde(default)]
    pub require_headers: HashMap<String, RequiredHeader>,
    /// Webhook payload, signature header and retries (see `webhooks`).
    #[serde(default)]
    pub webhooks: Option<super::actions::WebhookConfig>,
    /// API-key scopes: scope name → the methods it may use (`all` for every method).
    #[serde(default)]
    pub scopes: HashMap<String, Vec<String>>,
    /// Rules that one of several request values must be present (`site_uuid` in the query or the
    /// body), checked before validation.
    #[serde(default)]
    pub require_one_of: Vec<RequireOneOf>,
    /// What resource inference cannot see, by collection path: `idField`, `idStyle`
    /// (`integer`, `uuid`, or a prefix such as `deal_`), `listKey`, `parentField`.
    #[serde(default)]
    pub resources: HashMap<String, ResourceHints>,
    /// Events emitted by CRUD changes, by collection path (see `state`).
    #[serde(default)]
    pub events: HashMap<String, super::actions::CrudEvents>,
    /// Declared non-CRUD behaviour, by operationId (see `state::actions`).
    #[serde(default)]
    pub actions: HashMap<String, super::actions::Action>,
    /// What the spec's author inferred rather than read in the vendor's documentation: schema
    /// pointers (`#/components/schemas/InvoiceCreate`) and operationIds (see `spec::inferred`).
    #[serde(default)]
    pub inferred: Vec<String>,
}

/// One `requireOneOf` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequireOneOf {
    /// The places any one of which satisfies the rule.
    pub of: Vec<ValuePlace>,
    /// The status when none is present (e.g. 401).
    pub status: u16,
    pub message: String,
    /// Only these operations (by operationId); default all.
    #[serde(default)]
    pub operations: Vec<String>,
    /// All operations but these.
    #[serde(default)]
    pub except_operations: Vec<String>,
}

/// Where a request value is looked for.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValuePlace {
    /// `query`, `header`, or `body` (a top-level JSON field).
    #[serde(rename = "in")]
    pub location: String,
    pub name: String,
}

impl RequireOneOf {
    /// Whether the rule applies to an operation.
    pub fn applies_to(&self, operation_id: Option<&str>) -> bool {
        let id = operation_id.unwrap_or("");
        (self.operations.is_empty() || self.operations.iter().any(|o| o == id)) && !self.except_operations.iter().any(|o| o == id)
    }
}

/// What `_keys.json` in the fixture directory says about one API key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyInfo {
    /// A scope of `x-standin.scopes` (e.g. `read`): other methods get 403.
    pub scope: Option<String>,
    /// A plan of `x-standin.rateLimit.plans`: its limit applies.
    pub plan: Option<String>,
    /// A revoked key gets 401.
    #[serde(default)]
    pub revoked: bool,
}

/// Hints for one inferred resource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceHints {
    pub id_field: Option<String>,
    /// `integer`, `uuid`, or a literal prefix for generated ids (`deal_`).
    pub id_style: Option<String>,
    pub list_key: Option<String>,
    /// The item field that refers to the parent of a nested resource (`project_ref`), when it
    /// is not `projectId`, `project_id` or `project`.
    pub parent_field: Option<String>,
}

/// Rate limit policy: a fixed window per API key.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitPolicy {
    /// Window length in seconds.
    #[serde(default = "default_window")]
    pub window: u64,
    /// Requests allowed per window.
    pub limit: u64,
    /// Per-plan limits (keys declare their plan in `_keys.json`).
    #[serde(default)]
    pub plans: HashMap<String, u64>,
    /// Per-operation overrides (by operationId): a number, or `{limit, window}`.
    #[serde(default)]
    pub routes: HashMap<String, RouteLimit>,
    #[serde(default)]
    pub headers: RateLimitHeaders,
}

fn default_window() -> u64 {
    60
}

/// A per-operation limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RouteLimit {
    Limit(u64),
    Window { limit: u64, window: Option<u64> },
}

impl RouteLimit {
    /// `(limit, window)` with the policy's window as default.
    pub fn resolve(&self, default_window: u64) -> (u64, u64) {
        match self {
            RouteLimit::Limit(l) => (*l, default_window),
            RouteLimit::Window { limit, window } => (*limit, window.unwrap_or(default_window)),
        }
    }
}

/// The names of the rate-limit headers a vendor sends.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitHeaders {
    pub limit: Option<String>,
    pub remaining: Option<String>,
    pub reset: Option<String>,
    pub retry_after: Option<String>,
    /// `epoch` (default: the epoch second the window ends) or `seconds` (seconds until then,
    /// as the IETF `RateLimit-Reset` field).
    #[serde(default)]
    pub reset_style: ResetStyle,
    /// A combined IETF field (`RateLimit: limit=60, remaining=59, reset=42`), by its name.
    pub combined: Option<String>,
    /// The IETF policy field (`RateLimit-Policy: 60;w=60`), by its name.
    pub policy: Option<String>,
}

/// How a reset time is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResetStyle {
    #[default]
    Epoch,
    Seconds,
}

/// The vendor's error envelope.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    #[serde(default = "default_content_type")]
    pub content_type: String,
    pub body: Value,
    /// Status → the vendor's error code string.
    #[serde(default)]
    pub codes: HashMap<String, String>,
    /// operationId → status for invalid requests (e.g. 422).
    #[serde(default)]
    pub validation_status: HashMap<String, u16>,
}

fn default_content_type() -> String {
    "application/json".into()
}

/// A header the vendor requires, and what it answers without it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequiredHeader {
    pub status: u16,
    #[serde(default = "default_content_type")]
    pub content_type: String,
    /// The body: a string is sent as is; anything else as JSON.
    pub body: Value,
}

impl Extension {
    /// Read the block from the document root; `Err` names the problem for a load error.
    pub fn read(doc: &Value) -> Result<Extension, String> {
        match doc.get("x-standin") {
            None => Ok(Extension::default()),
            Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("invalid x-standin block: {e}")),
        }
    }
}

impl ErrorEnvelope {
    /// Render the envelope for a status, code, message and problem list.
    pub fn render(&self, status: u16, fallback_code: &str, message: &str, problems: &[(String, String)]) -> Value {
        let code = self.codes.get(&status.to_string()).cloned().unwrap_or_else(|| fallback_code.to_string());
        fill_placeholders(&self.body, &|name| match name {
            "code" => Some(Value::String(code.clone())),
            "message" => Some(Value::String(message.to_string())),
            "status" => Some(Value::from(status)),
            "problems" => Some(Value::Array(problems.iter().map(|(f, m)| serde_json::json!({"field": f, "message": m})).collect())),
            _ => None,
        })
    }
}

/// Substitute `{{name}}` placeholders: a string value that is exactly `{{name}}` becomes
/// `lookup(name)` (any JSON value); other values are kept. Used by error envelopes and webhook
/// payloads (see `util::template`).
pub use crate::util::template::substitute as fill_placeholders;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn envelope_substitutes_placeholders_at_any_depth() {
        let env: ErrorEnvelope = serde_json::from_value(json!({
            "body": {"success": false, "error": {"code": "{{code}}", "message": "{{message}}", "status": "{{status}}", "details": "{{problems}}"}},
            "codes": {"404": "NOT_FOUND"}
        }))
        .unwrap();
        let v = env.render(404, "not_found", "Lead 1 not found", &[("path.id".into(), "bad".into())]);
        assert_eq!(
            v,
            json!({"success": false, "error": {"code": "NOT_FOUND", "message": "Lead 1 not found", "status": 404, "details": [{"field": "path.id", "message": "bad"}]}})
        );
    }

    #[test]
    fn route_limits_accept_a_number_or_an_object() {
        let p: RateLimitPolicy =
            serde_json::from_value(json!({"limit": 60, "routes": {"a": 5, "b": {"limit": 30, "window": 3600}}})).unwrap();
        assert_eq!(p.routes["a"].resolve(60), (5, 60));
        assert_eq!(p.routes["b"].resolve(60), (30, 3600));
    }
}
