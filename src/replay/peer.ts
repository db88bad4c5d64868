// iwpmd's peer wire messages (UDP port 3935, protocol reference §5.4) out of ordinary packet
// captures: the link layer (Ethernet with VLAN tags, Linux cooked SLL and SLL2, BSD loopback
// NULL and LOOP, raw IP), IPv4 or IPv6 with extension headers, then UDP. The message's fields
// are read by the daemon core, the code that speaks the protocol (docs/abi.md "Peer message
// record"); this side only formats them.

import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
} from "../capture/pcap.js";
import { type CoreIdentity, instantiateKindSync } from "../core/core.js";
import { IwpmError } from "../core/errors.js";
import { formatIPv4, formatIPv6 } from "../core/ip.js";
import {
  PEER_MALFORMED,
  PEER_PROBLEM_IP_VERSION,
  PEER_PROBLEM_LENGTH,
  PEER_R_AP_IP,
  PEER_R_APPORT,
  PEER_R_ASSOC_HI,
  PEER_R_ASSOC_LO,
  PEER_R_CP_IP,
  PEER_R_CPPORT,
  PEER_R_EXPECTED_LENGTH,
  PEER_R_HAS_MAPPED_CP_IP,
  PEER_R_IP_VERSION,
  PEER_R_LENGTH,
  PEER_R_MAPPED_CP_IP,
  PEER_R_MAPPED_CP_PORT,
  PEER_R_PMTIME,
  PEER_R_PROBLEMS,
  PEER_R_TYPE,
  PEER_R_VERSION,
  PEER_SHORT,
} from "../gen/protocol.js";
import { createShim, SocketMap } from "../host/shim.js";
import { DAEMON_CORE } from "../service/exports.js";
import { PEER_TYPES } from "./names.js";
import { rememberedDaemonModule } from "./peer-engine.js";

export const IWPM_PEER_PORT = 3935;
export const PEER_REQUEST_SIZE = 64;
export const PEER_REPLY_SIZE = 48;

/** Link types this module can take apart. */
export const PEER_LINK_TYPES: readonly number[] = [
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
];

export interface UdpDatagram {
  ipVersion: 4 | 6;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** The UDP payload (a view; cut short when the capture was). */
  payload: Uint8Array;
  /** The payload length the UDP header claims. */
  length: number;
}

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);
// BSD loopback address families for IPv6: Linux, NetBSD/OpenBSD, FreeBSD, macOS
const AF_INET6_VALUES = new Set([10, 24, 28, 30]);

