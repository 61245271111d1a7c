// The chunked transfer coding (RFC 9112 7.1): the chunk-size line. Reading
// the chunks themselves is in body.ts; the last chunk is made in head.ts.
import { TCHAR } from "../fields.js";

/** Longest chunk-size line accepted, extensions included. */
export const MAXCHUNKLINE = 4096;

const SP = 32;
const HT = 9;
const DQUOTE = 34;
const BACKSLASH = 92;

/** qdtext (RFC 9110 5.6.4): HT, SP, VCHAR except DQUOTE and backslash, obs-text. */
const QDTEXT = new Uint8Array(256);
for (let c = 0; c < 256; c++) QDTEXT[c] = c === HT || (c >= 0x20 && c !== 0x7f && c !== DQUOTE && c !== BACKSLASH) ? 1 : 0;

/**
 * The size in a chunk-size line (`line` ends with CRLF): hex digits, then
 * extensions, which are checked against their grammar and ignored:
 *   chunk-ext = *( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )
 * Returns the size or an error message.
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
  while (i < end) {
    i = skipbws(line, i, end);
    if (line[i] !== 59 /* ; */) return "invalid chunk size";
    i = skipbws(line, i + 1, end);
    const ns = i;
    while (i < end && TCHAR[line[i]!] === 1) i++;
    if (i === ns) return "chunk extension without a name";
    const j = skipbws(line, i, end);
    if (line[j] !== 61 /* = */ || j >= end) continue;
    i = skipbws(line, j + 1, end);
    if (line[i] === DQUOTE) {
      for (i++; ; i++) {
        if (i >= end) return "unterminated quoted string in chunk extension";
        const c = line[i]!;
        if (c === DQUOTE) break;
        if (c === BACKSLASH) {
          const q = line[++i]!;
          if (i >= end || !(q === HT || (q >= 0x20 && q !== 0x7f))) return "bad quoted pair in chunk extension";
        } else if (QDTEXT[c] !== 1) return "control character in chunk extension";
      }
      i++;
    } else {
      const vs = i;
      while (i < end && TCHAR[line[i]!] === 1) i++;
      if (i === vs) return "chunk extension without a value after =";
    }
  }
  return n;
}

function skipbws(line: Buffer, i: number, end: number): number {
  while (i < end && (line[i] === SP || line[i] === HT)) i++;
  return i;
}
