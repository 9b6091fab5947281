#!/usr/bin/env bash
# Builds the real Pulumi engine from the Go module proxy: the CLI and its Node.js language host,
# at the version of @pulumi/pulumi in node_modules. Cached outside the clone, keyed by version:
#   ${DROPSTACK_ENGINE_CACHE:-~/.cache/dropstack/engine}/cli-<version>/
# so a second run costs seconds. Binaries are never committed.
#
#   scripts/engine/build.sh     build what is missing; print "<part> <version> <dir>" per part
#
# Needs Go and the Go module proxy, nothing else from the network. A cold build takes about 5
# minutes on 2 cores (318 s measured with empty Go module and build caches).
#
# The provider plugins (@pulumi/docker, random, tls, command, digitalocean) are not built: the
# Go module proxy these machines reach answers 403 for their provider modules at every release
# commit (github.com/pulumi/pulumi-docker/provider/v5, pulumi-random/provider/v4,
# pulumi-tls/provider/v5, pulumi-command/provider, pulumi-digitalocean/provider/v4) and for
# their Terraform upstreams. test/engine/run.ts says which checks that leaves out.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${DROPSTACK_ENGINE_CACHE:-$HOME/.cache/dropstack/engine}

log() { printf '[engine] %s\n' "$*" >&2; }
die() { printf '[engine] error: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || die "Go is not installed: the engine is built from Go modules (https://go.dev/doc/install)"
[ -d "$root/node_modules/@pulumi/pulumi" ] || die "node_modules is missing: run npm install first"

# The version of an npm package in node_modules.
npm_version() {
  node -p 'require(process.argv[1]).version' "$root/node_modules/$1/package.json"
}

# part, version, then the script and its arguments; the output folder is added last.
parts=(
  "cli $(npm_version @pulumi/pulumi) build-cli.sh"
)

mkdir -p "$cache"
for line in "${parts[@]}"; do
  read -r part version script args <<<"$line"
  dir="$cache/$part-$version"
  if [ -f "$dir/.complete" ]; then
    log "cached: $part $version (its cold build took $(cat "$dir/.complete") s)"
  else
    log "building $part $version (not in $cache yet)"
    start=$SECONDS
    rm -rf "$dir.partial"
    mkdir -p "$dir.partial"
    # The part scripts report on stdout too; ours is the list of parts, so theirs goes to stderr.
    # shellcheck disable=SC2086 # args is a word list on purpose
    bash "$here/$script" $args "$version" "$dir.partial" >&2 ||
      die "building $part $version failed (above); nothing of it was cached"
    echo "$((SECONDS - start))" >"$dir.partial/.complete"
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
    log "built $part $version in $(cat "$dir/.complete") s"
  fi
  echo "$part $version $dir"
done
