// HTTP/1.x head parsing: pure functions from the bytes of a head (request
// line or status line, header lines, the empty line) to a parsed head or an
// error. Strict by design (RFC 9112): the field lines go through the one
// scanner in fields.ts; conflicting framing is refused here.
//
// Heads are walked as bytes; only the values acted on become strings.
import type { Header } from "../types.js";
import { TCHAR, TOO_MANY, fieldspans, isname, newheader, parsefields, scanfields } from "../fields.js";

const CR = 13;
const LF = 10;
const SP = 32;
const HT = 9;

/** request-target characters: VCHAR only (no space, no controls, no obs-text). */
const TARGETCHAR = new Uint8Array(256);
for (let c = 0; c < 256; c++) TARGETCHAR[c] = c > 0x20 && c < 0x7f ? 1 : 0;

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
  /** The head's bytes and where its header lines start: buildheader() makes the object when asked. */
  head: Buffer;
  fields: number;
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

const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

/** The method in buf[start, end): a constant string for the standard ones. */
function methodname(buf: Buffer, start: number, end: number): string {
  const len = end - start;
  outer: for (let k = 0; k < METHODS.length; k++) {
    const m = METHODS[k]!;
    if (m.length !== len) continue;
    for (let i = 0; i < len; i++) if (buf[start + i] !== m.charCodeAt(i)) continue outer;
    return m;
  }
  return buf.toString("latin1", start, end);
}

/**
 * Parse a request head (request line through the final CRLF CRLF) and
 * check its framing and connection fields, working on the bytes: only the
 * target and the fields acted on become strings here; the header object is
 * built later by requestheader() if the handler asks for it. Returns the head
 * or a HeadError.
 */
