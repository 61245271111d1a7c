// RFC 6455 section 5 framing, sans-I/O: bytes in -> messages out (FrameParser),
// message in -> bytes out (encodeframe / encodemessage). No sockets here.
//
// Decisions (see also "Strictness" in docs/websocket.md):
// - Any violation fails the parser once with 1002 (protocol), 1007 (bad UTF-8)
//   or 1009 (too big) through `sink.error`; afterwards it ignores input.
// - Non-minimal length encodings of data frames (e.g. 5 in the 16-bit form) are
//   accepted: RFC 5.2 obliges senders, and rejecting them protects nothing.
//   Control frames must use the 7-bit form (126/127 there is 1002), as in `ws`.
// - maxpayload applies to every frame and to the running total of a fragmented
//   message; it is checked from the header, before any payload is buffered.
// - More than maxfragments frames in one message fails with 1009 (the message is
//   too big in frames, the same remedy as in bytes); Infinity disables it.
// - close frames are checked here (1-byte payload / bad code -> 1002, bad UTF-8
//   reason -> 1007) and delivered as the raw payload Buffer; the socket reads
//   code and reason from it with `decodeclose`, which cannot fail by then.
// - After a close frame the parser keeps parsing; the socket decides to stop
//   (it may call `stop()` from inside `message`; the rest of the chunk is dropped).
// - With `rsv1allowed` (permessage-deflate was negotiated, RFC 7692 section 6),
//   RSV1 on the first frame of a data message marks it compressed: its frames
//   are reassembled without UTF-8 checks and delivered through
//   `sink.compressed` for the caller to inflate. RSV1 on a control frame or a
//   continuation frame is 1002; RSV2/RSV3 are always 1002.
// - The sink must not throw and must not call `push` from inside a callback.
import { keyat, maskkey, unmask, unmaskascii, writekey } from "./mask.js";
import { Utf8Validator, decodeascii, decodeutf8, isascii, isvalidutf8 } from "./utf8.js";
import { validclosecode } from "./closecode.js";
import { constants } from "node:buffer";

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

import type { MessageType } from "./types.js";
export type { MessageType };

export interface ParserOptions {
  /** "server" expects masked frames (from clients), "client" unmasked ones. */
  role: "server" | "client";
  /** Largest frame payload and largest reassembled message, in bytes. */
  maxpayload: number;
  /** Most frames one message may span (>= 1; Infinity for no limit). */
  maxfragments: number;
  /**
   * Opt-in: decode a run of small (<= 125 byte) ASCII text frames from one
   * chunk as one string and hand out slices of it. Parses pipelined small text
   * ~30% faster (one native string call per run instead of per frame), but a
   * message string kept alive keeps its run (at most 2 KiB) alive too, because
   * V8 slices reference their parent. Default false.
   */
  slicetext?: boolean;
  /**
   * permessage-deflate was negotiated: RSV1 on a text or binary frame that
   * starts a message marks the message compressed (delivered to
   * `sink.compressed`). Default false: any RSV bit is a 1002.
   */
  rsv1allowed?: boolean;
}

export interface ParserSink {
  /**
   * One whole message: text -> string; binary, ping, pong, close -> Buffer (the
   * raw payload; for close, already checked, decode it with `decodeclose`).
   * A Buffer may be a view into a pushed chunk. Must not throw.
   */
  message(type: MessageType, data: string | Buffer): void;
  /**
   * A whole compressed message (`rsv1allowed` only; required then): its
   * payload as received, reassembled and unmasked but neither inflated nor
   * checked as UTF-8. May be a view into a pushed chunk. Must not throw.
   */
  compressed?(type: "text" | "binary", data: Buffer): void;
  /** A protocol violation: the close code to send (1002, 1007, 1009) and why. Called once. */
  error(code: number, reason: string): void;
}

const EMPTY = Buffer.alloc(0);

