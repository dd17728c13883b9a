//! The sandbox's data in Redis: [`RedisStore`] (every tenant of one spec) and its per-request
//! tenant handles, each [`TenantStore`] method one script of [`super::lua`] (a create or an
//! update: a read and a conditional write, again while another replica got in first).
//!
//! Takes the [`Connection`] and the spec's namespace and seed (from [`Connection::store`]);
//! hands on the sandbox's [`Store`].

use std::sync::{Arc, LazyLock, OnceLock};

use redis::Value as RValue;
use serde_json::{Map, Value};

use super::{lua, queue, Connection, RETRIES};
use crate::state::store::{
    self, AssignFn, CollectionKey, Collections, GetFn, IdView, Items, ListFn, Step, Store, TenantStore, UpdateFn, MAX_ITEMS, MAX_TENANTS,
};
use crate::state::Events;
use crate::webhooks::Webhooks;

/// The scripts, compiled (hashed) once.
struct Scripts {
    list: redis::Script,
    get: redis::Script,
    view: redis::Script,
    create: redis::Script,
    update: redis::Script,
    delete: redis::Script,
    seq: redis::Script,
    load: redis::Script,
    reset: redis::Script,
    export: redis::Script,
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    list: lua::tenant_script(lua::LIST),
    get: lua::tenant_script(lua::GET),
    view: lua::viewing_script(lua::VIEW),
    create: lua::viewing_script(lua::CREATE),
    update: lua::tenant_script(lua::UPDATE),
    delete: lua::tenant_script(lua::DELETE),
    seq: lua::tenant_script(lua::SEQ),
    load: lua::script(lua::LOAD),
    reset: lua::script(lua::RESET),
    export: lua::script(lua::EXPORT),
});

/// The sandbox's data of one mounted spec, in Redis.
pub struct RedisStore {
    inner: Arc<Inner>,
}

impl RedisStore {
    /// The store of namespace `ns`, whose new tenants start from `seed`.
    pub(super) fn new(conn: Connection, ns: String, seed: &Collections, events: Arc<Events>, webhooks: Arc<Webhooks>) -> RedisStore {
        let mut seed_args = Vec::new();
        push_collections(&mut seed_args, seed);
        let inner = Inner {
            conn,
            tenants: format!("{ns}:tenants"),
            delayed: queue::key(&ns),
            ns,
            seed_args,
            events,
            webhooks,
            poller: OnceLock::new(),
            seqs: Default::default(),
            views: Default::default(),
        };
        let inner = Arc::new(inner);
        // The delay queue is polled from the start (it needs the runtime: outside one, the
        // first request starts it), so that a replica claims jobs before it serves anything.
        queue::start(&inner);
        RedisStore { inner }
    }
}

pub(super) struct Inner {
    pub(super) conn: Connection,
    /// The key namespace ([`super::namespace`]).
    ns: String,
    /// `{ns}:tenants`: tenant hashes by last use.
    tenants: String,
    /// `{ns}:delayed`: delayed changes by due time (epoch ms).
    pub(super) delayed: String,
    /// The seed as [`lua::LOAD`] arguments, made once.
    seed_args: Vec<Vec<u8>>,
    /// Where the delayed changes this replica claims emit their events.
    pub(super) events: Arc<Events>,
    /// Where the webhook retries this replica claims are sent from.
    pub(super) webhooks: Arc<Webhooks>,
    /// The delay-queue poller, started with the store (or, made outside a runtime, by the first
    /// request: it needs one).
    pub(super) poller: OnceLock<()>,
    /// Create counts this replica has reserved, per tenant hash: (last handed out, last reserved).
    seqs: std::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
    /// The last view this replica got of each collection, per (tenant hash, collection): a
    /// create proposes its id from it and costs one round trip ([`lua::CREATE`] checks the id
    /// and answers with the view afterwards).
    views: std::sync::Mutex<std::collections::HashMap<(String, String), View>>,
}

/// Create counts a replica reserves at once (see `next_seq` of the tenant handle).
const SEQ_BLOCK: u64 = 1024;

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("ns", &self.inner.ns).finish_non_exhaustive()
    }
}

