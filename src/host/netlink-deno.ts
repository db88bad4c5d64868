// A DatagramSocket over a real netlink socket in Deno, through libc (Deno.dlopen; needs --allow-ffi).
//
// The npm `netlink` addon loads in Deno but cannot receive there: it relies on libuv to make its
// socket non-blocking, Deno's libuv shim does not, and recvmsg then blocks Deno's main thread.
// So this file opens the socket itself, non-blocking from the start (SOCK_NONBLOCK), and sends
// and receives with MSG_DONTWAIT on the main thread. The only call that waits is poll(2), declared
// `nonblocking` so that Deno runs it on a worker thread and returns a Promise. It watches the
// socket and an eventfd; close() writes to the eventfd so the pending poll returns at once and
// leaves nothing that keeps Deno alive.
//
// Sends are synchronous: the kernel accepts or refuses a netlink datagram inside sendto(2), so
// its errno is returned by sendTo() directly. The one exception is EAGAIN (the receiver's queue is
// full): such datagrams wait in a backlog, in order, and are retried on a timer; a retry that then
// fails is reported to onSendError, as the Node socket reports its late failures.

import { Errno } from "./errno.js";
import { Fifo } from "./fifo.js";
import { linuxErrnoName, wasiErrnoFromLinux } from "./linux-errno.js";
import type { NetlinkCounters, NetlinkSocketOptions, SentDatagram } from "./netlink.js";
import type { Datagram, DatagramSocket } from "./shim.js";

export { linuxErrnoName, wasiErrnoFromLinux } from "./linux-errno.js";

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
// MSG_TRUNC on receive: return the datagram's real length even when the buffer was shorter.
const MSG_TRUNC = 0x20;
const MSG_DONTWAIT = 0x40;
const POLLIN = 0x001;
const POLLERR = 0x008;
const POLLNVAL = 0x020;

// struct sockaddr_nl { u16 nl_family; u16 nl_pad; u32 nl_pid; u32 nl_groups; }
const SOCKADDR_NL_SIZE = 12;
const NL_FAMILY = 0;
const NL_PID = 4;
const NL_GROUPS = 8;
// struct msghdr (64-bit): name ptr, namelen (+pad), iov ptr, iovlen, control ptr, controllen, flags.
const MSGHDR_SIZE = 56;
const MSG_NAME = 0;
const MSG_NAMELEN = 8;
const MSG_IOV = 16;
const MSG_IOVLEN = 24;
const MSG_CONTROL = 32;
const MSG_CONTROLLEN = 40;
// struct iovec { void *base; size_t len; }
const IOVEC_SIZE = 16;
// struct cmsghdr { size_t len; int level; int type; } then struct ucred { pid; uid; gid; }:
// CMSG_SPACE(sizeof(struct ucred)) = 16 + 16.
const CMSG_LEN = 0;
const CMSG_LEVEL = 8;
const CMSG_TYPE = 12;
const CMSG_DATA = 16;
const UCRED_SIZE = 12;
const CONTROL_SIZE = 32;
// struct pollfd { int fd; short events; short revents; }
const POLLFD_SIZE = 8;
const POLL_FD = 0;
const POLL_EVENTS = 4;
const POLL_REVENTS = 6;

// 64 KiB covers any iwpm message many times over; a longer datagram arrives cut to this size
// with truncatedLength set (MSG_TRUNC tells its real length).
const MAX_DATAGRAM = 65536;
// Datagrams read per poll wake-up before onReadable runs; the rest wait for the next wake-up
// (poll returns at once while any are queued), so a flood cannot starve the event loop.
const DRAIN_BATCH = 1024;
// Datagrams waiting for the receiver's queue to drain (EAGAIN); beyond this sendTo says ENOBUFS.
const BACKLOG_LIMIT = 65536;
const RETRY_FIRST_MS = 1;
const RETRY_MAX_MS = 50;

