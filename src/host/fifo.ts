// A FIFO for received datagrams: O(1) take without Array.shift's copy, compacted once many taken
// slots lead it. Portable; every host socket keeps its receive queue in one.

const COMPACT_AT = 1024;

export class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  /** The oldest item, or null when empty. */
  take(): T | null {
    if (this.head === this.items.length) return null;
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= COMPACT_AT) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  get length(): number {
    return this.items.length - this.head;
  }

  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}
