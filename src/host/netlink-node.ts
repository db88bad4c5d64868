// A DatagramSocket over a real netlink socket in Node, through the `netlink` addon (0.3.0).
//
// The addon calls our listeners from native callbacks, and an exception escaping any of them
// ends in std::terminate (a process abort that no 'uncaughtException' handler sees). So every
// listener here is shielded, and the addon is always given a send callback and an 'error'
// listener: without them it turns a send or receive error into such a throw.
//
// Known hole, not fixable from JavaScript: when the kernel overruns the receive queue
// (ENOBUFS, e.g. a multicast burst while the event loop is busy) libuv reports the poll error
// and the addon aborts while building the error object (a NULL syscall name). Draining promptly
// keeps it rare; recvBufferSize helps only up to net.core.rmem_max.

import type { ErrnoException, MessageInfo, RawNetlinkSocket, RawNetlinkSocketOptions } from "netlink";
import netlink from "netlink";
import { Errno, errnoFromError } from "./errno.js";
import { Fifo } from "./fifo.js";
import type { NetlinkCounters, NetlinkSocketOptions } from "./netlink.js";
import type { Datagram, DatagramSocket } from "./shim.js";

export type { NetlinkCounters, NetlinkSocketOptions, SentDatagram } from "./netlink.js";

export const NETLINK_USERSOCK = 2;
export const NETLINK_RDMA = 20;

// The addon receives into a fresh buffer of this many bytes per datagram (with message peeking
// off); a longer datagram arrives cut to this size with `truncated` set. 64 KiB covers any iwpm
// message many times over.
const MAX_DATAGRAM = 65536;

export interface NodeNetlinkSocketOptions extends NetlinkSocketOptions {
  /** Receive buffer per datagram; longer datagrams arrive truncated. Default 65536. */
  msgBufferSize?: number;
}

/** Runs `fn` so that nothing it throws reaches the addon; a throw resurfaces as an ordinary uncaught exception. */
function shielded<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      setImmediate(() => {
        throw err;
      });
    }
  };
}

export class NodeNetlinkSocket implements DatagramSocket {
  /** The bound port id (`nl_pid`). */
  readonly port: number;
  readonly protocol: number;
  readonly counters: Readonly<NetlinkCounters>;

  private readonly raw: RawNetlinkSocket;
  private readonly stats: NetlinkCounters = {
    sent: 0,
    received: 0,
    sendErrors: 0,
    truncated: 0,
    recvErrors: 0,
  };
  private readonly queue = new Fifo<Datagram>();
  private notify: ReturnType<typeof setImmediate> | undefined;
  private closed = false;
  private readonly onReadable: () => void;
  private readonly onSendError: NetlinkSocketOptions["onSendError"];
  private readonly onRecvError: NetlinkSocketOptions["onRecvError"];

  /** Throws the addon's ErrnoException (`code`, `errno`) when the socket cannot be opened or bound. */
  constructor(opts: NodeNetlinkSocketOptions) {
    this.protocol = opts.protocol ?? NETLINK_USERSOCK;
    this.onReadable = opts.onReadable;
    this.onSendError = opts.onSendError;
    this.onRecvError = opts.onRecvError;
    this.counters = this.stats;
    // The typings mark recvBufferSize and sendBufferSize as required; the addon treats both as
    // optional and leaves SO_RCVBUF/SO_SNDBUF alone when they are absent.
    const options = {
      localPort: opts.port ?? 0,
      messagePeeking: false,
      msgBufferSize: opts.msgBufferSize ?? MAX_DATAGRAM,
      ...(opts.recvBufferSize !== undefined ? { recvBufferSize: opts.recvBufferSize } : {}),
    } as RawNetlinkSocketOptions;
    this.raw = new netlink.RawNetlinkSocket(this.protocol, options);
    try {
      for (const group of opts.groups ?? []) this.raw.addMembership(group);
      this.port = this.raw.address().port;
    } catch (err) {
      this.raw.close();
      throw err;
    }
    this.raw.on(
      "message",
      shielded((buf, rinfo) => this.enqueue(buf, rinfo)),
    );
    this.raw.on(
      "truncatedMessage",
      shielded((buf, rinfo) => this.enqueue(buf, rinfo)),
    );
    this.raw.on(
      "error",
      shielded((err) => this.recvFailed(err)),
    );
  }

