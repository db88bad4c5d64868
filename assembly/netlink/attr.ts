import { NLA_HDRLEN, NLMSG_HDRLEN, nlaAlign } from "./align";
import { DA_LEN, DA_OFFSET, DA_SIZE, DA_TYPE, DV_LEN, DV_OFFSET, DV_SIZE, KIND_MAX, KIND_MIN, KIND_NONE, KIND_NUL, NLA_TYPE_MASK } from "../gen/protocol";
import { E_ATTR_SIZE, E_BAD_ATTR_LEN, E_MISSING_ATTR, E_STRING_UNTERMINATED, OK } from "../status";

// struct nlattr (reference §1.3): nla_len is unpadded, nla_type's top two bits are flags.
const NLA_LEN: usize = 0;
const NLA_TYPE: usize = 2;

/** Attribute ids a policy can name; iwpm uses 1..6. */
export const MAX_ATTR_ID: u32 = 15;

/** The kernel's and the client codec's rule: an attribute that does not frame is an error. */
export const WALK_STRICT: u32 = 0;
/** libnl's rule (iwpmd): an attribute that does not frame ends the walk, what came before stands. */
export const WALK_LIBNL: u32 = 1;

// Result of the last walk: per id, the payload offset from the message start and length of its
// last occurrence (as the kernel's and libnl's nla_parse keep it), in the decoded record's value
// entry layout (DV_*), so the codec has the walk fill the record's entries directly; and, for a
// caller that asks, every attribute in arrival order as { nla_type, nla_len, offset from the
// message start } (the decoded record's list entry layout), unknown and duplicate ones included,
// so a message can be re-emitted exactly.
/** The value table a walk fills unless its caller names another: entries for ids 0..MAX_ATTR_ID. */
export const ATTR_VALUES: usize = memory.data(<i32>((MAX_ATTR_ID + 1) * <u32>DV_SIZE), 8);
let walkedMsg: usize = 0;
let walkedValues: usize = ATTR_VALUES;
let presentMask: u32 = 0;
let listCount: u32 = 0;
let unknownCount: u32 = 0;
let errorOffset: u32 = 0;
let errorAttr: u32 = 0;

// @ts-ignore: decorator
@inline
export function attrPtr(id: u32): usize {
  return walkedMsg + <usize>load<u32>(walkedValues + <usize>id * DV_SIZE + DV_OFFSET);
}
// @ts-ignore: decorator
@inline
export function attrLen(id: u32): u32 {
  return load<u32>(walkedValues + <usize>id * DV_SIZE + DV_LEN);
}
export function attrPresentMask(): u32 {
  return presentMask;
}
/** Attributes walked; a list keeps those up to its capacity. */
export function attrListCount(): u32 {
  return listCount;
}
/** Attributes outside the policy (unknown ids, ids above the version's maximum). */
export function unknownAttrCount(): u32 {
  return unknownCount;
}
/** Offset from the start of the message of the attribute the last error names. */
export function attrErrorOffset(): u32 {
  return errorOffset;
}
/** The id of the attribute the last error names (the missing one for MISSING_ATTR). */
export function attrErrorAttr(): u32 {
  return errorAttr;
}

/** Records a walk that found nothing (a message without a schema): no attributes, no error location. */
export function walkNothing(): void {
  presentMask = 0;
  listCount = 0;
  unknownCount = 0;
  errorOffset = 0;
  errorAttr = 0;
}

// @ts-ignore: decorator
@inline
function fail(publish: bool, status: i32, offset: u32, attr: u32): i32 {
  if (publish) {
    errorOffset = offset;
    errorAttr = attr;
  }
  return status;
}

// A kind's size rules packed in one word, so checking an attribute costs one table load, not three
// (a walk is a few dozen instructions per attribute, and it re-validates every encode): the minimum
// payload, whether the payload ends in NUL, and how far the size may exceed the minimum.
const RULE_MIN_MASK: u32 = 0x3fff;
const RULE_NUL: u32 = 1 << 14;
/** Set in every rule of a kind the policy has, so a rule word of 0 means the attribute is unknown. */
const RULE_KNOWN: u32 = 1 << 15;
const RULE_SPAN_SHIFT: u32 = 16;
/** A span that no u16 nla_len exceeds: the kind has no maximum. */
const RULE_SPAN_ANY: u32 = 0xffff;

/** The rule word of `kind` (KIND_NONE: 0), for a policy's table of rules by attribute id. */
export function kindRule(kind: u8): u32 {
  if (kind == KIND_NONE) return 0;
  const min = <u32>load<u16>(KIND_MIN + (<usize>kind << 1));
  const max = <u32>load<u16>(KIND_MAX + (<usize>kind << 1));
  const span = max == 0 ? RULE_SPAN_ANY : max - min;
  return (span << RULE_SPAN_SHIFT) | RULE_KNOWN | (load<u8>(KIND_NUL + <usize>kind) != 0 ? RULE_NUL : 0) | min;
}

