// TCP port reservations for the port mapper service in Node (the `PortReserver` of
// src/host/shim.ts).
//
// iwpmd holds a mapped port with a TCP socket bound to the wildcard address of the family and
// never listened on. Node cannot bind a TCP socket without listening, so each reservation is a
// net.Server listening with a backlog of 1, and any connection that still reaches it is closed
// at once. The core needs the bound port synchronously, and Node binds synchronously only when
// listen() gets no host: it then binds [::] dual-stack (IPV6_V6ONLY off, as iwpmd's IPv6 socket)
// or 0.0.0.0 where IPv6 is unavailable. So an IPv4 reservation also holds the same port number
// for IPv6, which is stricter than iwpmd's 0.0.0.0 bind, never looser.

import net from "node:net";
import { Errno } from "../core/errno.js";
import type { PortReserver } from "./shim.js";

const AF_INET = 2;
const AF_INET6 = 10;

export class NodePortReserver implements PortReserver {
  private readonly servers = new Map<number, net.Server>();
  private nextHandle = 1;

  reserve(family: number, port: number): { errno: number; handle?: number; port?: number } {
    if (family !== AF_INET && family !== AF_INET6) return { errno: Errno.EAFNOSUPPORT };
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) return { errno: Errno.EINVAL };
    const server = net.createServer({ pauseOnConnect: true }, (socket) => socket.destroy());
    // A failed bind is reported asynchronously as well; it is already answered below.
    server.on("error", () => {});
    server.listen({ port, backlog: 1, exclusive: true });
    const address = server.address();
    if (!server.listening || address === null || typeof address === "string") {
      server.close();
      return { errno: Errno.EADDRINUSE };
    }
    // A reservation alone must not keep the process alive.
    server.unref();
    const handle = this.nextHandle++;
    this.servers.set(handle, server);
    return { errno: Errno.SUCCESS, handle, port: address.port };
  }

  close(handle: number): number {
    const server = this.servers.get(handle);
    if (server === undefined) return Errno.EBADF;
    this.servers.delete(handle);
    server.close();
    return Errno.SUCCESS;
  }

  /** Ports held now. */
  get size(): number {
    return this.servers.size;
  }

  /** The port a handle holds (diagnostics and tests). */
  portOf(handle: number): number | undefined {
    const address = this.servers.get(handle)?.address();
    return address !== null && typeof address === "object" ? address.port : undefined;
  }

  /** Releases every reservation. */
  closeAll(): void {
    for (const server of this.servers.values()) server.close();
    this.servers.clear();
  }
}
