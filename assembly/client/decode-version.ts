// The ABI version a capture's two sides speak, followed message by message while decoding it
// (`iwpm decode`, the page): the v3 layouts lack FLAGS, so which layout a message has depends
// on what was said before. The host keeps the tracked version per capture and hands it back
// with each message; the rule lives here.

import { DECODED, decodeMessage } from "../iwpm/codec";
import {
  D_KIND,
  D_MSG,
  D_PRESENT,
  D_SEQ,
  D_TYPE,
  D_UNKNOWN_COUNT,
  D_VALUES,
  DECODE_VERSION_SHIFT,
  DIR_TO_CLIENT,
  DIR_TO_DAEMON,
  DV_OFFSET,
  DV_SIZE,
  IWPM_NLA_HELLO_ABI_VERSION,
  IWPM_NLA_MAPINFO_ULIB_VER,
  IWPM_NLA_RREG_ULIB_VER,
  MSG_ERROR,
  OP_HELLO,
  OP_MAPINFO,
  OP_REG_PID,
} from "../gen/protocol";
import { IWPM_UABI_VERSION, IWPM_UABI_VERSION_MIN, NLMSG_ERROR, NLMSG_MIN_TYPE, typeOp } from "../iwpm/constants";
import { OK } from "../status";

const STATUS_MASK: u32 = (1 << DECODE_VERSION_SHIFT) - 1;

// @ts-ignore: decorator
@inline
function packed(status: i32, version: u32): i32 {
  return status | <i32>(version << DECODE_VERSION_SHIFT);
}

function unknownCount(): u32 {
  return load<u32>(DECODED + D_UNKNOWN_COUNT);
}

/**
 * Decodes the message of `len` bytes at `msg` in `dir` with the layout of ABI version `tracked`
 * (0: nothing tracked yet, the newest), and with the other version's when that fails or when v3
 * leaves over an attribute v4 knows. The decoded record is that of the returned result: the
 * status, and from DECODE_VERSION_SHIFT up the version that gave it (the tracked one on failure).
 */
/** decodeMessage, inlined here once: decodeWithTracked may try a message three times. */
function decodeAs(msg: usize, len: u32, dir: u32, version: u32): i32 {
  return decodeMessage(msg, len, dir, version);
}

export function decodeWithTracked(msg: usize, len: u32, dir: u32, tracked: u32): i32 {
  const first = tracked == 0 ? IWPM_UABI_VERSION : tracked;
  const status = decodeAs(msg, len, dir, first);
  if (status == OK) {
    if (first == IWPM_UABI_VERSION_MIN && unknownCount() > 0) {
      if (decodeAs(msg, len, dir, IWPM_UABI_VERSION) == OK && unknownCount() == 0) return packed(OK, IWPM_UABI_VERSION);
      decodeAs(msg, len, dir, first);
    }
    return packed(OK, first);
  }
  const other = first == IWPM_UABI_VERSION ? IWPM_UABI_VERSION_MIN : IWPM_UABI_VERSION;
  if (decodeAs(msg, len, dir, other) == OK) return packed(OK, other);
  decodeAs(msg, len, dir, first);
  return packed(status, first);
}

/** A u16 attribute of the decoded record, or 0 when absent. */
function decodedU16(id: u32): u32 {
  if ((load<u32>(DECODED + D_PRESENT) & (1 << id)) == 0) return 0;
  const offset = load<u32>(DECODED + D_VALUES + <usize>(id - 1) * DV_SIZE + DV_OFFSET);
  return <u32>load<u16>(<usize>load<u32>(DECODED + D_MSG) + <usize>offset);
}

/**
 * The version tracked after the message whose last decodeWithTracked gave `result` in `dir`
 * (the decoded record still its): a HELLO's, a REG_PID reply's or a MAPINFO request's announced
 * version (v3 or above; above v4 is v4); an NLMSG_ERROR with seq 0 to the daemon, which iwpmd
 * reads as its HELLO refused and falls back to v3; else the version whose layout decoded it. A
 * message that did not decode, a request come back to its sender (`echo`) and other control
 * messages leave it as it was.
 */
export function trackVersion(tracked: u32, result: i32, dir: u32, echo: bool): u32 {
  if ((<u32>result & STATUS_MASK) != OK) return tracked;
  const type = <u32>load<u16>(DECODED + D_TYPE);
  if (type < <u32>NLMSG_MIN_TYPE) {
    const error = load<u32>(DECODED + D_KIND) == MSG_ERROR || type == <u32>NLMSG_ERROR;
    return error && dir == DIR_TO_DAEMON && load<u32>(DECODED + D_SEQ) == 0 ? IWPM_UABI_VERSION_MIN : tracked;
  }
  if (echo) return tracked;
  const op = typeOp(type);
  let announced: u32 = 0;
  if (op == OP_HELLO) announced = decodedU16(IWPM_NLA_HELLO_ABI_VERSION);
  else if (op == OP_REG_PID && dir == DIR_TO_CLIENT) announced = decodedU16(IWPM_NLA_RREG_ULIB_VER);
  else if (op == OP_MAPINFO && dir == DIR_TO_CLIENT) announced = decodedU16(IWPM_NLA_MAPINFO_ULIB_VER);
  else return <u32>result >> DECODE_VERSION_SHIFT;
  if (announced < IWPM_UABI_VERSION_MIN) return tracked;
  return announced < IWPM_UABI_VERSION ? announced : IWPM_UABI_VERSION;
}
