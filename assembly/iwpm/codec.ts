import { NLMSG_HDRLEN, nlmsgAlign } from "../netlink/align";
import {
  attrErrorOffset,
  attrLen,
  attrPresent,
  attrPtr,
  putBytes,
  putFixedString,
  putU16,
  putU32,
  unknownAttrCount,
  unknownAttrLen,
  unknownAttrPtr,
  unknownAttrType,
} from "../netlink/attr";
import { msgFlags, msgLen, msgPid, msgSeq, msgType, putHeader } from "../netlink/message";
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, typeClient, typeOp } from "./constants";
import {
  KIND_ADDR,
  KIND_CSTR,
  KIND_FSTR16,
  KIND_FSTR32,
  KIND_U16,
  KIND_U32,
  parseMessage,
  schemaKind,
  schemaMaxId,
  SCHEMA_MAX_ID,
} from "./schema";
import { SOCKADDR_SIZE } from "./sockaddr";
import { E_BAD_CONTROL, E_BAD_MSG_LEN, E_NO_SPACE, E_TRUNCATED_HEADER, OK } from "../status";
import { strnlen } from "../netlink/attr";

// A decoded message as plain fields in one record the host can read (layout
// in docs/abi.md). Used by the replay decoder and the codec tests; the state
// machines read attributes in place instead.

export const MSG_IWPM: u32 = 0;
export const MSG_DONE: u32 = 1;
export const MSG_ERROR: u32 = 2;
export const MSG_OTHER_CONTROL: u32 = 3;

export const D_LEN: usize = 0;
export const D_TYPE: usize = 4;
export const D_FLAGS: usize = 6;
export const D_SEQ: usize = 8;
export const D_PID: usize = 12;
export const D_KIND: usize = 16;
export const D_CLIENT: usize = 20;
export const D_OP: usize = 24;
export const D_PRESENT: usize = 28;
/** NLMSG_DONE status or NLMSG_ERROR error (int32). */
export const D_CONTROL_VALUE: usize = 32;
/** 1 when a DONE carries its int32 status. */
export const D_CONTROL_HAS_VALUE: usize = 36;
/** NLMSG_ERROR: copy of the offending header. */
export const D_ORIG_HEADER: usize = 40;
export const D_ERROR_OFFSET: usize = 56;
export const D_UNKNOWN_COUNT: usize = 60;
/** Attribute values by id: slot(id) = D_SLOTS + (id - 1) * 128. */
export const D_SLOTS: usize = 64;
const SLOT_SIZE: usize = 128;
/** Unknown attributes: { type u16, pad u16, length u32, offset in D_EXTRA u32 } each. */
export const D_UNKNOWN: usize = D_SLOTS + <usize>SCHEMA_MAX_ID * SLOT_SIZE;
const UNKNOWN_ENTRY: usize = 12;
const MAX_KEPT: u32 = 16;
/** Bytes kept verbatim: unknown attribute payloads, or what NLMSG_ERROR echoes after the header. */
export const D_EXTRA_LEN: usize = D_UNKNOWN + <usize>MAX_KEPT * UNKNOWN_ENTRY;
export const D_EXTRA: usize = D_EXTRA_LEN + 4;
const EXTRA_CAP: u32 = 4096;
export const DECODED_SIZE: usize = D_EXTRA + EXTRA_CAP;

export const DECODED: usize = memory.data(<i32>DECODED_SIZE, 8);

// @ts-ignore: decorator
@inline
function slot(id: u32): usize {
  return DECODED + D_SLOTS + <usize>(id - 1) * SLOT_SIZE;
}

/** Frames the message at `msg` within `avail` bytes: its length, or a negative status. */
export function frameMessage(msg: usize, avail: u32): i32 {
  if (avail < NLMSG_HDRLEN) return -E_TRUNCATED_HEADER;
  const len = msgLen(msg);
  if (len < NLMSG_HDRLEN || len > avail) return -E_BAD_MSG_LEN;
  return <i32>len;
}

/**
 * Decodes one message into DECODED. `version` picks the attribute set for
 * ops whose layout differs between ABI v3 and v4.
 */
export function decodeMessage(msg: usize, avail: u32, dir: u32, version: u32): i32 {
  // Only the fixed fields are cleared: a slot is written whenever its attribute is present, and
  // nothing reads the slot of an absent one (the present mask says which).
  memory.fill(DECODED, 0, D_SLOTS);
  const framed = frameMessage(msg, avail);
  if (framed < 0) return -framed;
  const len = <u32>framed;
  const type = msgType(msg);
  store<u32>(DECODED + D_LEN, len);
  store<u16>(DECODED + D_TYPE, type);
  store<u16>(DECODED + D_FLAGS, msgFlags(msg));
  store<u32>(DECODED + D_SEQ, msgSeq(msg));
  store<u32>(DECODED + D_PID, msgPid(msg));
  if (type < NLMSG_MIN_TYPE) return decodeControl(msg, len, type);

  const op = typeOp(type);
  store<u32>(DECODED + D_KIND, MSG_IWPM);
  store<u32>(DECODED + D_CLIENT, typeClient(type));
  store<u32>(DECODED + D_OP, op);
  const status = parseMessage(msg, len, dir, op, version);
  if (status != OK) {
    store<u32>(DECODED + D_ERROR_OFFSET, attrErrorOffset());
    return status;
  }
  const maxId = schemaMaxId(dir, op, version);
  let present: u32 = 0;
  for (let id: u32 = 1; id <= maxId; id++) {
    if (!attrPresent(id)) continue;
    present |= 1 << id;
    const kind = schemaKind(dir, op, id);
    const n = attrLen(id);
    if (kind == KIND_U32) store<u32>(slot(id), load<u32>(attrPtr(id)));
    else if (kind == KIND_U16) store<u16>(slot(id), load<u16>(attrPtr(id)));
    else if (kind == KIND_ADDR) memory.copy(slot(id), attrPtr(id), SOCKADDR_SIZE);
    else {
      memory.fill(slot(id), 0, 32);
      memory.copy(slot(id), attrPtr(id), strnlen(attrPtr(id), n));
    }
  }
  store<u32>(DECODED + D_PRESENT, present);
  let extra: u32 = 0;
  const kept = min(unknownAttrCount(), MAX_KEPT);
  for (let i: u32 = 0; i < kept; i++) {
    const n = unknownAttrLen(i);
    if (extra + n > EXTRA_CAP) break;
    const e = DECODED + D_UNKNOWN + <usize>i * UNKNOWN_ENTRY;
    store<u16>(e, unknownAttrType(i));
    store<u32>(e, n, 4);
    store<u32>(e, extra, 8);
    memory.copy(DECODED + D_EXTRA + extra, unknownAttrPtr(i), n);
    extra += nlmsgAlign(n);
    store<u32>(DECODED + D_UNKNOWN_COUNT, i + 1);
  }
  return OK;
}

