import { sockaddrEqual, SOCKADDR_SIZE } from "../iwpm/sockaddr";
import { HashIndex } from "../tables/hash-index";
import { IntrusiveList } from "../tables/list";
import { NIL, Slab } from "../tables/slab";
import { PEER_SIZE } from "./udp";

// Peer exchanges in flight (iwpmd's mapping request list, reference §5.4):
// a QUERY this service sent a REQUEST for, an ACCEPT it sent, or the ACK
// record that lets a repeated ACCEPT be acked again. Each starts with 10
// one-second ticks; lookups take the newest entry with the assochandle, a
// type in the mask and the same source address, as iwpmd's do.

export const X_QUERY: u32 = 1;
export const X_ACCEPT: u32 = 2;
export const X_ACK: u32 = 4;
/** IWPM_MAP_REQ_TIMEOUT, in ticks: the budget of an ACCEPT and an ACK record. */
export const X_TICKS: i32 = 10;
/**
 * The budget of a QUERY: iwpmd gives it 10 ticks too, which ends just as the
 * client's own 10 s timeout does. Five ticks (four resends one second apart)
 * leave the client time to hear the rejection the service then sends.
 */
export const DEFAULT_QUERY_TICKS: i32 = 5;
let queryTicks: i32 = DEFAULT_QUERY_TICKS;

/** Ticks a QUERY waits for its peer (1..X_TICKS); the REQUEST is re-sent on each after the first. */
export function setQueryTicks(n: i32): void {
  queryTicks = n < 1 ? 1 : n > X_TICKS ? X_TICKS : n;
}

/** The ticks an entry of `type` starts with. */
export function exchangeBudget(type: u32): i32 {
  return type == X_QUERY ? queryTicks : X_TICKS;
}

const X_TYPE: usize = 0;
const X_COMPLETE: usize = 1;
const X_CLIENT: usize = 2;
const X_TIMEOUT: usize = 4;
const X_ASSOC: usize = 8;
const X_SRC: usize = 16;
const X_REMOTE: usize = 144;
const X_NL_TYPE: usize = 272;
const X_NL_SEQ: usize = 276;
const X_NL_PID: usize = 280;
const X_SEND_LEN: usize = 284;
const X_SEND_FD: usize = 288;
const X_DEST: usize = 292;
const X_MSG: usize = 316;
const X_HASH: u32 = 380;
const X_NEXT: u32 = 384;
const X_NEWER: u32 = 388;
const X_OLDER: u32 = 392;
const RECORD_SIZE: u32 = 400;

const slab = new Slab(RECORD_SIZE);
const byAssoc = new HashIndex(slab, X_HASH, X_NEXT);
/** Newest first. */
const order = new IntrusiveList(slab, X_NEWER, X_OLDER);
/** Bound on entries, so a peer flooding REQUESTs cannot grow the table without limit. */
export const EXCHANGE_LIMIT: u32 = 65536;

// @ts-ignore: decorator
@inline
function assocKey(assoc: u64): u32 {
  return <u32>assoc ^ <u32>(assoc >> 32) ^ 0x61737363;
}

/** A new entry with the full tick budget; null-safe pointers for src and remote. */
export function exchangeAdd(type: u32, assoc: u64, src: usize, remote: usize): u32 {
  const i = slab.alloc();
  const r = slab.ptr(i);
  store<u8>(r + X_TYPE, <u8>type);
  store<i32>(r + X_TIMEOUT, exchangeBudget(type));
  store<u64>(r + X_ASSOC, assoc);
  memory.copy(r + X_SRC, src, SOCKADDR_SIZE);
  memory.copy(r + X_REMOTE, remote, SOCKADDR_SIZE);
  order.pushFront(i);
  byAssoc.insert(i, assocKey(assoc));
  return i;
}

