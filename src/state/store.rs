//! Where the sandbox keeps its data: the [`Store`] and [`TenantStore`] traits, the fixed-window
//! [`WindowCounter`] the rate limiter counts through, and their in-memory implementations.
//!
//! Takes items as JSON values keyed by id (as text), per tenant and [`CollectionKey`]; hands
//! back copies of what it stores, or lends a collection to a closure so a list or a get reads the
//! items where they are. The caps live here: at most [`MAX_TENANTS`] tenants (the one used
//! longest ago is forgotten) and [`MAX_ITEMS`] items per collection (the oldest tenth goes).
//!
//! The traits are synchronous and object-safe on purpose: the sandbox runs inside request
//! handlers that hold no `.await` across a store call, and the in-memory store (the default)
//! pays nothing for an async interface it does not need. The networked store
//! ([`super::redis`]) implements them by blocking on its async client inside
//! `tokio::task::block_in_place`, each step one atomic script. Two consequences shape the
//! traits: closures handed to [`TenantStore::create`] and [`TenantStore::update`] may run again
//! (a networked store retries when another replica changed the collection in between), and a
//! networked store can fail: it then reports the failure with [`report_fault`] and returns an
//! empty answer; [`catch_faults`] around one request (the sandbox runs a request synchronously
//! on one thread) turns that into a 503. The in-memory methods never fail, so they keep their
//! infallible signatures.
//!
//! Locking of the in-memory store: the tenant table is an `ArcSwap` (a request finds its tenant
//! with one atomic load; a new tenant, a reset or an import copies the table and swaps it in),
//! and each tenant's data is behind an `RwLock` (lists and gets of one tenant read at once;
//! changes of one tenant run one at a time).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use serde_json::{Map, Value};

/// One collection of a tenant: the resource's index and its parent key (the parent path
/// parameters joined by NUL; empty for a top-level resource).
pub type CollectionKey = (usize, String);

/// The items of one collection by id (as text), oldest first.
pub type Items = Map<String, Value>;

/// A tenant's collections: the seed every tenant starts from, an export, an import.
pub type Collections = HashMap<CollectionKey, Items>;

/// Most tenants (credentials) kept at once. A client that sends a new credential with every
/// request (a fuzzer, a misconfigured test) would otherwise grow the store without end; past
/// this many, the tenant used longest ago is forgotten (it starts from the fixtures again).
pub const MAX_TENANTS: usize = 1_000;

/// Most items one tenant keeps in one collection. A load test that creates for an hour would
/// otherwise grow the store until the machine runs out of memory; past this many, the oldest
/// tenth of the collection is forgotten at once (so the cost of forgetting is spread over the
/// next thousand creates, not paid on each).
pub const MAX_ITEMS: usize = 10_000;

/// Every tenant's data.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The tenant `key` (a credential; empty for anonymous requests). A tenant seen for the first
    /// time (or again after a reset or eviction) starts from the seed.
    fn tenant(&self, key: &str) -> Arc<dyn TenantStore>;
    /// How many tenants the store holds now.
    fn tenant_count(&self) -> usize;
    /// Whether a call may wait on the network (then requests run their sandbox step on a
    /// blocking thread, see `pipeline::handle`).
    fn networked(&self) -> bool {
        false
    }
    /// Forget every tenant (or one): they start from the seed again. Returns how many went.
    fn reset(&self, tenant: Option<&str>) -> usize;
    /// A consistent copy of each tenant's collections (each tenant read at one moment).
    fn export(&self) -> Vec<(String, Collections)>;
    /// Replace these tenants by saved data (their create counts start at their item counts).
    fn import(&self, tenants: Vec<(String, Collections)>);
}