function decodeControl(msg: usize, len: u32, type: u16): i32 {
  if (type == NLMSG_DONE) {
    store<u32>(DECODED + D_KIND, MSG_DONE);
    if (len >= NLMSG_HDRLEN + 4) {
      store<i32>(DECODED + D_CONTROL_VALUE, load<i32>(msg, NLMSG_HDRLEN));
      store<u32>(DECODED + D_CONTROL_HAS_VALUE, 1);
    }
    return OK;
  }
  if (type == NLMSG_ERROR) {
    store<u32>(DECODED + D_KIND, MSG_ERROR);
    if (len < NLMSG_HDRLEN + 4 + NLMSG_HDRLEN) return E_BAD_CONTROL;
    store<i32>(DECODED + D_CONTROL_VALUE, load<i32>(msg, NLMSG_HDRLEN));
    memory.copy(DECODED + D_ORIG_HEADER, msg + NLMSG_HDRLEN + 4, NLMSG_HDRLEN);
    const echoed = min(len - (NLMSG_HDRLEN * 2 + 4), EXTRA_CAP);
    store<u32>(DECODED + D_EXTRA_LEN, echoed);
    memory.copy(DECODED + D_EXTRA, msg + NLMSG_HDRLEN * 2 + 4, echoed);
    return OK;
  }
  store<u32>(DECODED + D_KIND, MSG_OTHER_CONTROL);
  return OK;
}

/** Bytes `encodeMessage` needs at most: the whole record's payload fits a netlink page. */
export const ENCODE_MAX: u32 = 16 + SCHEMA_MAX_ID * (4 + 128) + EXTRA_CAP + MAX_KEPT * 4;

/**
 * Encodes DECODED back into wire form at `dst` (room for `cap` bytes): the
 * schema's attributes in id order, then kept unknown attributes. Returns the
 * length, or a negative status.
 */
export function encodeMessage(dst: usize, cap: u32, dir: u32, version: u32): i32 {
  if (cap < ENCODE_MAX) return -E_NO_SPACE;
  const kind = load<u32>(DECODED + D_KIND);
  const type = load<u16>(DECODED + D_TYPE);
  const flags = load<u16>(DECODED + D_FLAGS);
  const seq = load<u32>(DECODED + D_SEQ);
  const pid = load<u32>(DECODED + D_PID);
  let p = dst + NLMSG_HDRLEN;
  if (kind == MSG_DONE) {
    if (load<u32>(DECODED + D_CONTROL_HAS_VALUE) != 0) {
      store<i32>(p, load<i32>(DECODED + D_CONTROL_VALUE));
      p += 4;
    }
  } else if (kind == MSG_ERROR) {
    store<i32>(p, load<i32>(DECODED + D_CONTROL_VALUE));
    memory.copy(p + 4, DECODED + D_ORIG_HEADER, NLMSG_HDRLEN);
    const echoed = load<u32>(DECODED + D_EXTRA_LEN);
    memory.copy(p + 4 + NLMSG_HDRLEN, DECODED + D_EXTRA, echoed);
    p += 4 + NLMSG_HDRLEN + echoed;
  } else if (kind == MSG_IWPM) {
    const op = typeOp(type);
    const maxId = schemaMaxId(dir, op, version);
    const present = load<u32>(DECODED + D_PRESENT);
    for (let id: u32 = 1; id <= maxId; id++) {
      if ((present & (1 << id)) == 0) continue;
      const k = schemaKind(dir, op, id);
      if (k == KIND_U32) p = putU32(p, id, load<u32>(slot(id)));
      else if (k == KIND_U16) p = putU16(p, id, load<u16>(slot(id)));
      else if (k == KIND_ADDR) p = putBytes(p, id, slot(id), SOCKADDR_SIZE);
      else if (k == KIND_FSTR16) p = putFixedString(p, id, slot(id), 16);
      else if (k == KIND_FSTR32) p = putFixedString(p, id, slot(id), 32);
      else if (k == KIND_CSTR) p = putBytes(p, id, slot(id), strnlen(slot(id), 128) + 1);
    }
    const count = load<u32>(DECODED + D_UNKNOWN_COUNT);
    for (let i: u32 = 0; i < count; i++) {
      const e = DECODED + D_UNKNOWN + <usize>i * UNKNOWN_ENTRY;
      p = putBytes(p, <u32>load<u16>(e), DECODED + D_EXTRA + load<u32>(e, 8), load<u32>(e, 4));
    }
  }
  const len = <u32>(p - dst);
  putHeader(dst, len, type, flags, seq, pid);
  return <i32>len;
}
