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

# serve_one LOG ARGS...: serve on port 0; prints "PID URL".
serve_one() {
  local log=$1
  shift
  "$bin" serve --port 0 "$@" >"$log" 2>&1 &
  local p=$! u=
  for _ in $(seq 300); do
    u=$(sed -n 's/^standin: listening on \([^ ]*\).*/\1/p' "$log")
    [ -n "$u" ] && break
    kill -0 "$p" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$u" ]; then
    echo "standin did not start:" >&2
    cat "$log" >&2
    return 1
  fi
  echo "$p $u"
}

# start_standin LOG ARGS...: serve on port 0; sets $pid and $url. With STANDIN_CHECK_ANSWERS=1 a
# second standin, a validating proxy (--upstream) with the same spec, stands in front: $url is
# the proxy's, and check_answers prints the answers it saw break the spec.
start_standin() {
  local log=$1 started
  shift
  started=$(serve_one "$log" "$@") || return 1
  read -r pid url <<<"$started"
  proxy_pid=
  if [ "${STANDIN_CHECK_ANSWERS:-}" = 1 ]; then
    started=$(serve_one "$log.proxy" "$@" --upstream "$url") || return 1
    read -r proxy_pid url <<<"$started"
  fi
}

# check_answers LABEL: the response violations the proxy recorded (answers below 400; standin's
# own error answers are another matter), by operation. Informational: it does not fail the run.
check_answers() {
  [ -n "${proxy_pid:-}" ] || return 0
  curl -s "$url/__standin/violations" | node -e '
    let text = ""; process.stdin.on("data", (c) => (text += c)).on("end", () => {
      const by = {};
      for (const e of JSON.parse(text)) {
        if (e.status >= 400) continue;
        for (const v of e.violations || []) {
          if (!v.location.startsWith("response")) continue;
          const k = `${e.operation} ${v.location}: ${v.message}`.slice(0, 160);
          by[k] = (by[k] || 0) + 1;
        }
      }
      const keys = Object.keys(by);
      console.log(`'"$1"': ${keys.length} kinds of response violation in answers below 400`);
      for (const k of keys) console.log(`  ${k}`);
    });'
}

stop_standin() {
  for p in ${proxy_pid:-} ${pid:-}; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pid=
  proxy_pid=
}
