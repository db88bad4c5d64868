import { NLA_HDRLEN, nlaAlign } from "./align";
import { E_BAD_ATTR_LEN, OK } from "../status";

// struct nlattr (reference §1.3): nla_len is unpadded, nla_type's top two bits are flags.
const NLA_LEN: usize = 0;
const NLA_TYPE: usize = 2;
const NLA_TYPE_MASK: u16 = 0x3fff;

/** Attribute ids a known schema can name; iwpm uses 1..6. */
export const MAX_ATTR_ID: u32 = 15;
export const MAX_UNKNOWN: u32 = 16;

// Result of the last parse: payload pointer and length per id (the last
// occurrence wins, as in the kernel's and libnl's nla_parse), plus the
// attributes outside the schema in arrival order, kept for re-encoding.
const ATTR_PTR: usize = memory.data(<i32>(MAX_ATTR_ID + 1) * 4, 4);
const ATTR_LEN: usize = memory.data(<i32>(MAX_ATTR_ID + 1) * 4, 4);
const UNKNOWN: usize = memory.data(<i32>MAX_UNKNOWN * 12, 4);
let presentMask: u32 = 0;
let unknownCount: u32 = 0;
let unknownDropped: u32 = 0;
let errorOffset: u32 = 0;

// @ts-ignore: decorator
@inline
export function attrPresent(id: u32): bool {
  return (presentMask & (1 << id)) != 0;
}
// @ts-ignore: decorator
@inline
export function attrPtr(id: u32): usize {
  return <usize>load<u32>(ATTR_PTR + (<usize>id << 2));
}
// @ts-ignore: decorator
@inline
export function attrLen(id: u32): u32 {
  return load<u32>(ATTR_LEN + (<usize>id << 2));
}
export function unknownAttrCount(): u32 {
  return unknownCount;
}
export function unknownAttrType(i: u32): u16 {
  return load<u16>(UNKNOWN + <usize>i * 12);
}
export function unknownAttrPtr(i: u32): usize {
  return <usize>load<u32>(UNKNOWN + <usize>i * 12, 4);
}
export function unknownAttrLen(i: u32): u32 {
  return load<u32>(UNKNOWN + <usize>i * 12, 8);
}
/** Offset from the start of the message of the attribute that failed framing. */
export function attrErrorOffset(): u32 {
  return errorOffset;
}

/**
 * Walks the attributes between `p` and `end`. Framing only: sizes per kind
 * are the schema's job. The remaining length is signed, so a zero-length
 * attribute is an error and never an endless loop (libmnl's rule).
 */
export function parseAttrs(msg: usize, p: usize, end: usize, maxId: u32): i32 {
  presentMask = 0;
  unknownCount = 0;
  unknownDropped = 0;
  errorOffset = 0;
  while (<isize>(end - p) >= <isize>NLA_HDRLEN) {
    const len = <u32>load<u16>(p, NLA_LEN);
    if (len < NLA_HDRLEN || <usize>len > end - p) {
      errorOffset = <u32>(p - msg);
      return E_BAD_ATTR_LEN;
    }
    const id = <u32>(load<u16>(p, NLA_TYPE) & NLA_TYPE_MASK);
    if (id >= 1 && id <= maxId) {
      presentMask |= 1 << id;
      store<u32>(ATTR_PTR + (<usize>id << 2), <u32>(p + NLA_HDRLEN));
      store<u32>(ATTR_LEN + (<usize>id << 2), len - NLA_HDRLEN);
    } else if (unknownCount < MAX_UNKNOWN) {
      const u = UNKNOWN + <usize>unknownCount * 12;
      store<u16>(u, <u16>id);
      store<u32>(u, <u32>(p + NLA_HDRLEN), 4);
      store<u32>(u, len - NLA_HDRLEN, 8);
      unknownCount++;
    } else {
      unknownDropped++;
    }
    p += nlaAlign(len);
  }
  return OK;
}

// Writers: each takes the write position and returns the next aligned one.
// The caller owns the buffer and has checked its room (see codec limits).

// @ts-ignore: decorator
@inline
function putAttrHeader(p: usize, payloadLen: u32, id: u32): void {
  store<u16>(p, <u16>(payloadLen + NLA_HDRLEN), NLA_LEN);
  store<u16>(p, <u16>id, NLA_TYPE);
}

export function putU32(p: usize, id: u32, value: u32): usize {
  putAttrHeader(p, 4, id);
  store<u32>(p, value, NLA_HDRLEN);
  return p + 8;
}

export function putU16(p: usize, id: u32, value: u16): usize {
  putAttrHeader(p, 2, id);
  store<u32>(p, <u32>value, NLA_HDRLEN);
  return p + 8;
}

/** Copies `len` payload bytes and zero-fills the alignment padding. */
export function putBytes(p: usize, id: u32, src: usize, len: u32): usize {
  putAttrHeader(p, len, id);
  const padded = nlaAlign(len);
  // Zero the last payload word first so the copy leaves clean padding (none for an empty payload).
  if (padded != 0) store<u32>(p + NLA_HDRLEN + padded - 4, 0);
  memory.copy(p + NLA_HDRLEN, src, len);
  return p + NLA_HDRLEN + padded;
}

/** A fixed-size, NUL-padded string field (char[size]) from a NUL-padded source. */
export function putFixedString(p: usize, id: u32, src: usize, size: u32): usize {
  putAttrHeader(p, size, id);
  memory.copy(p + NLA_HDRLEN, src, size);
  store<u8>(p + NLA_HDRLEN + size - 1, 0);
  return p + NLA_HDRLEN + nlaAlign(size);
}

/** Reserves an attribute of `len` payload bytes; the caller fills the payload at p + 4. */
export function putReserved(p: usize, id: u32, len: u32): usize {
  putAttrHeader(p, len, id);
  return p + NLA_HDRLEN + nlaAlign(len);
}

/** strnlen over a payload: the index of the first NUL, or `max` if none. */
export function strnlen(p: usize, max: u32): u32 {
  for (let i: u32 = 0; i < max; i++) {
    if (load<u8>(p + i) == 0) return i;
  }
  return max;
}
