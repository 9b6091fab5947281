#!/bin/sh
# Reads what an image declares, on the Docker host, once it is there. Runs on the machine of
# whoever runs `pulumi up` (a local.Command of the Stack component) against the Docker host: the
# node over SSH with the pinned host key, as the Docker provider connects, or this machine's
# Docker.
#
#   sh scripts/image-inspect.sh ports IMAGE_ID    # its EXPOSE lines: `3306/tcp 33060/tcp `,
#                                                 # for the link variables of the services that
#                                                 # link to it, as Docker's links and Docker
#                                                 # Cloud derived them
#   sh scripts/image-inspect.sh volumes IMAGE_ID  # its VOLUME lines, as JSON (`{"/data":{}}` or
#                                                 # `null`): kept on the data volume, as Docker
#                                                 # Cloud kept them across redeploys
#
# Environment: DROPSTACK_HOST and DROPSTACK_SSH_OPTS (ssh arguments) for a node; unset for this
# machine's Docker (DOCKER_HOST or the default socket).
set -eu
usage="usage: image-inspect.sh ports|volumes IMAGE_ID"
what=${1:?$usage}
image=${2:?$usage}
# Fixed templates, never from the caller.
# shellcheck disable=SC2016 # Go templates for docker, not shell expansions.
case "$what" in
  ports) format='{{range $p, $v := .Config.ExposedPorts}}{{$p}} {{end}}' ;;
  volumes) format='{{json .Config.Volumes}}' ;;
  *) echo "$usage" >&2; exit 2 ;;
esac
case "$image" in
  sha256:*[!0-9a-f]* | sha256:) echo "image-inspect.sh: not an image ID: $image" >&2; exit 2 ;;
  sha256:*) ;;
  *) echo "image-inspect.sh: not an image ID: $image" >&2; exit 2 ;;
esac
if [ -n "${DROPSTACK_HOST:-}" ]; then
  # The remote shell reads the command again: the format is quoted for it, and the ID is checked
  # above to be only hex digits.
  # shellcheck disable=SC2086 # DROPSTACK_SSH_OPTS is a list of ssh arguments.
  exec ssh $DROPSTACK_SSH_OPTS -o ConnectTimeout=10 "root@$DROPSTACK_HOST" \
    "docker image inspect --format '$format' $image"
fi
exec docker image inspect --format "$format" "$image"
