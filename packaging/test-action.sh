#!/usr/bin/env bash
# The GitHub Action's scripts run directly, as the action runs them: start on a free port with a
# report and a recording, requests (one breaking the contract), stop; then the outputs, the
# summary, the JUnit report and the HAR are checked, and `--strict` makes stop exit 1.
#
#   bash packaging/test-action.sh        # STANDIN_BIN=… to test another binary (default: a debug build)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${STANDIN_BIN:-}" ]; then
  cargo build --quiet --bin standin
  STANDIN_BIN=$PWD/target/debug/standin
fi
export STANDIN_BIN
work=$(mktemp -d)
trap 'kill "$(cat "$work/state/standin.pid" 2>/dev/null)" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
out() { sed -n "s/^$1=//p" "$GITHUB_OUTPUT" | tail -n 1; }
export STANDIN_DIR=$work/state GITHUB_OUTPUT=$work/output GITHUB_STEP_SUMMARY=$work/summary.md
export STANDIN_SPEC="specs/bench.yaml" STANDIN_PORT=0 STANDIN_ARGS="--seed 3 --log-format json"
export STANDIN_REPORT=$work/reports/standin.xml STANDIN_RECORD=$work/reports/standin.har

echo "== start"
bash packaging/action/start.sh
url=$(out url)
[[ "$url" == http://127.0.0.1:* ]] || fail "url output: '$url'"
[ -f "$(out log)" ] || fail "log output"
curl -fsS -o /dev/null "$url/api/agent/deals" -H 'X-API-Key: ke_live_abc' || fail "deals"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/agent/deals?limit=500" -H 'X-API-Key: ke_live_abc')
[ "$code" = 400 ] || fail "limit=500 answered $code"

echo "== stop"
bash packaging/action/stop.sh | tee "$work/stop.out"
grep -q 'contract summary: 2 exchanges' "$work/stop.out" || fail "no contract summary"
grep -q 'contract summary' "$GITHUB_STEP_SUMMARY" || fail "no job summary"
grep -q '<testsuite' "$STANDIN_REPORT" || fail "no JUnit report"
grep -q '<failure' "$STANDIN_REPORT" || fail "the report misses the broken request"
python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); assert len(h["log"]["entries"]) == 2, h["log"]["entries"]' "$STANDIN_RECORD" || fail "HAR"
[ ! -e "$STANDIN_DIR/standin.pid" ] || fail "pid file left behind"

echo "== --strict: stop exits 1 when the contract was broken"
STANDIN_ARGS="--strict" bash packaging/action/start.sh >/dev/null
curl -s -o /dev/null "$(out url)/api/agent/deals?limit=500" -H 'X-API-Key: ke_live_abc'
set +e
bash packaging/action/stop.sh >/dev/null
code=$?
set -e
[ "$code" = 1 ] || fail "strict stop exited $code"

echo "== a spec that does not load: start fails with the loader's message"
set +e
STANDIN_SPEC=packaging/testdata/broken.yaml bash packaging/action/start.sh >/dev/null 2>"$work/err"
code=$?
set -e
[ "$code" = 1 ] && grep -q Missing "$work/err" || { cat "$work/err" >&2; fail "broken spec: exit $code"; }
echo "PASS: action"
