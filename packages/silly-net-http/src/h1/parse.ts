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

const TOO_MANY = "too many header fields";

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

/** The lower-case name at s[start, start+len): a COMMON constant when it is one. */
function fieldname(s: string, start: number, len: number): string {
  const list = BYLENGTH[len];
  if (list !== undefined) {
    outer: for (let k = 0; k < list.length; k++) {
      const cand = list[k]!;
      for (let i = 0; i < len; i++) {
        let c = s.charCodeAt(start + i);
        if (c >= 65 && c <= 90) c += 32;
        if (c !== cand.charCodeAt(i)) continue outer;
      }
      return cand;
    }
  }
  return s.slice(start, start + len).toLowerCase();
}

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
    const name = fieldname(s, ns, pos - ns);
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

/** Case-insensitive test: do the bytes at buf[at..] spell `lower` (a lower-case ASCII name)? */
function isname(buf: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((buf[at + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
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
 * built later by buildheader() if the handler asks for it. Returns the head
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
  // Header lines: validate every byte; pick out the fields acted on.
  let count = 0;
  let hosts = 0;
  let hostcomma = false;
  let cl: string | undefined;
  let te: string | undefined;
  let conn = 0;
  let upgrade = false;
  let expect: string | undefined;
  for (;;) {
    c = buf[pos]!;
    if (c === CR) {
      if (pos + 2 === end && buf[pos + 1] === LF) break;
      return new HeadError(400, "bare CR in header section");
    }
    if (c === SP || c === HT) return new HeadError(400, "obsolete line folding (a header line starting with whitespace)");
    if (c === LF) return new HeadError(400, "bare LF in header section");
    const ns = pos;
    while (TCHAR[c] === 1) c = buf[++pos]!;
    if (c !== COLON) {
      if (pos >= end) return new HeadError(400, "unterminated header section");
      if (c === SP || c === HT) return new HeadError(400, "whitespace between a header name and its colon");
      return new HeadError(400, pos === ns ? "empty header name" : "invalid character in header name");
    }
    const nlen = pos - ns;
    if (nlen === 0) return new HeadError(400, "empty header name");
    pos++;
    while ((c = buf[pos]!) === SP || c === HT) pos++;
    const vs = pos;
    while (FIELDCHAR[c] === 1) c = buf[++pos]!;
    if (c !== CR) {
      if (c === LF) return new HeadError(400, "bare LF in header section");
      if (pos >= end) return new HeadError(400, "unterminated header section");
      return new HeadError(400, "control character in a header value");
    }
    let ve = pos;
    while (ve > vs && ((c = buf[ve - 1]!) === SP || c === HT)) ve--;
    if (buf[pos + 1] !== LF) return new HeadError(400, "bare CR in header section");
    pos += 2;
    if (++count > limits.headercount) return new HeadError(431, TOO_MANY);
    switch (nlen) {
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
          const n = ve - vs;
          if (n === 10 && isname(buf, vs, "keep-alive")) conn |= CONN_KEEPALIVE;
          else if (n === 5 && isname(buf, vs, "close")) conn |= CONN_CLOSE;
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
  if (conn & CONN_CLOSE) keepalive = false;
  else if (conn & CONN_KEEPALIVE) keepalive = true;
  let expect100 = false;
  if (expect !== undefined) {
    if (expect.toLowerCase() !== "100-continue") return new HeadError(417, `unsupported expectation ${JSON.stringify(expect)}`);
    expect100 = minor === 1;
  }
  return { method, target, minor, head: buf, fields, framing, length, keepalive, upgrade, expect100 };
}

function join(prev: string | undefined, v: string): string {
  return prev === undefined ? v : `${prev}, ${v}`;
}

/** The lower-case name at buf[start, start+len): a COMMON constant when it is one. */
function fieldnameat(buf: Buffer, start: number, len: number): string {
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
  return buf.toString("latin1", start, start + len).toLowerCase();
}

/**
 * The header object of a request parsed by parserequest (already validated,
 * so every line is `name ":" OWS value OWS CRLF`). Made from the bytes: each
 * value is a string of its own, not a slice of the whole head, so a header
 * object kept for a connection's life (a WebSocket's stream) keeps only its
 * values alive.
 */
export function buildheader(req: RequestHead): Header {
  const header = newheader();
  const buf = req.head;
  const end = buf.length - 2; // the empty line
  let pos = req.fields;
  while (pos < end) {
    const ns = pos;
    while (buf[pos] !== COLON) pos++;
    const name = fieldnameat(buf, ns, pos - ns);
    let c = buf[++pos];
    while (c === SP || c === HT) c = buf[++pos];
    const vs = pos;
    while (buf[pos] !== CR) pos++;
    let ve = pos;
    while (ve > vs && ((c = buf[ve - 1]) === SP || c === HT)) ve--;
    pos += 2;
    const value = buf.toString("latin1", vs, ve);
    const prev = header[name];
    if (prev === undefined) header[name] = value;
    else header[name] = flat(name === "set-cookie" ? `${prev}\n${value}` : `${prev}, ${value}`);
  }
  return header;
}

/** A flat copy of a latin1 string (a repeated field's joined value), so it does not keep its parts alive. */
function flat(s: string): string {
  return Buffer.from(s, "latin1").toString("latin1");
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
