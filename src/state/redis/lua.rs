//! The Lua scripts of the Redis store: each store step is one script, so it is atomic across
//! replicas (Redis runs one script at a time) and costs one round trip.
//!
//! Why scripts and not `MULTI`/`WATCH`: every replica shares one multiplexed connection
//! (`ConnectionManager`), and `WATCH` belongs to a connection, so a transaction would need a
//! connection of its own per request; a script needs none and can branch (insert only if the id
//! is free, write only if the item is unchanged). The rate-limit count is the exception: it
//! needs no branch, so it is a plain `MULTI` of `INCR` and `EXPIREAT` (see `Counter`).
//!
//! Layout under a tenant's base key `{ns}:t:{tenant hash}` (a hash: the tenant's credential as
//! `key` and its create count as `seq`; it exists while the tenant does):
//! `:cols` (a set of the tenant's collections, each `{resource index}:{parent key}`), and per
//! collection `:i:{c}` (items by id, JSON text), `:o:{c}` (ids by insertion order) and `:m:{c}`
//! (`n`: the order counter, `maxint`: the largest integer id ever stored, `nondigit`: how many
//! ids are not all digits). `{ns}:tenants` orders the tenants by last use (for the cap).
//!
//! Every per-tenant script starts with [`PRELUDE`]: `KEYS[1]` the base key, `KEYS[2]` the
//! tenants set, `ARGV[1]` the tenant hash, `ARGV[2]` now (epoch seconds), `ARGV[3]` the
//! collection. It answers `{0}` when the tenant does not exist yet (the client then loads the
//! seed with [`LOAD`] and asks again) and notes the tenant's use.

/// Helpers shared by the scripts that change a collection.
const HELPERS: &str = r#"
local function note_added(meta, id)
  if string.match(id, '^[+-]?%d+$') then
    local cur = tonumber(redis.call('HGET', meta, 'maxint') or '0') or 0
    local v = tonumber(id)
    if v and v > cur then redis.call('HSET', meta, 'maxint', id) end
  end
  if not string.match(id, '^%d+$') then redis.call('HINCRBY', meta, 'nondigit', 1) end
end
local function note_removed(meta, id)
  if not string.match(id, '^%d+$') then redis.call('HINCRBY', meta, 'nondigit', -1) end
end
local function drop(b)
  for _, s in ipairs(redis.call('SMEMBERS', b .. ':cols')) do
    redis.call('DEL', b .. ':i:' .. s, b .. ':o:' .. s, b .. ':m:' .. s)
  end
  redis.call('DEL', b .. ':cols', b)
end
"#;

const PRELUDE: &str = r#"
local base, tenants, tid, now, sfx = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', base) == 0 then return {0} end
redis.call('ZADD', tenants, now, tid)
local items, order, meta = base .. ':i:' .. sfx, base .. ':o:' .. sfx, base .. ':m:' .. sfx
"#;

/// The collection: `{1, ids in order, HGETALL of the items}`.
pub const LIST: &str = "return {1, redis.call('ZRANGE', order, 0, -1), redis.call('HGETALL', items)}";

/// Item `ARGV[4]`: `{1, json or nil}`.
pub const GET: &str = "return {1, redis.call('HGET', items, ARGV[4])}";

/// `view(tag, forgotten)`: what an id allocator needs of the collection, as `{tag, forgotten,
/// count, maxint, nondigit, the first item's id, the first item}`; the first item is left out
/// (false) when its id is `ARGV[9]`, the one the replica knows already. Starts [`VIEW`] and
/// [`CREATE`] (see [`viewing_script`]).
const VIEW_OF: &str = r#"
local function view(tag, forgotten)
  local fid = redis.call('ZRANGE', order, 0, 0)[1] or false
  local firstv = false
  if fid and fid ~= ARGV[9] then firstv = redis.call('HGET', items, fid) end
  local m = redis.call('HMGET', meta, 'maxint', 'nondigit')
  return {tag, forgotten, redis.call('HLEN', items), m[1] or '0', tonumber(m[2] or '0') or 0, fid, firstv}
end
"#;

/// The collection's view (see [`VIEW_OF`]): `{1, 0, view…}`.
pub const VIEW: &str = "return view(1, 0)";

/// A create in one round trip, from a view of the collection this replica read earlier: insert
/// item `ARGV[5]` under id `ARGV[4]`, then forget the oldest tenth when the collection holds
/// more than `ARGV[6]`. Refused when the id is taken, and, for an id counted up from the
/// largest integer id (`ARGV[7]` is `1`), when it is not above the largest integer id ever
/// stored or that largest id is below `ARGV[8]`, the one the view was read with (the
/// collection was reset since: counting goes on from the fixtures, as in memory). Answers
/// `{1, forgotten, view…}` when stored, `{2, 0, view…}` when refused, with the view
/// ([`VIEW_OF`]) of the collection afterwards.
pub const CREATE: &str = r#"
local id = ARGV[4]
if ARGV[7] == '1' then
  local cur = tonumber(redis.call('HGET', meta, 'maxint') or '0') or 0
  local v = tonumber(id) or 0
  if v <= cur or cur < (tonumber(ARGV[8]) or 0) then return view(2, 0) end
