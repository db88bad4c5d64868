# A local process without privileges tries to register with `iwpm serve --protocol 20` and to
# get a mapping from it (scripts/intruder.mjs), by unicast and by multicast; then the same
# process as root, to show that what stops the first is its missing privilege.
# shellcheck source=lib.sh
. "$IWPM_ROOT/test/vm/scripts/lib.sh"
# nobody cannot read a private checkout (a clone in a 0700 directory): the intruder and the socket
# addon it loads go where it can, in the same layout.
COPY=$(mktemp -d)
mkdir -p "$COPY/test/vm/scripts" "$COPY/build"
cp "$IWPM_ROOT/test/vm/scripts/intruder.mjs" "$COPY/test/vm/scripts/"
cp -r "$IWPM_ROOT/build/native" "$COPY/build/"
chmod -R a+rX "$COPY"
INTRUDER=$COPY/test/vm/scripts/intruder.mjs
# Ports nothing else in the VM maps.
NOBODY_PORT=9999
ROOT_PORT=9998

serve serve
PORT=$(grep -Eo 'netlink port [0-9]+' "$OUT/serve.log" | head -n 1 | awk '{ print $3 }')
timeout -k 5 30 setpriv --reuid=65534 --regid=65534 --clear-groups \
  node "$INTRUDER" "$PORT" "$ADDR" "$NOBODY_PORT" >"$OUT/nobody.jsonl" 2>&1
echo $? >"$OUT/nobody.status"
timeout -k 5 30 node "$INTRUDER" "$PORT" "$ADDR" "$ROOT_PORT" >"$OUT/root.jsonl" 2>&1
echo $? >"$OUT/root.status"
wait_for "$OUT/serve.log" "add: $ADDR:$ROOT_PORT " "$SERVE"
kill -USR1 "$SERVE"
wait_for "$OUT/serve.log" "$ADDR:$ROOT_PORT " "$SERVE"
stop "$SERVE" serve
note done
