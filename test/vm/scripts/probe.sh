# The harness's own checks: `probe.sh status N` leaves a file and exits N; `probe.sh hang` never ends.
# shellcheck source=lib.sh
. "$IWPM_ROOT/test/vm/scripts/lib.sh"
case ${1:-} in
status)
  uname -r >"$OUT/kernel.txt"
  echo "$2" >"$OUT/argument.txt"
  note "exiting $2"
  exit "$2"
  ;;
hang)
  note "hanging"
  sleep infinity
  ;;
*) fatal "probe.sh status N | hang" ;;
esac
