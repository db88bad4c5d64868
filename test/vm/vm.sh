#!/bin/bash
# Boots Debian's own kernel in QEMU (TCG) with the host's root filesystem shared read-only, loads a
# Soft-iWARP module built here, runs ONE test script inside and brings back its status and files.
# See docs/kernel-testing.md.
#
#   test/vm/vm.sh --check                      are the tools here? (names the missing Debian package)
#   test/vm/vm.sh --build                      build or reuse the cached siw.ko variants and initramfs
#   test/vm/vm.sh [options] --out DIR SCRIPT [ARG...]
#
# Options: --siw stock|mapped|none (default stock; "mapped" clears IW_F_NO_PORT_MAP so the kernel
# asks the port mapper for real mappings), --boot-timeout S (90), --test-timeout S (180).
# Environment: IWPM_VM_CACHE (built artifacts, default ~/.cache/iwpm-vm), IWPM_VM_KERNEL (a kernel
# version under /boot instead of the newest one with modules and headers), IWPM_VM_QEMU (the QEMU
# binary).
#
# SCRIPT runs as root in the VM, in /vm/out (= DIR/out on the host), with IWPM_ROOT (this checkout),
# IWPM_VM_OUT and IWPM_VM_ADDR (siw0's address on dummy0) set. Afterwards DIR/out holds its files,
# test.log (its output), dmesg.txt and status (its exit status); DIR/console.log is the serial console.
#
# Exit status: the script's own when it ran to the end (keep it below 100), otherwise
#   100 bad usage   101 a tool or package is missing   102 building or setting up failed
#   103 the VM did not boot in time   104 the test did not finish in time   105 the VM ended without a status
set -euo pipefail

readonly EXIT_USAGE=100 EXIT_MISSING=101 EXIT_SETUP=102 EXIT_BOOT=103 EXIT_TIMEOUT=104 EXIT_NO_STATUS=105
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${IWPM_VM_CACHE:-$HOME/.cache/iwpm-vm}
QEMU_BIN=${IWPM_VM_QEMU:-qemu-system-x86_64}
SIW_ADDR=192.0.2.1
# The "mapped" variant of siw: the flag that spares it port mapping cleared (see build_siw).
readonly SIW_PATCH='s/iw_driver_flags = IW_F_NO_PORT_MAP;/iw_driver_flags = 0;/'

fail() {
  local code=$1
  shift
  echo "vm.sh: $*" >&2
  exit "$code"
}

# --- tools -------------------------------------------------------------------------------------

