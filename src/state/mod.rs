//! The stateful sandbox: what a client creates can be read back, changed and deleted, per tenant.
//!
//! Sits in the pipeline after validation: for an operation that plays a CRUD role of an
//! inferred [`Resource`](infer::Resource), the answer comes from the tenant's store instead of
//! a fixture or generated data (the usual response is still built, and the stored items are put
//! into it, so envelopes, headers and status codes stay the spec's).
//!
//! * Each tenant (distinct credential) starts from the fixture data set (the list and get
//!   fixtures of each resource) and sees only its own data.
//! * POST assigns an id in the style of the existing ids (integers count up; prefixed ids keep
//!   their prefix), fills the fields the client did not send from the item schema, and sets
//!   `createdAt`/`updatedAt`. PATCH merges (RFC 7396), PUT replaces, DELETE removes.
//! * Lists filter by query parameters that name item fields, search (`search`, `q`, `query`),
//!   sort (`sort=field` or `-field`), and page (`limit`/`offset` or `page`/`perPage`) with true
//!   totals.
//!
//! Locking: one mutex per tenant (requests of one tenant are serialized, so no update is lost);
//! the tenant table itself is behind a read-mostly lock taken only to find the tenant.

pub mod actions;
pub mod infer;

use crate::respond::StateBody;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::pipeline::reject::Rejection;
use crate::respond::fake::{self, Plan};
use crate::spec::model::{is_json_mime, ParamLocation};
use crate::spec::{Operation, Spec};
use infer::{Resource, Role};

/// Lock a mutex; a panic elsewhere while holding it does not make the data unusable here.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A tenant's data to read (lists, gets: many at once).
fn read(t: &TenantSlot) -> RwLockReadGuard<'_, TenantData> {
    t.data.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A tenant's data to change (one writer at a time).
fn write(t: &TenantSlot) -> RwLockWriteGuard<'_, TenantData> {
    t.data.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Names of list parameters that page, search and sort rather than filter.
const PAGE_PARAMS: [&str; 7] = ["limit", "offset", "page", "perPage", "per_page", "pageSize", "page_size"];
const SEARCH_PARAMS: [&str; 3] = ["search", "q", "query"];
const SORT_PARAMS: [&str; 3] = ["sort", "sortBy", "order_by"];

/// The sandbox of one mounted spec.
#[derive(Debug)]
pub struct Sandbox {
    pub resources: Vec<Resource>,
    /// Operation index → (resource index, role).
    roles: HashMap<usize, (usize, Role)>,
    /// Initial items per (resource, parent key), from the fixtures.
    seed: HashMap<(usize, String), Map<String, Value>>,
    /// Generators of whole items, per resource, compiled on first create.
    plans: Vec<OnceLock<Plan>>,
    /// Every tenant seen so far. Read on every stateful request without a lock (an atomic
    /// load); a new tenant, a reset or an import swaps in a new table under `table_writer`.
    /// Tenants are few and arrive rarely, so copying the table on a change is cheap.
    tenants: arc_swap::ArcSwap<HashMap<String, Tenant>>,
    /// Serializes changes of `tenants` (readers never take it).
    table_writer: Mutex<()>,
    /// Events emitted by state changes (actions), for the journal and webhooks.
    pub events: Arc<Events>,
    /// Subscriptions and deliveries.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
}

/// Where events go besides the log: `(tenant, event, data)` (the webhook deliverer).
pub type EventSink = Box<dyn Fn(&str, &str, &Value) + Send + Sync>;

/// Events emitted by the sandbox: kept (the last [`EVENT_LOG`]) and handed to a sink (webhooks).
#[derive(Default)]
pub struct Events {
    log: Mutex<std::collections::VecDeque<Value>>,
    sink: OnceLock<EventSink>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").finish_non_exhaustive()
    }
}

/// How many events `/__standin/events` keeps.
const EVENT_LOG: usize = 1_000;

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

/// Most tenants (credentials) kept at once. A client that sends a new credential with every
/// request (a fuzzer, a misconfigured test) would otherwise grow the store without end; past
/// this many, the tenant used longest ago is forgotten (it starts from the fixtures again).
pub const MAX_TENANTS: usize = 1_000;

/// Most items one tenant keeps in one collection. A load test that creates for an hour would
/// otherwise grow the store until the machine runs out of memory; past this many, the oldest
/// tenth of the collection is forgotten at once (so the cost of forgetting is spread over the
/// next thousand creates, not paid on each).
pub const MAX_ITEMS: usize = 10_000;

/// One tenant: its store (many readers, for lists and gets, or one writer at a time) and when it
/// was last used, to the second (written only when the second changes, so two threads serving
/// one tenant do not fight over the line).
struct TenantSlot {
    data: RwLock<TenantData>,
    last_used: std::sync::atomic::AtomicU64,
}

impl TenantSlot {
    fn new(data: TenantData) -> TenantSlot {
        TenantSlot { data: RwLock::new(data), last_used: std::sync::atomic::AtomicU64::new(now_secs()) }
    }