/// One tenant's data. Each method is atomic: changes of one tenant never interleave.
pub trait TenantStore: Send + Sync {
    /// Lend collection `key` (empty when it has no items) to `f`.
    fn list(&self, key: &CollectionKey, f: &mut dyn FnMut(&Items));
    /// Lend item `id` of collection `key` (`None` when there is none) to `f`.
    fn get(&self, key: &CollectionKey, id: &str, f: &mut dyn FnMut(Option<&Value>)) {
        self.list(key, &mut |items| f(items.get(id)));
    }
    /// Store a new item: `assign_id` sees the collection's ids and gives `item` its id, returning
    /// the id as text (the item's key). Returns the stored item and how many of the oldest items
    /// were forgotten to stay within [`MAX_ITEMS`]. `assign_id` may be called again, on a fresh
    /// copy of `item`, when another replica took the id first.
    fn create(&self, key: &CollectionKey, item: Value, assign_id: &mut dyn FnMut(&dyn IdView, &mut Value) -> String) -> (Value, usize);
    /// Change item `id` with `f`; returns the changed item, or `None` when there is no such item.
    /// `f` may be called again, on the item as it is then, when another replica changed it first.
    fn update(&self, key: &CollectionKey, id: &str, f: &mut dyn FnMut(&mut Value)) -> Option<Value>;
    /// Remove item `id`; returns it, or `None` when there is no such item.
    fn delete(&self, key: &CollectionKey, id: &str) -> Option<Value>;
    /// Count one more create (or action): the tenant's count so far, never reused (not even after
    /// items are forgotten). It varies the generated fields and ids of new items.
    fn next_seq(&self) -> u64;
    /// Hand a delayed change (`job`, due at epoch millisecond `due_ms`) to the store's own delay
    /// queue, so that one replica of many carries it out. `false` (the in-memory store): the
    /// caller runs it itself.
    fn defer(&self, _job: &Value, _due_ms: u64) -> bool {
        false
    }
}

/// What an id allocator sees of a collection: enough to continue its ids in their style
/// without reading every item (a networked store keeps these figures beside the items).
pub trait IdView {
    /// How many items the collection holds.
    fn count(&self) -> usize;
    /// The oldest item (its id stands for the style of the rest).
    fn first(&self) -> Option<&Value>;
    /// Whether an item has this id.
    fn contains(&self, id: &str) -> bool;
    /// The largest id that reads as an integer (0 when none does).
    fn max_int_id(&self) -> i64;
    /// Whether every id is a string of ASCII digits.
    fn all_digit_ids(&self) -> bool;
}

impl IdView for Items {
    fn count(&self) -> usize {
        self.len()
    }

    fn first(&self) -> Option<&Value> {
        self.values().next()
    }

    fn contains(&self, id: &str) -> bool {
        self.contains_key(id)
    }

    fn max_int_id(&self) -> i64 {
        self.keys().filter_map(|k| k.parse::<i64>().ok()).max().unwrap_or(0)
    }

    fn all_digit_ids(&self) -> bool {
        self.keys().all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
    }
}

thread_local! {
    /// The first failure of a networked store during the request this thread is running.
    static FAULT: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
    /// How many [`catch_faults`] this thread is inside (a failure outside any is not kept: no
    /// later call on the thread may see it).
    static SCOPES: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Say that a store call failed (the store answered as if the data were empty).
pub fn report_fault(message: String) {
    if SCOPES.with(std::cell::Cell::get) == 0 {
        return;
    }
    FAULT.with(|f| {
        f.borrow_mut().get_or_insert(message);
    });
}

/// Whether a store call on this thread has failed since [`catch_faults`] began.
pub fn faulted() -> bool {
    FAULT.with(|f| f.borrow().is_some())
}

/// Run `f` (one request's store calls) and return what it returned and the first store failure
/// during it.
pub fn catch_faults<R>(f: impl FnOnce() -> R) -> (R, Option<String>) {
    /// Leaves the scope however `f` ends (a panic unwinds through it too).
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            SCOPES.with(|s| s.set(s.get().saturating_sub(1)));
        }
    }
    let outer = FAULT.with(|f| f.borrow_mut().take());
    SCOPES.with(|s| s.set(s.get() + 1));
    let scope = Scope;
    let out = f();
    drop(scope);
    let fault = FAULT.with(|f| std::mem::replace(&mut *f.borrow_mut(), outer));
    (out, fault)
}

/// Fixed-window request counters (the rate limiter's store).
pub trait WindowCounter: Send + Sync + std::fmt::Debug {
    /// Count one request for `key` in the window of `window` seconds that starts at epoch second
    /// `window_start`, and return how many the window has counted, this one included.
    fn increment(&self, key: &str, window_start: u64, window: u64) -> u64;
}

