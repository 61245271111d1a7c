// HTTP/1.x head parsing: pure functions from the bytes of a head (request
// line or status line, header lines, the empty line) to a parsed head or an
// error. Strict by design (RFC 9112): bare CR or LF, obs-fold, control
// characters, bad names, conflicting framing are all rejected.
//
// The head is decoded once as latin1 (one byte, one UTF-16 unit) and walked
// with charCodeAt; no regular expressions on this path.
import type { Header } from "../types.js";

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;
const COLON = 58;

/** token characters (RFC 9110 tchar). */
export const TCHAR = new Uint8Array(256);
/** field-value characters: HT, SP, VCHAR, obs-text. */
export const FIELDCHAR = new Uint8Array(256);
/** request-target characters: VCHAR only (no space, no controls, no obs-text). */
const TARGETCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  TCHAR[c] = alnum || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)) ? 1 : 0;
  FIELDCHAR[c] = c === HT || (c >= 0x20 && c !== 0x7f) ? 1 : 0;
  TARGETCHAR[c] = c > 0x20 && c < 0x7f ? 1 : 0;
}

/** A head that cannot be accepted: the status to answer and why. */
export class HeadError {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {}
}

/** How a message body is delimited. */
export const NOBODY = 0;
export const FIXED = 1;
export const CHUNKED = 2;
/** Read until the connection closes (responses only). */
export const UNTILCLOSE = 3;
export type Framing = typeof NOBODY | typeof FIXED | typeof CHUNKED | typeof UNTILCLOSE;

export interface RequestHead {
  method: string;
  /** The request-target exactly as received. */
  target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number;
  header: Header;
  framing: Framing;
  /** Body bytes when framing is FIXED. */
  length: number;
  /** The client allows the connection to stay open after this exchange. */
  keepalive: boolean;
  /** The request carries an upgrade header (e.g. WebSocket). */
  upgrade: boolean;
  /** The client sent "Expect: 100-continue". */
  expect100: boolean;
}

export interface ResponseHead {
  status: number;
  reason: string;
  minor: number;
  header: Header;
}

export interface HeadLimits {
  requestline: number;
  headercount: number;
}

const TOO_MANY = "too many header fields";

/**
 * Parse header lines of `s` from `pos` through the empty line that ends it
 * (`s` must end with CRLF CRLF, or be exactly the final CRLF at pos). Fields
 * go into `header` (lower-case names, repeats joined). Returns the number of
 * fields, or an error message.
 */
export function parsefields(s: string, pos: number, header: Header, maxcount: number): number | string {
  let count = 0;
  const end = s.length;
  for (;;) {
    let c = s.charCodeAt(pos);
    if (c === CR) {
      if (pos + 2 === end && s.charCodeAt(pos + 1) === LF) return count;
      return "bare CR in header section";
    }
    if (c === SP || c === HT) return "obsolete line folding (a header line starting with whitespace)";
    if (c === LF) return "bare LF in header section";
    const ns = pos;
    while (TCHAR[c] === 1) c = s.charCodeAt(++pos);
    if (c !== COLON) {
      if (pos === end) return "unterminated header section";
      if (c === SP || c === HT) return "whitespace between a header name and its colon";
      if (pos === ns) return "empty header name";
      return "invalid character in header name";
    }
    if (pos === ns) return "empty header name";
    const name = s.slice(ns, pos).toLowerCase();
    pos++;
    while ((c = s.charCodeAt(pos)) === SP || c === HT) pos++;
    const vs = pos;
    let ve = pos;
    for (;;) {
      if (c === CR) break;
      if (FIELDCHAR[c] !== 1) {
        if (c === LF) return "bare LF in header section";
        if (pos >= end) return "unterminated header section";
        return `control character in the value of header ${name}`;
      }
      if (c !== SP && c !== HT) ve = pos + 1;
      c = s.charCodeAt(++pos);
    }
    if (s.charCodeAt(pos + 1) !== LF) return "bare CR in header section";
    pos += 2;
    if (++count > maxcount) return TOO_MANY;
    const value = s.slice(vs, ve);
    const prev = header[name];
    if (prev === undefined) header[name] = value;
    else header[name] = name === "set-cookie" ? `${prev}\n${value}` : `${prev}, ${value}`;
  }
}

/** A fresh header object (no prototype, so "constructor" or "__proto__" are plain names). */
export function newheader(): Header {
  return Object.create(null) as Header;
}

/**
 * Parse a request head (request line through the final CRLF CRLF), check the
 * framing and connection fields. Returns the head or a HeadError.
 */