    fn touch(&self) {
        let now = now_secs();
        if self.last_used.load(std::sync::atomic::Ordering::Relaxed) != now {
            self.last_used.store(now, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for TenantSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantSlot").finish_non_exhaustive()
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

type Tenant = Arc<TenantSlot>;

/// One tenant's data: items by id, per (resource, parent key).
#[derive(Debug, Clone, Default)]
struct TenantData {
    collections: HashMap<(usize, String), Map<String, Value>>,
    /// Creates so far (varies the generated fields of each new item).
    created: u64,
}

/// What the pipeline needs to build a stateful answer.
pub struct Outcome {
    /// The status to answer with, when not the operation's default.
    pub status: Option<u16>,
    /// Applied to the response body chosen as usual.
    pub body: StateBody,
}

impl Sandbox {
    /// Infer the resources of `spec` and seed them from its fixtures.
    pub fn build(spec: &Spec) -> Sandbox {
        let resources = infer::infer(spec);
        let mut roles = HashMap::new();
        let mut seed: HashMap<(usize, String), Map<String, Value>> = HashMap::new();
        for (ri, r) in resources.iter().enumerate() {
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
        let webhooks = Arc::new(crate::webhooks::Webhooks::new(spec.ext.webhooks.clone().unwrap_or_default()));
        let events = Arc::new(Events::default());
        let sink = Arc::clone(&webhooks);
        events.set_sink(Box::new(move |tenant, event, data| sink.emit(tenant, event, data)));
        Sandbox { resources, roles, seed, plans, tenants: Default::default(), table_writer: Mutex::new(()), events, webhooks }
    }

    /// The role an operation plays, if it is part of a resource.
    pub fn role(&self, op: usize) -> Option<(usize, Role)> {
        self.roles.get(&op).copied()
    }

    fn tenant(&self, key: &str) -> Tenant {
        if let Some(t) = self.tenants.load().get(key) {
            t.touch();
            return Arc::clone(t);
        }
        self.change_tenants(|map| {
            if !map.contains_key(key) && map.len() >= MAX_TENANTS {
                let oldest = map.iter().min_by_key(|(_, t)| t.last_used.load(std::sync::atomic::Ordering::Relaxed)).map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    map.remove(&k);
                    static SAID: std::sync::Once = std::sync::Once::new();
                    SAID.call_once(|| tracing::warn!("more than {MAX_TENANTS} tenants (credentials); the ones used longest ago are forgotten and start from the fixtures again"));
                }
            }
            Arc::clone(map.entry(key.to_string()).or_insert_with(|| Arc::new(TenantSlot::new(TenantData { collections: self.seed.clone(), created: 0 }))))
        })
    }

    /// How many tenants the store holds now.
    pub fn tenant_count(&self) -> usize {
        self.tenants.load().len()
    }

    /// Change the tenant table: a copy, changed by `f`, swapped in (readers keep the old one).
    fn change_tenants<R>(&self, f: impl FnOnce(&mut HashMap<String, Tenant>) -> R) -> R {
        let _writer = lock(&self.table_writer);
        let mut map = HashMap::clone(&self.tenants.load());
        let out = f(&mut map);
        self.tenants.store(Arc::new(map));
        out
    }

    /// Forget every tenant's changes (or one tenant's): they start from the fixtures again.
    pub fn reset(&self, tenant: Option<&str>) -> usize {
        self.change_tenants(|map| match tenant {
            Some(t) => usize::from(map.remove(t).is_some()),
            None => {
                let n = map.len();
                map.clear();
                n
            }
        })
    }

    /// A consistent copy of every tenant's data (each tenant locked in turn).
    fn snapshot(&self) -> Vec<(String, TenantData)> {
        self.tenants.load().iter().map(|(k, d)| (k.clone(), read(d).clone())).collect()
    }

    /// Every tenant's data for a state file: `{tenant: {"<collection>\u0000<parent>": {id: item}}}`
    /// (tenant keys in clear: the file is the user's own).
    pub fn export(&self) -> Value {
        let mut out = Map::new();
        for (key, data) in self.snapshot() {
            let collections: Map<String, Value> = data
                .collections
                .iter()
                .map(|((ri, parent), items)| (format!("{}\u{0}{parent}", self.resources[*ri].collection), Value::Object(items.clone())))
                .collect();
            out.insert(key, Value::Object(collections));
        }
        Value::Object(out)
    }

    /// Load tenants saved by [`Sandbox::export`]. Collections the spec no longer has are skipped
    /// and counted in the result.
    pub fn import(&self, saved: &Value) -> Result<usize, String> {
        let tenants = saved.as_object().ok_or("the state must be an object of tenants")?;
        let mut skipped = 0;
        let mut loaded = Vec::new();
        for (key, collections) in tenants {
            let mut data = TenantData { collections: HashMap::new(), created: 0 };
            for (name, items) in collections.as_object().ok_or_else(|| format!("tenant {}: collections must be an object", mask(key)))? {
                let (path, parent) = name.split_once('\u{0}').unwrap_or((name.as_str(), ""));
                let (Some(ri), Some(items)) = (self.resources.iter().position(|r| r.collection == path), items.as_object()) else {
                    skipped += 1;
                    continue;
                };
                data.created += items.len() as u64;
                data.collections.insert((ri, parent.to_string()), items.clone());
            }
            loaded.push((key.clone(), Arc::new(TenantSlot::new(data))));
        }
        self.change_tenants(|map| map.extend(loaded));
        Ok(skipped)
    }

    /// Every tenant's items, by resource collection path (tenant keys masked: they are secrets).
    pub fn dump(&self) -> Value {
        let mut out = Map::new();
        for (key, data) in self.snapshot() {
            let mut tenant = Map::new();
            for ((ri, parent), items) in &data.collections {
                let name = if parent.is_empty() {
                    self.resources[*ri].collection.clone()
                } else {
                    format!("{} [{}]", self.resources[*ri].collection, parent.replace('\u{0}', ","))
                };
                tenant.insert(name, Value::Array(items.values().cloned().collect()));
            }
            out.insert(mask(&key), Value::Object(tenant));
        }
        Value::Object(out)
    }

    /// Carry out a CRUD request. `Ok(None)` means "answer as a stateless mock would".
    #[allow(clippy::too_many_arguments)]
    pub fn handle(
        &self,
        spec: &Spec,
        op_index: usize,
        tenant: &str,
        path_params: &[(String, String)],
        query: &[(String, String)],
        body: &[u8],
    ) -> Result<Option<Outcome>, Rejection> {
        let op = &spec.operations[op_index];
        if let Some(action) = op.operation_id.as_ref().and_then(|id| spec.ext.actions.get(id)) {
            return self.run_action(spec, op, action, tenant, path_params, body).map(Some);
        }
        let Some((ri, role)) = self.role(op_index) else { return Ok(None) };
        let r = &self.resources[ri];
        let param = |name: &str| path_params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let parent = r.parent_params.iter().map(|p| param(p).unwrap_or_default()).collect::<Vec<_>>().join("\u{0}");
        let key = (ri, parent);
        let tenant_key = tenant;
        let tenant = self.tenant(tenant_key);
        let not_found = |id: &str| Rejection::resource_not_found(&singular_title(&r.name), id);
        match role {
            Role::List => {
                let data = read(&tenant);
                let items: Vec<&Value> = data.collections.get(&key).map(|m| m.values().collect()).unwrap_or_default();
                let page_size = crate::spec::load::pointer(&spec.schemas.response, "/x-standin/pagination/pageSize")
                    .and_then(Value::as_u64)
                    .map(|n| n as usize);
                let (page, total, echo) = list(op, items, query, page_size);
                let list_key = r.list_key.clone();
                let total_pointer = crate::spec::load::pointer(&spec.schemas.response, "/x-standin/pagination/totalPointer")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                Ok(Some(Outcome {
                    status: None,
                    body: StateBody::Edit(Box::new(move |body: &mut Value| {
                        match list_key {
                            Some(k) => {
                                if let Some(obj) = body.as_object_mut() {
                                    obj.insert(k, Value::Array(page));
                                }
                            }
                            None => *body = Value::Array(page),
                        }
                        set_totals(body, total_pointer.as_deref(), total, &echo);
                    })),
                }))
            }
            Role::Get => {
                let data = read(&tenant);
                let id = param(&r.id_param).unwrap_or_default();
                let item = data.collections.get(&key).and_then(|m| m.get(&id)).ok_or_else(|| not_found(&id))?;
                if r.item_key.is_none() {
                    // The item is the whole body: written out where it is stored, not copied.
                    let mut text = Vec::with_capacity(512);
                    crate::respond::fake::write_value(&mut text, item, usize::MAX);
                    return Ok(Some(Outcome { status: None, body: StateBody::Stored(text.into()) }));
                }
                Ok(Some(wrap(r, item.clone(), None)))
            }
            Role::Create => {
                let sent = unwrap_body(r, body);
                let mut data = write(&tenant);
                let item = self.create_item(spec, &mut data, ri, &key.1, sent, tenant_key, &now_rfc3339());
                drop(data);
                self.emit_crud(spec, r, tenant_key, &item, |e| &e.create);
                let status = op.default_response().map(|resp| resp.status.concrete());
                Ok(Some(wrap(r, item, status)))
            }
            Role::Patch | Role::Put => {
                let id = param(&r.id_param).unwrap_or_default();
                let sent = unwrap_body(r, body);
                let now = now_rfc3339();
                let mut data = write(&tenant);
                let items = data.collections.entry(key).or_default();
                let item = items.get_mut(&id).ok_or_else(|| not_found(&id))?;
                if role == Role::Patch {
                    if let Some(obj) = item.as_object_mut() {
                        place_fields(obj, sent, &r.id_field, true);
                    }
                } else if let (Some(obj), Value::Object(sent)) = (item.as_object_mut(), sent) {
                    let keep: Vec<(String, Value)> =
                        ["createdAt", "created_at"].iter().filter_map(|k| obj.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
                    let id_value = obj.get(&r.id_field).cloned();
                    obj.clear();
                    obj.extend(sent);
                    obj.extend(keep);
                    if let Some(v) = id_value {
                        obj.insert(r.id_field.clone(), v);
                    }
                }
                if let Some(obj) = item.as_object_mut() {
                    stamp(obj, &now, false);
                }
                let item = item.clone();
                drop(data);
                self.emit_crud(spec, r, tenant_key, &item, |e| &e.update);
                Ok(Some(wrap(r, item, None)))
            }
            Role::Delete => {
                let id = param(&r.id_param).unwrap_or_default();
                let mut data = write(&tenant);
                let removed = data.collections.get_mut(&key).and_then(|m| m.shift_remove(&id)).ok_or_else(|| not_found(&id))?;
                drop(data);
                self.emit_crud(spec, r, tenant_key, &removed, |e| &e.delete);
                let id_field = r.id_field.clone();
                let id_value = removed.get(&id_field).cloned();
                Ok(Some(Outcome {
                    status: None,
                    body: StateBody::Edit(Box::new(move |body: &mut Value| {
                        if let (Some(obj), Some(v)) = (body.as_object_mut(), id_value) {
                            if obj.contains_key(&id_field) {
                                obj.insert(id_field, v);
                            }
                        }
                    })),
                }))
            }
        }
    }

    /// Emit the events `x-standin.events` declares for this kind of change of `r`.
    fn emit_crud(
        &self,
        spec: &Spec,
        r: &Resource,
        tenant: &str,
        item: &Value,
        which: impl Fn(&actions::CrudEvents) -> &actions::EventList,
    ) {
        if let Some(events) = spec.ext.events.get(&r.collection) {
            for e in which(events).matching(item) {
                self.events.emit(tenant, e, item);
            }
        }
    }

    /// Carry out a declared action (see [`actions`]).
    fn run_action(
        &self,
        spec: &Spec,
        op: &Operation,
        action: &actions::Action,
        tenant_key: &str,
        path_params: &[(String, String)],
        body: &[u8],
    ) -> Result<Outcome, Rejection> {
        let now = now_rfc3339();
        let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let find = |collection: &str| self.resources.iter().position(|r| r.collection == collection);
        let parent_key = |r: &Resource| {
            r.parent_params
                .iter()
                .map(|p| path_params.iter().find(|(k, _)| k == p).map(|(_, v)| v.clone()).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\u{0}")
        };
        let tenant = self.tenant(tenant_key);
        let mut data = write(&tenant);

        // --- Target: the item the path names; it must exist.
        let mut target: Option<(usize, String, String)> = None;
        if let Some(t) = &action.target {
            let ri = find(t).ok_or_else(|| Rejection::internal(format!("x-standin.actions.{}: no resource at {t}", op.label())))?;
            let r = &self.resources[ri];
            let id = path_params.iter().find(|(k, _)| *k == r.id_param).or(path_params.last()).map(|(_, v)| v.clone()).unwrap_or_default();
            let parent = parent_key(r);
            let exists = data.collections.get(&(ri, parent.clone())).is_some_and(|m| m.contains_key(&id));
            if !exists {
                return Err(Rejection::resource_not_found(&singular_title(&r.name), &id));
            }
            target = Some((ri, parent, id));
        }

        // --- Change the target.
        data.created += 1;
        let seq = data.created + 10_000;
        let mut target_item = None;
        let mut target_before = None;
        if let Some((ri, parent, id)) = &target {
            if let Some(item) = data.collections.get_mut(&(*ri, parent.clone())).and_then(|m| m.get_mut(id)) {
                let before = item.clone();
                let ctx = actions::Context {
                    now: &now,
                    seq,
                    path: path_params,
                    body: &body,
                    item: Some(&before),
                    before: Some(&before),
                    created: None,
                };
                actions::apply_set(item, &action.set, &ctx);
                actions::apply_append(item, &action.append, &ctx);
                if !action.set.is_empty() || !action.append.is_empty() {
                    if let Some(obj) = item.as_object_mut() {
                        stamp(obj, &now, false);
                    }
                }
                target_item = Some(item.clone());
                target_before = Some(before);
            }
        }

        // --- Subscribe: a webhook subscription of the calling tenant.
        let mut subscription = None;
        if let Some(sub) = &action.subscribe {
            let ctx = actions::Context {
                now: &now,
                seq,
                path: path_params,
                body: &body,
                item: target_item.as_ref(),
                before: target_before.as_ref(),
                created: None,
            };
            let url = actions::render(&sub.url, &ctx);
            let Some(url) = url.as_str().filter(|u| !u.is_empty()).map(str::to_string) else {
                return Err(Rejection::invalid_request(
                    StatusCode::BAD_REQUEST,
                    vec![crate::pipeline::reject::Problem {
                        location: "body".into(),
                        message: "the webhook url is missing".into(),
                        keyword: None,
                    }],
                ));
            };
            let events: Vec<String> = match actions::render(&sub.events, &ctx) {
                Value::Array(e) => e.iter().filter_map(Value::as_str).map(str::to_string).collect(),
                Value::String(e) => vec![e],
                _ => Vec::new(),
            };
            let secret = actions::render(&sub.secret, &ctx).as_str().map(str::to_string);
            let id = self.webhooks.subscribe_for(tenant_key, url.clone(), events.clone(), secret).map_err(|message| {
                let problem = crate::pipeline::reject::Problem { location: "body.url".into(), message, keyword: None };
                Rejection::invalid_request(StatusCode::BAD_REQUEST, vec![problem])
            })?;
            subscription = Some(serde_json::json!({"id": id, "url": url, "events": events}));
        }

        // --- Create in another collection.
        let mut created: Option<(usize, String, Value)> = None;
        if let Some(c) = &action.create {
            let ri = find(&c.collection)
                .ok_or_else(|| Rejection::internal(format!("x-standin.actions.{}: no resource at {}", op.label(), c.collection)))?;
            let parent = parent_key(&self.resources[ri]);
            let ctx = actions::Context {
                now: &now,
                seq,
                path: path_params,
                body: &body,
                item: target_item.as_ref(),
                before: target_before.as_ref(),
                created: None,
            };
            let sent = actions::render(&Value::Object(c.set.clone()), &ctx);
            let item = self.create_item(spec, &mut data, ri, &parent, sent, tenant_key, &now);
            created = Some((ri, parent, item));
        }
        drop(data);

        // --- Events now, and the change that comes later.
        let subject = created.as_ref().map(|(_, _, i)| i.clone()).or_else(|| target_item.clone()).unwrap_or(Value::Null);
        if let Some(e) = &action.emit {
            self.events.emit(tenant_key, e, &subject);
        }
        let chosen = {
            let ctx = actions::Context {
                now: &now,
                seq,
                path: path_params,
                body: &body,
                item: target_item.as_ref(),
                before: target_before.as_ref(),
                created: created.as_ref().map(|(_, _, i)| i),
            };
            action.later.iter().find(|l| actions::conditions_hold(&l.when, &ctx)).cloned()
        };
        if let Some(later) = chosen {
            let which = match (&created, &target) {
                (Some((ri, parent, item)), _) => {
                    Some((*ri, parent.clone(), item.get(&self.resources[*ri].id_field).map(id_string).unwrap_or_default()))
                }
                (None, Some(t)) => Some(t.clone()),
                (None, None) => None,
            };
            if let Some((ri, parent, id)) = which {
                let tenant = Arc::clone(&tenant);
                let events = Arc::clone(&self.events);
                let tenant_key = tenant_key.to_string();
                let path: Vec<(String, String)> = path_params.to_vec();
                let body = body.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs_f64(later.after.clamp(0.0, 86_400.0))).await;
                    let now = now_rfc3339();
                    let item = {
                        let mut data = write(&tenant);
                        let Some(item) = data.collections.get_mut(&(ri, parent)).and_then(|m| m.get_mut(&id)) else { return };
                        let before = item.clone();
                        let ctx = actions::Context {
                            now: &now,
                            seq,
                            path: &path,
                            body: &body,
                            item: Some(&before),
                            before: Some(&before),
                            created: Some(&before),
                        };
                        actions::apply_set(item, &later.set, &ctx);
                        if let Some(obj) = item.as_object_mut() {
                            stamp(obj, &now, false);
                        }
                        item.clone()
                    };
                    if let Some(e) = &later.emit {
                        events.emit(&tenant_key, e, &item);
                    }
                });
            }
        }

        // --- The answer.
        let status = op.default_response().map(|r| r.status.concrete());
        let target_r = target.as_ref().map(|(ri, _, _)| &self.resources[*ri]);
        let created_r = created.as_ref().map(|(ri, _, _)| &self.resources[*ri]);
        Ok(match &action.respond {
            Some(Value::String(s)) if s == "created" => match (created_r, &created) {
                (Some(r), Some((_, _, item))) => wrap(r, item.clone(), status),
                _ => no_change(),
            },
            Some(Value::String(s)) if s == "item" => match (target_r, target_item) {
                (Some(r), Some(item)) => wrap(r, item, status),
                _ => no_change(),
            },
            Some(template @ Value::Object(_)) => {
                let created_value = created.as_ref().map(|(_, _, i)| i).or(subscription.as_ref());
                let ctx = actions::Context {
                    now: &now,
                    seq,
                    path: path_params,
                    body: &body,
                    item: target_item.as_ref(),
                    before: target_before.as_ref(),
                    created: created_value,
                };
                let fields = actions::render(template, &ctx);
                Outcome {
                    status,
                    body: StateBody::Edit(Box::new(move |b: &mut Value| {
                        if let (Some(obj), Value::Object(fields)) = (b.as_object_mut(), fields) {
                            for (k, v) in fields {
                                obj.insert(k, v);
                            }
                        }
                    })),
                }
            }
            _ => match (target_r, target_item, created_r, created) {
                (Some(r), Some(item), _, _) => wrap(r, item, status),
                (_, _, Some(r), Some((_, _, item))) => wrap(r, item, status),
                _ => no_change(),
            },
        })
    }

    /// Create an item in resource `ri` under `parent`: generated fields, then the sent ones, a
    /// new id, timestamps. Returns the stored item.
    #[allow(clippy::too_many_arguments)]
    fn create_item(&self, spec: &Spec, data: &mut TenantData, ri: usize, parent: &str, sent: Value, tenant_key: &str, now: &str) -> Value {
        let r = &self.resources[ri];
        data.created += 1;
        let seq = data.created;
        let mut item = match self.item_plan(spec, ri) {
            // Static generation: schema defaults (and examples) fill what the client did not send.
            Some(plan) => plan.generate(fake::stable_hash(&[tenant_key.as_bytes(), &seq.to_le_bytes()]), false),
            None => Value::Object(Map::new()),
        };
        let existing = data.collections.entry((ri, parent.to_string())).or_default();
        let id = new_id(r, existing, &item, seq);
        if let Some(obj) = item.as_object_mut() {
            place_fields(obj, sent, &r.id_field, false);
            obj.insert(r.id_field.clone(), id.clone());
            stamp(obj, now, true);
        }
        existing.insert(id_string(&id), item.clone());
        if existing.len() > MAX_ITEMS {
            // Items keep their insertion order (serde_json's preserve_order): the first are the oldest.
            let forget = existing.len() - MAX_ITEMS + MAX_ITEMS / 10;
            let mut seen = 0;
            existing.retain(|_, _| {
                seen += 1;
                seen > forget
            });
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| tracing::warn!("the sandbox keeps at most {MAX_ITEMS} items per collection and tenant; the oldest {forget} of {} were forgotten (this is said once)", r.collection));
        }
        item
    }

    fn item_plan(&self, spec: &Spec, ri: usize) -> Option<&Plan> {
        let pointer = self.resources[ri].item_schema.as_deref()?;
        Some(self.plans[ri].get_or_init(|| Plan::compile(&spec.schemas.response, &spec.patterns, pointer)))
    }
}

fn fixture(op: &Operation) -> Option<&Value> {
    op.default_response()?.content.iter().find(|m| is_json_mime(&m.mime))?.fixture.as_deref()
}

/// The parent key of a seeded item of a nested resource (from a `projectId`-style field).
fn parent_of(r: &Resource, item: &Value) -> Option<String> {
    if r.parent_params.is_empty() {
        return Some(String::new());
    }
    let segments: Vec<&str> = r.collection.split('/').collect();
    let mut parts = Vec::new();
    for p in &r.parent_params {
        let pos = segments.iter().position(|s| *s == format!("{{{p}}}"))?;
        let parent_name = segments.get(pos.checked_sub(1)?)?;
        let singular = parent_name.strip_suffix('s').unwrap_or(parent_name);
        let value = [format!("{singular}Id"), format!("{singular}_id"), p.clone()].iter().find_map(|f| item.get(f).map(id_string))?;
        parts.push(value);
    }
    Some(parts.join("\u{0}"))
}

/// The id of an item as a map key.
fn id_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A new id in the style of the existing ones: integers count up, prefixed strings keep their
/// prefix, otherwise the generated item's own id.
fn new_id(r: &Resource, existing: &Map<String, Value>, generated: &Value, seq: u64) -> Value {
    // Items are keyed by their id as text (`id_string`): ids are read from the keys, never by a
    // hashed field lookup in every item (that made each create cost ~50 ns per stored item). The
    // first item's id stands for the style of the rest.
    let max_key = || existing.keys().filter_map(|k| k.parse::<i64>().ok()).max().unwrap_or(0);
    let random = fake::stable_hash(&[r.name.as_bytes(), &seq.to_le_bytes(), &(existing.len() as u64).to_le_bytes()]);
    match r.id_style.as_deref() {
        Some("integer") => return Value::from(max_key() + 1),
        Some("uuid") => {
            let h = format!("{random:016x}{:016x}", random.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15);
            return Value::String(format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32]));
        }
        Some(prefix) => {
            let mut id = format!("{prefix}{:010x}", random & 0xff_ffff_ffff);
            while existing.contains_key(&id) {
                id.push('0');
            }
            return Value::String(id);
        }
        None => {}
    }
    let first = existing.values().next().and_then(|i| i.get(&r.id_field));
    let generated_id = generated.get(&r.id_field);
    // Numeric strings ("11001") count up too, staying strings.
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if first.and_then(Value::as_str).is_some_and(digits) && existing.keys().all(|k| digits(k)) {
        let max = existing.keys().filter_map(|k| k.parse::<u64>().ok()).max().unwrap_or(0);
        return Value::String((max + 1).to_string());
    }
    if generated_id.is_some_and(|g| g.is_i64() || g.is_u64()) || first.is_some_and(|f| f.is_i64() || f.is_u64()) {
        return Value::from(max_key() + 1);
    }
    let mut candidate = generated_id.and_then(Value::as_str).map(str::to_string).unwrap_or_default();
    if candidate.is_empty() {
        // No schema for the id: keep the prefix the existing ids share (`deal_`).
        let prefix = first.and_then(Value::as_str).and_then(|s| s.find('_').map(|p| &s[..=p])).unwrap_or("").to_string();
        candidate = format!("{prefix}{:08x}", fake::stable_hash(&[r.name.as_bytes(), &seq.to_le_bytes()]) as u32);
    }
    if existing.contains_key(&candidate) {
        // The generated id is often the schema's example, the same for every item: number it by
        // the tenant's create count, which is never reused (not even after old items are
        // forgotten), instead of probing suffixes 1, 2, 3… (one probe per earlier create: a
        // sandbox slowed to ~1,000 creates a second after a few thousand).
        let base = std::mem::take(&mut candidate);
        candidate = format!("{base}{seq}");
        let mut n = 0;
        while existing.contains_key(&candidate) {
            n += 1;
            candidate = format!("{base}{seq}_{n}");
        }
    }
    Value::String(candidate)
}

