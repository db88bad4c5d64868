import { NLMSG_HDRLEN } from "../netlink/align";
import { putBytes, putU16, putU32, strnlen } from "../netlink/attr";
import { putHeader } from "../netlink/message";
import {
  IWPM_NLA_ERR_CODE,
  IWPM_NLA_ERR_SEQ,
  IWPM_NLA_HELLO_ABI_VERSION,
  IWPM_NLA_MAPINFO_ACK_NUM,
  IWPM_NLA_MAPINFO_SEND_NUM,
  IWPM_NLA_MAPINFO_SEQ,
  IWPM_NLA_MAPINFO_ULIB_NAME,
  IWPM_NLA_MAPINFO_ULIB_VER,
  IWPM_NLA_RMANAGE_ADDR,
  IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR,
  IWPM_NLA_RMANAGE_MAPPING_ERR,
  IWPM_NLA_RMANAGE_MAPPING_SEQ,
  IWPM_NLA_RQUERY_LOCAL_ADDR,
  IWPM_NLA_RQUERY_MAPPED_LOC_ADDR,
  IWPM_NLA_RQUERY_MAPPED_REM_ADDR,
  IWPM_NLA_RQUERY_MAPPING_ERR,
  IWPM_NLA_RQUERY_MAPPING_SEQ,
  IWPM_NLA_RQUERY_REMOTE_ADDR,
  IWPM_NLA_RREG_IBDEV_NAME,
  IWPM_NLA_RREG_PID_ERR,
  IWPM_NLA_RREG_PID_SEQ,
  IWPM_NLA_RREG_ULIB_NAME,
  IWPM_NLA_RREG_ULIB_VER,
} from "../gen/protocol";
import { NLM_F_REQUEST, OP_HANDLE_ERR, OP_HELLO, OP_MAPINFO, ULIB_NAME, rdmaType } from "./constants";
import { SOCKADDR_SIZE } from "./sockaddr";

// Builders for what a port mapper daemon sends (reference §2.2), laid out as
// iwpmd lays them out with libnl: every message carries NLM_F_REQUEST and
// the daemon's port as nlmsg_pid; strings are C strings (strlen + 1, zero
// padded); addresses are copied whole (128 bytes), so an address the client
// sent comes back with every byte it had. Each returns the message length.

/** "iWarpPortMapperUser" plus its NUL, built once. */
const ULIB: usize = memory.data(32);
String.UTF8.encodeUnsafe(changetype<usize>(ULIB_NAME), ULIB_NAME.length, ULIB, false);
const ULIB_CSTR_LEN: u32 = <u32>ULIB_NAME.length + 1;

// @ts-ignore: decorator
@inline
function finish(dst: usize, end: usize, type: u16, seq: u32, pid: u32): u32 {
  const len = <u32>(end - dst);
  putHeader(dst, len, type, NLM_F_REQUEST, seq, pid);
  return len;
}

/** REG_PID reply: the request's seq, its device name, the library name, our version, error 0. */
export function buildRegPidReply(dst: usize, type: u16, seq: u32, pid: u32, reqSeq: u32, devName: usize, devCap: u32, version: u32): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_RREG_PID_SEQ, reqSeq);
  p = putBytes(p, IWPM_NLA_RREG_IBDEV_NAME, devName, strnlen(devName, devCap) + 1);
  p = putBytes(p, IWPM_NLA_RREG_ULIB_NAME, ULIB, ULIB_CSTR_LEN);
  p = putU16(p, IWPM_NLA_RREG_ULIB_VER, <u16>version);
  p = putU16(p, IWPM_NLA_RREG_PID_ERR, 0);
  return finish(dst, p, type, seq, pid);
}

/** ADD_MAPPING reply: the stored local and mapped addresses, error 0. */
export function buildAddMappingReply(dst: usize, type: u16, seq: u32, pid: u32, reqSeq: u32, local: usize, mapped: usize): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_RMANAGE_MAPPING_SEQ, reqSeq);
  p = putBytes(p, IWPM_NLA_RMANAGE_ADDR, local, SOCKADDR_SIZE);
  p = putBytes(p, IWPM_NLA_RMANAGE_MAPPED_LOC_ADDR, mapped, SOCKADDR_SIZE);
  p = putU16(p, IWPM_NLA_RMANAGE_MAPPING_ERR, 0);
  return finish(dst, p, type, seq, pid);
}

/** QUERY_MAPPING reply and REMOTE_INFO share one layout (REMOTE_INFO carries seq attribute 0). */
export function buildConnInfo(
  dst: usize,
  type: u16,
  seq: u32,
  pid: u32,
  reqSeq: u32,
  local: usize,
  remote: usize,
  mappedLocal: usize,
  mappedRemote: usize,
  err: u32,
): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_RQUERY_MAPPING_SEQ, reqSeq);
  p = putBytes(p, IWPM_NLA_RQUERY_LOCAL_ADDR, local, SOCKADDR_SIZE);
  p = putBytes(p, IWPM_NLA_RQUERY_REMOTE_ADDR, remote, SOCKADDR_SIZE);
  p = putBytes(p, IWPM_NLA_RQUERY_MAPPED_LOC_ADDR, mappedLocal, SOCKADDR_SIZE);
  p = putBytes(p, IWPM_NLA_RQUERY_MAPPED_REM_ADDR, mappedRemote, SOCKADDR_SIZE);
  p = putU16(p, IWPM_NLA_RQUERY_MAPPING_ERR, <u16>err);
  return finish(dst, p, type, seq, pid);
}

/** HANDLE_ERR: the failed request's header seq and the code (reference §4.5). */
export function buildHandleErr(dst: usize, client: u32, seq: u32, pid: u32, errSeq: u32, code: u32): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_ERR_SEQ, errSeq);
  p = putU16(p, IWPM_NLA_ERR_CODE, <u16>code);
  return finish(dst, p, rdmaType(client, OP_HANDLE_ERR), seq, pid);
}

/** MAPINFO request ("I (re)started"): library name and our version. */
export function buildMapinfoRequest(dst: usize, client: u32, seq: u32, pid: u32, version: u32): u32 {
  let p = putBytes(dst + NLMSG_HDRLEN, IWPM_NLA_MAPINFO_ULIB_NAME, ULIB, ULIB_CSTR_LEN);
  p = putU16(p, IWPM_NLA_MAPINFO_ULIB_VER, <u16>version);
  return finish(dst, p, rdmaType(client, OP_MAPINFO), seq, pid);
}

/** MAPINFO_NUM ack: the request's seq, the count it sent, the records accepted for its index so far. */
export function buildMapinfoNumAck(dst: usize, type: u16, seq: u32, pid: u32, reqSeq: u32, sent: u32, acked: u32): u32 {
  let p = putU32(dst + NLMSG_HDRLEN, IWPM_NLA_MAPINFO_SEQ, reqSeq);
  p = putU32(p, IWPM_NLA_MAPINFO_SEND_NUM, sent);
  p = putU32(p, IWPM_NLA_MAPINFO_ACK_NUM, acked);
  return finish(dst, p, type, seq, pid);
}

/** HELLO from the daemon: the ABI version it offers. */
export function buildDaemonHello(dst: usize, client: u32, seq: u32, pid: u32, version: u32): u32 {
  const p = putU16(dst + NLMSG_HDRLEN, IWPM_NLA_HELLO_ABI_VERSION, <u16>version);
  return finish(dst, p, rdmaType(client, OP_HELLO), seq, pid);
}