const LINUX_EINTR = 4;
const LINUX_EAGAIN = 11;
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
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize" },
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
  sendto(fd: number, buf: Uint8Array, len: bigint, flags: number, addr: Uint8Array, addrlen: number): bigint;
  recvmsg(fd: number, msg: Uint8Array, flags: number): bigint;
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
  refTimer(id: Timer): void;
  unrefTimer(id: Timer): void;
}

type Timer = ReturnType<typeof setTimeout>;

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

export type DenoNetlinkSocketOptions = NetlinkSocketOptions;

/** A datagram waiting in the send backlog. */
interface Deferred extends SentDatagram {
  /** Multicast part already delivered (the first try failed only in its unicast part): retry the unicast alone. */
  unicastOnly: boolean;
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

export class DenoNetlinkSocket implements DatagramSocket {
  /** The bound port id (`nl_pid`). */
  readonly port: number;
  readonly protocol: number;
  readonly counters: Readonly<NetlinkCounters>;

  private readonly libc: Libc;
  private readonly fd: number;
  private readonly wakeFd: number;
  private readonly stats: NetlinkCounters = { sent: 0, received: 0, sendErrors: 0, truncated: 0, recvErrors: 0 };
  private readonly queue = new Fifo<Datagram>();
  private readonly backlog: Deferred[] = [];
  private retryTimer: Timer | undefined;
  private retryMs = RETRY_FIRST_MS;
  private closed = false;
  private refed = true;
  /** The poll running on a worker thread, if any. */
  private polling: Promise<number> | undefined;
  private readonly refs = opRefs();
  // Buffers the libc calls fill, allocated once. pollfds stays referenced while a poll runs.
  private readonly pollfds = new Uint8Array(2 * POLLFD_SIZE);
  private readonly rxBuf = new Uint8Array(MAX_DATAGRAM);
  private readonly rxAddr = new Uint8Array(SOCKADDR_NL_SIZE);
  private readonly rxIov = new Uint8Array(IOVEC_SIZE);
  private readonly rxControl = new Uint8Array(CONTROL_SIZE);
  /** A msghdr over the buffers above, so recvmsg brings each datagram's sender credentials. */
  private readonly rxMsg = new Uint8Array(MSGHDR_SIZE);
  private readonly txAddr = new Uint8Array(SOCKADDR_NL_SIZE);
  private readonly onReadable: () => void;
  private readonly onSendError: DenoNetlinkSocketOptions["onSendError"];
  private readonly onRecvError: DenoNetlinkSocketOptions["onRecvError"];

  /** Throws a NetlinkError (`code`, `errno`, `syscall`) when the socket cannot be opened or bound. */
  constructor(opts: DenoNetlinkSocketOptions) {
    this.protocol = opts.protocol ?? NETLINK_USERSOCK;
    this.onReadable = opts.onReadable;
    this.onSendError = opts.onSendError;
    this.onRecvError = opts.onRecvError;
    this.counters = this.stats;
    const c = openLibc();
    this.libc = c;

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
    new DataView(this.txAddr.buffer).setUint16(NL_FAMILY, AF_NETLINK, true);
    const deno = denoRuntime();
    const address = (buffer: Uint8Array) => deno.UnsafePointer.value(deno.UnsafePointer.of(buffer));
    const iov = new DataView(this.rxIov.buffer);
    iov.setBigUint64(0, address(this.rxBuf), true);
    iov.setBigUint64(8, BigInt(MAX_DATAGRAM), true);
    const msg = new DataView(this.rxMsg.buffer);
    msg.setBigUint64(MSG_NAME, address(this.rxAddr), true);
    msg.setBigUint64(MSG_IOV, address(this.rxIov), true);
    msg.setBigUint64(MSG_IOVLEN, 1n, true);
    msg.setBigUint64(MSG_CONTROL, address(this.rxControl), true);
    const pfd = new DataView(this.pollfds.buffer);
    pfd.setInt32(POLL_FD, fd, true);
    pfd.setInt16(POLL_EVENTS, POLLIN, true);
    pfd.setInt32(POLLFD_SIZE + POLL_FD, wakeFd, true);
    pfd.setInt16(POLLFD_SIZE + POLL_EVENTS, POLLIN, true);
    void this.receiveLoop();
  }

