// The Deno host's netlink socket, through libc (Deno.dlopen; needs --allow-ffi), behind the shim's
// batch interface with the Node socket's semantics: received datagrams go from the kernel straight
// into the core's receive area with their senders' credentials, many per recvmmsg(2); sends leave
// at once from the core's memory, many per sendmmsg(2). libc speaks Linux errno numbers, the core
// WASI's: they are converted here.
//
// The socket is non-blocking from the start (SOCK_NONBLOCK) and every call but one runs on the
// main thread with MSG_DONTWAIT. The one that waits is poll(2), declared `nonblocking` so that Deno
// runs it on a worker thread and returns a Promise. It watches the socket and an eventfd; when the
// socket is readable, onReadable lets the core pull with recvBatch, and the poll is armed again.
// close() writes to the eventfd so the pending poll returns at once and leaves nothing that keeps
// Deno alive.
//
// A receive-queue overrun (ENOBUFS: the kernel dropped datagrams while the event loop was busy)
// is counted and reported through onOverrun; reading goes on.

import { linuxErrnoName, wasiErrnoFromLinux } from "../core/linux-errno.js";
import {
  type BatchSocket,
  RX_DESC_SIZE,
  RX_FLAGS,
  RX_GID,
  RX_GROUPS,
  RX_LEN,
  RX_PID,
  RX_PORT,
  RX_UID,
  RXF_CREDS,
  RXF_TRUNC,
  TX_DESC_SIZE,
  TX_ERRNO,
  TX_GROUPS,
  TX_LEN,
  TX_PORT,
  TX_PTR,
} from "./shim.js";

export { linuxErrnoName, wasiErrnoFromLinux } from "../core/linux-errno.js";

export const NETLINK_USERSOCK = 2;
export const NETLINK_RDMA = 20;

// <sys/socket.h>, <linux/netlink.h>, <poll.h>, <sys/eventfd.h> for x86-64 and arm64 Linux.
const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = SOCK_NONBLOCK;
const EFD_CLOEXEC = SOCK_CLOEXEC;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_PASSCRED = 16;
const SCM_CREDENTIALS = 2;
const SOL_NETLINK = 270;
const NETLINK_ADD_MEMBERSHIP = 1;
// MSG_TRUNC on receive: netlink then returns each datagram's real length even when its slot was
// shorter (and sets MSG_TRUNC in that message's msg_flags).
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const POLLIN = 0x001;
const POLLNVAL = 0x020;

// struct sockaddr_nl { u16 nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; }
const SOCKADDR_NL_SIZE = 12;
const NL_FAMILY = 0;
const NL_PID = 4;
const NL_GROUPS = 8;
// struct msghdr (64-bit): name ptr, namelen (+pad), iov ptr, iovlen, control ptr, controllen,
// flags (+pad); struct mmsghdr adds the length the call transferred (+pad).
const MSGHDR_SIZE = 56;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
const MSG_FLAGS = 48;
const MMSGHDR_SIZE = 64;
const MMSG_LEN = MSGHDR_SIZE;
// struct iovec { void *base; size_t len; }
const IOVEC_SIZE = 16;
const IOV_BASE = 0;
const IOV_LEN = 8;
// struct cmsghdr { size_t len; int level; int type; } then struct ucred { pid; uid; gid; }:
// CMSG_SPACE(sizeof(struct ucred)) = 16 + 16.
const CMSG_LEN = 0;
const CMSG_LEVEL = 8;
const CMSG_TYPE = 12;
const CMSG_DATA = 16;
const UCRED_PID = 0;
const UCRED_UID = 4;
const UCRED_GID = 8;
const UCRED_SIZE = 12;
const CONTROL_SIZE = 32;
// struct pollfd { int fd; short events; short revents; }
const POLLFD_SIZE = 8;
const POLL_FD = 0;
const POLL_EVENTS = 4;
const POLL_REVENTS = 6;

/** Datagrams per recvmmsg/sendmmsg call; larger requests loop over batches of this size. */
const BATCH = 64;
const TWO_32 = 2 ** 32;

