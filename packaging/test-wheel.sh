#!/usr/bin/env bash
# Build the Python wheel (maturin, `bin` bindings: the static binary inside), install it into a
# fresh virtualenv, run `standin --version`, and run a tiny pytest test that uses the package's
# `standin` fixture. Publishing is not done here; the wheel is left in $WORK/wheels.
#
#   bash packaging/test-wheel.sh           # PROFILE=release for a quicker, bigger build
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
WORK=${WORK:-$(mktemp -d)}
trap '[ -n "${KEEP:-}" ] || rm -rf "$WORK/venv" "$WORK/build" "$WORK/t"' EXIT
python3 -m venv "$WORK/build"
"$WORK/build/bin/pip" install --quiet 'maturin>=1.9,<2'
# The same static link as packaging/build-static.sh, so both share one build.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static"
rm -rf "$WORK/wheels"
start=$(date +%s)
(cd packaging/python && "$WORK/build/bin/maturin" build --locked --target x86_64-unknown-linux-gnu \
  ${PROFILE:+--profile "$PROFILE"} --out "$WORK/wheels")
wheel=$(ls "$WORK"/wheels/standin-*.whl)
echo "wheel $(basename "$wheel"): $(du -h "$wheel" | cut -f1), built in $(( $(date +%s) - start )) s"

python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet "$wheel" pytest
"$WORK/venv/bin/standin" --version | grep -E '^standin [0-9].* \(commit ' || { echo "FAIL: standin --version" >&2; exit 1; }
mkdir -p "$WORK/t"
cat > "$WORK/t/test_with_standin.py" <<PY
import json, os, urllib.request, urllib.error
import standin as standin_pkg

DATA = os.path.join("$repo", "packaging", "testdata")
PETS = os.path.join(DATA, "api", "pets.yaml")

def test_the_binary_is_the_wheels():
    assert standin_pkg.binary().startswith(os.path.join("$WORK", "venv"))

def test_the_fixture_serves_a_spec(standin, tmp_path):
    report = tmp_path / "standin.xml"
    server = standin(PETS, "--seed", "7", "--report", str(report), fixtures=os.path.join(DATA, "api", "fixtures"))
    with urllib.request.urlopen(server.url + "/v2/pets") as r:
        assert json.load(r)[0]["name"] == "Rex from the mounted fixture"
    try:
        urllib.request.urlopen(server.url + "/v2/pets?limit=50")
        raise AssertionError("limit=50 was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400
    assert server.stop() == 0
    assert "contract summary: 2 exchanges" in server.output()
    assert "<failure" in report.read_text()

def test_a_broken_spec_says_why(standin):
    try:
        standin(os.path.join(DATA, "broken.yaml"))
        raise AssertionError("started")
    except standin_pkg.StandinError as e:
        assert "Missing" in str(e)
PY
(cd "$WORK/t" && "$WORK/venv/bin/python" -m pytest -q -p no:cacheprovider)
echo "PASS: wheel"
