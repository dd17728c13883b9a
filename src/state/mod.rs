//! The stateful sandbox: what a client creates can be read back, changed and deleted, per tenant.
//!
//! Sits in the pipeline after validation. Takes the spec, the operation, the tenant (the
//! credential) and the request's path parameters, query and body; hands back an [`Outcome`]: a
//! status and a [`StateAnswer`], plain data that respond puts into the response it builds as
//! usual (so envelopes, headers and status codes stay the spec's). `None` means "answer as a
//! stateless mock would".
//!
//! * Each tenant (distinct credential) starts from the fixture data set (the list and get
//!   fixtures of each resource) and sees only its own data.
//! * POST assigns an id in the style of the existing ids or the schema's example (integers
//!   count up; prefixed ids keep their prefix) unless the client names a natural key, fills the
//!   fields the client did not send from the item schema, and sets `createdAt`/`updatedAt`.
//!   PATCH merges (RFC 7396), PUT replaces, DELETE removes. Sent fields (JSON, form or multipart
//!   bodies) are stored only where they fit the item's fields.
//! * Items never created in a collection without fixtures exist as the mock answers them until
//!   deleted (`implicit`); a nested resource's parent must exist.
//! * Lists filter by query parameters that name scalar item fields (with values of their type,
//!   never `all`), search (`search`, `q`, `query`), sort (`sort=field` or `-field`), and page
//!   (`limit`/`offset`, `page`/`perPage`, or `starting_after`/`ending_before` cursors) with true
//!   totals and `has_more`.
//! * Operations declared in `x-standin.actions` run the action engine instead.
//!
//! Layout: [`infer`] finds the resources; `crud` and `lists` answer CRUD requests, `implicit`
//! what they assume of items never seen; `ids`
//! makes ids and keys; [`actions`] declares actions and `engine` carries them out, with
//! `scheduler` for their delayed changes; [`events`] logs what changed; [`store`] keeps the
//! data (in memory; see its doc for the locking), or [`redis`] in a Redis that replicas share
//! (`serve --store`).

pub mod actions;
mod crud;
mod engine;
pub mod events;
mod ids;
mod implicit;
pub mod infer;
mod lists;
pub mod redis;
mod scheduler;
pub mod store;

/// The one clock of the sandbox's timestamps (`createdAt`, event times), shared with the rest.
use crate::util::time::now_rfc3339;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use axum::http::StatusCode;
use serde_json::{Map, Value};

pub use crate::respond::StateAnswer;
pub use events::{EventSink, Events};
pub use store::{MAX_ITEMS, MAX_TENANTS};

use crate::reject::Rejection;
use crate::respond::generate::Plan;
use crate::spec::model::is_json_mime;
use crate::spec::{Operation, Spec};
use ids::{id_string, parent_of};
use infer::{Resource, Role};
use store::{Collections, Store};

/// The sandbox of one mounted spec.
#[derive(Debug)]
pub struct Sandbox {
    pub resources: Vec<Resource>,
    /// Operation index → (resource index, role).
    roles: HashMap<usize, (usize, Role)>,
    /// Generators of whole items, per resource, compiled on first create.
    plans: Vec<OnceLock<Plan>>,
    /// Every tenant's data (seeded from the fixtures).
    store: Box<dyn Store>,
    /// Per resource: whether fixtures seed it (then they list every item: an id not among them
    /// is a 404; without fixtures an item never seen exists as the mock answers it).
    seeded: Vec<bool>,
    /// Per resource: the resource of its parent path, for a nested one.
    parents: Vec<Option<usize>>,
    /// Per resource whose list items have their own schema: its validator and a generated
    /// template, compiled on the first list.
    list_fits: Vec<OnceLock<Option<implicit::ListFit>>>,
    /// Events emitted by state changes (actions), for the journal and webhooks.
    pub events: Arc<Events>,
    /// Subscriptions and deliveries.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
}

/// What the pipeline needs to build a stateful answer.
pub struct Outcome {
    /// The status to answer with, when not the operation's default.
    pub status: Option<u16>,
    /// Applied by respond to the response body chosen as usual.
    pub body: StateAnswer,
}

impl Sandbox {
    /// Infer the resources of `spec` and seed them from its fixtures (kept in memory).
    pub fn build(spec: &Spec) -> Sandbox {
        Sandbox::build_on(spec, None)
    }

