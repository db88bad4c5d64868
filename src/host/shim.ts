// The host side of the core's import ABI (assembly/bindings.ts): WASI preview1 clock, random and
// diagnostics plus the `iwpm_sock` datagram pair, and for the port mapper service UDP datagrams
// and TCP port reservations. Portable on purpose (Node, Deno, browsers): the
// sockets behind it are pluggable, so this file imports nothing host-specific.
//
// Every import returns a WASI errno and never throws: an exception unwinding through wasm frames
// would leave the core's state half-updated, so host failures become errno values here.

import { Errno, errnoFromError } from "../core/errno.js";
import {
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
} from "../gen/batch.js";

// The descriptor layouts (generated from build/protocol.mjs), under the names this module's importers use.
export {
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
};

/**
 * Nanoseconds, as a bigint or as a number of whole nanoseconds (exact below 2^53: 104 days of a
 * monotonic clock). The portable monotonic clock answers numbers: the core reads it on every
 * request, and a BigInt per read was most of the shim's cost of a call.
 */
export interface Clock {
  monotonicNs(): bigint | number;
  realtimeNs(): bigint | number;
}

/** The kernel-attested identity of a datagram's sender (SCM_CREDENTIALS). */
export interface Credentials {
  pid: number;
  uid: number;
  gid: number;
}

/** One received datagram with its netlink source address (`nl_pid`, `nl_groups`). */
export interface Datagram {
  bytes: Uint8Array;
  port: number;
  groups: number;
  /** The sender's credentials; absent where the host cannot know them (a capture, say). */
  creds?: Credentials;
  /** Original length when the host already lost the tail (`bytes` holds only the head). */
  truncatedLength?: number;
}

/** A socket that queues: the simple form, for sockets written in JavaScript and test fakes. */
export interface DatagramSocket {
  /**
   * Sends one datagram to netlink port `port` and/or the multicast `groups` bitmask. Returns a
   * WASI errno synchronously; `bytes` is the socket's to keep.
   */
  sendTo(bytes: Uint8Array, port: number, groups: number): number;
  /** Takes the oldest queued datagram, or null when none is queued. */
  recvFrom(): Datagram | null;
}

/**
 * A socket that reads and writes the core's memory itself (docs/abi.md "Batches"): received
 * datagrams straight into the receive area, sends straight from the core's buffers.
 */
export interface BatchSocket {
  /** Up to `max` datagrams into `memory` (descriptors at `descs`, bytes at `data + i * slot`): the count, or -WASI errno. */
  recvBatch(memory: ArrayBuffer, descs: number, data: number, slot: number, max: number): number;
  /** Sends `count` datagrams described at `descs`, writing each one's WASI errno; 0, or a WASI errno for the call. */
  sendBatch(memory: ArrayBuffer, descs: number, count: number): number;
}

/** A netlink socket as the shim serves it: the queue form or the batch form. */
export type NetlinkSocket = DatagramSocket | BatchSocket;

/** Whether a socket reads and writes the core's memory itself. */
export function isBatchSocket(socket: NetlinkSocket): socket is BatchSocket {
  return "recvBatch" in socket;
}

export interface SocketTable {
  get(fd: number): NetlinkSocket | undefined;
}

/** The plain SocketTable: fd → socket. */
export class SocketMap extends Map<number, NetlinkSocket> implements SocketTable {}

/** A UDP peer: family 2 (IPv4) or 10 (IPv6), 16 address bytes (IPv4 in the first 4), port, IPv6 scope id. */
export interface PeerAddress {
  family: number;
  address: Uint8Array;
  port: number;
  scopeId: number;
}

export interface UdpDatagram {
  bytes: Uint8Array;
  from: PeerAddress;
  /** Original length when the host already lost the tail. */
  truncatedLength?: number;
}

export interface UdpSocket {
  /** Queues one datagram for `to`; returns a WASI errno synchronously (0 once queued). */
  sendTo(bytes: Uint8Array, to: PeerAddress): number;
  /** Takes the oldest queued datagram, or null when none is queued. */
  recvFrom(): UdpDatagram | null;
}

