// Incremental reader for the server's (unmasked) frames. It counts complete data
// messages, checks each one's opcode and total length against what was sent, and
// copies the payload of a sample of messages to compare it byte for byte. Bytes are
// never concatenated: payloads are skipped by count unless they are being sampled.
//
// With permessage-deflate agreed (agree()), a message with RSV1 on its first
// frame is collected and inflated as a whole (every one: with context takeover
// each depends on the ones before), then checked the same way.
import { OP_CLOSE, OP_PING, OP_PONG } from "./wsproto.js";
import { Inflater } from "./deflateload.js";

export class FrameReader {
  /** Set on the first protocol or verification failure; the reader then stops. */
  error: string | undefined = undefined;
  /** Messages whose payload was compared byte for byte. */
  verified = 0;
  /** Called with the payload of each ping (the owner answers with a pong). */
  onPing: (payload: Buffer) => void = () => {};

  private readonly hdr = Buffer.alloc(14);
  private hdrLen = 0;
  private remaining = 0; // payload bytes left in the current frame
  private inFrame = false;
  private op = 0; // opcode of the current frame
  private fin = false;
  private msgOp = 0; // opcode of the message being assembled (0 = none)
  private msgLen = 0;
  private count = 0; // data messages seen
  private sampling = false;
  private readonly sample: Buffer;
  private samplePos = 0;
  private readonly ctrl = Buffer.alloc(125);
  private ctrlPos = 0;
  private readonly expected: readonly Buffer[];
  private inflater: Inflater | undefined = undefined;
  private compressed = false; // the message being assembled had RSV1
  private zparts: Buffer[] = [];

  constructor(
    /** What each echo must be: the same payload every time, or a cycle of payloads in order. */
    expected: Buffer | readonly Buffer[],
    private readonly expectedOp: number,
    /** Compare the payload of message 0, K, 2K, ... (K >= 1). */
    private readonly verifyEvery: number,
  ) {
    this.expected = Buffer.isBuffer(expected) ? [expected] : expected;
    this.sample = Buffer.alloc(Math.max(...this.expected.map((e) => e.length)));
  }

  /** permessage-deflate was agreed with this Sec-WebSocket-Extensions answer; an error text when it cannot be. */
  agree(answer: string): string | undefined {
    const [inf, err] = Inflater.make(answer, this.sample.length);
    this.inflater = inf;
    return err;
  }

  /** Consumes `len` bytes of `b` from `off`; returns the number of complete data messages. */
  feed(b: Buffer, off: number, len: number): number {
    let i = off;
    const end = off + len;
    let done = 0;
    while (i < end && this.error === undefined) {
      if (!this.inFrame) {
        const used = this.readHeader(b, i, end);
        if (used < 0) return done; // header incomplete, bytes kept in hdr
        i += used;
        if (this.remaining === 0 && this.finishFrame()) done++;
        continue;
      }
      const take = Math.min(this.remaining, end - i);
      if (this.op >= 8) {
        b.copy(this.ctrl, this.ctrlPos, i, i + take);
        this.ctrlPos += take;
      } else if (this.compressed) {
        this.zparts.push(Buffer.from(b.subarray(i, i + take)));
      } else if (this.sampling) {
        b.copy(this.sample, this.samplePos, i, i + take);
        this.samplePos += take;
      }
      i += take;
      this.remaining -= take;
      if (this.remaining === 0 && this.finishFrame()) done++;
    }
    return done;
  }

  private get want(): Buffer {
    return this.expected[this.count % this.expected.length]!;
  }