/// The in-memory store: what a tenant changes lives until the process ends (or is exported).
#[derive(Debug)]
pub struct MemoryStore {
    /// What a new tenant starts from.
    seed: Collections,
    /// Every tenant seen so far. Read on every stateful request without a lock (an atomic
    /// load); a new tenant, a reset or an import swaps in a new table under `table_writer`.
    /// Tenants are few and arrive rarely, so copying the table on a change is cheap.
    tenants: arc_swap::ArcSwap<HashMap<String, Arc<MemoryTenant>>>,
    /// Serializes changes of `tenants` (readers never take it).
    table_writer: Mutex<()>,
}

impl MemoryStore {
    /// An empty store whose tenants start from `seed`.
    pub fn new(seed: Collections) -> MemoryStore {
        MemoryStore { seed, tenants: Default::default(), table_writer: Mutex::new(()) }
    }

    /// Change the tenant table: a copy, changed by `f`, swapped in (readers keep the old one).
    fn change_tenants<R>(&self, f: impl FnOnce(&mut HashMap<String, Arc<MemoryTenant>>) -> R) -> R {
        let _writer = self.table_writer.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut map = HashMap::clone(&self.tenants.load());
        let out = f(&mut map);
        self.tenants.store(Arc::new(map));
        out
    }
}

impl Store for MemoryStore {
    fn tenant(&self, key: &str) -> Arc<dyn TenantStore> {
        if let Some(t) = self.tenants.load().get(key) {
            t.touch();
            return Arc::clone(t) as Arc<dyn TenantStore>;
        }
        self.change_tenants(|map| {
            if !map.contains_key(key) && map.len() >= MAX_TENANTS {
                let oldest = map.iter().min_by_key(|(_, t)| t.last_used.load(Ordering::Relaxed)).map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    map.remove(&k);
                    static SAID: std::sync::Once = std::sync::Once::new();
                    SAID.call_once(|| tracing::warn!("more than {MAX_TENANTS} tenants (credentials); the ones used longest ago are forgotten and start from the fixtures again"));
                }
            }
            let t = map.entry(key.to_string()).or_insert_with(|| Arc::new(MemoryTenant::new(self.seed.clone(), 0)));
            Arc::clone(t) as Arc<dyn TenantStore>
        })
    }

    fn tenant_count(&self) -> usize {
        self.tenants.load().len()
    }

    fn reset(&self, tenant: Option<&str>) -> usize {
        self.change_tenants(|map| match tenant {
            Some(t) => usize::from(map.remove(t).is_some()),
            None => {
                let n = map.len();
                map.clear();
                n
            }
        })
    }

    fn export(&self) -> Vec<(String, Collections)> {
        self.tenants.load().iter().map(|(k, t)| (k.clone(), t.read().clone())).collect()
    }

    fn import(&self, tenants: Vec<(String, Collections)>) {
        let loaded: Vec<(String, Arc<MemoryTenant>)> = tenants
            .into_iter()
            .map(|(key, collections)| {
                let created = collections.values().map(|items| items.len() as u64).sum();
                (key, Arc::new(MemoryTenant::new(collections, created)))
            })
            .collect();
        self.change_tenants(|map| map.extend(loaded));
    }
}

/// One tenant in memory: its collections (many readers, for lists and gets, or one writer at a
/// time), its create count, and when it was last used, to the second (written only when the
/// second changes, so two threads serving one tenant do not fight over the line).
struct MemoryTenant {
    data: RwLock<Collections>,
    created: AtomicU64,
    last_used: AtomicU64,
}

impl MemoryTenant {
    fn new(data: Collections, created: u64) -> MemoryTenant {
        MemoryTenant { data: RwLock::new(data), created: AtomicU64::new(created), last_used: AtomicU64::new(now_secs()) }
    }

    fn touch(&self) {
        let now = now_secs();
        if self.last_used.load(Ordering::Relaxed) != now {
            self.last_used.store(now, Ordering::Relaxed);
        }
    }

    /// The data to read (a panic elsewhere while holding the lock does not make it unusable).
    fn read(&self) -> RwLockReadGuard<'_, Collections> {
        self.data.read().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The data to change (one writer at a time).
    fn write(&self) -> RwLockWriteGuard<'_, Collections> {
        self.data.write().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for MemoryTenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTenant").finish_non_exhaustive()
    }
}

impl TenantStore for MemoryTenant {
    fn list(&self, key: &CollectionKey, f: &mut dyn FnMut(&Items)) {
        match self.read().get(key) {
            Some(items) => f(items),
            None => f(&Map::new()),
        }
    }

