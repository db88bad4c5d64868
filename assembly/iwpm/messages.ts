import { NLMSG_HDRLEN } from "../netlink/align";
import { putFixedString, putReserved, putU16, putU32 } from "../netlink/attr";
import { putHeader } from "../netlink/message";
import {
  NLM_F_MULTI,
  NLM_F_REQUEST,
  NLMSG_DONE,
  NLMSG_ERROR,
  OP_ADD_MAPPING,
  OP_HELLO,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOVE_MAPPING,
  DEVNAME_SIZE,
  IFNAME_SIZE,
  ULIBNAME_SIZE,
  ULIB_NAME,
  rdmaType,
} from "./constants";
import { addrToSockaddr, SOCKADDR_SIZE } from "./sockaddr";

// Builders for what a client sends (reference §2.2), straight into a buffer
// the caller owns. Each returns the message length. Addresses come in compact
// form and go out as zero-filled sockaddr_storage, as the kernel sends them.

/** The library name as a NUL-padded char[32], built once. */
const ULIB: usize = memory.data(<i32>ULIBNAME_SIZE);
String.UTF8.encodeUnsafe(changetype<usize>(ULIB_NAME), ULIB_NAME.length, ULIB, false);

export function ulibNamePtr(): usize {
  return ULIB;
}

// @ts-ignore: decorator
@inline
function putAddr(p: usize, id: u32, compact: usize): usize {
  addrToSockaddr(p + 4, compact);
  return putReserved(p, id, SOCKADDR_SIZE);
}

export function buildRegPid(dst: usize, client: u32, seq: u32, pid: u32, echo: u32, ifName: usize, devName: usize): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, 1, echo);
  p = putFixedString(p, 2, ifName, IFNAME_SIZE);
  p = putFixedString(p, 3, devName, DEVNAME_SIZE);
  p = putFixedString(p, 4, ULIB, ULIBNAME_SIZE);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_REG_PID), NLM_F_REQUEST, seq, pid);
  return len;
}

/** ADD_MAPPING; FLAGS only when the negotiated version has it (> 3). */
export function buildAddMapping(dst: usize, client: u32, seq: u32, pid: u32, echo: u32, local: usize, flags: u32, withFlags: bool): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, 1, echo);
  p = putAddr(p, 2, local);
  if (withFlags) p = putU32(p, 3, flags);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_ADD_MAPPING), NLM_F_REQUEST, seq, pid);
  return len;
}

export function buildQueryMapping(
  dst: usize,
  client: u32,
  seq: u32,
  pid: u32,
  echo: u32,
  local: usize,
  remote: usize,
  flags: u32,
  withFlags: bool,
): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, 1, echo);
  p = putAddr(p, 2, local);
  p = putAddr(p, 3, remote);
  if (withFlags) p = putU32(p, 4, flags);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_QUERY_MAPPING), NLM_F_REQUEST, seq, pid);
  return len;
}

export function buildRemoveMapping(dst: usize, client: u32, seq: u32, pid: u32, echo: u32, local: usize): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, 1, echo);
  p = putAddr(p, 2, local);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_REMOVE_MAPPING), NLM_F_REQUEST, seq, pid);
  return len;
}

/** One MAPINFO record of a resend batch: NLM_F_MULTI, seq 0. */
export function buildMapinfoRecord(dst: usize, client: u32, pid: u32, local: usize, mapped: usize, flags: u32, withFlags: bool): u32 {
  let p = putAddr(dst + NLMSG_HDRLEN, 1, local);
  p = putAddr(p, 2, mapped);
  if (withFlags) p = putU32(p, 3, flags);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_MAPINFO), NLM_F_MULTI, 0, pid);
  return len;
}

/** The bare NLMSG_DONE that ends a MAPINFO batch (iwpmd stops reading the datagram there). */
export function buildBatchDone(dst: usize, pid: u32): u32 {
  putHeader(dst, NLMSG_HDRLEN, NLMSG_DONE, NLM_F_MULTI, 0, pid);
  return NLMSG_HDRLEN;
}

export function buildMapinfoNum(dst: usize, client: u32, seq: u32, pid: u32, count: u32): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, 1, 0);
  p = putU32(p, 2, count);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_MAPINFO_NUM), NLM_F_REQUEST, seq, pid);
  return len;
}

export function buildHello(dst: usize, client: u32, seq: u32, pid: u32, version: u32): u32 {
  const p = putU16(dst + NLMSG_HDRLEN, 1, <u16>version);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_HELLO), NLM_F_REQUEST, seq, pid);
  return len;
}

/**
 * NLMSG_ERROR as a kernel answers a message it cannot dispatch: the error,
 * then the whole offending message (iwpmd does not set NETLINK_CAP_ACK), with
 * the offender's seq and port in the header.
 */
export function buildNetlinkError(dst: usize, orig: usize, origLen: u32, error: i32): u32 {
  const len: u32 = NLMSG_HDRLEN + 4 + origLen;
  store<i32>(dst, error, NLMSG_HDRLEN);
  memory.copy(dst + NLMSG_HDRLEN + 4, orig, origLen);
  putHeader(dst, len, NLMSG_ERROR, 0, load<u32>(orig, 8), load<u32>(orig, 12));
  return len;
}