# The newest installed Debian kernel with both its modules and its headers; IWPM_VM_KERNEL overrides.
pick_kernel() {
  if [ -n "${IWPM_VM_KERNEL:-}" ]; then
    echo "$IWPM_VM_KERNEL"
    return
  fi
  local v
  for v in $(ls /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' | sort -rV); do
    if [ -f "/lib/modules/$v/modules.dep" ] && [ -f "/usr/src/linux-headers-$v/Makefile" ]; then
      echo "$v"
      return
    fi
  done
}

check_tools() {
  local missing=() tool pkg
  # The guest runs the host's own binaries, so its tools are checked here too; tshark reads the
  # captures afterwards.
  for tool in "$QEMU_BIN:qemu-system-x86" cpio:cpio gzip:gzip xz:xz-utils make:make gcc:gcc \
    modprobe:kmod iwpmd:rdma-core rping:rdmacm-utils rdma:iproute2 ip:iproute2 ss:iproute2 tshark:tshark \
    timeout:coreutils flock:util-linux node:nodejs; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool#*:} (for ${tool%%:*})")
  done
  if ! [ -x /bin/busybox ] || ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
    # `file` may be absent: a static busybox runs without its interpreter, which ldd reports.
    ldd /bin/busybox 2>&1 | grep -q 'not a dynamic executable' || missing+=("busybox-static (a static /bin/busybox)")
  fi
  [ -e /etc/libibverbs.d/siw.driver ] || missing+=("ibverbs-providers (the siw provider for libibverbs)")
  KVER=$(pick_kernel)
  if [ -z "$KVER" ]; then
    missing+=("linux-image-amd64 and linux-headers-amd64 (a /boot/vmlinuz-* with its modules and headers)")
  else
    [ -r "/boot/vmlinuz-$KVER" ] || missing+=("linux-image-$KVER (/boot/vmlinuz-$KVER)")
    [ -f "/usr/src/linux-headers-$KVER/Makefile" ] || missing+=("linux-headers-$KVER")
    SERIES=$(echo "$KVER" | cut -d. -f1,2)
    SOURCE=/usr/src/linux-source-$SERIES.tar.xz
    [ -f "$SOURCE" ] || missing+=("linux-source-$SERIES (for drivers/infiniband/sw/siw)")
  fi
  if [ ${#missing[@]} -eq 0 ]; then
    local image source
    image=$(dpkg-query -W -f='${Version}' "linux-image-$KVER" 2>/dev/null || true)
    source=$(dpkg-query -W -f='${Version}' "linux-source-$SERIES" 2>/dev/null || true)
    # siw.ko's symbol versions are checked at load, but structure layouts can drift between
    # stable releases: the source should be the kernel's own.
    [ "$image" = "$source" ] ||
      echo "vm.sh: warning: linux-source-$SERIES is $source but linux-image-$KVER is $image; install matching versions if siw misbehaves" >&2
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'vm.sh: missing: %s\n' "${missing[@]}" >&2
    echo "vm.sh: install with: apt-get install -y --no-install-recommends $(printf '%s\n' "${missing[@]}" | sed 's/ .*//' | sort -u | tr '\n' ' ')" >&2
    exit $EXIT_MISSING
  fi
}

# --- cached artifacts --------------------------------------------------------------------------

# The siw module of a variant, built once per kernel and source package version.
build_siw() {
  local variant=$1 source_version dir
  source_version=$(dpkg-query -W -f='${Version}' "linux-source-$SERIES" 2>/dev/null || stat -c %Y "$SOURCE")
  dir="$CACHE/$KVER/siw-$variant-$source_version"
  # A changed patch is a different module.
  [ "$variant" = stock ] || dir="$dir-$(echo "$SIW_PATCH" | sha256sum | cut -c1-8)"
  if [ -f "$dir/siw.ko" ]; then
    SIW_KO="$dir/siw.ko"
    return
  fi
  local tmp
  tmp=$(mktemp -d "$CACHE/$KVER/build.XXXXXX")
  echo "vm.sh: building siw.ko ($variant) for $KVER from $SOURCE" >&2
  tar -xJf "$SOURCE" -C "$tmp" "linux-source-$SERIES/drivers/infiniband/sw/siw" ||
    fail $EXIT_SETUP "cannot extract drivers/infiniband/sw/siw from $SOURCE"
  local src="$tmp/linux-source-$SERIES/drivers/infiniband/sw/siw"
  if [ "$variant" = mapped ]; then
    # Stock siw tells iw_cm it needs no port mapping (IW_F_NO_PORT_MAP), so the kernel's ADD and
    # QUERY carry that flag and the mapper answers mapped == local. Without it the kernel asks for
    # real mappings; siw still listens on the unmapped port, so only the messages are testable.
    grep -q 'iw_driver_flags = IW_F_NO_PORT_MAP;' "$src/siw_main.c" ||
      fail $EXIT_SETUP "siw_main.c no longer sets iw_driver_flags = IW_F_NO_PORT_MAP; update SIW_PATCH in vm.sh"
    sed -i "$SIW_PATCH" "$src/siw_main.c"
    ! grep -q IW_F_NO_PORT_MAP "$src/siw_main.c" || fail $EXIT_SETUP "SIW_PATCH left IW_F_NO_PORT_MAP in siw_main.c"
  fi
  make -s -C "/usr/src/linux-headers-$KVER" M="$src" CONFIG_RDMA_SIW=m modules >"$tmp/build.log" 2>&1 ||
    {
      cat "$tmp/build.log" >&2
      fail $EXIT_SETUP "building siw.ko failed (log above)"
    }
  mkdir -p "$dir"
  cp "$src/siw.ko" "$dir/siw.ko.tmp"
  mv "$dir/siw.ko.tmp" "$dir/siw.ko"
  rm -rf "$tmp"
  SIW_KO="$dir/siw.ko"
}

# The initramfs: a static busybox, our init and the kernel's 9p, virtio and overlay modules.
build_initramfs() {
  local key
  key=$(cat "$HERE/guest/init" /bin/busybox | sha256sum | cut -c1-16)
  INITRAMFS="$CACHE/$KVER/initramfs-$key.cpio.gz"
  [ -f "$INITRAMFS" ] && return
  local tmp
  tmp=$(mktemp -d "$CACHE/$KVER/build.XXXXXX")
  mkdir -p "$tmp/root/bin" "$tmp/root/modules" "$tmp/root/proc" "$tmp/root/sys" "$tmp/root/dev"
  cp /bin/busybox "$tmp/root/bin/busybox"
  cp "$HERE/guest/init" "$tmp/root/init"
  chmod 755 "$tmp/root/init"
  local line module
  modprobe -S "$KVER" --show-depends -a virtio_pci 9pnet_virtio 9p overlay |
    awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' >"$tmp/modules.txt" ||
    fail $EXIT_SETUP "modprobe -S $KVER --show-depends failed"
  while read -r line; do
    module=$(basename "$line")
    cp "$line" "$tmp/root/modules/$module"
    echo "$module" >>"$tmp/root/modules/order"
  done <"$tmp/modules.txt"
  (cd "$tmp/root" && find . | cpio -o -H newc --quiet | gzip -1) >"$tmp/initramfs.cpio.gz"
  mv "$tmp/initramfs.cpio.gz" "$INITRAMFS"
  rm -rf "$tmp"
}

build_all() {
  mkdir -p "$CACHE/$KVER"
  # Parallel runs share the cache: one builds, the others wait and reuse.
  exec 9>"$CACHE/$KVER/lock"
  flock -w 600 9 || fail $EXIT_SETUP "timed out waiting for the cache lock $CACHE/$KVER/lock"
  build_initramfs
  local v
  for v in "$@"; do build_siw "$v"; done
  exec 9>&-
}

# --- the run -----------------------------------------------------------------------------------

SIW=stock
BOOT_TIMEOUT=90
TEST_TIMEOUT=180
OUT=
MODE=run
while [ $# -gt 0 ]; do
  case $1 in
  --check) MODE=check ;;
  --build) MODE=build ;;
  --siw) SIW=${2:?--siw needs stock, mapped or none}; shift ;;
  --boot-timeout) BOOT_TIMEOUT=${2:?}; shift ;;
  --test-timeout) TEST_TIMEOUT=${2:?}; shift ;;
  --out) OUT=${2:?}; shift ;;
  -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  --) shift; break ;;
  -*) fail $EXIT_USAGE "unknown option $1 (see --help)" ;;
  *) break ;;
  esac
  shift
