#!/usr/bin/env bash
# Builds Caddy, the node's front proxy, from its Go module at the version the node runs, for
# `caddy validate` and the HTTPS tests. Prints the binary's path.
#
#   scripts/caddy/build.sh            # version from proxy/caddy.ts (CADDY_VERSION)
#
# The binary is cached in ${DROPSTACK_CACHE:-~/.cache/dropstack}/caddy/<version>/caddy, so only
# the first run builds (about 90 s with an empty Go module cache). The build is the one Caddy's
# docs give for a custom build (a main package that imports caddycmd and the standard modules),
# so `caddy version` reports the module version. Only the Go module proxy is used.
set -euo pipefail
cd "$(dirname "$0")/../.."

log() { printf '[build-caddy] %s\n' "$*" >&2; }
die() { printf '[build-caddy] error: %s\n' "$*" >&2; exit 1; }

VERSION=$(sed -n 's/^export const CADDY_VERSION = "\([0-9.]*\)";$/\1/p' proxy/caddy.ts)
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no CADDY_VERSION in proxy/caddy.ts"
OUT="${DROPSTACK_CACHE:-$HOME/.cache/dropstack}/caddy/$VERSION"
if [[ -f $OUT/.complete && -x $OUT/caddy ]]; then
  echo "$OUT/caddy"
  exit 0
fi

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="$PATH:/usr/local/go/bin"
fi
command -v go >/dev/null || die "Go is not installed (https://go.dev/doc/install)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/main.go" <<'GO'
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
GO
log "building Caddy v$VERSION from the Go module proxy"
start=$SECONDS
(
  cd "$work"
  go mod init dropstack.local/caddy >/dev/null 2>&1
  go get "github.com/caddyserver/caddy/v2@v$VERSION" >&2
  go mod tidy >&2
  mkdir -p "$OUT"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$OUT/caddy" .
)
reported=$("$OUT/caddy" version | awk '{ print $1 }')
[[ $reported == "v$VERSION" ]] || die "the build reports $reported, not v$VERSION"
touch "$OUT/.complete"
log "built $OUT/caddy in $((SECONDS - start)) s"
echo "$OUT/caddy"
