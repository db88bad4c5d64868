import { NIL, Slab } from "./slab";

// A doubly linked list threaded through the records of a Slab, by two link
// fields at fixed offsets: the tables keep their records in creation or
// deadline order with it, and unlink a record in O(1) from anywhere.

export class IntrusiveList {
  first: u32 = NIL;
  last: u32 = NIL;

  constructor(
    public slab: Slab,
    public prevOffset: u32,
    public nextOffset: u32,
  ) {}

  // @ts-ignore: decorator
  @inline
  next(i: u32): u32 {
    return load<u32>(this.slab.ptr(i) + this.nextOffset);
  }

  // @ts-ignore: decorator
  @inline
  prev(i: u32): u32 {
    return load<u32>(this.slab.ptr(i) + this.prevOffset);
  }

  /** Links `i` right after `after`, or at the front when `after` is NIL. */
  insertAfter(i: u32, after: u32): void {
    const before = after == NIL ? this.first : this.next(after);
    const r = this.slab.ptr(i);
    store<u32>(r + this.prevOffset, after);
    store<u32>(r + this.nextOffset, before);
    if (after != NIL) store<u32>(this.slab.ptr(after) + this.nextOffset, i);
    else this.first = i;
    if (before != NIL) store<u32>(this.slab.ptr(before) + this.prevOffset, i);
    else this.last = i;
  }

  pushFront(i: u32): void {
    this.insertAfter(i, NIL);
  }

  pushBack(i: u32): void {
    this.insertAfter(i, this.last);
  }

  unlink(i: u32): void {
    const r = this.slab.ptr(i);
    const prev = load<u32>(r + this.prevOffset);
    const next = load<u32>(r + this.nextOffset);
    if (prev != NIL) store<u32>(this.slab.ptr(prev) + this.nextOffset, next);
    else this.first = next;
    if (next != NIL) store<u32>(this.slab.ptr(next) + this.prevOffset, prev);
    else this.last = prev;
  }

  reset(): void {
    this.first = NIL;
    this.last = NIL;
  }

  /** Records reached from the front with consistent back links, or u32.MAX_VALUE when the list is broken or longer than `limit`. */
  length(limit: u32): u32 {
    let n: u32 = 0;
    let prev: u32 = NIL;
    for (let i = this.first; i != NIL; i = this.next(i)) {
      if (this.prev(i) != prev || ++n > limit) return u32.MAX_VALUE;
      prev = i;
    }
    return prev == this.last ? n : u32.MAX_VALUE;
  }
}
