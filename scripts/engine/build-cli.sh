#!/usr/bin/env bash
# Build the Pulumi CLI and its Node.js language host from Go modules.
#
#   scripts/engine/build-cli.sh VERSION OUTDIR
#
# Writes OUTDIR/pulumi and OUTDIR/pulumi-language-nodejs (side by side: the CLI
# looks for its language hosts next to itself) for Pulumi VERSION, e.g. 3.259.0.
# The only network used is the Go module proxy (GOPROXY without "direct").
#
# How the upstream release is reproduced (see .goreleaser.yml and
# scripts/go-wrapper.sh in pulumi/pulumi):
# - The CLI is the package github.com/pulumi/pulumi/pkg/v3/cmd/pulumi. pkg/go.mod
#   has replace lines (sdk/v3 => ../sdk, a clipboard fork, ...), so
#   `go install ...@vX` refuses it. It is built from a throwaway wrapper module
#   that requires pkg/v3 and sdk/v3 at the same version and copies the non-local
#   replaces of pkg/go.mod, read from the proxy (.../@v/vX.mod). Those of
#   sdk/go.mod are not copied: Go ignores a dependency's replaces, and the release
#   builds the CLI in pkg/, where only pkg/go.mod's apply.
# - The language host is its own module,
#   github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3, with no
#   tag of its own: it is asked for at vX, then by commit (the Origin.Hash of
#   pkg/v3@vX.info, and LANGHOST_COMMIT if set: the commit of the vX tag), and
#   built like the CLI with the non-local replaces of its own go.mod.
# - If the proxy serves none of these (the case so far), the host is built from
#   the last sdk/v3 release that still carried it as a package,
#   github.com/pulumi/pulumi/sdk/v3/nodejs/cmd/pulumi-language-nodejs at
#   LANGHOST_FALLBACK_SDK (default v3.68.0; set it to "none" to fail instead).
#   That old host speaks the same gRPC protocol and runs @pulumi/pulumi's
#   cmd/run the same way; it does not pass --root-directory (so
#   pulumi.getRootDirectory() is unset) and ignores runtime options other than
#   typescript (always on), tsconfig and nodeargs.
# - Release flags: CGO_ENABLED=0, -trimpath, -tags osusergo,grpcnotrace,
#   -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=vX".
#
# Environment: GOFLAGS gets -p=2 unless it sets -p; GOTOOLCHAIN is left as it is
# (if the modules need a newer Go than `go`, export e.g. GOTOOLCHAIN=go1.27.3).
set -euo pipefail

