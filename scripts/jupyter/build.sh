#!/usr/bin/env bash
# Installs the Jupyter server line the notebook image runs (jupyter_server 2.x, with ipykernel)
# into a virtual environment, for the tests that start a real server with the image's hooks and
# settings: Debian's python3-jupyter-server is 1.23, which reads its password and token from
# other settings than 2.x does. Prints the environment's python.
#
#   scripts/jupyter/build.sh
#
# Cached in ${DROPSTACK_CACHE:-~/.cache/dropstack}/jupyter-server/<version>/ (about 20 s the
# first time, from the Python package index); later runs reuse it.
set -euo pipefail

JUPYTER_SERVER_VERSION=2.21.1
IPYKERNEL_VERSION=7.4.0

log() { printf '[build-jupyter] %s\n' "$*" >&2; }
die() { printf '[build-jupyter] error: %s\n' "$*" >&2; exit 1; }

OUT="${DROPSTACK_CACHE:-$HOME/.cache/dropstack}/jupyter-server/$JUPYTER_SERVER_VERSION"
if [[ -f $OUT/.complete && -x $OUT/bin/python ]]; then
  echo "$OUT/bin/python"
  exit 0
fi
command -v python3 >/dev/null || die "python3 is not installed"
rm -rf "$OUT"
log "installing jupyter_server $JUPYTER_SERVER_VERSION and ipykernel $IPYKERNEL_VERSION into $OUT"
python3 -m venv "$OUT" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
"$OUT/bin/pip" install --quiet --disable-pip-version-check \
  "jupyter_server==$JUPYTER_SERVER_VERSION" "ipykernel==$IPYKERNEL_VERSION" >&2
"$OUT/bin/python" -c "import jupyter_server, ipykernel" || die "the installed server does not import"
touch "$OUT/.complete"
echo "$OUT/bin/python"