// FrameParser bits: one small integer instead of a field each (every idle connection has a parser).
/** An error was reported or stop() was called. */
const DEAD = 1;
/** The frame whose header was parsed last has FIN set... */
const FIN = 2;
/** ...and RSV1. */
const RSV1 = 4;

/** A fragmented message being received. */
interface Fragmented {
  /** OP_TEXT or OP_BINARY. */
  readonly op: number;
  /** RSV1 was set on its first frame. */
  readonly compressed: boolean;
  /** Its non-empty payloads so far (views into chunks; the one copy is the final concat). */
  readonly parts: Buffer[];
  /** Their bytes. */
  total: number;
  /** Its frames so far. */
  frames: number;
}

/** slicetext's deferred messages: [start, end) pairs in `at`, `n` of them, all in `b`. */
interface TextRun {
  b: Buffer | undefined;
  readonly at: Int32Array;
  n: number;
}

// slicetext runs: at most this many frames, spanning at most this many bytes.
const RUN_MAX = 64;
const RUN_BYTES = 2048;

/** Header bytes implied by the second header byte: 2 + extended length + mask key. */
function headerlen(b1: number): number {
  const l7 = b1 & 0x7f;
  return 2 + (l7 < 126 ? 0 : l7 === 126 ? 2 : 8) + ((b1 & 0x80) >>> 5);
}

/** What a parser derives from its options: shared by every parser made with the same options object. */
interface Limits {
  readonly server: boolean;
  readonly maxpayload: number;
  // maxpayload capped at what a Buffer / a string can hold, so even
  // `maxpayload: Infinity` fails with 1009 instead of throwing from push.
  readonly maxbytes: number;
  readonly maxtext: number;
  readonly maxfragments: number;
  readonly slicing: boolean;
  readonly rsv1allowed: boolean;
}

const limitsof = new WeakMap<ParserOptions, Limits>();

function limits(opts: ParserOptions): Limits {
  let l = limitsof.get(opts);
  if (l === undefined) {
    const maxbytes = Math.min(opts.maxpayload, constants.MAX_LENGTH);
    l = {
      server: opts.role === "server",
      maxpayload: opts.maxpayload,
      maxbytes,
      maxtext: Math.min(maxbytes, constants.MAX_STRING_LENGTH),
      maxfragments: opts.maxfragments,
      slicing: opts.slicetext === true,
      rsv1allowed: opts.rsv1allowed === true,
    };
    limitsof.set(opts, l);
  }
  return l;
}

/**
 * The chunk being parsed when it is on loan. One for all parsers (a push runs
 * to its end before another starts; push saves and restores it all the same)
 * instead of a field in each.
 */
let loan: Buffer | undefined = undefined;

/** `b[s..e)` as a Buffer, without a new view when it already is the whole of `b`. */
function view(b: Buffer, s: number, e: number): Buffer {
  return s === 0 && e === b.length ? b : b.subarray(s, e);
}

/**
 * Incremental frame parser. `push` unmasks payloads in place. A chunk pushed
 * as its own becomes the parser's: messages may be views into it, so the
 * caller must not reuse its memory. A chunk pushed on loan is only read
 * during the call (what is kept is copied). Parsers made with the same
 * options object share what they derive from it (pass one object to many
 * parsers: idle connections are the common case, and each field counts).
 */
export class FrameParser {
  private readonly limits: Limits;
  private readonly sink: ParserSink;
  private bits = 0; // DEAD; FIN and RSV1 of the frame whose header was parsed last

  // The frame whose header was parsed last (masked when the parser is a
  // server's: first() refuses anything else).
  private op = 0;
  private key = 0;
  private plen = 0;

  // A header split across chunks: its first `hlen` bytes.
  // Allocated on first need: most connections never see a header cut in two.
  private hdr: Buffer | undefined = undefined;
  private hlen = 0;

  // A payload split across chunks: allocated once at its announced length.
  private payload: Buffer | undefined = undefined;
  private filled = 0;

