import { AF_INET, AF_INET6 } from "../iwpm/sockaddr";
import {
  PEER_MALFORMED,
  PEER_OK,
  PEER_PROBLEM_IP_VERSION,
  PEER_PROBLEM_LENGTH,
  PEER_R_AP_IP,
  PEER_R_APPORT,
  PEER_R_ASSOC_HI,
  PEER_R_ASSOC_LO,
  PEER_R_CP_IP,
  PEER_R_CPPORT,
  PEER_R_EXPECTED_LENGTH,
  PEER_R_HAS_MAPPED_CP_IP,
  PEER_R_IP_VERSION,
  PEER_R_LENGTH,
  PEER_R_MAPPED_CP_IP,
  PEER_R_MAPPED_CP_PORT,
  PEER_R_PMTIME,
  PEER_R_PROBLEMS,
  PEER_R_SIZE,
  PEER_R_TYPE,
  PEER_R_VERSION,
  PEER_SHORT,
} from "../gen/protocol";

// The port mappers' UDP message (reference §5.4), multi-byte fields
// big-endian. Parsed into one set of fields, as iwpmd's iwpm_msg_parms:
// replies are formed from the fields of the message they answer, so the
// protocol version, pmtime and every address byte a peer sent are echoed.
// Ports stay in network order throughout (loaded and stored as raw u16).

export const MT_REQUEST: u8 = 0;
export const MT_ACCEPT: u8 = 1;
export const MT_ACK: u8 = 2;
export const MT_REJECT: u8 = 3;

export const WIRE_SIZE: u32 = 48;
export const WIRE_REQUEST_SIZE: u32 = 64;

const W_MAGIC: usize = 0;
const W_PMTIME: usize = 1;
const W_RESERVED: usize = 2;
const W_APPORT: usize = 4;
const W_CPPORT: usize = 6;
const W_ASSOC: usize = 8;
const W_CPIP: usize = 16;
const W_APIP: usize = 32;
const W_MAPPED_CPIP: usize = 48;

export let wIpVer: u32 = 0;
export let wFamily: u16 = 0;
export let wVer: u8 = 0;
export let wType: u8 = 0;
export let wPmtime: u8 = 0;
export let wAssoc: u64 = 0;
export let wApport: u16 = 0;
export let wCpport: u16 = 0;
export let wMappedCpport: u16 = 0;
export const W_AP_IP: usize = memory.data(16, 8);
export const W_CP_IP: usize = memory.data(16, 8);
export const W_MAPPED_CP_IP: usize = memory.data(16, 8);

export function setWireFields(family: u16, ver: u8, pmtime: u8, assoc: u64): void {
  wFamily = family;
  wIpVer = family == AF_INET ? 4 : 6;
  wVer = ver;
  wPmtime = pmtime;
  wAssoc = assoc;
}
export function setWirePorts(apport: u16, cpport: u16, mappedCpport: u16): void {
  wApport = apport;
  wCpport = cpport;
  wMappedCpport = mappedCpport;
}
export function setWireApport(port: u16): void {
  wApport = port;
}

/**
 * Reads a received message of `len` bytes at `buf` (room for 64). iwpmd
 * takes 48 or 64 bytes whatever the type, and IP versions 4 and 6 only;
 * false otherwise. A 48-byte REQUEST gets zero mapped fields.
 */
export function parseWire(buf: usize, len: u32): bool {
  if (len != WIRE_SIZE && len != WIRE_REQUEST_SIZE) return false;
  if (len == WIRE_SIZE) memory.fill(buf + WIRE_SIZE, 0, WIRE_REQUEST_SIZE - WIRE_SIZE);
  const magic = load<u8>(buf, W_MAGIC);
  const ipVer = <u32>(magic & 0x0f);
  if (ipVer != 4 && ipVer != 6) return false;
  wIpVer = ipVer;
  wFamily = ipVer == 4 ? AF_INET : AF_INET6;
  wVer = (magic & 0xc0) >> 6;
  wType = (magic & 0x30) >> 4;
  wPmtime = load<u8>(buf, W_PMTIME);
  wAssoc = bswap<u64>(load<u64>(buf, W_ASSOC));
  wApport = load<u16>(buf, W_APPORT);
  wCpport = load<u16>(buf, W_CPPORT);
  memory.copy(W_AP_IP, buf + W_APIP, 16);
  memory.copy(W_CP_IP, buf + W_CPIP, 16);
  if (wType == MT_REQUEST) {
    wMappedCpport = load<u16>(buf, W_RESERVED);
    memory.copy(W_MAPPED_CP_IP, buf + W_MAPPED_CPIP, 16);
  }
  return true;
}

