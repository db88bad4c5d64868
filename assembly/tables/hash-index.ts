import { NIL, Slab } from "./slab";

// Chained hash index over the records of a Slab. Each record carries its
// hash and next link at fixed offsets, so several indexes can share one slab.
// New records go to the head of their chain, giving the kernel's "newest
// first, first match wins" order; the bucket array doubles at load 1, and a
// split keeps each chain's order.

export class HashIndex {
  heads: usize = 0;
  mask: u32 = 0;
  count: u32 = 0;

  constructor(
    public slab: Slab,
    public hashOffset: u32,
    public nextOffset: u32,
  ) {
    this.allocHeads(16);
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
  first(hash: u32): u32 {
    return load<u32>(this.heads + (<usize>(hash & this.mask) << 2));
  }

  insert(i: u32, hash: u32): void {
    if (this.count >= this.mask + 1) this.grow();
    store<u32>(this.slab.ptr(i) + this.hashOffset, hash);
    const head = this.heads + (<usize>(hash & this.mask) << 2);
    this.setNext(i, load<u32>(head));
    store<u32>(head, i);
    this.count++;
  }

  unlink(i: u32): void {
    let link = this.heads + (<usize>(this.hashOf(i) & this.mask) << 2);
    let cur = load<u32>(link);
    while (cur != NIL) {
      if (cur == i) {
        store<u32>(link, this.next(i));
        this.count--;
        return;
      }
      link = this.slab.ptr(cur) + this.nextOffset;
      cur = load<u32>(link);
    }
  }

  clear(): void {
    memory.fill(this.heads, 0, (<usize>this.mask + 1) << 2);
    this.count = 0;
  }

  release(): void {
    heap.free(this.heads);
    this.allocHeads(16);
    this.count = 0;
  }

  /** Entries reachable from the buckets; equals `count` when the index is sound. */
  reachable(): u32 {
    let n: u32 = 0;
    for (let b: u32 = 0; b <= this.mask; b++) {
      let cur = load<u32>(this.heads + (<usize>b << 2));
      while (cur != NIL) {
        if ((this.hashOf(cur) & this.mask) != b) return u32.MAX_VALUE;
        n++;
        cur = this.next(cur);
      }
    }
    return n;
  }

  private allocHeads(buckets: u32): void {
    const bytes = <usize>buckets << 2;
    this.heads = heap.alloc(bytes);
    memory.fill(this.heads, 0, bytes);
    this.mask = buckets - 1;
  }

  private grow(): void {
    const oldHeads = this.heads;
    const oldBuckets = this.mask + 1;
    this.allocHeads(oldBuckets << 1);
    for (let b: u32 = 0; b < oldBuckets; b++) {
      // Bucket b splits into b and b + oldBuckets; appending at the tails keeps the order.
      let loTail = this.heads + (<usize>b << 2);
      let hiTail = this.heads + (<usize>(b + oldBuckets) << 2);
      let cur = load<u32>(oldHeads + (<usize>b << 2));
      while (cur != NIL) {
        const nxt = this.next(cur);
        this.setNext(cur, NIL);
        if ((this.hashOf(cur) & oldBuckets) == 0) {
          store<u32>(loTail, cur);
          loTail = this.slab.ptr(cur) + this.nextOffset;
        } else {
          store<u32>(hiTail, cur);
          hiTail = this.slab.ptr(cur) + this.nextOffset;
        }
        cur = nxt;
      }
    }
    heap.free(oldHeads);
  }
}
