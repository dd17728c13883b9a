#!/usr/bin/env bash
# The shared store against the in-memory one, same run: stateful GET by id and POST create on
# Bench's sandbox, served once with `--store redis://…` and once in memory, in alternating rounds.
#
#   bash bench/store.sh                      # 10 s per case and store, 32 connections, 2 wrk threads
#   DURATION=6 CONNS=32 ROUNDS=3 bash bench/store.sh
#   NO_BUILD=1 bash bench/store.sh          # with the release binary already built
#
# Needs `wrk` and `redis-server` (Debian packages; installed with apt-get when missing and root).
# Prints requests/second and p50/p99 per case and store, and the Redis/memory ratio (aim: >= 0.33
# at 32 connections). The Redis runs on loopback without persistence, on the same cores as wrk and
# standin. Rate limits are off and the journal is off (serve --journal-size 0), as a load test
# runs; creates fill the collection to its cap (10,000 items) and then forget the oldest tenth.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
PORT_REDIS=${PORT_REDIS:-4457}
PORT_MEM=${PORT_MEM:-4458}
PORT_SHARED=${PORT_SHARED:-4459}

for tool in wrk redis-server; do
  if ! command -v "$tool" >/dev/null; then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null; else echo "install $tool first" >&2; exit 2; fi
  fi
done

[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin standin
BIN=${CARGO_TARGET_DIR:-target}/release/standin
redis-server --port "$PORT_REDIS" --bind 127.0.0.1 --save '' --appendonly no >/tmp/standin-bench-redis.log 2>&1 &
REDIS=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT_REDIS") 2>/dev/null && break; sleep 0.1; done
kill -0 "$REDIS" 2>/dev/null || { echo "redis-server did not start (port $PORT_REDIS taken?): see /tmp/standin-bench-redis.log" >&2; exit 1; }
COMMON=(--spec specs/bench.yaml --no-rate-limit --log-format off --journal-size 0)
"$BIN" serve "${COMMON[@]}" --port "$PORT_MEM" >/tmp/standin-bench-mem.log 2>&1 &
MEM=$!
"$BIN" serve "${COMMON[@]}" --port "$PORT_SHARED" --store "redis://127.0.0.1:$PORT_REDIS" --store-prefix bench >/tmp/standin-bench-shared.log 2>&1 &
SHARED=$!
trap 'kill $MEM $SHARED $REDIS 2>/dev/null || true' EXIT
for port in "$PORT_MEM" "$PORT_SHARED"; do
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/__standin/health" >/dev/null && break; sleep 0.1; done
done

LUA=$(mktemp -d)
cat >"$LUA/get.lua" <<'LUA'
wrk.headers["X-API-Key"] = "ke_live_bench"
LUA
cat >"$LUA/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["X-API-Key"] = "ke_live_bench"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"customerName":"Johnson Residence","status":"new","value":24500}'
LUA

to_us() { awk '{ v = $1 + 0; if ($1 ~ /ms$/) v *= 1000; else if ($1 ~ /us$/) v *= 1; else if ($1 ~ /s$/) v *= 1000000; printf "%.0f\n", v }'; }
fmt_us() { awk -v u="$1" 'BEGIN { if (u >= 1000) printf "%.2fms", u / 1000; else printf "%dus", u }'; }
slice=$(awk -v d="$DURATION" -v r="$ROUNDS" 'BEGIN { s = int(d / r + 0.5); print (s < 1) ? 1 : s }')

echo "standin store bench: ${DURATION}s per case and store in $ROUNDS alternating rounds; $CONNS connections, $THREADS wrk threads, $(nproc) cores"
case_run() { # name path script
  declare -A reqs=([memory]=0 [redis]=0) secs=([memory]=0 [redis]=0) p50=() p99=() non=([memory]=0 [redis]=0)
  local side port out
  for _ in $(seq "$ROUNDS"); do
    for side in memory redis; do
      port=$PORT_MEM; [ "$side" = redis ] && port=$PORT_SHARED
      out=$(wrk -t"$THREADS" -c"$CONNS" -d"${slice}s" --latency -s "$LUA/$3" "http://127.0.0.1:$port/api$2")
      reqs[$side]=$(( ${reqs[$side]} + $(awk '/requests in/ {print $1}' <<<"$out") ))
      secs[$side]=$(awk -v a="${secs[$side]}" -v b="$(awk '/requests in/ {sub(/s,$/, "", $4); print $4}' <<<"$out")" 'BEGIN { print a + b }')
      p50[$side]=$(awk '$1=="50%" {print $2}' <<<"$out" | to_us)
      p99[$side]=$(awk '$1=="99%" {print $2}' <<<"$out" | to_us)
      non[$side]=$(( ${non[$side]} + $(awk '/Non-2xx/ {print $5}' <<<"$out" | grep . || echo 0) ))
    done
  done
  local rate_mem rate_redis
  for side in memory redis; do
    local rps
    rps=$(awk -v n="${reqs[$side]}" -v s="${secs[$side]}" 'BEGIN { printf "%.0f", n / s }')
    [ "$side" = memory ] && rate_mem=$rps || rate_redis=$rps
    printf '%-22s %-7s %9s req/s   p50 %-9s p99 %-9s %s\n' "$1" "$side" "$rps" "$(fmt_us "${p50[$side]}")" "$(fmt_us "${p99[$side]}")" "$([ "${non[$side]}" != 0 ] && echo "(non-2xx: ${non[$side]})")"
  done
  awk -v r="$rate_redis" -v m="$rate_mem" -v n="$1" 'BEGIN { printf "%-22s redis/memory %.2f (target >= 0.33)\n", n, r / m }'
}
case_run get_by_id_from_state /agent/deals/deal_abc123 get.lua
case_run post_create /agent/deals post.lua
rm -rf "$LUA"
