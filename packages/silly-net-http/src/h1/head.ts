// Building outgoing heads: status lines, validated header lines, the Date
// field. A head is built as one string so it leaves in one write.
import type { HeaderInput } from "../types.js";
import { FIELDCHAR, TCHAR } from "./parse.js";

export const REASONS: Readonly<Record<number, string>> = {
  100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
  200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content",
  205: "Reset Content", 206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used",
  300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
  305: "Use Proxy", 307: "Temporary Redirect", 308: "Permanent Redirect",
  400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found",
  405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout",
  409: "Conflict", 410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
  414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable", 417: "Expectation Failed",
  418: "I'm a teapot", 421: "Misdirected Request", 422: "Unprocessable Content", 423: "Locked", 424: "Failed Dependency",
  425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
  431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
  504: "Gateway Timeout", 505: "HTTP Version Not Supported", 506: "Variant Also Negotiates",
  507: "Insufficient Storage", 508: "Loop Detected", 510: "Not Extended", 511: "Network Authentication Required",
};

const statuslines: string[] = [];

/** "HTTP/1.1 200 OK\r\n" (cached per status). */
export function statusline(status: number): string {
  let l = statuslines[status];
  if (l === undefined) {
    l = `HTTP/1.1 ${status} ${REASONS[status] ?? "Unknown"}\r\n`;
    statuslines[status] = l;
  }
  return l;
}

/** May a response with this status (to a non-HEAD request) carry a body? */
export function bodyallowed(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}

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

/** What scanheaders found besides the plain lines. */
export interface Scan {
  /** Header lines ("name: value\r\n") other than the ones below. */
  lines: string;
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
  return { lines: "", length: -1, chunked: false, connection: undefined, host: undefined, date: false };
}

/**
 * Validate outgoing header fields and render them. With `raw` every field is
 * rendered as given (1xx heads); otherwise content-length, transfer-encoding,
 * connection and host are taken out into `out` for the caller to decide on.
 * Throws TypeError for a name that is not a token or a value with control
 * characters (CR/LF would let a value inject fields).
 */
export function scanheaders(h: HeaderInput | undefined, raw: boolean, out: Scan, who: string): void {
  out.lines = "";
  out.length = -1;
  out.chunked = false;
  out.connection = undefined;
  out.host = undefined;
  out.date = false;
  if (h === undefined || h === null) return;
  if (typeof h !== "object") throw new TypeError(`${who}: headers must be an object`);
  let lines = "";
  for (const name in h) {
    const v = h[name];
    if (v === undefined) continue;
    checkname(name, who);
    if (!raw) {
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
      if (n === 4 && name.toLowerCase() === "host") {
        out.host = checkvalue(name, String(v), who);
        continue;
      }
      if (n === 4 && name.toLowerCase() === "date") out.date = true;
    }
    if (typeof v === "string") lines += `${name}: ${checkvalue(name, v, who)}\r\n`;
    else if (typeof v === "number") lines += `${name}: ${checknumber(name, v, who)}\r\n`;
    else if (Array.isArray(v)) {
      for (const x of v as readonly unknown[]) {
        if (typeof x !== "string") throw new TypeError(`${who}: header ${name}: array elements must be strings`);
        lines += `${name}: ${checkvalue(name, x, who)}\r\n`;
      }
    } else {
      throw new TypeError(`${who}: header ${name}: value must be a string, a number or an array of strings`);
    }
  }
  out.lines = lines;
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

/** Values may hold any character but controls (HT is allowed); they are sent as UTF-8. */
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

/** The bytes of a body: strings count as UTF-8. */
export function bodylength(b: string | Uint8Array): number {
  if (typeof b !== "string") return b.byteLength;
  const n = b.length;
  if (n > 64) return Buffer.byteLength(b);
  // Short text: count in JS (cheaper than the native call) unless it leaves ASCII.
  for (let i = 0; i < n; i++) if (b.charCodeAt(i) > 0x7f) return Buffer.byteLength(b);
  return n;
}

const hexcache: string[] = [];
/** "1f4\r\n": the size line of a chunk. */
export function chunksize(n: number): string {
  if (n < 4096) {
    let s = hexcache[n];
    if (s === undefined) hexcache[n] = s = `${n.toString(16)}\r\n`;
    return s;
  }
  return `${n.toString(16)}\r\n`;
}
