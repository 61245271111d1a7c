// Micro-benchmark of permessage-deflate's compression (not run by the tests).
//
//   node --conditions=source --import tsx bench/deflate.ts [--rounds 5] [--n256 5000] [--n16k 500]
//   node --conditions=source --import tsx bench/deflate.ts --memory [--conns 2000]
//
// Timing: compress and decompress JSON-like text of 256 B and 16 KiB (every
// message different), one connection's stream in order, with the same
// agreement everywhere (15-bit windows, context takeover, level 6, memLevel 8):
//   ours         PerMessageDeflate, fast engine (inline zlib handle writeSync)
//   ours/public  the same with SILLY_FASTZLIB=0 (one-shot *Sync + dictionary), in a child process
//   ours/12      ours at the server defaults (12-bit windows)
//   zlib async   zlib's stream API, write + flush per message: the asynchronous
//                design not taken (a thread-pool round trip per message)
//   ws           ws's PerMessageDeflate (async, behind its concurrency limiter)
// Decompression includes the UTF-8 check and the decode to a string for all.
// Figures: CPU time per message (all threads: the thread pool's work counts),
// and wall time, in microseconds, medians of --rounds after a warm-up round.
// On a shared machine the CPU figure is the steadier one.
//
// --memory: RSS per connection of idle contexts after one message each way,
// ours (contexts initialized on the thread pool, and on the main thread) and
// ws's, each in its own child process. Expect a wide spread run to run: it
// depends on which malloc arena's pages zlib gets.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { isUtf8 } from "node:buffer";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";
import { Args } from "./lib/args.js";
import { median } from "./lib/stats.js";
import { PerMessageDeflate, fastzlib } from "../packages/silly-net-websocket/src/deflate.js";
import { acceptdeflate, compressionconfig } from "../packages/silly-net-websocket/src/codec/index.js";
import type { DeflateParams } from "../packages/silly-net-websocket/src/codec/index.js";

const args = new Args(process.argv.slice(2), new Set(["--memory", "--child"]));
const ROUNDS = args.num(["--rounds"], 5);
const N256 = args.num(["--n256"], 5000);
const N16K = args.num(["--n16k"], 500);
const MEMORY = args.flag("--memory");
const CONNS = args.num(["--conns"], 2000);
const CHILD = args.flag("--child");
const SIDE = args.str(["--side"], "");
args.done();

const { Z_SYNC_FLUSH } = zlib.constants;
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

// ---------------------------------------------------------------- corpus

function chat(i: number): Record<string, unknown> {
  const words = ["hello", "world", "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit"];
  const text = Array.from({ length: 4 + (i % 9) }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" ");
  return { type: "chat", id: i, user: `user${i % 97}`, room: `room${i % 7}`, text, ts: 1700000000000 + i * 37, seen: i % 3 === 0 };
}

/** Distinct JSON texts of exactly `bytes` bytes (ASCII). */
function corpus(count: number, bytes: number): string[] {
  const out: string[] = [];
  let i = 0;
  for (let m = 0; m < count; m++) {
    let s = "[";
    while (s.length < bytes) s += JSON.stringify(chat(i++)) + ",";
    out.push(s.slice(0, bytes - 1) + "]");
  }
  return out;
}

const SIZES = [
  { label: "256 B", msgs: corpus(500, 256), n: N256 },
  { label: "16 KiB", msgs: corpus(50, 16384), n: N16K },
];

// ---------------------------------------------------------------- contenders

const WIDE: DeflateParams = { servernocontexttakeover: false, clientnocontexttakeover: false, servermaxwindowbits: 15, clientmaxwindowbits: 15 };
const wideconfig = compressionconfig({ servermaxwindowbits: 15, clientmaxwindowbits: 15, threshold: 0 }, "server")!;
const defaultconfig = compressionconfig({ threshold: 0 }, "server")!;
const [defaultagreement] = acceptdeflate("permessage-deflate; client_max_window_bits", defaultconfig);
const DEFAULTS12 = defaultagreement!.params;

/** One connection's compressor and decompressor. */
interface Contender {
  compress(m: string): Buffer | Promise<Buffer>;
  decompress(c: Buffer): string | Promise<string>;
  close(): void;
}

function ours(p: DeflateParams, config = wideconfig): () => Contender {
  return () => {
    const d = new PerMessageDeflate("server", p, config, 64 << 20);
    return {
      compress: (m) => d.compress(m)[0]!,
      decompress: (c) => {
        const [s, err] = d.decompress(c, "text");
        if (s === undefined) throw new Error(err!.reason);
        return s;
      },
      close: () => d.close(),
    };
  };
}

