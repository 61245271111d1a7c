// WebSocket frames by hand, for peers that speak raw bytes over a stream of
// their own (RFC 6455 5.2): masked client frames out, server frames in.

const KEY = Buffer.from([0xa1, 0x07, 0x5c, 0x3e]);

/** One masked, final frame of opcode `op` (1 text, 2 binary, 8 close, 9 ping, 10 pong). */
export function clientframe(op: number, payload: Buffer | string = ""): Buffer {
  const p = Buffer.from(payload);
  const n = p.length;
  const head = n < 126 ? Buffer.from([0x80 | op, 0x80 | n]) : n < 65536 ? Buffer.from([0x80 | op, 0x80 | 126, n >> 8, n & 255]) : undefined;
  if (head === undefined) throw new RangeError("clientframe: payloads up to 65535 bytes");
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = p[i]! ^ KEY[i & 3]!;
  return Buffer.concat([head, KEY, body]);
}

export interface ServerFrame {
  op: number;
  /** RSV1: the message is compressed (permessage-deflate, RFC 7692). */
  rsv1: boolean;
  payload: Buffer;
}

/** The whole unmasked frames at the start of `buf` (a partial one at its end is left out). */
export function serverframes(buf: Buffer): ServerFrame[] {
  const out: ServerFrame[] = [];
  let at = 0;
  while (buf.length - at >= 2) {
    let n = buf[at + 1]! & 0x7f;
    let h = 2;
    if (n === 126) {
      if (buf.length - at < 4) break;
      n = buf.readUInt16BE(at + 2);
      h = 4;
    } else if (n === 127) {
      if (buf.length - at < 10) break;
      n = Number(buf.readBigUInt64BE(at + 2));
      h = 10;
    }
    if (buf.length - at < h + n) break;
    out.push({ op: buf[at]! & 0x0f, rsv1: (buf[at]! & 0x40) !== 0, payload: buf.subarray(at + h, at + h + n) });
    at += h + n;
  }
  return out;
}