const LINUX_EINTR = 4;
const LINUX_EAGAIN = 11;
const LINUX_EBADF = 9;
const LINUX_EFAULT = 14;
const LINUX_ENOBUFS = 105;
const LINUX_ECONNREFUSED = 111;

/** A failed libc call: `code` is the errno's name (as in Node's SystemError), `errno` its Linux number. */
export class NetlinkError extends Error {
  override readonly name = "NetlinkError";
  readonly code: string;
  constructor(
    readonly syscall: string,
    readonly errno: number,
  ) {
    const code = linuxErrnoName(errno);
    super(`${syscall} failed: ${code} (errno ${errno})`);
    this.code = code;
  }
}

// --- the part of Deno this file uses ---------------------------------------------------------------

const LIBC_SYMBOLS = {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "buffer", "u32", "i32", "pointer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  // ssize_t read as its low 32 bits: -1 or a netlink datagram's length, and no BigInt per call.
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  close: { parameters: ["i32"], result: "i32" },
  // On a Deno worker thread: the main thread never waits for the socket.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  __errno_location: { parameters: [], result: "pointer" },
} as const;

/** The libc functions as Deno's FFI presents them (64-bit integers as bigint). */
interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Uint8Array, addrlen: number): number;
  getsockname(fd: number, addr: Uint8Array, addrlen: Uint8Array): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, len: number): number;
  recvmmsg(fd: number, msgs: Uint8Array, vlen: number, flags: number, timeout: null): number;
  sendmmsg(fd: number, msgs: Uint8Array, vlen: number, flags: number): number;
  sendmsg(fd: number, msg: Uint8Array, flags: number): number;
  eventfd(initval: number, flags: number): number;
  write(fd: number, buf: Uint8Array, len: bigint): bigint;
  close(fd: number): number;
  poll(fds: Uint8Array, nfds: bigint, timeoutMs: number): Promise<number>;
  __errno_location(): object | null;
}

/**
 * The slice of the `Deno` namespace the Deno host uses. Declared here so the sources type-check
 * under the Node configuration too; under `deno check` the real namespace must satisfy it (below).
 */
export interface DenoRuntime {
  dlopen(path: string, symbols: typeof LIBC_SYMBOLS): { symbols: Libc };
  UnsafePointer: {
    /** A pointer to a buffer's memory, for a struct that holds it. */
    of(buffer: Uint8Array): unknown;
    /** A pointer's address as a number. */
    value(pointer: unknown): bigint;
  };
  UnsafePointerView: {
    /** An ArrayBuffer over `byteLength` bytes of foreign memory at `pointer` (no copy). */
    getArrayBuffer(pointer: object, byteLength: number): ArrayBuffer;
  };
  readFile(path: URL): Promise<Uint8Array<ArrayBuffer>>;
}

// Under `deno check` this is Deno's own namespace type, so the assignment in denoRuntime() checks
// DenoRuntime against it; elsewhere it is DenoRuntime itself.
type HostDeno = typeof globalThis extends { Deno: infer D } ? D : DenoRuntime;

/** The running Deno, typed as DenoRuntime; throws outside Deno. */
export function denoRuntime(): DenoRuntime {
  const deno: DenoRuntime | undefined = (globalThis as unknown as { Deno?: HostDeno }).Deno;
  if (deno === undefined) throw new Error("netlink-deno: this host needs Deno (run with --allow-ffi)");
  return deno;
}

/**
 * Deno's internal op-promise (un)ref, the only way to keep a pending nonblocking FFI call from
 * pinning the event loop. Not public API: looked up defensively, and unref() is a no-op without it.
 */
interface OpRefs {
  refOpPromise(p: Promise<unknown>): void;
  unrefOpPromise(p: Promise<unknown>): void;
}