/** The UDP datagram inside a frame; null when the frame holds no (first-fragment) UDP over IP. */
export function extractUdp(linkType: number, frame: Uint8Array): UdpDatagram | null {
  const v = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  let at = 0;
  let ethertype = 0;
  switch (linkType) {
    case LINKTYPE_ETHERNET: {
      if (frame.length < 14) return null;
      at = 12;
      ethertype = v.getUint16(at, false);
      while (VLAN_TAGS.has(ethertype) && at + 6 <= frame.length) {
        at += 4;
        ethertype = v.getUint16(at, false);
      }
      at += 2;
      break;
    }
    case LINKTYPE_LINUX_SLL:
      if (frame.length < 16) return null;
      ethertype = v.getUint16(14, false);
      at = 16;
      break;
    case LINKTYPE_LINUX_SLL2:
      if (frame.length < 20) return null;
      ethertype = v.getUint16(0, false);
      at = 20;
      break;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP: {
      if (frame.length < 4) return null;
      // NULL stores the family in the capturing host's byte order, LOOP in network order.
      const candidates = linkType === LINKTYPE_LOOP ? [v.getUint32(0, false)] : [v.getUint32(0, true), v.getUint32(0, false)];
      if (candidates.includes(2)) ethertype = ETH_IPV4;
      else if (candidates.some((f) => AF_INET6_VALUES.has(f))) ethertype = ETH_IPV6;
      else return null;
      at = 4;
      break;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
    case LINKTYPE_IPV6: {
      if (frame.length < 1) return null;
      const version = (frame[0] as number) >> 4;
      ethertype = version === 4 ? ETH_IPV4 : version === 6 ? ETH_IPV6 : 0;
      break;
    }
    default:
      return null;
  }
  if (ethertype === ETH_IPV4) return ipv4(frame, v, at);
  if (ethertype === ETH_IPV6) return ipv6(frame, v, at);
  return null;
}

function ipv4(frame: Uint8Array, v: DataView, at: number): UdpDatagram | null {
  if (at + 20 > frame.length || (frame[at] as number) >> 4 !== 4) return null;
  const ihl = ((frame[at] as number) & 0x0f) * 4;
  if (ihl < 20 || at + ihl > frame.length) return null;
  if (frame[at + 9] !== 17) return null;
  // Only a first (or the only) fragment carries the UDP header.
  if ((v.getUint16(at + 6, false) & 0x1fff) !== 0) return null;
  const total = v.getUint16(at + 2, false);
  const end = total >= ihl ? Math.min(frame.length, at + total) : frame.length;
  return udp(frame, v, at + ihl, end, 4, formatIPv4(frame.subarray(at + 12, at + 16)), formatIPv4(frame.subarray(at + 16, at + 20)));
}

function ipv6(frame: Uint8Array, v: DataView, at: number): UdpDatagram | null {
  if (at + 40 > frame.length || (frame[at] as number) >> 4 !== 6) return null;
  const payloadLen = v.getUint16(at + 4, false);
  const end = payloadLen === 0 ? frame.length : Math.min(frame.length, at + 40 + payloadLen);
  const src = formatIPv6(frame.subarray(at + 8, at + 24));
  const dst = formatIPv6(frame.subarray(at + 24, at + 40));
  let next = frame[at + 6] as number;
  let p = at + 40;
  for (let hops = 0; hops < 16; hops++) {
    if (next === 17) return udp(frame, v, p, end, 6, src, dst);
    if (p + 8 > end) return null;
    if (next === 0 || next === 43 || next === 60) {
      const len = ((frame[p + 1] as number) + 1) * 8;
      next = frame[p] as number;
      p += len;
    } else if (next === 44) {
      if ((v.getUint16(p + 2, false) & 0xfff8) !== 0) return null; // not the first fragment
      next = frame[p] as number;
      p += 8;
    } else if (next === 51) {
      const len = ((frame[p + 1] as number) + 2) * 4;
      next = frame[p] as number;
      p += len;
    } else {
      return null;
    }
  }
  return null;
}

function udp(frame: Uint8Array, v: DataView, at: number, end: number, ipVersion: 4 | 6, srcIp: string, dstIp: string): UdpDatagram | null {
  if (at + 8 > end) return null;
  const length = Math.max(0, v.getUint16(at + 4, false) - 8);
  const payloadEnd = Math.min(end, at + 8 + length);
  return {
    ipVersion,
    srcIp,
    dstIp,
    srcPort: v.getUint16(at, false),
    dstPort: v.getUint16(at + 2, false),
    payload: frame.subarray(at + 8, payloadEnd),
    length,
  };
}

export type PeerType = (typeof PEER_TYPES)[number];

export interface PeerWireMessage {
  /** Protocol version, bits 7–6 of the first byte. */
  version: number;
  type: number;
  typeName: PeerType;
  /** IP version of the addresses, bits 3–0 (4 or 6). */
  ipVersion: number;
  pmtime: number;
  /** REQUEST: the connecting side's mapped port (the "reserved" field); 0 otherwise. */
  mappedCpPort: number;
  /** Accepting (passive) side port. */
  apport: number;
  /** Connecting (active) side port. */
  cpport: number;
  /** The active daemon's opaque id, hex. */
  assochandle: string;
  cpIp: string;
  apIp: string;
  /** REQUEST only: the connecting side's mapped IP. */
  mappedCpIp?: string;
  /** Why iwpmd would drop it (bad length or IP version); absent when well formed. */
  problem?: string;
}

/** The daemon core's peer message decoder (assembly/daemon/replay.ts peerDecode). */
interface PeerDecodeExports extends CoreIdentity {
  replayPeerPtr(): number;
  peerDecode(len: number): number;
  peerDecodedPtr(): number;
}

/** Longest payload the core reads (a REQUEST; iwpmd reads no more of a datagram). */
const PEER_READ_MAX = PEER_REQUEST_SIZE;
const IP_BYTES = 16;
const IPV4_BYTES = 4;

/**
 * Reads peer messages with a daemon core instance of its own. The decode keeps no state, so one
 * instance per compiled core serves every capture.
 */
class PeerWireReader {
  private readonly x: PeerDecodeExports;
  private readonly input: number;
  private readonly record: number;
  private bytes: Uint8Array;
  private view: DataView;

  constructor(module: WebAssembly.Module) {
    const shim = createShim({ sockets: new SocketMap(), random: (b) => b.fill(0), log: () => {} });
    this.x = instantiateKindSync<PeerDecodeExports>(module, shim, DAEMON_CORE);
    this.input = this.x.replayPeerPtr();
    this.record = this.x.peerDecodedPtr();
    this.bytes = new Uint8Array(this.x.memory.buffer);
    this.view = new DataView(this.x.memory.buffer);
  }

  read(payload: Uint8Array): PeerWireMessage | null {
    if (this.bytes.byteLength === 0) {
      // The memory grew: the old views are detached.
      this.bytes = new Uint8Array(this.x.memory.buffer);
      this.view = new DataView(this.x.memory.buffer);
    }
    const n = Math.min(payload.length, PEER_READ_MAX);
    this.bytes.set(n === payload.length ? payload : payload.subarray(0, n), this.input);
    const status = this.x.peerDecode(payload.length);
    if (status === PEER_SHORT) return null;
    const r = this.record;
    const v = this.view;
    const type = v.getUint8(r + PEER_R_TYPE);
    const ipVersion = v.getUint8(r + PEER_R_IP_VERSION);
    const hi = v.getUint32(r + PEER_R_ASSOC_HI, true);
    const lo = v.getUint32(r + PEER_R_ASSOC_LO, true);
    const msg: PeerWireMessage = {
      version: v.getUint8(r + PEER_R_VERSION),
      type,
      typeName: PEER_TYPES[type] as PeerType,
      ipVersion,
      pmtime: v.getUint8(r + PEER_R_PMTIME),
      mappedCpPort: v.getUint16(r + PEER_R_MAPPED_CP_PORT, true),
      apport: v.getUint16(r + PEER_R_APPORT, true),
      cpport: v.getUint16(r + PEER_R_CPPORT, true),
      assochandle: `0x${hi.toString(16).padStart(8, "0")}${lo.toString(16).padStart(8, "0")}`,
      cpIp: this.ip(r + PEER_R_CP_IP, ipVersion),
      apIp: this.ip(r + PEER_R_AP_IP, ipVersion),
    };
    if (v.getUint8(r + PEER_R_HAS_MAPPED_CP_IP) === 1) msg.mappedCpIp = this.ip(r + PEER_R_MAPPED_CP_IP, ipVersion);
    if (status === PEER_MALFORMED) {
      const problems = v.getUint8(r + PEER_R_PROBLEMS);
      const text: string[] = [];
      if (problems & PEER_PROBLEM_LENGTH)
        text.push(`length ${v.getUint32(r + PEER_R_LENGTH, true)}, iwpmd expects ${v.getUint32(r + PEER_R_EXPECTED_LENGTH, true)}`);
      if (problems & PEER_PROBLEM_IP_VERSION) text.push(`IP version ${ipVersion}`);
      msg.problem = text.join("; ");
    }
    return msg;
  }

  private ip(at: number, ipVersion: number): string {
    // For IPv4 only the first 4 bytes count; iwpmd leaves garbage in the other 12.
    return ipVersion === 4 ? formatIPv4(this.bytes.subarray(at, at + IPV4_BYTES)) : formatIPv6(this.bytes.subarray(at, at + IP_BYTES));
  }
}

const readers = new WeakMap<WebAssembly.Module, PeerWireReader>();

/**
 * A peer wire message's fields, as the daemon core reads them; null when it is too short to hold
 * the common 48 bytes. Needs the daemon core (loadDaemonCore, or `module`).
 */
export function parsePeerWire(
  payload: Uint8Array,
  module: WebAssembly.Module | undefined = rememberedDaemonModule(),
): PeerWireMessage | null {
  if (module === undefined) {
    throw new IwpmError(
      "NOT_INITIALIZED",
      "decoding peer (UDP 3935) messages needs the iwpm daemon core; call loadDaemonCore() with iwpmd.wasm first",
    );
  }
  let reader = readers.get(module);
  if (reader === undefined) {
    reader = new PeerWireReader(module);
    readers.set(module, reader);
  }
  return reader.read(payload);
}

/** "10.0.0.1:5555" / "[fd77::1]:5555". */
export function endpoint(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}
