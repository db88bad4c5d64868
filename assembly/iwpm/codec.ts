import { NLMSG_HDRLEN } from "../netlink/align";
import { attrErrorAttr, attrErrorOffset, attrListCount, attrPresentMask, unknownAttrCount } from "../netlink/attr";
import { msgFlags, msgLen, msgPid, msgSeq, msgType, NLMSG_LEN, NLMSG_SEQ, NLMSG_TYPE } from "../netlink/message";
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
  D_EXTRA_LEN,
  D_FLAGS,
  D_KIND,
  D_LEN,
  D_MSG,
  D_OP,
  D_ORIG_HEADER,
  D_PID,
  D_PRESENT,
  D_SEQ,
  D_SIZE,
  D_TYPE,
  D_UNKNOWN_COUNT,
  D_VALUES,
  DV_SIZE,
  MAX_DECODED_ATTRS,
  MSG_DONE,
  MSG_ERROR,
  MSG_IWPM,
  MSG_OTHER_CONTROL,
} from "../gen/protocol";
import { walkMessage } from "./schema";
import { WALK_STRICT } from "../netlink/attr";
import { E_BAD_CONTROL, E_BAD_MSG_LEN, E_NO_SPACE, E_TRUNCATED_HEADER, OK } from "../status";

// A decoded message as plain fields in one record the host can read (layout generated from
// build/protocol.mjs, docs/abi.md): the header, where the message lies in core memory (the record
// refers to it in place rather than copying it), every attribute in arrival order with its exact
// size and offset, and where the value of each schema id is (its last occurrence, as nla_parse
// keeps it). Encoding writes the message's tail back from there, so it gives the same bytes for any
// message that decodes. Used by the replay decoder and the codec tests; the state machines read
// attributes in place instead.

/** struct nlmsgerr's int error, and NLMSG_DONE's int status: the control payload before anything echoed. */
const CONTROL_VALUE_SIZE: u32 = 4;

/** Where NLMSG_ERROR's echo of the offending message's payload starts: after its header, error and that header. */
const ERROR_ECHO_AT: u32 = NLMSG_HDRLEN + CONTROL_VALUE_SIZE + NLMSG_HDRLEN;

/** The longest message the codec takes. */
export const ENCODE_MAX: u32 = CODEC_MAX;

export const DECODED: usize = memory.data(<i32>D_SIZE, 8);

/** Frames the message at `msg` within `avail` bytes: its length, or a negative status. */
export function frameMessage(msg: usize, avail: u32): i32 {
  if (avail < NLMSG_HDRLEN) return -E_TRUNCATED_HEADER;
  const len = msgLen(msg);
  if (len < NLMSG_HDRLEN || len > avail) return -E_BAD_MSG_LEN;
  return <i32>len;
}

/**
 * Decodes one message into DECODED. `version` picks the attribute set for
 * ops whose layout differs between ABI v3 and v4. Inlined into the decode export, its one caller:
 * a call is a measurable share of decoding a short message.
 */
// @ts-ignore: decorator
@inline
export function decodeMessage(msg: usize, avail: u32, dir: u32, version: u32): i32 {
  const framed = frameMessage(msg, avail);
  if (framed < 0) {
    memory.fill(DECODED, 0, D_VALUES);
    return -framed;
  }
  const len = <u32>framed;
  const type = msgType(msg);
  store<u32>(DECODED + D_LEN, len);
  store<u16>(DECODED + D_TYPE, type);
  store<u16>(DECODED + D_FLAGS, msgFlags(msg));
  store<u32>(DECODED + D_SEQ, msgSeq(msg));
  store<u32>(DECODED + D_PID, msgPid(msg));
  store<u32>(DECODED + D_MSG, <u32>msg);
  // Every fixed field is written on each path (a field a path does not set is zeroed), so no call
  // pays for clearing the whole record. Value entries are written only for present attributes:
  // nothing reads the entry of an absent one (the present mask says which).
  if (type < NLMSG_MIN_TYPE) return decodeControl(msg, len, type);

  const op = typeOp(type);
  store<u32>(DECODED + D_KIND, MSG_IWPM);
  store<u32>(DECODED + D_CLIENT, typeClient(type));
  store<u32>(DECODED + D_OP, op);
  clearControl();
  store<u32>(DECODED + D_EXTRA_LEN, len - NLMSG_HDRLEN);
  // One pass validates, lists every attribute and fills the value entries (ids count from 1).
  const status = walkMessage(msg, len, dir, op, version, WALK_STRICT, DECODED + D_ATTRS, MAX_DECODED_ATTRS, DECODED + D_VALUES - DV_SIZE);
  // The list is kept on failure too: it shows the attributes up to the one the error names.
  store<u32>(DECODED + D_ATTR_COUNT, min(attrListCount(), MAX_DECODED_ATTRS));
  store<u32>(DECODED + D_UNKNOWN_COUNT, unknownAttrCount());
  store<u32>(DECODED + D_ERROR_OFFSET, attrErrorOffset());
  store<u32>(DECODED + D_ERROR_ATTR, attrErrorAttr());
  if (status != OK) {
    store<u32>(DECODED + D_PRESENT, 0);
    return status;
  }
  store<u32>(DECODED + D_PRESENT, attrPresentMask());
  return OK;
}