/** zlib's stream API, one write + flush per message. */
function zlibasync(): Contender {
  const def = zlib.createDeflateRaw({ windowBits: 15, memLevel: 8, level: 6 });
  const inf = zlib.createInflateRaw({ windowBits: 15 });
  const run = (zs: zlib.DeflateRaw | zlib.InflateRaw, input: string | Buffer, trailer: boolean): Promise<Buffer> =>
    new Promise((resolve) => {
      const parts: Buffer[] = [];
      const on = (b: Buffer): void => {
        parts.push(b);
      };
      zs.on("data", on);
      zs.write(input);
      if (trailer) zs.write(TRAILER);
      zs.flush(Z_SYNC_FLUSH, () => {
        zs.off("data", on);
        resolve(Buffer.concat(parts));
      });
    });
  return {
    compress: async (m) => (await run(def, m, false)).subarray(0, -4),
    decompress: async (c) => {
      const b = await run(inf, c, true);
      if (!isUtf8(b)) throw new Error("bad UTF-8");
      return b.toString();
    },
    close: () => {
      def.close();
      inf.close();
    },
  };
}

interface WsPmd {
  accept(offers: Record<string, unknown>[]): Record<string, unknown>;
  compress(data: string | Buffer, fin: boolean, cb: (err: Error | null, out: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out: Buffer) => void): void;
  cleanup(): void;
}
interface WsModule {
  PerMessageDeflate: new (opts: Record<string, unknown>) => WsPmd;
  extension: { parse(h: string): Record<string, Record<string, unknown>[]> };
}
let wsmod: WsModule | undefined;
try {
  wsmod = createRequire(import.meta.url)("ws") as WsModule;
} catch {
  wsmod = undefined;
}

function wspmd(): WsPmd {
  const W = wsmod as WsModule;
  const p = new W.PerMessageDeflate({ isServer: true, threshold: 0, maxPayload: 64 << 20 });
  p.accept(W.extension.parse("permessage-deflate; client_max_window_bits")["permessage-deflate"]!);
  return p;
}

function ws(): Contender {
  const p = wspmd();
  return {
    compress: (m) => new Promise((resolve, reject) => p.compress(m, true, (e, out) => (e ? reject(e) : resolve(out)))),
    decompress: (c) =>
      new Promise((resolve, reject) =>
        p.decompress(c, true, (e, out) => {
          if (e) return reject(e);
          if (!isUtf8(out)) return reject(new Error("bad UTF-8"));
          resolve(out.toString());
        }),
      ),
    close: () => p.cleanup(),
  };
}

// ---------------------------------------------------------------- timing

/** CPU and wall microseconds per message: medians of ROUNDS (after one warm-up round). */
async function time(make: () => Contender, p: DeflateParams, msgs: string[], n: number, what: "compress" | "decompress"): Promise<[number, number]> {
  // The decompressor's input: the same stream, compressed once by a fresh ours with the same agreement.
  const src = ours(p, p === WIDE ? wideconfig : defaultconfig)();
  const packed = msgs.map((m) => src.compress(m) as Buffer);
  src.close();
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const c = make();
    // Decompression must follow the stream from its start: replay whole passes.
    const count = what === "compress" ? n : Math.max(1, Math.round(n / msgs.length)) * msgs.length;
    const fresh = what === "decompress" ? () => make() : undefined;
    let d = c;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < count; i++) {
      const k = i % msgs.length;
      if (what === "compress") {
        const out = c.compress(msgs[k]!);
        if (out instanceof Promise) await out;
      } else {
        if (k === 0 && i > 0) {
          d.close();
          d = (fresh as () => Contender)();
        }
        const out = d.decompress(packed[k]!);
        const s = out instanceof Promise ? await out : out;
        if (s.length !== msgs[k]!.length) throw new Error(`${what}: wrong length`);
      }
    }
    const us = Number(process.hrtime.bigint() - t0) / 1000 / count;
    const spent = process.cpuUsage(c0);
    d.close();
    if (d !== c) c.close();
    if (r > 0) {
      wall.push(us);
      cpu.push((spent.user + spent.system) / count);
    }
  }
  return [median(cpu), median(wall)];
}

type Rows = Record<string, [number, number]>;

async function measure(contenders: [string, () => Contender, DeflateParams][]): Promise<Rows> {
  const rows: Rows = {};
  for (const { label, msgs, n } of SIZES) {
    for (const what of ["compress", "decompress"] as const) {
      for (const [name, make, p] of contenders) rows[`${what} ${label}|${name}`] = await time(make, p, msgs, n, what);
    }
  }
  return rows;
}

