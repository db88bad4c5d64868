import { finalMix, sockaddrEqual, SOCKADDR_SIZE } from "../iwpm/sockaddr";
import { HashIndex } from "../tables/hash-index";
import { IntrusiveList } from "../tables/list";
import { NIL, Slab } from "../tables/slab";
import { saPort, saWildcard } from "./addr";

// The service's mapping table (reference §5.3): {owner index, local, mapped,
// held TCP port handle, wildcard flag, refcount}. iwpmd keeps one list with
// new mappings at its head and every lookup takes the first hit; here two
// hash indexes keyed by port (local and mapped) give the same first hit,
// because a hit needs equal ports and each chain keeps newest-first order.
// A list in the same order serves dumps and shutdown.
//
// Unlike iwpmd, the table is bounded: in total, and per requesting netlink
// port (nlmsg_pid), so that one local process cannot take every port. The
// kernel (port 0) is bound by the total only.

const M_LOCAL: usize = 0;
const M_MAPPED: usize = 128;
const M_OWNER: usize = 256;
const M_WILDCARD: usize = 260;
const M_REFS: usize = 264;
const M_HANDLE: usize = 268;
const M_FLAGS: usize = 272;
const M_HASH_LOCAL: u32 = 276;
const M_NEXT_LOCAL: u32 = 280;
const M_HASH_MAPPED: u32 = 284;
const M_NEXT_MAPPED: u32 = 288;
const M_NEWER: u32 = 292;
const M_OLDER: u32 = 296;
const M_REQUESTER: usize = 300;
const RECORD_SIZE: u32 = 304;

// Live mappings per requesting port: {port, count, hash, next}.
const P_PORT: usize = 0;
const P_COUNT: usize = 4;
const P_HASH: u32 = 8;
const P_NEXT: u32 = 12;
const PORT_RECORD_SIZE: u32 = 16;

/** Default bounds: a busy kernel client holds a few thousand; a process needs far fewer. */
export const DEFAULT_MAX_TOTAL: u32 = 65536;
export const DEFAULT_MAX_PER_PORT: u32 = 4096;
let maxTotal: u32 = DEFAULT_MAX_TOTAL;
let maxPerPort: u32 = DEFAULT_MAX_PER_PORT;

/** Bounds on live mappings (0 = unbounded, as iwpmd). */
export function mappingSetLimits(total: u32, perPort: u32): void {
  maxTotal = total;
  maxPerPort = perPort;
}

const slab = new Slab(RECORD_SIZE);
const byLocal = new HashIndex(slab, M_HASH_LOCAL, M_NEXT_LOCAL);
const byMapped = new HashIndex(slab, M_HASH_MAPPED, M_NEXT_MAPPED);
/** Newest first. */
const order = new IntrusiveList(slab, M_NEWER, M_OLDER);
const portSlab = new Slab(PORT_RECORD_SIZE);
const byPort = new HashIndex(portSlab, P_HASH, P_NEXT);

// @ts-ignore: decorator
@inline
function requesterKey(port: u32): u32 {
  return finalMix(port ^ 0x72657170);
}

function requesterFind(port: u32): u32 {
  let i = byPort.first(requesterKey(port));
  while (i != NIL) {
    if (load<u32>(portSlab.ptr(i) + P_PORT) == port) return i;
    i = byPort.next(i);
  }
  return NIL;
}

/** Live mappings listed for requests from netlink port `port`. */
export function mappingCountOf(port: u32): u32 {
  const i = requesterFind(port);
  return i == NIL ? 0 : load<u32>(portSlab.ptr(i) + P_COUNT);
}

/** 0 when a new mapping for `port` fits, else 1 (its own bound) or 2 (the total). */
export function mappingRoomFor(port: u32): u32 {
  if ((maxTotal != 0 && slab.live >= maxTotal) || slab.full()) return 2;
  if (port != 0 && maxPerPort != 0 && mappingCountOf(port) >= maxPerPort) return 1;
  return 0;
}

function requesterAdjust(port: u32, delta: i32): void {
  let i = requesterFind(port);
  if (i == NIL) {
    i = portSlab.alloc();
    store<u32>(portSlab.ptr(i) + P_PORT, port);
    byPort.insert(i, requesterKey(port));
  }
  const r = portSlab.ptr(i);
  const n = <u32>(<i32>load<u32>(r + P_COUNT) + delta);
  if (n == 0) {
    byPort.unlink(i);
    portSlab.free(i);
  } else {
    store<u32>(r + P_COUNT, n);
  }
}

// @ts-ignore: decorator
@inline
function portKey(sa: usize): u32 {
  return finalMix(<u32>saPort(sa) ^ 0x706f7274);
}

