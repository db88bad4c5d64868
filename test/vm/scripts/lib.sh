# Helpers for the scripts that run inside the VM (sourced; see test/vm/vm.sh). Every wait has a
# deadline, and every result is a file in $IWPM_VM_OUT that the host-side test reads.
set -uo pipefail
OUT=$IWPM_VM_OUT
ADDR=$IWPM_VM_ADDR
PRELOAD=$IWPM_ROOT/build/preload/libiwpmd_preload.so
# rping's own default port; the listener every scenario maps.
LISTEN_PORT=7174
# Long enough for a node start under TCG emulation; a healthy step takes seconds.
STEP_TIMEOUT=60

note() { echo "[$(date +%T)] $*"; }
fatal() {
  note "FAILED: $*"
  exit 1
}

# wait_for FILE PATTERN [PID]: until the file has a line matching the extended regex; gives up
# at once if process PID (the one writing the file) has ended.
wait_for() {
  local file=$1 pattern=$2 pid=${3:-} deadline=$((SECONDS + STEP_TIMEOUT))
  until grep -Eq "$pattern" "$file" 2>/dev/null; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      grep -Eq "$pattern" "$file" 2>/dev/null && return 0
      fatal "process $pid ended before writing /$pattern/ to $file: $(tail -n 3 "$file" 2>/dev/null)"
    fi
    [ $SECONDS -lt $deadline ] || fatal "no line matching /$pattern/ in $file after ${STEP_TIMEOUT}s"
    sleep 0.2
  done
}

# stop PID NAME: SIGTERM, then SIGKILL if it has not exited within 10 s; records its status.
stop() {
  local pid=$1 name=$2 i
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$pid" 2>/dev/null && note "$name ignored SIGTERM; killed"
  wait "$pid"
  echo $? >"$OUT/$name.status"
}

# wait_bound PID: until the process has bound a NETLINK_RDMA socket at its pid with the port
# mappers' groups, as iwpmd does before it sends its HELLO; a listener set up earlier would
# register with nobody and go unmapped.
wait_bound() {
  local deadline=$((SECONDS + STEP_TIMEOUT))
  until awk -v pid="$1" '$2 == 20 && $3 == pid && $4 != "00000000" { found = 1 } END { exit !found }' /proc/net/netlink; do
    [ $SECONDS -lt $deadline ] || fatal "process $1 has no NETLINK_RDMA socket after ${STEP_TIMEOUT}s"
    sleep 0.2
  done
}

# crash PID NAME: SIGKILL, as a daemon dies without a chance to clean up; records its status.
crash() {
  kill -KILL "$1"
  wait "$1"
  echo $? >"$OUT/$2.status"
}

# rping_server NAME: a persistent rping server on siw0's address; sets RPING_SERVER.
rping_server() {
  stdbuf -oL rping -s -P -a "$ADDR" -p "$LISTEN_PORT" -v >"$OUT/$1.txt" 2>&1 &
  RPING_SERVER=$!
}

# rping_client NAME: one connection, three pings; its exit status goes to NAME.status (124 when
# it had to be stopped, and then NAME.diag.txt holds what the kernel and the sockets looked like).
# Line-buffered, so a stopped client's file still shows how far it got.
rping_client() {
  local status
  stdbuf -oL timeout -k 5 "$STEP_TIMEOUT" rping -c -a "$ADDR" -p "$LISTEN_PORT" -C 3 -v >"$OUT/$1.txt" 2>&1
  status=$?
  echo "$status" >"$OUT/$1.status"
  note "$1: rping exited $status"
  [ "$status" -ne 124 ] || diagnose "$1"
}

# diagnose NAME: the kernel's recent log, the netlink sockets and the TCP sockets, into NAME.diag.txt.
diagnose() {
  {
    echo "--- dmesg (last 40 lines)"
    dmesg | tail -n 40
    echo "--- /proc/net/netlink"
    cat /proc/net/netlink
    echo "--- ss -tanp"
    ss -tanp
  } >"$OUT/$1.diag.txt" 2>&1
}

# serve NAME: the project's service as the kernel's port mapper, recorded by the preload library
# (capture only: the socket stays NETLINK_RDMA); sets SERVE once it is listening. Its log (every
# mapping at debug level) and its SIGUSR1 table share one stream: NAME.log.
serve() {
  IWPM_CAPTURE="$OUT/$1.pcap" IWPM_CAPTURE_ONLY=1 LD_PRELOAD=$PRELOAD \
    node "$IWPM_ROOT/build/dist/cli.js" serve --protocol 20 --log-level debug >"$OUT/$1.log" 2>&1 &
  SERVE=$!
  wait_for "$OUT/$1.log" 'iwpm serve: .*netlink port [0-9]+' "$SERVE"
  note "$1: serving"
}

# wait_listening: until siw listens on the rping port (its listen went through iw_cm, and so through
# the port mapper, first).
wait_listening() {
  local deadline=$((SECONDS + STEP_TIMEOUT))
  until [ -n "$(ss -Hltn "sport = :$LISTEN_PORT")" ]; do
    [ $SECONDS -lt $deadline ] || fatal "nothing listens on port $LISTEN_PORT after ${STEP_TIMEOUT}s"
    sleep 0.2
  done
}
