// A DatagramSocket that records every datagram its inner socket sends and receives.
//
// Portable: the recording goes to a callback (a pcap writer over any sink, a test's array, …).
// Put it between the shim and the real socket:
//
//   const tap = new CaptureTap(socket, { record: pcapRecorder(new NetlinkPcapWriter(sink)) });
//   const shim = createShim({ sockets: new SocketMap([[3, tap]]) });
//
// A failure to record never becomes a send or receive failure: the shim would hand it to the
// core as an errno. Recording errors go to `onError` instead and the datagram still passes.

import {
  type BatchSocket,
  type Datagram,
  type DatagramSocket,
  isBatchSocket,
  type NetlinkSocket,
  RX_DESC_SIZE,
  RX_GROUPS,
  RX_LEN,
  RX_PORT,
  TX_DESC_SIZE,
  TX_ERRNO,
  TX_GROUPS,
  TX_LEN,
  TX_PORT,
  TX_PTR,
} from "../host/shim.js";
import { type Direction, type NetlinkPcapWriter, wallClockNs } from "./pcap.js";

export interface TappedDatagram {
  /** Nanoseconds since the epoch. */
  time: bigint;
  /** "out": sent through the tap; "in": received through it. */
  direction: Direction;
  /** Destination port of a sent datagram, source port of a received one. */
  port: number;
  groups: number;
  bytes: Uint8Array;
  /** Length before a receive cut it (equals bytes.length otherwise). */
  originalLength: number;
}

export interface CaptureTapOptions {
  /** Called synchronously for each datagram; `bytes` must be copied to be kept past the call. */
  record: (d: TappedDatagram) => void;
  /** Clock for timestamps, ns since the epoch (default: wall clock with sub-ms resolution). */
  clock?: () => bigint;
  /** Told when `record` threw; the datagram went through regardless. */
  onError?: (err: unknown) => void;
}

/** What both taps share: the clock and the recording that never fails a datagram. */
class Recorder {
  /** Datagrams recorded, and recordings that failed. */
  recorded = 0;
  failed = 0;
  protected readonly clock: () => bigint;

  constructor(protected readonly opts: CaptureTapOptions) {
    this.clock = opts.clock ?? wallClockNs;
  }

  protected keep(d: TappedDatagram): void {
    try {
      this.opts.record(d);
      this.recorded++;
    } catch (err) {
      this.failed++;
      try {
        this.opts.onError?.(err);
      } catch {
        // a failing reporter must not fail the datagram either
      }
    }
  }
}

/** A tap on a queue socket. */
export class CaptureTap extends Recorder implements DatagramSocket {
  constructor(
    readonly inner: DatagramSocket,
    opts: CaptureTapOptions,
  ) {
    super(opts);
  }

  sendTo(bytes: Uint8Array, port: number, groups: number): number {
    const time = this.clock();
    const errno = this.inner.sendTo(bytes, port, groups);
    // Only what the socket accepted went out; a refused send is the caller's error to report.
    if (errno === 0) this.keep({ time, direction: "out", port, groups, bytes, originalLength: bytes.length });
    return errno;
  }

  recvFrom(): Datagram | null {
    const d = this.inner.recvFrom();
    if (d !== null) {
      const originalLength = Math.max(d.truncatedLength ?? 0, d.bytes.length);
      this.keep({ time: this.clock(), direction: "in", port: d.port, groups: d.groups, bytes: d.bytes, originalLength });
    }
    return d;
  }
}

/**
 * A tap on a batch socket (one that reads and writes the core's memory itself): it reads each
 * datagram from the descriptors, after a receive and before a send, so the socket's path stays
 * copy-free and only the recording copies.
 */
export class BatchCaptureTap extends Recorder implements BatchSocket {
  constructor(
    readonly inner: BatchSocket,
    opts: CaptureTapOptions,
  ) {
    super(opts);
  }

  recvBatch(memory: ArrayBuffer, descs: number, data: number, slot: number, max: number): number {
    const n = this.inner.recvBatch(memory, descs, data, slot, max);
    if (n <= 0) return n;
    const time = this.clock();
    const view = new DataView(memory);
    for (let i = 0; i < n; i++) {
      const d = descs + i * RX_DESC_SIZE;
      const originalLength = view.getUint32(d + RX_LEN, true);
      const bytes = new Uint8Array(memory, data + i * slot, Math.min(originalLength, slot));
      this.keep({
        time,
        direction: "in",
        port: view.getUint32(d + RX_PORT, true),
        groups: view.getUint32(d + RX_GROUPS, true),
        bytes,
        originalLength,
      });
    }
    return n;
  }

  sendBatch(memory: ArrayBuffer, descs: number, count: number): number {
    const time = this.clock();
    const errno = this.inner.sendBatch(memory, descs, count);
    if (errno !== 0) return errno;
    const view = new DataView(memory);
    for (let i = 0; i < count; i++) {
      const d = descs + i * TX_DESC_SIZE;
      // Only what the socket accepted went out; a refused send is the core's to handle.
      if (view.getInt32(d + TX_ERRNO, true) !== 0) continue;
      const len = view.getUint32(d + TX_LEN, true);
      const bytes = new Uint8Array(memory, view.getUint32(d + TX_PTR, true), len);
      this.keep({
        time,
        direction: "out",
        port: view.getUint32(d + TX_PORT, true),
        groups: view.getUint32(d + TX_GROUPS, true),
        bytes,
        originalLength: len,
      });
    }
    return 0;
  }
}

/** A tap on either kind of socket. */
export function tapSocket(socket: NetlinkSocket, opts: CaptureTapOptions): NetlinkSocket {
  return isBatchSocket(socket) ? new BatchCaptureTap(socket, opts) : new CaptureTap(socket, opts);
}

/** A `record` callback writing LINKTYPE_NETLINK records (protocol 20) through a pcap writer. */
export function pcapRecorder(writer: NetlinkPcapWriter): (d: TappedDatagram) => void {
  return (d) => writer.write(d.time, { direction: d.direction, port: d.port, groups: d.groups }, d.bytes, d.originalLength);
}
