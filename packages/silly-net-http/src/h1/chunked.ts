// The chunked transfer coding (RFC 9112 7.1): parsing a chunk-size line and
// framing outgoing data. Reading the chunks themselves is in body.ts.
import { FIELDCHAR } from "./parse.js";
import { chunksize } from "./head.js";
import type { Body } from "../types.js";

/** Longest chunk-size line accepted, extensions included. */
export const MAXCHUNKLINE = 4096;
/** The end of a chunked body with no trailers. */
export const LASTCHUNK = "0\r\n\r\n";

/**
 * The size in a chunk-size line (`line` ends with CRLF): hex digits, then
 * optional extensions (";name=value", ignored). Returns the size or an
 * error message.
 */
export function parsechunksize(line: Buffer): number | string {
  const end = line.length - 2; // before CRLF
  let i = 0;
  let n = 0;
  for (; i < end; i++) {
    const c = line[i]!;
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else break;
    if (i >= 13) return "chunk size too large";
    n = n * 16 + d;
  }
  if (i === 0) return "invalid chunk size";
  if (i < end) {
    // BWS ";" chunk-ext: only field characters, and it must start with ";" after optional whitespace.
    let j = i;
    while (j < end && (line[j] === 32 || line[j] === 9)) j++;
    if (line[j] !== 59) return "invalid chunk size";
    for (; j < end; j++) if (FIELDCHAR[line[j]!] !== 1) return "control character in chunk extension";
  }
  return n;
}

/** The pieces that carry `data` as one chunk (nothing for empty data: that would end the body). */
export function frame(data: Body, len: number): Body[] {
  return len === 0 ? [] : [chunksize(len), data, "\r\n"];
}