function opRefs(): OpRefs | undefined {
  try {
    const d = (globalThis as { Deno?: { internal?: symbol } }).Deno;
    const internal = d?.internal;
    if (d === undefined || typeof internal !== "symbol") return undefined;
    const core = (d as Record<symbol, { core?: Partial<OpRefs> } | undefined>)[internal]?.core;
    if (typeof core?.refOpPromise !== "function" || typeof core.unrefOpPromise !== "function") return undefined;
    return core as OpRefs;
  } catch {
    return undefined;
  }
}

let libc: Libc | undefined;
let errnoCell: Int32Array | undefined;

// Opened once and never closed: a nonblocking poll may still run in it on a worker thread.
function openLibc(): Libc {
  if (libc === undefined) {
    const deno = denoRuntime();
    libc = deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
    // errno is per thread; the main thread's stays at one address, and every call that reads it
    // (all but poll) runs on the main thread.
    const at = libc.__errno_location();
    if (at === null) throw new Error("netlink-deno: __errno_location() returned NULL");
    errnoCell = new Int32Array(deno.UnsafePointerView.getArrayBuffer(at, 4));
  }
  return libc;
}

function errno(): number {
  return errnoCell?.[0] ?? 0;
}

// --- the socket ---------------------------------------------------------------------------------

export interface DenoNetlinkSocketOptions {
  /** Netlink family: NETLINK_USERSOCK (2, default) or NETLINK_RDMA (20). */
  protocol?: number;
  /** Port id to bind; 0 (default) lets the kernel pick a unique one. */
  port?: number;
  /** Multicast groups to join (group numbers, not a bitmask). */
  groups?: number[];
  /** SO_RCVBUF in bytes; the kernel caps it at net.core.rmem_max. */
  recvBufferSize?: number;
  /** Datagrams are queued: the core should pull them with recvBatch. */
  onReadable: () => void;
  /** The kernel dropped datagrams (receive-queue overrun); `total` counts overruns so far. */
  onOverrun?: (total: number) => void;
  /** The poll loop failed unexpectedly; the socket receives nothing more. */
  onError?: (err: Error) => void;
}

export interface DenoNetlinkCounters {
  /** Datagrams received, truncated ones included. */
  received: number;
  /** Datagrams longer than their slot. */
  truncated: number;
  /** Receive-queue overruns (ENOBUFS) met while reading. */
  overruns: number;
  /** Datagrams the kernel accepted. */
  sent: number;
  /** Datagrams refused, each with its errno in its descriptor. */
  sendErrors: number;
}

/** Runs `fn` so that nothing it throws breaks the receive loop; a throw resurfaces as an uncaught exception. */
function shielded(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    setTimeout(() => {
      throw err;
    }, 0);
  }
}

/** Writes a 64-bit address held in a number (user-space addresses fit in 53 bits) without a BigInt. */
function setAddress(view: DataView, at: number, address: number): void {
  view.setUint32(at, address % TWO_32, true);
  view.setUint32(at + 4, Math.floor(address / TWO_32), true);
}

/** One mmsghdr array with an iovec and a sockaddr_nl (and on receive a control buffer) per message, wired once. */
class MessageArray {
  readonly hdrs = new Uint8Array(BATCH * MMSGHDR_SIZE);
  readonly hdrView = new DataView(this.hdrs.buffer);
  readonly iovs = new Uint8Array(BATCH * IOVEC_SIZE);
  readonly iovView = new DataView(this.iovs.buffer);
  readonly names = new Uint8Array(BATCH * SOCKADDR_NL_SIZE);
  readonly nameView = new DataView(this.names.buffer);
  readonly controls: Uint8Array;
  readonly controlView: DataView;

