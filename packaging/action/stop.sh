#!/usr/bin/env bash
# Stop the standin that start.sh started (the action's `stop`): SIGTERM, so it finishes the HAR,
# writes the JUnit report and prints the contract summary; wait for it (at most STANDIN_STOP_WAIT
# seconds, default 30), show the summary (also in $GITHUB_STEP_SUMMARY when set), and exit with
# standin's own status (1 with --strict when the contract was broken).
set -euo pipefail
dir=${STANDIN_DIR:-${RUNNER_TEMP:-/tmp}/standin}
[ -s "$dir/standin.pid" ] || { echo "standin: not started (no $dir/standin.pid)" >&2; exit 1; }
pid=$(cat "$dir/standin.pid")
log="$dir/standin.log"
kill -TERM "$pid" 2>/dev/null || true
deadline=$(( $(date +%s) + ${STANDIN_STOP_WAIT:-30} ))
while [ ! -s "$dir/standin.exit" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.1; done
if [ ! -s "$dir/standin.exit" ]; then
  echo "standin did not stop within ${STANDIN_STOP_WAIT:-30} s: killed" >&2
  kill -KILL "$pid" 2>/dev/null || true
  exit 1
fi
code=$(cat "$dir/standin.exit")
summary=$(sed -n '/^standin: contract summary/,$p' "$log")
echo "${summary:-standin: no contract summary in $log}"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -n "$summary" ]; then
  { echo '### standin'; echo '```'; echo "$summary"; echo '```'; } >>"$GITHUB_STEP_SUMMARY"
fi
rm -f "$dir/standin.pid"
exit "$code"
