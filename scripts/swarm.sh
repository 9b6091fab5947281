#!/bin/sh
# Forms and shrinks the stack's Docker Swarm over the nodes' pinned SSH. Runs on the machine of
# whoever runs `pulumi up` (local.Commands of the Cluster component), as the readiness check does.
#
#   sh scripts/swarm.sh init    # on the first node: prints the worker and manager join tokens
#   sh scripts/swarm.sh join    # on another node: joins as a manager or a worker
#   sh scripts/swarm.sh label   # on the first node: sets a node's labels (data node, tags)
#   sh scripts/swarm.sh leave   # the reverse of join, when the node is removed
#   sh scripts/swarm.sh dirs    # on a node: makes the missing folders services bind-mount
#   sh scripts/swarm.sh disband # on a single node: leaves the stack's swarm, if it is in one
#   sh scripts/swarm.sh stop    # on the first node: stops a service's tasks before its delete
#   sh scripts/swarm.sh prune   # on the first node: removes the proxy's configs no longer used
#
# Environment: DROPSTACK_HOST and DROPSTACK_SSH_OPTS (the node to act on), DROPSTACK_ADDR (its
# private address, which Swarm advertises), DROPSTACK_MANAGER_HOST, DROPSTACK_MANAGER_SSH_OPTS and
# DROPSTACK_MANAGER_ADDR (the first node), DROPSTACK_ROLE (manager or worker), DROPSTACK_NODE (the
# node's hostname, its droplet name), DROPSTACK_LABELS (key=value words), DROPSTACK_PREFIX (the
# stack's container, network and service names begin with it), DROPSTACK_SERVICE (a Swarm
# service's name), DROPSTACK_KEEP (the Swarm configs and secrets in use, space-separated).
# The join token comes on
# stdin, never on a command line; so do the folders for dirs, one absolute path a line. Each step
# is idempotent: a second run changes nothing.
set -eu

on() {
  # shellcheck disable=SC2086 # the ssh options are a list of arguments.
  ssh $1 -o ConnectTimeout=10 "root@$2" "$3"
}
node() { on "$DROPSTACK_SSH_OPTS" "$DROPSTACK_HOST" "$1"; }
manager() { on "$DROPSTACK_MANAGER_SSH_OPTS" "$DROPSTACK_MANAGER_HOST" "$1"; }
state='docker info --format "{{.Swarm.LocalNodeState}}"'
# Docker refuses Swarm mode with live-restore on ("--live-restore daemon configuration is
# incompatible with swarm mode"), and the node's daemon.json (cloud-config.yaml) turns it on, for
# a single node's containers to outlive a Docker upgrade. A node that forms or joins a swarm turns
# it off in place: dockerd reloads live-restore on SIGHUP (systemctl reload), with no restart and
# no change to the droplet's user_data. DROPSTACK_DAEMON_JSON: for tests only.
daemon_json=${DROPSTACK_DAEMON_JSON:-/etc/docker/daemon.json}
no_live_restore="{ if grep -q '\"live-restore\": true' $daemon_json 2> /dev/null; then sed -i 's/\"live-restore\": true/\"live-restore\": false/' $daemon_json && systemctl reload docker; fi; tries=0; until [ \"\$(docker info --format '{{.LiveRestoreEnabled}}')\" = false ]; do tries=\$((tries + 1)); [ \$tries -le 30 ] || { echo 'swarm.sh: live-restore is still on' >&2; exit 1; }; sleep 1; done; } < /dev/null"

