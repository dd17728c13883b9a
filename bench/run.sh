#!/usr/bin/env bash
# Load benchmark on loopback: standin vs a bare axum handler returning fixed bytes, side by side.
#
#   bash bench/run.sh            # 10 s per case (and 10 s of bare handler), 32 connections, 2 wrk threads
#   DURATION=5 CONNS=64 ROUNDS=5 bash bench/run.sh
#
# Needs `wrk` (Debian package `wrk`; the script installs it with apt-get when missing and root).
# Prints requests/second, p50/p99 and the server's CPU per request (user + kernel, from /proc) per
# case, and each case's ratio to the bare handler.
# Every request loop is bounded by DURATION; servers are stopped on exit. standin runs with
# --stateless here (the contract mock): a stateful POST would fill the store (up to its cap of
# 10,000 items per collection) and measure the store instead of the request path.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
PORT_STANDIN=${PORT_STANDIN:-4410}
PORT_BARE=${PORT_BARE:-4420}
PORT_STATE=${PORT_STATE:-4430}
# JOURNAL=off measures without the request journal (serve --journal-size 0).
EXTRA=()
[ "${JOURNAL:-on}" = off ] && EXTRA+=(--journal-size 0)

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else echo "install wrk first" >&2; exit 2; fi
fi

cargo build --release --quiet --bin standin --example bare --example handle_cost
./target/release/standin serve --spec tests/fixtures/specs/shop.yaml --fixtures tests/fixtures/responses/shop --stateless --log-format off "${EXTRA[@]}" --port "$PORT_STANDIN" >/tmp/standin-bench.log 2>&1 &
STANDIN=$!
./target/release/examples/bare "$PORT_BARE" >/dev/null 2>&1 &
BARE=$!
# The stateful sandbox with auth (Bench's X-API-Key), rate limits off for the load.
./target/release/standin serve --spec specs/bench.yaml --no-rate-limit --log-format off "${EXTRA[@]}" --port "$PORT_STATE" >/tmp/standin-bench-state.log 2>&1 &
STATE=$!
trap 'kill $STANDIN $BARE $STATE 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT_STATE/__standin/health" >/dev/null && break; sleep 0.1; done
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT_STANDIN/__standin/health" >/dev/null && break; sleep 0.1; done

LUA=$(mktemp -d)
cat >"$LUA/post_valid.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Desk lamp","price":49.5,"currency":"EUR","category":null,"tags":["home"]}'
LUA
cat >"$LUA/post_invalid.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"id":"prd_x1","price":0,"currency":"GBP","colour":"red"}'
LUA
echo "# empty" >"$LUA/get.lua"

declare -A CASE_URL CASE_SCRIPT CASE_ARGS CASE_PID
# One wrk run: sets REQS (requests done), SECS (seconds), P50 and P99 (µs), NON2XX.
wrk_once() { # seconds url script [wrk args…]
  local out
  out=$(wrk -t"$THREADS" -c"$CONNS" -d"$1s" --latency -s "$LUA/$3" "${@:4}" "$2")
  REQS=$(awk '/requests in/ {print $1}' <<<"$out")
  SECS=$(awk '/requests in/ {sub(/s,$/, "", $4); print $4}' <<<"$out")
  P50=$(awk '$1=="50%" {print $2}' <<<"$out" | to_us)
  P99=$(awk '$1=="99%" {print $2}' <<<"$out" | to_us)
  NON2XX=$(awk '/Non-2xx/ {print $5}' <<<"$out")
}
# CPU time (user + system, in clock ticks) a process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK_US=$(( 1000000 / $(getconf CLK_TCK) ))
median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
to_us() { awk '{ v = $1 + 0; if ($1 ~ /ms$/) v *= 1000; else if ($1 ~ /us$/) v *= 1; else if ($1 ~ /s$/) v *= 1000000; printf "%.0f\n", v }'; }
fmt_us() { awk -v u="$1" 'BEGIN { if (u >= 1000) printf "%.2fms", u / 1000; else printf "%dus", u }'; }
# Each case and the bare handler take turns, ROUNDS times, inside the case's DURATION: the
# machine's speed drifts by ±20% over a minute here (shared cores), and alternating short runs
# keeps both sides of a ratio on the same stretch of it. req/s is the total over all rounds; p50
# and p99 are the middle round's, and the worst round's p99 is printed beside it (a stall of the
# shared machine shows there, in the bare handler's rounds as well).
ROUNDS=${ROUNDS:-3}
run() { # name url script [wrk args…]
  CASE_URL[$1]=$2; CASE_SCRIPT[$1]=$3; CASE_ARGS[$1]="${*:4}"
  case "$2" in *":$PORT_STATE"*) CASE_PID[$1]=$STATE ;; *) CASE_PID[$1]=$STANDIN ;; esac
  local slice side
  slice=$(awk -v d="$DURATION" -v r="$ROUNDS" 'BEGIN { s = int(d / r + 0.5); print (s < 1) ? 1 : s }')
  declare -A reqs=() secs=() p50s=() p99=() p99s=() non=() rps=() ticks=() cpus=() pid=([bare]=$BARE [case]=${CASE_PID[$1]})
  for side in bare case; do reqs[$side]=0; secs[$side]=0; p50s[$side]=""; p99s[$side]=""; p99[$side]=0; non[$side]=0; ticks[$side]=0; done
  local t0
  for _ in $(seq "$ROUNDS"); do
    for side in bare case; do
      t0=$(cpu_ticks "${pid[$side]}")
      if [ "$side" = bare ]; then wrk_once "$slice" "http://127.0.0.1:$PORT_BARE/products" get.lua; else wrk_once "$slice" "${@:2}"; fi
      ticks[$side]=$(( ${ticks[$side]} + $(cpu_ticks "${pid[$side]}") - t0 ))
      reqs[$side]=$(( ${reqs[$side]} + REQS ))
      secs[$side]=$(awk -v a="${secs[$side]}" -v b="$SECS" 'BEGIN { print a + b }')
      p50s[$side]="${p50s[$side]} $P50"
      p99s[$side]="${p99s[$side]} $P99"
      [ "$P99" -gt "${p99[$side]}" ] && p99[$side]=$P99
      non[$side]=$(( ${non[$side]} + ${NON2XX:-0} ))
    done
  done
  for side in case bare; do  # the case, then its bare handler (indented) below it
    rps[$side]=$(awk -v n="${reqs[$side]}" -v s="${secs[$side]}" 'BEGIN { printf "%.0f", n / s }')
    local p50 p99mid cpu label="  bare axum, fixed bytes" n="${non[$side]}"
    p50=$(median "${p50s[$side]}")
    p99mid=$(median "${p99s[$side]}")
    # The server's own CPU (user + kernel) per request: what standin adds over the bare handler,
    # independent of how much of the machine wrk and neighbours took.
    cpu=$(awk -v t="${ticks[$side]}" -v u="$TICK_US" -v n="${reqs[$side]}" 'BEGIN { printf "%.1f", (n > 0) ? t * u / n : 0 }')
    cpus[$side]=$cpu
    [ "$side" = case ] && label=$1
    [ "$n" = 0 ] && n=""
    printf '%-34s %10s req/s   p50 %-9s p99 %-9s (worst round %-9s cpu %5s µs/req  %s\n' "$label" "${rps[$side]}" "$(fmt_us "$p50")" "$(fmt_us "$p99mid")" "$(fmt_us "${p99[$side]}"))" "$cpu" "${n:+(non-2xx: $n)}"
  done
  awk -v r="${rps[case]}" -v b="${rps[bare]}" 'BEGIN { printf "%.2f\n", r / b }' >"$LUA/$1.ratio"
  echo "${cpus[case]} ${cpus[bare]}" >"$LUA/$1.cpu"
}

