import { finalMix } from "../iwpm/sockaddr";
import { HashIndex } from "./hash-index";
import { IntrusiveList } from "./list";
import { NIL, Slab } from "./slab";

// Pending requests by sequence number, also linked in deadline order so
// expiry looks only at the head. Settled sequence numbers are remembered in a
// ring, so a reply that arrives twice or after its timeout is told apart from
// one that never had a request.
//
// Sizing rule of the ring: it holds at least twice the most requests ever
// pending at once (a power of two, 4096 at least). Sequence numbers are taken
// in order, so the ring keeps the last `size` of them. At a request rate R with
// timeout T at most about R*T requests are pending, so a settled number stays
// known while about 2*R*T more are settled: a late reply is told from a stray
// for at least one more timeout after its request expired, whatever the rate
// and the timeout. The ring costs 16 bytes per peak pending request.

const R_SEQ: usize = 0;
const R_OP: usize = 4;
const R_CLIENT: usize = 5;
const R_DEADLINE: usize = 8;
const R_HASH: u32 = 16;
const R_NEXT: u32 = 20;
const R_PREV_DUE: u32 = 24;
const R_NEXT_DUE: u32 = 28;
/** Request arguments the reply is checked against (compact addresses, device name). */
export const R_LOCAL: usize = 32;
export const R_REMOTE: usize = 60;
export const R_DEVNAME: usize = 88;
const RECORD_SIZE: u32 = 120;

const slab = new Slab(RECORD_SIZE);
const index = new HashIndex(slab, R_HASH, R_NEXT);
/** Earliest deadline first. */
const due = new IntrusiveList(slab, R_PREV_DUE, R_NEXT_DUE);

export const OUTCOME_UNKNOWN: u32 = 0;
export const OUTCOME_SETTLED: u32 = 1;
export const OUTCOME_TIMED_OUT: u32 = 2;
const RECENT_MIN: u32 = 4096;
/** One slot: the sequence number (u32), then its outcome (u32). */
const SLOT_SIZE: u32 = 8;
const SLOT_SHIFT: u32 = 3;
let recentSize: u32 = RECENT_MIN;
let recent: usize = heap.alloc(<usize>(RECENT_MIN * SLOT_SIZE));
memory.fill(recent, 0, <usize>(RECENT_MIN * SLOT_SIZE));

// @ts-ignore: decorator
@inline
function slot(seq: u32): usize {
  return recent + (<usize>(seq & (recentSize - 1)) << SLOT_SHIFT);
}

/** Doubles the ring, keeping every remembered number: distinct slots stay distinct under a wider mask. */
function growRecent(): void {
  const oldRing = recent;
  const oldSize = recentSize;
  recentSize = oldSize << 1;
  recent = heap.alloc(<usize>(recentSize * SLOT_SIZE));
  memory.fill(recent, 0, <usize>(recentSize * SLOT_SIZE));
  for (let k: u32 = 0; k < oldSize; k++) {
    const from = oldRing + (<usize>k << SLOT_SHIFT);
    if (load<u32>(from, 4) == OUTCOME_UNKNOWN) continue;
    const to = slot(load<u32>(from));
    store<u32>(to, load<u32>(from));
    store<u32>(to, load<u32>(from, 4), 4);
  }
  heap.free(oldRing);
}

/** Slots of the settled ring (for tests and diagnostics). */
export function requestRecentSize(): u32 {
  return recentSize;
}

// @ts-ignore: decorator
@inline
function seqHash(seq: u32): u32 {
  return finalMix(seq);
}

/** Whether requestAdd would pass the table's bound. */
export function requestsFull(): bool {
  return slab.full();
}

export function requestAdd(seq: u32, op: u32, client: u32, deadline: u64): u32 {
  const i = slab.alloc();
  if (slab.live > recentSize >> 1) growRecent();
  const r = slab.ptr(i);
  store<u32>(r + R_SEQ, seq);
  store<u8>(r + R_OP, <u8>op);
  store<u8>(r + R_CLIENT, <u8>client);
  store<u64>(r + R_DEADLINE, deadline);
  index.insert(i, seqHash(seq));
  // Deadlines usually arrive in order, so the walk back from the tail stops at once.
  let after = due.last;
  while (after != NIL && load<u64>(slab.ptr(after) + R_DEADLINE) > deadline) after = due.prev(after);
  due.insertAfter(i, after);
  return i;
}

export function requestFind(seq: u32): u32 {
  let i = index.first(seqHash(seq));
  while (i != NIL && load<u32>(slab.ptr(i) + R_SEQ) != seq) i = index.next(i);
  return i;
}

/** Removes a request and remembers how it ended. */
export function requestSettle(i: u32, outcome: u32): void {
  const r = slab.ptr(i);
  const seq = load<u32>(r + R_SEQ);
  const ring = slot(seq);
  store<u32>(ring, seq);
  store<u32>(ring, outcome, 4);
  index.unlink(i);
  due.unlink(i);
  slab.free(i);
}

/** How a recent sequence number that is no longer pending ended. */
export function requestOutcome(seq: u32): u32 {
  const ring = slot(seq);
  if (load<u32>(ring, 4) == OUTCOME_UNKNOWN || load<u32>(ring) != seq) return OUTCOME_UNKNOWN;
  return load<u32>(ring, 4);
}

/** The request with the earliest deadline, or NIL. */
export function requestSoonest(): u32 {
  return due.first;
}
export function requestNextDue(i: u32): u32 {
  return due.next(i);
}
export function requestCount(): u32 {
  return slab.live;
}
export function requestPtr(i: u32): usize {
  return slab.ptr(i);
}
export function requestSeq(i: u32): u32 {
  return load<u32>(slab.ptr(i) + R_SEQ);
}
export function requestOp(i: u32): u32 {
  return <u32>load<u8>(slab.ptr(i) + R_OP);
}
export function requestClient(i: u32): u32 {
  return <u32>load<u8>(slab.ptr(i) + R_CLIENT);
}
export function requestDeadline(i: u32): u64 {
  return load<u64>(slab.ptr(i) + R_DEADLINE);
}
