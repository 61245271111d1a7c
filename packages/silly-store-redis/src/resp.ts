// RESP, the Redis serialization protocol (RESP2 and RESP3), sans-I/O:
// a command in, its bytes out (encode); bytes in, replies out (Decoder).
// No sockets here.
//
// Decisions:
// - Bulk strings come out as UTF-8 strings, or as Buffers (binary values
//   survive intact that way), as `bulks` says at the start of a reply;
//   "payload" makes only the last element of a top-level aggregate a Buffer
//   (a pub/sub message: its kind and channel are text, its payload bytes).
// - Integers come out as numbers, as bigints outside the safe range.
// - A reply larger than `max` bytes is still parsed to its end, so the
//   stream stays in step, but nothing of it is kept: its bulk payloads are
//   dropped as they arrive, and it comes out as a "toolarge" error.
// - Any byte that breaks the grammar, and a line (a header, a simple string,
//   an error) longer than LINE_MAX, sets `broken`: the stream cannot be
//   trusted after that, so the decoder stops there.
// - RESP3 attributes (`|`) are read and dropped; a top-level push (`>`) comes
//   out as an array with `push` set. Streamed aggregates (`*?`) are refused.
import { RedisError } from "./error.js";

/** A command argument. Numbers are sent in decimal; a nested array is spread (upstream's table form). */
export type Arg = string | number | bigint | Uint8Array;
export type Args = readonly (Arg | readonly Arg[])[];

/** A decoded reply. `null` is Redis's nil; a RedisError appears inside aggregates (e.g. EXEC's). */
export type Reply = string | Buffer | number | bigint | boolean | null | RedisError | Reply[] | Map<Reply, Reply> | Set<Reply>;

/** What Decoder.next returns while a reply is incomplete. */
export const MORE: unique symbol = Symbol("resp.more");

/** The longest line accepted: headers, simple strings, errors, numbers. */
export const LINE_MAX = 64 * 1024;

/** Leading elements of a pub/sub message whose last text is kept (see Decoder.known), and their longest. */
const KNOWN = 3;
const KNOWN_MAX = 64;

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);

// ---- encoding ----

const pieces: (string | Uint8Array)[] = [];
const lengths: number[] = [];

function piece(a: unknown, at: number): number {
  let p: string | Uint8Array;
  if (typeof a === "string" || a instanceof Uint8Array) p = a;
  else if (typeof a === "number") {
    if (!Number.isFinite(a)) throw new TypeError(`redis: a number argument must be finite, got ${a}`);
    p = String(a);
  } else if (typeof a === "bigint") p = String(a);
  else throw new TypeError(`redis: arguments must be strings, numbers, bigints or Uint8Arrays, got ${a === null ? "null" : typeof a}`);
  pieces[at] = p;
  lengths[at] = typeof p === "string" ? Buffer.byteLength(p) : p.byteLength;
  return at + 1;
}

function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    d++;
  }
  return d;
}

