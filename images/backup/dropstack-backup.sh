#!/bin/sh
# dropstack's data backups, run in the stack's backup container on the node (see
# components/backups.ts): restic, encrypting on the node with the stack's repository password,
# into the stack's Spaces bucket. One snapshot per run holds the data volume's folders and each
# dumped service's dump, so a restore point is one snapshot ID.
#
#   dropstack-backup run              the schedule: back up whenever the last backup is older
#                                     than DROPSTACK_SCHEDULE_SECONDS, then keep what retention says
#   dropstack-backup backup           one backup now, then retention
#   dropstack-backup snapshots        the backups: ID, time (UTC) and size, oldest first
#   dropstack-backup last             the time of the last backup (UTC), or nothing
#   dropstack-backup restore ID|latest|before:EPOCH
#                                     puts the files and the dumps of that backup back
#
# restic reads RESTIC_REPOSITORY, RESTIC_PASSWORD, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
# from the environment. DROPSTACK_DATA is the stack's data folder; DROPSTACK_BACKUP_PLAN says,
# a line each, tab-separated: `exclude FOLDER`, `dump SERVICE CONTAINER COMMAND`,
# `restore SERVICE CONTAINER COMMAND`, `stop CONTAINER` (see backup/plan.ts).
# DROPSTACK_RESTORE_FIRST=1 (a stack that adopted an earlier stack's bucket): the schedule makes
# no backup while the repository has backups and none was restored here yet.
set -eu

export TZ=UTC
DATA="${DROPSTACK_DATA:?DROPSTACK_DATA is not set}"
STAGING="${DROPSTACK_STAGING:-/var/cache/dropstack-backup}"
DUMPS="$STAGING/dumps"
DOCKER="${DROPSTACK_DOCKER:-docker}"
PLAN="${DROPSTACK_BACKUP_PLAN:-}"
TAB="$(printf '\t')"
export RESTIC_CACHE_DIR="${RESTIC_CACHE_DIR:-$STAGING/cache}"
# Made in the data folder by every backup and restore: its data were backed up or put back.
MARKER="$DATA/.dropstack-backups"

say() { printf '%s\n' "dropstack-backup: $*" >&2; }
fail() {
  say "$*"
  exit 1
}

# The plan's lines of one kind, without the kind: `plan_lines dump`.
plan_lines() {
  printf '%s\n' "$PLAN" | while IFS= read -r line; do
    case "$line" in "$1$TAB"*) printf '%s\n' "${line#"$1$TAB"}" ;; esac
  done
}

# Makes the repository the first time: restic refuses to back up into none, and a second init
# would fail on the one there.
ensure_repository() {
  # Without a lock: a prune running elsewhere holds the repository exclusively, and a locking
  # read would fail and be taken for no repository at all.
  if restic cat config --no-lock >/dev/null 2>&1; then return 0; fi
  if said="$(restic init 2>&1)"; then
    say "made the repository $RESTIC_REPOSITORY"
    return 0
  fi
  # There after all (the first read failed for a moment, or another run made it meanwhile):
  # read it again rather than give up.
  case "$said" in
    *"already initialized"* | *"already exists"*)
      for _ in 1 2 3; do
        restic cat config --no-lock >/dev/null && return 0
        sleep 2
      done
      ;;
  esac
  printf '%s\n' "$said" >&2
  fail "cannot open or make the repository $RESTIC_REPOSITORY"
}

# Each dumped service's dump, into $DUMPS/<service>.dump, written by its own command in its own
# container (with its own credentials); a dump that fails fails the backup.
dump_services() {
  rm -rf "$DUMPS"
  mkdir -p "$DUMPS"
  plan_lines dump | while IFS="$TAB" read -r service container command; do
    "$DOCKER" exec "$container" sh -c "$command" >"$DUMPS/$service.dump" ||
      fail "the dump of $service (in $container) failed"
    say "dumped $service: $(wc -c <"$DUMPS/$service.dump") bytes"
  done
}

