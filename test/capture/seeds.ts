// Valid captures of every link type the reader supports, in classic pcap (µs and ns) and pcapng,
// as seeds for the mutation test and the regression tests of damaged files.

import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_LOOP,
  LINKTYPE_NETLINK,
  LINKTYPE_NULL,
  LINKTYPE_RAW,
  PcapWriter,
  readCapture,
  type Timestamp,
} from "../../src/capture/pcap.js";
import { concatChunks } from "../replay/scenario.js";

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const NG_IDB = 1;
const NG_EPB = 6;
const NG_SPB = 3;
const OPT_IF_TSRESOL = 9;
const IWPM_PEER_PORT = 3935;

export interface Packet {
  time: Timestamp;
  data: Uint8Array;
}

/** A pcapng block: type, total length, body padded to 4, total length again. */
export function ngBlock(type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const out = new Uint8Array(12 + padded);
  const v = new DataView(out.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, out.length, true);
  out.set(body, 8);
  v.setUint32(out.length - 4, out.length, true);
  return out;
}

export function ngSectionHeader(): Uint8Array {
  const shb = new Uint8Array(16);
  const v = new DataView(shb.buffer);
  v.setUint32(0, PCAPNG_BYTE_ORDER, true);
  v.setUint16(4, 1, true);
  v.setBigInt64(8, -1n, true);
  return ngBlock(PCAPNG_SHB, shb);
}

/** An interface description block, with an if_tsresol option when `tsresol` is given. */
export function ngInterface(linkType: number, tsresol?: number): Uint8Array {
  const b = new Uint8Array(tsresol === undefined ? 8 : 8 + 8 + 4);
  const v = new DataView(b.buffer);
  v.setUint16(0, linkType, true);
  v.setUint32(4, 262144, true);
  if (tsresol !== undefined) {
    v.setUint16(8, OPT_IF_TSRESOL, true);
    v.setUint16(10, 1, true);
    b[12] = tsresol;
  }
  return ngBlock(NG_IDB, b);
}

export function ngPacket(iface: number, ts: bigint, data: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + data.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, iface, true);
  v.setUint32(4, Number(ts >> 32n), true);
  v.setUint32(8, Number(ts & 0xffffffffn), true);
  v.setUint32(12, data.length, true);
  v.setUint32(16, data.length, true);
  b.set(data, 20);
  return ngBlock(NG_EPB, b);
}

export function ngSimplePacket(data: Uint8Array): Uint8Array {
  const b = new Uint8Array(4 + data.length);
  new DataView(b.buffer).setUint32(0, data.length, true);
  b.set(data, 4);
  return ngBlock(NG_SPB, b);
}

export function pcapFile(linkType: number, packets: Packet[], nanosecond: boolean): Uint8Array {
  const chunks: Uint8Array[] = [];
  const w = new PcapWriter((b) => chunks.push(b), { linkType, nanosecond });
  for (const p of packets) w.writePacket(p.time, p.data);
  return concatChunks(chunks);
}

/** One section, one interface of `linkType` with `tsresol` (10^-6 s by default), the packets as EPBs, and the first again as an SPB if `simple`. */
export function pcapngFile(linkType: number, packets: Packet[], tsresol?: number, simple = true): Uint8Array {
  const units = tsresol === undefined ? 1_000_000n : tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
  const blocks = [ngSectionHeader(), ngInterface(linkType, tsresol)];
  for (const p of packets) blocks.push(ngPacket(0, BigInt(p.time.sec) * units + (BigInt(p.time.nsec) * units) / 1_000_000_000n, p.data));
  if (simple && packets[0]) blocks.push(ngSimplePacket(packets[0].data));
  return concatChunks(blocks);
}

// ---- peer traffic (UDP 3935) -----------------------------------------------------------------

/** iwpmd peer messages (reference §6): a REQUEST, then ACCEPT, ACK for IPv4 or IPv6. */
const PEER_REQUEST_SIZE = 64;
const PEER_REPLY_SIZE = 48;

function peerMessage(type: number, v6: boolean): Uint8Array {
  const out = new Uint8Array(type === 0 ? PEER_REQUEST_SIZE : PEER_REPLY_SIZE);
  const v = new DataView(out.buffer);
  out[0] = (type << 4) | (v6 ? 6 : 4); // protocol version 0, the type, the IP version
  out[1] = 0; // pmtime
  v.setUint16(2, 40000, false);
  v.setUint16(4, 6000, false);
  v.setUint16(6, 5555, false);
  v.setBigUint64(8, 0x556677889900n, false);
  const addr = (at: number, last: number) => {
    if (v6) out.set([0xfd, 0x77, ...new Array(13).fill(0), last], at);
    else out.set([10, 0, 0, last], at);
  };
  addr(16, 1);
  addr(32, 2);
  if (type === 0) addr(48, 1);
  return out;
}