log() { printf '[build-cli] %s\n' "$*" >&2; }
die() { printf '[build-cli] error: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: $0 VERSION OUTDIR   (e.g. $0 3.259.0 ./bin)"
VERSION=${1#v}
OUTDIR=$2
[[ $VERSION =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "VERSION must look like 3.259.0, not '$1'"
V=v$VERSION

PKG_MOD=github.com/pulumi/pulumi/pkg/v3
SDK_MOD=github.com/pulumi/pulumi/sdk/v3
CLI_PKG=$PKG_MOD/cmd/pulumi
HOST_MOD=github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3
HOST_PKG=$HOST_MOD
# The last sdk/v3 release in which the host was a package of sdk/v3 (v3.69.0 made it a module).
FALLBACK_SDK=${LANGHOST_FALLBACK_SDK:-v3.68.0}
FALLBACK_HOST_PKG=$SDK_MOD/nodejs/cmd/pulumi-language-nodejs
VERSION_VAR=github.com/pulumi/pulumi/sdk/v3/go/common/version.Version

command -v go >/dev/null || die "Go is not installed (https://go.dev/doc/install)"
command -v curl >/dev/null || die "curl is needed to ask the Go module proxy what it serves"

# Only the proxy: no "direct", no private modules, no vendoring.
PROXY=${GOPROXY:-https://proxy.golang.org}
PROXY=${PROXY%%,*}
PROXY=${PROXY%%|*}
PROXY=${PROXY%/}
[[ $PROXY == http* ]] || die "GOPROXY must name a module proxy (got '${GOPROXY:-}')"
export GOPROXY=$PROXY GONOPROXY='' GOPRIVATE='' GONOSUMDB='' GOFLAGS=${GOFLAGS:-}
[[ " $GOFLAGS " == *" -p="* ]] || GOFLAGS="$GOFLAGS -p=2"
[[ " $GOFLAGS " == *" -buildvcs="* ]] || GOFLAGS="$GOFLAGS -buildvcs=false"
export GOFLAGS="${GOFLAGS# }" CGO_ENABLED=0

start=$SECONDS
mkdir -p "$OUTDIR"
OUTDIR=$(cd "$OUTDIR" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/build-cli.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Module path as the proxy spells it (capitals become !lowercase).
escape() { sed -E 's/([A-Z])/!\L\1/g' <<<"$1"; }

# proxy_get MODULE VERSION EXT FILE: fetch .info/.mod; 0 if served, else 1 with the
# proxy's answer in $proxy_answer. Dies if the proxy cannot be reached at all.
proxy_answer=
proxy_get() {
  local url code
  url="$PROXY/$(escape "$1")/@v/$2.$3"
  code=$(curl -sS -L --retry 2 -o "$4" -w '%{http_code}' "$url") ||
    die "cannot reach the Go module proxy at $PROXY (asking for $1@$2)"
  if [[ $code == 200 ]]; then
    return 0
  fi
  proxy_answer="HTTP $code: $(tr -s '\n' ' ' <"$4" | head -c 200 | sed 's/ *$//')"
  return 1
}

# require_served MODULE VERSION: fetch its go.mod into $work, or die saying which.
require_served() {
  local f
  f="$work/$(tr '/' '_' <<<"$1")@$2.mod"
  proxy_get "$1" "$2" mod "$f" ||
    die "module $1 version $2 is not served by the Go proxy $PROXY ($proxy_answer)"
  printf '%s\n' "$f"
}

# The version a .info answer names (a pseudo-version when asked by commit).
info_field() { sed -nE "s/.*\"$2\": *\"([^\"]*)\".*/\1/p" "$1" | head -n1; }

# replaces_of GOMOD: its replace directives whose target is a module (not a local
# directory), as OLD[@V]=NEW@V arguments for `go mod edit -replace`.
replaces_of() {
  awk '
    { sub(/\/\/.*/, ""); line = "" }
    /^replace[ \t]*\(/ { blk = 1; next }
    blk && /^[ \t]*\)/ { blk = 0; next }
    blk { line = $0 }
    !blk && /^replace[ \t]/ { line = $0; sub(/^replace[ \t]+/, "", line) }
    line != "" {
      split(line, side, /=>/)
      nl = split(side[1], l, " "); nr = split(side[2], r, " ")
      if (nr == 2) print l[1] (nl == 2 ? "@" l[2] : "") "=" r[1] "@" r[2]
    }
  ' "$1"
}

# The go directive of a go.mod, and a check that this Go can build it.
check_go() {
  local need have
  need=$(awk '$1 == "go" { print $2; exit }' "$1")
  [[ -n $need ]] || return 0
  have=$(go env GOVERSION)
  have=${have#go}
  if [[ $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1) != "$need" ]] &&
    [[ $(go env GOTOOLCHAIN) == local* ]]; then
    die "$2 needs Go $need but 'go' is $have with GOTOOLCHAIN=local: export GOTOOLCHAIN=go$need (or a newer go1.x.y the proxy serves) and run again"
  fi
}

# build NAME MAIN_PKG STAMP_VERSION "MOD@VER ..." GOMOD_WITH_REPLACES...
# Builds MAIN_PKG in a fresh wrapper module into OUTDIR/NAME (replaced atomically).
build() {
  local name=$1 main=$2 stamp=$3 reqs=$4
  shift 4
  local dir="$work/$name" req rep f mod want got
  mkdir -p "$dir"
  (
    cd "$dir"
    go mod init dropstack.local/engine-build/"$name" >/dev/null 2>&1
    for req in $reqs; do go mod edit -require="$req"; done
    for f in "$@"; do
      while read -r rep; do
        log "  $name: replace ${rep/=/ => }"
        go mod edit -replace="$rep"
      done < <(replaces_of "$f")
    done
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$main" >tools.go
    log "$name: resolving modules (go mod tidy)"
    if ! go mod tidy >tidy.log 2>&1; then
      grep -v '^go: downloading' tidy.log | tail -n 30 >&2
      if grep -q '403 Forbidden\|not available' tidy.log; then
        die "a module version needed by $main is not served by the Go proxy: $(grep -o '[^ ]*@v[^ :]*' tidy.log | grep -v '^https' | sort -u | head -n 5 | tr '\n' ' ')(see the lines above)"
      fi
      die "go mod tidy failed for $name (above)"
    fi
    for req in $reqs; do
      mod=${req%@*} want=${req#*@}
      got=$(go list -m -f '{{.Version}}' "$mod")
      [[ $got == "$want" ]] ||
        die "$name: $mod was raised from $want to $got by another requirement; refusing a mixed build"
    done
    log "$name: compiling $main (GOFLAGS='$GOFLAGS')"
    go build -trimpath -tags osusergo,grpcnotrace \
      -ldflags "-s -w -X $VERSION_VAR=$stamp" \
      -o "$OUTDIR/.$name.partial" "$main" ||
      die "go build of $main failed (above)"
  )
  mv -f "$OUTDIR/.$name.partial" "$OUTDIR/$name"
}

# --- CLI ---------------------------------------------------------------------
log "checking the Go proxy for $PKG_MOD and $SDK_MOD at $V"
pkg_gomod=$(require_served "$PKG_MOD" "$V")
require_served "$SDK_MOD" "$V" >/dev/null
check_go "$pkg_gomod" "$PKG_MOD@$V"
proxy_get "$PKG_MOD" "$V" info "$work/pkg.info" || true
pkg_commit=$(info_field "$work/pkg.info" Hash)

rm -f "$OUTDIR/.pulumi.partial" "$OUTDIR/.pulumi-language-nodejs.partial"
t0=$SECONDS
build pulumi "$CLI_PKG" "$V" "$PKG_MOD@$V $SDK_MOD@$V" "$pkg_gomod"
cli_seconds=$((SECONDS - t0))

# --- Node.js language host -----------------------------------------------------
host_version=
host_candidates=("$V" ${LANGHOST_COMMIT:+"$LANGHOST_COMMIT"} ${pkg_commit:+"$pkg_commit"})
for ref in "${host_candidates[@]}"; do
  if proxy_get "$HOST_MOD" "$ref" info "$work/host.info"; then
    host_version=$(info_field "$work/host.info" Version)
    log "language host: $HOST_MOD@$ref is served as $host_version"
    break
  fi
  log "language host: $HOST_MOD@$ref is not served ($proxy_answer)"
done

t0=$SECONDS
if [[ -n $host_version ]]; then
  host_gomod=$(require_served "$HOST_MOD" "$host_version")
  check_go "$host_gomod" "$HOST_MOD@$host_version"
  build pulumi-language-nodejs "$HOST_PKG" "$V" \
    "$HOST_MOD@$host_version $PKG_MOD@$V $SDK_MOD@$V" "$host_gomod"
  host_desc="$HOST_MOD@$host_version (with $PKG_MOD@$V, $SDK_MOD@$V)"
else
  [[ $FALLBACK_SDK != none ]] ||
    die "module $HOST_MOD is not served by the Go proxy at ${host_candidates[*]}, and LANGHOST_FALLBACK_SDK=none"
  log "WARNING: the Go proxy serves $HOST_MOD at none of: ${host_candidates[*]}"
  log "WARNING: building the language host of $SDK_MOD@$FALLBACK_SDK instead (older, same protocol)"
  sdk_old_gomod=$(require_served "$SDK_MOD" "$FALLBACK_SDK")
  check_go "$sdk_old_gomod" "$SDK_MOD@$FALLBACK_SDK"
  build pulumi-language-nodejs "$FALLBACK_HOST_PKG" "$FALLBACK_SDK" \
    "$SDK_MOD@$FALLBACK_SDK" "$sdk_old_gomod"
  host_desc="$FALLBACK_HOST_PKG from $SDK_MOD@$FALLBACK_SDK (fallback: $HOST_MOD not served)"
fi
host_seconds=$((SECONDS - t0))

# --- Summary (stdout) -------------------------------------------------------------
size() { du -h "$1" | cut -f1; }
cat <<EOF
built $OUTDIR/pulumi ($(size "$OUTDIR/pulumi"), ${cli_seconds}s): $("$OUTDIR/pulumi" version)
  from $CLI_PKG with $PKG_MOD@$V${pkg_commit:+ (commit $pkg_commit)}, $SDK_MOD@$V
built $OUTDIR/pulumi-language-nodejs ($(size "$OUTDIR/pulumi-language-nodejs"), ${host_seconds}s)
  from $host_desc
wall time: $((SECONDS - start))s ($(go env GOVERSION), GOFLAGS='$GOFLAGS', CGO_ENABLED=0)
EOF
