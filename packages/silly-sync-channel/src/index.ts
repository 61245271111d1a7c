// silly.sync.channel: an unbounded FIFO between tasks.
//
// send/push never block. recv/pop wait while the channel is empty; several
// receivers may wait at once and are served first come, first served. A value
// sent while a receiver waits goes straight to it. After close(), queued
// values still drain, then every receive fails with the close reason.

export type SendResult = [true, undefined] | [false, unknown];
export type RecvResult<T> = [T, undefined] | [undefined, unknown];

const DEFAULT_REASON = "channel closed";

/** Read slots a queue may leave behind before it compacts (see Fifo.shift). */
const COMPACT_MIN = 1024;

/**
 * An array plus a read index: O(1) shift, storage released when drained. A
 * queue that never drains (a standing backlog) compacts once the slots already
 * read are at least half of the array, so it holds O(size) slots, not one per
 * value ever sent; each value is moved at most once per halving (amortized O(1)).
 */
class Fifo<V> {
  private items: V[] = [];
  private head = 0;
  get size(): number {
    return this.items.length - this.head;
  }
  push(v: V): void {
    this.items.push(v);
  }
  /** The oldest item; only call when size > 0. */
  shift(): V {
    const v = this.items[this.head]!;
    this.items[this.head++] = undefined as never;
    if (this.head === this.items.length) this.clear();
    else if (this.head >= COMPACT_MIN && this.head * 2 >= this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return v;
  }
  /** Remove and return every item, oldest first. */
  drain(): V[] {
    const out = this.items.slice(this.head);
    this.clear();
    return out;
  }
  clear(): void {
    this.items.length = 0;
    this.head = 0;
  }
}

export class Channel<T = unknown> implements AsyncIterable<T> {
  private readonly queue = new Fifo<T>();
  private readonly waiters = new Fifo<(r: RecvResult<T>) => void>();
  private closed = false;
  private reason: unknown = undefined;

  /** Queue `v` (any value but undefined). Never blocks. */
  send(v: T): SendResult {
    if (this.closed) return [false, this.reason];
    if (v === undefined) return [false, "channel.send: cannot send undefined"];
    if (this.waiters.size > 0) {
      this.waiters.shift()([v, undefined]);
      return [true, undefined];
    }
    this.queue.push(v);
    return [true, undefined];
  }

  /** Upstream's name for send(). */
  push(v: T): SendResult {
    return this.send(v);
  }

  /** The next value, waiting while the channel is empty. Never rejects. */
  recv(): Promise<RecvResult<T>> {
    if (this.queue.size > 0) return Promise.resolve([this.queue.shift(), undefined]);
    if (this.closed) return Promise.resolve([undefined, this.reason]);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Upstream's name for recv(). */
  pop(): Promise<RecvResult<T>> {
    return this.recv();
  }

  /**
   * Refuse further sends; wake every waiting receiver with `reason`
   * (default "channel closed"). Queued values can still be received.
   * Closing twice keeps the first reason.
   */
  close(reason: unknown = DEFAULT_REASON): void {
    if (this.closed) return;
    this.closed = true;
    this.reason = reason;
    for (const w of this.waiters.drain()) w([undefined, reason]);
  }

  /** Drop every queued value. The channel stays open. */
  clear(): void {
    this.queue.clear();
  }

  /** Number of queued values not yet received. */
  get size(): number {
    return this.queue.size;
  }

  get isclosed(): boolean {
    return this.closed;
  }

  /** `for await (const v of ch)` receives until the channel is closed and drained. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const [v, err] = await this.recv();
      if (err !== undefined || v === undefined) return;
      yield v;
    }
  }
}

/** A new, open, empty channel. */
export function create<T = unknown>(): Channel<T> {
  return new Channel<T>();
}

const channel = { new: create, create, Channel };
export { create as new };
export default channel;
