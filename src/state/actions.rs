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

use serde::Deserialize;
use serde_json::{Map, Value};

/// One declared action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Collection path of the resource whose item the request path names.
    pub target: Option<String>,
    /// Fields to set on the target.
    #[serde(default)]
    pub set: Map<String, Value>,
    /// Values to push onto array fields of the target.
    #[serde(default)]
    pub append: Map<String, Value>,
    /// A new item in another collection.
    pub create: Option<Create>,
    /// A change that happens after a delay: one, or alternatives (the first whose `when`
    /// matches applies).
    #[serde(default, deserialize_with = "one_or_many")]
    pub later: Vec<Later>,
    /// An event emitted right away.
    pub emit: Option<String>,
    /// What to answer: `item`, `created`, or an object of fields put into the response body.
    pub respond: Option<Value>,
    /// Register a webhook subscription for the calling tenant; `created` is then
    /// `{id, url, events}`.
    pub subscribe: Option<Subscribe>,
}

/// Events a resource's CRUD changes emit (`x-standin.events`, by collection path):
///
/// ```yaml
/// x-standin:
///   events:
///     /crm/leads:
///       create: lead.created
///       update: [{ emit: lead.converted, when: { status: converted } }, lead.updated]
///     /projects/{id}/tasks:
///       update: { emit: task.completed, when: { status: done } }
/// ```
///
/// `when` compares top-level fields of the changed item; every matching entry is emitted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrudEvents {
    #[serde(default)]
    pub create: EventList,
    #[serde(default)]
    pub update: EventList,
    #[serde(default)]
    pub delete: EventList,
}

/// One event name, one conditional event, or a list of them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(from = "EventListRaw")]
pub struct EventList(pub Vec<EventRule>);

/// An event and the condition under which it fires.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRule {
    pub emit: String,
    #[serde(default)]
    pub when: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EventListRaw {
    Name(String),
    Rule(EventRule),
    List(Vec<EventOne>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum EventOne {
    Name(String),
    Rule(EventRule),
}

impl From<EventListRaw> for EventList {
    fn from(raw: EventListRaw) -> Self {
        let one = |e: EventOne| match e {
            EventOne::Name(emit) => EventRule { emit, when: Map::new() },
            EventOne::Rule(r) => r,
        };
        EventList(match raw {
            EventListRaw::Name(emit) => vec![EventRule { emit, when: Map::new() }],
            EventListRaw::Rule(r) => vec![r],
            EventListRaw::List(l) => l.into_iter().map(one).collect(),
        })
    }
}

impl EventList {
    /// The events that fire for `item`.
    pub fn matching<'e>(&'e self, item: &'e Value) -> impl Iterator<Item = &'e str> + 'e {
        self.0.iter().filter(move |r| r.when.iter().all(|(k, v)| item.get(k) == Some(v))).map(|r| r.emit.as_str())
    }
}

/// `subscribe:` of an action: templates for the subscription's fields.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscribe {
    pub url: Value,
    #[serde(default)]
    pub events: Value,
    #[serde(default)]
    pub secret: Value,
}

/// `create:` of an action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Create {
    /// The collection path (may use the request's path parameters: `/projects/{id}/tasks`).
    #[serde(rename = "in")]
    pub collection: String,
    #[serde(default)]
    pub set: Map<String, Value>,
}

/// `later:` of an action.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Later {
    /// Seconds to wait.
    pub after: f64,
    /// Conditions on the request (`body.payload.fail: true`): all must hold.
    #[serde(default)]
    pub when: Map<String, Value>,
    #[serde(default)]
    pub set: Map<String, Value>,
    pub emit: Option<String>,
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Later>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Later),
        Many(Vec<Later>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(l)) => vec![l],
        Some(OneOrMany::Many(l)) => l,
    })
}

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

/// Fill a template value.
pub fn render(template: &Value, ctx: &Context<'_>) -> Value {
    match template {
        Value::String(s) => {
            if let Some(expr) = s.strip_prefix("{{").and_then(|r| r.strip_suffix("}}")).filter(|e| !e.contains("{{")) {
                return ctx.lookup(expr).unwrap_or(Value::Null);
            }
            if !s.contains("{{") {
                return template.clone();
            }
            let mut out = String::new();
            let mut rest = s.as_str();
            while let Some(start) = rest.find("{{") {
                out.push_str(&rest[..start]);
                let Some(end) = rest[start..].find("}}") else {
                    out.push_str(&rest[start..]);
                    rest = "";
                    break;
                };
                let v = ctx.lookup(&rest[start + 2..start + end]).unwrap_or(Value::Null);
                match v {
                    Value::String(s) => out.push_str(&s),
                    Value::Null => {}
                    other => out.push_str(&other.to_string()),
                }
                rest = &rest[start + end + 2..];
            }
            out.push_str(rest);
            Value::String(out)
        }
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), render(v, ctx))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(|v| render(v, ctx)).collect()),
        other => other.clone(),
    }
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
