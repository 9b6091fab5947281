#!/bin/sh
# Runs on the machine of whoever runs `pulumi up` (a local.Command of the Node component) and
# blocks until the node can take containers: SSH answers with the pinned host key, cloud-init
# is done, the data volume is mounted and Docker answers. It connects exactly as the Docker
# provider will, so a success here means the provider can connect too.
#
# Environment: DROPSTACK_HOST, DROPSTACK_SSH_OPTS (ssh arguments), DROPSTACK_TIMEOUT (seconds),
# DROPSTACK_DATA_MOUNT ("" for a cluster node without a data volume).
set -u
: "${DROPSTACK_HOST:?}" "${DROPSTACK_SSH_OPTS:?}" "${DROPSTACK_TIMEOUT:?}" "${DROPSTACK_DATA_MOUNT?}"

here=$(dirname "$0")
deadline=$(($(date +%s) + DROPSTACK_TIMEOUT))
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

node_ssh() {
  # shellcheck disable=SC2086 # DROPSTACK_SSH_OPTS is a list of ssh arguments.
  ssh $DROPSTACK_SSH_OPTS -o ConnectTimeout=10 "root@$DROPSTACK_HOST" "$@"
}

# A new droplet takes a minute or so to boot and start sshd.
until node_ssh true 2> "$errors"; do
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "dropstack: the node at $DROPSTACK_HOST did not accept SSH within $DROPSTACK_TIMEOUT s." >&2
    echo "Last SSH error: $(cat "$errors")" >&2
    echo "Check that this machine's address is inside dropstack:sshSourceCidrs; if the node is only slow," >&2
    echo "raise dropstack:readinessTimeoutMinutes. See README, Troubleshooting." >&2
    exit 1
  fi
  sleep 5
done

remaining=$((deadline - $(date +%s)))
[ "$remaining" -gt 10 ] || remaining=10
node_ssh sh -s -- "$remaining" "$DROPSTACK_DATA_MOUNT" < "$here/node-check.sh"
