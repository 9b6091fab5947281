#!/usr/bin/env bash
# Installs moto's S3 server (moto[server], from the Python package index) into a virtual
# environment: an S3-compatible server on loopback, which the backup checks of
# `npm run test:engine` run restic and the backup container's script against in Spaces' place.
# Prints the environment's moto_server.
#
#   scripts/moto/build.sh
#
# Cached in ${DROPSTACK_CACHE:-~/.cache/dropstack}/moto/<version>/ (about 20 s the first time);
# later runs reuse it.
set -euo pipefail

MOTO_VERSION=5.2.6

log() { printf '[build-moto] %s\n' "$*" >&2; }
die() { printf '[build-moto] error: %s\n' "$*" >&2; exit 1; }

OUT="${DROPSTACK_CACHE:-$HOME/.cache/dropstack}/moto/$MOTO_VERSION"
if [[ -f $OUT/.complete && -x $OUT/bin/moto_server ]]; then
  echo "$OUT/bin/moto_server"
  exit 0
fi
command -v python3 >/dev/null || die "python3 is not installed"
rm -rf "$OUT"
log "installing moto[server] $MOTO_VERSION into $OUT"
python3 -m venv "$OUT" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
"$OUT/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >&2
"$OUT/bin/python" -c "import moto.server" || die "the installed moto does not import"
touch "$OUT/.complete"
echo "$OUT/bin/moto_server"
