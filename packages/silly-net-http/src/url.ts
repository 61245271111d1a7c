// Request-target handling: split into path and query, percent-decode both.
// Decoding is strict: a "%" not followed by two hex digits, or bytes that
// are not UTF-8 once decoded, make the target invalid (the server answers 400).

export interface Target {
  /** The path as sent (still percent-encoded). */
  rawpath: string;
  /** The query as sent, without "?" ("" when there is none). */
  rawquery: string;
  /** The path percent-decoded. */
  path: string;
  /**
   * Query parameters, decoded ("+" means a space; a repeated key keeps its
   * last value); undefined when there is no "%" to check: they are then
   * built from rawquery when asked.
   */
  query: Record<string, string> | undefined;
}

/** scheme "://" at the start of an absolute-form target (RFC 3986 3.1). */
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Split and decode a request-target: origin-form ("/a/b?x=1"), absolute-form
 * ("http://host/a?x=1" or any scheme with an authority: the path part is used), authority-form for CONNECT
 * ("host:443", kept as the path) and "*" for OPTIONS. Returns an error
 * message for anything else or for bad percent-encoding.
 */
export function parsetarget(method: string, target: string): Target | string {
  let start = 0;
  if (target.charCodeAt(0) !== 47 /* / */) {
    if (method === "CONNECT") return { rawpath: target, rawquery: "", path: target, query: undefined };
    if (target === "*" && method === "OPTIONS") return { rawpath: "*", rawquery: "", path: "*", query: undefined };
    const scheme = SCHEME.exec(target);
    if (scheme === null) return `invalid request-target ${JSON.stringify(target.slice(0, 80))}`;
    start = scheme[0].length;
    const slash = target.indexOf("/", start);
    const qmark = target.indexOf("?", start);
    if (slash < 0 || (qmark >= 0 && qmark < slash)) {
      // "http://host" or "http://host?x": the path is "/"
      const rawquery = qmark < 0 ? "" : target.slice(qmark + 1);
      const query = checkquery(rawquery);
      if (query === null) return "invalid percent-encoding in the query";
      return { rawpath: "/", rawquery, path: "/", query };
    }
    start = slash;
  }
  const q = target.indexOf("?", start);
  const rawpath = q < 0 ? (start === 0 ? target : target.slice(start)) : target.slice(start, q);
  const rawquery = q < 0 ? "" : target.slice(q + 1);
  const path = decodepath(rawpath);
  if (path === undefined) return "invalid percent-encoding in the path";
  const query = checkquery(rawquery);
  if (query === null) return "invalid percent-encoding in the query";
  return { rawpath, rawquery, path, query };
}

/** Decode a query that has "%" in it now (to reject bad encoding): the object, or null if bad; undefined when there is nothing to check. */
function checkquery(raw: string): Record<string, string> | undefined | null {
  if (raw.indexOf("%") < 0) return undefined;
  return parsequery(raw) ?? null;
}

function emptyquery(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

/** Percent-decode a path ("+" stays "+"); undefined when the encoding is invalid. */
export function decodepath(raw: string): string | undefined {
  if (raw.indexOf("%") < 0) return raw;
  return decode(raw);
}

function decode(s: string): string | undefined {
  try {
    // Rejects "%" without two hex digits and byte sequences that are not UTF-8.
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/**
 * Parse "a=1&b=x%20y&flag": keys and values percent-decoded with "+" as a
 * space; a key without "=" gets ""; empty pieces are skipped; a repeated key
 * keeps its last value. undefined when any piece has invalid encoding.
 */
export function parsequery(raw: string): Record<string, string> | undefined {
  const out = emptyquery();
  if (raw === "") return out;
  let i = 0;
  const end = raw.length;
  while (i <= end) {
    let amp = raw.indexOf("&", i);
    if (amp < 0) amp = end;
    if (amp > i) {
      const eq = raw.indexOf("=", i);
      let k: string;
      let v: string;
      if (eq < 0 || eq > amp) {
        k = raw.slice(i, amp);
        v = "";
      } else {
        k = raw.slice(i, eq);
        v = raw.slice(eq + 1, amp);
      }
      const dk = decodeform(k);
      const dv = decodeform(v);
      if (dk === undefined || dv === undefined) return undefined;
      out[dk] = dv;
    }
    i = amp + 1;
  }
  return out;
}

function decodeform(s: string): string | undefined {
  if (s.indexOf("+") >= 0) s = s.replace(/\+/g, " ");
  if (s.indexOf("%") < 0) return s;
  return decode(s);
}
