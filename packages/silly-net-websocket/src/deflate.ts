// permessage-deflate's compression (RFC 7692 section 7.2) over node:zlib:
// one PerMessageDeflate per connection, called by the protocol with whole
// messages, synchronously.
//
// Why synchronous: zlib's asynchronous API costs a thread-pool round trip per
// message; `bench/deflate.ts` measures ~80 us of CPU per 256-byte message
// that way against 6-8 us inline (10-15x), and 1.5x (compress) to 3-5x
// (inflate) at 16 KiB; it also brings a queue of jobs. Inline there is no
// queue at all: each call finishes before it returns, so messages keep their
// order, one connection's work never interleaves with another's, and the
// process-wide concurrency of zlib work is the one JS thread. (The only jobs
// sent to the thread pool are the context warm-ups below: one per context, at
// most two per connection, once.) The price: a large message holds the event
// loop while it is compressed (~10 ms per MiB at level 6) or inflated
// (bounded by maxpayload).
//
// Two engines, chosen once per process:
// - fast: one zlib stream object per context, driven through its handle's
//   writeSync (what zlib's own *Sync functions use, but without closing the
//   stream afterwards, which context takeover needs). These are Node.js
//   internals: feature-detected by a probe at load, SILLY_FASTZLIB=0 turns
//   them off.
// - public: zlib.deflateRawSync / inflateRawSync, one-shot, each message
//   with the previous window's bytes as the preset dictionary. This yields the
//   same stream as context takeover (a zlib window is nothing but the last
//   2^bits bytes), at the cost of a zlib stream per message (2-3x slower).
//
// Memory. A zlib compressor allocates ~100 KiB at 12 window bits and ~210 KiB
// at 15 (Node's zlib sizes its hash table for 15 bits whatever memLevel <= 8
// says), an inflater ~7 KiB plus its window. Which thread initializes a
// context decides what that costs (`bench/deflate.ts --memory`, RSS per
// connection after one small message each way, 1,000 and 5,000 connections).
// On the main thread the memory comes from the process's much-reused malloc
// arena, is cleared, and is resident at once: ~330 KiB at 15 bits, plus
// 140-300 us of main-thread time for the first message. On a thread-pool
// thread it comes from that thread's arena, largely fresh pages that only
// become resident as messages touch them: 8-170 KiB at 15 bits, 10-80 KiB
// at 12, spread run to run; ws, which initializes on the thread pool too,
// shows 87-237 KiB. So a connection's takeover contexts are created with this
// object and initialized by one empty asynchronous write each (the
// handshake's round trip leaves time for it); a message that comes first gets
// a context initialized inline instead. A direction without context takeover
// keeps nothing between messages: all connections share one context per
// settings (reset after each message), and it costs a connection nothing.
import zlib from "node:zlib";
import { constants as bufconst } from "node:buffer";
import { Utf8Validator, decodeutf8, isvalidutf8 } from "./codec/index.js";
import type { DeflateConfig, DeflateParams, InflateError, MessageDeflate } from "./codec/index.js";

const { Z_SYNC_FLUSH } = zlib.constants;

/** RFC 7692 7.2.1: a sync flush ends with these bytes; the sender strips them, the receiver appends them. */
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** An empty stored block without its LEN/NLEN: what an empty message compresses to (7.2.3.6). */
const EMPTY_BLOCK = Buffer.from([0x00]);

export type CompressResult = [Buffer, undefined] | [undefined, string];
export type TextResult = [string, undefined] | [undefined, InflateError];
export type BinaryResult = [Buffer, undefined] | [undefined, InflateError];

/**
 * zlib's window for the compressor: zlib has no raw-deflate compressor for 8
 * bits and uses 9 (Node.js does the same), which still only reaches 250 bytes
 * back, inside an 8-bit window.
 */
function deflatebits(bits: number): number {
  return bits === 8 ? 9 : bits;
}

// ------------------------------------------------------------ fast engine

/** The internals of a zlib stream object that the fast engine drives. */
interface ZlibHandle {
  writeSync(flush: number, input: Uint8Array, inoff: number, inlen: number, out: Uint8Array, outoff: number, outlen: number): void;
}
interface ZlibInternals {
  _handle: ZlibHandle | null;
  _writeState: Uint32Array;
}
type Stream = (zlib.DeflateRaw | zlib.InflateRaw) & ZlibInternals;