    /// [`Sandbox::build`], the data kept in the shared store when one is given.
    pub fn build_on(spec: &Spec, shared: Option<&redis::Connection>) -> Sandbox {
        let resources = infer::infer(spec);
        let mut roles = HashMap::new();
        let mut seed = Collections::new();
        for (ri, r) in resources.iter().enumerate() {
            tracing::debug!(collection = %r.collection, id_param = %r.id_param, id_field = %r.id_field, roles = ?r.ops.iter().map(|(role, _)| *role).collect::<Vec<_>>(), "sandbox resource");
            for (role, op) in &r.ops {
                roles.insert(*op, (ri, *role));
            }
            let mut items: Vec<Value> = Vec::new();
            if let Some(list) = r.op(Role::List).and_then(|i| fixture(&spec.operations[i])) {
                let arr = match &r.list_key {
                    Some(k) => list.get(k).and_then(Value::as_array).cloned(),
                    None => list.as_array().cloned(),
                };
                items.extend(arr.unwrap_or_default());
            }
            if let Some(one) = r.op(Role::Get).and_then(|i| fixture(&spec.operations[i])) {
                let item = match &r.item_key {
                    Some(k) => one.get(k).cloned(),
                    None => Some(one.clone()),
                };
                items.extend(item);
            }
            for item in items {
                let Some(id) = item.get(&r.id_field).map(id_string) else { continue };
                let Some(parent) = parent_of(r, &item) else { continue };
                seed.entry((ri, parent)).or_default().entry(id).or_insert(item);
            }
        }
        let plans = resources.iter().map(|_| OnceLock::new()).collect();
        let mut webhooks = crate::webhooks::Webhooks::new(spec.ext.webhooks.clone().unwrap_or_default());
        if let Some(conn) = shared {
            webhooks = webhooks.with_shared(conn.subscriptions(spec));
        }
        let webhooks = Arc::new(webhooks);
        let events = Arc::new(Events::default());
        let sink = Arc::clone(&webhooks);
        // No delivery for a change the shared store failed to make (the request gets a 503).
        events.set_sink(Box::new(move |tenant, event, data| {
            if !store::faulted() {
                sink.emit(tenant, event, data)
            }
        }));
        let seeded = (0..resources.len()).map(|ri| seed.keys().any(|(i, _)| *i == ri)).collect();
        let store: Box<dyn Store> = match shared {
            Some(conn) => Box::new(conn.store(spec, seed, Arc::clone(&events), Arc::clone(&webhooks))),
            None => Box::new(store::MemoryStore::new(seed)),
        };
        let parents = implicit::parents(&resources);
        let list_fits = resources.iter().map(|_| OnceLock::new()).collect();
        Sandbox { resources, roles, plans, seeded, parents, list_fits, store, events, webhooks }
    }

    /// The role an operation plays, if it is part of a resource.
    pub fn role(&self, op: usize) -> Option<(usize, Role)> {
        self.roles.get(&op).copied()
    }

    /// How many tenants the store holds now.
    pub fn tenant_count(&self) -> usize {
        self.store.tenant_count()
    }

    /// Forget every tenant's changes (or one tenant's): they start from the fixtures again.
    /// Returns how many went; `Err` (503) when the shared store failed.
    pub fn reset(&self, tenant: Option<&str>) -> Result<usize, Rejection> {
        faultless(store::catch_faults_sync(|| self.store.reset(tenant)))
    }

    /// Every tenant's data for a state file: `{tenant: {"<collection>\u0000<parent>": {id: item}}}`
    /// (tenant keys in clear: the file is the user's own).
    /// `Err`: the shared store failed (a state file must not then be overwritten with less).
    pub fn export(&self) -> Result<Value, Rejection> {
        let tenants = self.tenants()?;
        let mut out = Map::new();
        for (key, collections) in tenants {
            let collections: Map<String, Value> = collections
                .into_iter()
                .map(|((ri, parent), items)| (format!("{}\u{0}{parent}", self.resources[ri].collection), Value::Object(items)))
                .collect();
            out.insert(key, Value::Object(collections));
        }
        Ok(Value::Object(out))
    }

    /// Load tenants saved by [`Sandbox::export`]. Collections the spec no longer has are skipped
    /// and counted in the result.
    pub fn import(&self, saved: &Value) -> Result<usize, String> {
        let tenants = saved.as_object().ok_or("the state must be an object of tenants")?;
        let mut skipped = 0;
        let mut loaded = Vec::new();
        for (key, collections) in tenants {
            let mut data = Collections::new();
            for (name, items) in collections.as_object().ok_or_else(|| format!("tenant {}: collections must be an object", mask(key)))? {
                let (path, parent) = name.split_once('\u{0}').unwrap_or((name.as_str(), ""));
                let (Some(ri), Some(items)) = (self.resources.iter().position(|r| r.collection == path), items.as_object()) else {
                    skipped += 1;
                    continue;
                };
                data.insert((ri, parent.to_string()), items.clone());
            }
            loaded.push((key.clone(), data));
        }
        self.store.import(loaded);
        Ok(skipped)
    }

    /// Every tenant's collections at one moment, or the 503 of a shared store that failed.
    fn tenants(&self) -> Result<Vec<(String, Collections)>, Rejection> {
        faultless(store::catch_faults_sync(|| self.store.export()))
    }

    /// Every tenant's items, by resource collection path (tenant keys masked: they are secrets).
    pub fn dump(&self) -> Result<Value, Rejection> {
        let tenants = self.tenants()?;
        let mut out = Map::new();
        for (key, collections) in tenants {
            let mut tenant = Map::new();
            for ((ri, parent), items) in collections {
                if parent.contains(implicit::DELETED) {
                    continue;
                }
                let name = if parent.is_empty() {
                    self.resources[ri].collection.clone()
                } else {
                    format!("{} [{}]", self.resources[ri].collection, parent.replace('\u{0}', ","))
                };
                tenant.insert(name, Value::Array(items.into_iter().map(|(_, v)| v).collect()));
            }
            out.insert(mask(&key), Value::Object(tenant));
        }
        Ok(Value::Object(out))
    }

