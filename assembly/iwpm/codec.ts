import { NLA_HDRLEN, NLMSG_HDRLEN } from "../netlink/align";
import { attrErrorAttr, attrErrorOffset, attrList, attrListCount, attrLen, attrPresentMask, attrPtr, strnlen, unknownAttrCount } from "../netlink/attr";
import { msgFlags, msgLen, msgPid, msgSeq, msgType, putHeader } from "../netlink/message";
import { NLMSG_DONE, NLMSG_ERROR, NLMSG_MIN_TYPE, typeClient, typeOp } from "./constants";
import {
  CODEC_MAX,
  D_ATTR_COUNT,
  D_ATTRS,
  D_CLIENT,
  D_CONTROL_HAS_VALUE,
  D_CONTROL_VALUE,
  D_ERROR_ATTR,
  D_ERROR_OFFSET,
  D_EXTRA,
  D_EXTRA_LEN,
  D_FLAGS,
  D_KIND,
  D_LEN,
  D_OP,
  D_ORIG_HEADER,
  D_PID,
  D_PRESENT,
  D_SEQ,
  D_SIZE,
  D_SLOTS,
  D_TYPE,
  D_UNKNOWN_COUNT,
  DA_LEN,
  DA_OFFSET,
  DA_SIZE,
  DA_TYPE,
  MAX_DECODED_ATTRS,
  MSG_DONE,
  MSG_ERROR,
  MSG_IWPM,
  MSG_OTHER_CONTROL,
  NLA_TYPE_MASK,
  SLOT_SIZE,
} from "../gen/protocol";
import { KIND_ADDR, KIND_NONE, KIND_U16, KIND_U32, schemaKind, schemaMaxId, walkMessage } from "./schema";
import { WALK_STRICT } from "../netlink/attr";
import { SOCKADDR_SIZE } from "./sockaddr";
import { E_BAD_CONTROL, E_BAD_MSG_LEN, E_NO_SPACE, E_TRUNCATED_HEADER, OK } from "../status";

// A decoded message as plain fields in one record the host can read (layout generated from
// build/protocol.mjs, docs/abi.md): the header, the schema's attributes by value (the last
// occurrence of each id, as nla_parse keeps it), every attribute in arrival order with its exact
// size and offset, and the message body verbatim, so that encoding gives back the same bytes
// for any message that decodes. Used by the replay decoder and the codec tests; the state
// machines read attributes in place instead.

/** struct nlmsgerr's int error, and NLMSG_DONE's int status: the control payload before anything echoed. */
const CONTROL_VALUE_SIZE: u32 = 4;

/** The longest message the codec takes. */
export const ENCODE_MAX: u32 = CODEC_MAX;

export const DECODED: usize = memory.data(<i32>D_SIZE, 8);

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
  const body = len - NLMSG_HDRLEN;
  store<u32>(DECODED + D_EXTRA_LEN, body);
  memory.copy(DECODED + D_EXTRA, msg + NLMSG_HDRLEN, body);
  const status = walkMessage(msg, len, dir, op, version, WALK_STRICT);
  // The list is kept on failure too: it shows the attributes up to the one the error names.
  const count = min(attrListCount(), MAX_DECODED_ATTRS);
  store<u32>(DECODED + D_ATTR_COUNT, count);
  memory.copy(DECODED + D_ATTRS, attrList(), <usize>count * DA_SIZE);
  store<u32>(DECODED + D_UNKNOWN_COUNT, unknownAttrCount());
  if (status != OK) {
    store<u32>(DECODED + D_ERROR_OFFSET, attrErrorOffset());
    store<u32>(DECODED + D_ERROR_ATTR, attrErrorAttr());
    return status;
  }
  const present = attrPresentMask();
  store<u32>(DECODED + D_PRESENT, present);
  const maxId = schemaMaxId(dir, op, version);
  for (let id: u32 = 1; id <= maxId; id++) {
    const kind = schemaKind(dir, op, id);
    const n = attrLen(id);
    if (kind == KIND_U32) store<u32>(slot(id), load<u32>(attrPtr(id)));
    else if (kind == KIND_U16) store<u16>(slot(id), load<u16>(attrPtr(id)));
    else if (kind == KIND_ADDR) memory.copy(slot(id), attrPtr(id), SOCKADDR_SIZE);
    else {
      // Strings are at most SLOT_SIZE bytes by policy; the slot holds the text NUL padded.
      memory.fill(slot(id), 0, SLOT_SIZE);
      memory.copy(slot(id), attrPtr(id), strnlen(attrPtr(id), n));
    }
  }
  return OK;
}

