// The body arriving on an HTTP/2 stream, as read() takes it (server and
// client alike): node:http2's 'data' events go into a short queue, the
// stream is paused while the queue is full (so HTTP/2 flow control holds the
// peer back), and each read waits at most a timeout.
import type { Http2Stream } from "node:http2";
import { EOF } from "silly/errno";
import { collect } from "../results.js";

/** A piece, or `[undefined, err, status]`: the status a server answers (0: none, the stream failed). */
export type InboundResult = [Buffer, undefined] | [undefined, string, number];

const HIGH = 16;
const LOW = 4;

export class Inbound {
  /** read() or drop() has begun taking the stream's data. */
  started = false;
  private queue: Buffer[] = [];
  private waiter: (() => void) | undefined = undefined;
  private ended = false;
  private dropping = false;
  private err: string | undefined = undefined;
  private total = 0;

  constructor(private readonly st: Http2Stream) {}

  /** The body has been read to its end. */
  get finished(): boolean {
    return this.ended && this.queue.length === 0;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    const st = this.st;
    st.on("data", (chunk: Buffer) => {
      if (this.dropping) return;
      this.queue.push(chunk);
      if (this.queue.length >= HIGH) st.pause();
      this.wake();
    });
    // A reset can also end the readable side: 'aborted' tells it apart from the peer's END_STREAM.
    const reset = (): void => {
      this.err ??= "http: the stream was reset before its body ended";
      this.wake();
    };
    st.on("aborted", reset);
    st.on("end", () => {
      if (st.aborted) return reset();
      this.ended = true;
      this.wake();
    });
    st.on("close", () => {
      if (!this.ended) reset();
    });
  }

  private wake(): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w();
    }
  }

  /** The next piece; fails past `limit` bytes in all (413) or after `timeout` ms without any (408). */
  async next(limit: number, timeout: number): Promise<InboundResult> {
    this.start();
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        if (this.queue.length < LOW && this.st.isPaused()) this.st.resume();
        this.total += chunk.length;
        if (this.total > limit) return this.fail(413, "http: body exceeds the size limit");
        return [chunk, undefined];
      }
      if (this.err !== undefined) return [undefined, this.err, 0];
      if (this.ended) return [undefined, EOF, 0];
      if (this.waiter !== undefined) return [undefined, "http: another body read is pending", 0];
      let timer: NodeJS.Timeout | undefined;
      const arrived = await new Promise<boolean>((resolve) => {
        this.waiter = () => resolve(true);
        timer = setTimeout(resolve, timeout, false);
      });
      clearTimeout(timer);
      if (!arrived) {
        this.waiter = undefined;
        return this.fail(408, `http: timed out after ${timeout} ms reading the body`);
      }
    }
  }

  /** The rest of the body in one Buffer. */
  async all(limit: number, timeout: number): Promise<InboundResult> {
    let failed: InboundResult | undefined;
    const r = await collect(async () => {
      const p = await this.next(limit, timeout);
      if (p[0] === undefined && p[1] !== EOF) failed = p;
      return p[0] === undefined ? [undefined, p[1]] : p;
    });
    return failed ?? (r as InboundResult);
  }

  private fail(status: number, err: string): InboundResult {
    this.err = err;
    this.queue = [];
    return [undefined, err, status];
  }

  /** Nobody will read the rest: drop it as it arrives, so flow control lets the peer finish. */
  drop(): void {
    this.dropping = true;
    this.queue = [];
    this.start();
    this.st.resume();
  }
}
