#!/bin/sh
# Runs on the node, sent by wait-ready.sh: waits for cloud-init, then checks what the stack
# needs. On failure it prints what went wrong and the tail of the cloud-init log.
# Arguments: the seconds left to wait, the data volume's mount point ("" on a cluster node that
# holds no data).
set -u
remaining=$1
# ssh joins its arguments into one command line for the node's shell, so an empty second
# argument (a cluster node without a volume) does not arrive at all.
data_mount=${2:-}

fail() {
  echo "dropstack: the node is not ready: $1" >&2
  echo "Last lines of /var/log/cloud-init-output.log:" >&2
  tail -n 40 /var/log/cloud-init-output.log >&2
  exit 1
}

status=0
timeout "$remaining" cloud-init status --wait > /dev/null || status=$?
case "$status" in
  0) ;;
  2) echo "dropstack: cloud-init finished with recoverable errors; see /var/log/cloud-init.log" >&2 ;;
  124) fail "cloud-init did not finish within $remaining s" ;;
  *) fail "cloud-init failed (exit status $status)" ;;
esac
if [ -n "$data_mount" ]; then
  mountpoint -q "$data_mount" || fail "the data volume is not mounted at $data_mount"
  # A volume made larger (dropstack:volumeSize) grows its filesystem too, online; on a volume
  # of the same size resize2fs has nothing to do. The disk's new size is read first.
  device=$(findmnt -n -o SOURCE "$data_mount")
  disk=$(basename "$(readlink -f "$device")")
  [ -w "/sys/block/$disk/device/rescan" ] && echo 1 > "/sys/block/$disk/device/rescan"
  resize2fs "$device" > /dev/null 2>&1 ||
    fail "the data volume's filesystem could not grow to the volume's size ('resize2fs $device' failed)"
fi
docker info > /dev/null 2>&1 || fail "Docker does not answer ('docker info' failed)"
echo "dropstack: node ready"