/** Output lands here first; copied out (or decoded) once a call is done. */
const SCRATCH = 64 * 1024;
let scratch: Buffer | undefined; // made on first use
/** Strings up to this many UTF-16 units are encoded into `input` instead of a new Buffer. */
const INPUT_CHARS = 16 * 1024;
let input: Buffer | undefined;

function noop(): void {}

/**
 * A raw deflate or inflate stream object for writeSync. Its own output buffer
 * (chunkSize) is never used: the smallest allowed keeps it at 64 bytes.
 */
function makestream(deflate: boolean, bits: number, config: DeflateConfig | undefined): Stream {
  const zs = (deflate
    ? zlib.createDeflateRaw({ windowBits: deflatebits(bits), memLevel: config?.memlevel, level: config?.level, chunkSize: 64 })
    : zlib.createInflateRaw({ windowBits: bits, chunkSize: 64 })) as Stream;
  // A zlib error destroys the stream and emits 'error' on the next tick; the
  // caller sees it as a null _handle right after writeSync.
  zs.on("error", noop);
  return zs;
}

/**
 * One writeSync pass over `src[off..off+len)` into `out[at..at+room)`.
 * Returns false when zlib failed (the stream is then destroyed); otherwise
 * `state[0]` is the output room left and `state[1]` the input left.
 */
function step(zs: Stream, src: Uint8Array, off: number, len: number, out: Buffer, at: number, room: number): boolean {
  const h = zs._handle;
  if (h === null) return false;
  h.writeSync(Z_SYNC_FLUSH, src, off, len, out, at, room);
  return zs._handle !== null;
}

/** Does the probe round trip through writeSync work on this Node.js? */
function probe(): boolean {
  if (process.env.SILLY_FASTZLIB === "0") return false;
  try {
    const text = Buffer.from("probe probe probe");
    const out = Buffer.alloc(256);
    const d = makestream(true, 15, undefined);
    if (typeof d._handle?.writeSync !== "function" || !(d._writeState instanceof Uint32Array)) return false;
    if (!step(d, text, 0, text.length, out, 0, out.length)) return false;
    const n = out.length - d._writeState[0];
    d.close();
    const back = zlib.inflateRawSync(out.subarray(0, n), { finishFlush: Z_SYNC_FLUSH });
    const i = makestream(false, 15, undefined);
    const out2 = Buffer.alloc(256);
    if (!step(i, out, 0, n, out2, 0, out2.length)) return false;
    const m = out2.length - i._writeState[0];
    i.close();
    return back.equals(text) && out2.subarray(0, m).equals(text);
  } catch {
    return false;
  }
}

/** True when the fast engine is in use (see the top of this file). */
export const fastzlib = probe();

/**
 * A connection's own context (context takeover), initialized off the main
 * thread by an empty asynchronous write (see the top of this file).
 */
class Context {
  private zs: Stream;
  private warm = false;
  /** Resolves once the warm-up write finished (or failed: the context then starts inline). */
  readonly ready: Promise<void>;

  constructor(
    private readonly deflate: boolean,
    private readonly bits: number,
    private readonly config: DeflateConfig | undefined,
  ) {
    const zs = (this.zs = makestream(deflate, bits, config));
    this.ready = new Promise((resolve) => {
      zs.write(EMPTY, () => {
        if (this.zs === zs) this.warm = true;
        resolve();
      });
    });
  }

  /** The stream, free for writeSync: if the warm-up is still running, a fresh one initialized inline. */
  get stream(): Stream {
    if (!this.warm) {
      this.zs.close();
      this.zs = makestream(this.deflate, this.bits, this.config);
      this.warm = true;
    }
    return this.zs;
  }

  close(): void {
    this.zs.close();
  }
}

const EMPTY = Buffer.alloc(0);

/** Contexts shared by every direction without context takeover, by settings. */
const shared = new Map<string, Stream>();

function sharedstream(deflate: boolean, bits: number, config: DeflateConfig): Stream {
  const key = deflate ? `d${bits}/${config.memlevel}/${config.level}` : `i${bits}`;
  let zs = shared.get(key);
  if (zs === undefined || zs._handle === null) {
    zs = makestream(deflate, bits, config);
    shared.set(key, zs);
  }
  return zs;
}

/** Collects output that outgrows the scratch buffer. */
class Spill {
  parts: Buffer[] | undefined = undefined;
  total = 0;

