import { NIL, Slab, SLAB_MAX_RECORDS } from "./slab";

// Hash index over the records of a Slab: open addressing with linear
// probing, one 4-byte slot per distinct 32-bit hash value, holding the newest
// record with that hash (24 bits) and 8 more bits of the hash as a
// fingerprint. The records with that hash hang off the slot in a list through
// their next link, newest first, which gives the kernel's "newest first,
// first match wins" order: records with equal keys have equal hashes, so they
// share a list, and the caller's walk compares its full key. A probe reads a
// record only when the fingerprint matches, so a miss almost never touches
// one.
//
// A record's hash is either stored in it (hashOffset) or computed from its key
// (hashFn), which saves the field where memory per record counts. Only a
// rebuild needs the hashes of all heads, and it reads them in one pass over the
// slab in memory order rather than one random record per slot. A slot whose
// list empties becomes a tombstone, so removal reads no other record; the slot
// array is rebuilt (doubled, or at the same size to drop tombstones) when more
// than 3/4 of it is taken.

const SLOT_SHIFT: u32 = 2;
const INDEX_BITS: u32 = 24;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
const MIN_SLOTS: u32 = 16;
/** A slot whose list emptied: probes go past it, inserts may take it. No record has this index. */
const TOMB: u32 = u32.MAX_VALUE;
/** hashOffset of an index whose records do not store their hash (it has a hashFn). */
export const HASH_COMPUTED: u32 = u32.MAX_VALUE;

export type RecordHash = (i: u32) => u32;

// @ts-ignore: decorator
@inline
function fingerprint(hash: u32): u32 {
  return hash & ~INDEX_MASK;
}

export class HashIndex {
  slots: usize = 0;
  mask: u32 = 0;
  /** Records in the index. */
  count: u32 = 0;
  /** Slots in use: distinct hashes. */
  used: u32 = 0;
  tombs: u32 = 0;

  constructor(
    public slab: Slab,
    public hashOffset: u32,
    public nextOffset: u32,
    public hashFn: RecordHash | null = null,
  ) {
    this.allocSlots(MIN_SLOTS);
  }

  // @ts-ignore: decorator
  @inline
  hashOf(i: u32): u32 {
    const f = this.hashFn;
    if (f) return f(i);
    return load<u32>(this.slab.ptr(i) + this.hashOffset);
  }

  // @ts-ignore: decorator
  @inline
  next(i: u32): u32 {
    return load<u32>(this.slab.ptr(i) + this.nextOffset);
  }

  // @ts-ignore: decorator
  @inline
  private setNext(i: u32, n: u32): void {
    store<u32>(this.slab.ptr(i) + this.nextOffset, n);
  }

  // @ts-ignore: decorator
  @inline
  private slot(pos: u32): usize {
    return this.slots + (<usize>pos << SLOT_SHIFT);
  }

  /** The slot of `hash`, or the empty slot that ends its probe. */
  // @ts-ignore: decorator
  @inline
  private probe(hash: u32): usize {
    const fp = fingerprint(hash);
    let pos = hash & this.mask;
    while (true) {
      const s = this.slot(pos);
      const v = load<u32>(s);
      if (v == NIL || (v != TOMB && fingerprint(v) == fp && this.hashOf(v & INDEX_MASK) == hash)) return s;
      pos = (pos + 1) & this.mask;
    }
  }

  /** The first tombstone on the probe path of `hash`, or the empty slot that ends it (`hash` is not in use). */
  // @ts-ignore: decorator
  @inline
  private vacancy(hash: u32): usize {
    let pos = hash & this.mask;
    while (true) {
      const s = this.slot(pos);
      const v = load<u32>(s);
      if (v == NIL || v == TOMB) return s;
      pos = (pos + 1) & this.mask;
    }
  }

  /** The newest record with this hash, or NIL. */
  // @ts-ignore: decorator
  @inline
  first(hash: u32): u32 {
    return load<u32>(this.probe(hash)) & INDEX_MASK;
  }

  insert(i: u32, hash: u32): void {
    // A slot has room for 24 bits of record index; the tables refuse records past
    // SLAB_MAX_RECORDS (TABLE_FULL) before they get here.
    if (i > SLAB_MAX_RECORDS) unreachable();
    if ((this.used + this.tombs + 1) * 4 > (this.mask + 1) * 3) {
      this.rebuild((this.used + 1) * 2 > this.mask + 1 ? (this.mask + 1) << 1 : this.mask + 1);
    }
    if (this.hashFn == null) store<u32>(this.slab.ptr(i) + this.hashOffset, hash);
    let s = this.probe(hash);
    let head = load<u32>(s);
    if (head == NIL) {
      s = this.vacancy(hash);
      if (load<u32>(s) == TOMB) this.tombs--;
      this.used++;
    } else {
      head &= INDEX_MASK;
    }
    this.setNext(i, head);
    store<u32>(s, fingerprint(hash) | i);
    this.count++;
  }