  // The fragmented message in progress, made at its first frame: idle
  // connections hold none. Its text is checked as it arrives by `utf8`.
  private msg: Fragmented | undefined = undefined;
  private utf8: Utf8Validator | undefined = undefined;

  // slicetext only: ASCII text frames decoded but not yet delivered.
  private readonly run: TextRun | undefined;

  constructor(opts: ParserOptions, sink: ParserSink) {
    this.limits = limits(opts);
    this.sink = sink;
    if (this.limits.rsv1allowed && typeof sink.compressed !== "function") {
      throw new TypeError("FrameParser: rsv1allowed needs a sink with a compressed() method");
    }
    this.run = this.limits.slicing ? { b: undefined, at: new Int32Array(2 * RUN_MAX), n: 0 } : undefined;
  }

  /** True once an error was reported or `stop` was called. */
  get stopped(): boolean {
    return (this.bits & DEAD) !== 0;
  }

  /** Ignore all further input (e.g. after a close frame) and drop buffered data. */
  stop(): void {
    this.bits |= DEAD;
    this.payload = undefined;
    this.msg = undefined;
    if (this.run !== undefined) {
      this.run.n = 0;
      this.run.b = undefined;
    }
  }

  /**
   * Parses every complete frame in `chunk[0..len)` (the whole chunk by
   * default); keeps a partial remainder for the next push. `loaned`: the
   * chunk's memory is reused once push returns, so messages that would be
   * views into it are copied out (strings never are).
   */
  push(chunk: Buffer, loaned = false, len = chunk.length): void {
    const outer = loan;
    loan = loaned ? chunk : undefined;
    try {
      this.parse(chunk, len);
      if (this.pending()) this.flush();
    } finally {
      loan = outer;
    }
  }

  /**
   * Payload bytes kept for the unfinished data message, its fragments so far
   * and the frame being filled: what a peer that stops mid-message makes the
   * parser hold. 0 once stopped.
   */
  get held(): number {
    if ((this.bits & DEAD) !== 0) return 0;
    return (this.msg === undefined ? 0 : this.msg.total) + (this.payload !== undefined && this.op < 8 ? this.filled : 0);
  }

  /** A frame or a fragmented message has begun and not ended. */
  get busy(): boolean {
    return (this.bits & DEAD) === 0 && (this.hlen > 0 || this.payload !== undefined || this.msg !== undefined);
  }

  /** `b[s..e)` to hand out: a view, or a copy when b is a loaned chunk. */
  private keep(b: Buffer, s: number, e: number): Buffer {
    if (b !== loan) return view(b, s, e);
    const out = Buffer.allocUnsafe(e - s);
    b.copy(out, 0, s, e);
    return out;
  }

  /** Parses chunk[0..len). */
  private parse(chunk: Buffer, len: number): void {
    if ((this.bits & DEAD) !== 0 || len === 0) return;
    let pos = 0;
    if (this.payload !== undefined) {
      pos = this.fill(chunk, len);
      if (this.payload !== undefined || (this.bits & DEAD) !== 0) return;
    } else if (this.hlen > 0) {
      pos = this.fillheader(chunk, len);
      if (this.hlen > 0 || (this.bits & DEAD) !== 0) return;
      pos = this.begin(chunk, pos, len);
      if (this.payload !== undefined || (this.bits & DEAD) !== 0) return;
    }
    while (pos < len) {
      const avail = len - pos;
      if (avail < 2) {
        this.stash(chunk, pos, len);
        return;
      }
      const hl = headerlen(chunk[pos + 1]);
      if (avail < hl) {
        this.stash(chunk, pos, len);
        return;
      }
      if (!this.header(chunk, pos)) return;
      pos = this.begin(chunk, pos + hl, len);
      if (this.payload !== undefined || (this.bits & DEAD) !== 0) return;
    }
  }