  /** Keeps a copy of scratch[0..n) (the scratch is reused). */
  keep(s: Buffer, n: number): void {
    const b = Buffer.allocUnsafe(n);
    s.copy(b, 0, 0, n);
    (this.parts ??= []).push(b);
    this.total += n;
  }

  /** Everything: the kept parts and scratch[0..n). */
  all(s: Buffer, n: number): Buffer {
    if (this.parts === undefined) {
      const b = Buffer.allocUnsafe(n);
      s.copy(b, 0, 0, n);
      return b;
    }
    this.keep(s, n);
    return Buffer.concat(this.parts, this.total);
  }
}

// ------------------------------------------------------------ public engine

/** The last 2^bits bytes of a direction's data: the window a takeover context would hold. */
class Window {
  private readonly buf: Buffer;
  private len = 0;
  constructor(bits: number) {
    this.buf = Buffer.allocUnsafe(1 << bits);
  }

  get bytes(): Buffer | undefined {
    return this.len === 0 ? undefined : this.buf.subarray(0, this.len);
  }

  push(d: Uint8Array): void {
    const cap = this.buf.length;
    if (d.length >= cap) {
      this.buf.set(d.subarray(d.length - cap));
      this.len = cap;
      return;
    }
    const keep = Math.min(this.len, cap - d.length);
    this.buf.copyWithin(0, this.len - keep, this.len);
    this.buf.set(d, keep);
    this.len = keep + d.length;
  }
}

function errmessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ------------------------------------------------------------ per connection

/**
 * One connection's permessage-deflate: compress what it sends, inflate what
 * it receives, with the parameters the handshake agreed. Every call is
 * synchronous and complete when it returns. After an inflate error the
 * connection must fail (the contexts are mid-message); further calls fail too.
 */
export class PerMessageDeflate implements MessageDeflate {
  private readonly txbits: number; // the window this end compresses with
  private readonly rxbits: number; // the window the peer compresses with
  private readonly txtakeover: boolean;
  private readonly rxtakeover: boolean;
  private readonly threshold: number;
  private readonly maxpayload: number;
  // The bound in force: maxpayload, capped at what a Buffer (binary) or a
  // string (text: at most one character per byte) can hold.
  private readonly maxbytes: number;
  private readonly maxtext: number;
  private readonly tx: Context | undefined; // fast engine, takeover contexts
  private readonly rx: Context | undefined;
  private txwin: Window | undefined = undefined; // public engine, takeover windows, made on first use
  private rxwin: Window | undefined = undefined;
  private utf8: Utf8Validator | undefined = undefined;
  private failed: string | undefined = undefined;
  /**
   * Resolves once this connection's zlib contexts are initialized (off the
   * main thread). Nothing needs to wait for it: calls before that work too.
   */
  readonly ready: Promise<void>;

  constructor(
    role: "server" | "client",
    params: DeflateParams,
    private readonly config: DeflateConfig,
    /** Largest inflated message, in bytes: over it, decompress fails with 1009. */
    maxpayload: number,
  ) {
    const server = role === "server";
    this.txbits = server ? params.servermaxwindowbits : params.clientmaxwindowbits;
    this.rxbits = server ? params.clientmaxwindowbits : params.servermaxwindowbits;
    this.txtakeover = !(server ? params.servernocontexttakeover : params.clientnocontexttakeover);
    this.rxtakeover = !(server ? params.clientnocontexttakeover : params.servernocontexttakeover);
    this.threshold = config.threshold;
    this.maxpayload = maxpayload;
    this.maxbytes = Math.min(maxpayload, bufconst.MAX_LENGTH);
    this.maxtext = Math.min(this.maxbytes, bufconst.MAX_STRING_LENGTH);
    this.tx = fastzlib && this.txtakeover ? new Context(true, this.txbits, config) : undefined;
    this.rx = fastzlib && this.rxtakeover ? new Context(false, this.rxbits, undefined) : undefined;
    this.ready = Promise.all([this.tx?.ready, this.rx?.ready]).then(noop);
  }

  /** Is `data` worth compressing: at least `threshold` bytes? */
  wants(data: Uint8Array | string): boolean {
    const t = this.threshold;
    if (typeof data !== "string") return data.length >= t;
    if (data.length >= t) return true; // a UTF-16 unit is at least one UTF-8 byte
    return data.length * 3 >= t && Buffer.byteLength(data) >= t;
  }