  /** Returns the bytes used from b, or -1 when the header is not complete yet. */
  private readHeader(b: Buffer, i: number, end: number): number {
    let src: Buffer = b;
    let at = i;
    let avail = end - i;
    let fromHdr = 0; // header bytes that were already buffered
    if (this.hdrLen > 0 || avail < 2) {
      const copy = Math.min(14 - this.hdrLen, avail);
      b.copy(this.hdr, this.hdrLen, i, i + copy);
      fromHdr = this.hdrLen;
      this.hdrLen += copy;
      src = this.hdr;
      at = 0;
      avail = this.hdrLen;
    }
    if (avail < 2) return -1;
    const b0 = src[at]!;
    const b1 = src[at + 1]!;
    if ((b1 & 0x80) !== 0) return this.fail("server frame is masked");
    const rsv1 = (b0 & 0x40) !== 0;
    if ((b0 & 0x30) !== 0 || (rsv1 && (this.inflater === undefined || (b0 & 0x0f) === 0 || (b0 & 0x0f) >= 8))) {
      return this.fail(this.inflater === undefined ? "RSV bits set (compression negotiated?)" : "RSV bits where permessage-deflate allows none");
    }
    const len7 = b1 & 0x7f;
    const size = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
    if (avail < size) {
      if (src === b) {
        b.copy(this.hdr, 0, i, end);
        this.hdrLen = end - i;
      }
      return -1;
    }
    let n: number;
    if (len7 < 126) n = len7;
    else if (len7 === 126) n = src.readUInt16BE(at + 2);
    else {
      const hi = src.readUInt32BE(at + 2);
      if (hi !== 0) return this.fail("frame longer than 4 GiB");
      n = src.readUInt32BE(at + 6);
    }
    this.fin = (b0 & 0x80) !== 0;
    this.op = b0 & 0x0f;
    this.remaining = n;
    this.inFrame = true;
    this.hdrLen = 0;
    if (this.op >= 8) {
      if (n > 125 || !this.fin) return this.fail(`bad control frame op=${this.op} len=${n}`);
      this.ctrlPos = 0;
    } else if (this.op === 0) {
      if (this.msgOp === 0) return this.fail("continuation frame without a message");
    } else {
      if (this.msgOp !== 0) return this.fail("new message inside a fragmented one");
      if (this.op !== this.expectedOp) return this.fail(`echo opcode ${this.op}, sent ${this.expectedOp}`);
      this.msgOp = this.op;
      this.msgLen = 0;
      this.compressed = rsv1;
      this.sampling = this.count % this.verifyEvery === 0;
      this.samplePos = 0;
    }
    if (this.op < 8) {
      this.msgLen += n;
      if (!this.compressed && this.msgLen > this.want.length) {
        return this.fail(`echo longer than sent: ${this.msgLen} > ${this.want.length}`);
      }
    }
    return size - fromHdr;
  }

  /** Ends the current frame; true when it completed a data message. */
  private finishFrame(): boolean {
    this.inFrame = false;
    if (this.op >= 8) {
      if (this.op === OP_PING) this.onPing(Buffer.from(this.ctrl.subarray(0, this.ctrlPos)));
      else if (this.op === OP_CLOSE) this.fail("server sent close");
      else if (this.op !== OP_PONG) this.fail(`unknown control opcode ${this.op}`);
      return false;
    }
    if (!this.fin) return false;
    this.msgOp = 0;
    const want = this.want;
    let got: Buffer | undefined;
    if (this.compressed) {
      const [out, err] = (this.inflater as Inflater).inflate(this.zparts);
      this.zparts = [];
      this.compressed = false;
      if (out === undefined) {
        this.fail(`echo does not inflate: ${err}`);
        return false;
      }
      this.msgLen = out.length;
      got = out;
    }
    if (this.msgLen !== want.length) {
      this.fail(`echo length ${this.msgLen}, sent ${want.length}`);
      return false;
    }
    if (this.sampling) {
      this.sampling = false;
      if (!(got ?? this.sample.subarray(0, want.length)).equals(want)) {
        this.fail(`echo payload differs from what was sent (message ${this.count})`);
        return false;
      }
      this.verified++;
    }
    this.count++;
    return true;
  }

  private fail(why: string): -1 {
    if (this.error === undefined) this.error = why;
    return -1;
  }
}