export interface UdpSocketTable {
  get(fd: number): UdpSocket | undefined;
}

/** Holds TCP ports for the service's mappings (iwpmd: a bound, never listening socket per mapped port). */
export interface PortReserver {
  /** Binds the wildcard address of `family` at `port` (0 = any): a WASI errno and, on success, a handle (> 0) and the bound port. */
  reserve(family: number, port: number): { errno: number; handle?: number; port?: number };
  /** Releases a reservation; a WASI errno. */
  close(handle: number): number;
}

export interface ShimOptions {
  sockets: SocketTable;
  /** UDP sockets of the port mapper service, by fd. */
  udpSockets?: UdpSocketTable;
  /** TCP port reservations of the port mapper service. */
  ports?: PortReserver;
  clock?: Clock;
  /** Fills `buf` with cryptographically strong random bytes. */
  random?: (buf: Uint8Array<ArrayBuffer>) => void;
  /** Receives the core's diagnostics written to fd 1 or 2, decoded as UTF-8. */
  log?: (fd: number, text: string) => void;
  /** Told about every exception a host callback threw; the core only sees the errno. */
  onHostError?: (err: unknown) => void;
  /** A trust policy of the host's own (the core's TRUST_HOST mode): whether to trust a sender. */
  trustSender?: (creds: Credentials) => boolean;
}

export interface Shim {
  readonly imports: WebAssembly.Imports;
  /** Gives the shim the core's exported memory; call it right after instantiation. */
  bind(memory: WebAssembly.Memory): void;
}

// witx `$clockid`
const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const STDOUT = 1;
const STDERR = 2;
// witx `$ciovec`: { buf: u32, buf_len: u32 }
const CIOVEC_SIZE = 8;
const U32_MAX = 0xffff_ffff;
// Web Crypto refuses to fill more than 65536 bytes per call.
const RANDOM_CHUNK = 65536;

/** performance.now() and Date.now() exist in every host this shim targets, unlike process.hrtime. */
export const portableClock: Clock = {
  monotonicNs: () => Math.floor(performance.now() * 1e6),
  // Exact, as a bigint: a number of nanoseconds since 1970 is above 2^53 and rounds, at times
  // below the millisecond it stands for. The cores never read realtime, so no call pays for it.
  realtimeNs: () => BigInt(Date.now()) * 1_000_000n,
};

function cryptoRandom(buf: Uint8Array<ArrayBuffer>): void {
  for (let at = 0; at < buf.length; at += RANDOM_CHUNK) {
    crypto.getRandomValues(buf.subarray(at, at + RANDOM_CHUNK));
  }
}

function consoleLog(fd: number, text: string): void {
  // console appends its own line break.
  const line = text.endsWith("\n") ? text.slice(0, -1) : text;
  if (fd === STDOUT) console.log(line);
  else console.error(line);
}

function fits(size: number, ptr: number, len: number): boolean {
  return ptr + len <= size;
}

