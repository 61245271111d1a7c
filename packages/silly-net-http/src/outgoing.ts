// Header fields we send, for HTTP/1.x (rendered lines) and HTTP/2 (an
// object for node:http2), server and client alike: validation, the fields
// the framing decides on, the Date field, body sizes.
import type { Body, HeaderInput } from "./types.js";
import { FIELDCHAR, TCHAR } from "./fields.js";

/** How scanheaders treats the fields. */
export const RAW = 0; // render every field as given (1xx heads)
export const H1 = 1; // take the framing and connection fields out, render the rest
export const H2 = 2; // take the framing fields out, drop connection-specific ones, keep the rest as an object
export type Mode = typeof RAW | typeof H1 | typeof H2;

/** What scanheaders found. */
export interface Scan {
  /** H1, RAW: the header lines ("name: value\r\n") of the fields kept. */
  lines: string;
  /** H2: the fields kept, lower-case names. */
  fields: Record<string, string | string[]>;
  /** content-length given, or -1. */
  length: number;
  /** transfer-encoding given (must be chunked). */
  chunked: boolean;
  /** connection value given, or undefined. */
  connection: string | undefined;
  /** host value given (client), or undefined. */
  host: string | undefined;
  /** a date field was given. */
  date: boolean;
}

export function newscan(): Scan {
  return { lines: "", fields: {}, length: -1, chunked: false, connection: undefined, host: undefined, date: false };
}

/** Fields HTTP/2 forbids (RFC 9113 8.2.2): dropped when sending over HTTP/2. */
const CONNECTION_FIELDS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"]);

/**
 * Validate outgoing header fields into `out` (see Mode). Throws TypeError
 * for a name that is not a token or a value with control characters (CR/LF
 * would let a value inject fields): programmer errors.
 */
export function scanheaders(h: HeaderInput | undefined, mode: Mode, out: Scan, who: string): void {
  out.lines = "";
  out.length = -1;
  out.chunked = false;
  out.connection = undefined;
  out.host = undefined;
  out.date = false;
  if (mode === H2) out.fields = {};
  if (h === undefined || h === null) return;
  if (typeof h !== "object") throw new TypeError(`${who}: headers must be an object`);
  let lines = "";
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    checkname(name, who);
    if (mode !== RAW) {
      const n = name.length;
      // Cheap length test first: only a few names are special.
      if (n === 14 && name.toLowerCase() === "content-length") {
        out.length = checklength(v, who);
        continue;
      }
      if (n === 17 && name.toLowerCase() === "transfer-encoding") {
        const te = String(v).trim().toLowerCase();
        if (te !== "chunked") throw new TypeError(`${who}: only "transfer-encoding: chunked" can be sent, got ${JSON.stringify(v)}`);
        out.chunked = true;
        continue;
      }
      if (n === 10 && name.toLowerCase() === "connection") {
        out.connection = checkvalue(name, String(v), who);
        continue;
      }
      if (n === 4) {
        const l = name.toLowerCase();
        if (l === "host") {
          out.host = checkvalue(name, String(v), who);
          continue;
        }
        if (l === "date") out.date = true;
      }
    }
    if (mode === H2) {
      const k = name.toLowerCase();
      if (CONNECTION_FIELDS.has(k)) continue;
      out.fields[k] = typeof v === "string" ? checkvalue(name, v, who) : typeof v === "number" ? checknumber(name, v, who) : checklist(name, v, who);
    } else if (typeof v === "string") lines += `${name}: ${checkvalue(name, v, who)}\r\n`;
    else if (typeof v === "number") lines += `${name}: ${checknumber(name, v, who)}\r\n`;
    else for (const x of checklist(name, v, who)) lines += `${name}: ${x}\r\n`;
  }
  out.lines = lines;
}

function checklist(name: string, v: unknown, who: string): string[] {
  if (!Array.isArray(v)) throw new TypeError(`${who}: header ${name}: value must be a string, a number or an array of strings`);
  return (v as readonly unknown[]).map((x) => {
    if (typeof x !== "string") throw new TypeError(`${who}: header ${name}: array elements must be strings`);
    return checkvalue(name, x, who);
  });
}

