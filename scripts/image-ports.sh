#!/bin/sh
# Prints the ports an image exposes (its EXPOSE lines), as `3306/tcp 33060/tcp `, for the link
# variables of the services that link to it: Docker's links and Docker Cloud derived them from
# these too, and images such as WordPress rely on them. Runs on the machine of whoever runs
# `pulumi up` (a local.Command of the Stack component) against the Docker host: the node over
# SSH with the pinned host key, as the Docker provider connects, or this machine's Docker.
#
#   sh scripts/image-ports.sh IMAGE_ID
#
# Environment: DROPSTACK_HOST and DROPSTACK_SSH_OPTS (ssh arguments) for a node; unset for this
# machine's Docker (DOCKER_HOST or the default socket).
set -eu
image=${1:?usage: image-ports.sh IMAGE_ID}
case "$image" in
  sha256:*[!0-9a-f]* | sha256:) echo "image-ports.sh: not an image ID: $image" >&2; exit 2 ;;
  sha256:*) ;;
  *) echo "image-ports.sh: not an image ID: $image" >&2; exit 2 ;;
esac
# shellcheck disable=SC2016 # A Go template for docker, not a shell expansion.
format='{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}'
if [ -n "${DROPSTACK_HOST:-}" ]; then
  # The remote shell reads the command again: the format is quoted for it, and the ID is checked
  # above to be only hex digits.
  # shellcheck disable=SC2086 # DROPSTACK_SSH_OPTS is a list of ssh arguments.
  exec ssh $DROPSTACK_SSH_OPTS -o ConnectTimeout=10 "root@$DROPSTACK_HOST" \
    "docker image inspect --format '$format' $image"
fi
exec docker image inspect --format "$format" "$image"
