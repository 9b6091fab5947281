#!/usr/bin/env bash
# Builds FerretDB, a server that speaks MongoDB's wire protocol, from its Go module, for the backup
# checks of `npm run test:engine`: the default stack's Mongo labels (mongodump, mongorestore) run
# against it, with its SQLite backend (pure Go: no PostgreSQL). Prints the binary's path.
#
#   scripts/ferretdb/build.sh
#
# Cached in ${DROPSTACK_CACHE:-~/.cache/dropstack}/ferretdb-<version>/ferretdb, so only the first
# run builds (152 s measured with empty Go module and build caches, beside a Jest run). Static
# (CGO_ENABLED=0), so it runs in a Debian container. Only the Go module proxy is used.
set -euo pipefail

FERRETDB_VERSION=1.24.2

log() { printf '[build-ferretdb] %s\n' "$*" >&2; }
die() { printf '[build-ferretdb] error: %s\n' "$*" >&2; exit 1; }

OUT="${DROPSTACK_CACHE:-$HOME/.cache/dropstack}/ferretdb-$FERRETDB_VERSION"
if [[ -f $OUT/.complete && -x $OUT/ferretdb ]]; then
  echo "$OUT/ferretdb"
  exit 0
fi

if ! command -v go >/dev/null && [[ -x /usr/local/go/bin/go ]]; then
  export PATH="$PATH:/usr/local/go/bin"
fi
command -v go >/dev/null || die "Go is not installed (https://go.dev/doc/install)"

log "building FerretDB v$FERRETDB_VERSION from the Go module proxy"
start=$SECONDS
work=$(mktemp -d)
trap 'chmod -R u+w "$work"; rm -rf "$work"' EXIT
# `go install …@v$FERRETDB_VERSION` builds a binary that panics at start: the module leaves out
# build/version/version.txt, which FerretDB's own build generates from `git describe`
# (https://pkg.go.dev/github.com/FerretDB/FerretDB/build/version). So build a copy of the
# module's source with that file written.
src=$(cd "$work" && go mod download -json "github.com/FerretDB/FerretDB@v$FERRETDB_VERSION" |
  sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[[ -d $src ]] || die "go mod download gave no source folder for FerretDB v$FERRETDB_VERSION"
cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
echo "v$FERRETDB_VERSION" > "$work/src/build/version/version.txt"
echo "go-module-proxy" > "$work/src/build/version/package.txt"
(
  cd "$work/src"
  mkdir -p "$OUT"
  CGO_ENABLED=0 GOFLAGS=-buildvcs=false \
    go build -trimpath -ldflags "-s -w" -o "$OUT/ferretdb" ./cmd/ferretdb
)
reported=$("$OUT/ferretdb" --version 2>&1 | sed -n 's/^version: *\(v[0-9.]*\)$/\1/p')
[[ $reported == "v$FERRETDB_VERSION" ]] || die "the build reports '$reported', not v$FERRETDB_VERSION"
touch "$OUT/.complete"
log "built $OUT/ferretdb in $((SECONDS - start)) s"
echo "$OUT/ferretdb"