/** Zeroes the fields only a control message sets. */
// @ts-ignore: decorator
@inline
function clearControl(): void {
  store<i32>(DECODED + D_CONTROL_VALUE, 0);
  store<u32>(DECODED + D_CONTROL_HAS_VALUE, 0);
  store<u64>(DECODED + D_ORIG_HEADER, 0);
  store<u64>(DECODED + D_ORIG_HEADER + 8, 0);
}

/** Zeroes the fields only an iwpm message sets. */
// @ts-ignore: decorator
@inline
function clearIwpm(): void {
  store<u32>(DECODED + D_CLIENT, 0);
  store<u32>(DECODED + D_OP, 0);
  store<u32>(DECODED + D_PRESENT, 0);
  store<u32>(DECODED + D_ERROR_OFFSET, 0);
  store<u32>(DECODED + D_ERROR_ATTR, 0);
  store<u32>(DECODED + D_UNKNOWN_COUNT, 0);
  store<u32>(DECODED + D_ATTR_COUNT, 0);
}

function decodeControl(msg: usize, len: u32, type: u16): i32 {
  clearIwpm();
  clearControl();
  store<u32>(DECODED + D_EXTRA_LEN, 0);
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
    if (len < ERROR_ECHO_AT) return E_BAD_CONTROL;
    store<i32>(DECODED + D_CONTROL_VALUE, load<i32>(msg, NLMSG_HDRLEN));
    memory.copy(DECODED + D_ORIG_HEADER, msg + NLMSG_HDRLEN + CONTROL_VALUE_SIZE, NLMSG_HDRLEN);
    store<u32>(DECODED + D_EXTRA_LEN, len - ERROR_ECHO_AT);
    return OK;
  }
  store<u32>(DECODED + D_KIND, MSG_OTHER_CONTROL);
  return OK;
}

/**
 * Encodes DECODED back into wire form at `dst` (room for `cap` bytes): the header fields, then
 * the message's tail from where the record refers to it, with any value a host changed there. The
 * record may describe the message at `dst` itself (decode and encode share the codec buffer): the
 * tail then stays where it is, and the fields written around it come from the record, never
 * from the bytes they overwrite. An iwpm message is walked again under `dir` and `version`, so an
 * edit that would make a receiver drop it is refused. Returns the length, or a negative status.
 * Inlined into the encode export, its one caller, as decodeMessage is: the call is a share of it.
 */
// @ts-ignore: decorator
@inline
export function encodeMessage(dst: usize, cap: u32, dir: u32, version: u32): i32 {
  if (cap < ENCODE_MAX) return -E_NO_SPACE;
  const kind = load<u32>(DECODED + D_KIND);
  const type = load<u16>(DECODED + D_TYPE);
  const src = <usize>load<u32>(DECODED + D_MSG);
  const tail = load<u32>(DECODED + D_EXTRA_LEN);
  let len = NLMSG_HDRLEN;
  if (kind == MSG_IWPM) {
    if (src != dst) memory.copy(dst + NLMSG_HDRLEN, src + NLMSG_HDRLEN, tail);
    len += tail;
  } else if (kind == MSG_DONE) {
    if (load<u32>(DECODED + D_CONTROL_HAS_VALUE) != 0) {
      store<i32>(dst, load<i32>(DECODED + D_CONTROL_VALUE), NLMSG_HDRLEN);
      len += CONTROL_VALUE_SIZE;
    }
  } else if (kind == MSG_ERROR) {
    if (src != dst) memory.copy(dst + ERROR_ECHO_AT, src + ERROR_ECHO_AT, tail);
    store<i32>(dst, load<i32>(DECODED + D_CONTROL_VALUE), NLMSG_HDRLEN);
    memory.copy(dst + NLMSG_HDRLEN + CONTROL_VALUE_SIZE, DECODED + D_ORIG_HEADER, NLMSG_HDRLEN);
    len = ERROR_ECHO_AT + tail;
  }
  // The record keeps type, flags, seq and pid in nlmsghdr's order (test/core/decoded-record.test.ts
  // holds the layout to it): one 4-byte and one 8-byte copy write them.
  store<u32>(dst, len, NLMSG_LEN);
  store<u32>(dst, load<u32>(DECODED + D_TYPE), NLMSG_TYPE);
  store<u64>(dst, load<u64>(DECODED + D_SEQ), NLMSG_SEQ);
  if (kind == MSG_IWPM) {
    // Validation only: the walk leaves the value table and results the state machines read alone.
    const status = walkMessage(dst, len, dir, typeOp(type), version, WALK_STRICT, 0, 0, 0);
    if (status != OK) return -status;
  }
  return <i32>len;
}