  /**
   * The payload of one data message, compressed (send it with RSV1 on its
   * first frame). `[undefined, why]` only when zlib itself failed (the
   * connection then closes with 1011).
   */
  compress(data: Uint8Array | string): CompressResult {
    if (this.failed !== undefined) return [undefined, this.failed];
    let src: Uint8Array;
    let len: number;
    if (typeof data === "string") {
      if (data.length <= INPUT_CHARS) {
        src = input ??= Buffer.allocUnsafe(INPUT_CHARS * 3);
        len = (src as Buffer).write(data);
      } else {
        src = Buffer.from(data);
        len = src.length;
      }
    } else {
      src = data;
      len = data.length;
    }
    const [out, err] = fastzlib ? this.deflatefast(src, len) : this.deflatepublic(src, len);
    if (out === undefined) return this.fail(err);
    // A sync flush after no new input emits nothing: the empty message is one empty block.
    if (out.length === 0) return [Buffer.from(EMPTY_BLOCK), undefined];
    if (out.length < 4 || out.readUInt32BE(out.length - 4) !== 0x0000ffff) return this.fail("zlib output does not end with a sync flush");
    return [out.subarray(0, out.length - 4), undefined];
  }

  private fail(why: string): [undefined, string] {
    this.failed ??= `permessage-deflate: ${why}`;
    this.close();
    return [undefined, this.failed];
  }

  private deflatefast(src: Uint8Array, len: number): CompressResult {
    const zs = this.tx !== undefined ? this.tx.stream : sharedstream(true, this.txbits, this.config);
    const s = (scratch ??= Buffer.allocUnsafe(SCRATCH));
    const st = zs._writeState;
    const spill = new Spill();
    let off = 0;
    let at = 0;
    for (;;) {
      if (!step(zs, src, off, len, s, at, SCRATCH - at)) return [undefined, "zlib failed to compress"];
      at = SCRATCH - st[0];
      off += len - st[1];
      len = st[1];
      if (st[0] !== 0) break; // room left: all input taken and flushed
      spill.keep(s, at);
      at = 0;
    }
    if (!this.txtakeover) zs.reset();
    return [spill.all(s, at), undefined];
  }

  private deflatepublic(src: Uint8Array, len: number): CompressResult {
    const bits = deflatebits(this.txbits);
    const bytes = src.subarray(0, len);
    const win = this.txtakeover ? (this.txwin ??= new Window(bits)) : undefined;
    const dict = win?.bytes;
    try {
      const out = zlib.deflateRawSync(bytes, {
        windowBits: bits,
        memLevel: this.config.memlevel,
        level: this.config.level,
        finishFlush: Z_SYNC_FLUSH,
        ...(dict === undefined ? {} : { dictionary: dict }),
      });
      win?.push(bytes);
      return [out, undefined];
    } catch (e) {
      return [undefined, errmessage(e)];
    }
  }

  /**
   * Inflates one received compressed message (its payload as one buffer or
   * as the fragments' payloads in order). Text comes back as a checked
   * string. Stops as soon as the output passes maxpayload (1009) or is known
   * not to be UTF-8 (1007), without inflating the rest; bad deflate data is
   * 1002. Any error leaves this object failed: close the connection with it.
   */
  decompress(data: Uint8Array | readonly Uint8Array[], type: "text"): TextResult;
  decompress(data: Uint8Array | readonly Uint8Array[], type: "binary"): BinaryResult;
  decompress(data: Uint8Array | readonly Uint8Array[], type: "text" | "binary"): TextResult | BinaryResult;
  decompress(data: Uint8Array | readonly Uint8Array[], type: "text" | "binary"): TextResult | BinaryResult {
    if (this.failed !== undefined) return [undefined, { code: 1002, reason: this.failed }];
    const parts = data instanceof Uint8Array ? [data] : data;
    const text = type === "text";
    // No bytes at all is not a deflate block (with the trailer it would open
    // a stored block that never ends): take it as an empty message and leave
    // the context alone, so the next message still inflates.
    if (parts.every((b) => b.length === 0)) return text ? ["", undefined] : [Buffer.alloc(0), undefined];
    const r = fastzlib ? this.inflatefast(parts, text) : this.inflatepublic(parts, text);
    if (r[1] !== undefined) {
      this.failed = `permessage-deflate: ${r[1].reason}`;
      this.close();
    }
    return r;
  }