export function parserequest(buf: Buffer, limits: HeadLimits): RequestHead | HeadError {
  const s = buf.toString("latin1");
  let pos = 0;
  // RFC 9112 2.2: an empty line before the request line is ignored.
  while (s.charCodeAt(pos) === CR && s.charCodeAt(pos + 1) === LF) pos += 2;
  if (pos >= s.length) return new HeadError(400, "empty request");
  const linestart = pos;
  let c = s.charCodeAt(pos);
  while (TCHAR[c] === 1) c = s.charCodeAt(++pos);
  if (pos === linestart || c !== SP) return requestlineerror(s, linestart, limits);
  const method = s.slice(linestart, pos);
  const ts = ++pos;
  c = s.charCodeAt(pos);
  while (TARGETCHAR[c] === 1) c = s.charCodeAt(++pos);
  if (pos === ts || c !== SP) return requestlineerror(s, linestart, limits);
  const target = s.slice(ts, pos);
  pos++;
  // "HTTP/" DIGIT "." DIGIT CRLF
  if (
    s.charCodeAt(pos) !== 72 || s.charCodeAt(pos + 1) !== 84 || s.charCodeAt(pos + 2) !== 84 ||
    s.charCodeAt(pos + 3) !== 80 || s.charCodeAt(pos + 4) !== 47 || s.charCodeAt(pos + 6) !== 46
  ) {
    return requestlineerror(s, linestart, limits);
  }
  const major = s.charCodeAt(pos + 5) - 48;
  const minor = s.charCodeAt(pos + 7) - 48;
  if (!(major >= 0 && major <= 9 && minor >= 0 && minor <= 9)) return requestlineerror(s, linestart, limits);
  pos += 8;
  if (s.charCodeAt(pos) !== CR || s.charCodeAt(pos + 1) !== LF) return requestlineerror(s, linestart, limits);
  if (pos - linestart > limits.requestline) return new HeadError(414, "request line too long");
  if (major !== 1 || minor > 1) return new HeadError(505, `HTTP/${major}.${minor} is not supported`);
  pos += 2;
  const header = newheader();
  const n = parsefields(s, pos, header, limits.headercount);
  if (typeof n === "string") return new HeadError(n === TOO_MANY ? 431 : 400, n);
  return checkrequest(method, target, minor, header);
}

/** The request line is malformed: find out what to say about it. */
function requestlineerror(s: string, start: number, limits: HeadLimits): HeadError {
  let end = s.indexOf("\r\n", start);
  if (end < 0) end = s.length;
  const lf = s.indexOf("\n", start);
  if (lf >= 0 && lf < end) return new HeadError(400, "bare LF in request line");
  if (end - start > limits.requestline) return new HeadError(414, "request line too long");
  return new HeadError(400, "malformed request line");
}

/** Framing, Host, Connection and Expect checks for a request (RFC 9112 6.3, 9110 7.2). */
function checkrequest(method: string, target: string, minor: number, header: Header): RequestHead | HeadError {
  const host = header["host"];
  if (host === undefined) {
    if (minor === 1) return new HeadError(400, "missing Host header");
  } else if (host.includes(",")) {
    return new HeadError(400, "more than one Host header");
  }
  let framing: Framing = NOBODY;
  let length = 0;
  const te = header["transfer-encoding"];
  const cl = header["content-length"];
  if (te !== undefined) {
    if (cl !== undefined) return new HeadError(400, "both Content-Length and Transfer-Encoding");
    if (minor === 0) return new HeadError(400, "Transfer-Encoding in an HTTP/1.0 request");
    const err = checkchunked(te);
    if (err !== undefined) return err;
    framing = CHUNKED;
  } else if (cl !== undefined) {
    const n = parselength(cl);
    if (typeof n === "string") return new HeadError(400, n);
    length = n;
    framing = n > 0 ? FIXED : NOBODY;
  }
  let keepalive = minor === 1;
  let upgrade = false;
  const conn = header["connection"];
  if (conn !== undefined) {
    const flags = connectionflags(conn);
    if (flags & CONN_CLOSE) keepalive = false;
    else if (flags & CONN_KEEPALIVE) keepalive = true;
  }
  if (header["upgrade"] !== undefined) upgrade = true;
  let expect100 = false;
  const expect = header["expect"];
  if (expect !== undefined) {
    if (expect.toLowerCase() !== "100-continue") return new HeadError(417, `unsupported expectation ${JSON.stringify(expect)}`);
    expect100 = minor === 1;
  }
  return { method, target, minor, header, framing, length, keepalive, upgrade, expect100 };
}

/** Transfer-Encoding of a request: we decode exactly "chunked". */
function checkchunked(te: string): HeadError | undefined {
  const codings = te.toLowerCase().split(",").map((x) => x.trim());
  const last = codings[codings.length - 1];
  if (codings.some((x) => x === "")) return new HeadError(400, "empty transfer-coding");
  if (last !== "chunked") return new HeadError(400, `Transfer-Encoding ${JSON.stringify(te)} does not end with chunked`);
  if (codings.length > 1) {
    if (codings.indexOf("chunked") !== codings.length - 1) return new HeadError(400, "chunked applied more than once");
    return new HeadError(501, `unsupported transfer-coding ${JSON.stringify(codings[0])}`);
  }
  return undefined;
}

/**
 * A Content-Length value: digits, or a list of identical digit strings (what
 * repeated fields join to). Returns the number or an error message.
 */