/** Lists a mapping (refcount 1) at the head, as iwpmd's add_iwpm_mapped_port does; `requester` is the netlink port the request came from. */
export function mappingAdd(local: usize, mapped: usize, owner: u32, flags: u32, handle: u32, requester: u32): u32 {
  const i = slab.alloc();
  const r = slab.ptr(i);
  memory.copy(r + M_LOCAL, local, SOCKADDR_SIZE);
  memory.copy(r + M_MAPPED, mapped, SOCKADDR_SIZE);
  store<u32>(r + M_OWNER, owner);
  store<u32>(r + M_WILDCARD, saWildcard(local) ? 1 : 0);
  store<u32>(r + M_REFS, 1);
  store<u32>(r + M_HANDLE, handle);
  store<u32>(r + M_FLAGS, flags);
  store<u32>(r + M_REQUESTER, requester);
  requesterAdjust(requester, 1);
  order.pushFront(i);
  byLocal.insert(i, portKey(r + M_LOCAL));
  byMapped.insert(i, portKey(r + M_MAPPED));
  return i;
}

/** Unlists a mapping and frees its record; the caller closes its handle first. */
export function mappingDrop(i: u32): void {
  const r = slab.ptr(i);
  byLocal.unlink(i);
  byMapped.unlink(i);
  requesterAdjust(load<u32>(r + M_REQUESTER), -1);
  order.unlink(i);
  slab.free(i);
}

/**
 * find_iwpm_mapping: the newest mapping whose local (`mapped` false) or mapped
 * address has the same port and either the same address or a wildcard on one
 * side. Like iwpmd, the wildcard case does not compare families.
 */
export function mappingFind(sa: usize, mapped: bool): u32 {
  const port = saPort(sa);
  const searchWild = saWildcard(sa);
  const index = mapped ? byMapped : byLocal;
  const off: usize = mapped ? M_MAPPED : M_LOCAL;
  let i = index.first(portKey(sa));
  while (i != NIL) {
    const r = slab.ptr(i);
    if (saPort(r + off) == port && (sockaddrEqual(sa, r + off) || load<u32>(r + M_WILDCARD) != 0 || searchWild)) return i;
    i = index.next(i);
  }
  return NIL;
}

/** find_iwpm_same_mapping over local addresses: family, address and port equal. */
export function mappingFindSameLocal(sa: usize): u32 {
  let i = byLocal.first(portKey(sa));
  while (i != NIL) {
    if (sockaddrEqual(sa, slab.ptr(i) + M_LOCAL)) return i;
    i = byLocal.next(i);
  }
  return NIL;
}

export function mappingLocal(i: u32): usize {
  return slab.ptr(i) + M_LOCAL;
}
export function mappingMapped(i: u32): usize {
  return slab.ptr(i) + M_MAPPED;
}
export function mappingOwner(i: u32): u32 {
  return load<u32>(slab.ptr(i) + M_OWNER);
}
export function mappingWildcard(i: u32): bool {
  return load<u32>(slab.ptr(i) + M_WILDCARD) != 0;
}
export function mappingRefs(i: u32): u32 {
  return load<u32>(slab.ptr(i) + M_REFS);
}
export function mappingSetRefs(i: u32, n: u32): void {
  store<u32>(slab.ptr(i) + M_REFS, n);
}
export function mappingHandle(i: u32): u32 {
  return load<u32>(slab.ptr(i) + M_HANDLE);
}
export function mappingFlags(i: u32): u32 {
  return load<u32>(slab.ptr(i) + M_FLAGS);
}
export function mappingRequester(i: u32): u32 {
  return load<u32>(slab.ptr(i) + M_REQUESTER);
}
export function mappingCount(): u32 {
  return slab.live;
}
/** Newest first, the order iwpmd lists (and dumps) its mappings in. */
export function mappingFirst(): u32 {
  return order.first;
}
export function mappingNext(i: u32): u32 {
  return order.next(i);
}

/** 0 when both indexes and the list reach exactly the live records. */
export function mappingCheck(): i32 {
  const live = slab.live;
  if (byLocal.count != live || byMapped.count != live) return 1;
  if (byLocal.reachable() != live || byMapped.reachable() != live) return 2;
  let n: u32 = 0;
  for (let i = order.first; i != NIL; i = mappingNext(i)) if (++n > live) return 3;
  if (n != live) return 4;
  // Every requester's count matches its listed mappings.
  let counted: u32 = 0;
  for (let p: u32 = 1; p <= portSlab.top; p++) {
    if (portSlab.live == 0) break;
    if (requesterFind(load<u32>(portSlab.ptr(p) + P_PORT)) != p) continue;
    counted += load<u32>(portSlab.ptr(p) + P_COUNT);
  }
  return counted == live ? 0 : 5;
}
