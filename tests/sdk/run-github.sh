#!/usr/bin/env bash
# Run GitHub's official SDK (@octokit/rest) against standin serving GitHub's own spec from npm
# (@octokit/openapi), unmodified, in --stateless and in the default (stateful) mode.
# Needs node and npm. STANDIN_BIN=path skips the release build; STANDIN_ACCEPT_JSON=1 lets the
# SDK send `Accept: application/json` (see github.mjs); STANDIN_CHECK_ANSWERS=1 puts a validating
# proxy in front and lists the answers that break the spec (see lib.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/sdk/lib.sh
work=$(mktemp -d)
trap 'stop_standin; rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent @octokit/rest@22.0.1 @octokit/openapi@23.0.2 >/dev/null)
cp tests/sdk/github.mjs "$work/"
spec="$work/node_modules/@octokit/openapi/generated/api.github.com.json"
bin=$(standin_bin)
status=0
for mode in stateless stateful; do
  flags=()
  [ "$mode" = stateless ] && flags=(--stateless)
  start_standin "$work/serve-$mode.log" --spec "$spec" "${flags[@]}"
  (cd "$work" && STANDIN_URL="$url" STANDIN_MODE="$mode" node github.mjs) || status=1
  check_answers "github ($mode)"
  stop_standin
done
exit $status
