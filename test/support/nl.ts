import { SOCKADDR_SIZE, type SockAddr, writeSockaddr } from "../../src/core/sockaddr.js";

// A small netlink builder and reader for tests, written apart from the core
// so that scripted daemons and checks do not share the code they test.

export const NLM_F_REQUEST = 1;
export const NLM_F_MULTI = 2;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const rdma = (client: number, op: number) => (client << 10) | op;

const align4 = (n: number) => (n + 3) & ~3;

export function attrRaw(id: number, payload: Uint8Array, lenOverride?: number): Uint8Array {
  const out = new Uint8Array(4 + align4(payload.length));
  const v = new DataView(out.buffer);
  v.setUint16(0, lenOverride ?? 4 + payload.length, true);
  v.setUint16(2, id, true);
  out.set(payload, 4);
  return out;
}
export const attrU32 = (id: number, value: number) => {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, value >>> 0, true);
  return attrRaw(id, p);
};
export const attrU16 = (id: number, value: number) => {
  const p = new Uint8Array(2);
  new DataView(p.buffer).setUint16(0, value, true);
  return attrRaw(id, p);
};
/** NUL-terminated string, strlen + 1 bytes (daemon style). */
export const attrStr = (id: number, s: string) => attrRaw(id, new TextEncoder().encode(`${s}\0`));
/** char[size], NUL padded (client style). */
export const attrFixedStr = (id: number, s: string, size: number) => {
  const p = new Uint8Array(size);
  p.set(new TextEncoder().encode(s).subarray(0, size - 1));
  return attrRaw(id, p);
};
export const attrAddr = (id: number, a: SockAddr) => {
  const p = new Uint8Array(SOCKADDR_SIZE);
  writeSockaddr(new DataView(p.buffer), 0, a);
  return attrRaw(id, p);
};

export interface Header {
  type: number;
  flags?: number;
  seq: number;
  pid: number;
}

export function nlmsg(h: Header, attrs: Uint8Array[] = [], lenOverride?: number): Uint8Array {
  const body = attrs.reduce((n, a) => n + a.length, 0);
  const out = new Uint8Array(16 + body);
  const v = new DataView(out.buffer);
  v.setUint32(0, lenOverride ?? out.length, true);
  v.setUint16(4, h.type, true);
  v.setUint16(6, h.flags ?? NLM_F_REQUEST, true);
  v.setUint32(8, h.seq >>> 0, true);
  v.setUint32(12, h.pid >>> 0, true);
  let at = 16;
  for (const a of attrs) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + align4(p.length), 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += align4(p.length);
  }
  return out;
}

export interface ParsedMessage {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  client: number;
  op: number;
  attrs: Map<number, Uint8Array>;
  bytes: Uint8Array;
}

/** Splits a datagram into messages and their attributes (no validation beyond framing). */
export function parseDatagram(d: Uint8Array): ParsedMessage[] {
  const out: ParsedMessage[] = [];
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let at = 0; at + 16 <= d.length; ) {
    const len = v.getUint32(at, true);
    if (len < 16 || at + len > d.length) throw new Error(`bad nlmsg_len ${len} at ${at}`);
    const type = v.getUint16(at + 4, true);
    const attrs = new Map<number, Uint8Array>();
    if (type >= 0x10) {
      for (let p = at + 16; p + 4 <= at + len; ) {
        const alen = v.getUint16(p, true);
        if (alen < 4) throw new Error("bad nla_len");
        attrs.set(v.getUint16(p + 2, true) & 0x3fff, d.subarray(p + 4, p + alen));
        p += align4(alen);
      }
    }
    out.push({
      len,
      type,
      flags: v.getUint16(at + 6, true),
      seq: v.getUint32(at + 8, true),
      pid: v.getUint32(at + 12, true),
      client: type >> 10,
      op: type & 0x3ff,
      attrs,
      bytes: d.subarray(at, at + len),
    });
    at += align4(len);
  }
  return out;
}

export const u32 = (b: Uint8Array | undefined) => {
  if (b === undefined) throw new Error("attribute missing");
  return new DataView(b.buffer, b.byteOffset).getUint32(0, true);
};
export const u16 = (b: Uint8Array | undefined) => {
  if (b === undefined) throw new Error("attribute missing");
  return new DataView(b.buffer, b.byteOffset).getUint16(0, true);
};
export const str = (b: Uint8Array | undefined) => {
  if (b === undefined) throw new Error("attribute missing");
  const nul = b.indexOf(0);
  return new TextDecoder().decode(b.subarray(0, nul < 0 ? b.length : nul));
};

export const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
export const fromHex = (h: string) => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));
