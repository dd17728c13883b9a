//! Where the sandbox keeps its data: the [`Store`] and [`TenantStore`] traits, the fixed-window
//! [`WindowCounter`] the rate limiter counts through, and their in-memory implementations.
//!
//! Takes items as JSON values keyed by id (as text), per tenant and [`CollectionKey`]; hands
//! back copies of what it stores, or lends a collection to a closure so a list or a get reads the
//! items where they are. The caps live here: at most [`MAX_TENANTS`] tenants (the one used
//! longest ago is forgotten) and [`MAX_ITEMS`] items per collection (the oldest tenth goes).
//!
//! The per-request traits ([`TenantStore`], [`WindowCounter`]) answer with a [`Step`]: a
//! future that the in-memory store hands back already done (no allocation, no wait) and the
//! networked store ([`super::redis`]) as its round trip to Redis, which the request awaits on
//! its own worker thread (no thread hand-off per request or per round trip). The admin side of
//! [`Store`] (reset, export, import, the tenant count) stays synchronous: it runs rarely, and
//! the networked store blocks there with `tokio::task::block_in_place`. Two consequences shape
//! the traits: closures handed to [`TenantStore::create`] and [`TenantStore::update`] may run
//! again (a networked store retries when another replica changed the collection in between),
//! and a networked store can fail: it then reports the failure with [`report_fault`] and
//! returns an empty answer; [`catch_faults`] around one request turns that into a 503 (the
//! failure is kept in a task-local slot, so it follows the request across threads). The
//! in-memory methods never fail.
//!
//! Locking of the in-memory store: the tenant table is an `ArcSwap` (a request finds its tenant
//! with one atomic load; a new tenant, a reset or an import copies the table and swaps it in),
//! and each tenant's data is behind an `RwLock` (lists and gets of one tenant read at once;
//! changes of one tenant run one at a time). No lock is held across an await: the in-memory
//! steps finish before they return.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::task::{Context, Poll};

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

/// What a store step answers: done already (the in-memory store) or a round trip to await (a
/// networked store). The in-memory case costs no allocation.
pub enum Step<'a, T> {
    /// The answer, until it is taken by the first poll.
    Ready(Option<T>),
    /// A step still under way.
    Pending(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
}

impl<'a, T> Step<'a, T> {
    /// A step that is done.
    pub fn ready(value: T) -> Self {
        Step::Ready(Some(value))
    }

    /// A step that awaits `fut`.
    pub fn boxed(fut: impl Future<Output = T> + Send + 'a) -> Self {
        Step::Pending(Box::pin(fut))
    }
}

// The answer is moved out, never pinned in place; the pending step is pinned in its box.
impl<T> Unpin for Step<'_, T> {}

impl<T> Future for Step<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match self.get_mut() {
            // Polled again after it answered: a future may then do anything but must not be
            // relied on, so it stays pending rather than panicking.
            Step::Ready(value) => value.take().map_or(Poll::Pending, Poll::Ready),
            Step::Pending(fut) => fut.as_mut().poll(cx),
        }
    }
}

/// A closure a list lends a collection to.
pub type ListFn<'a> = &'a mut (dyn FnMut(&Items) + Send);
/// A closure a get lends an item (or `None`) to.
pub type GetFn<'a> = &'a mut (dyn FnMut(Option<&Value>) + Send);
/// A create's id allocator: sees the collection's ids, gives the item its id, returns it as text.
pub type AssignFn<'a> = &'a mut (dyn FnMut(&dyn IdView, &mut Value) -> String + Send);
/// An update's change of the item.
pub type UpdateFn<'a> = &'a mut (dyn FnMut(&mut Value) + Send);