end
if redis.call('HSETNX', items, id, ARGV[5]) == 0 then return view(2, 0) end
redis.call('ZADD', order, redis.call('HINCRBY', meta, 'n', 1), id)
redis.call('SADD', base .. ':cols', sfx)
note_added(meta, id)
local max = tonumber(ARGV[6])
local len = redis.call('HLEN', items)
local forgotten = 0
if len > max then
  forgotten = len - max + math.floor(max / 10)
  for _, old in ipairs(redis.call('ZRANGE', order, 0, forgotten - 1)) do
    redis.call('HDEL', items, old)
    note_removed(meta, old)
  end
  redis.call('ZREMRANGEBYRANK', order, 0, forgotten - 1)
end
return view(1, forgotten)
"#;

/// Replace item `ARGV[4]` by `ARGV[6]` if it is still `ARGV[5]`: `{1}` done, `{2}` changed
/// meanwhile (read again), `{3}` gone.
pub const UPDATE: &str = r#"
local cur = redis.call('HGET', items, ARGV[4])
if not cur then return {3} end
if cur ~= ARGV[5] then return {2} end
redis.call('HSET', items, ARGV[4], ARGV[6])
return {1}
"#;

/// Remove item `ARGV[4]`: `{1, its json or nil}`.
pub const DELETE: &str = r#"
local cur = redis.call('HGET', items, ARGV[4])
if not cur then return {1, false} end
redis.call('HDEL', items, ARGV[4])
redis.call('ZREM', order, ARGV[4])
note_removed(meta, ARGV[4])
return {1, cur}
"#;

/// Reserve `ARGV[4]` more create counts: `{1, the last of them}`.
pub const SEQ: &str = "return {1, redis.call('HINCRBY', base, 'seq', tonumber(ARGV[4]))}";

/// Create a tenant from data (`ARGV[3]`: `seed` only when absent, `replace` always), keeping at
/// most `ARGV[6]` tenants (the one used longest ago goes). `ARGV[4]`: the credential,
/// `ARGV[5]`: the create count, `ARGV[7]`: the namespace; then per collection its name, its
/// item count and that many id, JSON pairs. Answers how many tenants were forgotten, or -1
/// when a seed found the tenant there already.
pub const LOAD: &str = r#"
local base, tenants, tid, now = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local evicted = 0
if redis.call('EXISTS', base) == 1 then
  if ARGV[3] == 'seed' then return -1 end
  drop(base)
else
  local max = tonumber(ARGV[6])
  while redis.call('ZCARD', tenants) >= max do
    local old = redis.call('ZPOPMIN', tenants)
    if #old == 0 then break end
    drop(ARGV[7] .. ':t:' .. old[1])
    evicted = evicted + 1
  end
end
redis.call('HSET', base, 'key', ARGV[4], 'seq', ARGV[5])
redis.call('ZADD', tenants, now, tid)
local i = 8
while i <= #ARGV do
  local sfx, n = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  local items, order, meta = base .. ':i:' .. sfx, base .. ':o:' .. sfx, base .. ':m:' .. sfx
  redis.call('SADD', base .. ':cols', sfx)
  for k = 1, n do
    local id = ARGV[i]
    redis.call('HSET', items, id, ARGV[i + 1])
    redis.call('ZADD', order, redis.call('HINCRBY', meta, 'n', 1), id)
    note_added(meta, id)
    i = i + 2
  end
end
return evicted
"#;

/// Forget one tenant (`ARGV[2]`, its hash) or every one (`ARGV[2]` empty) of namespace
/// `ARGV[1]`; `KEYS[1]` the tenants set. Answers how many went.
pub const RESET: &str = r#"
if ARGV[2] ~= '' then
  local b = ARGV[1] .. ':t:' .. ARGV[2]
  local had = redis.call('EXISTS', b)
  redis.call('ZREM', KEYS[1], ARGV[2])
  drop(b)
  return had
end
local all = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, t in ipairs(all) do drop(ARGV[1] .. ':t:' .. t) end
redis.call('DEL', KEYS[1])
return #all
"#;

/// One tenant (`KEYS[1]`, its base key) at one moment: `{credential, then per collection its
/// name, its ids in order and the HGETALL of its items}`, or nil when it is gone.
pub const EXPORT: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local out = {redis.call('HGET', KEYS[1], 'key')}
for _, s in ipairs(redis.call('SMEMBERS', KEYS[1] .. ':cols')) do
  out[#out + 1] = s
  out[#out + 1] = redis.call('ZRANGE', KEYS[1] .. ':o:' .. s, 0, -1)
  out[#out + 1] = redis.call('HGETALL', KEYS[1] .. ':i:' .. s)
end
return out
"#;

/// Claim up to `ARGV[2]` jobs of the delay queue `KEYS[1]` due by `ARGV[1]` (epoch ms): each is
/// removed as it is handed out, so exactly one replica gets it.
pub const CLAIM: &str = r#"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, j in ipairs(due) do redis.call('ZREM', KEYS[1], j) end
return due
"#;

/// A per-tenant step: the helpers, the prelude and the step.
pub fn tenant_script(step: &str) -> redis::Script {
    redis::Script::new(&format!("{HELPERS}{PRELUDE}{step}"))
}

/// A per-tenant step that answers with the collection's view ([`VIEW_OF`]).
pub fn viewing_script(step: &str) -> redis::Script {
    redis::Script::new(&format!("{HELPERS}{PRELUDE}{VIEW_OF}{step}"))
}

/// A script that needs only the helpers.
pub fn script(body: &str) -> redis::Script {
    redis::Script::new(&format!("{HELPERS}{body}"))
}
