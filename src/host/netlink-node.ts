// The Node host's netlink socket: our native addon (src/native/) behind the shim's batch
// interface. Received datagrams go straight from the kernel into the core's receive area with
// their senders' credentials, many per wake-up; sends leave at once from the core's memory. The
// addon speaks Linux errno numbers, the core WASI's: they are converted here, and only here.
//
// A receive-queue overrun (ENOBUFS: the kernel dropped datagrams while the event loop was busy)
// is counted and reported through onOverrun; the socket keeps working. Nothing here can abort the
// process: the addon turns every failure into a value.

import { linuxErrnoName, wasiErrnoFromLinux } from "../core/linux-errno.js";
import { type NativeNetlinkOptions, NativeNetlinkSocket } from "./native-node.js";
import { type BatchSocket, TX_DESC_SIZE, TX_ERRNO } from "./shim.js";

export const NETLINK_USERSOCK = 2;
export const NETLINK_RDMA = 20;

export interface NodeNetlinkSocketOptions extends NativeNetlinkOptions {
  /** Datagrams are queued: the core should poll. */
  onReadable: () => void;
  /** The kernel dropped datagrams (receive-queue overrun); `total` counts overruns so far. */
  onOverrun?: (total: number) => void;
  /** Any other socket error the poll reported (Linux errno name and number). */
  onError?: (name: string, errno: number) => void;
}

export class NodeNetlinkSocket implements BatchSocket {
  /** The bound port id (`nl_pid`). */
  readonly port: number;
  readonly protocol: number;
  private readonly native: NativeNetlinkSocket;

  /** Opens, binds and starts watching; throws IwpmError SOCKET_ERROR or NATIVE_UNAVAILABLE. */
  constructor(opts: NodeNetlinkSocketOptions) {
    this.native = NativeNetlinkSocket.open(opts);
    this.port = this.native.port;
    this.protocol = this.native.protocol;
    try {
      this.native.start(
        opts.onReadable,
        (total) => opts.onOverrun?.(total),
        (errno) => opts.onError?.(linuxErrnoName(errno), errno),
      );
    } catch (err) {
      this.native.close();
      throw err;
    }
  }

  recvBatch(memory: ArrayBuffer, descs: number, data: number, slot: number, max: number): number {
    const n = this.native.recvBatch(memory, descs, data, slot, max);
    return n < 0 ? -wasiErrnoFromLinux(-n) : n;
  }

  sendBatch(memory: ArrayBuffer, descs: number, count: number): number {
    const failed = this.native.sendBatch(memory, descs, count);
    if (failed < 0) return wasiErrnoFromLinux(-failed);
    if (failed > 0) {
      const view = new DataView(memory);
      for (let i = 0; i < count; i++) {
        const at = descs + i * TX_DESC_SIZE + TX_ERRNO;
        const errno = view.getInt32(at, true);
        if (errno !== 0) view.setInt32(at, wasiErrnoFromLinux(errno), true);
      }
    }
    return 0;
  }

  /** Datagrams received, truncated, overruns, sends and send errors so far. */
  get counters() {
    return this.native.counters;
  }

  /** Keeps the event loop alive while the socket is open (the default). */
  ref(): void {
    this.native.ref();
  }

  /** Lets the process exit while the socket is still open. */
  unref(): void {
    this.native.unref();
  }

  /** Closes the socket; idempotent, and safe inside its own callbacks. */
  close(): void {
    this.native.close();
  }
}

/** Opens a netlink socket; throws IwpmError SOCKET_ERROR (with the errno's name and what to do) or NATIVE_UNAVAILABLE. */
export function openNetlinkSocket(opts: NodeNetlinkSocketOptions): NodeNetlinkSocket {
  return new NodeNetlinkSocket(opts);
}