  /** Keeps the start of a header that the chunk cut off; checks what it can already. */
  private stash(chunk: Buffer, pos: number, len: number): void {
    const n = len - pos;
    const h = (this.hdr ??= Buffer.alloc(14));
    chunk.copy(h, 0, pos, len);
    this.hlen = n;
    if (n >= 2) this.first(h[0], h[1]);
  }

  /** Completes a stashed header from `chunk`; returns the bytes used. Leaves hlen 0 when done. */
  private fillheader(chunk: Buffer, n: number): number {
    const h = this.hdr as Buffer;
    let i = 0;
    if (this.hlen < 2) {
      h[this.hlen++] = chunk[i++];
      if (this.hlen < 2) return i;
      if (!this.first(h[0], h[1])) return i;
    }
    const need = headerlen(h[1]);
    while (this.hlen < need && i < n) h[this.hlen++] = chunk[i++];
    if (this.hlen < need) return i;
    this.hlen = 0;
    this.header(h, 0);
    return i;
  }

  /** Handles the payload of the parsed header starting at `chunk[s]`; returns the new position. */
  private begin(chunk: Buffer, s: number, len: number): number {
    const plen = this.plen;
    if (len - s >= plen) {
      this.frame(chunk, s, s + plen);
      return s + plen;
    }
    // Spans chunks: one buffer at the announced length (already checked against
    // maxpayload), filled by copying, so no concat later.
    const p = Buffer.allocUnsafe(plen);
    chunk.copy(p, 0, s, len);
    this.filled = len - s;
    this.payload = p;
    return len;
  }

  /** Copies more of a spanning payload; delivers it when complete. Returns the bytes used. */
  private fill(chunk: Buffer, len: number): number {
    const p = this.payload as Buffer;
    const n = Math.min(p.length - this.filled, len);
    chunk.copy(p, this.filled, 0, n);
    this.filled += n;
    if (this.filled === p.length) {
      this.payload = undefined;
      this.frame(p, 0, p.length);
    }
    return n;
  }

  private fail(code: number, reason: string): false {
    if (this.pending()) this.flush(); // messages before the bad frame come first
    if ((this.bits & DEAD) === 0) {
      this.stop();
      this.sink.error(code, reason);
    }
    return false;
  }

  /** Delivers a message after any deferred text, unless the sink stopped the parser meanwhile. */
  private emit(type: MessageType, data: string | Buffer): void {
    if (this.pending()) {
      this.flush();
      if ((this.bits & DEAD) !== 0) return;
    }
    this.sink.message(type, data);
  }

  /** Delivers a compressed message, in order after any deferred text. */
  private emitcompressed(op: number, data: Buffer): void {
    if (this.pending()) {
      this.flush();
      if ((this.bits & DEAD) !== 0) return;
    }
    (this.sink as Required<ParserSink>).compressed(op === OP_TEXT ? "text" : "binary", data);
  }

  /** Queues a small ASCII text message for a run-wide decode (slicetext). */
  private defer(b: Buffer, s: number, e: number): void {
    const r = this.run as TextRun;
    let n = r.n;
    if (n > 0 && (b !== r.b || e - r.at[0] > RUN_BYTES || n === RUN_MAX)) {
      this.flush();
      if ((this.bits & DEAD) !== 0) return;
      n = 0;
    }
    if (n === 0) r.b = b;
    r.at[2 * n] = s;
    r.at[2 * n + 1] = e;
    r.n = n + 1;
  }

  /** Deferred text is waiting (slicetext). */
  private pending(): boolean {
    return this.run !== undefined && this.run.n > 0;
  }

  /** Delivers the deferred text: one decode for the run, a slice per message. */
  private flush(): void {
    const r = this.run as TextRun;
    const n = r.n;
    const b = r.b as Buffer;
    const runs = r.at;
    r.n = 0;
    r.b = undefined;
    if (n === 1) {
      this.sink.message("text", decodeascii(b, runs[0], runs[1]));
      return;
    }
    const base = runs[0];
    const str = decodeascii(b, base, runs[2 * n - 1]);
    for (let i = 0; i < n && (this.bits & DEAD) === 0; i++) {
      this.sink.message("text", str.slice(runs[2 * i] - base, runs[2 * i + 1] - base));
    }
  }

