import { ADDR_SIZE, addrEqual, addrHash } from "../iwpm/sockaddr";
import { HASH_COMPUTED, HashIndex } from "./hash-index";
import { IntrusiveList } from "./list";
import { NIL, Slab } from "./slab";

// The mapinfo table: every mapping the client uses, kept to replay to a
// restarted daemon (reference §4.7). Duplicates are allowed and removal takes
// the newest record whose local and mapped addresses both match: the kernel's
// iwpm_remove_mapinfo hashes the (local, mapped) pair to pick a bucket and
// deletes the newest record there with that mapped address, so a record with
// another local address is never the one removed. Records are also linked in
// creation order, the order of the resend.

const R_LOCAL: usize = 0;
const R_MAPPED: usize = 28;
const R_FLAGS: usize = 56;
const R_CLIENT: usize = 60;
const R_NEXT_LOCAL: u32 = 64;
const R_NEXT_MAPPED: u32 = 68;
const R_PREV: u32 = 72;
const R_NEXT: u32 = 76;
const RECORD_SIZE: u32 = 80;

const SEED_LOCAL: u32 = 0x6d61706c;
const SEED_MAPPED: u32 = 0x6d617070;

const slab = new Slab(RECORD_SIZE);
// The records do not store their hashes: 8 bytes less per mapping keeps a million of them within
// 100 MB; an index recomputes a hash only when it moves or verifies a slot.
const byLocal = new HashIndex(slab, HASH_COMPUTED, R_NEXT_LOCAL, (i: u32): u32 => addrHash(slab.ptr(i) + R_LOCAL, SEED_LOCAL));
const byMapped = new HashIndex(slab, HASH_COMPUTED, R_NEXT_MAPPED, (i: u32): u32 => addrHash(slab.ptr(i) + R_MAPPED, SEED_MAPPED));
/** Oldest first. */
const order = new IntrusiveList(slab, R_PREV, R_NEXT);

/** Whether mapinfoCreate would pass the table's bound. */
export function mapinfoFull(): bool {
  return slab.full();
}

export function mapinfoCreate(local: usize, mapped: usize, client: u32, flags: u32): u32 {
  const i = slab.alloc();
  const r = slab.ptr(i);
  memory.copy(r + R_LOCAL, local, ADDR_SIZE);
  memory.copy(r + R_MAPPED, mapped, ADDR_SIZE);
  store<u32>(r + R_FLAGS, flags);
  store<u8>(r + R_CLIENT, <u8>client);
  order.pushBack(i);
  byLocal.insert(i, addrHash(r + R_LOCAL, SEED_LOCAL));
  byMapped.insert(i, addrHash(r + R_MAPPED, SEED_MAPPED));
  return i;
}

export function mapinfoFindByMapped(mapped: usize): u32 {
  let i = byMapped.first(addrHash(mapped, SEED_MAPPED));
  while (i != NIL && !addrEqual(slab.ptr(i) + R_MAPPED, mapped)) i = byMapped.next(i);
  return i;
}

export function mapinfoFindByLocal(local: usize): u32 {
  let i = byLocal.first(addrHash(local, SEED_LOCAL));
  while (i != NIL && !addrEqual(slab.ptr(i) + R_LOCAL, local)) i = byLocal.next(i);
  return i;
}

// @ts-ignore: decorator
@inline
function findPair(local: usize, mapped: usize, mappedHash: u32): u32 {
  let i = byMapped.first(mappedHash);
  while (i != NIL && !(addrEqual(slab.ptr(i) + R_MAPPED, mapped) && addrEqual(slab.ptr(i) + R_LOCAL, local))) i = byMapped.next(i);
  return i;
}

/** The newest record with this local and this mapped address, or NIL. */
export function mapinfoFindPair(local: usize, mapped: usize): u32 {
  return findPair(local, mapped, addrHash(mapped, SEED_MAPPED));
}

/** Removes the newest record with this local and this mapped address; false when there is none. */
export function mapinfoRemove(local: usize, mapped: usize): bool {
  const mappedHash = addrHash(mapped, SEED_MAPPED);
  const i = findPair(local, mapped, mappedHash);
  if (i == NIL) return false;
  byLocal.unlinkHashed(i, addrHash(local, SEED_LOCAL));
  byMapped.unlinkHashed(i, mappedHash);
  order.unlink(i);
  slab.free(i);
  return true;
}

export function mapinfoCount(): u32 {
  return slab.live;
}
/** Oldest record, for iteration in creation order. */
export function mapinfoFirst(): u32 {
  return order.first;
}
export function mapinfoNext(i: u32): u32 {
  return order.next(i);
}
export function mapinfoLocal(i: u32): usize {
  return slab.ptr(i) + R_LOCAL;
}
export function mapinfoMapped(i: u32): usize {
  return slab.ptr(i) + R_MAPPED;
}
export function mapinfoFlags(i: u32): u32 {
  return load<u32>(slab.ptr(i) + R_FLAGS);
}
export function mapinfoClient(i: u32): u32 {
  return <u32>load<u8>(slab.ptr(i) + R_CLIENT);
}

export function mapinfoFree(): void {
  slab.release();
  byLocal.release();
  byMapped.release();
  order.reset();
}

/** Structural check: both indexes and the order list reach exactly the live records. 0 when sound. */
export function mapinfoCheck(): i32 {
  const live = slab.live;
  if (byLocal.count != live || byMapped.count != live) return 1;
  if (byLocal.reachable() != live || byMapped.reachable() != live) return 2;
  if (order.length(live) != live) return 3;
  for (let i = order.first; i != NIL; i = mapinfoNext(i)) {
    if (mapinfoFindByMapped(mapinfoMapped(i)) == NIL || mapinfoFindByLocal(mapinfoLocal(i)) == NIL) return 4;
  }
  return 0;
}