/// A lock of this store's, whatever a panic elsewhere left in it (the figures stay usable).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A tenant's hash in key names (credentials stay out of them).
pub(super) fn tenant_hash(key: &str) -> String {
    let mut out = String::with_capacity(16);
    crate::util::hash::push_hex(&mut out, &crate::util::hash::stable_hash(&[b"tenant", key.as_bytes()]).to_be_bytes());
    out
}

fn now_secs() -> Vec<u8> {
    crate::util::time::unix_secs().to_string().into_bytes()
}

/// `{resource index}:{parent key}`: a collection in key names.
fn collection_name(key: &CollectionKey) -> String {
    format!("{}:{}", key.0, key.1)
}

/// Collections as [`lua::LOAD`] arguments: name, count, then id, JSON pairs.
fn push_collections(args: &mut Vec<Vec<u8>>, collections: &Collections) {
    for (key, items) in collections {
        args.push(collection_name(key).into_bytes());
        args.push(items.len().to_string().into_bytes());
        for (id, item) in items {
            args.push(id.clone().into_bytes());
            args.push(serde_json::to_vec(item).unwrap_or_default());
        }
    }
}

impl Inner {
    fn forget_views(&self) {
        lock(&self.views).clear();
    }

    pub(super) fn handle(self: &Arc<Self>, key: &str, seed: bool) -> RedisTenant {
        let tid = tenant_hash(key);
        RedisTenant { base: format!("{}:t:{tid}", self.ns), tid, key: key.to_string(), store: Arc::clone(self), seed }
    }

    /// Create tenant `t` from `args` (collections), `replace`-ing or only if absent (`seed`).
    async fn load(&self, t: &RedisTenant, mode: &str, seq: u64, data: &[Vec<u8>]) -> Option<()> {
        let mut args = vec![
            t.tid.clone().into_bytes(),
            now_secs(),
            mode.as_bytes().to_vec(),
            t.key.clone().into_bytes(),
            seq.to_string().into_bytes(),
            MAX_TENANTS.to_string().into_bytes(),
            self.ns.clone().into_bytes(),
        ];
        args.extend_from_slice(data);
        let evicted = int(&self.conn.eval(&SCRIPTS.load, &[&t.base, &self.tenants], args).await?);
        if evicted > 0 {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| tracing::warn!("more than {MAX_TENANTS} tenants (credentials); the ones used longest ago are forgotten and start from the fixtures again"));
        }
        Some(())
    }
}

impl Store for RedisStore {
    fn tenant(&self, key: &str) -> Arc<dyn TenantStore> {
        queue::start(&self.inner);
        Arc::new(self.inner.handle(key, true))
    }

    fn tenant_count(&self) -> usize {
        let mut zcard = redis::cmd("ZCARD");
        zcard.arg(&self.inner.tenants);
        self.inner.conn.blocking(self.inner.conn.query(zcard)).unwrap_or(0)
    }

    fn reset(&self, tenant: Option<&str>) -> usize {
        lock(&self.inner.seqs).clear();
        self.inner.forget_views();
        let args = vec![self.inner.ns.clone().into_bytes(), tenant.map(tenant_hash).unwrap_or_default().into_bytes()];
        self.inner.conn.blocking(self.inner.conn.eval(&SCRIPTS.reset, &[&self.inner.tenants], args)).map_or(0, |v| int(&v) as usize)
    }

    fn export(&self) -> Vec<(String, Collections)> {
        let mut zrange = redis::cmd("ZRANGE");
        zrange.arg(&self.inner.tenants).arg(0).arg(-1);
        let Some(tids) = self.inner.conn.blocking(self.inner.conn.query::<Vec<String>>(zrange)) else { return Vec::new() };
        let mut out = Vec::new();
        for tid in tids {
            let base = format!("{}:t:{tid}", self.inner.ns);
            let Some(RValue::Array(parts)) = self.inner.conn.blocking(self.inner.conn.eval(&SCRIPTS.export, &[&base], Vec::new())) else {
                continue;
            };
            let mut parts = parts.iter();
            let Some(key) = parts.next().and_then(text) else { continue };
            let mut collections = Collections::new();
            while let (Some(name), Some(ids), Some(all)) = (parts.next().and_then(text), parts.next(), parts.next()) {
                let Some((ri, parent)) = name.split_once(':') else { continue };
                let Ok(ri) = ri.parse() else { continue };
                collections.insert((ri, parent.to_string()), items_of(ids, all));
            }
            out.push((key, collections));
        }
        out
    }

