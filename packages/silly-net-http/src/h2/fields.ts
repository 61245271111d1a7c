// Header fields between our types and node:http2's, both ways.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { Header } from "../types.js";
import { newheader } from "../fields.js";

/** Received HTTP/2 fields as a Header: no pseudo-fields; host from :authority. */
export function toheader(h: IncomingHttpHeaders): Header {
  const out = newheader();
  for (const k of Object.keys(h)) {
    if (k.charCodeAt(0) === 58 /* : */) continue;
    const v = h[k];
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(k === "set-cookie" ? "\n" : ", ") : String(v);
  }
  const authority = h[":authority"];
  if (out["host"] === undefined && typeof authority === "string") out["host"] = authority;
  return out;
}

/** Trailer pairs (validated, lower-case names) as node:http2 takes them. */
export function trailerfields(t: [string, string][] | undefined): OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  if (t === undefined) return out;
  for (const [k, v] of t) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}
