// silly/net/protocol: what a protocol layer built on silly's connections
// (HTTP, WebSocket, a protocol of your own) may do with a Conn beyond the
// application's verbs. Every function here is a doorway to the Conn, which
// checks the rules stated below (net/conn.ts, its "protocol layer" part).
import type { Conn, WriteResult } from "./conn.js";
import { STAGE_MAX } from "./conn.js";
import { markdirect } from "./accept.js";
import { settle } from "../internal/settle.js";

/**
 * A protocol layer that takes a conn's byte stream over (see takeover): it
 * gets every chunk as it arrives, the bytes already buffered first, then the
 * final error once.
 */
export interface Consumer {
  /** Bytes that arrived: the chunk is the consumer's to keep. */
  data(chunk: Buffer): void;
  /**
   * Optional: bytes that arrived, `buf[0..n)` on loan. The buffer is reused
   * for the next read as soon as the call returns: copy what you keep, keep
   * no reference to `buf` or a view of it, and do not modify it. Without
   * `borrow`, such bytes come to data() as a copy. Saves a copy per read.
   */
  borrow?(buf: Buffer, n: number): void;
  /** No more bytes: EOF (errno.EOF), a reset, or CLOSED after close/abort. Called once. */
  end(err: string): void;
}

/** Told of each chunk a conn buffers for read() (see watch). */
export interface Watcher {
  /**
   * `chunk` has been buffered and any pending read served from it. Look
   * (conn.unreadbytes()), close or abort; the chunk stays the conn's, do not
   * modify it.
   */
  arrived(chunk: Buffer): void;
}

/**
 * Writes the `n` bytes of a writeinto call at `buf[at..at+n)`, made from `a`
 * and `b` (a plain function and two values: no closure per message), and
 * returns true; or returns false to decline, and nothing is sent. It must
 * write no byte outside its range, keep no reference to `buf`, and touch no
 * conn while it runs.
 */
export type Encoder<A, B = undefined> = (buf: Buffer, at: number, a: A, b: B) => boolean;

/** The most bytes one writeinto call reserves. */
export const WRITEINTO_MAX: number = STAGE_MAX;

/**
 * Hand the conn's byte stream to `consumer`: the bytes already buffered at
 * once (one data() call), then every chunk as it arrives, then end(err).
 * From now on conn.read() returns an error value and the receive limit no
 * longer applies: the consumer paces delivery with flowing(). If the conn has
 * already ended, end(err) is called before takeover returns. A watcher the
 * conn had is dropped. When data() or borrow() throws, the error is logged
 * and that conn is aborted. Throws (a programmer error) while a read is
 * pending or when the conn was already taken over.
 */
export function takeover(conn: Conn, consumer: Consumer): void {
  conn.takeover(consumer);
}

/**
 * Pause (false) or resume (true) delivery to the consumer: while paused the
 * socket is not read, so TCP pushes back on the peer. Throws unless the conn
 * was taken over.
 */
export function flowing(conn: Conn, on: boolean): void {
  conn.flowing(on);
}

/**
 * Queue `n` bytes (1..WRITEINTO_MAX) that `encode(buf, at, a, b)` writes
 * straight into the conn's output buffer, where they follow every earlier
 * write: a small message costs no buffer of its own and no copy at the flush.
 * Returns what write() would, or undefined when nothing was queued because
 * `n` is over WRITEINTO_MAX or `encode` declined: send the bytes with
 * conn.write() then. `encode` runs synchronously, before writeinto returns;
 * when it throws, nothing is queued and the error is rethrown.
 */
export function writeinto<A, B = undefined>(conn: Conn, n: number, encode: Encoder<A, B>, a: A, b?: B): Promise<WriteResult> | undefined {
  return conn.writeinto(n, encode, a, b as B);
}

/**
 * Have `watcher` told of every chunk the conn buffers for read() (undefined
 * stops it): a protocol that reads with conn.read() bounds or times its reads
 * this way. A conn has at most one watcher; none once taken over (setting one
 * then throws).
 */
export function watch(conn: Conn, watcher: Watcher | undefined): void {
  conn.watch(watcher);
}

/**
 * Hand the conn's queued writes to the socket now instead of at the end of
 * the event loop's poll phase: say, a response that must be on the wire
 * before the conn changes hands.
 */
export function flush(conn: Conn): void {
  conn.flush();
}

/**
 * Drop the connection at once: queued and unsent bytes are discarded, a
 * pending read fails (or the consumer ends) with errno.CLOSED. Unlike
 * close(), which sends what was written first and may linger up to 10 s for
 * a peer that does not read, abort frees everything now: for a peer that has
 * broken the protocol or missed a deadline.
 */
export function abort(conn: Conn): void {
  conn.abort();
}

/**
 * Close the conn the way a server that refuses a peer mid-message should
 * (nginx's lingering close): the bytes written so far are sent, then the
 * write side is shut (FIN), and what the peer still sends is read and
 * dropped until it ends too, `ms` pass or more than `bytes` arrive; then
 * the socket is released. Closing at once while the peer is still sending
 * makes the kernel answer with a reset, and the peer may lose the answer.
 * Reads end with errno.CLOSED and writes are refused from the call on, as
 * after close(). Throws for a negative `ms` or `bytes`.
 */
export function linger(conn: Conn, ms: number, bytes: number): void {
  conn.linger(ms, bytes);
}

/**
 * Whether the conn keeps the process alive (it does by default). A client
 * that keeps idle connections for reuse turns this off while they wait, so
 * a program that is done can exit.
 */
export function ref(conn: Conn, on: boolean): void {
  conn.ref(on);
}

/**
 * Mark an accept function for tcp.listen or tls.listen as direct: it is
 * called on the turn the connection arrives (for TLS, once its handshake is
 * done), outside any task, instead of in a task of its own. For a protocol
 * server whose accept only sets up state and starts tasks of its own: it
 * costs no task, async frame or promise per connection. The function must
 * not suspend; a throw closes that conn and is logged.
 */
export function direct(accept: (conn: Conn) => void): (conn: Conn) => void {
  return markdirect(accept);
}

/**
 * Have `fn(arg, threw, err)` called when the promise that the running task's
 * function returns settles, in place of an await of one's own (no suspended
 * frame, no extra promise): a server that runs each request's handler as a
 * task finishes the response this way. A rejection is then fn's to report
 * (`threw` true, `err` the reason) instead of being logged as the task's
 * failure. One per task (a later call replaces it); nothing is called if
 * the task's function returns no promise. Returns false, setting nothing,
 * outside a running task.
 */
export function onsettle<A>(fn: (arg: A, threw: boolean, err: unknown) => void, arg: A): boolean {
  return settle(fn, arg);
}

const protocol = { takeover, flowing, writeinto, watch, flush, abort, linger, ref, direct, onsettle, WRITEINTO_MAX };
export default protocol;