/// Every tenant's data.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The tenant `key` (a credential; empty for anonymous requests). A tenant seen for the first
    /// time (or again after a reset or eviction) starts from the seed.
    fn tenant(&self, key: &str) -> Arc<dyn TenantStore>;
    /// How many tenants the store holds now.
    fn tenant_count(&self) -> usize;
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
    fn list<'a>(&'a self, key: &'a CollectionKey, f: ListFn<'a>) -> Step<'a, ()>;
    /// Lend item `id` of collection `key` (`None` when there is none) to `f`.
    fn get<'a>(&'a self, key: &'a CollectionKey, id: &'a str, f: GetFn<'a>) -> Step<'a, ()>;
    /// Store a new item: `assign_id` sees the collection's ids and gives `item` its id, returning
    /// the id as text (the item's key). Returns the stored item and how many of the oldest items
    /// were forgotten to stay within [`MAX_ITEMS`]. `assign_id` may be called again, on a fresh
    /// copy of `item`, when another replica took the id first.
    fn create<'a>(&'a self, key: &'a CollectionKey, item: Value, assign_id: AssignFn<'a>) -> Step<'a, (Value, usize)>;
    /// Change item `id` with `f`; returns the changed item, or `None` when there is no such item.
    /// `f` may be called again, on the item as it is then, when another replica changed it first.
    fn update<'a>(&'a self, key: &'a CollectionKey, id: &'a str, f: UpdateFn<'a>) -> Step<'a, Option<Value>>;
    /// Remove item `id`; returns it, or `None` when there is no such item.
    fn delete<'a>(&'a self, key: &'a CollectionKey, id: &'a str) -> Step<'a, Option<Value>>;
    /// Count one more create (or action): the tenant's count so far, never reused (not even after
    /// items are forgotten). It varies the generated fields and ids of new items.
    fn next_seq(&self) -> Step<'_, u64>;
    /// Hand a delayed change (`job`, due at epoch millisecond `due_ms`) to the store's own delay
    /// queue, so that one replica of many carries it out. `false` (the in-memory store): the
    /// caller runs it itself.
    fn defer<'a>(&'a self, _job: &'a Value, _due_ms: u64) -> Step<'a, bool> {
        Step::ready(false)
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

tokio::task_local! {
    /// The first failure of a networked store during the request (or admin call) in scope.
    static FAULT: std::cell::RefCell<Option<String>>;
}

/// Say that a store call failed (the store answered as if the data were empty). Outside
/// [`catch_faults`] nothing is kept: no later call may see it.
pub fn report_fault(message: String) {
    let _ = FAULT.try_with(|f| {
        f.borrow_mut().get_or_insert(message);
    });
}

/// Whether a store call has failed since the [`catch_faults`] this runs in began.
pub fn faulted() -> bool {
    FAULT.try_with(|f| f.borrow().is_some()).unwrap_or(false)
}

/// Run `f` (one request's store steps) and return what it returned and the first store failure
/// during it. A scope inside another keeps its failures to itself.
pub fn catch_faults<F: Future>(f: F) -> Caught<F> {
    Caught { scoped: FAULT.scope(std::cell::RefCell::new(None), f) }
}

pin_project_lite::pin_project! {
    /// The future of [`catch_faults`]: `f` in its scope, then the scope's failure. (A plain
    /// future, not an `async fn`: one of those would hold `f` twice, once as it was handed in
    /// and once while awaited, and a request's sandbox step is a large future.)
    pub struct Caught<F: Future> {
        #[pin]
        scoped: tokio::task::futures::TaskLocalFuture<std::cell::RefCell<Option<String>>, F>,
    }
}

impl<F: Future> Future for Caught<F> {
    type Output = (F::Output, Option<String>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut scoped = self.project().scoped;
        let out = std::task::ready!(scoped.as_mut().poll(cx));
        Poll::Ready((out, scoped.take_value().and_then(std::cell::RefCell::into_inner)))
    }
}

/// [`catch_faults`] for synchronous store calls (the admin side of [`Store`]).
pub fn catch_faults_sync<R>(f: impl FnOnce() -> R) -> (R, Option<String>) {
    FAULT.sync_scope(std::cell::RefCell::new(None), || {
        let out = f();
        (out, FAULT.with(|c| c.borrow_mut().take()))
    })
}

/// Fixed-window request counters (the rate limiter's store).
pub trait WindowCounter: Send + Sync + std::fmt::Debug {
    /// Count one request for `key` in the window of `window` seconds that starts at epoch second
    /// `window_start`, and return how many the window has counted, this one included.
    fn increment<'a>(&'a self, key: &'a str, window_start: u64, window: u64) -> Step<'a, u64>;
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
    fn list<'a>(&'a self, key: &'a CollectionKey, f: ListFn<'a>) -> Step<'a, ()> {
        match self.read().get(key) {
            Some(items) => f(items),
            None => f(&Map::new()),
        }
        Step::ready(())
    }

    fn get<'a>(&'a self, key: &'a CollectionKey, id: &'a str, f: GetFn<'a>) -> Step<'a, ()> {
        f(self.read().get(key).and_then(|items| items.get(id)));
        Step::ready(())
    }

    fn create<'a>(&'a self, key: &'a CollectionKey, mut item: Value, assign_id: AssignFn<'a>) -> Step<'a, (Value, usize)> {
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
        Step::ready((item, forgotten))
    }

    fn update<'a>(&'a self, key: &'a CollectionKey, id: &'a str, f: UpdateFn<'a>) -> Step<'a, Option<Value>> {
        let mut data = self.write();
        // The collection is made even when the item is missing (it then shows, empty, in a dump).
        let changed = data.entry(key.clone()).or_default().get_mut(id).map(|item| {
            f(item);
            item.clone()
        });
        Step::ready(changed)
    }

    fn delete<'a>(&'a self, key: &'a CollectionKey, id: &'a str) -> Step<'a, Option<Value>> {
        Step::ready(self.write().get_mut(key).and_then(|items| items.shift_remove(id)))
    }

    fn next_seq(&self) -> Step<'_, u64> {
        Step::ready(self.created.fetch_add(1, Ordering::Relaxed) + 1)
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
    fn increment<'a>(&'a self, key: &'a str, window_start: u64, window: u64) -> Step<'a, u64> {
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
        Step::ready(entry.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn a_tenant_keeps_what_it_creates_and_a_reset_forgets_it() {
        let store = MemoryStore::new(Collections::new());
        let key: CollectionKey = (0, String::new());
        let t = store.tenant("a");
        let (item, forgotten) = t
            .create(&key, json!({"name": "x"}), &mut |_, item| {
                item["id"] = json!(1);
                "1".into()
            })
            .await;
        assert_eq!((item, forgotten), (json!({"name": "x", "id": 1}), 0));
        assert_eq!(t.update(&key, "1", &mut |i| i["name"] = json!("y")).await, Some(json!({"name": "y", "id": 1})));
        assert!(store.tenant("b").update(&key, "1", &mut |_| {}).await.is_none());
        assert_eq!(store.reset(Some("a")), 1);
        let mut n = usize::MAX;
        store.tenant("a").list(&key, &mut |items| n = items.len()).await;
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn faults_are_caught_per_scope_across_awaits_and_forgotten_outside_one() {
        report_fault("outside".into());
        assert!(!faulted());
        let ((), fault) = catch_faults(async {
            assert!(!faulted());
            report_fault("first".into());
            tokio::task::yield_now().await;
            report_fault("second".into());
            assert!(faulted());
            // An inner scope keeps its failures to itself.
            let ((), inner) = catch_faults(async { report_fault("inner".into()) }).await;
            assert_eq!(inner.as_deref(), Some("inner"));
        })
        .await;
        assert_eq!(fault.as_deref(), Some("first"));
        assert!(!faulted());
        assert_eq!(catch_faults(async { 7 }).await, (7, None));
        assert_eq!(catch_faults_sync(|| report_fault("sync".into())).1.as_deref(), Some("sync"));
    }

    #[tokio::test]
    async fn window_counts_restart_with_each_window() {
        let c = MemoryCounter::default();
        assert_eq!((c.increment("k", 60, 60).await, c.increment("k", 60, 60).await), (1, 2));
        assert_eq!(c.increment("k", 120, 60).await, 1);
    }
}
