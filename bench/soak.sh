#!/usr/bin/env bash
# Soak under hostile clients: slowloris, large bodies and good traffic at once, on loopback.
#
#   bash bench/soak.sh                       # 150 s, 1,100 slow connections, release binary
#   DURATION=60 SLOW=300 BIN=target/debug/standin bash bench/soak.sh
#
# Runs `standin serve` (Bench, stateful, rate limits off) and, for DURATION seconds:
# - SLOW connections that each send a request head one byte every 2 s and reconnect when closed
#   (more than the 1,024-connection cap by default);
# - BIG clients in a loop posting 9 MiB bodies, and `Expect: 100-continue` heads announcing 50 MiB
#   (over the 10 MiB limit: answered 413 at once);
# - good traffic: wrk with 4 connections on `GET /api/agent/deals`, in SLICE-second slices.
# Prints, per slice, the good requests' count, p50 and p99 (from wrk), and the server's RSS.
# Needs wrk, curl and python3. Every loop is bounded by DURATION; everything started is stopped
# on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-150}
SLICE=${SLICE:-15}
SLOW=${SLOW:-1100}
BIG=${BIG:-2}
PORT=${PORT:-4450}
BIN=${BIN:-target/release/standin}
URL="http://127.0.0.1:$PORT"

for tool in wrk curl python3; do command -v "$tool" >/dev/null || { echo "soak: needs $tool" >&2; exit 2; }; done
[ "$BIN" = target/release/standin ] && cargo build --release --quiet --bin standin
ulimit -n 8192 2>/dev/null || true

work=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$BIN" serve --spec specs/bench.yaml --no-rate-limit --log-format off --port "$PORT" >"$work/serve.log" 2>&1 &
SERVER=$!
PIDS+=("$SERVER")
for _ in $(seq 100); do curl -sf "$URL/__standin/health" >/dev/null && break; sleep 0.1; done
end=$(( $(date +%s) + DURATION ))

# Slowloris: SLOW connections trickling header bytes, reconnecting when the server closes them.
python3 - "$PORT" "$SLOW" "$end" <<'EOF' &
import selectors, socket, sys, time
port, n, end = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
head = b"GET /api/agent/deals HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10000
conns = {}
def connect():
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect_ex(("127.0.0.1", port))
    except OSError:
        s.close()
        return
    conns[s] = 0
while time.time() < end:
    while len(conns) < n:
        connect()
    for s in list(conns):
        try:
            s.send(head[conns[s]:conns[s] + 1])
            conns[s] += 1
        except OSError:
            s.close()
            del conns[s]
    time.sleep(2)
EOF
PIDS+=("$!")

# Large bodies: 9 MiB posts, and over-limit announcements with Expect: 100-continue.
head -c $((9 * 1024 * 1024)) /dev/zero | tr '\0' 'x' | sed 's/^/{"customerName": "/; s/$/"}/' >"$work/big.json"
for _ in $(seq "$BIG"); do
  (
    while [ "$(date +%s)" -lt "$end" ]; do
      curl -s -o /dev/null -m 10 -H 'x-api-key: ke_live_soak' -H 'content-type: application/json' --data-binary @"$work/big.json" "$URL/api/agent/deals" || true
      curl -s -o /dev/null -m 5 -H 'x-api-key: ke_live_soak' -H 'content-type: application/json' -H 'Expect: 100-continue' \
        -H 'Content-Length: 52428800' -X POST "$URL/api/agent/deals" || true
    done
  ) &
  PIDS+=("$!")
done

rss() { awk '/VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$SERVER/status"; }
printf '%6s %10s %10s %10s %8s\n' "t (s)" "requests" "p50" "p99" "RSS MiB"
t=0
while [ "$(( $(date +%s) + SLICE ))" -le "$end" ]; do
  out=$(wrk -t 1 -c 4 -d "${SLICE}s" --latency -H 'x-api-key: ke_live_soak' "$URL/api/agent/deals" 2>&1 || true)
  t=$((t + SLICE))
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  printf '%6s %10s %10s %10s %8s\n' "$t" "${reqs:--}" "${p50:--}" "${p99:--}" "$(rss)"
done
kill -0 "$SERVER" 2>/dev/null || { echo "soak: the server died" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "soak: server alive after ${DURATION} s; health: $(curl -s -o /dev/null -w '%{http_code}' -m 5 "$URL/__standin/health")"
