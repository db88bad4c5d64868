// UDP sockets for the port mapper service in Node (the `UdpSocket` of src/host/shim.ts): a dgram
// socket with a receive queue the core drains, as netlink-node.ts does for netlink.

import dgram from "node:dgram";
import os from "node:os";
import { Errno, errnoFromError } from "../core/errno.js";
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from "../core/ip.js";
import { Fifo } from "./fifo.js";
import type { PeerAddress, UdpDatagram, UdpSocket } from "./shim.js";

const AF_INET = 2;
const AF_INET6 = 10;

export interface UdpSocketOptions {
  family: 4 | 6;
  /** Port to bind; 0 = an ephemeral one. */
  port: number;
  /** Address to bind (default the wildcard of the family). */
  address?: string;
  /** Datagrams were queued: drain them with recvFrom() until it returns null. */
  onReadable: () => void;
  /** A send failed after it was queued. */
  onSendError?: (err: Error, errno: number) => void;
}

/** Interface name of an IPv6 scope id, for a link-local destination ("fe80::1%eth0"). */
function interfaceName(scopeId: number): string | undefined {
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (addrs?.some((a) => a.family === "IPv6" && a.scopeid === scopeId)) return name;
  }
  return undefined;
}

function interfaceIndex(zone: string): number {
  if (/^\d+$/.test(zone)) return Number(zone);
  for (const a of os.networkInterfaces()[zone] ?? []) if (a.family === "IPv6" && a.scopeid !== undefined) return a.scopeid;
  return 0;
}

export class NodeUdpSocket implements UdpSocket {
  readonly family: 4 | 6;
  private readonly socket: dgram.Socket;
  private readonly queue = new Fifo<UdpDatagram>();
  private notify: ReturnType<typeof setImmediate> | undefined;
  private closed = false;
  private boundPort = 0;

  private constructor(
    socket: dgram.Socket,
    family: 4 | 6,
    private readonly opts: UdpSocketOptions,
  ) {
    this.socket = socket;
    this.family = family;
    socket.on("message", (msg, rinfo) => this.enqueue(msg, rinfo));
    socket.on("error", () => {});
  }

  /** Opens and binds a socket; rejects with the bind error (e.g. EADDRINUSE, EAFNOSUPPORT). */
  static open(opts: UdpSocketOptions): Promise<NodeUdpSocket> {
    return new Promise((resolve, reject) => {
      let socket: dgram.Socket;
      try {
        socket = dgram.createSocket(opts.family === 4 ? { type: "udp4" } : { type: "udp6", ipv6Only: true });
      } catch (err) {
        reject(err);
        return;
      }
      const fail = (err: Error) => {
        socket.close();
        reject(err);
      };
      socket.once("error", fail);
      socket.bind({ port: opts.port, address: opts.address ?? (opts.family === 4 ? "0.0.0.0" : "::"), exclusive: true }, () => {
        socket.off("error", fail);
        const s = new NodeUdpSocket(socket, opts.family, opts);
        s.boundPort = socket.address().port;
        resolve(s);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  sendTo(bytes: Uint8Array, to: PeerAddress): number {
    if (this.closed) return Errno.EBADF;
    if ((to.family === AF_INET ? 4 : to.family === AF_INET6 ? 6 : 0) !== this.family) return Errno.EAFNOSUPPORT;
    let host = to.family === AF_INET ? formatIPv4(to.address.subarray(0, 4)) : formatIPv6(to.address.subarray(0, 16));
    if (to.family === AF_INET6 && to.scopeId !== 0) {
      const name = interfaceName(to.scopeId);
      if (name !== undefined) host += `%${name}`;
    }
    try {
      this.socket.send(Buffer.from(bytes), to.port, host, (err) => {
        if (err) this.opts.onSendError?.(err, errnoFromError(err));
      });
    } catch (err) {
      return errnoFromError(err);
    }
    return Errno.SUCCESS;
  }

  recvFrom(): UdpDatagram | null {
    return this.queue.take();
  }

  get pending(): number {
    return this.queue.length;
  }

  ref(): void {
    if (!this.closed) this.socket.ref();
  }

  unref(): void {
    if (!this.closed) this.socket.unref();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.notify !== undefined) clearImmediate(this.notify);
    this.queue.clear();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private enqueue(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    const [text, zone] = rinfo.address.split("%") as [string, string | undefined];
    const address = new Uint8Array(16);
    const parsed = rinfo.family === "IPv4" ? parseIPv4(text) : parseIPv6(text);
    if (parsed === null) return;
    address.set(parsed);
    this.queue.push({
      bytes: new Uint8Array(msg),
      from: {
        family: rinfo.family === "IPv4" ? AF_INET : AF_INET6,
        address,
        port: rinfo.port,
        scopeId: zone !== undefined ? interfaceIndex(zone) : 0,
      },
    });
    this.notify ??= setImmediate(() => {
      this.notify = undefined;
      if (this.queue.length > 0) this.opts.onReadable();
    });
  }
}