  /** Checks the two fixed header bytes and records opcode, FIN and MASK. */
  private first(b0: number, b1: number): boolean {
    const op = b0 & 0x0f;
    if ((b0 & 0x70) !== 0 && !this.rsvok(b0, op)) return false;
    const fin = (b0 & 0x80) !== 0;
    if (op >= 8) {
      if (op > OP_PONG) return this.fail(1002, `unknown opcode 0x${op.toString(16)}`);
      if (!fin) return this.fail(1002, "fragmented control frame");
      if ((b1 & 0x7f) > 125) return this.fail(1002, "control frame payload over 125 bytes");
    } else if (op > OP_BINARY) {
      return this.fail(1002, `unknown opcode 0x${op.toString(16)}`);
    } else if (op === OP_CONTINUATION) {
      if (this.msg === undefined) return this.fail(1002, "continuation frame without a message in progress");
    } else if (this.msg !== undefined) {
      return this.fail(1002, "new data frame while a fragmented message is in progress");
    }
    const masked = (b1 & 0x80) !== 0;
    const server = this.limits.server;
    if (masked !== server) {
      return this.fail(1002, server ? "unmasked frame from a client" : "masked frame from a server");
    }
    this.op = op;
    this.bits = (this.bits & ~(FIN | RSV1)) | (fin ? FIN : 0) | ((b0 & 0x40) !== 0 ? RSV1 : 0);
    return true;
  }

  /** RSV bits are set: only RSV1 on the first frame of a data message, with permessage-deflate (RFC 7692 6). */
  private rsvok(b0: number, op: number): boolean {
    if (!this.limits.rsv1allowed) return this.fail(1002, "RSV1/RSV2/RSV3 set but no extension was negotiated");
    if ((b0 & 0x30) !== 0) return this.fail(1002, "RSV2/RSV3 set but no extension was negotiated that defines them");
    if (op >= 8) return this.fail(1002, "RSV1 set on a control frame");
    if (op === OP_CONTINUATION) return this.fail(1002, "RSV1 set on a continuation frame");
    return true;
  }

