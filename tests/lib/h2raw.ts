// A hand-written HTTP/2 client (RFC 9113) over node:tls, frame by frame, for
// what node:http2 will not send: a request that lacks pseudo-header fields
// (node:http2 fills them in) or DATA after END_STREAM. Header blocks are
// literal fields without indexing (no HPACK state); of the answers' header
// blocks only a :status from the static table is read.
import tls from "node:tls";

const DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8;
const END_STREAM = 1, END_HEADERS = 4, ACK = 1;
/** RFC 7541 appendix A: static table entries 8..14 are :status values. */
const STATUS: Record<number, number> = { 8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500 };

export interface RawStream {
  /** The :status of the first header block, when the static table has it. */
  status: number | undefined;
  data: Buffer;
  ended: boolean;
  /** The RST_STREAM code received, if any. */
  rst: number | undefined;
}

function hpackint(n: number, prefix: number): number[] {
  const max = (1 << prefix) - 1;
  if (n < max) return [n];
  const out = [max];
  n -= max;
  while (n >= 128) {
    out.push((n & 127) | 128);
    n >>= 7;
  }
  out.push(n);
  return out;
}

/** A header block of literal fields without indexing, new names (RFC 7541 6.2.2). */
function headerblock(fields: [string, string][]): Buffer {
  const out: number[] = [];
  for (const [k, v] of fields) {
    out.push(0);
    for (const s of [k, v]) {
      const b = Buffer.from(s);
      out.push(...hpackint(b.length, 7), ...b);
    }
  }
  return Buffer.from(out);
}

function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(id, 5);
  return Buffer.concat([h, payload]);
}

export class RawH2 {
  readonly streams = new Map<number, RawStream>();
  /** The server's SETTINGS (id -> value), once they came. */
  readonly settings = new Map<number, number>();
  goaway: number | undefined = undefined;
  closed = false;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];

  private constructor(private readonly sock: tls.TLSSocket) {
    sock.on("data", (d: Buffer) => this.ondata(d));
    sock.on("close", () => {
      this.closed = true;
      this.wake();
    });
    sock.on("error", () => {});
    sock.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frame(SETTINGS, 0, 0)]));
  }

  static open(port: number, ca: string): Promise<RawH2> {
    return new Promise((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", ca, ALPNProtocols: ["h2"] }, () => {
        if (s.alpnProtocol !== "h2") reject(new Error(`ALPN picked ${String(s.alpnProtocol)}, not h2`));
        else resolve(new RawH2(s));
      });
      s.once("error", reject);
    });
  }

  stream(id: number): RawStream {
    let st = this.streams.get(id);
    if (st === undefined) this.streams.set(id, (st = { status: undefined, data: Buffer.alloc(0), ended: false, rst: undefined }));
    return st;
  }

  headers(id: number, fields: [string, string][], end = false): void {
    this.sock.write(frame(HEADERS, END_HEADERS | (end ? END_STREAM : 0), id, headerblock(fields)));
  }

  data(id: number, bytes: Buffer, end = false): void {
    this.sock.write(frame(DATA, end ? END_STREAM : 0, id, bytes));
  }

  rst(id: number, code: number): void {
    const p = Buffer.alloc(4);
    p.writeUInt32BE(code);
    this.sock.write(frame(RST_STREAM, 0, id, p));
  }

  /** Resolves once `done()` holds, checked as frames arrive; fails after `ms`. */
  async until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
    const t0 = Date.now();
    while (!done()) {
      if (this.closed) throw new Error(`the connection closed while waiting for ${what}`);
      const left = ms - (Date.now() - t0);
      if (left <= 0) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
  }

  close(): void {
    this.sock.destroy();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private ondata(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 9) {
      const len = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + len) break;
      const type = this.buf[3]!;
      const flags = this.buf[4]!;
      const id = this.buf.readUInt32BE(5) & 0x7fffffff;
      const p = this.buf.subarray(9, 9 + len);
      this.buf = this.buf.subarray(9 + len);
      this.onframe(type, flags, id, p);
    }
    this.wake();
  }

  private onframe(type: number, flags: number, id: number, p: Buffer): void {
    switch (type) {
      case SETTINGS:
        if ((flags & ACK) !== 0) return;
        for (let i = 0; i + 6 <= p.length; i += 6) this.settings.set(p.readUInt16BE(i), p.readUInt32BE(i + 2));
        this.sock.write(frame(SETTINGS, ACK, 0));
        return;
      case PING:
        if ((flags & ACK) === 0) this.sock.write(frame(PING, ACK, 0, p));
        return;
      case GOAWAY:
        this.goaway = p.readUInt32BE(4);
        return;
      case HEADERS: {
        const st = this.stream(id);
        st.status ??= STATUS[p[0]! & 0x7f];
        if ((flags & END_STREAM) !== 0) st.ended = true;
        return;
      }
      case DATA: {
        const st = this.stream(id);
        st.data = Buffer.concat([st.data, p]);
        if ((flags & END_STREAM) !== 0) st.ended = true;
        if (p.length > 0) {
          // Take it all: give the window back on the connection and the stream.
          const w = Buffer.alloc(4);
          w.writeUInt32BE(p.length);
          this.sock.write(frame(WINDOW_UPDATE, 0, 0, w));
          if (!st.ended) this.sock.write(frame(WINDOW_UPDATE, 0, id, w));
        }
        return;
      }
      case RST_STREAM:
        this.stream(id).rst = p.readUInt32BE(0);
        return;
    }
  }
}