export function parselength(v: string): number | string {
  let n = -1;
  let i = 0;
  const end = v.length;
  for (;;) {
    const start = i;
    let x = 0;
    while (i < end) {
      const c = v.charCodeAt(i);
      if (c < 48 || c > 57) break;
      x = x * 10 + (c - 48);
      i++;
    }
    if (i === start) return `invalid Content-Length ${JSON.stringify(v)}`;
    if (i - start > 15) return `Content-Length ${JSON.stringify(v)} is too large`;
    if (n >= 0 && x !== n) return `conflicting Content-Length values ${JSON.stringify(v)}`;
    n = x;
    if (i === end) return n;
    // "," OWS between list elements
    while (i < end && (v.charCodeAt(i) === SP || v.charCodeAt(i) === HT)) i++;
    if (v.charCodeAt(i) !== 44) return `invalid Content-Length ${JSON.stringify(v)}`;
    i++;
    while (i < end && (v.charCodeAt(i) === SP || v.charCodeAt(i) === HT)) i++;
  }
}

export const CONN_CLOSE = 1;
export const CONN_KEEPALIVE = 2;
export const CONN_UPGRADE = 4;

/** The Connection options we act on, as bit flags. */
export function connectionflags(v: string): number {
  const l = v.toLowerCase();
  if (l === "keep-alive") return CONN_KEEPALIVE;
  if (l === "close") return CONN_CLOSE;
  if (l === "upgrade") return CONN_UPGRADE;
  let flags = 0;
  for (const t of l.split(",")) {
    const x = t.trim();
    if (x === "close") flags |= CONN_CLOSE;
    else if (x === "keep-alive") flags |= CONN_KEEPALIVE;
    else if (x === "upgrade") flags |= CONN_UPGRADE;
  }
  return flags;
}

/** Does a comma-separated header value contain `token` (case-insensitive)? */
export function hastoken(v: string | undefined, token: string): boolean {
  if (v === undefined) return false;
  for (const t of v.split(",")) if (t.trim().toLowerCase() === token) return true;
  return false;
}

/**
 * Parse a response head (status line through the final CRLF CRLF).
 * Returns the head or an error message.
 */
export function parseresponse(buf: Buffer, maxcount: number): ResponseHead | string {
  const s = buf.toString("latin1");
  // "HTTP/1." DIGIT SP 3DIGIT [SP reason] CRLF
  if (!s.startsWith("HTTP/1.")) return `malformed status line ${JSON.stringify(firstline(s))}`;
  const minor = s.charCodeAt(7) - 48;
  const d0 = s.charCodeAt(9) - 48;
  const d1 = s.charCodeAt(10) - 48;
  const d2 = s.charCodeAt(11) - 48;
  if (
    !(minor >= 0 && minor <= 9) || s.charCodeAt(8) !== SP ||
    !(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)
  ) {
    return `malformed status line ${JSON.stringify(firstline(s))}`;
  }
  const status = d0 * 100 + d1 * 10 + d2;
  let pos = 12;
  let reason = "";
  let c = s.charCodeAt(pos);
  if (c === SP) {
    const rs = ++pos;
    c = s.charCodeAt(pos);
    while (c !== CR) {
      if (FIELDCHAR[c] !== 1) return c === LF ? "bare LF in status line" : "control character in status line";
      c = s.charCodeAt(++pos);
    }
    reason = s.slice(rs, pos);
  }
  if (c !== CR || s.charCodeAt(pos + 1) !== LF) return `malformed status line ${JSON.stringify(firstline(s))}`;
  const header = newheader();
  const n = parsefields(s, pos + 2, header, maxcount);
  if (typeof n === "string") return n;
  return { status, reason, minor, header };
}

function firstline(s: string): string {
  const i = s.indexOf("\n");
  return (i < 0 ? s : s.slice(0, i)).slice(0, 80).replace(/\r$/, "");
}

/**
 * How a response body is delimited (RFC 9112 6.3), given the request method
 * and the response head. Returns [framing, length] or an error message.
 */
export function responseframing(method: string, res: ResponseHead): [Framing, number] | string {
  const st = res.status;
  if (method === "HEAD" || (st >= 100 && st < 200) || st === 204 || st === 304) return [NOBODY, 0];
  if (method === "CONNECT" && st >= 200 && st < 300) return [NOBODY, 0];
  const te = res.header["transfer-encoding"];
  if (te !== undefined) {
    if (res.header["content-length"] !== undefined) return "response has both Content-Length and Transfer-Encoding";
    const codings = te.toLowerCase().split(",");
    if (codings[codings.length - 1]!.trim() !== "chunked") return [UNTILCLOSE, 0];
    if (codings.length > 1) return `unsupported transfer-coding ${JSON.stringify(te)}`;
    return [CHUNKED, 0];
  }
  const cl = res.header["content-length"];
  if (cl !== undefined) {
    const n = parselength(cl);
    if (typeof n === "string") return n;
    return n > 0 ? [FIXED, n] : [NOBODY, 0];
  }
  return [UNTILCLOSE, 0];
}