  constructor(deno: DenoRuntime, controlSize: number) {
    this.controls = new Uint8Array(Math.max(1, BATCH * controlSize));
    this.controlView = new DataView(this.controls.buffer);
    const address = (buffer: Uint8Array) => Number(deno.UnsafePointer.value(deno.UnsafePointer.of(buffer)));
    const iovs = address(this.iovs);
    const names = address(this.names);
    const controls = address(this.controls);
    for (let i = 0; i < BATCH; i++) {
      const h = i * MMSGHDR_SIZE;
      setAddress(this.hdrView, h + MSG_NAME, names + i * SOCKADDR_NL_SIZE);
      setAddress(this.hdrView, h + MSG_IOV, iovs + i * IOVEC_SIZE);
      this.hdrView.setBigUint64(h + MSG_IOVLEN, 1n, true);
      if (controlSize > 0) setAddress(this.hdrView, h + MSG_CONTROL, controls + i * controlSize);
      this.nameView.setUint16(i * SOCKADDR_NL_SIZE + NL_FAMILY, AF_NETLINK, true);
    }
  }

  /** Points message i's iovec at `len` bytes at `address`. */
  setIov(i: number, address: number, len: number): void {
    setAddress(this.iovView, i * IOVEC_SIZE + IOV_BASE, address);
    this.iovView.setUint32(i * IOVEC_SIZE + IOV_LEN, len, true);
    this.iovView.setUint32(i * IOVEC_SIZE + IOV_LEN + 4, 0, true);
  }
}

export class DenoNetlinkSocket implements BatchSocket {
  /** The bound port id (`nl_pid`). */
  readonly port: number;
  readonly protocol: number;

  private readonly deno: DenoRuntime;
  private readonly libc: Libc;
  private readonly fd: number;
  private readonly wakeFd: number;
  private readonly stats: DenoNetlinkCounters = { received: 0, truncated: 0, overruns: 0, sent: 0, sendErrors: 0 };
  private overrunsReported = 0;
  private closed = false;
  private refed = true;
  /** The poll running on a worker thread, if any. */
  private polling: Promise<number> | undefined;
  private readonly refs = opRefs();
  // What the libc calls read and fill, allocated once. pollfds stays referenced while a poll runs.
  private readonly pollfds = new Uint8Array(2 * POLLFD_SIZE);
  private readonly rx: MessageArray;
  private readonly tx: MessageArray;
  private readonly onReadable: () => void;
  private readonly onOverrun: DenoNetlinkSocketOptions["onOverrun"];
  private readonly onError: DenoNetlinkSocketOptions["onError"];

