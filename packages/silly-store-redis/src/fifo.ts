// An array plus a read index: O(1) shift, storage released when drained.
export class Fifo<V> {
  private items: V[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(v: V): void {
    this.items.push(v);
  }
  peek(): V | undefined {
    return this.items[this.head];
  }
  /** The oldest item; only call when size > 0. */
  shift(): V {
    const v = this.items[this.head]!;
    this.items[this.head++] = undefined as never;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    }
    return v;
  }
  /** Remove and return every item, oldest first. */
  drain(): V[] {
    const out = this.items.slice(this.head);
    this.items.length = 0;
    this.head = 0;
    return out;
  }
}
