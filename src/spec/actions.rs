//! The behaviour `x-standin` declares beyond CRUD, as read from the spec: actions, CRUD events
//! and webhook delivery settings.
//!
//! Deserialized with the rest of [`super::ext::Extension`]; hands on plain configuration. What
//! runs it lives in `state::actions` (actions, events) and `webhooks` (delivery); both re-export
//! these types under their old paths.

use serde::Deserialize;
use serde_json::{json, Map, Value};

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

/// `x-standin.webhooks`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookConfig {
    #[serde(default = "default_signature_header")]
    pub signature_header: String,
    /// The body sent: `{{id}}`, `{{event}}`, `{{now}}`, `{{data}}` are substituted.
    #[serde(default = "default_payload")]
    pub payload: Value,
    /// Retries after the first attempt.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// First retry delay in milliseconds; doubles each time.
    #[serde(default = "default_backoff")]
    pub backoff_ms: u64,
}

fn default_signature_header() -> String {
    "X-Standin-Signature".into()
}
fn default_payload() -> Value {
    json!({"id": "{{id}}", "event": "{{event}}", "createdAt": "{{now}}", "data": "{{data}}"})
}
fn default_retries() -> u32 {
    4
}
fn default_backoff() -> u64 {
    500
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            signature_header: default_signature_header(),
            payload: default_payload(),
            retries: default_retries(),
            backoff_ms: default_backoff(),
        }
    }
}
