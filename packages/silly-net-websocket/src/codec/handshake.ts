// Pure helpers for the opening handshake (RFC 6455 section 4).
import crypto, { createHash, randomBytes } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** crypto.hash (Node >= 20.12): a one-shot digest without a Hash object per call. */
const oneshot = (crypto as { hash?: (algorithm: string, data: string, encoding: "base64") => string }).hash;

/** The Sec-WebSocket-Accept value for a Sec-WebSocket-Key. */
export function acceptkey(key: string): string {
  if (oneshot !== undefined) return oneshot("sha1", key + GUID, "base64");
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** A fresh Sec-WebSocket-Key: 16 random bytes, base64. */
export function genkey(): string {
  return randomBytes(16).toString("base64");
}

// 16 bytes are exactly 22 base64 digits + "==". Buffer's base64 decoder skips
// junk characters, so the shape is checked with a pattern instead.
const KEY = /^[A-Za-z0-9+/]{22}==$/;

/** True when `key` is base64 that decodes to exactly 16 bytes. */
export function validkey(key: string | undefined): boolean {
  return key !== undefined && KEY.test(key);
}

/**
 * True when the comma-separated header value lists `token` (case-insensitive,
 * spaces and tabs around items ignored), e.g. `Connection: keep-alive, Upgrade`.
 */
export function hastoken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const want = token.toLowerCase();
  const n = value.length;
  // Walk the items in place (no split, no trimmed copies): one is made per handshake.
  let start = 0;
  while (start <= n) {
    let end = value.indexOf(",", start);
    if (end < 0) end = n;
    let a = start;
    let b = end;
    while (a < b && isows(value.charCodeAt(a))) a++;
    while (b > a && isows(value.charCodeAt(b - 1))) b--;
    if (b - a === want.length && sameci(value, a, want)) return true;
    start = end + 1;
  }
  return false;
}

function isows(c: number): boolean {
  return c === 32 || c === 9;
}

/** Does value[at, at + lower.length) equal `lower` ignoring ASCII case? */
function sameci(value: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = value.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}
