#!/bin/bash
# As docker-stacks' start.sh, for what dropstack uses: the before-notebook.d hooks are sourced
# (so their `unset` reaches the server), CHOWN_EXTRA is given to the notebook user, and the
# command runs as that user when the container starts as root.
set -e
for hook in /usr/local/bin/before-notebook.d/*; do
  case "$hook" in
    *.sh) echo "start.sh: sourcing $hook"; source "$hook" ;;
    *) [ -x "$hook" ] && { echo "start.sh: running $hook"; "$hook"; } ;;
  esac
done
if [ "$(id -u)" = 0 ]; then
  if [ -n "${CHOWN_EXTRA:-}" ]; then
    for d in ${CHOWN_EXTRA//,/ }; do chown -R "${NB_UID}:${NB_GID}" "$d"; done
  fi
  exec setpriv --reuid="${NB_UID}" --regid="${NB_GID}" --init-groups env HOME=/home/jovyan "$@"
fi
exec "$@"
