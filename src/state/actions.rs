//! Declared actions: operations that are not plain CRUD, described as data in
//! `x-standin.actions` (keyed by operationId), never coded per vendor.
//!
//! ```yaml
//! x-standin:
//!   actions:
//!     triggerWorkflow:                 # POST /workflows/{workflowId}/trigger
//!       target: /workflows             # the item the path names must exist (else the vendor's 404)
//!       create:                        # a new item in another collection
//!         in: /executions
//!         set: { workflowId: "{{path.workflowId}}", status: running, payload: "{{body.payload}}" }
//!       respond: { executionId: "{{created.id}}" }   # fields put into the response body
//!       later:                         # after a delay, change the created item (or the target);
//!         - after: 2                   # alternatives: the first whose `when` holds applies
//!           when: { body.payload.simulateFailure: true }
//!           set: { status: failed, error: Simulated failure }
//!           emit: execution.failed
//!         - after: 2                   # seconds
//!           set: { status: success, finishedAt: "{{now}}" }
//!           emit: execution.completed
//!     recordInvoicePayment:            # PATCH /finance/invoices/{id}/pay
//!       target: /finance/invoices
//!       set: { status: paid, paidAt: "{{now}}" }
//!       append: { payments: { amount: "{{body.amount}}", paidAt: "{{now}}" } }
//!       emit: invoice.paid
//!       respond: item                  # answer with the target item (`created` for the new one)
//!     createWebhook:                   # POST /webhooks: a subscription for the calling tenant
//!       subscribe: { url: "{{body.url}}", events: "{{body.events}}", secret: "{{body.secret}}" }
//!       respond: { webhookId: "{{created.id}}" }
//! ```
//!
//! Templates: a string that is exactly `{{expr}}` becomes the value (typed), and `{{expr}}`
//! inside a longer string is interpolated. `expr` is `now`, `seq` (a number unique within the
//! tenant, for ids of appended entries), `path.<param>`, `body.<a>.<b>`,
//! `item.<field>` (the target), `before.<field>` (the target before this action) or
//! `created.<field>`.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// The declared configuration, read with the spec (`spec::actions`); what runs it is below.
pub use crate::spec::actions::{Action, Create, CrudEvents, EventList, EventRule, Later, Subscribe};

/// Whether every `expr: value` condition holds in `ctx`.
pub fn conditions_hold(when: &Map<String, Value>, ctx: &Context<'_>) -> bool {
    when.iter().all(|(expr, v)| ctx.lookup(expr).as_ref() == Some(v))
}

/// What templates can read.
pub struct Context<'c> {
    pub now: &'c str,
    /// A number unique within the tenant (ids of appended entries: `{{seq}}`).
    pub seq: u64,
    pub path: &'c [(String, String)],
    pub body: &'c Value,
    pub item: Option<&'c Value>,
    /// The target as it was before this action changed it.
    pub before: Option<&'c Value>,
    pub created: Option<&'c Value>,
}

impl Context<'_> {
    fn lookup(&self, expr: &str) -> Option<Value> {
        let expr = expr.trim();
        if expr == "now" {
            return Some(Value::String(self.now.to_string()));
        }
        if expr == "seq" {
            return Some(Value::from(self.seq));
        }
        let (root, rest) = expr.split_once('.').unwrap_or((expr, ""));
        let base: Value = match root {
            "path" => return self.path.iter().find(|(k, _)| k == rest).map(|(_, v)| Value::String(v.clone())),
            "body" => self.body.clone(),
            "item" => self.item?.clone(),
            "before" => self.before?.clone(),
            "created" => self.created?.clone(),
            _ => return None,
        };
        if rest.is_empty() {
            return Some(base);
        }
        let pointer: String = rest.split('.').map(|t| format!("/{}", crate::spec::error::escape_token(t))).collect();
        base.pointer(&pointer).cloned()
    }
}

/// Fill a template value (`util::template::render`: typed whole values, interpolation).
pub fn render(template: &Value, ctx: &Context<'_>) -> Value {
    crate::util::template::render(template, &|expr| ctx.lookup(expr))
}

/// Apply `set` (rendered) to an object.
pub fn apply_set(target: &mut Value, set: &Map<String, Value>, ctx: &Context<'_>) {
    if let Some(obj) = target.as_object_mut() {
        for (k, v) in set {
            obj.insert(k.clone(), render(v, ctx));
        }
    }
}

/// Apply `append` (rendered) to an object's array fields.
pub fn apply_append(target: &mut Value, append: &Map<String, Value>, ctx: &Context<'_>) {
    if let Some(obj) = target.as_object_mut() {
        for (k, v) in append {
            let value = render(v, ctx);
            match obj.get_mut(k) {
                Some(Value::Array(items)) => items.push(value),
                _ => {
                    obj.insert(k.clone(), Value::Array(vec![value]));
                }
            }
        }
    }
}

/// Read `x-standin.actions`.
pub fn read(doc: &Value) -> Result<HashMap<String, Action>, String> {
    match doc.pointer("/x-standin/actions") {
        None => Ok(HashMap::new()),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| format!("invalid x-standin.actions: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_type_whole_values_and_interpolate_inside_strings() {
        let body = json!({"amount": 250, "payload": {"a": 1}});
        let ctx = Context {
            now: "2026-01-01T00:00:00Z",
            seq: 1,
            path: &[("id".into(), "7".into())],
            body: &body,
            item: None,
            before: None,
            created: None,
        };
        let t = json!({"amount": "{{body.amount}}", "payload": "{{body.payload}}", "note": "invoice {{path.id}} paid at {{now}}", "missing": "{{item.x}}"});
        assert_eq!(
            render(&t, &ctx),
            json!({"amount": 250, "payload": {"a": 1}, "note": "invoice 7 paid at 2026-01-01T00:00:00Z", "missing": null})
        );
    }
}