export function parserequest(buf: Buffer, limits: HeadLimits): RequestHead | HeadError {
  const end = buf.length;
  let pos = 0;
  // RFC 9112 2.2: an empty line before the request line is ignored.
  while (buf[pos] === CR && buf[pos + 1] === LF) pos += 2;
  if (pos >= end) return new HeadError(400, "empty request");
  const linestart = pos;
  let c = buf[pos]!;
  while (TCHAR[c] === 1) c = buf[++pos]!;
  if (pos === linestart || c !== SP) return requestlineerror(buf, linestart, limits);
  const method = methodname(buf, linestart, pos);
  const ts = ++pos;
  c = buf[pos]!;
  while (TARGETCHAR[c] === 1) c = buf[++pos]!;
  if (pos === ts || c !== SP) return requestlineerror(buf, linestart, limits);
  const target = buf.toString("latin1", ts, pos);
  pos++;
  // "HTTP/" DIGIT "." DIGIT CRLF
  if (
    buf[pos] !== 72 || buf[pos + 1] !== 84 || buf[pos + 2] !== 84 ||
    buf[pos + 3] !== 80 || buf[pos + 4] !== 47 || buf[pos + 6] !== 46
  ) {
    return requestlineerror(buf, linestart, limits);
  }
  const major = buf[pos + 5]! - 48;
  const minor = buf[pos + 7]! - 48;
  if (!(major >= 0 && major <= 9 && minor >= 0 && minor <= 9)) return requestlineerror(buf, linestart, limits);
  pos += 8;
  if (buf[pos] !== CR || buf[pos + 1] !== LF) return requestlineerror(buf, linestart, limits);
  if (pos - linestart > limits.requestline) return new HeadError(414, "request line too long");
  if (major !== 1 || minor > 1) return new HeadError(505, `HTTP/${major}.${minor} is not supported`);
  pos += 2;
  const fields = pos;
  const n = scanfields(buf, pos, limits.headercount);
  if (typeof n === "string") return new HeadError(n === TOO_MANY ? 431 : 400, n);
  // Pick out the fields acted on.
  let hosts = 0;
  let hostcomma = false;
  let cl: string | undefined;
  let te: string | undefined;
  let conn = 0;
  let upgrade = false;
  let expect: string | undefined;
  const spans = fieldspans();
  for (let at = 0; at < 4 * n; at += 4) {
    const ns = spans[at]!;
    const vs = spans[at + 2]!;
    const ve = spans[at + 3]!;
    switch (spans[at + 1]! - ns) {
      case 4:
        if (isname(buf, ns, "host")) {
          hosts++;
          const comma = buf.indexOf(44, vs);
          if (comma >= 0 && comma < ve) hostcomma = true;
        }
        break;
      case 6:
        if (isname(buf, ns, "expect")) expect = join(expect, buf.toString("latin1", vs, ve));
        break;
      case 7:
        if (isname(buf, ns, "upgrade")) upgrade = true;
        break;
      case 10:
        if (isname(buf, ns, "connection")) {
          const len = ve - vs;
          if (len === 10 && isname(buf, vs, "keep-alive")) conn |= CONN_KEEPALIVE;
          else if (len === 5 && isname(buf, vs, "close")) conn |= CONN_CLOSE;
          else conn |= connectionflags(buf.toString("latin1", vs, ve));
        }
        break;
      case 14:
        if (isname(buf, ns, "content-length")) cl = join(cl, buf.toString("latin1", vs, ve));
        break;
      case 17:
        if (isname(buf, ns, "transfer-encoding")) te = join(te, buf.toString("latin1", vs, ve));
        break;
    }
  }
  // Host (RFC 9112 3.2), framing (6.3), Connection, Expect.
  if (hosts === 0 && minor === 1) return new HeadError(400, "missing Host header");
  if (hosts > 1 || hostcomma) return new HeadError(400, "more than one Host header");
  let framing: Framing = NOBODY;
  let length = 0;
  // A CONNECT request has no content (RFC 9110 9.3.6): what follows its head is the tunnel's.
  if (method === "CONNECT") {
    if (te !== undefined || (cl !== undefined && cl !== "0")) return new HeadError(400, "CONNECT with a body");
  } else if (te !== undefined) {
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
  if (conn & CONN_CLOSE) keepalive = false;
  else if (conn & CONN_KEEPALIVE) keepalive = true;
  // Expect is HTTP/1.1's: an HTTP/1.0 client expects nothing (RFC 9110 10.1.1).
  let expect100 = false;
  if (expect !== undefined && minor === 1) {
    if (expect.toLowerCase() !== "100-continue") return new HeadError(417, `unsupported expectation ${JSON.stringify(expect)}`);
    expect100 = true;
  }
  // An upgrade is asked for with both fields, and never in HTTP/1.0 (RFC 9110 7.8).
  upgrade = upgrade && (conn & CONN_UPGRADE) !== 0 && minor === 1;
  return { method, target, minor, head: buf, fields, framing, length, keepalive, upgrade, expect100 };
}

function join(prev: string | undefined, v: string): string {
  return prev === undefined ? v : `${prev}, ${v}`;
}

/**
 * The header object of a request parsed by parserequest (its fields are
 * valid: the scan that made it found them so), built when asked for.
 */
export function requestheader(req: RequestHead): Header {
  const h = parsefields(req.head, req.fields, Infinity);
  return typeof h === "string" ? newheader() : h;
}

/** The request line is malformed: find out what to say about it. */
function requestlineerror(buf: Buffer, start: number, limits: HeadLimits): HeadError {
  let end = buf.indexOf("\r\n", start);
  if (end < 0) end = buf.length;
  const lf = buf.indexOf(LF, start);
  if (lf >= 0 && lf < end) return new HeadError(400, "bare LF in request line");
  if (end - start > limits.requestline) return new HeadError(414, "request line too long");
  return new HeadError(400, "malformed request line");
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

/**
 * Parse a response head (status line through the final CRLF CRLF).
 * Returns the head or an error message.
 */
export function parseresponse(buf: Buffer, maxcount: number): ResponseHead | string {
  // "HTTP/1." DIGIT SP 3DIGIT [SP reason] CRLF
  const minor = buf[7]! - 48;
  const d0 = buf[9]! - 48;
  const d1 = buf[10]! - 48;
  const d2 = buf[11]! - 48;
  if (
    buf.toString("latin1", 0, 7) !== "HTTP/1." || !(minor >= 0 && minor <= 9) || buf[8] !== SP ||
    !(d0 >= 1 && d0 <= 9 && d1 >= 0 && d1 <= 9 && d2 >= 0 && d2 <= 9)
  ) {
    return `malformed status line ${JSON.stringify(firstline(buf))}`;
  }
  const status = d0 * 100 + d1 * 10 + d2;
  let pos = 12;
  let reason = "";
  let c = buf[pos];
  if (c === SP) {
    const rs = ++pos;
    while ((c = buf[pos]) !== CR) {
      if (c === undefined) break;
      if (c === LF) return "bare LF in status line";
      if (c !== HT && (c < 0x20 || c === 0x7f)) return "control character in status line";
      pos++;
    }
    reason = buf.toString("latin1", rs, pos);
  }
  if (c !== CR || buf[pos + 1] !== LF) return `malformed status line ${JSON.stringify(firstline(buf))}`;
  const header = parsefields(buf, pos + 2, maxcount);
  if (typeof header === "string") return header;
  return { status, reason, minor, header };
}

function firstline(buf: Buffer): string {
  const s = buf.toString("latin1", 0, 120);
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