# The stack's prefix, in the remote shell's commands: a name Docker accepts, nothing more.
prefix() {
  : "${DROPSTACK_PREFIX:?}"
  case "$DROPSTACK_PREFIX" in *[!A-Za-z0-9_.-]* | [!A-Za-z0-9]*) echo "swarm.sh: not a stack prefix: $DROPSTACK_PREFIX" >&2; exit 2 ;; esac
}
# A node that ran the stack as a single node (a stack grown from one node) runs its containers
# and their network: they are stopped (Mongo flushes its files) and removed before the swarm
# forms, so that no service starts beside them on the same data and the same ports. Pulumi's
# later delete of each finds it gone, which the Docker provider takes as done.
standalone_down() {
  printf '%s' "names=''; for n in \$(docker ps -a --format '{{.Names}}'); do case \"\$n\" in $DROPSTACK_PREFIX-*) names=\"\$names \$n\" ;; esac; done; { [ -z \"\$names\" ] || { docker stop -t 60 \$names > /dev/null && docker rm \$names > /dev/null; }; } && { ! docker network inspect $DROPSTACK_PREFIX > /dev/null 2>&1 || docker network rm $DROPSTACK_PREFIX > /dev/null; }"
}
# The reverse, on a cluster shrunk to its first node: the stack's services go, their containers
# stop, and the node leaves the swarm (the others leave as their joins are deleted), before the
# node's containers start; then live-restore is turned back on, as cloud-config.yaml has it.
swarm_down() {
  printf '%s' "services=''; for s in \$(docker service ls --format '{{.Name}}'); do case \"\$s\" in $DROPSTACK_PREFIX-*) services=\"\$services \$s\" ;; esac; done; { [ -z \"\$services\" ] || docker service rm \$services > /dev/null; } && tries=0 && while docker ps --format '{{.Label \"com.docker.swarm.service.name\"}}' | grep -q '^$DROPSTACK_PREFIX-'; do tries=\$((tries + 1)); [ \$tries -le 120 ] || { echo 'swarm.sh: the services'\"'\"' containers are still running after 120 s' >&2; exit 1; }; sleep 1; done && docker swarm leave --force > /dev/null"
}
live_restore="{ if grep -q '\"live-restore\": false' $daemon_json 2> /dev/null; then sed -i 's/\"live-restore\": false/\"live-restore\": true/' $daemon_json && systemctl reload docker; fi; } < /dev/null"

