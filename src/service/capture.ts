// `iwpm serve --capture FILE`: the service's own traffic in one pcapng file that the replay
// tools read: interface 0 carries its netlink datagrams (LINKTYPE_NETLINK, the pseudo-header of
// src/capture/pcap.ts), interface 1 its peer datagrams as raw IP packets (LINKTYPE_RAW) built
// around the UDP payload. Netlink records name NETLINK_RDMA whatever the socket's family, as the
// client's captures do: the replay tools read iwpm messages there. A peer socket bound to the wildcard address records 0.0.0.0 or :: as
// its own address: which interface a datagram used is not known to the service.

import { closeSync, openSync, writeSync } from "node:fs";
import { LINKTYPE_NETLINK, LINKTYPE_RAW, netlinkPseudoHeader, wallClockNs } from "../capture/pcap.js";
import { tapSocket } from "../capture/tap.js";
import type { NetlinkSocket, PeerAddress, UdpDatagram, UdpSocket } from "../host/shim.js";

const SHB = 0x0a0d0d0a;
const IDB = 1;
const EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IFACE_NETLINK = 0;
const IFACE_PEER = 1;
/** Fixed part of an enhanced packet block: type, length, interface, time (2), captured, original, trailing length. */
const EPB_OVERHEAD = 32;

const IPV4_HEADER = 20;
const IPV6_HEADER = 40;
const UDP_HEADER = 8;
const IPPROTO_UDP = 17;
const TTL = 64;
const AF_INET = 2;

const pad4 = (n: number) => (n + 3) & ~3;

function block(type: number, body: Uint8Array): Uint8Array {
  const total = 12 + pad4(body.length);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, total, true);
  out.set(body, 8);
  v.setUint32(total - 4, total, true);
  return out;
}

function sectionHeader(): Uint8Array {
  const body = new Uint8Array(16);
  const v = new DataView(body.buffer);
  v.setUint32(0, BYTE_ORDER_MAGIC, true);
  v.setUint16(4, 1, true);
  v.setUint16(6, 0, true);
  // Section length unknown.
  v.setBigInt64(8, -1n, true);
  return block(SHB, body);
}

function interfaceBlock(linkType: number): Uint8Array {
  const body = new Uint8Array(8);
  const v = new DataView(body.buffer);
  v.setUint16(0, linkType, true);
  // No if_tsresol option: timestamps are in microseconds.
  return block(IDB, body);
}

function packetBlock(iface: number, ns: bigint, parts: Uint8Array[]): Uint8Array {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const total = EPB_OVERHEAD + pad4(len);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  const us = ns / 1000n;
  v.setUint32(0, EPB, true);
  v.setUint32(4, total, true);
  v.setUint32(8, iface, true);
  v.setUint32(12, Number(us >> 32n), true);
  v.setUint32(16, Number(us & 0xffff_ffffn), true);
  v.setUint32(20, len, true);
  v.setUint32(24, len, true);
  let at = 28;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  v.setUint32(total - 4, total, true);
  return out;
}

function ipv4Checksum(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += ((header[i] ?? 0) << 8) | (header[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** An IP + UDP header for `payloadLength` bytes from `src` to `dst` (addresses as 16 bytes, IPv4 in the first 4). */
export function ipUdpHeader(
  family: number,
  src: Uint8Array,
  srcPort: number,
  dst: Uint8Array,
  dstPort: number,
  payloadLength: number,
): Uint8Array {
  const v4 = family === AF_INET;
  const ipLen = v4 ? IPV4_HEADER : IPV6_HEADER;
  const out = new Uint8Array(ipLen + UDP_HEADER);
  const v = new DataView(out.buffer);
  const udpLen = UDP_HEADER + payloadLength;
  if (v4) {
    v.setUint8(0, 0x45);
    v.setUint16(2, ipLen + udpLen);
    v.setUint16(6, 0x4000); // don't fragment
    v.setUint8(8, TTL);
    v.setUint8(9, IPPROTO_UDP);
    out.set(src.subarray(0, 4), 12);
    out.set(dst.subarray(0, 4), 16);
    v.setUint16(10, ipv4Checksum(out.subarray(0, IPV4_HEADER)));
  } else {
    v.setUint32(0, 0x6000_0000);
    v.setUint16(4, udpLen);
    v.setUint8(6, IPPROTO_UDP);
    v.setUint8(7, TTL);
    out.set(src.subarray(0, 16), 8);
    out.set(dst.subarray(0, 16), 24);
  }
  // UDP checksum left 0: the replay tools do not check it.
  v.setUint16(ipLen, srcPort);
  v.setUint16(ipLen + 2, dstPort);
  v.setUint16(ipLen + 4, udpLen);
  return out;
}

export interface CaptureWriter {
  tapNetlink(socket: NetlinkSocket): NetlinkSocket;
  tapUdp(socket: UdpSocket, local: { family: 4 | 6; port: number }): UdpSocket;
  /** Writes what is buffered and closes the file. Idempotent. */
  close(): void;
}

/** Creates (or truncates) `path` and records into it; write errors stop the capture and go to `onError`. */
export function openServiceCapture(path: string, onError: (err: unknown) => void, clock: () => bigint = wallClockNs): CaptureWriter {
  let fd: number | undefined = openSync(path, "w");
  let chunks: Uint8Array[] = [];
  let scheduled: ReturnType<typeof setImmediate> | undefined;
  const flush = () => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    if (fd === undefined || chunks.length === 0) return;
    const all = Buffer.concat(chunks);
    chunks = [];
    try {
      for (let at = 0; at < all.length; ) at += writeSync(fd, all, at, all.length - at);
    } catch (err) {
      // A full disk ends the capture, never the service.
      close();
      onError(err);
    }
  };
  const put = (bytes: Uint8Array) => {
    if (fd === undefined) return;
    chunks.push(bytes);
    scheduled ??= setImmediate(flush);
  };
  const close = () => {
    flush();
    process.off("exit", close);
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  };
  process.on("exit", close);
  put(sectionHeader());
  put(interfaceBlock(LINKTYPE_NETLINK));
  put(interfaceBlock(LINKTYPE_RAW));
  flush();

  const peerRecord = (family: 4 | 6, localPort: number, peer: PeerAddress, payload: Uint8Array, out: boolean) => {
    const wildcard = new Uint8Array(16);
    const af = family === 4 ? AF_INET : 10;
    const header = out
      ? ipUdpHeader(af, wildcard, localPort, peer.address, peer.port, payload.length)
      : ipUdpHeader(af, peer.address, peer.port, wildcard, localPort, payload.length);
    put(packetBlock(IFACE_PEER, clock(), [header, payload]));
  };

  return {
    tapNetlink(socket) {
      return tapSocket(socket, {
        clock,
        onError,
        record: (d) => {
          const meta = { direction: d.direction, port: d.port, groups: d.groups };
          put(packetBlock(IFACE_NETLINK, d.time, [netlinkPseudoHeader(meta), d.bytes.slice()]));
        },
      });
    },
    tapUdp(socket, local) {
      return {
        sendTo(bytes: Uint8Array, to: PeerAddress): number {
          const errno = socket.sendTo(bytes, to);
          if (errno === 0) peerRecord(local.family, local.port, to, bytes.slice(), true);
          return errno;
        },
        recvFrom(): UdpDatagram | null {
          const d = socket.recvFrom();
          if (d !== null) peerRecord(local.family, local.port, d.from, d.bytes.slice(), false);
          return d;
        },
      };
    },
    close,
  };
}