function ipv4Udp(payload: Uint8Array, reverse: boolean): Uint8Array {
  const out = new Uint8Array(20 + 8 + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 0x45;
  v.setUint16(2, out.length, false);
  out[8] = 64;
  out[9] = 17;
  out.set(reverse ? [10, 0, 0, 2] : [10, 0, 0, 1], 12);
  out.set(reverse ? [10, 0, 0, 1] : [10, 0, 0, 2], 16);
  v.setUint16(20, IWPM_PEER_PORT, false);
  v.setUint16(22, IWPM_PEER_PORT, false);
  v.setUint16(24, 8 + payload.length, false);
  out.set(payload, 28);
  return out;
}

function ipv6Udp(payload: Uint8Array, reverse: boolean): Uint8Array {
  const out = new Uint8Array(40 + 8 + payload.length);
  const v = new DataView(out.buffer);
  out[0] = 0x60;
  v.setUint16(4, 8 + payload.length, false);
  out[6] = 17;
  out[7] = 64;
  out.set([0xfd, 0x77, ...new Array(13).fill(0), reverse ? 2 : 1], 8);
  out.set([0xfd, 0x77, ...new Array(13).fill(0), reverse ? 1 : 2], 24);
  v.setUint16(40, IWPM_PEER_PORT, false);
  v.setUint16(42, IWPM_PEER_PORT, false);
  v.setUint16(44, 8 + payload.length, false);
  out.set(payload, 48);
  return out;
}

const be16 = (n: number) => new Uint8Array([n >> 8, n & 255]);
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;

/** The link-layer framing of an IP packet for each peer link type. */
const FRAMING: [string, number, (ip: Uint8Array, v6: boolean) => Uint8Array][] = [
  ["Ethernet", LINKTYPE_ETHERNET, (ip, v6) => concatChunks([new Uint8Array(12), be16(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4), ip])],
  ["SLL", LINKTYPE_LINUX_SLL, (ip, v6) => concatChunks([new Uint8Array(14), be16(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4), ip])],
  ["SLL2", LINKTYPE_LINUX_SLL2, (ip, v6) => concatChunks([be16(v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4), new Uint8Array(18), ip])],
  ["NULL", LINKTYPE_NULL, (ip, v6) => concatChunks([new Uint8Array([v6 ? 30 : 2, 0, 0, 0]), ip])],
  ["LOOP", LINKTYPE_LOOP, (ip, v6) => concatChunks([new Uint8Array([0, 0, 0, v6 ? 30 : 2]), ip])],
  ["raw", LINKTYPE_RAW, (ip) => ip],
  ["IPv4", LINKTYPE_IPV4, (ip) => ip],
  ["IPv6", LINKTYPE_IPV6, (ip) => ip],
];

function peerPackets(frame: (ip: Uint8Array, v6: boolean) => Uint8Array, v6: boolean): Packet[] {
  const ip = v6 ? ipv6Udp : ipv4Udp;
  return [0, 1, 2].map((type, i) => ({
    time: { sec: 1_790_000_000 + i, nsec: 123_456_000 + i },
    data: frame(ip(peerMessage(type, v6), type === 1), v6),
  }));
}

export interface Seed {
  name: string;
  bytes: Uint8Array;
  linkType: number;
}

/**
 * Every supported link type × {pcap µs, pcap ns, pcapng (µs, ns, 2^-20 s)}; `netlink` is a valid
 * LINKTYPE_NETLINK pcap (the replay scenario) whose records are re-wrapped the same ways.
 */
export function seedCaptures(netlink: Uint8Array): Seed[] {
  const out: Seed[] = [];
  const add = (name: string, linkType: number, packets: Packet[]) => {
    out.push({ name: `${name} pcap µs`, linkType, bytes: pcapFile(linkType, packets, false) });
    out.push({ name: `${name} pcap ns`, linkType, bytes: pcapFile(linkType, packets, true) });
    out.push({ name: `${name} pcapng µs`, linkType, bytes: pcapngFile(linkType, packets) });
    out.push({ name: `${name} pcapng ns`, linkType, bytes: pcapngFile(linkType, packets, 9) });
    out.push({ name: `${name} pcapng 2^-20 s`, linkType, bytes: pcapngFile(linkType, packets, 0x80 | 20) });
  };
  add(
    "netlink",
    LINKTYPE_NETLINK,
    readCapture(netlink).records.map((r) => ({ time: r.time, data: r.data.slice() })),
  );
  for (const [name, linkType, frame] of FRAMING) {
    if (linkType !== LINKTYPE_IPV6) add(`${name} IPv4`, linkType, peerPackets(frame, false));
    if (linkType !== LINKTYPE_IPV4) add(`${name} IPv6`, linkType, peerPackets(frame, true));
  }
  return out;
}
