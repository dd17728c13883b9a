#!/usr/bin/env bash
# Build the static binary (packaging/build-static.sh) and the image from it (Containerfile, FROM
# scratch: nothing is pulled). Installs podman from Debian when it is missing.
#
#   bash packaging/image.sh          # tags localhost/standin:latest (IMAGE=… for another tag)
#   BIN=path/to/standin bash packaging/image.sh    # use an already built static binary
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v podman >/dev/null && [ -z "${PODMAN:-}" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
fi
command -v runc >/dev/null || [ -n "${PODMAN:-}" ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runc >/dev/null; }
. packaging/podman.sh
BIN=${BIN:-$(bash packaging/build-static.sh | tail -n 1)}
mkdir -p target/image
cp "$BIN" target/image/standin
ca=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
if [ -f "$ca" ]; then cp "$ca" target/image/ca-certificates.crt; else : > target/image/ca-certificates.crt; echo "no CA bundle at $ca: https from the image will fail" >&2; fi
$PODMAN build $PODMAN_BUILD -f Containerfile -t "$IMAGE" . >&2
size=$($PODMAN image inspect "$IMAGE" --format '{{.Size}}')
echo "image $IMAGE: $(( size / 1024 / 1024 )) MiB ($size bytes)" >&2
