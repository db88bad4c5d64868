// Linux errno numbers (asm-generic/errno-base.h, asm-generic/errno.h; x86-64 and arm64 share
// them) and their names, which also index the WASI table (errno.ts). Portable: no Node or Deno API.

import { Errno, errnoFromCode } from "./errno.js";

const LINUX_ERRNO: ReadonlyMap<number, string> = new Map([
  [1, "EPERM"],
  [2, "ENOENT"],
  [3, "ESRCH"],
  [4, "EINTR"],
  [5, "EIO"],
  [9, "EBADF"],
  [11, "EAGAIN"],
  [12, "ENOMEM"],
  [13, "EACCES"],
  [14, "EFAULT"],
  [22, "EINVAL"],
  [23, "ENFILE"],
  [24, "EMFILE"],
  [36, "ENAMETOOLONG"],
  [38, "ENOSYS"],
  [88, "ENOTSOCK"],
  [90, "EMSGSIZE"],
  [92, "ENOPROTOOPT"],
  [93, "EPROTONOSUPPORT"],
  [95, "EOPNOTSUPP"],
  [97, "EAFNOSUPPORT"],
  [98, "EADDRINUSE"],
  [99, "EADDRNOTAVAIL"],
  [105, "ENOBUFS"],
  [111, "ECONNREFUSED"],
]);

/** The Linux name of an errno number ("ECONNREFUSED"), or "E<n>" for one not in the table. */
export function linuxErrnoName(errno: number): string {
  return LINUX_ERRNO.get(errno) ?? `E${errno}`;
}

/** Maps a Linux errno number to its WASI errno; numbers without a WASI counterpart here become EIO. */
export function wasiErrnoFromLinux(errno: number): number {
  return errnoFromCode(LINUX_ERRNO.get(errno), Errno.EIO);
}