    fn import(&self, tenants: Vec<(String, Collections)>) {
        self.inner.forget_views();
        for (key, collections) in tenants {
            let t = self.inner.handle(&key, false);
            let created = collections.values().map(|items| items.len() as u64).sum();
            let mut data = Vec::new();
            push_collections(&mut data, &collections);
            self.inner.conn.blocking(self.inner.load(&t, "replace", created, &data));
        }
    }
}

/// One tenant's handle: made per request, holds no data.
pub(super) struct RedisTenant {
    store: Arc<Inner>,
    /// The tenant's hash and base key (`{ns}:t:{hash}`).
    tid: String,
    base: String,
    /// The credential (kept in the tenant's hash, for exports).
    key: String,
    /// Whether a missing tenant starts from the seed (`false` for delayed changes: a tenant
    /// reset since then is not brought back for them).
    seed: bool,
}

impl RedisTenant {
    /// Run a per-tenant step on collection `c` (`""`: none) with `extra` arguments; seeds the
    /// tenant first when it does not exist. `None`: failed (reported), or no tenant and `seed`
    /// is off.
    async fn step(&self, script: &redis::Script, c: &str, extra: &[&[u8]]) -> Option<Vec<RValue>> {
        for _ in 0..2 {
            let mut args = vec![self.tid.clone().into_bytes(), now_secs(), c.as_bytes().to_vec()];
            args.extend(extra.iter().map(|a| a.to_vec()));
            let RValue::Array(out) = self.store.conn.eval(script, &[&self.base, &self.store.tenants], args).await? else { return None };
            if out.first().map(int) != Some(0) {
                return Some(out);
            }
            if !self.seed {
                return None;
            }
            self.store.load(self, "seed", 0, &self.store.seed_args).await?;
        }
        None
    }
}

impl TenantStore for RedisTenant {
    fn list<'a>(&'a self, key: &'a CollectionKey, f: ListFn<'a>) -> Step<'a, ()> {
        Step::boxed(async move {
            let items = match self.step(&SCRIPTS.list, &collection_name(key), &[]).await {
                Some(out) if out.len() == 3 => items_of(&out[1], &out[2]),
                _ => Items::new(),
            };
            f(&items);
        })
    }

    fn get<'a>(&'a self, key: &'a CollectionKey, id: &'a str, f: GetFn<'a>) -> Step<'a, ()> {
        Step::boxed(async move {
            let item = self.step(&SCRIPTS.get, &collection_name(key), &[id.as_bytes()]).await.and_then(|out| json_of(out.get(1)?));
            f(item.as_ref());
        })
    }

    fn create<'a>(&'a self, key: &'a CollectionKey, item: Value, assign_id: AssignFn<'a>) -> Step<'a, (Value, usize)> {
        Step::boxed(self.create_item(key, item, assign_id))
    }

    fn update<'a>(&'a self, key: &'a CollectionKey, id: &'a str, f: UpdateFn<'a>) -> Step<'a, Option<Value>> {
        Step::boxed(async move {
            let c = collection_name(key);
            for _ in 0..RETRIES {
                let out = self.step(&SCRIPTS.get, &c, &[id.as_bytes()]).await?;
                let old = out.get(1).and_then(bytes)?.to_vec();
                let mut item: Value = serde_json::from_slice(&old).ok()?;
                f(&mut item);
                let new = serde_json::to_vec(&item).unwrap_or_default();
                match self.step(&SCRIPTS.update, &c, &[id.as_bytes(), &old, &new]).await?.first().map(int) {
                    Some(1) => return Some(item),
                    Some(2) => continue,
                    _ => return None,
                }
            }
            store::report_fault(format!("the shared store: item {id} kept changing under {RETRIES} updates"));
            None
        })
    }

    fn delete<'a>(&'a self, key: &'a CollectionKey, id: &'a str) -> Step<'a, Option<Value>> {
        Step::boxed(async move {
            self.step(&SCRIPTS.delete, &collection_name(key), &[id.as_bytes()]).await.and_then(|out| json_of(out.get(1)?))
        })
    }

    /// Counts are reserved [`SEQ_BLOCK`] at a time per replica and tenant (one round trip per
    /// block, not per create): still never reused, though not in creation order across replicas.
    fn next_seq(&self) -> Step<'_, u64> {
        {
            let mut seqs = lock(&self.store.seqs);
            if let Some((next, end)) = seqs.get_mut(&self.tid) {
                if *next < *end {
                    *next += 1;
                    return Step::ready(*next);
                }
            }
        }
        Step::boxed(async move {
            let block = SEQ_BLOCK.to_string();
            let Some(last) = self.step(&SCRIPTS.seq, "", &[block.as_bytes()]).await.and_then(|out| out.get(1).map(int)) else { return 0 };
            let last = last.max(0) as u64;
            let first = last.saturating_sub(SEQ_BLOCK - 1);
            let mut seqs = lock(&self.store.seqs);
            if seqs.len() > 2 * MAX_TENANTS {
                seqs.clear();
            }
            seqs.insert(self.tid.clone(), (first, last));
            first
        })
    }

    fn defer<'a>(&'a self, job: &'a Value, due_ms: u64) -> Step<'a, bool> {
        Step::boxed(async move {
            queue::push(&self.store, job, due_ms).await;
            true
        })
    }
}

