#!/usr/bin/env bash
# Start `standin serve` in the background for the rest of a CI job (the action's `start`).
# Inputs from the environment: STANDIN_SPEC (specs, by line or space), STANDIN_FIXTURES,
# STANDIN_ARGS (more serve flags), STANDIN_PORT (default 4010; 0 = a free one), STANDIN_REPORT,
# STANDIN_RECORD, STANDIN_BIN, STANDIN_WAIT (seconds, default 60), STANDIN_DIR (where the pid,
# log and exit status go; default $RUNNER_TEMP/standin). Outputs (to $GITHUB_OUTPUT when set, and
# printed): url, log, pid. Exit 1 when it does not become healthy, with its output.
set -euo pipefail
dir=${STANDIN_DIR:-${RUNNER_TEMP:-/tmp}/standin}
mkdir -p "$dir"
bin=${STANDIN_BIN:-}
if [ -z "$bin" ]; then
  if command -v standin >/dev/null; then bin=standin
  else
    python3 -m pip install --quiet standin >&2
    bin=standin
  fi
fi
args=(serve --host 127.0.0.1 --port "${STANDIN_PORT:-4010}")
read -r -a specs <<< "$(echo "${STANDIN_SPEC:-}" | tr '\n' ' ')"
[ "${#specs[@]}" -gt 0 ] || { echo "standin: no spec given (input 'spec')" >&2; exit 2; }
for s in "${specs[@]}"; do args+=(--spec "$s"); done
[ -z "${STANDIN_FIXTURES:-}" ] || args+=(--fixtures "$STANDIN_FIXTURES")
[ -z "${STANDIN_REPORT:-}" ] || { mkdir -p "$(dirname "$STANDIN_REPORT")"; args+=(--report "$STANDIN_REPORT"); }
[ -z "${STANDIN_RECORD:-}" ] || { mkdir -p "$(dirname "$STANDIN_RECORD")"; args+=(--record "$STANDIN_RECORD"); }
read -r -a extra <<< "${STANDIN_ARGS:-}"
args+=("${extra[@]}")
log="$dir/standin.log"
rm -f "$dir/standin.pid" "$dir/standin.exit"
# A subshell that outlives this step keeps standin's exit status for stop.sh (standin is not
# stop.sh's child, so it cannot `wait` for it).
(
  "$bin" "${args[@]}" >"$log" 2>&1 </dev/null &
  echo $! >"$dir/standin.pid"
  set +e
  wait $!
  echo $? >"$dir/standin.exit"
) >/dev/null 2>&1 &
for _ in $(seq 50); do [ -s "$dir/standin.pid" ] && break; sleep 0.1; done
pid=$(cat "$dir/standin.pid")
echo "standin ${args[*]} (pid $pid, output in $log)"
url=''
deadline=$(( $(date +%s) + ${STANDIN_WAIT:-60} ))
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ -s "$dir/standin.exit" ]; then
    cat "$log" >&2
    echo "standin exited with $(cat "$dir/standin.exit") before it was healthy" >&2
    exit 1
  fi
  if [ -z "$url" ]; then
    url=$(sed -n 's/^standin: listening on \([^ ]*\).*/\1/p' "$log" | head -n 1)
  fi
  if [ -n "$url" ] && "$bin" health --url "$url/__standin/health" 2>/dev/null; then
    # The listening address is 127.0.0.1 already; keep the URL as standin printed it.
    echo "standin is ready at $url"
    if [ -n "${GITHUB_OUTPUT:-}" ]; then
      { echo "url=$url"; echo "log=$log"; echo "pid=$pid"; } >>"$GITHUB_OUTPUT"
    fi
    exit 0
  fi
  sleep 0.2
done
cat "$log" >&2
echo "standin was not healthy after ${STANDIN_WAIT:-60} s" >&2
kill "$pid" 2>/dev/null || true
exit 1