export function createShim(opts: ShimOptions): Shim {
  const { sockets } = opts;
  const clock = opts.clock ?? portableClock;
  const random = opts.random ?? cryptoRandom;
  const log = opts.log ?? consoleLog;
  // One streaming decoder per fd, so a UTF-8 sequence split across two writes still decodes.
  const decoders = new Map<number, TextDecoder>();
  let memory: WebAssembly.Memory | undefined;

  // memory.grow detaches every earlier view, so every access goes through refresh(), again after
  // any host callback (which may call back into the core and grow it).
  function buffer(): ArrayBuffer {
    if (memory === undefined) throw new Error("shim: bind(memory) was not called");
    return memory.buffer;
  }
  // Views are rebuilt only when the buffer changed, not on every call. A grow detaches the old
  // buffer, whose byteLength then reads 0: only then is memory.buffer asked again, a getter that
  // cost as much as the rest of a clock read.
  let viewed: ArrayBuffer | undefined;
  let u8 = new Uint8Array(0);
  let dv = new DataView(u8.buffer);
  function refresh(): ArrayBuffer {
    if (viewed === undefined || viewed.byteLength === 0) {
      const b = buffer();
      if (b !== viewed) {
        viewed = b;
        u8 = new Uint8Array(b);
        dv = new DataView(b);
      }
      return b;
    }
    return viewed;
  }
  const bytes = () => {
    refresh();
    return u8;
  };
  const data = () => {
    refresh();
    return dv;
  };

  function hostError(err: unknown): number {
    try {
      opts.onHostError?.(err);
    } catch {
      // The reporter failing is no reason to unwind through the core either.
    }
    return errnoFromError(err);
  }

  function clock_time_get(clockId: number, _precision: bigint, timeOut: number): number {
    try {
      const out = timeOut >>> 0;
      let ns: bigint | number;
      if (clockId === CLOCK_MONOTONIC) ns = clock.monotonicNs();
      else if (clockId === CLOCK_REALTIME) ns = clock.realtimeNs();
      else return Errno.EINVAL;
      const view = data();
      if (!fits(view.byteLength, out, 8)) return Errno.EFAULT;
      if (typeof ns === "number") {
        const high = Math.floor(ns / 0x1_0000_0000);
        view.setUint32(out, ns - high * 0x1_0000_0000, true);
        view.setUint32(out + 4, high, true);
      } else {
        view.setBigUint64(out, BigInt.asUintN(64, ns), true);
      }
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }

  function random_get(buf: number, bufLen: number): number {
    try {
      const at = buf >>> 0;
      const len = bufLen >>> 0;
      if (!fits(refresh().byteLength, at, len)) return Errno.EFAULT;
      // The callback gets its own array: it must not keep a view into the core's memory.
      const fill = new Uint8Array(len);
      random(fill);
      bytes().set(fill, at);
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }

  function fd_write(fd: number, iovs: number, iovsLen: number, nwritten: number): number {
    try {
      if (fd !== STDOUT && fd !== STDERR) return Errno.EBADF;
      const base = iovs >>> 0;
      const count = iovsLen >>> 0;
      const out = nwritten >>> 0;
      const view = data();
      const size = view.byteLength;
      if (!fits(size, base, count * CIOVEC_SIZE) || !fits(size, out, 4)) return Errno.EFAULT;
      // Check every ciovec before decoding any, so a bad one leaves the decoder's state alone.
      let total = 0;
      for (let i = 0; i < count; i++) {
        const at = view.getUint32(base + i * CIOVEC_SIZE, true);
        const len = view.getUint32(base + i * CIOVEC_SIZE + 4, true);
        if (!fits(size, at, len)) return Errno.EFAULT;
        total += len;
      }
      if (total > U32_MAX) return Errno.EINVAL;
      let decoder = decoders.get(fd);
      if (decoder === undefined) {
        decoder = new TextDecoder();
        decoders.set(fd, decoder);
      }
      const u8 = new Uint8Array(view.buffer);
      let text = "";
      for (let i = 0; i < count; i++) {
        const at = view.getUint32(base + i * CIOVEC_SIZE, true);
        const len = view.getUint32(base + i * CIOVEC_SIZE + 4, true);
        text += decoder.decode(u8.subarray(at, at + len), { stream: true });
      }
      if (text.length > 0) log(fd, text);
      data().setUint32(out, total, true);
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }

  /**
   * Hands `n` bytes at `at` to `send` as a copy (the core rewrites its send buffer as soon as the
   * import returns, while a socket may still hold the datagram) and reports them sent at `out`.
   */
  function sendCopy(at: number, n: number, out: number, send: (datagram: Uint8Array) => number): number {
    const errno = send(bytes().slice(at, at + n));
    if (errno !== Errno.SUCCESS) return errno;
    data().setUint32(out, n, true);
    return Errno.SUCCESS;
  }

  /**
   * Copies a taken datagram into `room` bytes at `at` and its real length to `nreadOut`. Datagram
   * semantics: what did not fit is gone, and EMSGSIZE tells the core the length it would have needed.
   */
  function deliver(datagram: { bytes: Uint8Array; truncatedLength?: number }, at: number, room: number, nreadOut: number): number {
    const copied = Math.min(datagram.bytes.length, room);
    bytes().set(datagram.bytes.subarray(0, copied), at);
    const length = Math.max(datagram.truncatedLength ?? 0, datagram.bytes.length);
    data().setUint32(nreadOut, length, true);
    return length > copied ? Errno.EMSGSIZE : Errno.SUCCESS;
  }

  function send_batch(fd: number, descs: number, count: number): number {
    try {
      const socket = sockets.get(fd >>> 0);
      if (socket === undefined) return Errno.EBADF;
      const at = descs >>> 0;
      const n = count >>> 0;
      const buf = refresh();
      if (!fits(buf.byteLength, at, n * TX_DESC_SIZE)) return Errno.EFAULT;
      if (isBatchSocket(socket)) return socket.sendBatch(buf, at, n);
      for (let i = 0; i < n; i++) {
        const d = at + i * TX_DESC_SIZE;
        const view = data();
        const ptr = view.getUint32(d + TX_PTR, true);
        const len = view.getUint32(d + TX_LEN, true);
        let errno: number = Errno.EFAULT;
        if (fits(view.byteLength, ptr, len)) {
          // A copy: the core reuses its buffer as soon as the import returns.
          errno = socket.sendTo(bytes().slice(ptr, ptr + len), view.getUint32(d + TX_PORT, true), view.getUint32(d + TX_GROUPS, true));
        }
        data().setInt32(d + TX_ERRNO, errno, true);
      }
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }

  function recv_batch(fd: number, descs: number, dataPtr: number, slot: number, max: number, countOut: number): number {
    try {
      const socket = sockets.get(fd >>> 0);
      if (socket === undefined) return Errno.EBADF;
      const d0 = descs >>> 0;
      const at = dataPtr >>> 0;
      const room = slot >>> 0;
      const n = max >>> 0;
      const out = countOut >>> 0;
      const size = refresh().byteLength;
      // Checked before anything is taken: a bad pointer must not lose a datagram.
      if (!fits(size, d0, n * RX_DESC_SIZE) || !fits(size, at, n * room) || !fits(size, out, 4)) return Errno.EFAULT;
      let got: number;
      if (isBatchSocket(socket)) {
        got = socket.recvBatch(refresh(), d0, at, room, n);
        if (got < 0) return -got;
      } else {
        got = 0;
        for (; got < n; got++) {
          const datagram = socket.recvFrom();
          if (datagram === null) break;
          describe(datagram, d0 + got * RX_DESC_SIZE, at + got * room, room);
        }
      }
      if (got === 0) return Errno.EAGAIN;
      data().setUint32(out, got, true);
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }

  /** Copies a queued datagram into its slot and writes its receive descriptor. */
  function describe(datagram: Datagram, desc: number, at: number, room: number): void {
    const copied = Math.min(datagram.bytes.length, room);
    bytes().set(datagram.bytes.subarray(0, copied), at);
    const length = Math.max(datagram.truncatedLength ?? 0, datagram.bytes.length);
    const view = data();
    view.setUint32(desc + RX_LEN, length, true);
    view.setUint32(desc + RX_PORT, datagram.port >>> 0, true);
    view.setUint32(desc + RX_GROUPS, datagram.groups >>> 0, true);
    const creds = datagram.creds;
    view.setUint32(desc + RX_PID, (creds?.pid ?? 0) >>> 0, true);
    view.setUint32(desc + RX_UID, (creds?.uid ?? 0) >>> 0, true);
    view.setUint32(desc + RX_GID, (creds?.gid ?? 0) >>> 0, true);
    view.setUint32(desc + RX_FLAGS, (creds !== undefined ? RXF_CREDS : 0) | (length > copied ? RXF_TRUNC : 0), true);
  }

  function trust_check(pid: number, uid: number, gid: number): number {
    try {
      return opts.trustSender?.({ pid: pid >>> 0, uid: uid >>> 0, gid: gid >>> 0 }) === true ? 1 : 0;
    } catch (err) {
      hostError(err);
      return 0;
    }
  }

  // Peer record in core memory: { family u16, port u16 (host order), scope_id u32, address[16] }.
  const PEER_SIZE = 24;

  function tcp_reserve(family: number, port: number, handleOut: number, portOut: number): number {
    try {
      if (opts.ports === undefined) return Errno.ENOSYS;
      const h = handleOut >>> 0;
      const p = portOut >>> 0;
      const size = refresh().byteLength;
      if (!fits(size, h, 4) || !fits(size, p, 4)) return Errno.EFAULT;
      const result = opts.ports.reserve(family >>> 0, port & 0xffff);
      if (result.errno !== Errno.SUCCESS) return result.errno;
      const view = data();
      view.setUint32(h, (result.handle ?? 0) >>> 0, true);
      view.setUint32(p, (result.port ?? 0) & 0xffff, true);
      return Errno.SUCCESS;
    } catch (err) {
      return hostError(err);
    }
  }

  function handle_close(handle: number): number {
    try {
      if (opts.ports === undefined) return Errno.ENOSYS;
      return opts.ports.close(handle >>> 0);
    } catch (err) {
      return hostError(err);
    }
  }

  function udp_send_to(fd: number, buf: number, len: number, peer: number, nsent: number): number {
    try {
      const socket = opts.udpSockets?.get(fd >>> 0);
      if (socket === undefined) return Errno.EBADF;
      const at = buf >>> 0;
      const n = len >>> 0;
      const to = peer >>> 0;
      const out = nsent >>> 0;
      const size = refresh().byteLength;
      if (!fits(size, at, n) || !fits(size, to, PEER_SIZE) || !fits(size, out, 4)) return Errno.EFAULT;
      const view = data();
      const address: PeerAddress = {
        family: view.getUint16(to, true),
        port: view.getUint16(to + 2, true),
        scopeId: view.getUint32(to + 4, true),
        address: bytes().slice(to + 8, to + 24),
      };
      return sendCopy(at, n, out, (datagram) => socket.sendTo(datagram, address));
    } catch (err) {
      return hostError(err);
    }
  }

  function udp_recv_from(fd: number, buf: number, cap: number, nread: number, peer: number): number {
    try {
      const socket = opts.udpSockets?.get(fd >>> 0);
      if (socket === undefined) return Errno.EBADF;
      const at = buf >>> 0;
      const room = cap >>> 0;
      const nreadOut = nread >>> 0;
      const from = peer >>> 0;
      const size = refresh().byteLength;
      if (!fits(size, at, room) || !fits(size, nreadOut, 4) || !fits(size, from, PEER_SIZE)) {
        return Errno.EFAULT;
      }
      const datagram = socket.recvFrom();
      if (datagram === null) return Errno.EAGAIN;
      const errno = deliver(datagram, at, room, nreadOut);
      const view = data();
      view.setUint16(from, datagram.from.family, true);
      view.setUint16(from + 2, datagram.from.port & 0xffff, true);
      view.setUint32(from + 4, datagram.from.scopeId >>> 0, true);
      const addr = new Uint8Array(16);
      addr.set(datagram.from.address.subarray(0, 16));
      bytes().set(addr, from + 8);
      return errno;
    } catch (err) {
      return hostError(err);
    }
  }

  return {
    imports: {
      wasi_snapshot_preview1: { clock_time_get, random_get, fd_write },
      iwpm_sock: {
        send_batch,
        recv_batch,
        trust_check,
        tcp_reserve,
        handle_close,
        udp_send_to,
        udp_recv_from,
      },
    },
    bind(mem: WebAssembly.Memory): void {
      memory = mem;
      viewed = undefined;
    },
  };
}
