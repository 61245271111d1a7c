// silly.sync.channel: an unbounded FIFO between tasks.
//
// send/push never block. recv/pop wait while the channel is empty; several
// receivers may wait at once and are served first come, first served. A value
// sent while a receiver waits goes straight to it. After close(), queued
// values still drain, then every receive fails with the close reason.

export type SendResult = [true, undefined] | [false, unknown];
export type RecvResult<T> = [T, undefined] | [undefined, unknown];

const DEFAULT_REASON = "channel closed";

export class Channel<T = unknown> implements AsyncIterable<T> {
  // A queue as an array plus a read index: O(1) shift, compacted when drained.
  private queue: T[] = [];
  private head = 0;
  private waiters: ((r: RecvResult<T>) => void)[] = [];
  private waithead = 0;
  private closed = false;
  private reason: unknown = undefined;

  /** Queue `v` (any value but undefined). Never blocks. */
  send(v: T): SendResult {
    if (this.closed) return [false, this.reason];
    if (v === undefined) return [false, "channel.send: cannot send undefined"];
    if (this.waithead < this.waiters.length) {
      const w = this.waiters[this.waithead]!;
      this.waiters[this.waithead++] = undefined as never;
      if (this.waithead === this.waiters.length) {
        this.waiters.length = 0;
        this.waithead = 0;
      }
      w([v, undefined]);
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
    if (this.head < this.queue.length) {
      const v = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never;
      if (this.head === this.queue.length) {
        this.queue.length = 0;
        this.head = 0;
      }
      return Promise.resolve([v, undefined]);
    }
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
    const waiting = this.waiters.slice(this.waithead);
    this.waiters = [];
    this.waithead = 0;
    for (const w of waiting) w([undefined, reason]);
  }

  /** Drop every queued value. The channel stays open. */
  clear(): void {
    this.queue = [];
    this.head = 0;
  }

  /** Number of queued values not yet received. */
  get size(): number {
    return this.queue.length - this.head;
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
