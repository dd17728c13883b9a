#!/usr/bin/env bash
# Build the self-contained Linux binary: glibc linked in statically (crt-static), TLS by rustls,
# so it runs on any x86_64 Linux kernel without shared libraries, also in a `FROM scratch` image.
# Hostnames resolve through glibc's built-in files/dns lookup (/etc/hosts, /etc/resolv.conf);
# NSS modules beyond those (mdns, LDAP) cannot be loaded by a static binary.
#
#   bash packaging/build-static.sh            # prints the binary's path on the last line
#   PROFILE=release bash packaging/build-static.sh
#
# The flags are set here, for this target only, not in a .cargo/config that would change every
# developer build; `--target` keeps them off build scripts and proc macros (which must be dynamic).
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-gnu
PROFILE=${PROFILE:-dist}
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static"
start=$(date +%s)
cargo build --locked --profile "$PROFILE" --target "$TARGET" --bin standin >&2
bin="${CARGO_TARGET_DIR:-target}/$TARGET/$PROFILE/standin"
echo "built in $(( $(date +%s) - start )) s: $(du -h "$bin" | cut -f1) ($(stat -c %s "$bin") bytes)" >&2
# The proof that nothing is loaded at run time: no interpreter, no NEEDED entries.
if ! file "$bin" | grep -q 'static'; then
  file "$bin" >&2; echo "not a static binary" >&2; exit 1
fi
if ldd "$bin" >/dev/null 2>&1 && ! ldd "$bin" 2>&1 | grep -qE 'not a dynamic executable|statically linked'; then
  ldd "$bin" >&2; echo "needs shared libraries" >&2; exit 1
fi
echo "$bin"