  /** Parses a complete header at `b[o]`: checks, length, limits, mask key. */
  private header(b: Buffer, o: number): boolean {
    const b1 = b[o + 1];
    if (!this.first(b[o], b1)) return false;
    let plen = b1 & 0x7f;
    let p = o + 2;
    if (plen === 126) {
      plen = (b[p] << 8) | b[p + 1];
      p += 2;
    } else if (plen === 127) {
      const hi = ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
      if (hi >= 0x80000000) return this.fail(1002, "64-bit payload length with the most significant bit set");
      // Exact up to 2^53; anything that large fails maxpayload below anyway.
      plen = hi * 0x100000000 + (((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0);
      p += 8;
    }
    const op = this.op;
    const l = this.limits;
    if (op === OP_CONTINUATION) {
      const m = this.msg as Fragmented;
      if (m.frames >= l.maxfragments) {
        return this.fail(1009, `message has more than ${l.maxfragments} fragments`);
      }
      if (plen > (m.op === OP_TEXT ? l.maxtext : l.maxbytes) - m.total) {
        return this.fail(1009, `message exceeds maxpayload (${l.maxpayload} bytes)`);
      }
    } else if (plen > (op === OP_TEXT ? l.maxtext : l.maxbytes)) {
      return this.fail(1009, `frame payload of ${plen} bytes exceeds maxpayload (${l.maxpayload} bytes)`);
    }
    this.plen = plen;
    this.key = this.limits.server ? keyat(b, p) : 0;
    return true;
  }

  /** A complete frame payload at `b[s..e)`, still masked. */
  private frame(b: Buffer, s: number, e: number): void {
    const op = this.op;
    const masked = this.limits.server;
    const fin = (this.bits & FIN) !== 0;
    if (fin && (this.bits & RSV1) !== 0) {
      // A whole compressed message in one frame (rsvok allowed RSV1 on text and binary only).
      if (masked) unmask(b, s, e, this.key);
      this.emitcompressed(op, this.keep(b, s, e));
      return;
    }
    if (fin && op === OP_TEXT) {
      // The hot path: a whole text message in one frame. Unmask and test for
      // ASCII in one pass; ASCII decodes as latin1 with no further validation.
      const ascii = masked ? unmaskascii(b, s, e, this.key) : e - s < 128 && isascii(b, s, e);
      if (ascii) {
        if (this.limits.slicing && e - s <= 125) this.defer(b, s, e);
        else this.emit("text", decodeascii(b, s, e));
      } else if (isvalidutf8(b, s, e)) this.emit("text", decodeutf8(b, s, e));
      else this.fail(1007, "invalid UTF-8 in text message");
      return;
    }
    if (masked) unmask(b, s, e, this.key);
    if (fin && op === OP_BINARY) {
      this.emit("binary", this.keep(b, s, e));
      return;
    }
    if (op >= 8) {
      this.control(op, b, s, e);
      return;
    }
    this.fragment(op, b, s, e);
  }

  private control(op: number, b: Buffer, s: number, e: number): void {
    if (op === OP_PING) this.emit("ping", this.keep(b, s, e));
    else if (op === OP_PONG) this.emit("pong", this.keep(b, s, e));
    else {
      const n = e - s;
      if (n === 1) {
        this.fail(1002, "close frame with a 1-byte payload");
        return;
      }
      if (n >= 2) {
        const code = (b[s] << 8) | b[s + 1];
        if (!validclosecode(code)) {
          this.fail(1002, `invalid close code ${code}`);
          return;
        }
        if (!isvalidutf8(b, s + 2, e)) {
          this.fail(1007, "invalid UTF-8 in close reason");
          return;
        }
      }
      this.emit("close", this.keep(b, s, e));
    }
  }

  /** One frame of a fragmented data message (first, middle or last). */
  private fragment(op: number, b: Buffer, s: number, e: number): void {
    let m = this.msg;
    if (m === undefined) {
      const compressed = (this.bits & RSV1) !== 0;
      m = this.msg = { op, compressed, parts: [], total: 0, frames: 0 };
      if (op === OP_TEXT && !compressed) (this.utf8 ??= new Utf8Validator()).reset();
    }
    m.frames++;
    m.total += e - s;
    // Text is validated piece by piece so a bad sequence fails before the rest
    // arrives (compressed text is validated once inflated).
    if (m.op === OP_TEXT && !m.compressed && !(this.utf8 as Utf8Validator).push(b, s, e)) {
      this.fail(1007, `invalid UTF-8 in text message (fragment ${m.frames})`);
      return;
    }
    if (e > s) m.parts.push(this.keep(b, s, e));
    if ((this.bits & FIN) === 0) return;
    this.msg = undefined;
    const parts = m.parts;
    const data = parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0] : Buffer.concat(parts, m.total);
    if (m.compressed) this.emitcompressed(m.op, data);
    else if (m.op === OP_TEXT) {
      if (!(this.utf8 as Utf8Validator).finish()) {
        this.fail(1007, "invalid UTF-8 in text message (ends inside a character)");
        return;
      }
      this.emit("text", decodeutf8(data, 0, data.length));
    } else {
      this.emit("binary", data);
    }
  }
}

// ---------------------------------------------------------------- encoder

/** Payloads below this are copied behind the header into one buffer (one write). */
const SMALL = 4096;
/**
 * Strings up to this many characters are copied by a JS loop while they are
 * ASCII, saving Buffer.byteLength and the native write (measured ~35% faster
 * for 32 characters; even at ~64).
 */
const ASCII_JS_MAX = 40;
/** encodemessage sends data messages of this many bytes or more (64 KiB) fragmented... */
export const FRAGMENT = 65536;
/** ...in frames of at most this many bytes, so each length fits the 16-bit form. */
export const FRAGMENT_SIZE = 65535;

function framelen(len: number, mask: boolean): number {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + (mask ? 4 : 0);
}

/** Writes a header into `b` at 0; returns its length. */
function putheader(b: Buffer, opcode: number, fin: boolean, len: number, mask: boolean, key: number): number {
  b[0] = (fin ? 0x80 : 0) | opcode;
  const m = mask ? 0x80 : 0;
  let p: number;
  if (len < 126) {
    b[1] = m | len;
    p = 2;
  } else if (len < 65536) {
    b[1] = m | 126;
    b[2] = len >>> 8;
    b[3] = len & 255;
    p = 4;
  } else {
    b[1] = m | 127;
    const hi = Math.floor(len / 0x100000000);
    const lo = len >>> 0;
    b[2] = hi >>> 24;
    b[3] = hi >>> 16;
    b[4] = hi >>> 8;
    b[5] = hi;
    b[6] = lo >>> 24;
    b[7] = lo >>> 16;
    b[8] = lo >>> 8;
    b[9] = lo;
    p = 10;
  }
  if (mask) {
    writekey(b, p, key);
    p += 4;
  }
  return p;
}

/**
 * Bytes of the single unmasked frame `encodeinto` would write for `payload`,
 * or -1 when it does not encode in place: strings over 40 characters, byte
 * payloads of 4 KiB and more (those take encodemessage's paths).
 */
export function stagedsize(payload: Uint8Array | string): number {
  const n = payload.length;
  if (typeof payload === "string") return n <= ASCII_JS_MAX ? 2 + n : -1;
  return n < SMALL ? framelen(n, false) + n : -1;
}

/**
 * Writes one unmasked, final frame at `dst[at..]`, `stagedsize(payload)`
 * bytes: the server's small messages, encoded straight into the output.
 * Returns false, having written garbage, for a string that is not ASCII:
 * the caller then encodes it with encodemessage.
 */
export function encodeinto(dst: Buffer, at: number, opcode: number, payload: Uint8Array | string): boolean {
  const n = payload.length;
  if (typeof payload === "string") {
    dst[at] = 0x80 | opcode;
    dst[at + 1] = n;
    const o = at + 2;
    for (let i = 0; i < n; i++) {
      const c = payload.charCodeAt(i);
      if (c >= 0x80) return false;
      dst[o + i] = c;
    }
    return true;
  }
  const hl = n < 126 ? 2 : 4;
  dst[at] = 0x80 | opcode;
  if (hl === 2) dst[at + 1] = n;
  else {
    dst[at + 1] = 126;
    dst[at + 2] = n >>> 8;
    dst[at + 3] = n & 255;
  }
  if (n < 64) for (let i = 0; i < n; i++) dst[at + hl + i] = payload[i]!;
  else dst.set(payload, at + hl);
  return true;
}

function asbuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * One frame. Returns a single Buffer (header + payload) when the payload is a
 * string, is masked (masking needs a copy anyway, so the header rides along) or
 * is under 4 KiB; otherwise [header, payload] so the caller can writev the
 * caller's bytes without a copy. The caller's buffer is never modified.
 * `rsv1` sets RSV1 (permessage-deflate: the first frame of a compressed message).
 */
export function encodeframe(
  opcode: number,
  payload: Uint8Array | string,
  fin: boolean,
  mask: boolean,
  rsv1 = false,
): Buffer | [Buffer, Buffer] {
  const key = mask ? maskkey() : 0;
  if (rsv1) opcode |= 0x40; // putheader writes the opcode byte's low bits as given
  if (typeof payload === "string") {
    const n = payload.length;
    if (n <= ASCII_JS_MAX) {
      const hl = mask ? 6 : 2;
      const b = Buffer.allocUnsafe(hl + n);
      let i = 0;
      for (; i < n; i++) {
        const c = payload.charCodeAt(i);
        if (c >= 0x80) break;
        b[hl + i] = c;
      }
      if (i === n) {
        putheader(b, opcode, fin, n, mask, key);
        if (mask) unmask(b, hl, hl + n, key);
        return b;
      }
      // Not ASCII: encode below (the small buffer is dropped).
    }
    const len = Buffer.byteLength(payload);
    const b = Buffer.allocUnsafe(framelen(len, mask) + len);
    const hl = putheader(b, opcode, fin, len, mask, key);
    b.write(payload, hl);
    if (mask) unmask(b, hl, hl + len, key);
    return b;
  }
  const len = payload.length;
  if (mask || len < SMALL) {
    const b = Buffer.allocUnsafe(framelen(len, mask) + len);
    const hl = putheader(b, opcode, fin, len, mask, key);
    b.set(payload, hl);
    if (mask) unmask(b, hl, hl + len, key);
    return b;
  }
  const h = Buffer.allocUnsafe(framelen(len, false));
  putheader(h, opcode, fin, len, false, 0);
  return [h, asbuffer(payload)];
}

/**
 * The UTF-8 length of `s`, or a bound on it when that bound already proves
 * it is at most `max` (a UTF-16 unit is at most 3 UTF-8 bytes): short
 * messages skip the native byteLength call.
 */
function stringbytes(s: string, max: number): number {
  return s.length * 3 <= max ? s.length : Buffer.byteLength(s);
}

/** The opcode of a message type, or -1 when `type` names none (no throw: for checking input). */
export function typeopcode(type: string): number {
  switch (type) {
    case "text":
      return OP_TEXT;
    case "binary":
      return OP_BINARY;
    case "ping":
      return OP_PING;
    case "pong":
      return OP_PONG;
    case "close":
      return OP_CLOSE;
    default:
      return -1;
  }
}

/** The opcode of a message type; a TypeError for anything else. */
export function opcodeof(type: MessageType): number {
  const op = typeopcode(type);
  if (op < 0) throw new TypeError(`unknown message type ${String(type)}`);
  return op;
}

/**
 * A whole message as the buffers to write, in order. Data messages over 64 KiB
 * are split into 64 KiB frames (the first carries the opcode, the rest are
 * continuations, the last has FIN). Control payloads over 125 bytes throw a
 * RangeError (a programmer error; the socket checks first and returns an error
 * value). A close payload is taken as is: build it with `encodeclose`.
 * `compressed`: the payload is permessage-deflate output; RSV1 goes on the
 * first frame only (RFC 7692 section 6). A compressed control message throws
 * a RangeError.
 */
export function encodemessage(type: MessageType, payload: Uint8Array | string, mask: boolean, compressed = false): Buffer[] {
  const op = opcodeof(type);
  const len = typeof payload === "string" ? stringbytes(payload, op >= 8 ? 125 : FRAGMENT - 1) : payload.length;
  if (op >= 8 && len > 125) throw new RangeError(`${type} payload is ${len} bytes, the limit is 125`);
  if (op >= 8 && compressed) throw new RangeError(`${type} frames are never compressed`);
  if (len < FRAGMENT) {
    const f = encodeframe(op, payload, true, mask, compressed);
    return Array.isArray(f) ? f : [f];
  }
  const bytes = typeof payload === "string" ? Buffer.from(payload) : asbuffer(payload);
  const out: Buffer[] = [];
  for (let o = 0; o < len; o += FRAGMENT_SIZE) {
    const e = Math.min(o + FRAGMENT_SIZE, len);
    const f = encodeframe(o === 0 ? op : OP_CONTINUATION, bytes.subarray(o, e), e === len, mask, compressed && o === 0);
    if (Array.isArray(f)) out.push(f[0], f[1]);
    else out.push(f);
  }
  return out;
}