function writeheader(out: Buffer, at: number, type: number, n: number): number {
  out[at++] = type;
  const d = digits(n);
  for (let i = at + d - 1; i >= at; i--) {
    out[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
  at += d;
  out[at++] = CR;
  out[at++] = LF;
  return at;
}

/** Collect one command's pieces into the scratch arrays from index `at`; returns where they end. */
function collect(args: Args, name: string | undefined, at: number): number {
  const from = at;
  if (name !== undefined) at = piece(name, at);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (Array.isArray(a)) for (const x of a as readonly Arg[]) at = piece(x, at);
    else at = piece(a, at);
  }
  if (at === from) {
    pieces.length = 0;
    throw new TypeError("redis: a command needs at least its name");
  }
  return at;
}

/** Bytes of the command made of pieces [from, to). */
function sizeof(from: number, to: number): number {
  let total = 3 + digits(to - from);
  for (let i = from; i < to; i++) total += 5 + digits(lengths[i]!) + lengths[i]!;
  return total;
}

/** Write the command made of pieces [from, to) at `at`; returns where it ends. */
function put(out: Buffer, at: number, from: number, to: number): number {
  at = writeheader(out, at, 42 /* * */, to - from);
  for (let i = from; i < to; i++) {
    const len = lengths[i]!;
    at = writeheader(out, at, 36 /* $ */, len);
    const p = pieces[i]!;
    if (typeof p !== "string") out.set(p, at);
    else if (len === p.length && len <= 32) for (let k = 0; k < len; k++) out[at + k] = p.charCodeAt(k);
    else out.write(p, at, len, len === p.length ? "latin1" : "utf8");
    at += len;
    out[at++] = CR;
    out[at++] = LF;
  }
  return at;
}

/**
 * The bytes of one command: an array of bulk strings. `name`, when given,
 * goes first (so a caller need not build a new array for it). Throws
 * TypeError for an argument that is not a string, number, bigint or bytes.
 */
export function encode(args: Args, name?: string): Buffer {
  const n = collect(args, name, 0);
  const out = Buffer.allocUnsafe(sizeof(0, n));
  put(out, 0, 0, n);
  pieces.length = 0;
  return out;
}

/** The bytes of several commands, one after the other (a pipeline). */
export function encodemany(cmds: readonly Args[]): Buffer {
  const ends: number[] = [];
  let total = 0;
  let n = 0;
  for (const c of cmds) {
    const e = collect(c, undefined, n);
    total += sizeof(n, e);
    ends.push((n = e));
  }
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  let from = 0;
  for (const e of ends) {
    at = put(out, at, from, e);
    from = e;
  }
  pieces.length = 0;
  return out;
}

// ---- decoding ----

// Aggregate types, as their first byte.
const ARRAY = 42; // *
const MAP = 37; // %
const SET = 126; // ~
const PUSH = 62; // >
const ATTR = 124; // |

interface Frame {
  type: number;
  items: Reply[];
  /** Elements still to come (a map counts keys and values). */
  left: number;
}

/** Parse a decimal integer from buf[from, to); undefined if it is not one. */
function parseint(buf: Buffer, from: number, to: number): number | bigint | undefined {
  let i = from;
  let neg = false;
  if (i < to && (buf[i] === 45 /* - */ || buf[i] === 43) /* + */) {
    neg = buf[i] === 45;
    i++;
  }
  if (i === to) return undefined;
  if (to - i > 15) {
    for (let k = i; k < to; k++) if (buf[k]! < 48 || buf[k]! > 57) return undefined;
    const big = BigInt(buf.toString("latin1", i, to));
    const v = neg ? -big : big;
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  let n = 0;
  for (; i < to; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) return undefined;
    n = n * 10 + (c - 48);
  }
  return neg ? -n : n;
}

function parsedouble(s: string): number | undefined {
  if (s === "inf" || s === "+inf") return Infinity;
  if (s === "-inf") return -Infinity;
  if (s === "nan" || s === "-nan") return NaN;
  const v = Number(s);
  return s.trim() !== "" && !Number.isNaN(v) ? v : undefined;
}

/**
 * Turns a byte stream into replies. feed() the bytes as they arrive, then
 * call next() until it returns MORE.
 */
export type Bulks = "string" | "buffer" | "payload";

export class Decoder {
  /** How bulk strings of the next reply come out (read when that reply starts). */
  bulks: Bulks = "string";
  /** The last reply next() returned was a RESP3 push. */
  push = false;
  /** Set once the stream broke the grammar; next() then returns it for ever. */
  broken: RedisError | undefined = undefined;

  private buf: Buffer = EMPTY;
  private pos = 0;
  // Chunks held back, not yet joined to buf, while a long bulk string arrives:
  // joining each one as it came would copy the string once per chunk.
  private held: Buffer[] = [];
  private heldbytes = 0;
  private need = 0; // bytes from pos that the token in progress needs
  private stack: Frame[] = [];
  private size = 0; // bytes of the reply in progress so far
  private mode: Bulks = "string";
  private skipping = false; // the reply went over max: keep nothing of it
  private skipleft = 0; // payload bytes still to drop while skipping
  private recent: ({ bytes: Buffer; text: string } | undefined)[] = [];

  constructor(
    /** The largest reply kept, in bytes. */
    readonly max: number = Infinity,
  ) {}

  /** Bytes buffered and not yet decoded. */
  get pending(): number {
    return this.buf.length - this.pos + this.heldbytes;
  }

  feed(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.broken !== undefined) return;
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const rest = this.buf.length - this.pos;
    if (rest === 0) {
      this.buf = b;
      this.pos = 0;
      this.need = 0;
      return;
    }
    if (rest + this.heldbytes + b.length < this.need) {
      this.held.push(b);
      this.heldbytes += b.length;
      return;
    }
    const parts = [this.buf.subarray(this.pos), ...this.held, b];
    this.buf = Buffer.concat(parts, rest + this.heldbytes + b.length);
    this.pos = 0;
    this.held = [];
    this.heldbytes = 0;
    this.need = 0;
  }

  /** The next complete reply, or MORE. A top-level error reply is a RedisError of kind "reply". */
  next(): Reply | typeof MORE {
    if (this.broken !== undefined) return this.broken;
    for (;;) {
      if (this.skipleft > 0) {
        const k = Math.min(this.skipleft, this.buf.length - this.pos);
        this.pos += k;
        this.skipleft -= k;
        if (this.skipleft > 0) return this.more();
      }
      const buf = this.buf;
      const start = this.pos;
      if (start >= buf.length) return this.more();
      if (this.stack.length === 0) {
        this.size = 0;
        this.skipping = false;
        this.mode = this.bulks;
      }
      const cr = buf.indexOf(CR, start + 1);
      if (cr < 0 || cr + 1 >= buf.length) {
        if (buf.length - start > LINE_MAX) return this.fail("a line longer than " + LINE_MAX + " bytes");
        this.need = buf.length - start + 1;
        return this.more();
      }
      if (buf[cr + 1] !== LF) return this.fail("CR without LF");
      if (cr - start > LINE_MAX) return this.fail("a line longer than " + LINE_MAX + " bytes");
      const type = buf[start]!;
      let end = cr + 2; // where this token ends
      let value: Reply;
      switch (type) {
        case 43 /* + */:
          value = buf.toString("utf8", start + 1, cr);
          break;
        case 45 /* - */:
          value = new RedisError("reply", buf.toString("utf8", start + 1, cr));
          break;
        case 58 /* : */:
        case 40 /* ( */: {
          const n = parseint(buf, start + 1, cr);
          if (n === undefined) return this.fail("a bad integer");
          value = type === 40 && typeof n === "number" ? BigInt(n) : n;
          break;
        }
        case 36 /* $ */:
        case 33 /* ! */:
        case 61 /* = */: {
          const n = parseint(buf, start + 1, cr);
          if (n === -1 && type === 36) {
            value = null;
            break;
          }
          if (typeof n !== "number" || n < 0) return this.fail("a bad length");
          if (this.size + (end - start) + n + 2 > this.max) {
            // Too large: drop its payload as it comes, keep the stream in step.
            this.skipping = true;
            this.skipleft = n + 2;
            value = null;
            break;
          }
          if (end + n + 2 > buf.length) {
            this.need = end + n + 2 - start;
            return this.more();
          }
          if (buf[end + n] !== CR || buf[end + n + 1] !== LF) return this.fail("a bulk string without its CRLF");
          const from = end;
          end += n + 2;
          if (type === 33) value = new RedisError("reply", buf.toString("utf8", from, from + n));
          else if (type === 61) {
            // Verbatim string: "txt:" or "mkd:" then the text.
            if (n < 4 || buf[from + 3] !== 58) return this.fail("a verbatim string without its format");
            value = this.bulk(buf, from + 4, from + n);
          } else value = this.bulk(buf, from, from + n);
          break;
        }
        case ARRAY:
        case MAP:
        case SET:
        case PUSH:
        case ATTR: {
          const n = parseint(buf, start + 1, cr);
          if (n === -1 && type === ARRAY) {
            value = null;
            break;
          }
          if (typeof n !== "number" || n < 0) return this.fail("a bad element count");
          const left = type === MAP || type === ATTR ? 2 * n : n;
          if (left > 0 || type === ATTR) {
            this.pos = end;
            this.size += end - start;
            if (left > 0) this.stack.push({ type, items: [], left });
            continue; // (an empty attribute delivers nothing)
          }
          value = this.aggregate({ type, items: [], left: 0 });
          break;
        }
        case 95 /* _ */:
          if (cr !== start + 1) return this.fail("a bad null");
          value = null;
          break;
        case 35 /* # */:
          if (cr !== start + 2 || (buf[start + 1] !== 116 && buf[start + 1] !== 102)) return this.fail("a bad boolean");
          value = buf[start + 1] === 116;
          break;
        case 44 /* , */: {
          const d = parsedouble(buf.toString("latin1", start + 1, cr));
          if (d === undefined) return this.fail("a bad double");
          value = d;
          break;
        }
        default:
          return this.fail(`an unknown type byte 0x${type.toString(16).padStart(2, "0")}`);
      }
      this.pos = end;
      this.size += end - start;
      if (this.size > this.max) this.skipping = true;
      // Hand the value up through the aggregates it completes.
      for (;;) {
        const top = this.stack[this.stack.length - 1];
        if (top === undefined) {
          this.push = type === PUSH;
          if (this.skipping) return new RedisError("toolarge", `a reply over ${this.max} bytes (the maxreply option) was dropped`);
          return value;
        }
        if (!this.skipping) top.items.push(value);
        if (--top.left > 0) break;
        this.stack.pop();
        if (top.type === ATTR) break; // attributes annotate the next value; they are not one
        value = this.aggregate(top);
        if (this.stack.length === 0) {
          this.push = top.type === PUSH;
          if (this.skipping) return new RedisError("toolarge", `a reply over ${this.max} bytes (the maxreply option) was dropped`);
          return value;
        }
      }
    }
  }

  private bulk(buf: Buffer, from: number, to: number): string | Buffer {
    const m = this.mode;
    if (m === "payload" && this.stack.length === 1) {
      const top = this.stack[0]!;
      if (top.left > 1) return this.known(top.items.length, buf, from, to);
    } else if (m !== "buffer") return buf.toString("utf8", from, to);
    // A small value gets its own copy, so it does not keep a whole chunk alive.
    if ((to - from) * 2 >= buf.length) return buf.subarray(from, to);
    const out = Buffer.allocUnsafe(to - from);
    buf.copy(out, 0, from, to);
    return out;
  }

  /**
   * The text of a short leading element of a pub/sub message ("message", the
   * channel): the same few words come again and again, so the last one seen
   * at each position is kept and compared byte for byte instead of decoded.
   */
  private known(at: number, buf: Buffer, from: number, to: number): string {
    const n = to - from;
    if (at >= KNOWN || n > KNOWN_MAX) return buf.toString("utf8", from, to);
    const k = this.recent[at];
    if (k !== undefined && k.bytes.length === n) {
      let i = 0;
      while (i < n && k.bytes[i] === buf[from + i]) i++;
      if (i === n) return k.text;
    }
    const text = buf.toString("utf8", from, to);
    this.recent[at] = { bytes: Buffer.from(buf.subarray(from, to)), text };
    return text;
  }

  private aggregate(f: Frame): Reply {
    if (f.type === MAP) {
      const m = new Map<Reply, Reply>();
      for (let i = 0; i < f.items.length; i += 2) m.set(f.items[i]!, f.items[i + 1]!);
      return m;
    }
    if (f.type === SET) return new Set(f.items);
    return f.items;
  }

  private more(): typeof MORE {
    if (this.pos >= this.buf.length && this.heldbytes === 0) {
      this.buf = EMPTY; // let the consumed chunk go
      this.pos = 0;
    }
    return MORE;
  }

  private fail(why: string): RedisError {
    this.broken = new RedisError("protocol", `the server sent ${why}`);
    this.buf = EMPTY;
    this.pos = 0;
    this.held = [];
    this.heldbytes = 0;
    this.stack = [];
    return this.broken;
  }
}