/** Names already found valid (names repeat: content-type, ...); bounded. */
const goodnames = new Set<string>();

export function checkname(name: string, who: string): void {
  if (goodnames.has(name)) return;
  if (name.length === 0) throw new TypeError(`${who}: empty header name`);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c > 127 || TCHAR[c] !== 1) throw new TypeError(`${who}: invalid header name ${JSON.stringify(name)}`);
  }
  if (goodnames.size < 1024) goodnames.add(name);
}

/** Values may hold any character but controls (HT is allowed); they are sent as UTF-8. Returns it trimmed. */
export function checkvalue(name: string, v: string, who: string): string {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 256 && FIELDCHAR[c] !== 1) {
      throw new TypeError(`${who}: header ${name}: control character 0x${c.toString(16).padStart(2, "0")} in value`);
    }
  }
  const last = v.charCodeAt(v.length - 1);
  if (v.charCodeAt(0) === 32 || v.charCodeAt(0) === 9 || last === 32 || last === 9) return v.trim();
  return v;
}

function checknumber(name: string, v: number, who: string): string {
  if (!Number.isFinite(v)) throw new TypeError(`${who}: header ${name}: ${v} is not a finite number`);
  return String(v);
}

export function checklength(v: unknown, who: string): number {
  let n = NaN;
  if (typeof v === "number") n = v;
  else if (typeof v === "string") {
    const t = v.length > 0 && (v.charCodeAt(0) === 32 || v.charCodeAt(v.length - 1) === 32) ? v.trim() : v;
    if (t.length > 0 && t.length <= 15) {
      n = 0;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i) - 48;
        if (c < 0 || c > 9) {
          n = NaN;
          break;
        }
        n = n * 10 + c;
      }
    }
  }
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`${who}: content-length must be an integer >= 0, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * Trailer fields to send, validated: [name, value] pairs, lower-case names.
 * Fields that frame or route a message may not be trailers (RFC 9110 6.5.1).
 */
export function checktrailer(t: HeaderInput, who: string): [string, string][] {
  if (t === null || typeof t !== "object") throw new TypeError(`${who}: trailer must be an object`);
  const out: [string, string][] = [];
  for (const name in t) {
    const v = t[name];
    if (v === undefined) continue;
    checkname(name, who);
    const k = name.toLowerCase();
    if (NOTRAILER.has(k)) throw new TypeError(`${who}: ${name} cannot be sent as a trailer field`);
    if (typeof v === "string") out.push([k, checkvalue(name, v, who)]);
    else if (typeof v === "number") out.push([k, checknumber(name, v, who)]);
    else for (const x of checklist(name, v, who)) out.push([k, x]);
  }
  return out;
}

const NOTRAILER = new Set([
  "content-length", "transfer-encoding", "content-type", "content-encoding", "content-range", "host", "connection",
  "keep-alive", "te", "trailer", "upgrade", "expect", "authorization", "set-cookie", "cookie", "cache-control",
]);

let datestr: string | undefined = undefined;

function datestale(): void {
  datestr = undefined;
}

/** The current time as an IMF-fixdate; computed once, then kept until the next second starts. */
export function httpdate(): string {
  if (datestr === undefined) {
    const now = Date.now();
    datestr = new Date(now).toUTCString();
    setTimeout(datestale, 1000 - (now % 1000)).unref();
  }
  return datestr;
}

/** May a response with this status (to a non-HEAD request) carry a body? */
export function bodyallowed(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}

/** The bytes of a body: strings count as UTF-8. */
export function bodylength(b: string | Uint8Array): number {
  if (typeof b !== "string") return b.byteLength;
  const n = b.length;
  if (n > 64) return Buffer.byteLength(b);
  // Short text: count in JS (cheaper than the native call) unless it leaves ASCII.
  for (let i = 0; i < n; i++) if (b.charCodeAt(i) > 0x7f) return Buffer.byteLength(b);
  return n;
}

export function checkbody(b: unknown, who: string): asserts b is Body {
  if (typeof b !== "string" && !(b instanceof Uint8Array)) throw new TypeError(`${who}: body must be a string or a Uint8Array`);
}
