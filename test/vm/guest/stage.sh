#!/bin/bash
# Runs inside the VM, in the host's root filesystem (overlay), as root: brings up Soft-iWARP on a
# dummy interface, runs the test script with a deadline, and leaves the kernel log beside the
# test's files. Its exit status is the test's (124 when the deadline passed), or 102 when the
# set-up failed.
set -uo pipefail
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
# shellcheck source=/dev/null
. /vm/in/env
OUT=/vm/out
# vm.sh's status for a failed set-up.
readonly EXIT_SETUP=102

setup_failed() {
  echo "iwpm-vm: set-up failed: $*" >&2
  dmesg >"$OUT/dmesg.txt" 2>&1
  exit $EXIT_SETUP
}

hostname iwpm-vm
ip link set lo up || setup_failed "ip link set lo up"
if [ "$IWPM_VM_SIW" != none ]; then
  # rdma_cm takes its loopback path for 127/8, which siw cannot serve; a dummy interface with a
  # documentation address gives iw_cm a real (if local) iWARP path.
  modprobe -a libcrc32c ib_core iw_cm rdma_cm rdma_ucm ib_uverbs dummy || setup_failed "modprobe the RDMA core modules"
  insmod /vm/in/siw.ko || setup_failed "insmod siw.ko ($IWPM_VM_SIW)"
  ip link add dummy0 type dummy || setup_failed "ip link add dummy0"
  ip addr add "$IWPM_VM_ADDR/32" dev dummy0 || setup_failed "ip addr add $IWPM_VM_ADDR"
  ip link set dummy0 up || setup_failed "ip link set dummy0 up"
  rdma link add siw0 type siw netdev dummy0 || setup_failed "rdma link add siw0"
fi

cd "$OUT" || setup_failed "cd $OUT"
IWPM_VM_OUT=$OUT IWPM_ROOT=$IWPM_VM_ROOT IWPM_VM_ADDR=$IWPM_VM_ADDR \
  timeout -k 5 "$IWPM_VM_TEST_TIMEOUT" bash /vm/in/test.sh "${IWPM_VM_ARGS[@]}" 2>&1 | tee "$OUT/test.log"
status=${PIPESTATUS[0]}
dmesg >"$OUT/dmesg.txt" 2>&1
echo "$status" >"$OUT/status"
sync
exit "$status"