function publicrows(): Rows {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [...process.execArgv, self, "--child", "--rounds", String(ROUNDS), "--n256", String(N256), "--n16k", String(N16K)], {
    encoding: "utf8",
    env: { ...process.env, SILLY_FASTZLIB: "0" },
    timeout: 600_000,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`public engine child failed: ${r.stderr}`);
  return JSON.parse(line) as Rows;
}

// ---------------------------------------------------------------- memory

/** One side in a child: RSS per connection after one message each way. */
async function memoryside(side: string): Promise<void> {
  const msg = JSON.stringify(chat(1));
  const gc = (globalThis as { gc?: () => void }).gc;
  const settle = async (): Promise<number> => {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
    gc?.();
    return process.memoryUsage().rss;
  };
  const peer = ours(WIDE)();
  const incoming = peer.compress(msg) as Buffer; // what every connection receives first
  const keep: unknown[] = [];
  const before = await settle();
  for (let i = 0; i < CONNS; i++) {
    if (side === "ws") {
      const p = wspmd();
      await new Promise<void>((resolve) => p.compress(msg, true, () => p.decompress(incoming, true, () => resolve())));
      keep.push(p);
    } else {
      const config = side === "ours/12" ? defaultconfig : wideconfig;
      const d = new PerMessageDeflate("server", side === "ours/12" ? DEFAULTS12 : WIDE, config, 1 << 20);
      // A handshake's round trip is ample time for the warm-up; "inline" uses
      // the contexts at once, so they are initialized on the main thread.
      if (side !== "ours/inline") await d.ready;
      d.compress(msg);
      d.decompress(incoming, "text");
      keep.push(d);
    }
  }
  const after = await settle();
  console.log(JSON.stringify({ side, conns: CONNS, kib_per_conn: Math.round(((after - before) / CONNS / 1024) * 10) / 10 }));
}

function memory(): void {
  const self = fileURLToPath(import.meta.url);
  console.log(`node ${process.version}; RSS per connection after one 130-byte message each way, ${CONNS} connections, context takeover`);
  for (const side of ["ours", "ours/inline", "ours/12", ...(wsmod ? ["ws"] : [])]) {
    const r = spawnSync(process.execPath, ["--expose-gc", ...process.execArgv, self, "--side", side, "--conns", String(CONNS)], { encoding: "utf8", timeout: 300_000 });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    if (r.status !== 0 || !line.startsWith("{")) throw new Error(`memory child ${side} failed: ${r.stderr}`);
    const m = JSON.parse(line) as { kib_per_conn: number };
    const what = {
      ours: "15-bit windows",
      "ours/inline": "15-bit windows, contexts initialized on the main thread",
      "ours/12": "server defaults, 12-bit windows",
      ws: "ws defaults, 15-bit windows",
    }[side];
    console.log(`${side.padEnd(11)} ${String(m.kib_per_conn).padStart(7)} KiB/conn  (${what})`);
  }
}

// ---------------------------------------------------------------- main

if (SIDE !== "") {
  await memoryside(SIDE);
} else if (MEMORY) {
  memory();
} else if (CHILD) {
  console.log(JSON.stringify(await measure([["ours/public", ours(WIDE), WIDE]])));
} else {
  if (!fastzlib) throw new Error("the fast zlib engine is off (SILLY_FASTZLIB=0 or an unknown Node.js): nothing to compare");
  const contenders: [string, () => Contender, DeflateParams][] = [
    ["ours", ours(WIDE), WIDE],
    ["ours/12", ours(DEFAULTS12, defaultconfig), DEFAULTS12],
    ["zlib async", zlibasync, WIDE],
  ];
  if (wsmod) contenders.push(["ws", ws, WIDE]);
  const rows = { ...(await measure(contenders)), ...publicrows() };
  const names = ["ours", "ours/public", "ours/12", "zlib async", ...(wsmod ? ["ws"] : [])];
  console.log(`node ${process.version}; us per message, CPU (wall), medians of ${ROUNDS} rounds; ratio = ws / ours, CPU`);
  console.log(`| case | ${names.join(" | ")} | ratio |`);
  console.log(`|---|${names.map(() => "---:").join("|")}|---:|`);
  for (const { label } of SIZES) {
    for (const what of ["compress", "decompress"]) {
      const key = `${what} ${label}`;
      const cells = names.map((n) => {
        const [c, w] = rows[`${key}|${n}`] ?? [Number.NaN, Number.NaN];
        return `${c.toFixed(1)} (${w.toFixed(1)})`;
      });
      const ratio = wsmod ? (rows[`${key}|ws`]![0] / rows[`${key}|ours`]![0]).toFixed(1) + "x" : "-";
      console.log(`| ${key} | ${cells.join(" | ")} | ${ratio} |`);
    }
  }
}