case "${1:-}" in
  init)
    : "${DROPSTACK_ADDR:?}"
    prefix
    node "$no_live_restore; [ \"\$($state)\" = active ] || { $(standalone_down) && docker swarm init --advertise-addr $DROPSTACK_ADDR >&2; }"
    # shellcheck disable=SC2016 # expanded on the node, not here.
    node 'printf "{\"worker\":\"%s\",\"manager\":\"%s\"}\n" "$(docker swarm join-token -q worker)" "$(docker swarm join-token -q manager)"'
    ;;
  join)
    : "${DROPSTACK_MANAGER_ADDR:?}" "${DROPSTACK_ADDR:?}"
    case "${DROPSTACK_ROLE:-}" in manager | worker) ;; *) echo "swarm.sh: DROPSTACK_ROLE must be manager or worker" >&2; exit 2 ;; esac
    # The token for this role, from the init step's JSON on stdin.
    token=$(sed -n "s/.*\"$DROPSTACK_ROLE\":\"\\([A-Za-z0-9-]*\\)\".*/\\1/p")
    [ -n "$token" ] || { echo "swarm.sh: no $DROPSTACK_ROLE token on stdin" >&2; exit 2; }
    # Already in the first node's swarm: nothing to do. In another one (the swarm of a first
    # node that has since been replaced), it leaves that first, or it would stay there.
    # (The first node's list is read first: should it not answer, this fails before anything.)
    members=$(manager "docker node ls -q")
    id=$(node "docker info --format '{{.Swarm.NodeID}}'")
    if [ -n "$id" ] && printf '%s\n' "$members" | grep -qxF "$id"; then exit 0; fi
    printf '%s\n' "$token" | node "$no_live_restore; [ \"\$($state)\" = inactive ] || docker swarm leave --force >&2; read -r token; docker swarm join --advertise-addr $DROPSTACK_ADDR --token \"\$token\" $DROPSTACK_MANAGER_ADDR:2377 >&2"
    ;;
  label)
    : "${DROPSTACK_NODE:?}"
    args=""
    for label in ${DROPSTACK_LABELS:-}; do
      case "$label" in *[!A-Za-z0-9._=-]* | "") echo "swarm.sh: not a label: $label" >&2; exit 2 ;; esac
      args="$args --label-add $label"
    done
    # Tags the config no longer gives the node are taken off it.
    # shellcheck disable=SC2016 # a Go template for docker, expanded on the node.
    for old in $(manager "docker node inspect --format '{{range \$k, \$v := .Spec.Labels}}{{\$k}} {{end}}' $DROPSTACK_NODE"); do
      case "$old" in dropstack.tag.*) ;; *) continue ;; esac
      case " ${DROPSTACK_LABELS:-} " in *" $old=true "*) ;; *) args="$args --label-rm $old" ;; esac
    done
    [ -z "$args" ] || manager "docker node update$args $DROPSTACK_NODE >/dev/null"
    ;;
  leave)
    : "${DROPSTACK_NODE:?}"
    # A manager is demoted first, so the others keep their quorum; then it leaves, and the first
    # node forgets it. A node that is already gone (its droplet destroyed) is only forgotten.
    manager "docker node demote $DROPSTACK_NODE >/dev/null 2>&1 || true"
    node "docker swarm leave --force >/dev/null 2>&1 || true" || true
    manager "docker node rm --force $DROPSTACK_NODE >/dev/null 2>&1 || true"
    ;;
  dirs)
    # Swarm, unlike `docker run -v`, makes no bind source: a task whose folder is missing is
    # rejected, again and again. So each missing one is made here, as docker run would (a path
    # that exists, a file or a socket included, is left as it is).
    paths=$(cat)
    case "$paths" in /*) ;; "") exit 0 ;; *) echo "swarm.sh: dirs takes absolute paths" >&2; exit 2 ;; esac
    # shellcheck disable=SC2016 # expanded on the node, not here.
    printf '%s\n' "$paths" | node 'while IFS= read -r p; do case "$p" in /*) [ -e "$p" ] || mkdir -p -- "$p" || exit 1 ;; *) echo "not an absolute path: $p" >&2; exit 2 ;; esac; done'
    ;;
  disband)
    prefix
    node "if [ \"\$($state)\" != inactive ]; then $(swarm_down) || exit 1; fi; $live_restore"
    ;;
  stop)
    # Just before the Docker provider deletes a service. Once it has removed the service, the
    # provider waits for the service's containers on the first node to be removed, no longer
    # than their stop grace period, and fails the delete ("context deadline exceeded") for one
    # that takes all of it to stop: one whose first process ignores SIGTERM, as any program
    # without a handler does as PID 1. So the tasks are shut down first, each given its grace
    # period: scaled to none, or, for a global service (which has no scale), moved off every
    # node. The provider does not wait for tasks already shut down.
    service=${DROPSTACK_SERVICE:-}
    case "$service" in *[!A-Za-z0-9_.-]* | [!A-Za-z0-9]* | "") echo "swarm.sh: not a service name: $service" >&2; exit 2 ;; esac
    node "docker service inspect $service > /dev/null 2>&1 || exit 0; if [ \"\$(docker service inspect --format '{{if .Spec.Mode.Global}}global{{end}}' $service)\" = global ]; then docker service update --detach --constraint-add node.labels.dropstack.stopping==true $service; else docker service scale --detach $service=0; fi > /dev/null && tries=0 && while [ -n \"\$(docker ps -q --filter label=com.docker.swarm.service.name=$service)\" ]; do tries=\$((tries + 1)); [ \$tries -le 120 ] || { echo 'swarm.sh: the containers of $service still run after 120 s' >&2; exit 1; }; sleep 1; done"
    ;;
  prune)
    # The proxy's Swarm configs and secrets are named by their content, and kept by Pulumi when
    # replaced (deleted through a replaced first node, they would not be found): once the proxy
    # runs with new ones, those of the stack not in DROPSTACK_KEEP are removed here. Their names
    # begin with the prefix (its first 55 characters: swarmName shortens longer ones); one still
    # in use is kept, as Docker refuses to remove it.
    prefix
    start=$(printf '%.55s' "$DROPSTACK_PREFIX")
    for kind in config secret; do
      # shellcheck disable=SC2016 # a Go template for docker, expanded on the node.
      for name in $(node "docker $kind ls --format '{{.Name}}'"); do
        case "$name" in "$start"*) ;; *) continue ;; esac
        case "$name" in *[!A-Za-z0-9_.-]*) continue ;; esac
        case " ${DROPSTACK_KEEP:-} " in *" $name "*) continue ;; esac
        node "docker $kind rm $name > /dev/null" || echo "swarm.sh: kept $kind $name, which Docker would not remove" >&2
      done
    done
    ;;
  *)
    echo "usage: swarm.sh init|join|label|leave|dirs|disband|stop|prune (see the header for the environment)" >&2
    exit 2
    ;;
esac
