#!/usr/bin/env bash
# Smoke test of what packaging takes from the binary: --version, the completion scripts (each
# checked by its shell when that shell is installed), the man pages, and `health`'s exit codes.
#
#   bash packaging/test-cli.sh [path/to/standin]      # default: a debug build
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-}
if [ -z "$bin" ]; then cargo build --quiet --bin standin; bin=target/debug/standin; fi
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin" --version | grep -qE '^standin [0-9]+\.[0-9]+\.[0-9]+ \(commit ([0-9a-f]{7,}|unknown)\)' || fail "--version: $("$bin" --version)"
for sh in bash zsh fish; do
  "$bin" completions "$sh" >"$work/standin.$sh"
  for sub in serve check routes replay verify completions man health; do grep -q "$sub" "$work/standin.$sh" || fail "$sh completions lack $sub"; done
done
bash -n "$work/standin.bash" || fail "bash completions do not parse"
bash -c ". '$work/standin.bash' && complete -p standin" >/dev/null || fail "bash completions register nothing"
if command -v zsh >/dev/null; then zsh -n "$work/standin.zsh" || fail "zsh completions do not parse"; fi
if command -v fish >/dev/null; then fish --no-execute "$work/standin.fish" || fail "fish completions do not parse"; fi
"$bin" man >"$work/standin.1"
grep -q '^\.TH standin 1' "$work/standin.1" || fail "man page header"
"$bin" man --out-dir "$work/man"
for page in standin standin-serve standin-check standin-health; do [ -s "$work/man/$page.1" ] || fail "no $page.1"; done
if command -v man >/dev/null; then MANWIDTH=80 man -l "$work/standin.1" 2>/dev/null | grep -q 'serve' || fail "man -l renders nothing"; fi
# health: 1 with nothing listening, 0 once a server is up.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if "$bin" health --url "http://127.0.0.1:$port/__standin/health" 2>/dev/null; then fail "health 0 with nothing listening"; fi
"$bin" serve --spec specs/bench.yaml --port "$port" --log-format off >"$work/log" 2>&1 &
pid=$!
for _ in $(seq 100); do "$bin" health --url "http://127.0.0.1:$port/__standin/health" 2>/dev/null && break; sleep 0.1; done
"$bin" health --url "http://127.0.0.1:$port/__standin/health" || fail "health 1 with a server up: $(cat "$work/log")"
echo "PASS: cli (version, completions, man, health)"
