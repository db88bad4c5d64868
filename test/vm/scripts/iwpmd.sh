# The real iwpmd (rdma-core) as the kernel's port mapper: first on its own, then under the
# project's preload library in capture-only mode, which records the kernel <-> iwpmd exchange,
# and last with no port mapper at all.
# shellcheck source=lib.sh
. "$IWPM_ROOT/test/vm/scripts/lib.sh"

iwpmd -s >"$OUT/iwpmd-plain.log" 2>&1 &
IWPMD=$!
wait_bound "$IWPMD"
rping_server server-plain
wait_listening
rping_client client-plain
stop "$RPING_SERVER" server-plain
stop "$IWPMD" iwpmd-plain
# The kernel's complaints so far: none while a daemon served every message.
dmesg >"$OUT/dmesg-plain.txt"

IWPM_CAPTURE="$OUT/iwpmd.pcap" IWPM_CAPTURE_ONLY=1 LD_PRELOAD=$PRELOAD iwpmd -s >"$OUT/iwpmd-capture.log" 2>&1 &
IWPMD=$!
wait_bound "$IWPMD"
rping_server server-capture
wait_listening
rping_client client-capture
# iwpmd stops while the listener is still mapped, so the capture ends with the kernel's table.
stop "$IWPMD" iwpmd-capture
# With no daemon at all, connections still work; the kernel only complains in its log.
rping_client client-nodaemon
stop "$RPING_SERVER" server-capture
note done
