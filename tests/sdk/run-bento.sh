#!/usr/bin/env bash
# Run Bento's official Node SDK against standin (see tests/sdk/bento.mjs). Needs node and npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent @bentonow/bento-node-sdk@2.0.0 >/dev/null)
cp tests/sdk/bento.mjs "$work/"
# The debug build: CI has just built it for `cargo test`.
cargo build --quiet --bin standin
./target/debug/standin serve --spec specs/bento.yaml --port 0 >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$work/serve.log" && break; sleep 0.1; done
url=$(sed -n 's/^standin: listening on \([^ ]*\).*/\1/p' "$work/serve.log")
(cd "$work" && STANDIN_URL="$url" node bento.mjs)