/// The item part of a create/update body (`{"tag": {...}}` → the tag), as an object.
fn unwrap_body(r: &Resource, body: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Object(Map::new()));
    match (&r.body_key, &v) {
        (Some(k), Value::Object(m)) if m.get(k).is_some_and(Value::is_object) => m[k].clone(),
        _ => v,
    }
}

/// Answer with one item, inside the response body's wrapper when it has one.
fn wrap(r: &Resource, item: Value, status: Option<u16>) -> Outcome {
    let body = match r.item_key.clone() {
        Some(k) => StateBody::Edit(Box::new(move |body: &mut Value| match body.as_object_mut() {
            Some(obj) => {
                obj.insert(k, item);
            }
            None => *body = item,
        })),
        // The item is the whole body: nothing else is chosen or generated.
        None => StateBody::Replace(item),
    };
    Outcome { status, body }
}

/// An outcome that leaves the usual answer as it is.
fn no_change() -> Outcome {
    Outcome { status: None, body: StateBody::Keep }
}

/// Put the fields a client sent into an item: top-level where the item has them, else one
/// level down where a child object has them (JSON:API `attributes`), else top-level. With
/// `merge`, values merge (RFC 7396) instead of replacing. The id is never taken from a client.
fn place_fields(obj: &mut Map<String, Value>, sent: Value, id_field: &str, merge: bool) {
    let Value::Object(sent) = sent else { return };
    for (k, v) in sent {
        if k == id_field {
            continue;
        }
        let slot = if obj.contains_key(&k) {
            obj.get_mut(&k)
        } else {
            match obj.values_mut().find(|c| c.as_object().is_some_and(|c| c.contains_key(&k))) {
                Some(Value::Object(child)) => child.get_mut(&k),
                _ => None,
            }
        };
        match (slot, merge) {
            (Some(slot), true) if v.is_null() => *slot = Value::Null,
            (Some(slot), true) => merge_patch(slot, v),
            (Some(slot), false) => *slot = v,
            (None, _) if merge && v.is_null() => {}
            (None, _) => {
                obj.insert(k, v);
            }
        }
    }
}