  sendTo(bytes: Uint8Array, port: number, groups: number): number {
    if (this.closed) return Errno.EBADF;
    // Later datagrams wait behind earlier ones, so the daemon sees them in order.
    if (this.backlog.length > 0) return this.defer(bytes, port, groups, false);
    const linux = this.send(bytes, port, groups);
    if (linux === 0) return Errno.SUCCESS;
    // EAGAIN comes from the unicast part only: netlink_sendmsg broadcasts to the groups first, and
    // a full member queue just drops (an overrun that member sees), so the members already have it.
    if (linux === LINUX_EAGAIN) return this.defer(bytes, port, groups, groups !== 0);
    return wasiErrnoFromLinux(linux);
  }

  recvFrom(): Datagram | null {
    return this.queue.take();
  }

  /** Datagrams waiting for recvFrom(). */
  get pending(): number {
    return this.queue.length;
  }

  /** Datagrams sendTo accepted that still wait for the receiver's queue to drain. */
  get backlogged(): number {
    return this.backlog.length;
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
    if (this.retryTimer !== undefined) denoRuntime().refTimer(this.retryTimer);
  }

  /** Lets the process exit while the socket is still open (a no-op where canUnref is false). */
  unref(): void {
    if (this.closed || !this.refed) return;
    this.refed = false;
    if (this.polling !== undefined) this.refs?.unrefOpPromise(this.polling);
    if (this.retryTimer !== undefined) denoRuntime().unrefTimer(this.retryTimer);
  }

  /**
   * Closes the socket and drops queued datagrams and the send backlog (without a report). Wakes the
   * pending poll, so nothing of this socket keeps Deno running afterwards.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.backlog.length = 0;
    this.queue.clear();
    // A running poll holds its own reference to the socket's file, so closing the fd now is safe.
    // The eventfd belongs to the receive loop, which closes it once no poll runs any more: so a
    // poll cannot miss the wake-up even if it has not started yet and the socket's fd number is
    // reused meanwhile. Without a poll running (close() called from onReadable) the loop is between
    // polls and ends when this call returns.
    this.libc.close(this.fd);
    if (this.polling !== undefined) this.wake();
  }

  // --- sending ----------------------------------------------------------------------------------

  /** One sendto(2); returns 0 or the Linux errno, applying the multicast rule below. */
  private send(bytes: Uint8Array, port: number, groups: number): number {
    const addr = new DataView(this.txAddr.buffer);
    addr.setUint32(NL_PID, port >>> 0, true);
    addr.setUint32(NL_GROUPS, groups >>> 0, true);
    let linux: number;
    do {
      const n = this.libc.sendto(this.fd, bytes, BigInt(bytes.length), MSG_DONTWAIT, this.txAddr, SOCKADDR_NL_SIZE);
      linux = n >= 0n ? 0 : errno();
    } while (linux === LINUX_EINTR);
    // A multicast addressed to port 0 is broadcast to the group members first and then unicast to
    // port 0 (net/netlink/af_netlink.c netlink_sendmsg). On NETLINK_USERSOCK nobody listens at port
    // 0, so the send reports ECONNREFUSED although every member got the datagram exactly once.
    // Addressing the multicast to our own port instead would unicast a copy back to us. So the
    // datagram goes out as addressed, and this one error for this one address counts as success.
    if (linux === 0 || (linux === LINUX_ECONNREFUSED && port === 0 && groups !== 0)) {
      this.stats.sent++;
      return 0;
    }
    return linux;
  }

  private defer(bytes: Uint8Array, port: number, groups: number, unicastOnly: boolean): number {
    if (this.backlog.length >= BACKLOG_LIMIT) return Errno.ENOBUFS;
    // A copy: the caller may reuse `bytes` (the core's send buffer) at once.
    this.backlog.push({ bytes: bytes.slice(), port, groups, unicastOnly });
    if (this.retryTimer === undefined) this.scheduleRetry();
    return Errno.SUCCESS;
  }