  private inflatefast(parts: readonly Uint8Array[], text: boolean): TextResult | BinaryResult {
    const zs = this.rx !== undefined ? this.rx.stream : sharedstream(false, this.rxbits, this.config);
    const s = (scratch ??= Buffer.allocUnsafe(SCRATCH));
    const utf8 = text ? (this.utf8 ??= new Utf8Validator()) : undefined;
    const spill = new Spill();
    const [at, ended, err] = this.inflateinto(zs, parts, s, spill, utf8);
    // A shared context starts every message clean, whatever happened; so does
    // any context after the peer ended its stream (BFINAL, 7.2.3.4).
    if ((ended || !this.rxtakeover) && zs._handle !== null) zs.reset();
    if (err !== undefined) return [undefined, err];
    if (utf8 === undefined) return [spill.all(s, at), undefined];
    if (!utf8.finish()) return [undefined, { code: 1007, reason: "invalid UTF-8 in text message (ends inside a character)" }];
    if (spill.parts === undefined) return [decodeutf8(s, 0, at), undefined];
    const all = spill.all(s, at);
    return [decodeutf8(all, 0, all.length), undefined];
  }

  /**
   * Feeds the parts and the trailer to `zs`; output goes to `s`, spilling
   * when it fills. Returns the bytes left in `s`, whether the peer's stream
   * ended, and the error that stopped it.
   */
  private inflateinto(zs: Stream, parts: readonly Uint8Array[], s: Buffer, spill: Spill, utf8: Utf8Validator | undefined): [number, boolean, InflateError | undefined] {
    const st = zs._writeState;
    const max = utf8 === undefined ? this.maxbytes : this.maxtext;
    utf8?.reset();
    let total = 0; // bytes inflated so far
    let at = 0; // of them, in the scratch buffer
    for (let p = 0; p <= parts.length; p++) {
      const src = p < parts.length ? parts[p] : TRAILER;
      let off = 0;
      let len = src.length;
      if (len === 0) continue;
      for (;;) {
        // At most one byte past the bound: enough to know it was passed.
        const room = Math.min(SCRATCH - at, max + 1 - total);
        if (!step(zs, src, off, len, s, at, room)) return [at, false, { code: 1002, reason: "invalid compressed data" }];
        const have = room - st[0];
        if (utf8 !== undefined && have > 0 && !utf8.push(s, at, at + have)) {
          return [at, false, { code: 1007, reason: "invalid UTF-8 in text message" }];
        }
        at += have;
        total += have;
        if (total > max) return [at, false, this.toobig()];
        off += len - st[1];
        len = st[1];
        if (st[0] === 0) {
          // The scratch is full (the bound was not reached): go on, even
          // with no input left, as output may still be pending.
          spill.keep(s, at);
          at = 0;
          continue;
        }
        // Room left with input left: the peer ended its stream; the rest is ignored.
        if (len > 0) return [at, true, undefined];
        break;
      }
    }
    return [at, false, undefined];
  }

  private inflatepublic(parts: readonly Uint8Array[], text: boolean): TextResult | BinaryResult {
    const win = this.rxtakeover ? (this.rxwin ??= new Window(this.rxbits)) : undefined;
    const dict = win?.bytes;
    let out: Buffer;
    try {
      out = zlib.inflateRawSync(Buffer.concat([...parts, TRAILER]), {
        windowBits: this.rxbits,
        finishFlush: Z_SYNC_FLUSH,
        maxOutputLength: Math.max(1, text ? this.maxtext : this.maxbytes),
        ...(dict === undefined ? {} : { dictionary: dict }),
      });
    } catch (e) {
      if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
        return [undefined, this.toobig()];
      }
      return [undefined, { code: 1002, reason: "invalid compressed data" }];
    }
    if (out.length > (text ? this.maxtext : this.maxbytes)) return [undefined, this.toobig()];
    if (text && !isvalidutf8(out)) return [undefined, { code: 1007, reason: "invalid UTF-8 in text message" }];
    win?.push(out);
    return text ? [decodeutf8(out, 0, out.length), undefined] : [out, undefined];
  }

  private toobig(): InflateError {
    return { code: 1009, reason: `inflated message exceeds maxpayload (${this.maxpayload} bytes)` };
  }

  /** Releases this connection's contexts (idempotent). */
  close(): void {
    this.tx?.close();
    this.rx?.close();
    this.txwin = undefined;
    this.rxwin = undefined;
  }
}
