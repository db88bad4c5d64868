import { NIL, Slab } from "./slab";

// Hash index over the records of a Slab: open addressing with linear
// probing, one 8-byte slot {hash, head} per distinct 32-bit hash value. The
// records with that hash hang off the slot in a list through their next link,
// newest first, which gives the kernel's "newest first, first match wins"
// order: records with equal keys have equal hashes, so they share a list, and
// the caller's walk compares its full key. A probe compares only the hashes
// stored in the slots, so a miss touches no record.
//
// Each record also carries its hash, so unlink finds the slot again and
// several indexes can share one slab. The slot array doubles when more than
// 3/4 of it is in use (rehashed from the stored hashes alone); removal shifts
// the rest of the cluster back, so there are no tombstones.

const SLOT_SIZE: u32 = 8;
const SLOT_SHIFT: u32 = 3;
const S_HASH: usize = 0;
const S_HEAD: usize = 4;
const MIN_SLOTS: u32 = 16;

export class HashIndex {
  slots: usize = 0;
  mask: u32 = 0;
  /** Records in the index. */
  count: u32 = 0;
  /** Slots in use: distinct hashes. */
  used: u32 = 0;

  constructor(
    public slab: Slab,
    public hashOffset: u32,
    public nextOffset: u32,
  ) {
    this.allocSlots(MIN_SLOTS);
  }

  // @ts-ignore: decorator
  @inline
  hashOf(i: u32): u32 {
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
    let pos = hash & this.mask;
    while (true) {
      const s = this.slot(pos);
      if (load<u32>(s, S_HEAD) == NIL || load<u32>(s, S_HASH) == hash) return s;
      pos = (pos + 1) & this.mask;
    }
  }

  /** The newest record with this hash, or NIL. */
  // @ts-ignore: decorator
  @inline
  first(hash: u32): u32 {
    return load<u32>(this.probe(hash), S_HEAD);
  }

  insert(i: u32, hash: u32): void {
    if ((this.used + 1) * 4 > (this.mask + 1) * 3) this.grow();
    store<u32>(this.slab.ptr(i) + this.hashOffset, hash);
    const s = this.probe(hash);
    const head = load<u32>(s, S_HEAD);
    if (head == NIL) {
      store<u32>(s, hash, S_HASH);
      this.used++;
    }
    this.setNext(i, head);
    store<u32>(s, i, S_HEAD);
    this.count++;
  }

  unlink(i: u32): void {
    const s = this.probe(this.hashOf(i));
    let cur = load<u32>(s, S_HEAD);
    if (cur == i) {
      const rest = this.next(i);
      store<u32>(s, rest, S_HEAD);
      if (rest == NIL) this.vacate(<u32>((s - this.slots) >> SLOT_SHIFT));
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
  }

  release(): void {
    heap.free(this.slots);
    this.allocSlots(MIN_SLOTS);
    this.count = 0;
    this.used = 0;
  }

  /**
   * Records reachable from the slots; equals `count` when the index is sound: every list holds
   * only its slot's hash, and no empty slot lies between a hash's home and its slot.
   */
  reachable(): u32 {
    let n: u32 = 0;
    let used: u32 = 0;
    for (let pos: u32 = 0; pos <= this.mask; pos++) {
      const s = this.slot(pos);
      let cur = load<u32>(s, S_HEAD);
      if (cur == NIL) continue;
      used++;
      const hash = load<u32>(s, S_HASH);
      for (let p = hash & this.mask; p != pos; p = (p + 1) & this.mask) {
        if (load<u32>(this.slot(p), S_HEAD) == NIL) return u32.MAX_VALUE;
      }
      while (cur != NIL) {
        if (this.hashOf(cur) != hash) return u32.MAX_VALUE;
        n++;
        cur = this.next(cur);
      }
    }
    return used == this.used ? n : u32.MAX_VALUE;
  }

  private allocSlots(count: u32): void {
    const bytes = <usize>count << SLOT_SHIFT;
    this.slots = heap.alloc(bytes);
    memory.fill(this.slots, 0, bytes);
    this.mask = count - 1;
  }

  /** Empties the slot at `hole`, moving later members of its cluster back so no probe crosses a hole. */
  private vacate(hole: u32): void {
    let pos = hole;
    while (true) {
      pos = (pos + 1) & this.mask;
      const s = this.slot(pos);
      if (load<u32>(s, S_HEAD) == NIL) break;
      const home = load<u32>(s, S_HASH) & this.mask;
      // The entry may fill the hole only if its home is not cyclically inside (hole, pos].
      if (((pos - home) & this.mask) >= ((pos - hole) & this.mask)) {
        store<u64>(this.slot(hole), load<u64>(s));
        hole = pos;
      }
    }
    store<u32>(this.slot(hole), NIL, S_HEAD);
    this.used--;
  }

  private grow(): void {
    const old = this.slots;
    const oldCount = this.mask + 1;
    this.allocSlots(oldCount << 1);
    for (let pos: u32 = 0; pos < oldCount; pos++) {
      const from = old + (<usize>pos << SLOT_SHIFT);
      if (load<u32>(from, S_HEAD) == NIL) continue;
      let to = load<u32>(from, S_HASH) & this.mask;
      while (load<u32>(this.slot(to), S_HEAD) != NIL) to = (to + 1) & this.mask;
      store<u64>(this.slot(to), load<u64>(from));
    }
    heap.free(old);
  }
}
