#!/usr/bin/env bash
# Builds Pebble, Let's Encrypt's test ACME server, and pebble-challtestsrv, its DNS stand-in, at
# a pinned version, for test/proxy.acme.test.ts: Let's Encrypt cannot be reached from a test, and
# Pebble implements what dropstack's default needs of it, ACME profiles and IP identifiers
# (RFC 8738). Prints the directory that holds both binaries.
#
#   scripts/caddy/build-pebble.sh     # version from test/pebble.ts (PEBBLE_VERSION)
#
# The binaries are cached in ${DROPSTACK_CACHE:-~/.cache/dropstack}/pebble/<version>/, so only
# the first run builds (about 20 s with empty Go module and build caches). `go install
# module@version` builds the released module with its own go.sum; only the Go module proxy is used.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[build-pebble] %s\n' "$*" >&2; }
die() { printf '[build-pebble] error: %s\n' "$*" >&2; exit 1; }

VERSION=$(sed -n 's/^export const PEBBLE_VERSION = "\([0-9.]*\)";$/\1/p' test/pebble.ts)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no PEBBLE_VERSION in test/pebble.ts"
MODULE=github.com/letsencrypt/pebble/v2
OUT="${DROPSTACK_CACHE:-$HOME/.cache/dropstack}/pebble/$VERSION"
if [[ -f $OUT/.complete && -x $OUT/pebble && -x $OUT/pebble-challtestsrv ]]; then
  echo "$OUT"
  exit 0
fi

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="$PATH:/usr/local/go/bin"
fi
command -v go >/dev/null || die "Go is not installed (https://go.dev/doc/install)"

log "building Pebble v$VERSION from the Go module proxy"
start=$SECONDS
rm -f "$OUT/.complete"
mkdir -p "$OUT"
for command in pebble pebble-challtestsrv; do
  # Pebble prints main.version for -version; a plain `go install` leaves it "dev".
  GOBIN="$OUT" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w -X main.version=v$VERSION" \
    "$MODULE/cmd/$command@v$VERSION" >&2
  # The module version Go recorded in the binary, whatever it prints.
  built=$(go version -m "$OUT/$command" |
    awk -v module="$MODULE" '$1 == "mod" && $2 == module { print $3 }')
  [[ $built == "v$VERSION" ]] || die "$command is ${built:-of an unknown version}, not v$VERSION"
done
touch "$OUT/.complete"
log "built pebble and pebble-challtestsrv in $OUT in $((SECONDS - start)) s"
echo "$OUT"
