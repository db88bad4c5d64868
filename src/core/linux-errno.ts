// Linux errno numbers and names, and the way between them and the WASI numbering the core speaks
// (errno.ts). Portable (a plain table, no node:os): messages and errors show Linux numbers in
// every host, because that is what a Linux engineer reads (`errno 111`, not WASI's 14).
// Numbers from asm-generic/errno-base.h and asm-generic/errno.h, shared by x86-64 and arm64.

import { Errno, type ErrnoName, errnoFromCode, errnoName } from "./errno.js";

/** Every WASI errno name with a Linux counterpart, and its Linux number. */
const LINUX_NUMBER: Readonly<Record<Exclude<ErrnoName, "SUCCESS" | "ENOTCAPABLE">, number>> = {
  E2BIG: 7,
  EACCES: 13,
  EADDRINUSE: 98,
  EADDRNOTAVAIL: 99,
  EAFNOSUPPORT: 97,
  EAGAIN: 11,
  EALREADY: 114,
  EBADF: 9,
  EBADMSG: 74,
  EBUSY: 16,
  ECANCELED: 125,
  ECHILD: 10,
  ECONNABORTED: 103,
  ECONNREFUSED: 111,
  ECONNRESET: 104,
  EDEADLK: 35,
  EDESTADDRREQ: 89,
  EDOM: 33,
  EDQUOT: 122,
  EEXIST: 17,
  EFAULT: 14,
  EFBIG: 27,
  EHOSTUNREACH: 113,
  EIDRM: 43,
  EILSEQ: 84,
  EINPROGRESS: 115,
  EINTR: 4,
  EINVAL: 22,
  EIO: 5,
  EISCONN: 106,
  EISDIR: 21,
  ELOOP: 40,
  EMFILE: 24,
  EMLINK: 31,
  EMSGSIZE: 90,
  EMULTIHOP: 72,
  ENAMETOOLONG: 36,
  ENETDOWN: 100,
  ENETRESET: 102,
  ENETUNREACH: 101,
  ENFILE: 23,
  ENOBUFS: 105,
  ENODEV: 19,
  ENOENT: 2,
  ENOEXEC: 8,
  ENOLCK: 37,
  ENOLINK: 67,
  ENOMEM: 12,
  ENOMSG: 42,
  ENOPROTOOPT: 92,
  ENOSPC: 28,
  ENOSYS: 38,
  ENOTCONN: 107,
  ENOTDIR: 20,
  ENOTEMPTY: 39,
  ENOTRECOVERABLE: 131,
  ENOTSOCK: 88,
  ENOTSUP: 95,
  ENOTTY: 25,
  ENXIO: 6,
  EOVERFLOW: 75,
  EOWNERDEAD: 130,
  EPERM: 1,
  EPIPE: 32,
  EPROTO: 71,
  EPROTONOSUPPORT: 93,
  EPROTOTYPE: 91,
  ERANGE: 34,
  EROFS: 30,
  ESPIPE: 29,
  ESRCH: 3,
  ESTALE: 116,
  ETIMEDOUT: 110,
  ETXTBSY: 26,
  EXDEV: 18,
};

// Linux gives 95 two names; sockets report the first (a netlink send says EOPNOTSUPP).
const PREFERRED_NAME: ReadonlyMap<number, string> = new Map([[95, "EOPNOTSUPP"]]);

const NAME_OF_LINUX: ReadonlyMap<number, string> = new Map([
  ...(Object.entries(LINUX_NUMBER) as [string, number][]).map(([name, n]): [number, string] => [n, name]),
  ...PREFERRED_NAME,
]);

/** A Linux errno: its number and its name, as `strerrorname_np` gives it. */
export interface LinuxErrno {
  errno: number;
  name: string;
}

/** The Linux name of a Linux errno number ("ECONNREFUSED"), or "E<n>" for one not in the table. */
export function linuxErrnoName(errno: number): string {
  return NAME_OF_LINUX.get(errno) ?? `E${errno}`;
}

/** Maps a Linux errno number to its WASI errno; numbers without a WASI counterpart become EIO. */
export function wasiErrnoFromLinux(errno: number): number {
  return errnoFromCode(NAME_OF_LINUX.get(errno), Errno.EIO);
}

/** The Linux errno behind a WASI errno; undefined for 0 and for numbers Linux has no name for. */
export function linuxErrnoFromWasi(wasi: number): LinuxErrno | undefined {
  const name = errnoName(wasi);
  if (name === undefined || name === "SUCCESS" || name === "ENOTCAPABLE") return undefined;
  const errno = LINUX_NUMBER[name];
  return { errno, name: linuxErrnoName(errno) };
}