  /** Throws a NetlinkError (`code`, `errno`, `syscall`) when the socket cannot be opened or bound. */
  constructor(opts: DenoNetlinkSocketOptions) {
    this.protocol = opts.protocol ?? NETLINK_USERSOCK;
    this.onReadable = opts.onReadable;
    this.onOverrun = opts.onOverrun;
    this.onError = opts.onError;
    const c = openLibc();
    this.libc = c;
    this.deno = denoRuntime();

    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, this.protocol);
    if (fd < 0) throw new NetlinkError("socket", errno());
    let wakeFd: number;
    try {
      if (opts.recvBufferSize !== undefined) this.setInt(fd, SOL_SOCKET, SO_RCVBUF, opts.recvBufferSize, "setsockopt(SO_RCVBUF)");
      this.setInt(fd, SOL_SOCKET, SO_PASSCRED, 1, "setsockopt(SO_PASSCRED)");
      const addr = new Uint8Array(SOCKADDR_NL_SIZE);
      const view = new DataView(addr.buffer);
      view.setUint16(NL_FAMILY, AF_NETLINK, true);
      view.setUint32(NL_PID, (opts.port ?? 0) >>> 0, true);
      if (c.bind(fd, addr, SOCKADDR_NL_SIZE) !== 0) throw new NetlinkError("bind", errno());
      for (const group of opts.groups ?? []) {
        this.setInt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, group, "setsockopt(NETLINK_ADD_MEMBERSHIP)");
      }
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, SOCKADDR_NL_SIZE, true);
      addr.fill(0);
      if (c.getsockname(fd, addr, len) !== 0) throw new NetlinkError("getsockname", errno());
      this.port = view.getUint32(NL_PID, true);
      wakeFd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (wakeFd < 0) throw new NetlinkError("eventfd", errno());
    } catch (err) {
      c.close(fd);
      throw err;
    }
    this.fd = fd;
    this.wakeFd = wakeFd;
    this.rx = new MessageArray(this.deno, CONTROL_SIZE);
    this.tx = new MessageArray(this.deno, 0);
    const pfd = new DataView(this.pollfds.buffer);
    pfd.setInt32(POLL_FD, fd, true);
    pfd.setInt16(POLL_EVENTS, POLLIN, true);
    pfd.setInt32(POLLFD_SIZE + POLL_FD, wakeFd, true);
    pfd.setInt16(POLLFD_SIZE + POLL_EVENTS, POLLIN, true);
    void this.receiveLoop();
  }

  /** Datagrams received, truncated, overruns, sends and send errors so far. */
  get counters(): Readonly<DenoNetlinkCounters> {
    return this.stats;
  }

  recvBatch(memory: ArrayBuffer, descs: number, data: number, slot: number, max: number): number {
    if (this.closed) return -wasiErrnoFromLinux(LINUX_EBADF);
    const size = memory.byteLength;
    if (descs + max * RX_DESC_SIZE > size || data + max * slot > size) return -wasiErrnoFromLinux(LINUX_EFAULT);
    const view = new DataView(memory);
    // Taken per call: memory.grow gives the core's memory a new buffer.
    const base = this.address(memory);
    const { hdrView, nameView, controlView } = this.rx;
    let total = 0;
    while (total < max) {
      const want = Math.min(max - total, BATCH);
      for (let i = 0; i < want; i++) {
        const h = i * MMSGHDR_SIZE;
        this.rx.setIov(i, base + data + (total + i) * slot, slot);
        // The kernel writes back the lengths it used: each call starts from the full ones.
        hdrView.setUint32(h + MSG_NAMELEN, SOCKADDR_NL_SIZE, true);
        hdrView.setUint32(h + MSG_CONTROLLEN, CONTROL_SIZE, true);
        hdrView.setUint32(h + MSG_CONTROLLEN + 4, 0, true);
        hdrView.setUint32(h + MSG_FLAGS, 0, true);
      }
      const n = this.libc.recvmmsg(this.fd, this.rx.hdrs, want, MSG_DONTWAIT | MSG_TRUNC, null);
      if (n < 0) {
        const linux = errno();
        if (linux === LINUX_EINTR) continue;
        // The kernel dropped datagrams for a full receive queue; the queue itself is intact.
        if (linux === LINUX_ENOBUFS) {
          this.stats.overruns++;
          continue;
        }
        if (linux === LINUX_EAGAIN) break;
        return total > 0 ? total : -wasiErrnoFromLinux(linux);
      }
      for (let i = 0; i < n; i++) {
        const h = i * MMSGHDR_SIZE;
        const d = descs + (total + i) * RX_DESC_SIZE;
        const cm = i * CONTROL_SIZE;
        let flags = 0;
        const hasCreds =
          hdrView.getUint32(h + MSG_CONTROLLEN, true) >= CMSG_DATA + UCRED_SIZE &&
          controlView.getUint32(cm + CMSG_LEN, true) >= CMSG_DATA + UCRED_SIZE &&
          controlView.getInt32(cm + CMSG_LEVEL, true) === SOL_SOCKET &&
          controlView.getInt32(cm + CMSG_TYPE, true) === SCM_CREDENTIALS;
        if (hasCreds) {
          view.setUint32(d + RX_PID, controlView.getUint32(cm + CMSG_DATA + UCRED_PID, true), true);
          view.setUint32(d + RX_UID, controlView.getUint32(cm + CMSG_DATA + UCRED_UID, true), true);
          view.setUint32(d + RX_GID, controlView.getUint32(cm + CMSG_DATA + UCRED_GID, true), true);
          flags |= RXF_CREDS;
        } else {
          view.setUint32(d + RX_PID, 0, true);
          view.setUint32(d + RX_UID, 0, true);
          view.setUint32(d + RX_GID, 0, true);
        }
        if (hdrView.getInt32(h + MSG_FLAGS, true) & MSG_TRUNC) {
          flags |= RXF_TRUNC;
          this.stats.truncated++;
        }
        view.setUint32(d + RX_LEN, hdrView.getUint32(h + MMSG_LEN, true), true);
        view.setUint32(d + RX_PORT, nameView.getUint32(i * SOCKADDR_NL_SIZE + NL_PID, true), true);
        view.setUint32(d + RX_GROUPS, nameView.getUint32(i * SOCKADDR_NL_SIZE + NL_GROUPS, true), true);
        view.setUint32(d + RX_FLAGS, flags, true);
      }
      total += n;
      this.stats.received += n;
      // A short batch means the queue ran dry (or an error waits for the next call).
      if (n < want) break;
    }
    return total;
  }

  sendBatch(memory: ArrayBuffer, descs: number, count: number): number {
    if (this.closed) return wasiErrnoFromLinux(LINUX_EBADF);
    const size = memory.byteLength;
    if (descs + count * TX_DESC_SIZE > size) return wasiErrnoFromLinux(LINUX_EFAULT);
    const view = new DataView(memory);
    // Nothing leaves unless every datagram lies inside the memory: the kernel would read past it.
    for (let k = 0; k < count; k++) {
      const d = descs + k * TX_DESC_SIZE;
      if (view.getUint32(d + TX_PTR, true) + view.getUint32(d + TX_LEN, true) > size) return wasiErrnoFromLinux(LINUX_EFAULT);
    }
    const base = this.address(memory);
    const { hdrView, nameView } = this.tx;
    let failed = 0;
    let i = 0;
    const setMessage = (slot: number, d: number) => {
      this.tx.setIov(slot, base + view.getUint32(d + TX_PTR, true), view.getUint32(d + TX_LEN, true));
      nameView.setUint32(slot * SOCKADDR_NL_SIZE + NL_PID, view.getUint32(d + TX_PORT, true), true);
      nameView.setUint32(slot * SOCKADDR_NL_SIZE + NL_GROUPS, view.getUint32(d + TX_GROUPS, true), true);
      hdrView.setUint32(slot * MMSGHDR_SIZE + MSG_NAMELEN, SOCKADDR_NL_SIZE, true);
    };
    const fail = (d: number, linux: number) => {
      view.setInt32(d + TX_ERRNO, wasiErrnoFromLinux(linux), true);
      failed++;
    };
    while (i < count) {
      const d0 = descs + i * TX_DESC_SIZE;
      if (view.getUint32(d0 + TX_GROUPS, true) !== 0) {
        // A multicast goes to the group members first and then as a unicast to its port, which can
        // fail after the members got it. Sent alone, its own errno is known and it is never sent
        // twice. Port 0 on NETLINK_USERSOCK has no listener, so that unicast always fails with
        // ECONNREFUSED although the multicast went out: that one counts as sent.
        setMessage(0, d0);
        let linux: number;
        do linux = this.libc.sendmsg(this.fd, this.tx.hdrs, MSG_DONTWAIT) < 0 ? errno() : 0;
        while (linux === LINUX_EINTR);
        if (linux === LINUX_ECONNREFUSED && view.getUint32(d0 + TX_PORT, true) === 0) linux = 0;
        if (linux !== 0) fail(d0, linux);
        else view.setInt32(d0 + TX_ERRNO, 0, true);
        i++;
        continue;
      }
      let want = 0;
      while (i + want < count && want < BATCH) {
        const d = descs + (i + want) * TX_DESC_SIZE;
        if (view.getUint32(d + TX_GROUPS, true) !== 0) break;
        setMessage(want, d);
        want++;
      }
      const n = this.libc.sendmmsg(this.fd, this.tx.hdrs, want, MSG_DONTWAIT);
      if (n < 0) {
        const linux = errno();
        if (linux === LINUX_EINTR) continue;
        // sendmmsg stopped at this datagram and, having sent none before it, says why.
        fail(d0, linux);
        i++;
        continue;
      }
      // When n < want, sendmmsg drops the errno of datagram n. The next pass starts with it: a
      // unicast that failed delivered nothing, so sending it again is safe and yields its errno.
      for (let k = 0; k < n; k++) view.setInt32(descs + (i + k) * TX_DESC_SIZE + TX_ERRNO, 0, true);
      i += n;
    }
    this.stats.sent += count - failed;
    this.stats.sendErrors += failed;
    return 0;
  }

  /** Whether unref() can work in this Deno (it needs Deno's internal op (un)ref). */
  get canUnref(): boolean {
    return this.refs !== undefined;
  }

  /** Keeps the event loop alive while the socket is open (the default). */
  ref(): void {
    if (this.closed || this.refed) return;
    this.refed = true;
    if (this.polling !== undefined) this.refs?.refOpPromise(this.polling);
  }

  /** Lets the process exit while the socket is still open (a no-op where canUnref is false). */
  unref(): void {
    if (this.closed || !this.refed) return;
    this.refed = false;
    if (this.polling !== undefined) this.refs?.unrefOpPromise(this.polling);
  }

  /** Closes the socket; idempotent, and safe inside onReadable. Wakes the pending poll, so nothing of this socket keeps Deno running. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // A running poll holds its own reference to the socket's file, so closing the fd now is safe.
    // The eventfd belongs to the receive loop, which closes it once no poll runs any more: so a
    // poll cannot miss the wake-up even if it has not started yet and the socket's fd number is
    // reused meanwhile. Without a poll running (close() called from onReadable) the loop is between
    // polls and ends when this call returns.
    this.libc.close(this.fd);
    if (this.polling !== undefined) this.wake();
  }

  // --- the poll loop ----------------------------------------------------------------------------

  private async receiveLoop(): Promise<void> {
    try {
      while (!this.closed) {
        const polled = this.libc.poll(this.pollfds, 2n, -1);
        this.polling = polled;
        if (!this.refed) this.refs?.unrefOpPromise(polled);
        let ready: number;
        try {
          ready = await polled;
        } finally {
          this.polling = undefined;
        }
        if (this.closed) break;
        // -1 is EINTR (the worker thread's errno is out of reach; nothing else applies here).
        if (ready <= 0) continue;
        const revents = new DataView(this.pollfds.buffer).getInt16(POLL_REVENTS, true);
        // The fd was closed under us: nothing more can arrive.
        if (revents & POLLNVAL) break;
        // POLLIN or POLLERR: the core's recvBatch reads the datagrams, or the pending error
        // (ENOBUFS), which reading clears.
        if (revents !== 0) shielded(this.onReadable);
        if (!this.closed && this.stats.overruns !== this.overrunsReported) {
          this.overrunsReported = this.stats.overruns;
          const total = this.overrunsReported;
          shielded(() => this.onOverrun?.(total));
        }
      }
    } catch (err) {
      // Not expected (poll itself does not throw); reported rather than left as an unhandled rejection.
      shielded(() => this.onError?.(err instanceof Error ? err : new Error(String(err))));
    } finally {
      this.libc.close(this.wakeFd);
    }
  }

  /** The address of the first byte of `memory`, as a number (see setAddress). */
  private address(memory: ArrayBuffer): number {
    return Number(this.deno.UnsafePointer.value(this.deno.UnsafePointer.of(new Uint8Array(memory))));
  }

  private wake(): void {
    const one = new Uint8Array(8);
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    this.libc.write(this.wakeFd, one, 8n);
  }

  private setInt(fd: number, level: number, name: number, value: number, what: string): void {
    const v = new Uint8Array(4);
    new DataView(v.buffer).setInt32(0, value, true);
    if (this.libc.setsockopt(fd, level, name, v, 4) !== 0) throw new NetlinkError(what, errno());
  }
}

/** Opens and binds a netlink socket in Deno; throws a NetlinkError when that fails. */
export function openNetlinkSocketDeno(opts: DenoNetlinkSocketOptions): DenoNetlinkSocket {
  return new DenoNetlinkSocket(opts);
}
