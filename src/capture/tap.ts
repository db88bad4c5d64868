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

import type { Datagram, DatagramSocket } from "../host/shim.js";
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

export class CaptureTap implements DatagramSocket {
  /** Datagrams recorded, and recordings that failed. */
  recorded = 0;
  failed = 0;
  private readonly clock: () => bigint;

  constructor(
    readonly inner: DatagramSocket,
    private readonly opts: CaptureTapOptions,
  ) {
    this.clock = opts.clock ?? wallClockNs;
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

  private keep(d: TappedDatagram): void {
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

/** A `record` callback writing LINKTYPE_NETLINK records (protocol 20) through a pcap writer. */
export function pcapRecorder(writer: NetlinkPcapWriter): (d: TappedDatagram) => void {
  return (d) => writer.write(d.time, { direction: d.direction, port: d.port, groups: d.groups }, d.bytes, d.originalLength);
}
