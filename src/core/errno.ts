// WASI preview1 errno values: the numbering every core import returns.
// Source: WASI legacy/preview1/witx/typenames.witx, `$errno` (enum, tag u16), in declaration
// order. Keys are the POSIX names the witx variants mirror, so a Node error `code` ("ECONNREFUSED")
// indexes the table directly; the witx spelling is noted where it differs.

export const Errno = {
  SUCCESS: 0,
  E2BIG: 1, // $2big
  EACCES: 2, // $acces
  EADDRINUSE: 3,
  EADDRNOTAVAIL: 4,
  EAFNOSUPPORT: 5,
  EAGAIN: 6,
  EALREADY: 7,
  EBADF: 8,
  EBADMSG: 9,
  EBUSY: 10,
  ECANCELED: 11,
  ECHILD: 12,
  ECONNABORTED: 13,
  ECONNREFUSED: 14,
  ECONNRESET: 15,
  EDEADLK: 16,
  EDESTADDRREQ: 17,
  EDOM: 18,
  EDQUOT: 19,
  EEXIST: 20,
  EFAULT: 21,
  EFBIG: 22,
  EHOSTUNREACH: 23,
  EIDRM: 24,
  EILSEQ: 25,
  EINPROGRESS: 26,
  EINTR: 27,
  EINVAL: 28,
  EIO: 29,
  EISCONN: 30,
  EISDIR: 31,
  ELOOP: 32,
  EMFILE: 33,
  EMLINK: 34,
  EMSGSIZE: 35,
  EMULTIHOP: 36,
  ENAMETOOLONG: 37,
  ENETDOWN: 38,
  ENETRESET: 39,
  ENETUNREACH: 40,
  ENFILE: 41,
  ENOBUFS: 42,
  ENODEV: 43,
  ENOENT: 44,
  ENOEXEC: 45,
  ENOLCK: 46,
  ENOLINK: 47,
  ENOMEM: 48,
  ENOMSG: 49,
  ENOPROTOOPT: 50,
  ENOSPC: 51,
  ENOSYS: 52,
  ENOTCONN: 53,
  ENOTDIR: 54,
  ENOTEMPTY: 55,
  ENOTRECOVERABLE: 56,
  ENOTSOCK: 57,
  ENOTSUP: 58,
  ENOTTY: 59,
  ENXIO: 60,
  EOVERFLOW: 61,
  EOWNERDEAD: 62,
  EPERM: 63,
  EPIPE: 64,
  EPROTO: 65,
  EPROTONOSUPPORT: 66,
  EPROTOTYPE: 67,
  ERANGE: 68,
  EROFS: 69,
  ESPIPE: 70,
  ESRCH: 71,
  ESTALE: 72,
  ETIMEDOUT: 73,
  ETXTBSY: 74,
  EXDEV: 75,
  ENOTCAPABLE: 76, // $notcapable: a WASI extension with no POSIX counterpart
} as const;

export type ErrnoName = keyof typeof Errno;
export type WasiErrno = (typeof Errno)[ErrnoName];

// Linux gives some errors two names; WASI keeps one variant for each pair.
const ALIASES: ReadonlyMap<string, WasiErrno> = new Map([
  ["EWOULDBLOCK", Errno.EAGAIN],
  ["EOPNOTSUPP", Errno.ENOTSUP],
  ["EDEADLOCK", Errno.EDEADLK],
]);

const NAMES: ReadonlyMap<number, ErrnoName> = new Map((Object.keys(Errno) as ErrnoName[]).map((name) => [Errno[name], name]));

/** Maps a Node/libuv error code ("ECONNREFUSED") to its WASI errno; unknown codes become `fallback`. */
export function errnoFromCode(code: string | undefined, fallback: number = Errno.EIO): number {
  if (code === undefined) return fallback;
  // hasOwn, not `in`: "constructor" and friends must not resolve through the prototype.
  // And a failure never maps to SUCCESS.
  if (code !== "SUCCESS" && Object.hasOwn(Errno, code)) return Errno[code as ErrnoName];
  return ALIASES.get(code) ?? fallback;
}

/**
 * Maps any thrown or reported value to a WASI errno through its `code` (Node SystemError,
 * a thrown error of our own); anything without a known code becomes `fallback` (EIO).
 */
export function errnoFromError(err: unknown, fallback: number = Errno.EIO): number {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === "string" ? errnoFromCode(code, fallback) : fallback;
}

/** The POSIX-style name of a WASI errno, for diagnostics; undefined for numbers outside the table. */
export function errnoName(errno: number): ErrnoName | undefined {
  return NAMES.get(errno);
}