done
case $SIW in stock | mapped | none) ;; *) fail $EXIT_USAGE "--siw is stock, mapped or none, not $SIW" ;; esac
for n in "$BOOT_TIMEOUT" "$TEST_TIMEOUT"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || fail $EXIT_USAGE "timeouts are whole seconds, not $n"
done

check_tools
case $MODE in
check)
  echo "vm.sh: ready (kernel $KVER, cache $CACHE)"
  exit 0
  ;;
build)
  build_all stock mapped
  echo "vm.sh: built $INITRAMFS and the siw variants under $CACHE/$KVER"
  exit 0
  ;;
esac

[ $# -ge 1 ] || fail $EXIT_USAGE "no test script given (see --help)"
[ -n "$OUT" ] || fail $EXIT_USAGE "--out DIR is required"
SCRIPT=$1
shift
[ -f "$SCRIPT" ] || fail $EXIT_USAGE "no such test script: $SCRIPT"
[ $# -le 32 ] || fail $EXIT_USAGE "at most 32 arguments for the test script"

if [ "$SIW" = none ]; then build_all; else build_all "$SIW"; fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
[ -z "$(ls -A "$OUT")" ] || fail $EXIT_USAGE "--out $OUT must be empty or new"
mkdir "$OUT/in" "$OUT/out"
cp "$HERE/guest/stage.sh" "$OUT/in/stage.sh"
cp "$SCRIPT" "$OUT/in/test.sh"
[ "$SIW" = none ] || cp "$SIW_KO" "$OUT/in/siw.ko"
{
  printf 'IWPM_VM_SIW=%q\nIWPM_VM_ROOT=%q\nIWPM_VM_ADDR=%q\nIWPM_VM_TEST_TIMEOUT=%q\n' \
    "$SIW" "$ROOT" "$SIW_ADDR" "$TEST_TIMEOUT"
  printf 'IWPM_VM_ARGS=('
  [ $# -eq 0 ] || printf '%q ' "$@"
  printf ')\n'
} >"$OUT/in/env"

CONSOLE="$OUT/console.log"
: >"$CONSOLE"
# QEMU as a whole may not outlive boot + test + a margin for power-off, whatever happens inside.
# no_timer_check: on a loaded host the emulated timer can miss the kernel's early IO-APIC check,
# which then panics ("IO-APIC + timer doesn't work!").
TOTAL=$((BOOT_TIMEOUT + TEST_TIMEOUT + 30))
NINEP_OPTS=security_model=none,multidevs=remap
timeout -s TERM -k 10 "$TOTAL" "$QEMU_BIN" \
  -accel tcg,thread=multi -cpu max -smp 2 -m 1536 \
  -display none -monitor none -serial "file:$CONSOLE" -no-reboot -nic none \
  -kernel "/boot/vmlinuz-$KVER" -initrd "$INITRAMFS" \
  -append "console=ttyS0 panic=-1 quiet no_timer_check" \
  -fsdev "local,id=hostroot,path=/,readonly=on,$NINEP_OPTS" \
  -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
  -fsdev "local,id=vmshare,path=$OUT,$NINEP_OPTS" \
  -device virtio-9p-pci,fsdev=vmshare,mount_tag=vmshare \
  </dev/null >"$OUT/qemu.log" 2>&1 &
QEMU=$!

# $QEMU is `timeout`, which passes SIGTERM on to QEMU; SIGKILL is not passed on, so it goes to
# QEMU's own pid as well.
stop_qemu() {
  local child i
  child=$(ps -o pid= --ppid "$QEMU" 2>/dev/null || true)
  kill -TERM "$QEMU" 2>/dev/null || return 0
  for i in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$QEMU" 2>/dev/null || return 0
    sleep 1
  done
  # shellcheck disable=SC2086 # $child is a list of pids, or empty.
  kill -KILL $child "$QEMU" 2>/dev/null || true
}
# The inputs (siw.ko, the scripts) are ours, not results: only DIR/out and the logs stay.
finish() {
  stop_qemu
  rm -rf "$OUT/in"
}
trap finish EXIT
trap 'exit 143' TERM INT HUP
tail_console() { echo "--- last lines of $CONSOLE:" >&2; tail -n 40 "$CONSOLE" >&2; }

# Waits until the console shows a marker (returns 0), QEMU ends (1) or the deadline passes (2).
wait_for() {
  local pattern=$1 deadline=$((SECONDS + $2))
  while ! grep -q "$pattern" "$CONSOLE"; do
    kill -0 "$QEMU" 2>/dev/null || { grep -q "$pattern" "$CONSOLE" && return 0; return 1; }
    [ $SECONDS -lt $deadline ] || return 2
    sleep 0.5
  done
}

rc=0
wait_for '^iwpm-vm: booted' "$BOOT_TIMEOUT" || rc=$?
if [ $rc -ne 0 ]; then
  tail_console
  cat "$OUT/qemu.log" >&2
  [ $rc -eq 1 ] && fail $EXIT_BOOT "QEMU ended before the VM booted (console and QEMU's messages above)"
  fail $EXIT_BOOT "the VM did not boot within ${BOOT_TIMEOUT}s (console above)"
fi
# The guest enforces the test's deadline itself; this one catches a guest that stopped answering.
wait_for '^iwpm-vm: exit [0-9]*' "$((TEST_TIMEOUT + 20))" || rc=$?
if [ $rc -ne 0 ]; then
  tail_console
  [ $rc -eq 1 ] && fail $EXIT_NO_STATUS "the VM ended without reporting the test's status (console above)"
  fail $EXIT_TIMEOUT "the test did not finish within ${TEST_TIMEOUT}s (console above)"
fi
status=$(grep -m1 -o '^iwpm-vm: exit [0-9]*' "$CONSOLE" | awk '{ print $3 }')
# The guest powers off at once; give it a moment, then stop it.
for _ in $(seq 20); do
  kill -0 "$QEMU" 2>/dev/null || break
  sleep 0.5
done
finish
trap - EXIT
if [ "$status" = 124 ]; then
  tail_console
  fail $EXIT_TIMEOUT "the test did not finish within ${TEST_TIMEOUT}s (its output: $OUT/out/test.log)"
fi
[ "$status" = $EXIT_SETUP ] && ! [ -f "$OUT/out/status" ] && {
  tail_console
  fail $EXIT_SETUP "setting up the VM failed (console above)"
}
exit "$status"
