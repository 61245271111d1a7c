// A silly connection over a node:net (or node:tls) socket, or over the bare
// TCP handle of an accepted connection (handlesocket.ts).
//
// Bytes the socket delivers are kept in a chunk list; read(n) and
// read(delim) are served from it, zero-copy when the answer lies inside one
// chunk. Writes are queued and leave together, small ones copied into one
// buffer, large ones by reference in one writev, at the end of the event
// loop's poll phase (see internal/outflush.ts). Every promise resolves to an
// error value; none rejects.
//
// Applications see the verbs of tcp.ts's Conn; the methods marked @internal
// are the protocol layer's, reached through net/protocol.ts, and they check
// that layer's rules here, in one place.
import type { Socket } from "node:net";
import { HandleSocket } from "./handlesocket.js";
import type { Wire } from "./wire.js";
import { CLOSED, EOF, MSGSIZE, TIMEDOUT, fromnode } from "../errno.js";
import { logerror } from "../internal/report.js";
import { releasepeername, usefastread } from "./fastread.js";
import { flushlater } from "../internal/outflush.js";
import { formataddr } from "./addr.js";
import type { Consumer, Encoder, Watcher } from "./protocol.js";

export type Data = string | Uint8Array;
/** `[bytes]`, or `[undefined, err, partial]` where partial holds what had arrived. */
export type ReadResult = [Buffer, undefined] | [undefined, string, Buffer?];
export type WriteResult = [true, undefined] | [false, string];
export type CloseResult = [true, undefined] | [false, string];
export type ConnectResult = [Conn, undefined] | [undefined, string];

interface PendingRead {
  want: number; // bytes for read(n); -1 for a delimiter read
  delim: Buffer | undefined;
  scanned: number; // delimiter search resumes here
  resolve: (r: ReadResult) => void;
  timer: NodeJS.Timeout | undefined;
}

const WRITE_OK: WriteResult = Object.freeze([true, undefined]) as WriteResult;
const WRITE_OK_P: Promise<WriteResult> = Promise.resolve(WRITE_OK);
const EMPTY = Buffer.alloc(0);
/** How long close() lets queued bytes drain (and unread input be dropped) before the socket is destroyed. */
const LINGER_MS = 10_000;
/** How much more of the peer's input a close() over unread input drops before giving up. */
const LINGER_BYTES = 4 * 1024 * 1024;
/** A turn's writes up to this size are copied into one buffer. */
const COALESCE_MAX = 64 * 1024;
/** Buffers this large are passed to the socket by reference, never copied. */
const BYREF_MIN = 4096;
/** Default receive-buffer bound: past it the socket is paused (TCP flow control). */
const DEFAULT_LIMIT = 4 * 1024 * 1024;

const kConn = Symbol("silly.conn");
type Owned = Wire & { [kConn]: Conn };

/** A flat copy of an ASCII string: a concatenation kept for a connection's life costs its parts too. */
function flat(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
}

// Conn flags (`#bits`): one small integer instead of a field each (idle connections are most connections).
/** close() (or linger, abort) was called. */
const IS_CLOSED = 1;
/** The socket itself has closed. */
const IS_GONE = 2;
/** Reading is paused (receive bound, or the consumer asked). */
const IS_PAUSED = 4;
/** outq holds a buffer worth passing by reference. */
const OUT_BIG = 8;
/** Queued in `dirty` for the end of the poll phase. */
const IS_FLUSHING = 16;

/** The chunk and write queues of a connection holding none: never pushed to (an array of its own is made first). */
const NOBUFS: Buffer[] = [];

export class Conn {
  /** The peer's "ip:port" ("[ip]:port" for IPv6). */
  readonly remoteaddr: string;

  /** @internal The socket underneath: neither applications nor protocol layers touch it. */
  readonly socket: Wire;
  #chunks: Buffer[] = [];
  #offset = 0; // read position inside chunks[0]
  #size = 0; // unread bytes across chunks
  #pending: PendingRead | undefined = undefined;
  #err: string | undefined = undefined; // why reads end: EOF, CLOSED, reset...
  #bits = 0; // IS_CLOSED, IS_GONE, IS_PAUSED, OUT_BIG, IS_FLUSHING
  #max = DEFAULT_LIMIT;
  #outq: Buffer[] = NOBUFS; // queued writes, sent together by flush()
  #outbytes = 0;
  #drainers: ((r: WriteResult) => void)[] | undefined = undefined; // made on first wait
  #consumer: Consumer | undefined = undefined;
  #watcher: Watcher | undefined = undefined;
  // Staged output (see writeinto): slab[runstart, runend) is queued after outq.
  #run: Buffer | undefined = undefined;
  #runstart = 0;
  #runend = 0;
  #linger = -1; // lingering close: bytes still to discard; -1 when not lingering