/** The policy's size rule for one occurrence of an attribute (reference §2.3), from its rule word. */
// @ts-ignore: decorator
@inline
function checkSize(rule: u32, payload: usize, n: u32): i32 {
  // One unsigned compare covers both bounds: below the minimum wraps past any span.
  if (n - (rule & RULE_MIN_MASK) > rule >>> RULE_SPAN_SHIFT) return E_ATTR_SIZE;
  if ((rule & RULE_NUL) != 0 && load<u8>(payload + n - 1) != 0) return E_STRING_UNTERMINATED;
  return OK;
}

/**
 * Walks the attributes of the message at `msg` (`len` bytes) once: frames each, checks every
 * occurrence of an id up to `maxId` against its rule in `rules` (a row of kindRule words indexed by id),
 * records it, then requires every id from 1 to `maxId` (iwpmd and the kernel both do). The first
 * error wins and names the attribute and its offset. With a `list` (room for `listCap` entries),
 * every attribute is also listed there in arrival order. `values` is the value table to fill (entry
 * `id` at values + id·DV_SIZE; only present ids are written); attrPtr, attrLen and the result
 * getters read that walk until the next one. With `values` 0 the walk only validates: it returns
 * its status and publishes nothing, so they keep describing the last walk that did. The remaining
 * length is signed, so a zero-length attribute is an error and never an endless loop (libmnl's
 * rule). Inlined: each caller's constant mode, list and table then fold into its copy of the loop,
 * which is the decoder's hot path.
 */
// @ts-ignore: decorator
@inline
export function walkAttrs(
  msg: usize,
  len: u32,
  rules: usize,
  maxId: u32,
  mode: u32,
  list: usize,
  listCap: u32,
  values: usize,
): i32 {
  // The walk keeps its results in locals and publishes them once at the end (or at the error):
  // a module global is a memory access on every update.
  let present: u32 = 0;
  let count: u32 = 0;
  let unknown: u32 = 0;
  const end = msg + len;
  let p = msg + NLMSG_HDRLEN;
  let status = OK;
  const publish = values != 0;
  if (publish) {
    walkedMsg = msg;
    walkedValues = values;
  }
  while (<isize>(end - p) >= <isize>NLA_HDRLEN) {
    const nlaLen = <u32>load<u16>(p, NLA_LEN);
    const type = load<u16>(p, NLA_TYPE);
    // One unsigned compare for NLA_HDRLEN <= nla_len <= what is left (at least NLA_HDRLEN here):
    // a shorter nla_len wraps past any remainder.
    if (nlaLen - NLA_HDRLEN > <u32>(end - p) - NLA_HDRLEN) {
      if (mode == WALK_LIBNL) break;
      status = fail(publish, E_BAD_ATTR_LEN, <u32>(p - msg), <u32>(type & NLA_TYPE_MASK));
      break;
    }
    if (count < listCap) {
      const e = list + <usize>count * DA_SIZE;
      store<u16>(e + DA_TYPE, type);
      store<u16>(e + DA_LEN, <u16>nlaLen);
      store<u32>(e + DA_OFFSET, <u32>(p - msg));
    }
    count++;
    const id = <u32>(type & NLA_TYPE_MASK);
    // Ids 1..maxId as one unsigned compare: id 0 wraps past any maximum.
    const rule = id - 1 < maxId ? load<u32>(rules + <usize>id * sizeof<u32>()) : 0;
    if (rule != 0) {
      const sized = checkSize(rule, p + NLA_HDRLEN, nlaLen - NLA_HDRLEN);
      if (sized != OK) {
        status = fail(publish, sized, <u32>(p - msg), id);
        break;
      }
      present |= 1 << id;
      if (publish) {
        const v = values + <usize>id * DV_SIZE;
        store<u32>(v + DV_OFFSET, <u32>(p + NLA_HDRLEN - msg));
        store<u32>(v + DV_LEN, nlaLen - NLA_HDRLEN);
      }
    } else {
      unknown++;
    }
    p += nlaAlign(nlaLen);
  }
  if (publish) {
    presentMask = present;
    listCount = count;
    unknownCount = unknown;
  }
  if (status != OK) return status;
  if (publish) {
    errorOffset = 0;
    errorAttr = 0;
  }
  // Ids 1..maxId, as bits: the lowest one missing is the one to name.
  const required = ((<u32>2) << maxId) - 2;
  const missing = required & ~present;
  if (missing != 0) return fail(publish, E_MISSING_ATTR, len, ctz(missing));
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
  return p + NLA_HDRLEN + 4;
}

export function putU16(p: usize, id: u32, value: u16): usize {
  putAttrHeader(p, 2, id);
  // The u32 store zero-fills the two padding bytes.
  store<u32>(p, <u32>value, NLA_HDRLEN);
  return p + NLA_HDRLEN + 4;
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