backup() {
  ensure_repository
  dump_services
  set -- --exclude "$STAGING/cache"
  for folder in $(plan_lines exclude); do set -- "$@" --exclude "$DATA/$folder"; done
  # The folders as this stack has them, for a restore onto a stack whose folders differ.
  restic backup --quiet --tag dropstack --tag "data=$DATA" --tag "dumps=$DUMPS" \
    --host dropstack "$@" "$DATA" "$DUMPS" || fail "restic backup failed"
  : >"$MARKER"
  rm -rf "$DUMPS"
  restic forget --quiet --tag dropstack --prune \
    --keep-daily "${DROPSTACK_KEEP_DAILY:-7}" \
    --keep-weekly "${DROPSTACK_KEEP_WEEKLY:-4}" \
    --keep-monthly "${DROPSTACK_KEEP_MONTHLY:-6}" >/dev/null || fail "restic forget failed"
  say "backed up at $(last)"
}

# The snapshots as JSON, oldest first; a repository that cannot be read (wrong password, no
# bucket) fails here rather than read as no backups. Without a lock: listing must not fail
# while a scheduled backup prunes (which locks the repository exclusively).
snapshots_json() {
  json="$(restic snapshots --no-lock --json --tag dropstack)" ||
    fail "cannot read the backups in $RESTIC_REPOSITORY (restic says why above)"
  printf '%s\n' "$json"
}

# restic writes times as RFC 3339 with nanoseconds; jq reads whole seconds.
JQ_EPOCH='(.time | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601)'

last() {
  all="$(snapshots_json)"
  printf '%s\n' "$all" | jq -r "last | if . == null then empty else $JQ_EPOCH | todate end"
}

snapshots() {
  all="$(snapshots_json)"
  printf '%s\n' "$all" | jq -r ".[] | [.short_id, .id, ($JQ_EPOCH | todate)] | @tsv" |
    while IFS="$TAB" read -r short id time; do
      size="$(restic stats --no-lock --json --mode restore-size "$id" | jq -r .total_size)"
      printf '%s\t%s\t%s\n' "$short" "$time" "$size"
    done
}

# The full ID of the snapshot `at` names (ID, latest, before:EPOCH), or a failure listing them.
resolve() {
  all="$(snapshots_json)"
  case "$1" in
    latest) id="$(printf '%s\n' "$all" | jq -r 'last | .id // empty')" ;;
    before:*)
      id="$(printf '%s\n' "$all" | jq -r --argjson t "${1#before:}" \
        "[.[] | select($JQ_EPOCH <= \$t)] | last | .id // empty")"
      ;;
    *) id="$(printf '%s\n' "$all" | jq -r --arg p "$1" \
      '[.[] | select(.id | startswith($p))] | if length == 1 then .[0].id else empty end')" ;;
  esac
  [ -n "$id" ] && [ -n "$1" ] && printf '%s\n' "$id" && return 0
  case "$1" in
    before:*) wanted="at or before $(jq -rn --argjson t "${1#before:}" '$t | todate')" ;;
    *) wanted="matches $1" ;;
  esac
  say "no backup $wanted; the backups (ID, time UTC, size in bytes):"
  snapshots >&2
  exit 3
}

# The files of backup $1 made of folder $2 (another stack's, once adopted), put back under $DATA.
restore_files() {
  if [ "$2" = "$DATA" ]; then
    restic restore --quiet "$1" --target / --include "$DATA"
  else
    # Beside the data, on the same disk, then moved into place.
    rm -rf "$DATA/.dropstack-restore"
    restic restore --quiet "$1" --target "$DATA/.dropstack-restore" --include "$2" &&
      cp -a "$DATA/.dropstack-restore$2/." "$DATA/" && rm -rf "$DATA/.dropstack-restore"
  fi
}

