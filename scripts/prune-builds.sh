#!/bin/sh
# Removes a built service's earlier builds from its Docker host, once the service runs the new
# one: every tag REPOSITORY:<12 hex digits> (the tags a build gets, by its context's content)
# but TAG. Runs on the machine of whoever runs `pulumi up` (a local.Command of the Stack
# component) against the Docker host: the node over SSH with the pinned host key, as the Docker
# provider connects, or this machine's Docker.
#
#   sh scripts/prune-builds.sh REPOSITORY TAG
#
# On a node the Docker provider removes no build (keepLocally): it would remove it by its name,
# through a provider that, once the droplet is replaced, reaches the new droplet, where that name
# is the new build's. A build a container still uses (a stopped Swarm task, which its service
# keeps in its history) is kept and named; a later run removes it once nothing uses it.
#
# Environment: DROPSTACK_HOST and DROPSTACK_SSH_OPTS (ssh arguments) for a node; unset for this
# machine's Docker (DOCKER_HOST or the default socket).
set -eu
usage="usage: prune-builds.sh REPOSITORY TAG"
repository=${1:?$usage}
keep=${2:?$usage}
# Both are read again by the node's shell: only the characters a build's name and tag can have.
case "$repository" in
  *[!a-z0-9._/:-]* | [._/:-]* | "") echo "prune-builds.sh: not a repository: $repository" >&2; exit 2 ;;
esac
case "$keep" in
  *[!0-9a-f]* | "") echo "prune-builds.sh: not a build's tag: $keep" >&2; exit 2 ;;
esac
[ ${#keep} -eq 12 ] || { echo "prune-builds.sh: not a build's tag: $keep" >&2; exit 2; }

# What runs on the Docker host, as `sh -s REPOSITORY TAG`.
# shellcheck disable=SC2016 # Expanded by the Docker host's shell, not here.
prune='set -eu
for ref in $(docker image ls --format "{{.Repository}}:{{.Tag}}" "$1"); do
  tag=${ref##*:}
  case "$tag" in "$2" | *[!0-9a-f]*) continue ;; esac
  [ ${#tag} -eq 12 ] || continue
  if out=$(docker image rm "$ref" 2>&1); then
    echo "removed the earlier build $ref"
  else
    echo "kept the earlier build $ref: $out"
  fi
done'
if [ -n "${DROPSTACK_HOST:-}" ]; then
  # shellcheck disable=SC2086 # DROPSTACK_SSH_OPTS is a list of ssh arguments.
  printf '%s\n' "$prune" | ssh $DROPSTACK_SSH_OPTS -o ConnectTimeout=10 \
    "root@$DROPSTACK_HOST" sh -s "$repository" "$keep"
else
  printf '%s\n' "$prune" | sh -s "$repository" "$keep"
fi
