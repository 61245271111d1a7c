// Close codes and close frame payloads (RFC 6455 sections 5.5.1, 7.4).
import { decodeutf8, isvalidutf8 } from "./utf8.js";

/** Close code used when a close frame carries no payload (never sent on the wire). */
export const NO_STATUS = 1005;
/** Close code reported when the connection dropped without a close frame (never sent). */
export const ABNORMAL = 1006;

/**
 * True when `code` may appear in a close frame: 1000-1003, 1007-1014 (1012-1014
 * are IANA-registered since the RFC) and the application ranges 3000-4999.
 * 1004 (reserved), 1005/1006/1015 (local-only meanings), anything below 1000,
 * 1016-2999 (unassigned protocol range) and 5000+ are refused.
 */
export function validclosecode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
  );
}

/** A close payload fits a control frame: 2 code bytes + at most 123 reason bytes. */
export const MAX_REASON = 123;

/**
 * The payload of a close frame. No code gives an empty payload (a reason then
 * is not allowed). Throws RangeError for a code that is not valid on the wire
 * or a reason over 123 bytes: those are programmer errors the socket layer
 * turns into error values before calling this.
 */
export function encodeclose(code?: number, reason = ""): Buffer {
  if (code === undefined) {
    if (reason !== "") throw new RangeError("a close reason needs a close code");
    return Buffer.alloc(0);
  }
  if (!Number.isInteger(code) || !validclosecode(code)) throw new RangeError(`invalid close code ${code}`);
  const n = Buffer.byteLength(reason);
  if (n > MAX_REASON) throw new RangeError(`close reason is ${n} bytes, the limit is ${MAX_REASON}`);
  const b = Buffer.allocUnsafe(2 + n);
  b[0] = code >>> 8;
  b[1] = code & 255;
  b.write(reason, 2);
  return b;
}

/**
 * A decoded close payload: `ok` with the code (1005 when the payload was empty)
 * and the reason, or not `ok` with the close code the receiver must fail the
 * connection with (1002 protocol error, 1007 bad UTF-8) and why.
 */
export type CloseDecoded =
  | { ok: true; code: number; reason: string }
  | { ok: false; code: 1002 | 1007; reason: string };

/** Decodes and checks a received close payload. */
export function decodeclose(payload: Uint8Array): CloseDecoded {
  const n = payload.length;
  if (n === 0) return { ok: true, code: NO_STATUS, reason: "" };
  if (n === 1) return { ok: false, code: 1002, reason: "close frame with a 1-byte payload" };
  const code = (payload[0] << 8) | payload[1];
  if (!validclosecode(code)) return { ok: false, code: 1002, reason: `invalid close code ${code}` };
  if (!isvalidutf8(payload, 2, n)) return { ok: false, code: 1007, reason: "invalid UTF-8 in close reason" };
  const b = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, n);
  return { ok: true, code, reason: decodeutf8(b, 2, n) };
}