restore() {
  id="$(resolve "${1:-latest}")"
  # Where the backed-up stack had its folders: tagged since backups could be restored elsewhere;
  # an older backup's are this stack's own.
  snapshot="$(restic snapshots --no-lock --json "$id")" || fail "cannot read backup $id"
  from="$(printf '%s\n' "$snapshot" | jq -r --arg d "$DATA" \
    '.[0] | ([.tags[]? | select(startswith("data=")) | ltrimstr("data=")] | first) // $d')"
  dumps="$(printf '%s\n' "$snapshot" | jq -r --arg d "$DUMPS" \
    '.[0] | ([.tags[]? | select(startswith("dumps=")) | ltrimstr("dumps=")] | first) // $d')"
  printf '%s\n' "$snapshot" | jq -e --arg f "$from" '.[0].paths | index($f) != null' >/dev/null ||
    fail "backup $id holds $(printf '%s\n' "$snapshot" | jq -r '.[0].paths | join(", ")'), not $from"
  stopped="$(plan_lines stop)"
  # shellcheck disable=SC2086 # one container name a word
  [ -z "$stopped" ] || "$DOCKER" stop $stopped >/dev/null
  if [ "$from" = "$DATA" ]; then
    say "restoring backup $id: the files under $DATA"
  else
    say "restoring backup $id: the files of $from, under $DATA"
  fi
  restored=0
  restore_files "$id" "$from" || restored=$?
  # Started again whatever happened: a failed restore must not leave the stack down.
  # shellcheck disable=SC2086
  [ -z "$stopped" ] || "$DOCKER" start $stopped >/dev/null
  [ "$restored" -eq 0 ] || fail "restic restore failed"
  mkdir -p "$DUMPS"
  plan_lines restore | while IFS="$TAB" read -r service container command; do
    # Whole before it is loaded: a dump cut short must not reach a restore that drops first.
    restic dump "$id" "$dumps/$service.dump" >"$DUMPS/$service.restore" ||
      fail "reading the dump of $service from backup $id failed"
    "$DOCKER" exec -i "$container" sh -c "$command" <"$DUMPS/$service.restore" ||
      fail "loading the dump of $service (in $container) failed"
    rm -f "$DUMPS/$service.restore"
    say "loaded $service's dump into $container"
  done
  : >"$MARKER"
  say "restored backup $id"
}

# The schedule: a backup whenever the last one is older than the interval, checked every five
# minutes at most, so a restarted container neither skips a backup nor makes one too many.
run() {
  interval="${DROPSTACK_SCHEDULE_SECONDS:?DROPSTACK_SCHEDULE_SECONDS is not set}"
  ensure_repository
  while :; do
    all="$(snapshots_json)"
    latest="$(printf '%s\n' "$all" | jq -r "last | if . == null then 0 else $JQ_EPOCH end")"
    wait=$((latest + interval - $(date +%s)))
    if [ "${DROPSTACK_RESTORE_FIRST:-}" = 1 ] && [ ! -e "$MARKER" ] &&
      [ "$(printf '%s\n' "$all" | jq length)" -gt 0 ]; then
      [ -n "${told:-}" ] || say "no backup until the backups in $RESTIC_REPOSITORY, an earlier" \
        "stack's, are restored here: \`npx dropstack restore --stack <stack> --at latest\` puts" \
        "them back (or \`dropstack-backup backup\` in this container backs up as the data are)"
      told=1
      wait=300
    elif [ "$wait" -le 0 ]; then
      # Its own process: in `a || b`, sh ignores set -e inside a, and a failed step would go on.
      "$0" backup || say "the backup failed; trying again in five minutes"
      wait=300
    fi
    [ "$wait" -gt 300 ] && wait=300
    sleep "$wait"
  done
}

command="${1:-run}"
[ "$#" -eq 0 ] || shift
case "$command" in
  run) run ;;
  backup) backup ;;
  snapshots) snapshots ;;
  last) last ;;
  restore) restore "${1:-latest}" ;;
  *) fail "unknown command $command; the commands are run, backup, snapshots, last and restore" ;;
esac
