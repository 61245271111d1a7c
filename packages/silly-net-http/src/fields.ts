// Received header fields (RFC 9110 5, RFC 9112 5.1): the one byte-level
// scanner every received field section goes through (request heads,
// response heads, trailer sections), and the header objects built from it.
// Strict by design: bare CR or LF, obs-fold, whitespace before the colon,
// names that are no token and control characters in values are refused.
// Request smuggling hides in exactly these rules, so they live here only.
import type { Header } from "./types.js";

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

/** token characters (RFC 9110 5.6.2 tchar). */
export const TCHAR = new Uint8Array(256);
/** field-value characters: HT, SP, VCHAR, obs-text. */
export const FIELDCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  TCHAR[c] = alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) ? 1 : 0;
  FIELDCHAR[c] = c === HT || (c >= 0x20 && c !== 0x7f) ? 1 : 0;
}

/** The error scanfields returns for more than `maxcount` fields (431, not 400). */
export const TOO_MANY = "too many header fields";

/**
 * Where the fields of the last scanfields() call lie, four numbers a field:
 * its name is buf[s[4i], s[4i+1]), its value (OWS trimmed) buf[s[4i+2], s[4i+3]).
 * One array for every scan (callers read it at once), grown as needed.
 */
let spans = new Int32Array(4 * 64);

/** The positions the last scan found: for field i, name start, name end, value start, value end at [4i..4i+3]. */
export function fieldspans(): Int32Array {
  return spans;
}

/**
 * Validate the field lines of `buf` from `pos` through the empty line that
 * ends them, which must end `buf` (a head read up to CRLF CRLF, or a
 * trailer section). Returns the number of fields, whose positions span()
 * then tells until the next call, or an error message.
 */
export function scanfields(buf: Buffer, pos: number, maxcount: number): number | string {
  const end = buf.length;
  let count = 0;
  for (;;) {
    let c = buf[pos]!;
    if (c === CR) {
      if (pos + 2 === end && buf[pos + 1] === LF) return count;
      return pos + 1 >= end ? "unterminated header section" : "bare CR in header section";
    }
    if (c === SP || c === HT) return "obsolete line folding (a header line starting with whitespace)";
    if (c === LF) return "bare LF in header section";
    const ns = pos;
    while (TCHAR[c] === 1) c = buf[++pos]!;
    if (c !== COLON) {
      if (pos >= end) return "unterminated header section";
      if (c === SP || c === HT) return "whitespace between a header name and its colon";
      return pos === ns ? "empty header name" : "invalid character in header name";
    }
    if (pos === ns) return "empty header name";
    const ne = pos++;
    while ((c = buf[pos]!) === SP || c === HT) pos++;
    const vs = pos;
    while (FIELDCHAR[c] === 1) c = buf[++pos]!;
    if (c !== CR) {
      if (c === LF) return "bare LF in header section";
      if (pos >= end) return "unterminated header section";
      return "control character in a header value";
    }
    let ve = pos;
    while (ve > vs && ((c = buf[ve - 1]!) === SP || c === HT)) ve--;
    if (buf[pos + 1] !== LF) return "bare CR in header section";
    pos += 2;
    if (count === maxcount) return TOO_MANY;
    const at = 4 * count++;
    if (at + 4 > spans.length) {
      const more = new Int32Array(spans.length * 2);
      more.set(spans);
      spans = more;
    }
    spans[at] = ns;
    spans[at + 1] = ne;
    spans[at + 2] = vs;
    spans[at + 3] = ve;
  }
}