impl RedisTenant {
    /// A create (see [`TenantStore::create`] and the module doc of [`super`]): propose an id from
    /// this replica's last view of the collection, insert if it is free, else learn and retry.
    async fn create_item(&self, key: &CollectionKey, item: Value, assign_id: AssignFn<'_>) -> (Value, usize) {
        let c = collection_name(key);
        let slot = (self.tid.clone(), c.clone());
        let views = &self.store.views;
        // Ids the insert found taken. The allocator is told only of these (no round trip per
        // id it asks about): it proposes, the insert checks, and a refusal teaches it.
        let mut taken = std::collections::HashSet::new();
        let mut view = lock(views).get(&slot).cloned();
        for _ in 0..RETRIES {
            let v = match view.take() {
                Some(v) => v,
                None => match self.step(&SCRIPTS.view, &c, &[]).await {
                    Some(out) => View::of(&out, None),
                    None => break,
                },
            };
            let mut attempt = item.clone();
            let id = assign_id(&v.with(&taken), &mut attempt);
            if taken.contains(&id) {
                continue; // the same id again (integers count from the largest): read the view anew
            }
            // An id counted up from the largest: the next create here counts on from it
            // (creates in flight on this replica propose distinct ids).
            let counted = id.parse::<i64>().ok().filter(|n| *n == v.max_int_id() + 1);
            if let Some(n) = counted {
                if let Some(c) = lock(views).get_mut(&slot) {
                    c.reserved = c.reserved.max(n);
                }
            }
            let text = serde_json::to_vec(&attempt).unwrap_or_default();
            let (max, base) = (MAX_ITEMS.to_string(), v.max_int.to_string());
            let flag: &[u8] = if counted.is_some() { b"1" } else { b"" };
            let args = [id.as_bytes(), &text, max.as_bytes(), flag, base.as_bytes(), v.first_id.as_deref().unwrap_or("").as_bytes()];
            let Some(out) = self.step(&SCRIPTS.create, &c, &args).await else { break };
            let stored = out.first().map(int) == Some(1);
            let mut fresh = View::of(&out, Some(&v));
            if !stored && fresh.learned.len() < LEARNED && !fresh.learned.contains(&id) {
                fresh.learned = fresh.learned.iter().cloned().chain([id.clone()]).collect();
            }
            {
                let mut all = lock(views);
                if all.len() > 4 * MAX_TENANTS {
                    all.clear();
                }
                // Stored: ids proposed here meanwhile stay reserved. Refused: count from the
                // store's figure again (another replica, or a reset, moved it).
                if stored {
                    fresh.reserved = fresh.max_int.max(all.get(&slot).map_or(0, |c| c.reserved));
                }
                all.insert(slot.clone(), fresh.clone());
            }
            if stored {
                return (attempt, out.get(1).map_or(0, int) as usize);
            }
            taken.insert(id);
            view = Some(fresh);
        }
        if !store::faulted() {
            store::report_fault(format!("the shared store: could not find a free id in {c} after {RETRIES} tries"));
        }
        (item, 0)
    }
}

