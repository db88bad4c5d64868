// Fixed-size records in one growable heap block, addressed by a stable
// 1-based index (0 is the null link). Freed records are reused first, so a
// table under churn stays at its high-water size without fragmenting.

export const NIL: u32 = 0;

export class Slab {
  base: usize = 0;
  capacity: u32 = 0;
  /** Records ever handed out (the next fresh index is top + 1). */
  top: u32 = 0;
  live: u32 = 0;
  freeHead: u32 = NIL;

  constructor(public recordSize: u32) {}

  // @ts-ignore: decorator
  @inline
  ptr(i: u32): usize {
    return this.base + <usize>i * this.recordSize;
  }

  /** A zeroed record. Growth moves the block: never keep a pointer across alloc. */
  alloc(): u32 {
    let i = this.freeHead;
    if (i != NIL) {
      this.freeHead = load<u32>(this.ptr(i));
    } else {
      if (this.top + 1 >= this.capacity) this.grow();
      i = ++this.top;
    }
    memory.fill(this.ptr(i), 0, this.recordSize);
    this.live++;
    return i;
  }

  free(i: u32): void {
    store<u32>(this.ptr(i), this.freeHead);
    this.freeHead = i;
    this.live--;
  }

  clear(): void {
    this.top = 0;
    this.live = 0;
    this.freeHead = NIL;
  }

  release(): void {
    if (this.base != 0) heap.free(this.base);
    this.base = 0;
    this.capacity = 0;
    this.clear();
  }

  // 1.5x growth keeps the peak during a move near 2.5x the records, inside
  // the per-mapping memory budget at a million entries.
  private grow(): void {
    const next: u32 = this.capacity < 64 ? 64 : this.capacity + (this.capacity >> 1);
    const bytes = <usize>next * this.recordSize;
    this.base = this.base == 0 ? heap.alloc(bytes) : heap.realloc(this.base, bytes);
    this.capacity = next;
  }
}