echo "standin bench: ${DURATION}s per case and as long for the bare handler, in $ROUNDS alternating rounds; $CONNS connections, $THREADS wrk threads, $(nproc) cores, journal ${JOURNAL:-on}"
S="http://127.0.0.1:$PORT_STANDIN/api/v2"
run list_get_generated "$S/products?limit=20" get.lua
run get_by_id_example "$S/products/prd_lamp1" get.lua
run get_fixture "$S/categories/1" get.lua
run post_valid_body "$S/products" post_valid.lua
run post_invalid_body_400 "$S/products" post_invalid.lua
B="http://127.0.0.1:$PORT_STATE/api"
run get_by_id_from_state "$B/agent/deals/deal_abc123" get.lua -H "X-API-Key: ke_live_bench"
run auth_rejected_401 "$B/agent/deals" get.lua
echo "ratio to the bare handler in the same rounds (target >= 0.5):"
for f in "$LUA"/*.ratio; do
  printf '  %-32s %s\n' "$(basename "$f" .ratio)" "$(cat "$f")"
done
# Where time goes, for every case below half the bare handler: first standin's own pipeline per
# request without sockets (examples/handle_cost.rs), then a perf profile (needs `perf`).
for f in "$LUA"/*.ratio; do
  name=$(basename "$f" .ratio)
  if awk -v r="$(cat "$f")" 'BEGIN { exit !(r < 0.5) }'; then
    read -r cpu_case cpu_bare <"$LUA/$name.cpu"
    echo "where time goes in $name: standin used $cpu_case µs of CPU per request (user + kernel), the bare handler $cpu_bare µs; of that, the pipeline alone (route, auth, validate, respond, envelope), in-process:"
    N=50000 ./target/release/examples/handle_cost "$name"
    echo "  the rest is HTTP parsing, the socket (kernel), the journal hand-off and the larger answer."
  fi
done
if command -v perf >/dev/null; then
  set +e +o pipefail  # diagnostics only: a failing perf must not end the report
  for f in "$LUA"/*.ratio; do
    name=$(basename "$f" .ratio)
    below=$(awk -v r="$(cat "$f")" 'BEGIN { print (r < 0.5) ? 1 : 0 }')
    [ "$below" = 1 ] || continue
    echo "where time goes in $name (perf, 3 s; user space by symbol, then by binary):"
    extra=()
    [ -n "${CASE_ARGS[$name]}" ] && extra=(-H "${CASE_ARGS[$name]#-H }")
    wrk -t"$THREADS" -c"$CONNS" -d4s -s "$LUA/${CASE_SCRIPT[$name]}" "${extra[@]}" "${CASE_URL[$name]}" >/dev/null 2>&1 &
    load=$!
    sleep 0.5
    # System-wide (attaching to one process records nothing on some VMs), then standin's threads.
    perf record -q -a -F 999 -g -o "$LUA/perf.data" -- sleep 3 >/dev/null 2>&1 || true
    wait "$load"  # only the load generator: the servers keep running
    echo "    share of all CPU by thread (wrk runs on the same cores):"
    perf report -q -i "$LUA/perf.data" --no-children --sort comm -g none 2>/dev/null | head -4 | awk '{$1=$1; print "      " $0}'
    echo "    hottest user-space symbols in standin's request threads:"
    perf report -q -i "$LUA/perf.data" --comm tokio-rt-worker --no-children --sort symbol -g none 2>/dev/null | grep -v '\[k\]' | head -8 | sed 's/ *- *- *$//' | awk '{$1=$1; print "      " $0}'
  done
fi
rm -rf "$LUA"