/// RFC 7396 JSON merge patch: objects merge recursively, `null` deletes.
fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(p) => {
            if !target.is_object() {
                *target = Value::Object(Map::new());
            }
            if let Some(t) = target.as_object_mut() {
                for (k, v) in p {
                    if v.is_null() {
                        t.remove(&k);
                    } else {
                        merge_patch(t.entry(k).or_insert(Value::Null), v);
                    }
                }
            }
        }
        other => *target = other,
    }
}

/// Set the server-managed timestamps that the item has (or, on create, is generated with).
fn stamp(obj: &mut Map<String, Value>, now: &str, created: bool) {
    for field in ["updatedAt", "updated_at"] {
        if obj.get(field).is_some_and(Value::is_string) {
            obj.insert(field.into(), Value::String(now.to_string()));
        }
    }
    if created {
        for field in ["createdAt", "created_at"] {
            if obj.get(field).is_some_and(Value::is_string) {
                obj.insert(field.into(), Value::String(now.to_string()));
            }
        }
    }
}

/// Filter, search, sort and page a list (`page_size`: the vendor's fixed page size, for APIs
/// that page with `page` alone). Returns the page, the total before paging, and the
/// paging values to echo (`limit`, `offset`, `page`, `perPage`).
fn list(
    op: &Operation,
    mut items: Vec<&Value>,
    query: &[(String, String)],
    page_size: Option<usize>,
) -> (Vec<Value>, usize, Vec<(String, Value)>) {
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let declared = |name: &str| op.params.iter().find(|p| p.location == ParamLocation::Query && p.name == name);
    for p in op.params.iter().filter(|p| p.location == ParamLocation::Query) {
        let name = p.name.as_str();
        if PAGE_PARAMS.contains(&name) || SORT_PARAMS.contains(&name) || SEARCH_PARAMS.contains(&name) {
            continue;
        }
        let Some(wanted) = q(name) else { continue };
        let wanted: Vec<&str> = wanted.split(',').collect();
        // Only parameters that name a field of the items filter.
        if !items.iter().any(|i| i.get(name).is_some()) {
            continue;
        }
        items.retain(|i| i.get(name).is_some_and(|v| wanted.contains(&id_string(v).as_str())));
    }
    if let Some(term) = SEARCH_PARAMS.iter().find_map(|s| declared(s).and(q(s))).map(str::to_lowercase).filter(|t| !t.is_empty()) {
        items.retain(|i| i.as_object().is_some_and(|o| o.values().any(|v| v.as_str().is_some_and(|s| s.to_lowercase().contains(&term)))));
    }
    if let Some(sort) = SORT_PARAMS.iter().find_map(|s| declared(s).and(q(s))) {
        let (field, desc) = match sort.strip_prefix('-') {
            Some(f) => (f, true),
            None => (sort.trim_start_matches('+'), false),
        };
        items.sort_by(|a, b| {
            let o = compare(a.get(field), b.get(field));
            if desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    let total = items.len();
    let num = |name: &str| -> Option<usize> {
        q(name)
            .and_then(|v| v.parse().ok())
            .or_else(|| declared(name).and_then(|p| p.default.as_ref()).and_then(Value::as_u64).map(|n| n as usize))
    };
    let mut echo = Vec::new();
    let page_size_name = ["perPage", "per_page", "pageSize", "page_size"].into_iter().find(|n| declared(n).is_some());
    let (start, size) = if declared("page").is_some() {
        let page = num("page").unwrap_or(1).max(1);
        let size = page_size_name.and_then(num).or_else(|| num("limit")).or(page_size).unwrap_or(total.max(1)).max(1);
        echo.push(("page".to_string(), Value::from(page)));
        if let Some(n) = page_size_name {
            echo.push((n.to_string(), Value::from(size)));
        }
        ((page - 1).saturating_mul(size), size)
    } else {
        let offset = num("offset").unwrap_or(0);
        let limit = num("limit").unwrap_or(total);
        if declared("offset").is_some() {
            echo.push(("offset".to_string(), Value::from(offset)));
        }
        if declared("limit").is_some() {
            echo.push(("limit".to_string(), Value::from(limit)));
        }
        (offset, limit)
    };
    // Only the page is copied out of the store.
    let page = items.into_iter().skip(start).take(size).cloned().collect();
    (page, total, echo)
}

fn compare(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(std::cmp::Ordering::Equal),
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        _ => std::cmp::Ordering::Equal,
    }
}

/// Put the true total (and the paging values) where the list body keeps them: the
/// `x-standin.pagination.totalPointer`, else a top-level `total` or `meta.total`.
fn set_totals(body: &mut Value, total_pointer: Option<&str>, total: usize, echo: &[(String, Value)]) {
    let pointer = total_pointer.map(str::to_string).or_else(|| {
        if body.get("total").is_some() {
            Some("/total".into())
        } else if body.pointer("/meta/total").is_some() {
            Some("/meta/total".into())
        } else {
            None
        }
    });
    let Some(pointer) = pointer else { return };
    let parent = pointer.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
    if let Some(slot) = body.pointer_mut(&pointer) {
        *slot = Value::from(total);
    }
    if let Some(Value::Object(holder)) = body.pointer_mut(&parent) {
        for (k, v) in echo {
            if holder.contains_key(k) {
                holder.insert(k.clone(), v.clone());
            }
        }
    }
}

fn singular_title(name: &str) -> String {
    let s = name
        .strip_suffix("ies")
        .map(|b| format!("{b}y"))
        .or_else(|| name.strip_suffix('s').map(str::to_string))
        .unwrap_or_else(|| name.to_string());
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
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
    let tag = fake::stable_hash(&[key.as_bytes()]);
    let mut out = String::with_capacity(shown.len() + 9);
    out.push_str(shown);
    out.push('…');
    fake::push_hex(&mut out, &tag.to_be_bytes()[5..]);
    out
}

fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    fake::format_rfc3339(secs)
}

/// Status for a stateful answer that is not the operation's default.
pub fn status_of(outcome: &Outcome) -> Option<StatusCode> {
    outcome.status.and_then(|s| StatusCode::from_u16(s).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_merges_objects_and_deletes_nulls() {
        let mut t = json!({"a": 1, "b": {"c": 2, "d": 3}});
        merge_patch(&mut t, json!({"a": 5, "b": {"d": null, "e": 4}}));
        assert_eq!(t, json!({"a": 5, "b": {"c": 2, "e": 4}}));
    }

    fn resource(style: Option<&str>) -> Resource {
        Resource {
            name: "deals".into(),
            collection: "/deals".into(),
            id_param: "id".into(),
            parent_params: vec![],
            ops: vec![],
            list_key: None,
            item_key: None,
            id_field: "id".into(),
            item_schema: None,
            body_key: None,
            id_style: style.map(str::to_string),
        }
    }

    #[test]
    fn new_ids_follow_the_declared_or_existing_style() {
        let mut existing = Map::new();
        existing.insert("deal_abc".into(), json!({"id": "deal_abc"}));
        let id = new_id(&resource(None), &existing, &json!({}), 1);
        assert!(id.as_str().unwrap().starts_with("deal_"), "{id}");
        let mut strs = Map::new();
        strs.insert("11001".into(), json!({"id": "11001"}));
        assert_eq!(new_id(&resource(None), &strs, &json!({}), 1), json!("11002"));
        let mut ints = Map::new();
        ints.insert("7".into(), json!({"id": 7}));
        assert_eq!(new_id(&resource(None), &ints, &json!({}), 1), json!(8));
        assert_eq!(new_id(&resource(Some("integer")), &ints, &json!({}), 1), json!(8));
        let uuid = new_id(&resource(Some("uuid")), &existing, &json!({}), 1);
        assert_eq!(uuid.as_str().unwrap().len(), 36);
        assert!(new_id(&resource(Some("ord_")), &existing, &json!({}), 1).as_str().unwrap().starts_with("ord_"));
    }

    #[test]
    fn singular_titles_read_naturally() {
        assert_eq!(singular_title("leads"), "Lead");
        assert_eq!(singular_title("activities"), "Activity");
    }
}
