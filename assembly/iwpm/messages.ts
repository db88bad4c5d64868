import { NLA_HDRLEN, NLMSG_HDRLEN } from "../netlink/align";
import { putBytes, putFixedString, putReserved, putU16, putU32 } from "../netlink/attr";
import { msgPid, msgSeq, putHeader } from "../netlink/message";
import {
  IWPM_NLA_HELLO_ABI_VERSION,
  IWPM_NLA_MANAGE_ADDR,
  IWPM_NLA_MANAGE_FLAGS,
  IWPM_NLA_MANAGE_MAPPING_SEQ,
  IWPM_NLA_MAPINFO_FLAGS,
  IWPM_NLA_MAPINFO_LOCAL_ADDR,
  IWPM_NLA_MAPINFO_MAPPED_ADDR,
  IWPM_NLA_MAPINFO_SEND_NUM,
  IWPM_NLA_MAPINFO_SEQ,
  IWPM_NLA_QUERY_FLAGS,
  IWPM_NLA_QUERY_LOCAL_ADDR,
  IWPM_NLA_QUERY_MAPPING_SEQ,
  IWPM_NLA_QUERY_REMOTE_ADDR,
  IWPM_NLA_REG_IBDEV_NAME,
  IWPM_NLA_REG_IF_NAME,
  IWPM_NLA_REG_PID_SEQ,
  IWPM_NLA_REG_ULIB_NAME,
} from "../gen/protocol";
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
// the caller owns. Each returns the message length. A caller's address is a
// sockaddr_storage copied whole, as the kernel's nla_put copies it; only the
// mapinfo records, which a table keeps in compact form, are expanded.

/** The library name as a NUL-padded char[32], built once. */
const ULIB: usize = memory.data(<i32>ULIBNAME_SIZE);
String.UTF8.encodeUnsafe(changetype<usize>(ULIB_NAME), ULIB_NAME.length, ULIB, false);

export function ulibNamePtr(): usize {
  return ULIB;
}

// @ts-ignore: decorator
@inline
function putAddr(p: usize, id: u32, sa: usize): usize {
  return putBytes(p, id, sa, SOCKADDR_SIZE);
}

/** A table's compact address as the zero-filled sockaddr_storage the kernel would hold. */
// @ts-ignore: decorator
@inline
function putKeyAddr(p: usize, id: u32, compact: usize): usize {
  addrToSockaddr(p + NLA_HDRLEN, compact);
  return putReserved(p, id, SOCKADDR_SIZE);
}

export function buildRegPid(dst: usize, client: u32, seq: u32, pid: u32, echo: u32, ifName: usize, devName: usize): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_REG_PID_SEQ, echo);
  p = putFixedString(p, IWPM_NLA_REG_IF_NAME, ifName, IFNAME_SIZE);
  p = putFixedString(p, IWPM_NLA_REG_IBDEV_NAME, devName, DEVNAME_SIZE);
  p = putFixedString(p, IWPM_NLA_REG_ULIB_NAME, ULIB, ULIBNAME_SIZE);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_REG_PID), NLM_F_REQUEST, seq, pid);
  return len;
}

/** ADD_MAPPING; FLAGS only when the negotiated version has it (> 3). */
export function buildAddMapping(dst: usize, client: u32, seq: u32, pid: u32, echo: u32, local: usize, flags: u32, withFlags: bool): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_MANAGE_MAPPING_SEQ, echo);
  p = putAddr(p, IWPM_NLA_MANAGE_ADDR, local);
  if (withFlags) p = putU32(p, IWPM_NLA_MANAGE_FLAGS, flags);
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
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_QUERY_MAPPING_SEQ, echo);
  p = putAddr(p, IWPM_NLA_QUERY_LOCAL_ADDR, local);
  p = putAddr(p, IWPM_NLA_QUERY_REMOTE_ADDR, remote);
  if (withFlags) p = putU32(p, IWPM_NLA_QUERY_FLAGS, flags);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_QUERY_MAPPING), NLM_F_REQUEST, seq, pid);
  return len;
}

export function buildRemoveMapping(dst: usize, client: u32, seq: u32, pid: u32, echo: u32, local: usize): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_MANAGE_MAPPING_SEQ, echo);
  p = putAddr(p, IWPM_NLA_MANAGE_ADDR, local);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_REMOVE_MAPPING), NLM_F_REQUEST, seq, pid);
  return len;
}

/** One MAPINFO record of a resend batch, from the mapinfo table's compact addresses: NLM_F_MULTI, seq 0. */
export function buildMapinfoRecord(dst: usize, client: u32, pid: u32, local: usize, mapped: usize, flags: u32, withFlags: bool): u32 {
  let p = putKeyAddr(dst + NLMSG_HDRLEN, IWPM_NLA_MAPINFO_LOCAL_ADDR, local);
  p = putKeyAddr(p, IWPM_NLA_MAPINFO_MAPPED_ADDR, mapped);
  if (withFlags) p = putU32(p, IWPM_NLA_MAPINFO_FLAGS, flags);
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
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_MAPINFO_SEQ, 0);
  p = putU32(p, IWPM_NLA_MAPINFO_SEND_NUM, count);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_MAPINFO_NUM), NLM_F_REQUEST, seq, pid);
  return len;
}

export function buildHello(dst: usize, client: u32, seq: u32, pid: u32, version: u32): u32 {
  const p = putU16(dst + NLMSG_HDRLEN, IWPM_NLA_HELLO_ABI_VERSION, <u16>version);
  const len = <u32>(p - dst);
  putHeader(dst, len, rdmaType(client, OP_HELLO), NLM_F_REQUEST, seq, pid);
  return len;
}

/** struct nlmsgerr's int error, before the echoed message. */
const NLMSGERR_ERROR_SIZE: u32 = 4;

/**
 * NLMSG_ERROR as a kernel answers a message it cannot dispatch: the error,
 * then the whole offending message (iwpmd does not set NETLINK_CAP_ACK), with
 * the offender's seq and port in the header.
 */
export function buildNetlinkError(dst: usize, orig: usize, origLen: u32, error: i32): u32 {
  const len: u32 = NLMSG_HDRLEN + NLMSGERR_ERROR_SIZE + origLen;
  store<i32>(dst, error, NLMSG_HDRLEN);
  memory.copy(dst + NLMSG_HDRLEN + NLMSGERR_ERROR_SIZE, orig, origLen);
  putHeader(dst, len, NLMSG_ERROR, 0, msgSeq(orig), msgPid(orig));
  return len;
}