/** The netlink request a QUERY entry answers: its type, seq and pid, and the client index it came on. */
export function exchangeSetRequest(i: u32, nlType: u16, seq: u32, pid: u32, client: u32): void {
  const r = slab.ptr(i);
  store<u16>(r + X_NL_TYPE, nlType);
  store<u32>(r + X_NL_SEQ, seq);
  store<u32>(r + X_NL_PID, pid);
  store<u8>(r + X_CLIENT, <u8>client);
}

/** The message re-sent on every tick until answered (REQUEST or ACCEPT), with its socket and destination. */
export function exchangeSetMessage(i: u32, msg: usize, len: u32, fd: u32, dest: usize): void {
  const r = slab.ptr(i);
  memory.copy(r + X_MSG, msg, len);
  store<u32>(r + X_SEND_LEN, len);
  store<u32>(r + X_SEND_FD, fd);
  memory.copy(r + X_DEST, dest, PEER_SIZE);
}

export function exchangeRemove(i: u32): void {
  byAssoc.unlink(i);
  order.unlink(i);
  slab.free(i);
}

/** update_iwpm_map_request's search: newest entry with this assochandle, a type in `mask` and the same source. */
export function exchangeFind(assoc: u64, src: usize, mask: u32): u32 {
  let i = byAssoc.first(assocKey(assoc));
  while (i != NIL) {
    const r = slab.ptr(i);
    if (load<u64>(r + X_ASSOC) == assoc && (mask & <u32>load<u8>(r + X_TYPE)) != 0 && sockaddrEqual(src, r + X_SRC)) return i;
    i = byAssoc.next(i);
  }
  return NIL;
}

/**
 * update_iwpm_map_request's update: an ACK record gets its full tick budget
 * back; any other entry is complete and goes at the next tick.
 */
export function exchangeAnswered(i: u32): void {
  const r = slab.ptr(i);
  if (load<u8>(r + X_COMPLETE) != 0) return;
  if (<u32>load<u8>(r + X_TYPE) == X_ACK) {
    store<i32>(r + X_TIMEOUT, X_TICKS);
  } else {
    store<i32>(r + X_TIMEOUT, 0);
    store<u8>(r + X_COMPLETE, 1);
  }
}

export function exchangeType(i: u32): u32 {
  return <u32>load<u8>(slab.ptr(i) + X_TYPE);
}
export function exchangeComplete(i: u32): bool {
  return load<u8>(slab.ptr(i) + X_COMPLETE) != 0;
}
export function exchangeTimeout(i: u32): i32 {
  return load<i32>(slab.ptr(i) + X_TIMEOUT);
}
export function exchangeSetTimeout(i: u32, t: i32): void {
  store<i32>(slab.ptr(i) + X_TIMEOUT, t);
}
export function exchangeSrc(i: u32): usize {
  return slab.ptr(i) + X_SRC;
}
export function exchangeRemote(i: u32): usize {
  return slab.ptr(i) + X_REMOTE;
}
export function exchangeNlType(i: u32): u16 {
  return load<u16>(slab.ptr(i) + X_NL_TYPE);
}
export function exchangeNlSeq(i: u32): u32 {
  return load<u32>(slab.ptr(i) + X_NL_SEQ);
}
export function exchangeNlPid(i: u32): u32 {
  return load<u32>(slab.ptr(i) + X_NL_PID);
}
export function exchangeClient(i: u32): u32 {
  return <u32>load<u8>(slab.ptr(i) + X_CLIENT);
}
export function exchangeMsg(i: u32): usize {
  return slab.ptr(i) + X_MSG;
}
export function exchangeMsgLen(i: u32): u32 {
  return load<u32>(slab.ptr(i) + X_SEND_LEN);
}
export function exchangeFd(i: u32): u32 {
  return load<u32>(slab.ptr(i) + X_SEND_FD);
}
export function exchangeDest(i: u32): usize {
  return slab.ptr(i) + X_DEST;
}
export function exchangeCount(): u32 {
  return slab.live;
}
export function exchangeFirst(): u32 {
  return order.first;
}
export function exchangeOlder(i: u32): u32 {
  return order.next(i);
}

export function exchangesClear(): void {
  while (order.first != NIL) exchangeRemove(order.first);
}