    /// Carry out a CRUD request or a declared action. `Ok(None)` means "answer as a stateless
    /// mock would".
    pub async fn handle(
        &self,
        spec: &Spec,
        op_index: usize,
        tenant: &str,
        path_params: &[(String, String)],
        query: &[(String, String)],
        body: &[u8],
    ) -> Result<Option<Outcome>, Rejection> {
        let op = &spec.operations[op_index];
        let action = op.operation_id.as_ref().and_then(|id| spec.ext.actions.get(id));
        let role = self.role(op_index);
        if action.is_none() && role.is_none() {
            return Ok(None);
        }
        // A shared store that fails reports it in this request's scope (store::catch_faults):
        // the answer is then a 503, whatever the steps made of it.
        let (answer, fault) = store::catch_faults(async {
            match (action, role) {
                // Boxed: an action's steps make a large future, which a CRUD request should not carry.
                (Some(action), _) => Box::pin(self.run_action(spec, op, action, tenant, path_params, body)).await.map(Some),
                (None, Some((ri, role))) => {
                    self.crud(spec, crud::Request { op, ri, role, tenant_key: tenant, path_params, query, body }).await
                }
                (None, None) => Ok(None),
            }
        })
        .await;
        match fault {
            Some(detail) => Err(store_unavailable(detail)),
            None => answer,
        }
    }
}

/// What a store call returned, or the 503 of its failure.
fn faultless<T>((out, fault): (T, Option<String>)) -> Result<T, Rejection> {
    match fault {
        Some(detail) => Err(store_unavailable(detail)),
        None => Ok(out),
    }
}

/// 503 in the vendor's envelope: the shared store did not answer (the client may retry).
fn store_unavailable(detail: String) -> Rejection {
    tracing::debug!("{detail}");
    let mut r = Rejection::timeout(std::time::Duration::ZERO);
    r.code = "store_unavailable";
    r.title = "Service unavailable";
    r.detail = "The sandbox's shared store is unavailable; try again shortly.".into();
    r
}

fn fixture(op: &Operation) -> Option<&Value> {
    op.default_response()?.content.iter().find(|m| is_json_mime(&m.mime))?.fixture.as_deref()
}

/// Show a credential without revealing it: its first 4 characters.
pub fn mask(key: &str) -> String {
    if key.is_empty() {
        return "(anonymous)".into();
    }
    // The first characters say which kind of key it is (`ke_l…`); a short hash tells keys of one
    // kind apart without showing them (vendor keys share their prefix, so the prefix alone
    // would merge every tenant in the journal and the state dump).
    let shown = key.char_indices().nth(4).map_or(key, |(i, _)| &key[..i]);
    let tag = crate::util::hash::stable_hash(&[key.as_bytes()]);
    let mut out = String::with_capacity(shown.len() + 9);
    out.push_str(shown);
    out.push('…');
    crate::util::hash::push_hex(&mut out, &tag.to_be_bytes()[5..]);
    out
}

/// For a page of a list paged by `page`, the page that follows it (`None` on the last page);
/// `None` for any other answer.
pub fn next_page(outcome: &Outcome) -> Option<Option<u64>> {
    let StateAnswer::Page(p) = &outcome.body else { return None };
    let page = p.echo.iter().find(|(k, _)| k == "page")?.1.as_u64()?;
    Some(p.more.then_some(page + 1))
}

/// Point a `Link` header the spec declares (GitHub's, whose example names the vendor's host)
/// at this server: the same request with the next `page` as `rel="next"`, or no header on the
/// last page, so a paging client walks the store's pages and stops.
pub fn link_next(headers: &mut axum::http::HeaderMap, request: &axum::http::request::Parts, next: Option<u64>) {
    if !headers.contains_key(axum::http::header::LINK) {
        return;
    }
    headers.remove(axum::http::header::LINK);
    let (Some(next), Some(host)) = (next, request.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok())) else { return };
    let scheme = request.headers.get("x-forwarded-proto").and_then(|h| h.to_str().ok()).or(request.uri.scheme_str()).unwrap_or("http");
    let mut query: Vec<String> =
        request.uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty() && !p.starts_with("page=")).map(str::to_string).collect();
    query.push(format!("page={next}"));
    let link = format!("<{scheme}://{host}{}?{}>; rel=\"next\"", request.uri.path(), query.join("&"));
    if let Ok(v) = axum::http::HeaderValue::from_str(&link) {
        headers.insert(axum::http::header::LINK, v);
    }
}

/// Status for a stateful answer that is not the operation's default.
pub fn status_of(outcome: &Outcome) -> Option<StatusCode> {
    outcome.status.and_then(|s| StatusCode::from_u16(s).ok())
}