  /** @internal tcp and tls make conns. */
  constructor(socket: Socket | HandleSocket) {
    this.socket = socket;
    this.remoteaddr = flat(formataddr(socket.remoteAddress, socket.remotePort));
    socket.setNoDelay(true);
    // Shared listeners that find their Conn on the socket: no closures per
    // connection (idle connections are the common case).
    (socket as Wire as Owned)[kConn] = this;
    if (socket instanceof HandleSocket) {
      socket.lend(Conn.#sread); // every read arrives on loan
      socket.on("data", Conn.#sdata); // starts the reads
    } else {
      // Asking for the address made Node cache it: the string above is all we keep.
      releasepeername(socket);
      // The 'data' listener also sets the socket flowing, which starts reads on
      // the fast path too (where reads then go to sread instead).
      socket.on("data", Conn.#sdata);
      usefastread(socket as Socket & Owned, Conn.#sread);
    }
    socket.on("end", Conn.#send);
    socket.on("error", Conn.#serror);
    socket.on("close", Conn.#sclose);
    socket.on("drain", Conn.#sdrain);
  }

  /** The protocol ALPN agreed on (TLS only), e.g. "h2" or "http/1.1". */
  get alpnproto(): string | undefined {
    // A TLS socket has finished its handshake before its Conn is made; the value stays after close.
    return (this.socket as { alpnProtocol?: string | false | null }).alpnProtocol || undefined;
  }

  static #sdata(this: Owned, chunk: Buffer): void {
    const c = this[kConn];
    try {
      c.#ondata(chunk);
    } catch (err) {
      c.#readerfailed(err);
    }
  }
  /** The fast read path: `buf[0..n)` is on loan until we return. */
  static #sread(this: Owned, n: number, buf: Buffer): void {
    const c = this[kConn];
    if ((c.#bits & IS_CLOSED) !== 0) return c.#discard(n); // lingering, or only flushing: nobody reads it
    try {
      const k = c.#consumer;
      if (k !== undefined && k.borrow !== undefined && (c.#bits & IS_CLOSED) === 0) k.borrow(buf, n);
      else {
        const chunk = Buffer.allocUnsafe(n);
        buf.copy(chunk, 0, 0, n);
        c.#ondata(chunk);
      }
    } catch (err) {
      c.#readerfailed(err);
    }
  }
  #readerfailed(err: unknown): void {
    // A protocol layer's bug must cost this connection only, never the process.
    logerror(`conn ${this.remoteaddr}: dropped after an error in its reader`, err);
    this.abort();
  }
  static #send(this: Owned): void {
    const c = this[kConn];
    if (c.#linger >= 0) c.socket.destroySoon(); // the peer is done: a lingering close ends here
    c.#onfinal(EOF);
  }
  static #serror(this: Owned, e: Error): void {
    this[kConn].#onfinal(fromnode(e));
  }
  static #sclose(this: Owned): void {
    const c = this[kConn];
    c.#onfinal(CLOSED);
    c.#bits |= IS_GONE;
    c.#wakedrainers([false, c.#writeerr()]);
  }
  static #sdrain(this: Owned): void {
    this[kConn].#wakedrainers(WRITE_OK);
  }

  // ---- reading ----

  #ondata(chunk: Buffer): void {
    if ((this.#bits & IS_CLOSED) !== 0) return this.#discard(chunk.length); // nobody will read it
    if (this.#consumer !== undefined) {
      this.#consumer.data(chunk);
      return;
    }
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    const p = this.#pending;
    if (p !== undefined) this.#trypending(p);
    if (this.#size >= this.#max && this.#pending === undefined) this.#pause();
    if (this.#watcher !== undefined) this.#watcher.arrived(chunk);
  }

  /** Bytes that arrived after close: dropped; a lingering close gives up past its byte bound. */
  #discard(n: number): void {
    if (this.#linger >= 0 && (this.#linger -= n) < 0) this.socket.destroy();
  }

  #onfinal(err: string): void {
    if (this.#err !== undefined) return;
    this.#err = err;
    if (this.#consumer !== undefined) {
      this.#consumer.end(err);
      return;
    }
    const p = this.#pending;
    if (p !== undefined) this.#finish(p, [undefined, err, this.#takeall()]);
  }

  #pause(): void {
    if ((this.#bits & IS_PAUSED) === 0) {
      this.#bits |= IS_PAUSED;
      this.socket.pause();
    }
  }

  #resume(): void {
    if ((this.#bits & IS_PAUSED) !== 0) {
      this.#bits &= ~IS_PAUSED;
      this.socket.resume();
    }
  }

  /** Take n buffered bytes (n <= size): a subarray when inside one chunk. */
  #take(n: number): Buffer {
    if (n === 0) return EMPTY;
    this.#size -= n;
    let first = this.#chunks[0]!;
    const avail = first.length - this.#offset;
    if (n <= avail) {
      const out = first.subarray(this.#offset, this.#offset + n);
      if (n === avail) {
        this.#chunks.shift();
        this.#offset = 0;
      } else this.#offset += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      first = this.#chunks[0]!;
      const k = Math.min(first.length - this.#offset, n - filled);
      first.copy(out, filled, this.#offset, this.#offset + k);
      filled += k;
      if (this.#offset + k === first.length) {
        this.#chunks.shift();
        this.#offset = 0;
      } else this.#offset += k;
    }
    return out;
  }

  #takeall(): Buffer {
    return this.#take(this.#size);
  }

  /**
   * Bytes through the end of the first delim, or -1 if it is not buffered yet.
   * Walks the chunks in place (no merging), so a long line that arrives in
   * many chunks costs linear time; p.scanned remembers where the search stopped.
   */
  #finddelim(p: PendingRead): number {
    const d = p.delim!;
    const dl = d.length;
    if (this.#size < dl) return -1;
    const from = Math.max(0, p.scanned - dl + 1); // earliest start not yet ruled out
    let base = 0; // position of the chunk's first unread byte, relative to the read position
    for (let i = 0; i < this.#chunks.length; i++) {
      const c = this.#chunks[i]!;
      const lo = i === 0 ? this.#offset : 0;
      const len = c.length - lo;
      if (from < base + len) {
        // A match wholly inside this chunk starts before any that crosses its end.
        const at = c.indexOf(d, lo + Math.max(0, from - base));
        if (at >= 0) return base + (at - lo) + dl;
        for (let s = Math.max(from, base + len - dl + 1); s < base + len; s++) {
          if (this.#matchat(i, lo + (s - base), d)) return s + dl;
        }
      }
      base += len;
    }
    p.scanned = this.#size;
    return -1;
  }

  /** Does d start at byte `pos` of chunk i (continuing into later chunks)? */
  #matchat(i: number, pos: number, d: Buffer): boolean {
    let c = this.#chunks[i]!;
    for (let k = 0; k < d.length; k++, pos++) {
      while (pos >= c.length) {
        if (++i >= this.#chunks.length) return false;
        c = this.#chunks[i]!;
        pos = 0;
      }
      if (c[pos] !== d[k]) return false;
    }
    return true;
  }

  #trypending(p: PendingRead): void {
    if (p.want >= 0) {
      if (this.#size >= p.want) this.#finish(p, [this.#take(p.want), undefined]);
    } else {
      const n = this.#finddelim(p);
      if (n >= 0) this.#finish(p, [this.#take(n), undefined]);
      // No delimiter within the receive bound: fail instead of buffering without
      // end. The bytes stay buffered for read(n).
      else if (this.#size >= this.#max) this.#finish(p, [undefined, MSGSIZE]);
    }
  }

  #finish(p: PendingRead, r: ReadResult): void {
    this.#pending = undefined;
    if (p.timer !== undefined) clearTimeout(p.timer);
    if (this.#size >= this.#max) this.#pause();
    p.resolve(r);
  }

  /**
   * read(n): exactly n bytes. read(delim): bytes through the first delim
   * (included). Waits until they arrive. Fails with [undefined, err, partial]
   * on EOF (errno.EOF), reset, close, or after `timeout` ms (errno.TIMEDOUT,
   * the bytes stay buffered for a later read).
   */
  read(n: number | string | Uint8Array, timeout?: number): Promise<ReadResult> {
    let want = -1;
    let delim: Buffer | undefined;
    if (typeof n === "number") {
      if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`conn.read: n must be an integer >= 0, got ${n}`);
      want = n;
    } else if (typeof n === "string" || n instanceof Uint8Array) {
      delim = typeof n === "string" ? Buffer.from(n) : Buffer.isBuffer(n) ? n : Buffer.from(n.buffer, n.byteOffset, n.byteLength);
      if (delim.length === 0) throw new RangeError("conn.read: delimiter must not be empty");
    } else {
      throw new TypeError("conn.read: expects a byte count or a delimiter");
    }
    if (timeout !== undefined && (typeof timeout !== "number" || !(timeout >= 0))) {
      throw new RangeError(`conn.read: timeout must be a number of ms >= 0, got ${String(timeout)}`);
    }
    if ((this.#bits & IS_CLOSED) !== 0) return Promise.resolve([undefined, CLOSED]);
    if (this.#consumer !== undefined) return Promise.resolve([undefined, "conn.read: connection was taken over by a protocol"]);
    if (this.#pending !== undefined) return Promise.resolve([undefined, "conn.read: another read is pending"]);
    const p: PendingRead = { want, delim, scanned: 0, resolve: noop, timer: undefined };
    // Fast path: the answer is already buffered.
    const ready = want >= 0 ? (this.#size >= want ? want : -1) : this.#finddelim(p);
    if (ready >= 0) {
      const bytes = this.#take(ready);
      if (this.#size < this.#max) this.#resume();
      return Promise.resolve([bytes, undefined]);
    }
    if (this.#err !== undefined) return Promise.resolve([undefined, this.#err, this.#takeall()]);
    if (want < 0 && this.#size >= this.#max) return Promise.resolve([undefined, MSGSIZE]);
    return new Promise<ReadResult>((resolve) => {
      p.resolve = resolve;
      this.#pending = p;
      if (timeout !== undefined) {
        p.timer = setTimeout(() => {
          if (this.#pending === p) {
            this.#pending = undefined;
            if (this.#size >= this.#max) this.#pause();
            resolve([undefined, TIMEDOUT]);
          }
        }, timeout);
      }
      this.#resume();
    });
  }

  /** Bytes received but not yet read. */
  unreadbytes(): number {
    return this.#size;
  }

  /**
   * Bound the receive buffer: past `n` unread bytes the socket stops reading
   * until the application catches up. undefined restores the default.
   */
  limit(n?: number): void {
    if (n !== undefined && (!Number.isSafeInteger(n) || n <= 0)) {
      throw new RangeError(`conn.limit: n must be a positive integer, got ${n}`);
    }
    this.#max = n ?? DEFAULT_LIMIT;
    if (this.#size >= this.#max && this.#pending === undefined) this.#pause();
    else this.#resume();
  }

  // ---- writing ----

  /**
   * Queue bytes for sending. Resolves [true] once accepted; while the socket
   * is over its high-water mark it waits for the drain (backpressure).
   */
  write(data: Data | readonly Data[]): Promise<WriteResult> {
    const refused = this.#refusal();
    if (refused !== undefined) return refused;
    if (Array.isArray(data)) {
      for (const d of data as readonly Data[]) this.#enqueue(d);
    } else this.#enqueue(data as Data);
    return this.#queued();
  }

  /** Why a write would fail now (as write's result), or undefined when it can go ahead. */
  #refusal(): Promise<WriteResult> | undefined {
    if ((this.#bits & (IS_CLOSED | IS_GONE)) !== 0 || this.socket.destroyed || this.socket.writableEnded) {
      return Promise.resolve([false, (this.#bits & IS_CLOSED) !== 0 ? CLOSED : this.#writeerr()]);
    }
    return undefined;
  }

  /** write's result for bytes just queued: schedules the flush, applies backpressure. */
  #queued(): Promise<WriteResult> {
    if ((this.#bits & IS_FLUSHING) === 0) {
      this.#bits |= IS_FLUSHING;
      flushlater(this);
    }
    if (this.socket.writableLength + this.#outbytes < this.socket.writableHighWaterMark) return WRITE_OK_P;
    return new Promise<WriteResult>((resolve) => (this.#drainers ??= []).push(resolve));
  }

  #enqueue(d: Data): void {
    let b: Buffer;
    if (typeof d === "string") b = Buffer.from(d);
    else if (d instanceof Uint8Array) b = Buffer.isBuffer(d) ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    else throw new TypeError("conn.write: data must be a string or a Uint8Array (or an array of them)");
    if (b.length === 0) return;
    if (this.#run !== undefined) this.#closerun(); // keep the order of staged and queued bytes
    if (this.#outq === NOBUFS) this.#outq = [];
    this.#outq.push(b);
    this.#outbytes += b.length;
    if (b.length >= BYREF_MIN) this.#bits |= OUT_BIG;
  }

  /** Queue the open staged run as one buffer (a view of the slab). */
  #closerun(): void {
    const b = (this.#run as Buffer).subarray(this.#runstart, this.#runend);
    this.#run = undefined;
    if (b.length === 0) return;
    if (this.#outq === NOBUFS) this.#outq = [];
    this.#outq.push(b);
    if (b.length >= BYREF_MIN) this.#bits |= OUT_BIG;
  }

  /**
   * Hand the queued writes to the socket as one write: small buffers are
   * copied together, large ones go by reference in one corked writev.
   * @internal protocol.flush, and internal/outflush.ts at the end of the poll phase.
   */
  flush(): void {
    this.#bits &= ~IS_FLUSHING;
    if (this.#run !== undefined) this.#closerun();
    const q = this.#outq;
    if (q.length === 0) return;
    const total = this.#outbytes;
    const big = (this.#bits & OUT_BIG) !== 0;
    this.#outq = NOBUFS;
    this.#outbytes = 0;
    this.#bits &= ~OUT_BIG;
    const sock = this.socket;
    if (sock.destroyed) return;
    if (q.length === 1) sock.write(q[0]!);
    else if (total <= COALESCE_MAX && !big) sock.write(concat(q, 0, q.length, total));
    else {
      sock.cork();
      let i = 0;
      while (i < q.length) {
        // A run of small buffers becomes one copy; a large buffer goes as is.
        let j = i;
        let run = 0;
        while (j < q.length && q[j]!.length < BYREF_MIN && run + q[j]!.length <= COALESCE_MAX) run += q[j++]!.length;
        if (j - i > 1) sock.write(concat(q, i, j, run));
        else {
          sock.write(q[i]!);
          j = i + 1;
        }
        i = j;
      }
      sock.uncork();
    }
    if (!sock.writableNeedDrain) this.#wakedrainers(WRITE_OK);
  }

  /** Why a write cannot go out: the socket's own error, else CLOSED (a peer's EOF is no write error). */
  #writeerr(): string {
    return this.#err === undefined || this.#err === EOF ? CLOSED : this.#err;
  }

  #wakedrainers(r: WriteResult): void {
    const ds = this.#drainers;
    if (ds === undefined || ds.length === 0) return;
    this.#drainers = undefined;
    for (const d of ds) d(r);
  }

  /** Bytes written but not yet handed to the kernel. */
  unsentbytes(): number {
    return this.socket.writableLength + this.#outbytes;
  }

  /** True while the connection is open and neither side has ended it. */
  isalive(): boolean {
    return (this.#bits & (IS_CLOSED | IS_GONE)) === 0 && this.#err === undefined && !this.socket.destroyed;
  }

  /**
   * Close the connection: queued bytes are sent first, then the socket is
   * released. A pending read fails with errno.CLOSED. The first call returns
   * [true] even when the peer had already gone; later calls [false, CLOSED].
   */
  close(): CloseResult {
    if ((this.#bits & IS_CLOSED) !== 0) return [false, CLOSED];
    // While the peer may still be sending, releasing the socket over bytes it
    // has sent and we have not read (in the kernel, or on their way) resets
    // the connection, and a reset makes the peer's kernel drop what we sent
    // that it had not read yet. So FIN first, then read and drop the peer's
    // bytes until its end: a lingering close, within bounds.
    if (this.#err === undefined && (this.#bits & IS_GONE) === 0) {
      this.linger(LINGER_MS, LINGER_BYTES);
      return [true, undefined];
    }
    this.#bits |= IS_CLOSED;
    this.flush();
    this.#onfinal(CLOSED);
    this.socket.destroySoon();
    // A peer that never reads must not hold the socket open forever.
    if ((this.#bits & IS_GONE) === 0) {
      const linger = setTimeout(() => this.socket.destroy(), LINGER_MS);
      linger.unref();
      this.socket.once("close", () => clearTimeout(linger));
    }
    return [true, undefined];
  }

  // ---- the protocol layer: net/protocol.ts documents each of these ----

  /** @internal protocol.takeover */
  takeover(consumer: Consumer): void {
    if (this.#consumer !== undefined) throw new Error("protocol.takeover: the conn was already taken over");
    if (this.#pending !== undefined) throw new Error("protocol.takeover: a read is pending");
    this.#consumer = consumer;
    this.#watcher = undefined;
    if (this.#size > 0) consumer.data(this.#takeall());
    this.#chunks = NOBUFS; // ondata hands every chunk to the consumer from now on
    this.#resume();
    if (this.#err !== undefined) consumer.end(this.#err);
  }

  /** @internal protocol.linger */
  linger(ms: number, bytes: number): void {
    if (!(ms >= 0) || !(bytes >= 0)) throw new RangeError(`protocol.linger: ms and bytes must be numbers >= 0, got ${ms} and ${bytes}`);
    if ((this.#bits & IS_CLOSED) !== 0) return;
    if (this.#err !== undefined || (this.#bits & IS_GONE) !== 0) {
      this.close(); // the peer has stopped sending already
      return;
    }
    this.#bits |= IS_CLOSED;
    this.flush();
    this.#onfinal(CLOSED);
    this.#chunks = NOBUFS;
    this.#offset = 0;
    this.#size = 0;
    this.#linger = bytes;
    this.socket.end(); // FIN once the queued bytes are out
    // Waiting for the peer's end keeps no process alive (the pending writes and the FIN still do).
    this.socket.unref();
    this.#resume(); // keep reading: a peer whose bytes are refused (a reset) may lose what we sent
    const timer = setTimeout(() => this.socket.destroy(), ms);
    timer.unref();
    this.socket.once("close", () => clearTimeout(timer));
  }

  /** @internal protocol.ref */
  ref(on: boolean): void {
    if (on) this.socket.ref();
    else this.socket.unref();
  }

  /** @internal protocol.flowing */
  flowing(on: boolean): void {
    if (this.#consumer === undefined) throw new Error("protocol.flowing: the conn was not taken over");
    if (on) this.#resume();
    else this.#pause();
  }

  /** @internal protocol.watch */
  watch(w: Watcher | undefined): void {
    if (w !== undefined && this.#consumer !== undefined) throw new Error("protocol.watch: the conn was taken over");
    this.#watcher = w;
  }

  /** @internal protocol.writeinto */
  writeinto<A, B>(n: number, encode: Encoder<A, B>, a: A, b: B): Promise<WriteResult> | undefined {
    if (n > STAGE_MAX) return undefined;
    if (!(n > 0) || (n | 0) !== n) throw new RangeError(`protocol.writeinto: n must be an integer > 0, got ${n}`);
    const refused = this.#refusal();
    if (refused !== undefined) return refused;
    // Fill first, reserve after: a declining or throwing encoder leaves nothing to undo.
    if (SLAB - slabtop < n) newslab();
    const buf = slab;
    const at = slabtop;
    if (!encode(buf, at, a, b)) return undefined;
    if (slab !== buf || slabtop !== at) throw new Error("protocol.writeinto: the encoder wrote to a conn itself");
    this.#stage(n);
    return this.#queued();
  }

  /**
   * Reserve the `n` bytes at slabtop (there is room) at the end of the queued
   * output. A conn's consecutive reservations form one run, queued as one view.
   */
  #stage(n: number): void {
    if (this.#run !== slab || this.#runend !== slabtop) {
      if (this.#run !== undefined) this.#closerun();
      this.#run = slab;
      this.#runstart = slabtop;
    }
    slabtop += n;
    this.#runend = slabtop;
    this.#outbytes += n;
  }

  /** @internal internal/outflush.ts: writes are queued and not yet handed to the socket. */
  isflushing(): boolean {
    return (this.#bits & IS_FLUSHING) !== 0;
  }

  /** @internal protocol.abort */
  abort(): void {
    this.#bits |= IS_CLOSED;
    this.#run = undefined;
    this.#outq = NOBUFS;
    this.#outbytes = 0;
    this.#onfinal(CLOSED);
    this.socket.destroy();
  }
}

// Staged output of all connections is carved from one slab at a time, like
// Node's own Buffer pool: each connection's consecutive reservations form one
// run, queued as a view of the slab. A slab lives as long as a view of it is
// unsent; a new one starts when the current one is full.
const SLAB = 16 * 1024;
/** @internal The most writeinto reserves at once: a frame of a 4 KiB payload. */
export const STAGE_MAX = 4096 + 14;
let slab: Buffer = EMPTY; // the first writeinto makes the first slab
let slabtop = SLAB;

function newslab(): void {
  slab = Buffer.allocUnsafeSlow(SLAB);
  slabtop = 0;
}

/** q[i..j) copied into one buffer of `n` bytes. */
function concat(q: Buffer[], i: number, j: number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (let k = i; k < j; k++) {
    const b = q[k]!;
    if (b.length < 64) for (let x = 0; x < b.length; x++) out[at + x] = b[x]!;
    else out.set(b, at);
    at += b.length;
  }
  return out;
}

function noop(): void {}

