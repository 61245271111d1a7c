// A raw WebSocket peer over node:net for tests that write frames by hand:
// frames built byte by byte (any bits, lengths and masks), and a peer that
// collects bytes and parses the frames out of them.
import * as assert from "uvu/assert";
import type net from "node:net";

export const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

export interface FrameSpec {
  fin?: boolean;
  rsv?: number; // 0..7 -> RSV1..3 bits
  mask?: boolean;
  /** Override the announced length (the payload sent is still `payload`). */
  len?: number | bigint;
  /** Force the 64-bit length form. */
  len64?: boolean;
}

/** One frame's bytes: header, mask key, (masked) payload. */
export function frame(op: number, payload: Buffer | string | number[] = Buffer.alloc(0), spec: FrameSpec = {}): Buffer {
  const p = Buffer.isBuffer(payload) ? payload : typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const fin = spec.fin ?? true;
  const mask = spec.mask ?? true;
  const len = spec.len ?? p.length;
  const parts: Buffer[] = [];
  const b0 = (fin ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | op;
  const m = mask ? 0x80 : 0;
  if (!spec.len64 && typeof len === "number" && len < 126) parts.push(Buffer.from([b0, m | len]));
  else if (!spec.len64 && typeof len === "number" && len < 65536) parts.push(Buffer.from([b0, m | 126, len >> 8, len & 255]));
  else {
    const h = Buffer.alloc(10);
    h[0] = b0;
    h[1] = m | 127;
    h.writeBigUInt64BE(BigInt(len), 2);
    parts.push(h);
  }
  if (mask) {
    parts.push(KEY);
    const q = Buffer.from(p);
    for (let i = 0; i < q.length; i++) q[i]! ^= KEY[i & 3]!;
    parts.push(q);
  } else parts.push(p);
  return Buffer.concat(parts);
}

export const closepayload = (code: number, reason: Buffer | string = ""): Buffer =>
  Buffer.concat([Buffer.from([code >> 8, code & 255]), Buffer.isBuffer(reason) ? reason : Buffer.from(reason)]);

export interface Parsed {
  fin: boolean;
  rsv: number;
  op: number;
  masked: boolean;
  payload: Buffer;
}

/** A raw TCP peer that collects bytes and parses frames out of them. */
export class Raw {
  buf = Buffer.alloc(0);
  ended = false;
  /** Errors the socket saw (a reset, a failed write). */
  readonly errors: string[] = [];
  readonly closed: Promise<unknown>;
  private wake: (() => void) | undefined;

  constructor(readonly sock: net.Socket) {
    sock.on("data", (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.poke();
    });
    sock.on("end", () => {
      this.ended = true;
      this.poke();
    });
    sock.on("error", (e: NodeJS.ErrnoException) => this.errors.push(e.code ?? e.message));
    sock.on("close", () => {
      this.ended = true;
      this.poke();
    });
    this.closed = new Promise((resolve) => sock.once("close", resolve)); // (once() would reject on an error)
  }

  private poke(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async more(): Promise<void> {
    if (this.ended) throw new Error(`the peer closed (${this.errors.join(", ") || "EOF"}); unparsed bytes: ${this.buf.toString("hex")}`);
    await new Promise<void>((r) => (this.wake = r));
  }

  send(...b: Buffer[]): void {
    this.sock.write(Buffer.concat(b));
  }

  /**
   * Write all of `b` before reading anything more, as a blocking client does:
   * reading pauses until the kernel has taken every byte. Resolves false when
   * the write failed (the peer reset the connection).
   */
  async sendall(b: Buffer): Promise<boolean> {
    this.sock.pause();
    const ok = await new Promise<boolean>((resolve) => this.sock.write(b, (err) => resolve(err == null)));
    this.sock.resume();
    return ok;
  }

  /** Bytes through the first "\r\n\r\n" (an HTTP head). */
  async head(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf("\r\n\r\n");
      if (i >= 0) {
        const h = this.buf.subarray(0, i + 4).toString("latin1");
        this.buf = this.buf.subarray(i + 4);
        return h;
      }
      await this.more();
    }
  }

  /** The next whole frame (unmasked). */
  async frame(): Promise<Parsed> {
    for (;;) {
      const b = this.buf;
      if (b.length >= 2) {
        let len = b[1]! & 0x7f;
        let p = 2;
        if (len === 126) {
          if (b.length < 4) {
            await this.more();
            continue;
          }
          len = b.readUInt16BE(2);
          p = 4;
        } else if (len === 127) {
          if (b.length < 10) {
            await this.more();
            continue;
          }
          len = Number(b.readBigUInt64BE(2));
          p = 10;
        }
        const masked = (b[1]! & 0x80) !== 0;
        const kp = p;
        if (masked) p += 4;
        if (b.length >= p + len) {
          const payload = Buffer.from(b.subarray(p, p + len));
          if (masked) for (let i = 0; i < len; i++) payload[i]! ^= b[kp + (i & 3)]!;
          this.buf = b.subarray(p + len);
          return { fin: (b[0]! & 0x80) !== 0, rsv: (b[0]! >> 4) & 7, op: b[0]! & 15, masked, payload };
        }
      }
      await this.more();
    }
  }

  /**
   * The next data message, its frames reassembled: RSV1 of its first frame,
   * its opcode, payload and frame count; control frames before its end are
   * collected in `controls`.
   */
  async message(controls: Parsed[] = []): Promise<{ rsv1: boolean; op: number; payload: Buffer; frames: number }> {
    const parts: Buffer[] = [];
    let first: Parsed | undefined;
    for (;;) {
      const f = await this.frame();
      if (f.op >= 8) {
        controls.push(f);
        continue;
      }
      first ??= f;
      assert.ok(parts.length === 0 || (f.op === 0 && (f.rsv & 4) === 0), "continuation frames carry no opcode and no RSV1");
      parts.push(f.payload);
      if (f.fin) return { rsv1: (first.rsv & 4) !== 0, op: first.op, payload: Buffer.concat(parts), frames: parts.length };
    }
  }

  /** The next frame must be a close frame: its code (1005 when empty). */
  async closecode(): Promise<number> {
    const f = await this.frame();
    assert.is(f.op, 8, `expected a close frame, got opcode ${f.op}`);
    return f.payload.length >= 2 ? f.payload.readUInt16BE(0) : 1005;
  }
}
