import { NLA_HDRLEN, nlaAlign } from "../netlink/align";
import { NLMSG_HDRLEN } from "../netlink/align";
import { msgLen } from "../netlink/message";
import { DIR_TO_DAEMON, KIND_ADDR, KIND_FSTR16, KIND_FSTR32, KIND_U16, KIND_U32, schemaKind, schemaMaxId } from "../iwpm/schema";
import { SOCKADDR_SIZE } from "../iwpm/sockaddr";

// What iwpmd accepts, with libnl's rules rather than the client codec's:
// attributes are walked while they frame (a bad trailing one just ends the
// walk), every occurrence of a known id is checked against the policy (the
// last one is kept), ids above the version's maximum are ignored, and then
// every id from 1 to that maximum must be present.

const MAX_ID: u32 = 7;
const PTR: usize = memory.data(<i32>(MAX_ID + 1) * 4, 4);
const LEN: usize = memory.data(<i32>(MAX_ID + 1) * 4, 4);
let present: u32 = 0;

// @ts-ignore: decorator
@inline
export function svcAttrPtr(id: u32): usize {
  return <usize>load<u32>(PTR + (<usize>id << 2));
}
// @ts-ignore: decorator
@inline
export function svcAttrLen(id: u32): u32 {
  return load<u32>(LEN + (<usize>id << 2));
}
// @ts-ignore: decorator
@inline
export function svcAttrU32(id: u32): u32 {
  return load<u32>(svcAttrPtr(id));
}
// @ts-ignore: decorator
@inline
export function svcAttrU16(id: u32): u16 {
  return load<u16>(svcAttrPtr(id));
}

/** libnl's validate_nla for one occurrence of a client -> daemon attribute. */
function attrValid(op: u32, id: u32, p: usize, n: u32): bool {
  const kind = schemaKind(DIR_TO_DAEMON, op, id);
  if (kind == KIND_U32) return n >= 4;
  if (kind == KIND_U16) return n >= 2;
  if (kind == KIND_ADDR) return n >= SOCKADDR_SIZE;
  // NLA_STRING: at least one byte, at most the policy's maxlen, NUL last.
  const cap: u32 = kind == KIND_FSTR16 ? 16 : kind == KIND_FSTR32 ? 32 : 0;
  return n >= 1 && n <= cap && load<u8>(p + n - 1) == 0;
}

/**
 * Validates the message at `msg` (already framed) for `op` under ABI
 * `version`; true when iwpmd would take it. Attribute values are then read
 * with svcAttr*.
 */
export function validateForDaemon(msg: usize, op: u32, version: u32): bool {
  const maxId = schemaMaxId(DIR_TO_DAEMON, op, version);
  if (maxId == 0) return false;
  present = 0;
  let p = msg + NLMSG_HDRLEN;
  let rem = <i32>msgLen(msg) - <i32>NLMSG_HDRLEN;
  while (rem >= <i32>NLA_HDRLEN) {
    const len = <u32>load<u16>(p);
    if (len < NLA_HDRLEN || <i32>len > rem) break;
    const id = <u32>(load<u16>(p, 2) & 0x3fff);
    if (id >= 1 && id <= maxId) {
      if (!attrValid(op, id, p + NLA_HDRLEN, len - NLA_HDRLEN)) return false;
      present |= 1 << id;
      store<u32>(PTR + (<usize>id << 2), <u32>(p + NLA_HDRLEN));
      store<u32>(LEN + (<usize>id << 2), len - NLA_HDRLEN);
    }
    const step = <i32>nlaAlign(len);
    p += <usize>step;
    rem -= step;
  }
  for (let id: u32 = 1; id <= maxId; id++) {
    if ((present & (1 << id)) == 0) return false;
  }
  return true;
}
