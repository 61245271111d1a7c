// permessage-deflate (RFC 7692) for the load generator, the same work whatever
// the server: it offers what browsers offer, sends a fixed cycle of distinct
// messages compressed ahead of time, and inflates every echo.
//
// Sending costs no compression at run time. With client context takeover a
// message's bytes depend on every message before it, so the cycle is
// compressed as one stream, twice over: the first pass is sent once per
// connection, the second pass after it again and again. That is valid because
// a pass is longer than any window (32 KiB): the inflater's window at the
// start of every later pass holds the same bytes as the compressor's did at
// the start of the second.
//
// Receiving: every echo is inflated (with context takeover each depends on
// the ones before) by the project's own PerMessageDeflate in the client role,
// as binary (no UTF-8 decoding), the same for every server.
import zlib from "node:zlib";
import { PerMessageDeflate } from "../../packages/silly-net-websocket/src/deflate.js";
import { compressionconfig, confirmdeflate } from "../../packages/silly-net-websocket/src/codec/index.js";
import type { DeflateParams } from "../../packages/silly-net-websocket/src/codec/index.js";
import { maskedFrame } from "./wsproto.js";
import { zflush } from "../../tests/lib/zflush.js";

/** The offer: what browsers send. */
export const OFFER = "permessage-deflate; client_max_window_bits";

const CLIENT = compressionconfig({ threshold: 0 }, "client")!;

function agreement(answer: string): [DeflateParams, undefined] | [undefined, string] {
  const [params, err] = confirmdeflate(answer, CLIENT);
  if (params === undefined) return [undefined, err ?? "the server declined permessage-deflate"];
  return [params, undefined];
}

/** One connection's inflater for the server's messages. */
export class Inflater {
  private constructor(private readonly pmd: PerMessageDeflate) {}

  static make(answer: string, maxpayload: number): [Inflater, undefined] | [undefined, string] {
    const [params, err] = agreement(answer);
    if (params === undefined) return [undefined, err];
    return [new Inflater(new PerMessageDeflate("client", params, CLIENT, maxpayload)), undefined];
  }

  inflate(parts: readonly Buffer[]): [Buffer, undefined] | [undefined, string] {
    const [out, err] = this.pmd.decompress(parts, "binary");
    return out === undefined ? [undefined, err.reason] : [out, undefined];
  }
}

/** Frames back to back, and where each starts (`at[k]`, with the end as `at[count]`). */
interface Run {
  bytes: Buffer;
  at: Int32Array;
}

function run(frames: Buffer[]): Run {
  const at = new Int32Array(frames.length + 1);
  for (let k = 0; k < frames.length; k++) at[k + 1] = at[k]! + frames[k]!.length;
  return { bytes: Buffer.concat(frames), at };
}

/** A cycle of messages as masked, compressed frames for one agreement. */
export class Script {
  private constructor(
    /** The first pass. */
    private readonly first: Run,
    /** The later passes: the second pass twice over, so that any `count` messages from any place are one slice. */
    private readonly later: Run,
    readonly count: number,
  ) {}

  /** The frames for the messages `msgs` (at least 32 KiB together) under the agreement `answer`. */
  static async make(answer: string, msgs: readonly Buffer[], opcode: number, mask: Buffer): Promise<Script | string> {
    const [p, err] = agreement(answer);
    if (p === undefined) return err;
    if (msgs.reduce((n, m) => n + m.length, 0) < 32 * 1024) throw new Error("Script: the cycle must be at least 32 KiB");
    const windowBits = Math.max(9, p.clientmaxwindowbits); // zlib compresses an 8-bit window with 9 (within the promise)
    const frame = (z: Buffer): Buffer => {
      const f = maskedFrame(opcode, z.subarray(0, z.length - 4), mask);
      f[0]! |= 0x40; // RSV1: compressed
      return f;
    };
    const passes: Buffer[][] = [];
    if (p.clientnocontexttakeover) {
      const one = msgs.map((m) => frame(zlib.deflateRawSync(m, { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH })));
      passes.push(one, one);
    } else {
      const zs = zlib.createDeflateRaw({ windowBits });
      for (let pass = 0; pass < 2; pass++) {
        const frames: Buffer[] = [];
        for (const m of msgs) frames.push(frame(await zflush(zs, m)));
        passes.push(frames);
      }
      zs.close();
    }
    return new Script(run(passes[0]!), run([...passes[1]!, ...passes[1]!]), msgs.length);
  }

  /** Hands `send` the frames of a connection's messages k .. k+n-1 (n <= count): one slice, or two. */
  frames(k: number, n: number, send: (b: Buffer) => void): void {
    const m = this.count;
    if (k < m) {
      const e = Math.min(k + n, m);
      send(this.first.bytes.subarray(this.first.at[k], this.first.at[e]));
      if (e === k + n) return;
      n -= e - k;
      k = m;
    }
    const s = (k - m) % m;
    send(this.later.bytes.subarray(this.later.at[s], this.later.at[s + n]));
  }
}

// ---------------------------------------------------------------- the messages

function chat(i: number): Record<string, unknown> {
  const words = ["hello", "world", "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"];
  const text = Array.from({ length: 4 + (i % 9) }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" ");
  return { type: "chat", id: i, user: `user${i % 97}`, room: `room${i % 7}`, text, ts: 1700000000000 + i * 37, seen: i % 3 === 0 };
}

/** Distinct JSON texts of exactly `bytes` bytes each (ASCII): at least 8, and at least 40 KiB together. */
export function jsoncycle(bytes: number): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  const count = Math.max(8, Math.ceil((40 * 1024) / bytes));
  for (let m = 0; m < count; m++) {
    let s = "[";
    while (s.length < bytes) s += JSON.stringify(chat(i++)) + ",";
    out.push(Buffer.from(s.slice(0, bytes - 1) + "]"));
  }
  return out;
}
