# `iwpm serve --protocol 20` as the kernel's only port mapper: several rping connections, then a
# restart while rping's listener is mapped (the first service is killed, the second is stopped
# cleanly at the end), after which the kernel resends its mappings (MAPINFO, MAPINFO_NUM) to the
# new service, and one more connection through it. Both services are recorded by the preload
# library (capture only). With the flag-cleared siw (vm.sh --siw mapped) the same steps show real
# mappings; rping's data path then fails by design.
#
#   serve.sh [CLIENTS]   connections before the restart (default 3)
# shellcheck source=lib.sh
. "$IWPM_ROOT/test/vm/scripts/lib.sh"
CLIENTS=${1:-3}

serve serve-1
rping_server server
wait_for "$OUT/serve-1.log" "add: $ADDR:$LISTEN_PORT " "$SERVE"
for i in $(seq "$CLIENTS"); do rping_client "client-1-$i"; done
crash "$SERVE" serve-1

serve serve-2
# The new service's MAPINFO request makes the kernel send what it holds; the service's ack
# (MAPINFO_NUM) is in its capture.
wait_for "$OUT/serve-2.log" "mapinfo: $ADDR:$LISTEN_PORT " "$SERVE"
# Its table now holds the kernel's mapping again (and, for a real mapping, the port reserved).
kill -USR1 "$SERVE"
wait_for "$OUT/serve-2.log" "$ADDR:$LISTEN_PORT " "$SERVE"
rping_client client-2
stop "$RPING_SERVER" server
wait_for "$OUT/serve-2.log" "removed $ADDR:$LISTEN_PORT " "$SERVE"
stop "$SERVE" serve-2
note done
