// RFC 6455 client-side pieces: handshake request/accept check and pre-built masked frames.
import { createHash, randomBytes } from "node:crypto";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export function newKey(): string {
  return randomBytes(16).toString("base64");
}

export function acceptFor(key: string): string {
  return createHash("sha1").update(key + GUID).digest("base64");
}

/** The handshake request; `extensions`: a Sec-WebSocket-Extensions offer. */
export function handshakeRequest(port: number, key: string, extensions?: string): Buffer {
  return Buffer.from(
    "GET / HTTP/1.1\r\n" +
      `Host: 127.0.0.1:${port}\r\n` +
      "Upgrade: websocket\r\n" +
      "Connection: Upgrade\r\n" +
      `Sec-WebSocket-Key: ${key}\r\n` +
      (extensions === undefined ? "" : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
      "Sec-WebSocket-Version: 13\r\n\r\n",
    "latin1",
  );
}

/** The Sec-WebSocket-Extensions value of a response head, or undefined. */
export function extensionsOf(head: string): string | undefined {
  return /\r\nsec-websocket-extensions: *([^\r]*)/i.exec(head)?.[1]?.trim();
}

/**
 * Checks a complete response head (without the final blank line). Returns an
 * error text, or undefined when it is a valid 101 for `key`. `offered`: an
 * extension was offered, so the answer may (and must) name one.
 */
export function checkHandshake(head: string, key: string, offered = false): string | undefined {
  const lines = head.split("\r\n");
  const status = lines[0] ?? "";
  if (!/^HTTP\/1\.1 101\b/.test(status)) return `handshake status: ${status.slice(0, 80)}`;
  const want = acceptFor(key);
  let accept: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "sec-websocket-accept") accept = value;
    if (name === "sec-websocket-extensions" && value !== "" && !offered) return `unexpected extension: ${value}`;
  }
  if (accept !== want) return `bad Sec-WebSocket-Accept: ${accept ?? "(missing)"}`;
  if (offered && extensionsOf(head) === undefined) return "the server declined permessage-deflate";
  return undefined;
}

/** The deterministic payload every message carries; text payloads are printable ASCII. */
export function makePayload(size: number, text: boolean): Buffer {
  const p = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) p[i] = text ? 0x21 + ((i * 7) % 94) : (i * 31 + 7) & 0xff;
  return p;
}

/** One masked client frame (FIN set) carrying `payload`. */
export function maskedFrame(opcode: number, payload: Buffer, mask: Buffer): Buffer {
  const n = payload.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const head = 2 + ext + 4;
  const f = Buffer.allocUnsafe(head + n);
  f[0] = 0x80 | opcode;
  if (ext === 0) {
    f[1] = 0x80 | n;
  } else if (ext === 2) {
    f[1] = 0x80 | 126;
    f.writeUInt16BE(n, 2);
  } else {
    f[1] = 0x80 | 127;
    f.writeBigUInt64BE(BigInt(n), 2);
  }
  mask.copy(f, 2 + ext, 0, 4);
  for (let i = 0; i < n; i++) f[head + i] = payload[i]! ^ mask[i & 3]!;
  return f;
}

/** `count` copies of one frame back to back: the first k frames are `subarray(0, k * frame)`. */
export function frameRun(frame: Buffer, count: number): Buffer {
  const out = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(out, i * frame.length);
  return out;
}
