// Fixed-size records addressed by a stable 1-based index (0 is the null
// link). Records live in chunks of 4096 that never move, so growth copies
// nothing and memory stays near the live size (no 1.5x-2.5x peak of a
// reallocated block). Freed records are reused first.

export const NIL: u32 = 0;
/** The most records a slab hands out: a hash index keeps 24 bits of record index per slot. */
export const SLAB_MAX_RECORDS: u32 = (1 << 24) - 2;
let recordBound: u32 = SLAB_MAX_RECORDS;

/** Lowers every slab's bound (test builds only: a full table is reached without 16M records). */
export function setRecordBound(n: u32): void {
  recordBound = min(n, SLAB_MAX_RECORDS);
}

const CHUNK_SHIFT: u32 = 12;
const CHUNK_RECORDS: u32 = 1 << CHUNK_SHIFT;
const CHUNK_MASK: u32 = CHUNK_RECORDS - 1;

export class Slab {
  /** Chunk pointers, u32 each. */
  chunks: usize = 0;
  chunkCount: u32 = 0;
  chunkSlots: u32 = 0;
  /** Records ever handed out (the next fresh index is top + 1). */
  top: u32 = 0;
  live: u32 = 0;
  freeHead: u32 = NIL;

  constructor(public recordSize: u32) {}

  // @ts-ignore: decorator
  @inline
  ptr(i: u32): usize {
    return <usize>load<u32>(this.chunks + (<usize>(i >> CHUNK_SHIFT) << 2)) + <usize>(i & CHUNK_MASK) * this.recordSize;
  }

  /** Whether alloc() would pass SLAB_MAX_RECORDS: callers refuse the insertion with TABLE_FULL. */
  full(): bool {
    return this.freeHead == NIL && this.top >= recordBound;
  }

  /** A zeroed record; the caller has checked full(). */
  alloc(): u32 {
    let i = this.freeHead;
    if (i != NIL) {
      this.freeHead = load<u32>(this.ptr(i));
    } else {
      i = ++this.top;
      if (i >> CHUNK_SHIFT >= this.chunkCount) this.addChunk();
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

  release(): void {
    for (let c: u32 = 0; c < this.chunkCount; c++) heap.free(<usize>load<u32>(this.chunks + (<usize>c << 2)));
    if (this.chunks != 0) heap.free(this.chunks);
    this.chunks = 0;
    this.chunkCount = 0;
    this.chunkSlots = 0;
    this.top = 0;
    this.live = 0;
    this.freeHead = NIL;
  }

  private addChunk(): void {
    if (this.chunkCount == this.chunkSlots) {
      this.chunkSlots = this.chunkSlots == 0 ? 16 : this.chunkSlots << 1;
      const bytes = <usize>this.chunkSlots << 2;
      this.chunks = this.chunks == 0 ? heap.alloc(bytes) : heap.realloc(this.chunks, bytes);
    }
    const chunk = heap.alloc(<usize>CHUNK_RECORDS * this.recordSize);
    store<u32>(this.chunks + (<usize>this.chunkCount << 2), <u32>chunk);
    this.chunkCount++;
  }
}