  private scheduleRetry(): void {
    this.retryTimer = setTimeout(() => this.retry(), this.retryMs);
    if (!this.refed) denoRuntime().unrefTimer(this.retryTimer);
    this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
  }

  private retry(): void {
    this.retryTimer = undefined;
    while (!this.closed && this.backlog.length > 0) {
      const datagram = this.backlog[0] as Deferred;
      const linux = this.send(datagram.bytes, datagram.port, datagram.unicastOnly ? 0 : datagram.groups);
      if (linux === LINUX_EAGAIN) {
        this.scheduleRetry();
        return;
      }
      this.backlog.shift();
      this.retryMs = RETRY_FIRST_MS;
      if (linux !== 0) {
        this.stats.sendErrors++;
        const err = new NetlinkError("sendto", linux);
        const { bytes, port, groups } = datagram;
        shielded(() => this.onSendError?.(err, wasiErrnoFromLinux(linux), { bytes, port, groups }));
      }
    }
  }

  // --- receiving --------------------------------------------------------------------------------

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
        if (revents & (POLLIN | POLLERR)) this.drain();
      }
    } catch (err) {
      // Not expected (poll itself does not throw); reported rather than left as an unhandled rejection.
      this.stats.recvErrors++;
      shielded(() => this.onRecvError?.(err instanceof Error ? err : new Error(String(err)), Errno.EIO));
    } finally {
      this.libc.close(this.wakeFd);
    }
  }

  /** Reads what the socket holds (up to DRAIN_BATCH) into the queue, then tells onReadable once. */
  private drain(): void {
    const c = this.libc;
    const addr = new DataView(this.rxAddr.buffer);
    const msg = new DataView(this.rxMsg.buffer);
    const control = new DataView(this.rxControl.buffer);
    for (let i = 0; i < DRAIN_BATCH && !this.closed; i++) {
      // recvmsg writes back the lengths it used: each call starts from the full ones.
      msg.setUint32(MSG_NAMELEN, SOCKADDR_NL_SIZE, true);
      msg.setBigUint64(MSG_CONTROLLEN, BigInt(CONTROL_SIZE), true);
      const n = c.recvmsg(this.fd, this.rxMsg, MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0n) {
        const linux = errno();
        if (linux === LINUX_EAGAIN) break;
        if (linux === LINUX_EINTR) continue;
        this.stats.recvErrors++;
        const err = new NetlinkError("recvmsg", linux);
        shielded(() => this.onRecvError?.(err, wasiErrnoFromLinux(linux)));
        // ENOBUFS only says the kernel dropped datagrams (and is cleared by being reported); what
        // is still queued can be read. Anything else stops this round.
        if (linux === LINUX_ENOBUFS) continue;
        break;
      }
      const length = Number(n);
      this.stats.received++;
      const datagram: Datagram = {
        bytes: this.rxBuf.slice(0, Math.min(length, MAX_DATAGRAM)),
        port: addr.getUint32(NL_PID, true),
        groups: addr.getUint32(NL_GROUPS, true),
      };
      const hasCreds =
        msg.getBigUint64(MSG_CONTROLLEN, true) >= BigInt(CMSG_DATA + UCRED_SIZE) &&
        control.getBigUint64(CMSG_LEN, true) >= BigInt(CMSG_DATA + UCRED_SIZE) &&
        control.getInt32(CMSG_LEVEL, true) === SOL_SOCKET &&
        control.getInt32(CMSG_TYPE, true) === SCM_CREDENTIALS;
      if (hasCreds) {
        datagram.creds = {
          pid: control.getUint32(CMSG_DATA, true),
          uid: control.getUint32(CMSG_DATA + 4, true),
          gid: control.getUint32(CMSG_DATA + 8, true),
        };
      }
      if (length > MAX_DATAGRAM) {
        this.stats.truncated++;
        datagram.truncatedLength = length;
      }
      this.queue.push(datagram);
    }
    if (!this.closed && this.pending > 0) shielded(this.onReadable);
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
