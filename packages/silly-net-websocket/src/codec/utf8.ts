// UTF-8 validation for text messages and close reasons (RFC 6455 8.1: invalid
// UTF-8 fails the connection with 1007), and fast decoding of validated bytes.
import { isUtf8 } from "node:buffer";

// Up to this length a JS scan beats `isUtf8(b.subarray(...))`: the subarray
// and the native call cost ~100 ns together, a JS scan ~1 ns per byte.
const JS_MAX = 64;

/**
 * Scans `b[start..end)` as UTF-8. Returns -1 when it is invalid, 0 when it is
 * valid and ends on a character boundary, or n (1..3) when it is valid so far
 * but its last n bytes begin a character that is not finished yet: the caller
 * decides whether more bytes may follow (fragments) or not (a whole message).
 * Overlongs, surrogates and code points above U+10FFFF are rejected at the
 * earliest byte that proves them (Unicode Table 3-7), even in a truncated tail.
 */
export function utf8scan(b: Uint8Array, start: number, end: number): number {
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c < 0xc2) return -1; // continuation byte as a lead, or overlong C0/C1
    if (c < 0xe0) n = 1;
    else if (c < 0xf0) {
      n = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      else if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c < 0xf5) {
      n = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      else if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return -1;
    if (i + 1 >= end) return end - i;
    const c1 = b[i + 1];
    if (c1 < lo || c1 > hi) return -1;
    for (let j = 2; j <= n; j++) {
      if (i + j >= end) return end - i;
      if ((b[i + j] & 0xc0) !== 0x80) return -1;
    }
    i += n + 1;
  }
  return 0;
}

/** The length of the UTF-8 sequence a lead byte starts (0 for a non-lead byte). */
function seqlen(c: number): number {
  return c < 0x80 ? 1 : c < 0xc2 ? 0 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : c < 0xf5 ? 4 : 0;
}

/**
 * Where the trailing unfinished character of `b[start..end)` begins (`end`
 * when the range ends on a boundary as far as the last 3 bytes can tell).
 */
function tailstart(b: Uint8Array, start: number, end: number): number {
  const stop = Math.max(start, end - 3);
  for (let i = end - 1; i >= stop; i--) {
    const c = b[i];
    if ((c & 0xc0) !== 0x80) {
      // A lead (or ASCII) byte: unfinished when its sequence runs past `end`.
      return c >= 0xc0 && i + seqlen(c) > end ? i : end;
    }
  }
  return end;
}

/** `utf8scan` that hands long ranges to the native (SIMD) `isUtf8`. */
function scan(b: Uint8Array, start: number, end: number): number {
  if (end - start <= JS_MAX) return utf8scan(b, start, end);
  const t = tailstart(b, start, end);
  const whole = start === 0 && t === b.length ? b : b.subarray(start, t);
  if (!isUtf8(whole)) return -1;
  return t === end ? 0 : utf8scan(b, t, end);
}

/** True when `b[start..end)` is complete, valid UTF-8. ASCII is checked first for short ranges. */
export function isvalidutf8(b: Uint8Array, start = 0, end = b.length): boolean {
  if (end - start <= JS_MAX) {
    let i = start;
    while (i < end && b[i] < 0x80) i++;
    return i === end || utf8scan(b, i, end) === 0;
  }
  return isUtf8(start === 0 && end === b.length ? b : b.subarray(start, end));
}

/** True when every byte of `b[start..end)` is below 0x80. */
export function isascii(b: Uint8Array, start: number, end: number): boolean {
  let acc = 0;
  for (let i = start; i < end; i++) acc |= b[i];
  return acc < 0x80;
}

/**
 * Validates text that arrives in pieces (a fragmented message). `push` fails
 * as soon as the bytes so far cannot start valid UTF-8, including a character
 * split across pieces; `finish` then says whether the text ended on a
 * character boundary. Each byte is examined once, so validating a message in
 * pieces costs the same as validating it whole.
 */
export class Utf8Validator {
  private readonly carry = new Uint8Array(4);
  private ncarry = 0;

  /** Starts a new text. */
  reset(): void {
    this.ncarry = 0;
  }

  /** Feeds `b[start..end)`; false when the text is already known to be invalid. */
  push(b: Uint8Array, start: number, end: number): boolean {
    let s = start;
    if (this.ncarry > 0) {
      // Complete the character left unfinished by the previous piece.
      const c = this.carry;
      const want = seqlen(c[0]);
      while (this.ncarry < want && s < end) c[this.ncarry++] = b[s++];
      const r = utf8scan(c, 0, this.ncarry);
      if (r < 0) return false;
      if (r > 0) return true; // still unfinished (and still plausible): wait for more
      this.ncarry = 0;
    }
    const r = scan(b, s, end);
    if (r < 0) return false;
    for (let i = end - r; i < end; i++) this.carry[this.ncarry++] = b[i];
    return true;
  }

  /** True when the text fed since `reset` ended on a character boundary; resets. */
  finish(): boolean {
    const ok = this.ncarry === 0;
    this.ncarry = 0;
    return ok;
  }
}

// Buffer's own slice methods skip `toString`'s argument handling; measured
// ~10 ns less per short message. Used when present (every Node since 0.x).
interface Slicers {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}
const proto: Partial<Slicers> = Buffer.prototype as Partial<Slicers>;
const native = typeof proto.latin1Slice === "function" && typeof proto.utf8Slice === "function";

/** Decodes bytes already known to be ASCII (latin1 is the cheapest exact decoder for them). */
export function decodeascii(b: Buffer, start: number, end: number): string {
  return native ? (b as Buffer & Slicers).latin1Slice(start, end) : b.toString("latin1", start, end);
}

/** Decodes bytes already known to be valid UTF-8. */
export function decodeutf8(b: Buffer, start: number, end: number): string {
  return native ? (b as Buffer & Slicers).utf8Slice(start, end) : b.toString("utf8", start, end);
}
