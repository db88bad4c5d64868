import {
  OP_ADD_MAPPING,
  OP_HANDLE_ERR,
  OP_HELLO,
  OP_MAPINFO,
  OP_MAPINFO_NUM,
  OP_QUERY_MAPPING,
  OP_REG_PID,
  OP_REMOTE_INFO,
  OP_REMOVE_MAPPING,
  NUM_OPS,
  IWPM_UABI_VERSION_MIN,
} from "./constants";
import { attrLen, attrPresent, attrPtr, parseAttrs, strnlen } from "../netlink/attr";
import { SOCKADDR_SIZE } from "./sockaddr";
import { E_ATTR_SIZE, E_MISSING_ATTR, E_STRING_UNTERMINATED, E_UNKNOWN_OP, OK } from "../status";

// Attribute layouts of every iwpm message in both directions (reference
// §2.2) and the length rules each receiver applies to them (§2.3). Request
// and reply enums differ (ADD's attr 3 is FLAGS one way and the mapped address
// the other), so a message is only meaningful with its direction.

export const DIR_TO_DAEMON: u32 = 0;
export const DIR_TO_CLIENT: u32 = 1;

export const KIND_NONE: u8 = 0;
export const KIND_U32: u8 = 1;
export const KIND_U16: u8 = 2;
export const KIND_ADDR: u8 = 3;
/** char[16], NUL padded: the netdev name. */
export const KIND_FSTR16: u8 = 4;
/** char[32], NUL padded: device and library names. */
export const KIND_FSTR32: u8 = 5;
/** NUL-terminated string of strlen+1 bytes, at most 31 characters. */
export const KIND_CSTR: u8 = 6;

export const SCHEMA_MAX_ID: u32 = 7;
const CSTR_MAX: u32 = 32;

// KINDS[dir][op][id]; MAX_V4 / MAX_V3[dir][op]: the highest id each version uses.
const KINDS: usize = memory.data(2 * <i32>NUM_OPS * 8);
const MAX_V4: usize = memory.data(2 * <i32>NUM_OPS);
const MAX_V3: usize = memory.data(2 * <i32>NUM_OPS);

function define(dir: u32, op: u32, k1: u8, k2: u8, k3: u8, k4: u8, k5: u8, k6: u8, v3max: u32): void {
  const row = KINDS + (<usize>(dir * NUM_OPS + op) << 3);
  store<u8>(row + 1, k1);
  store<u8>(row + 2, k2);
  store<u8>(row + 3, k3);
  store<u8>(row + 4, k4);
  store<u8>(row + 5, k5);
  store<u8>(row + 6, k6);
  let max: u32 = 0;
  for (let id: u32 = 1; id <= 6; id++) if (load<u8>(row + id) != KIND_NONE) max = id;
  store<u8>(MAX_V4 + dir * NUM_OPS + op, <u8>max);
  store<u8>(MAX_V3 + dir * NUM_OPS + op, <u8>v3max);
}

const N = KIND_NONE;
const U32 = KIND_U32;
const U16 = KIND_U16;
const ADDR = KIND_ADDR;
const CSTR = KIND_CSTR;

// client -> daemon (the daemon's policies); FLAGS exists from v4 on
define(DIR_TO_DAEMON, OP_REG_PID, U32, KIND_FSTR16, KIND_FSTR32, KIND_FSTR32, N, N, 4);
define(DIR_TO_DAEMON, OP_ADD_MAPPING, U32, ADDR, U32, N, N, N, 2);
define(DIR_TO_DAEMON, OP_QUERY_MAPPING, U32, ADDR, ADDR, U32, N, N, 3);
define(DIR_TO_DAEMON, OP_REMOVE_MAPPING, U32, ADDR, N, N, N, N, 2);
define(DIR_TO_DAEMON, OP_MAPINFO, ADDR, ADDR, U32, N, N, N, 2);
define(DIR_TO_DAEMON, OP_MAPINFO_NUM, U32, U32, N, N, N, N, 2);
define(DIR_TO_DAEMON, OP_HELLO, U16, N, N, N, N, N, 1);
// daemon -> client (the kernel's policies)
define(DIR_TO_CLIENT, OP_REG_PID, U32, CSTR, CSTR, U16, U16, N, 5);
define(DIR_TO_CLIENT, OP_ADD_MAPPING, U32, ADDR, ADDR, U16, N, N, 4);
define(DIR_TO_CLIENT, OP_QUERY_MAPPING, U32, ADDR, ADDR, ADDR, ADDR, U16, 6);
define(DIR_TO_CLIENT, OP_REMOTE_INFO, U32, ADDR, ADDR, ADDR, ADDR, U16, 6);
define(DIR_TO_CLIENT, OP_HANDLE_ERR, U32, U16, N, N, N, N, 2);
define(DIR_TO_CLIENT, OP_MAPINFO, CSTR, U16, N, N, N, N, 2);
define(DIR_TO_CLIENT, OP_MAPINFO_NUM, U32, U32, U32, N, N, N, 3);
define(DIR_TO_CLIENT, OP_HELLO, U16, N, N, N, N, N, 1);

/** The highest attribute id of (dir, op) in this ABI version; 0 when the op has no such message. */
export function schemaMaxId(dir: u32, op: u32, version: u32): u32 {
  if (op >= NUM_OPS) return 0;
  const table = version <= IWPM_UABI_VERSION_MIN ? MAX_V3 : MAX_V4;
  return <u32>load<u8>(table + dir * NUM_OPS + op);
}

export function schemaKind(dir: u32, op: u32, id: u32): u8 {
  return load<u8>(KINDS + (<usize>(dir * NUM_OPS + op) << 3) + id);
}

/**
 * Parses and validates the attributes of one iwpm message. Every id up to
 * the version's maximum must be present (iwpmd and the kernel both require
 * that); sizes are minimums as in nla_parse, and strings must end in NUL.
 */
export function parseMessage(msg: usize, len: u32, dir: u32, op: u32, version: u32): i32 {
  const maxId = schemaMaxId(dir, op, version);
  if (maxId == 0) return E_UNKNOWN_OP;
  const status = parseAttrs(msg, msg + 16, msg + len, maxId);
  if (status != OK) return status;
  for (let id: u32 = 1; id <= maxId; id++) {
    if (!attrPresent(id)) return E_MISSING_ATTR;
    const n = attrLen(id);
    const kind = schemaKind(dir, op, id);
    if (kind == KIND_U32) {
      if (n < 4) return E_ATTR_SIZE;
    } else if (kind == KIND_U16) {
      if (n < 2) return E_ATTR_SIZE;
    } else if (kind == KIND_ADDR) {
      if (n < SOCKADDR_SIZE) return E_ATTR_SIZE;
    } else {
      const cap: u32 = kind == KIND_FSTR16 ? 16 : kind == KIND_FSTR32 ? 32 : CSTR_MAX;
      if (n < 1 || n > cap) return E_ATTR_SIZE;
      if (load<u8>(attrPtr(id) + n - 1) != 0) return E_STRING_UNTERMINATED;
      if (kind == KIND_CSTR && strnlen(attrPtr(id), n) > CSTR_MAX - 1) return E_ATTR_SIZE;
    }
  }
  return OK;
}

// @ts-ignore: decorator
@inline
export function attrU32(id: u32): u32 {
  return load<u32>(attrPtr(id));
}
// @ts-ignore: decorator
@inline
export function attrU16(id: u32): u16 {
  return load<u16>(attrPtr(id));
}
