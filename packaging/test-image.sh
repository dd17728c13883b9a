#!/usr/bin/env bash
# Build the image (packaging/image.sh) and check it: the bundled vendor specs with no arguments,
# a mounted spec with mounted fixtures, a mounted spec that fails to load (non-zero exit, the
# loader's message on stderr), the health check, the user, and https through the validation
# proxy (rustls and the CA bundle in the image, a hostname resolved without NSS modules).
#
#   bash packaging/test-image.sh          # SKIP_BUILD=1 to test an image built before
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_BUILD:-}" ] || bash packaging/image.sh
. packaging/podman.sh
work=$(mktemp -d)
names=()
cleanup() {
  for n in "${names[@]}"; do $PODMAN rm -f -t 2 "$n" >/dev/null 2>&1 || true; done
  [ -n "${tls_pid:-}" ] && kill "$tls_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
ms() { date +%s%3N; }
# Wait (at most 20 s) for a 200 from URL; prints the milliseconds since $1.
wait_health() {
  local since=$1 url=$2 name=$3
  for _ in $(seq 200); do
    if curl -fsS -o /dev/null "$url" 2>/dev/null; then echo $(( $(ms) - since )); return 0; fi
    if [ "$($PODMAN inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" != "true" ]; then
      $PODMAN logs "$name" >&2 || true; fail "$name stopped before it was healthy"
    fi
    sleep 0.1
  done
  $PODMAN logs "$name" >&2 || true; fail "$name: no health at $url"
}
status() { curl -s -o "$work/body" -w '%{http_code}' "$@"; }

echo "== image"
user=$($PODMAN image inspect "$IMAGE" --format '{{.Config.User}}')
[ "$user" = "65532:65532" ] || fail "user is '$user'"
size=$($PODMAN image inspect "$IMAGE" --format '{{.Size}}')
echo "size $(( size / 1024 / 1024 )) MiB, user $user"
$PODMAN run --rm $PODMAN_RUN --entrypoint /standin "$IMAGE" --version | tee "$work/version"
grep -q '^standin [0-9].* (commit ' "$work/version" || fail "--version"

echo "== bundled vendor specs (no arguments)"
if curl -s -o /dev/null http://127.0.0.1:4010/ 2>/dev/null; then
  echo "port 4010 is taken here: the no-argument run is skipped" >&2
else
  n=standin-test-bundled-$$; names+=("$n")
  t0=$(ms)
  $PODMAN run -d --name "$n" $PODMAN_RUN "$IMAGE" >/dev/null
  echo "healthy $(wait_health "$t0" http://127.0.0.1:4010/__standin/health "$n") ms after podman run"
  [ "$(status http://127.0.0.1:4010/api/agent/deals -H 'X-API-Key: ke_live_abc')" = 200 ] || fail "Bench deals: $(cat "$work/body")"
  [ "$(status http://127.0.0.1:4010/v1/crm/leads -H 'Authorization: Bearer key')" = 200 ] || fail "Bi369 leads: $(cat "$work/body")"
  [ "$(status http://127.0.0.1:4010/api/v1/workflows -H 'Host: benchwork.app' -H 'Authorization: Bearer bw_live_abc')" = 200 ] || fail "Benchwork workflows: $(cat "$work/body")"
  [ "$(status 'http://127.0.0.1:4010/api/v1/fetch/tags?site_uuid=abc' -H 'Host: app.bentonow.com' -u pk:sk -A 'AcmeCRM/1.0')" = 200 ] || fail "Bento tags: $(cat "$work/body")"
  [ "$(status http://127.0.0.1:4010/api/agent/deals)" = 401 ] || fail "Bench without a key: not 401"
  # The image's own health check (HEALTHCHECK runs `standin health` inside the container).
  $PODMAN healthcheck run "$n" || fail "podman healthcheck run"
  echo "bundled specs answer; health check passes"
  $PODMAN rm -f -t 5 "$n" >/dev/null
fi

echo "== a mounted spec with mounted fixtures"
port=$(free_port)
n=standin-test-mounted-$$; names+=("$n")
t0=$(ms)
$PODMAN run -d --name "$n" $PODMAN_RUN -v "$PWD/packaging/testdata/api:/data:ro" "$IMAGE" \
  --spec /data/pets.yaml --fixtures /data/fixtures --port "$port" >/dev/null
echo "healthy $(wait_health "$t0" "http://127.0.0.1:$port/__standin/health" "$n") ms after podman run"
[ "$(status "http://127.0.0.1:$port/v2/pets")" = 200 ] || fail "pets: $(cat "$work/body")"
grep -q 'Rex from the mounted fixture' "$work/body" || fail "pets did not come from the mounted fixture: $(cat "$work/body")"
[ "$(status "http://127.0.0.1:$port/v2/pets?limit=50")" = 400 ] || fail "limit=50 was not refused"
$PODMAN exec "$n" /standin health --url "http://127.0.0.1:$port/__standin/health" || fail "standin health in the container"
echo "mounted spec answers from its fixture and validates"
$PODMAN rm -f -t 5 "$n" >/dev/null

echo "== a mounted spec that does not load"
set +e
$PODMAN run --rm $PODMAN_RUN -v "$PWD/packaging/testdata:/data:ro" "$IMAGE" --spec /data/broken.yaml --port "$(free_port)" \
  >"$work/out" 2>"$work/err"
code=$?
set -e
[ "$code" -ne 0 ] || fail "a broken spec exited 0"
grep -q 'Missing' "$work/err" || { cat "$work/out" "$work/err" >&2; fail "the loader's message is not on stderr"; }
echo "exit $code; stderr: $(head -n 3 "$work/err")"

echo "== https through the validation proxy (rustls, the image's CA store replaced by a test CA)"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=standin test CA' -keyout "$work/ca.key" -out "$work/ca.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout "$work/tls.key" -out "$work/tls.csr" >/dev/null 2>&1
printf 'subjectAltName=DNS:localhost\n' > "$work/ext"
openssl x509 -req -in "$work/tls.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial -days 2 -extfile "$work/ext" -out "$work/tls.pem" >/dev/null 2>&1
tls_port=$(free_port)
python3 - "$tls_port" "$work" <<'PY' &
import http.server, json, ssl, sys
port, work = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps([{"id": 7, "name": "from the https upstream"}]).encode()
        self.send_response(200); self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(f"{work}/tls.pem", f"{work}/tls.key")
s = http.server.HTTPServer(("127.0.0.1", port), H); s.socket = ctx.wrap_socket(s.socket, server_side=True); s.serve_forever()
PY
tls_pid=$!
chmod a+r "$work"/*.pem
port=$(free_port)
n=standin-test-tls-$$; names+=("$n")
t0=$(ms)
$PODMAN run -d --name "$n" $PODMAN_RUN -v "$PWD/packaging/testdata/api:/data:ro" -v "$work/ca.pem:/ca.pem:ro" -e SSL_CERT_FILE=/ca.pem "$IMAGE" \
  --spec /data/pets.yaml --no-fixtures --port "$port" --upstream "https://localhost:$tls_port" >/dev/null
wait_health "$t0" "http://127.0.0.1:$port/__standin/health" "$n" >/dev/null
[ "$(status "http://127.0.0.1:$port/v2/pets")" = 200 ] || { $PODMAN logs "$n" >&2; fail "proxied pets: $(cat "$work/body")"; }
grep -q 'from the https upstream' "$work/body" || fail "the answer did not come from the https upstream: $(cat "$work/body")"
echo "https upstream reached by hostname, certificate checked against the mounted CA"
echo "PASS: image"