/** Forms a message of type `mt` from the current fields at `dst`; returns its size (64 for a REQUEST, else 48). */
export function formWire(dst: usize, mt: u8): u32 {
  memory.fill(dst, 0, WIRE_REQUEST_SIZE);
  store<u8>(dst, <u8>((wIpVer & 0x0f) | ((<u32>wVer << 6) & 0xc0) | ((<u32>mt << 4) & 0x30)), W_MAGIC);
  store<u8>(dst, wPmtime, W_PMTIME);
  store<u16>(dst, wApport, W_APPORT);
  store<u16>(dst, wCpport, W_CPPORT);
  store<u64>(dst, bswap<u64>(wAssoc), W_ASSOC);
  memory.copy(dst + W_APIP, W_AP_IP, 16);
  memory.copy(dst + W_CPIP, W_CP_IP, 16);
  if (mt != MT_REQUEST) return WIRE_SIZE;
  store<u16>(dst, wMappedCpport, W_RESERVED);
  memory.copy(dst + W_MAPPED_CPIP, W_MAPPED_CP_IP, 16);
  return WIRE_REQUEST_SIZE;
}

/**
 * Writes the message of `len` bytes at `buf` (its first 64 there) as the peer message record at
 * `out`, for display: every field as sent, also where iwpmd would drop the message, which
 * PEER_MALFORMED and the record's PROBLEMS say. PEER_SHORT when it lacks the fields every type
 * has. A peer sends a REQUEST with 64 bytes and the others with 48.
 */
export function decodeWireRecord(buf: usize, len: u32, out: usize): u32 {
  if (len < WIRE_SIZE) return PEER_SHORT;
  memory.fill(out, 0, PEER_R_SIZE);
  const magic = load<u8>(buf, W_MAGIC);
  const type = (magic & 0x30) >> 4;
  const ipVer = magic & 0x0f;
  store<u8>(out + PEER_R_VERSION, (magic & 0xc0) >> 6);
  store<u8>(out + PEER_R_TYPE, type);
  store<u8>(out + PEER_R_IP_VERSION, ipVer);
  store<u8>(out + PEER_R_PMTIME, load<u8>(buf, W_PMTIME));
  store<u16>(out + PEER_R_MAPPED_CP_PORT, bswap<u16>(load<u16>(buf, W_RESERVED)));
  store<u16>(out + PEER_R_APPORT, bswap<u16>(load<u16>(buf, W_APPORT)));
  store<u16>(out + PEER_R_CPPORT, bswap<u16>(load<u16>(buf, W_CPPORT)));
  const assoc = bswap<u64>(load<u64>(buf, W_ASSOC));
  store<u32>(out + PEER_R_ASSOC_HI, <u32>(assoc >> 32));
  store<u32>(out + PEER_R_ASSOC_LO, <u32>assoc);
  memory.copy(out + PEER_R_CP_IP, buf + W_CPIP, 16);
  memory.copy(out + PEER_R_AP_IP, buf + W_APIP, 16);
  const expected = type == MT_REQUEST ? WIRE_REQUEST_SIZE : WIRE_SIZE;
  if (type == MT_REQUEST && len >= WIRE_REQUEST_SIZE) {
    store<u8>(out + PEER_R_HAS_MAPPED_CP_IP, 1);
    memory.copy(out + PEER_R_MAPPED_CP_IP, buf + W_MAPPED_CPIP, 16);
  }
  store<u32>(out + PEER_R_LENGTH, len);
  store<u32>(out + PEER_R_EXPECTED_LENGTH, expected);
  let problems: u8 = 0;
  if (len != expected) problems |= PEER_PROBLEM_LENGTH;
  if (ipVer != 4 && ipVer != 6) problems |= PEER_PROBLEM_IP_VERSION;
  store<u8>(out + PEER_R_PROBLEMS, problems);
  return problems == 0 ? PEER_OK : PEER_MALFORMED;
}
