// Micro-benchmark of the sans-I/O WebSocket codec (not run by the tests).
//
//   node --conditions=source --import tsx bench/codec.ts [--frames 1000000]
//
// 1. Parse N masked 32-byte text frames fed 16 frames per chunk (frame-aligned
//    chunks; with the opt-in slicetext; 600-byte chunks that cut frames; one
//    frame per chunk), with `ws`'s Receiver on the same bytes for reference.
// 2. Unmask 1 MiB in place.
// 3. Encode N 32-byte text messages (server -> client, unmasked).
// Each figure is the best of 5 runs after a warm-up.
import { createRequire } from "node:module";
import {
  FrameParser,
  encodemessage,
  unmask,
  maskkey,
} from "../packages/silly-net-websocket/src/codec/index.js";

const args = process.argv.slice(2);
const at = args.indexOf("--frames");
const N = at >= 0 ? Number(args[at + 1]) : 1_000_000;
const PER_CHUNK = 16;
const RUNS = 5;

function masked32(i: number): Buffer {
  // 6-byte header (FIN|text, MASK|32, key) + 32 masked ASCII bytes.
  const f = Buffer.allocUnsafe(38);
  f[0] = 0x81;
  f[1] = 0x80 | 32;
  const key = maskkey();
  f.writeInt32LE(key, 2);
  const text = `message ${String(i).padStart(10, "0")} xxxxxxxxxxxxx`; // 32 bytes
  f.write(text, 6, "latin1");
  unmask(f, 6, 38, key);
  return f;
}

const frame = 38;
const wire = Buffer.allocUnsafe(N * frame);
for (let i = 0; i < N; i++) masked32(i).copy(wire, i * frame);

/** Fresh chunks over a copy of the wire bytes (the parser unmasks in place). */
function chunks(size: number): Buffer[] {
  const copy = Buffer.from(wire);
  const out: Buffer[] = [];
  for (let o = 0; o < copy.length; o += size) out.push(copy.subarray(o, Math.min(o + size, copy.length)));
  return out;
}

function best(label: string, setup: () => Buffer[], run: (cs: Buffer[]) => number): number {
  let bestns = Infinity;
  for (let r = 0; r <= RUNS; r++) {
    const cs = setup();
    const t0 = process.hrtime.bigint();
    const got = run(cs);
    const ns = Number(process.hrtime.bigint() - t0);
    if (got !== N) throw new Error(`${label}: ${got} messages, expected ${N}`);
    if (r > 0) bestns = Math.min(bestns, ns); // run 0 warms up
  }
  const perframe = bestns / N;
  const mbs = (N * frame) / bestns * 1e3;
  console.log(`${label.padEnd(44)} ${perframe.toFixed(1).padStart(7)} ns/frame ${mbs.toFixed(0).padStart(6)} MB/s`);
  return perframe;
}

function ours(cs: Buffer[]): number {
  return parse(cs, false);
}

function parse(cs: Buffer[], slicetext: boolean): number {
  let n = 0;
  let chars = 0;
  const p = new FrameParser(
    { role: "server", maxpayload: 1 << 20, maxfragments: 1024, slicetext },
    {
      message(_type, data) {
        n++;
        chars += data.length;
      },
      error(code, reason) {
        throw new Error(`parser error ${code}: ${reason}`);
      },
    },
  );
  for (const c of cs) p.push(c);
  if (chars !== 32 * N) throw new Error("wrong payload sizes");
  return n;
}

interface WsReceiver {
  write(chunk: Buffer): boolean;
  on(ev: "message", f: (data: Buffer, isBinary: boolean) => void): void;
  on(ev: "error", f: (err: Error) => void): void;
}
type WsReceiverClass = new (opts: { isServer: boolean; maxPayload: number; allowSynchronousEvents?: boolean }) => WsReceiver;

const require = createRequire(import.meta.url);
let Receiver: WsReceiverClass | undefined;
try {
  Receiver = (require("ws") as { Receiver: WsReceiverClass }).Receiver;
} catch {
  Receiver = undefined;
}

function wsrecv(decode: boolean): (cs: Buffer[]) => number {
  return (cs) => {
    const R = Receiver as WsReceiverClass;
    const r = new R({ isServer: true, maxPayload: 1 << 20, allowSynchronousEvents: true });
    let n = 0;
    let chars = 0;
    r.on("message", (data) => {
      n++;
      chars += decode ? data.toString().length : data.length;
    });
    r.on("error", (e) => {
      throw e;
    });
    for (const c of cs) r.write(c);
    if (chars !== 32 * N) throw new Error("ws: wrong payload sizes");
    return n;
  };
}

console.log(`node ${process.version}, ${N} frames of 32 bytes (38 on the wire), ${PER_CHUNK} per chunk`);
const a = best("parse, 16-frame chunks", () => chunks(PER_CHUNK * frame), ours);
best("parse, 16-frame chunks, slicetext", () => chunks(PER_CHUNK * frame), (cs) => parse(cs, true));
best("parse, 600-byte chunks (frames cut)", () => chunks(600), ours);
best("parse, 1-frame chunks", () => chunks(frame), ours);
if (Receiver) {
  const b = best("ws Receiver, 16-frame chunks, toString()", () => chunks(PER_CHUNK * frame), wsrecv(true));
  best("ws Receiver, 16-frame chunks, Buffer only", () => chunks(PER_CHUNK * frame), wsrecv(false));
  console.log(`ours vs ws (text as string): ${(b / a).toFixed(1)}x faster`);
}

// Unmask 1 MiB in place.
{
  const buf = Buffer.alloc(1 << 20, 0x5a);
  const key = maskkey();
  const reps = 2000;
  let bestns = Infinity;
  for (let r = 0; r <= RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) unmask(buf, 0, buf.length, key);
    const ns = Number(process.hrtime.bigint() - t0);
    if (r > 0) bestns = Math.min(bestns, ns);
  }
  const perop = bestns / reps;
  console.log(`${"unmask 1 MiB (aligned)".padEnd(44)} ${(perop / 1000).toFixed(1).padStart(7)} us/op    ${(((1 << 20) / perop) * 1e3).toFixed(0).padStart(6)} MB/s`);
  const odd = buf.subarray(1);
  let bestodd = Infinity;
  for (let r = 0; r <= RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) unmask(odd, 0, odd.length, key);
    const ns = Number(process.hrtime.bigint() - t0);
    if (r > 0) bestodd = Math.min(bestodd, ns);
  }
  const perodd = bestodd / reps;
  console.log(`${"unmask 1 MiB (odd offset)".padEnd(44)} ${(perodd / 1000).toFixed(1).padStart(7)} us/op    ${(((1 << 20) / perodd) * 1e3).toFixed(0).padStart(6)} MB/s`);
}

// Encode 32-byte text messages, unmasked (the server's direction).
{
  const text = "message 0000000001 xxxxxxxxxxxxx";
  let bestns = Infinity;
  let bytes = 0;
  for (let r = 0; r <= RUNS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) bytes += encodemessage("text", text, false)[0].length;
    const ns = Number(process.hrtime.bigint() - t0);
    if (r > 0) bestns = Math.min(bestns, ns);
  }
  if (bytes !== 34 * N * (RUNS + 1)) throw new Error("encode: wrong sizes");
  console.log(`${"encode 32-byte text (unmasked)".padEnd(44)} ${(bestns / N).toFixed(1).padStart(7)} ns/msg`);
}