  unlink(i: u32): void {
    this.unlinkHashed(i, this.hashOf(i));
  }

  /** unlink() for a caller that knows the record's hash. */
  unlinkHashed(i: u32, hash: u32): void {
    // Usually `i` heads its list: its own index finds the slot without computing any hash.
    const fp = fingerprint(hash);
    let pos = hash & this.mask;
    let s: usize = 0;
    while (true) {
      s = this.slot(pos);
      const v = load<u32>(s);
      if (v == NIL) return;
      if (v != TOMB && fingerprint(v) == fp && ((v & INDEX_MASK) == i || this.hashOf(v & INDEX_MASK) == hash)) break;
      pos = (pos + 1) & this.mask;
    }
    let cur = load<u32>(s) & INDEX_MASK;
    if (cur == i) {
      const rest = this.next(i);
      if (rest == NIL) {
        store<u32>(s, TOMB);
        this.used--;
        this.tombs++;
      } else {
        store<u32>(s, fingerprint(hash) | rest);
      }
      this.count--;
      return;
    }
    while (cur != NIL) {
      const nxt = this.next(cur);
      if (nxt == i) {
        this.setNext(cur, this.next(i));
        this.count--;
        return;
      }
      cur = nxt;
    }
  }

  clear(): void {
    memory.fill(this.slots, 0, (<usize>this.mask + 1) << SLOT_SHIFT);
    this.count = 0;
    this.used = 0;
    this.tombs = 0;
  }

  release(): void {
    heap.free(this.slots);
    this.allocSlots(MIN_SLOTS);
    this.count = 0;
    this.used = 0;
    this.tombs = 0;
  }

  /**
   * Records reachable from the slots; equals `count` when the index is sound: every list holds
   * only its slot's hash, under the slot's fingerprint, no empty slot lies between a hash's home
   * and its slot, and the tombstones are counted.
   */
  reachable(): u32 {
    let n: u32 = 0;
    let used: u32 = 0;
    let tombs: u32 = 0;
    for (let pos: u32 = 0; pos <= this.mask; pos++) {
      const v = load<u32>(this.slot(pos));
      if (v == TOMB) {
        tombs++;
        continue;
      }
      let cur = v & INDEX_MASK;
      if (cur == NIL) continue;
      used++;
      const hash = this.hashOf(cur);
      if (fingerprint(hash) != fingerprint(v)) return u32.MAX_VALUE;
      for (let p = hash & this.mask; p != pos; p = (p + 1) & this.mask) {
        if (load<u32>(this.slot(p)) == NIL) return u32.MAX_VALUE;
      }
      while (cur != NIL) {
        if (this.hashOf(cur) != hash) return u32.MAX_VALUE;
        n++;
        cur = this.next(cur);
      }
    }
    return used == this.used && tombs == this.tombs ? n : u32.MAX_VALUE;
  }

  private allocSlots(count: u32): void {
    const bytes = <usize>count << SLOT_SHIFT;
    this.slots = heap.alloc(bytes);
    memory.fill(this.slots, 0, bytes);
    this.mask = count - 1;
  }

  /** Rehashes every list into `count` fresh slots, dropping the tombstones. */
  private rebuild(count: u32): void {
    // The heads' hashes, read in one sequential pass over the slab (free records included:
    // no slot refers to them).
    const top = this.slab.top;
    const hashes = heap.alloc((<usize>top + 1) << 2);
    for (let i: u32 = 1; i <= top; i++) store<u32>(hashes + (<usize>i << 2), this.hashOf(i));
    const old = this.slots;
    const oldCount = this.mask + 1;
    this.allocSlots(count);
    for (let pos: u32 = 0; pos < oldCount; pos++) {
      const v = load<u32>(old + (<usize>pos << SLOT_SHIFT));
      if (v == NIL || v == TOMB) continue;
      let to = load<u32>(hashes + (<usize>(v & INDEX_MASK) << 2)) & this.mask;
      while (load<u32>(this.slot(to)) != NIL) to = (to + 1) & this.mask;
      store<u32>(this.slot(to), v);
    }
    heap.free(old);
    heap.free(hashes);
    this.tombs = 0;
  }
}