    fn get(&self, key: &CollectionKey, id: &str, f: &mut dyn FnMut(Option<&Value>)) {
        f(self.read().get(key).and_then(|items| items.get(id)));
    }

    fn create(&self, key: &CollectionKey, mut item: Value, assign_id: &mut dyn FnMut(&dyn IdView, &mut Value) -> String) -> (Value, usize) {
        let mut data = self.write();
        let existing = data.entry(key.clone()).or_default();
        let id = assign_id(&*existing, &mut item);
        existing.insert(id, item.clone());
        let mut forgotten = 0;
        if existing.len() > MAX_ITEMS {
            // Items keep their insertion order (serde_json's preserve_order): the first are the oldest.
            forgotten = existing.len() - MAX_ITEMS + MAX_ITEMS / 10;
            let mut seen = 0;
            existing.retain(|_, _| {
                seen += 1;
                seen > forgotten
            });
        }
        (item, forgotten)
    }

    fn update(&self, key: &CollectionKey, id: &str, f: &mut dyn FnMut(&mut Value)) -> Option<Value> {
        let mut data = self.write();
        // The collection is made even when the item is missing (it then shows, empty, in a dump).
        let item = data.entry(key.clone()).or_default().get_mut(id)?;
        f(item);
        Some(item.clone())
    }

    fn delete(&self, key: &CollectionKey, id: &str) -> Option<Value> {
        self.write().get_mut(key)?.shift_remove(id)
    }

    fn next_seq(&self) -> u64 {
        self.created.fetch_add(1, Ordering::Relaxed) + 1
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// How many shards [`MemoryCounter`] spreads its keys over.
const SHARDS: usize = 16;

/// In-memory window counters, sharded by key hash so concurrent tenants do not contend on one
/// lock. Each key keeps only its current window: `(window start, count)`.
#[derive(Debug)]
pub struct MemoryCounter {
    shards: Vec<Mutex<HashMap<String, (u64, u64)>>>,
}

impl Default for MemoryCounter {
    fn default() -> Self {
        MemoryCounter { shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect() }
    }
}

impl WindowCounter for MemoryCounter {
    fn increment(&self, key: &str, window_start: u64, window: u64) -> u64 {
        let shard = (crate::util::hash::stable_hash(&[key.as_bytes()]) as usize) % SHARDS;
        let mut map = self.shards[shard].lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget windows that ended, so idle tenants do not accumulate.
        if map.len() > 10_000 {
            map.retain(|_, (s, _)| *s + window > window_start);
        }
        let entry = map.entry(key.to_string()).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        entry.1 = entry.1.saturating_add(1);
        entry.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_tenant_keeps_what_it_creates_and_a_reset_forgets_it() {
        let store = MemoryStore::new(Collections::new());
        let key: CollectionKey = (0, String::new());
        let t = store.tenant("a");
        let (item, forgotten) = t.create(&key, json!({"name": "x"}), &mut |_, item| {
            item["id"] = json!(1);
            "1".into()
        });
        assert_eq!((item, forgotten), (json!({"name": "x", "id": 1}), 0));
        assert_eq!(t.update(&key, "1", &mut |i| i["name"] = json!("y")), Some(json!({"name": "y", "id": 1})));
        assert!(store.tenant("b").update(&key, "1", &mut |_| {}).is_none());
        assert_eq!(store.reset(Some("a")), 1);
        let mut n = usize::MAX;
        store.tenant("a").list(&key, &mut |items| n = items.len());
        assert_eq!(n, 0);
    }

    #[test]
    fn faults_are_caught_per_scope_and_forgotten_outside_one() {
        report_fault("outside".into());
        assert!(!faulted());
        let ((), fault) = catch_faults(|| {
            assert!(!faulted());
            report_fault("first".into());
            report_fault("second".into());
            assert!(faulted());
        });
        assert_eq!(fault.as_deref(), Some("first"));
        assert!(!faulted());
        assert_eq!(catch_faults(|| 7), (7, None));
    }

    #[test]
    fn window_counts_restart_with_each_window() {
        let c = MemoryCounter::default();
        assert_eq!((c.increment("k", 60, 60), c.increment("k", 60, 60)), (1, 2));
        assert_eq!(c.increment("k", 120, 60), 1);
    }
}
