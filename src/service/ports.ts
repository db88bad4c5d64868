// Mapped ports held as iwpmd holds them: a TCP socket bound to the family's wildcard address and
// never listened on, so no connection can reach it and nothing else can bind the port. Node cannot
// bind without listening (see src/host/tcp-node.ts), so this reserver works over two calls of the
// native module, passed in; without it the service falls back to the listening reserver.

import { Errno } from "../core/errno.js";
import { wasiErrnoFromLinux } from "../core/linux-errno.js";
import type { PortReserver } from "../host/shim.js";

/** The native module's two calls this needs: Linux errno numbering, never throwing. */
export interface TcpBinder {
  tcpReserve(family: number, port: number): { fd: number; port: number } | { errno: number; syscall: string };
  /** 0 or -errno. */
  fdClose(fd: number): number;
}

const AF_INET = 2;
const AF_INET6 = 10;

export class BoundPortReserver implements PortReserver {
  private readonly fds = new Map<number, number>();
  private nextHandle = 1;

  constructor(private readonly binder: TcpBinder) {}

  reserve(family: number, port: number): { errno: number; handle?: number; port?: number } {
    if (family !== AF_INET && family !== AF_INET6) return { errno: Errno.EAFNOSUPPORT };
    if (!Number.isInteger(port) || port < 0 || port > 0xffff) return { errno: Errno.EINVAL };
    const r = this.binder.tcpReserve(family, port);
    if ("errno" in r) return { errno: wasiErrnoFromLinux(Math.abs(r.errno)) };
    const handle = this.nextHandle++;
    this.fds.set(handle, r.fd);
    return { errno: Errno.SUCCESS, handle, port: r.port };
  }

  close(handle: number): number {
    const fd = this.fds.get(handle);
    if (fd === undefined) return Errno.EBADF;
    this.fds.delete(handle);
    const r = this.binder.fdClose(fd);
    return r < 0 ? wasiErrnoFromLinux(-r) : Errno.SUCCESS;
  }

  /** Ports held now. */
  get size(): number {
    return this.fds.size;
  }

  closeAll(): void {
    for (const fd of this.fds.values()) this.binder.fdClose(fd);
    this.fds.clear();
  }
}
