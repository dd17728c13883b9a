# Shared by run-github.sh and run-stripe.sh: build standin, start it on a free loopback port,
# stop it. Sourced, not run.

# The binary: STANDIN_BIN if set, else a release build from this tree.
standin_bin() {
  if [ -n "${STANDIN_BIN:-}" ]; then
    echo "$STANDIN_BIN"
  else
    cargo build --quiet --release --bin standin >&2
    echo "$PWD/target/release/standin"
  fi
}

# start_standin LOG ARGS...: serve on port 0; sets $pid and $url.
start_standin() {
  local log=$1
  shift
  "$bin" serve --port 0 "$@" >"$log" 2>&1 &
  pid=$!
  url=
  for _ in $(seq 300); do
    url=$(sed -n 's/^standin: listening on \([^ ]*\).*/\1/p' "$log")
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then
    echo "standin did not start:" >&2
    cat "$log" >&2
    return 1
  fi
}

stop_standin() {
  if [ -n "${pid:-}" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
  fi
}
