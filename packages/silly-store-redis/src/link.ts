// One connection to the server, made on demand and made again after a loss.
//
// A connection attempt is TCP (or TLS), then the handshake (HELLO / AUTH / CLIENT
// SETNAME / SELECT, pipelined, every reply checked, read with conn.read).
// Then the decoder takes the conn over (silly/net/protocol): every chunk goes
// to it as it arrives, and the replies it completes are handed out at once.
// A failed attempt sets a backoff: the next one waits 50 ms, then twice as
// long each time up to `maxbackoff`; callers that arrive meanwhile share the
// next attempt. A connection that drops is tried again at once.
import tcp from "silly/net/tcp";
import tls from "silly/net/tls";
import type { ConnectOpts } from "silly/net/tls";
import errno from "silly/errno";
import protocol from "silly/net/protocol";
import type { Conn } from "silly/net/tcp";
import { Decoder, MORE, encode } from "./resp.js";
import type { Arg } from "./resp.js";
import { RedisError } from "./error.js";

/** How a TLS connection checks the server (silly/net/tls's connect options). */
export type TlsOptions = Pick<ConnectOpts, "hostname" | "ca" | "verify">;

export interface Settings {
  addr: string;
  /** TLS, and how to check the server; undefined: plain TCP. */
  tls: TlsOptions | undefined;
  /** Commands of the handshake, each with the name to report when it fails. */
  hello: { name: string; bytes: Buffer }[];
  timeout: number | undefined;
  connecttimeout: number;
  maxbackoff: number;
  maxreply: number;
  maxqueue: number;
  /** The client was closed. */
  closed: boolean;
}

const MIN_BACKOFF = 50;
const NO_ERROR = Promise.resolve(undefined);
export const CLOSED = new RedisError("closed", "the client is closed");

export function now(): number {
  return performance.now();
}

/** The handshake command `args`, encoded, with its name for error messages. */
export function hellocmd(...args: Arg[]): { name: string; bytes: Buffer } {
  return { name: String(args[0]), bytes: encode(args) };
}

/** Why a conn's reads ended, as the error of the commands it leaves without replies. */
export function lost(err: string): RedisError {
  const why = err === errno.EOF ? "the server closed the connection" : err;
  return new RedisError("lost", `${why} (a command in flight may or may not have run)`);
}

export abstract class Link {
  conn: Conn | undefined = undefined;
  private attempt: Promise<RedisError | undefined> | undefined = undefined;
  private delay = 0;
  private retryat = 0;
  private nap: { timer: NodeJS.Timeout; wake: () => void } | undefined = undefined;

  constructor(protected readonly o: Settings) {}

  /** Resolves once there is a live connection (undefined) or the attempt failed. */
  open(): Promise<RedisError | undefined> {
    if (this.conn !== undefined) return NO_ERROR;
    if (this.o.closed) return Promise.resolve(CLOSED);
    return (this.attempt ??= this.connect());
  }

  /** The client is closing: stop waiting, drop the connection. */
  shut(): void {
    if (this.nap !== undefined) {
      clearTimeout(this.nap.timer);
      this.nap.wake();
    }
    const conn = this.conn;
    if (conn !== undefined) {
      this.down(conn, CLOSED);
      conn.close();
    }
  }

  /** Replies the decoder has ready: hand them out. An error return resets the connection. */
  protected abstract dispatch(dec: Decoder): RedisError | undefined;
  /** The connection is gone: fail what waited on it. */
  protected abstract onlost(err: RedisError): void;
  /** A new connection is ready: its first writes (resubscribing, say). */
  protected abstract onready(conn: Conn): void;

  /** The connection failed with `err`: fail what it carried. Later news of the same conn is ignored. */
  protected down(conn: Conn, err: RedisError): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    this.onlost(err);
  }

  private async connect(): Promise<RedisError | undefined> {
    const wait = this.retryat - now();
    if (wait > 0) await this.sleep(wait);
    const err = await this.dial();
    this.attempt = undefined;
    if (err !== undefined && err !== CLOSED) {
      this.delay = Math.min(Math.max(this.delay * 2, MIN_BACKOFF), this.o.maxbackoff);
      this.retryat = now() + this.delay;
    }
    return err;
  }

  private async dial(): Promise<RedisError | undefined> {
    if (this.o.closed) return CLOSED;
    const deadline = now() + this.o.connecttimeout;
    const { addr, tls: t, connecttimeout: timeout } = this.o;
    const [conn, err] = t === undefined ? await tcp.connect(addr, { timeout }) : await tls.connect(addr, { ...t, timeout });
    if (conn === undefined) return new RedisError("connect", `${this.o.addr}: ${err}`);
    const dec = new Decoder(this.o.maxreply);
    const failed = await this.handshake(conn, dec, deadline);
    if (failed !== undefined || this.o.closed) {
      conn.close();
      return failed ?? CLOSED;
    }
    this.delay = 0;
    this.retryat = 0;
    this.conn = conn;
    this.onready(conn);
    this.consume(conn, dec);
    return undefined;
  }

  /** Hand every chunk to the decoder as it arrives, and the replies it completes to dispatch. */
  private consume(conn: Conn, dec: Decoder): void {
    // Bytes that came with the handshake's last reply first.
    const err = this.dispatch(dec);
    if (err !== undefined) return this.reset(conn, err);
    protocol.takeover(conn, {
      data: (chunk) => {
        if (this.conn !== conn) return; // given up on (timeout, close, a broken stream)
        dec.feed(chunk);
        const e = this.dispatch(dec);
        if (e !== undefined) this.reset(conn, e);
      },
      end: (why) => this.down(conn, lost(why)),
    });
  }

  private async handshake(conn: Conn, dec: Decoder, deadline: number): Promise<RedisError | undefined> {
    const hello = this.o.hello;
    if (hello.length === 0) return undefined;
    void conn.write(hello.map((h) => h.bytes));
    let got = 0;
    for (;;) {
      for (let r = dec.next(); r !== MORE; r = dec.next()) {
        if (dec.broken !== undefined) return new RedisError("connect", `${this.o.addr}: ${dec.broken.message}`);
        if (dec.push) continue;
        if (r instanceof RedisError) return new RedisError("connect", `${this.o.addr}: ${hello[got]!.name}: ${r.message}`);
        if (++got === hello.length) return undefined;
      }
      const [first, err] = await conn.read(1, Math.max(1, deadline - now()));
      if (first === undefined) {
        const why = err === errno.TIMEDOUT ? `no answer to ${hello[got]!.name} within ${this.o.connecttimeout} ms` : err;
        return new RedisError("connect", `${this.o.addr}: ${why}`);
      }
      dec.feed(first);
      const more = conn.unreadbytes();
      if (more > 0) dec.feed((await conn.read(more))[0] ?? Buffer.alloc(0)); // buffered: comes at once
    }
  }

  /** Fail what `conn` carried with `err` and close it. */
  protected reset(conn: Conn, err: RedisError): void {
    this.down(conn, err);
    conn.close();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.nap = undefined;
        resolve();
      };
      this.nap = { timer: setTimeout(wake, ms), wake };
    });
  }
}
