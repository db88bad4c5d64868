import { parseIPv4, parseIPv6 } from "../../src/core/ip.js";

// Port mapper UDP messages for tests (reference §5.4), built apart from the core.

export const MT = { request: 0, accept: 1, ack: 2, reject: 3 } as const;

export interface WireFields {
  type: number;
  ipVer: 4 | 6;
  ver?: number;
  apport: number;
  cpport: number;
  assoc: bigint;
  cpip: string;
  apip: string;
  mappedCpport?: number;
  mappedCpip?: string;
}

const ip16 = (ipVer: 4 | 6, text: string) => {
  const out = new Uint8Array(16);
  out.set((ipVer === 4 ? parseIPv4(text) : parseIPv6(text)) as Uint8Array);
  return out;
};

export function wire(f: WireFields): Uint8Array {
  const request = f.type === MT.request;
  const out = new Uint8Array(request ? 64 : 48);
  const v = new DataView(out.buffer);
  v.setUint8(0, ((f.ver ?? 0) << 6) | (f.type << 4) | f.ipVer);
  if (request) v.setUint16(2, f.mappedCpport ?? 0);
  v.setUint16(4, f.apport);
  v.setUint16(6, f.cpport);
  v.setBigUint64(8, f.assoc);
  out.set(ip16(f.ipVer, f.cpip), 16);
  out.set(ip16(f.ipVer, f.apip), 32);
  if (request) out.set(ip16(f.ipVer, f.mappedCpip ?? "0.0.0.0"), 48);
  return out;
}

/** The same message answered: type changed, cut to 48 bytes, optionally a new accepting port / IP. */
export function answer(msg: Uint8Array, type: number, apport?: number, apip?: Uint8Array): Uint8Array {
  const out = msg.slice(0, 48);
  out[0] = ((out[0] as number) & 0xcf) | (type << 4);
  const v = new DataView(out.buffer);
  if (type !== MT.request) v.setUint16(2, 0);
  if (apport !== undefined) v.setUint16(4, apport);
  if (apip !== undefined) out.set(apip, 32);
  return out;
}

export function readWire(msg: Uint8Array) {
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  return {
    type: ((msg[0] as number) >> 4) & 3,
    ipVer: (msg[0] as number) & 0xf,
    ver: (msg[0] as number) >> 6,
    reserved: v.getUint16(2),
    apport: v.getUint16(4),
    cpport: v.getUint16(6),
    assoc: v.getBigUint64(8),
    length: msg.length,
  };
}