function decodeControl(msg: usize, len: u32, type: u16): i32 {
  if (type == NLMSG_DONE) {
    store<u32>(DECODED + D_KIND, MSG_DONE);
    if (len >= NLMSG_HDRLEN + CONTROL_VALUE_SIZE) {
      store<i32>(DECODED + D_CONTROL_VALUE, load<i32>(msg, NLMSG_HDRLEN));
      store<u32>(DECODED + D_CONTROL_HAS_VALUE, 1);
    }
    return OK;
  }
  if (type == NLMSG_ERROR) {
    store<u32>(DECODED + D_KIND, MSG_ERROR);
    if (len < NLMSG_HDRLEN + CONTROL_VALUE_SIZE + NLMSG_HDRLEN) return E_BAD_CONTROL;
    store<i32>(DECODED + D_CONTROL_VALUE, load<i32>(msg, NLMSG_HDRLEN));
    memory.copy(DECODED + D_ORIG_HEADER, msg + NLMSG_HDRLEN + CONTROL_VALUE_SIZE, NLMSG_HDRLEN);
    const echoed = len - (NLMSG_HDRLEN * 2 + CONTROL_VALUE_SIZE);
    store<u32>(DECODED + D_EXTRA_LEN, echoed);
    memory.copy(DECODED + D_EXTRA, msg + NLMSG_HDRLEN * 2 + CONTROL_VALUE_SIZE, echoed);
    return OK;
  }
  store<u32>(DECODED + D_KIND, MSG_OTHER_CONTROL);
  return OK;
}

/**
 * Writes the value in the slot of attribute `id` over the payload at `payload` (`n` bytes): the
 * fields a host may have changed. A string overwrites its text and NUL only, so whatever followed
 * the NUL in a fixed-size field stays.
 */
function overlaySlot(kind: u8, id: u32, payload: usize, n: u32): void {
  if (kind == KIND_U32) store<u32>(payload, load<u32>(slot(id)));
  else if (kind == KIND_U16) store<u16>(payload, load<u16>(slot(id)));
  else if (kind == KIND_ADDR) memory.copy(payload, slot(id), SOCKADDR_SIZE);
  else memory.copy(payload, slot(id), min(strnlen(slot(id), <u32>SLOT_SIZE) + 1, n));
}

/**
 * Encodes DECODED back into wire form at `dst` (room for `cap` bytes): the body as it arrived,
 * with the last occurrence of each schema attribute taken from its slot. Returns the length, or a
 * negative status.
 */
export function encodeMessage(dst: usize, cap: u32, dir: u32, version: u32): i32 {
  if (cap < ENCODE_MAX) return -E_NO_SPACE;
  const kind = load<u32>(DECODED + D_KIND);
  const type = load<u16>(DECODED + D_TYPE);
  let p = dst + NLMSG_HDRLEN;
  if (kind == MSG_DONE) {
    if (load<u32>(DECODED + D_CONTROL_HAS_VALUE) != 0) {
      store<i32>(p, load<i32>(DECODED + D_CONTROL_VALUE));
      p += CONTROL_VALUE_SIZE;
    }
  } else if (kind == MSG_ERROR) {
    store<i32>(p, load<i32>(DECODED + D_CONTROL_VALUE));
    memory.copy(p + CONTROL_VALUE_SIZE, DECODED + D_ORIG_HEADER, NLMSG_HDRLEN);
    const echoed = load<u32>(DECODED + D_EXTRA_LEN);
    memory.copy(p + CONTROL_VALUE_SIZE + NLMSG_HDRLEN, DECODED + D_EXTRA, echoed);
    p += CONTROL_VALUE_SIZE + NLMSG_HDRLEN + echoed;
  } else if (kind == MSG_IWPM) {
    const body = load<u32>(DECODED + D_EXTRA_LEN);
    memory.copy(p, DECODED + D_EXTRA, body);
    const op = typeOp(type);
    const maxId = schemaMaxId(dir, op, version);
    // From the last entry back, the first occurrence of an id is the one whose value the slot holds.
    let seen: u32 = 0;
    for (let i = <i32>load<u32>(DECODED + D_ATTR_COUNT) - 1; i >= 0; i--) {
      const e = DECODED + D_ATTRS + <usize>i * DA_SIZE;
      const id = <u32>(load<u16>(e + DA_TYPE) & NLA_TYPE_MASK);
      if (id < 1 || id > maxId || (seen & (1 << id)) != 0) continue;
      seen |= 1 << id;
      const k = schemaKind(dir, op, id);
      if (k == KIND_NONE) continue;
      overlaySlot(k, id, dst + load<u32>(e + DA_OFFSET) + NLA_HDRLEN, <u32>load<u16>(e + DA_LEN) - NLA_HDRLEN);
    }
    p += body;
  }
  const len = <u32>(p - dst);
  putHeader(dst, len, type, load<u16>(DECODED + D_FLAGS), load<u32>(DECODED + D_SEQ), load<u32>(DECODED + D_PID));
  return <i32>len;
}