/** Case-insensitive test: do the bytes at buf[at..] spell `lower` (a lower-case ASCII name)? */
export function isname(buf: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((buf[at + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * Field names seen often. A name that matches one (ignoring case) becomes
 * that constant string: no lower-casing copy, and as a property key it is
 * already internalized.
 */
const COMMON = [
  "host", "connection", "keep-alive", "user-agent", "accept", "accept-encoding", "accept-language",
  "accept-charset", "accept-ranges", "content-type", "content-length", "content-encoding", "content-language",
  "content-range", "content-disposition", "transfer-encoding", "te", "trailer", "upgrade", "expect", "cookie",
  "set-cookie", "referer", "origin", "authorization", "proxy-authorization", "cache-control", "pragma", "date",
  "server", "location", "etag", "last-modified", "expires", "age", "vary", "via", "range", "if-match",
  "if-none-match", "if-modified-since", "if-unmodified-since", "if-range", "x-forwarded-for",
  "x-forwarded-proto", "x-forwarded-host", "x-real-ip", "x-requested-with", "dnt", "priority",
  "sec-websocket-key", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol",
  "sec-websocket-accept", "sec-fetch-site", "sec-fetch-mode", "sec-fetch-dest", "sec-fetch-user",
  "sec-ch-ua", "sec-ch-ua-mobile", "sec-ch-ua-platform", "upgrade-insecure-requests", "access-control-allow-origin",
  "access-control-request-method", "access-control-request-headers", "strict-transport-security", "www-authenticate",
  "x-content-type-options", "x-frame-options", "alt-svc", "link", "retry-after", "forwarded",
];
const BYLENGTH: string[][] = [];
for (const n of COMMON) (BYLENGTH[n.length] ??= []).push(n);

/** The lower-case name in buf[start, end): a COMMON constant when it is one. */
function fieldname(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  const list = BYLENGTH[len];
  if (list !== undefined) {
    outer: for (let k = 0; k < list.length; k++) {
      const cand = list[k]!;
      for (let i = 0; i < len; i++) {
        let c = buf[start + i]!;
        if (c >= 65 && c <= 90) c += 32;
        if (c !== cand.charCodeAt(i)) continue outer;
      }
      return cand;
    }
  }
  return buf.toString("latin1", start, end).toLowerCase();
}

/**
 * Fields whose values repeat from request to request (a client sends the same
 * host, upgrade or user-agent on each connection), with the last value seen:
 * a value with the same bytes reuses that string instead of a copy of its
 * own. A header object kept for a connection's life (a WebSocket's stream)
 * then holds little but what is unique to it.
 */
const REPEATED = new Map<string, string>(
  [
    "host", "connection", "upgrade", "sec-websocket-version", "sec-websocket-extensions", "sec-websocket-protocol",
    "user-agent", "origin", "accept", "accept-encoding", "accept-language", "cache-control", "pragma", "keep-alive", "te",
  ].map((n) => [n, ""]),
);
/** Longer values are not remembered. */
const REPEATED_MAX = 256;

/** The value in buf[start, end) of the field `name`. */
function fieldvalue(name: string, buf: Buffer, start: number, end: number): string {
  const last = REPEATED.get(name);
  if (last === undefined) return buf.toString("latin1", start, end);
  if (last.length === end - start) {
    let i = 0;
    while (i < last.length && buf[start + i] === last.charCodeAt(i)) i++;
    if (i === last.length) return last;
  }
  const v = buf.toString("latin1", start, end);
  if (v.length <= REPEATED_MAX) REPEATED.set(name, v);
  return v;
}

/**
 * Header objects: instances of a constructor whose prototype has no
 * prototype, so "constructor", "toString" or "__proto__" are plain names,
 * while V8 still keeps them as fast (non-dictionary) objects.
 */
const HeaderBag = function HeaderBag(this: object): void {} as unknown as new () => Header;
HeaderBag.prototype = Object.create(null) as object;

/** A fresh, empty header object. */
export function newheader(): Header {
  return new HeaderBag();
}

/**
 * The header object of the `count` fields the last scanfields() call found
 * in `buf`: lower-case names, repeats joined with ", " (set-cookie with
 * "\n"). Each value is a string of its own (or the last one of a REPEATED
 * field with the same bytes), not a slice of the whole head,
 * so a header object kept for a connection's life (a WebSocket's stream)
 * keeps only its values alive.
 */
export function toheader(buf: Buffer, count: number): Header {
  const header = newheader();
  for (let i = 0, at = 0; i < count; i++, at += 4) {
    const name = fieldname(buf, spans[at]!, spans[at + 1]!);
    const value = fieldvalue(name, buf, spans[at + 2]!, spans[at + 3]!);
    const prev = header[name];
    if (prev === undefined) header[name] = value;
    else header[name] = flat(name === "set-cookie" ? `${prev}\n${value}` : `${prev}, ${value}`);
  }
  return header;
}

/** Scan and build in one go: the header object, or an error message. */
export function parsefields(buf: Buffer, pos: number, maxcount: number): Header | string {
  const n = scanfields(buf, pos, maxcount);
  return typeof n === "string" ? n : toheader(buf, n);
}

/** A flat copy of a latin1 string (a repeated field's joined value), so it does not keep its parts alive. */
function flat(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
}

/** Does a comma-separated header value contain `token` (case-insensitive)? */
export function hastoken(v: string | undefined, token: string): boolean {
  if (v === undefined) return false;
  for (const t of v.split(",")) if (t.trim().toLowerCase() === token) return true;
  return false;
}