/// What the id allocator sees of a collection in Redis: figures the scripts keep beside the
/// items ([`lua::VIEW`]) and the first item.
#[derive(Clone)]
struct View {
    count: usize,
    /// The largest integer id ever stored, when the view was read.
    max_int: i64,
    /// The largest integer id this replica has proposed since (creates in flight count on from
    /// it, not all from `max_int`).
    reserved: i64,
    nondigit: i64,
    first: Option<Arc<Value>>,
    /// The first item's id: known to be taken (the schema's example id, which the allocator
    /// tries first, is often a fixture's, so this spares a refused insert).
    first_id: Option<String>,
    /// Ids creates on this replica found taken (at most [`LEARNED`]): the schema's example id,
    /// which the allocator proposes first, is refused once, not on every create.
    learned: Arc<[String]>,
}

/// How many taken ids a [`View`] remembers.
const LEARNED: usize = 16;

impl View {
    /// The view in a script's answer (`{tag, forgotten, count, maxint, nondigit, first id,
    /// first item}`); the first item is `known`'s when the script left it out (same id).
    fn of(out: &[RValue], known: Option<&View>) -> View {
        let max_int = out.get(3).and_then(text).and_then(|t| t.parse::<f64>().ok()).map_or(0, |f| f as i64);
        let first_id = out.get(5).and_then(text);
        let first = match out.get(6).and_then(json_of) {
            Some(item) => Some(Arc::new(item)),
            None => known.filter(|k| k.first_id.is_some() && k.first_id == first_id).and_then(|k| k.first.clone()),
        };
        View {
            count: out.get(2).map_or(0, int) as usize,
            max_int,
            reserved: max_int,
            nondigit: out.get(4).map_or(0, int),
            first,
            first_id,
            learned: known.map_or_else(|| Arc::from([]), |k| Arc::clone(&k.learned)),
        }
    }

    fn with<'a>(&'a self, taken: &'a std::collections::HashSet<String>) -> Seen<'a> {
        Seen { view: self, taken }
    }

    fn max_int_id(&self) -> i64 {
        self.max_int.max(self.reserved)
    }
}

/// A [`View`] and the ids found taken so far.
struct Seen<'a> {
    view: &'a View,
    taken: &'a std::collections::HashSet<String>,
}

impl IdView for Seen<'_> {
    fn count(&self) -> usize {
        self.view.count
    }

    fn first(&self) -> Option<&Value> {
        self.view.first.as_deref()
    }

    fn contains(&self, id: &str) -> bool {
        self.taken.contains(id) || self.view.first_id.as_deref() == Some(id) || self.view.learned.iter().any(|l| l == id)
    }

    fn max_int_id(&self) -> i64 {
        self.view.max_int_id()
    }

    fn all_digit_ids(&self) -> bool {
        self.view.nondigit <= 0
    }
}

fn int(v: &RValue) -> i64 {
    match v {
        RValue::Int(n) => *n,
        RValue::BulkString(b) => std::str::from_utf8(b).ok().and_then(|s| s.parse().ok()).unwrap_or(0),
        _ => 0,
    }
}

fn bytes(v: &RValue) -> Option<&[u8]> {
    match v {
        RValue::BulkString(b) => Some(b),
        _ => None,
    }
}

pub(super) fn text(v: &RValue) -> Option<String> {
    bytes(v).and_then(|b| String::from_utf8(b.to_vec()).ok())
}

pub(super) fn json_of(v: &RValue) -> Option<Value> {
    serde_json::from_slice(bytes(v)?).ok()
}

/// A collection from its ids in order and the `HGETALL` of its items.
fn items_of(ids: &RValue, all: &RValue) -> Items {
    let (RValue::Array(ids), RValue::Array(all)) = (ids, all) else { return Items::new() };
    let mut by_id = std::collections::HashMap::with_capacity(all.len() / 2);
    for pair in all.chunks(2) {
        if let [RValue::BulkString(id), RValue::BulkString(json)] = pair {
            by_id.insert(id.as_slice(), json.as_slice());
        }
    }
    let mut items = Map::new();
    for id in ids {
        let Some(id) = bytes(id) else { continue };
        if let (Some(json), Ok(id)) = (by_id.get(id), std::str::from_utf8(id)) {
            if let Ok(v) = serde_json::from_slice(json) {
                items.insert(id.to_string(), v);
            }
        }
    }
    items
}