  sendTo(bytes: Uint8Array, port: number, groups: number): number {
    if (this.closed) return Errno.EBADF;
    // A copy: the addon sends later if the kernel pushes back, and the caller may reuse `bytes`.
    const datagram = Buffer.from(bytes);
    try {
      this.raw.send(
        datagram,
        { port, groups },
        shielded((err) => this.sent(err, datagram, port, groups)),
      );
    } catch (err) {
      return errnoFromError(err);
    }
    return Errno.SUCCESS;
  }

  recvFrom(): Datagram | null {
    return this.queue.take();
  }

  /** Datagrams waiting for recvFrom(). */
  get pending(): number {
    return this.queue.length;
  }

  /** Keeps the event loop alive while the socket is open (the default). */
  ref(): void {
    if (!this.closed) this.raw.ref();
  }

  /** Lets the process exit while the socket is still open. */
  unref(): void {
    if (!this.closed) this.raw.unref();
  }

  /**
   * Closes the socket and drops queued datagrams. A datagram sendTo already handed to the kernel
   * is delivered; one still waiting in the addon (kernel pushback) is dropped without a report.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.notify !== undefined) clearImmediate(this.notify);
    this.notify = undefined;
    this.queue.clear();
    this.raw.close();
  }

  private enqueue(buf: Buffer, rinfo: MessageInfo): void {
    if (this.closed) return;
    this.stats.received++;
    // A right-sized copy: the addon's Buffer pins a whole msgBufferSize allocation that V8 does
    // not count, so it should die young rather than wait in the queue.
    const datagram: Datagram = {
      bytes: new Uint8Array(buf),
      port: rinfo.port,
      groups: rinfo.groups,
    };
    if (rinfo.truncated !== undefined) {
      this.stats.truncated++;
      datagram.truncatedLength = rinfo.truncated;
    }
    this.queue.push(datagram);
    // setImmediate, not a microtask: the addon reads up to 32 datagrams per wake-up, each in its
    // own native callback that drains the microtask queue, so only a macrotask coalesces them
    // into one onReadable per event-loop turn.
    this.notify ??= setImmediate(() => {
      this.notify = undefined;
      if (this.pending > 0) this.onReadable();
    });
  }

  private sent(err: ErrnoException | undefined, bytes: Uint8Array, port: number, groups: number): void {
    // A multicast addressed to port 0 is broadcast to the group members first and then unicast
    // to port 0 (net/netlink/af_netlink.c netlink_sendmsg). On NETLINK_USERSOCK nobody listens at
    // port 0, so the send reports ECONNREFUSED although every member got the datagram exactly
    // once. Addressing the multicast to our own port instead would avoid the error but unicast a
    // copy back to us, member or not. So the datagram goes out as addressed, and this one error
    // for this one address counts as success.
    if (!err || (err.code === "ECONNREFUSED" && port === 0 && groups !== 0)) {
      this.stats.sent++;
      return;
    }
    this.stats.sendErrors++;
    this.onSendError?.(err, errnoFromError(err), { bytes, port, groups });
  }

  private recvFailed(err: ErrnoException): void {
    this.stats.recvErrors++;
    this.onRecvError?.(err, errnoFromError(err));
  }
}

/** Opens and binds a netlink socket; throws the addon's ErrnoException when that fails. */
export function openNetlinkSocket(opts: NodeNetlinkSocketOptions): NodeNetlinkSocket {
  return new NodeNetlinkSocket(opts);
}
