// WebSockets over HTTP/2 (RFC 8441) against WebSockets over TCP, both wss://
// to the same echo server, both driven by our client: sockets as streams of
// h2 connections (up to the server's 128 concurrent streams each), and
// sockets each on a TLS connection of its own (HTTP/1.1 upgrade). For each:
// the server's memory per idle socket, as what `--idle` sockets (1,000) cost
// on top of as many already open, once every one has exchanged one message
// (live heap after full collections, and RSS, each the median of 3
// samples); then echo throughput over the first `--sockets` (100; over h2
// one connection's streams) with 32 B text (16 in flight per socket) and
// 16 KiB binary (4 in flight). Goal: an idle socket over h2 costs the server
// at most half what one over TCP does.
//
//   node --import tsx bench/h2ws.ts [--idle 1000] [--sockets 100] [--secs 5] [--warmup 1] [--rounds 3]
//   node --import tsx bench/h2ws.ts --breakdown 200
//
// --breakdown K: no figures, but what each idle socket costs the server's
// heap by kind of object, from two heap snapshots (with K and with 2K
// sockets open), over h2 and over TLS.
//
// The server runs in a child process pinned to CPU 0 (when taskset is there)
// with --expose-gc; it answers GET /mem with its memory and GET /snap with
// the path of a heap snapshot it wrote. The last line of stdout is the JSON
// that bench/runner/h2ws.ts reads.
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";
import { fileURLToPath } from "node:url";
import http from "silly-net-http";
import type { ClientStream, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import type { Socket } from "silly-net-websocket";
import { Args } from "./lib/args.js";
import { diff, kinds } from "./lib/heapdiff.js";
import { median, round, sleep } from "./lib/stats.js";
import { describeMachine } from "./runner/machine.js";
import type { Machine } from "./runner/machine.js";
import { startServer, stopAll } from "./runner/spawn.js";

const args = new Args(process.argv.slice(2), new Set(["--serve"]));
const SERVE = args.flag("--serve");
const SOCKETS = args.num(["--sockets"], 100);
const IDLE = Math.max(args.num(["--idle"], 1000), SOCKETS);
const BREAKDOWN = args.num(["--breakdown"], 0);
const SECS = args.num(["--secs"], 5);
const WARMUP = args.num(["--warmup"], 1);
const ROUNDS = args.num(["--rounds"], 3);
args.done();

const root = fileURLToPath(new URL("..", import.meta.url));
const pem = (name: string): string => readFileSync(`${root}tests/fixtures/${name}`, "utf8");

interface Mem {
  heap: number;
  rss: number;
  /** WebSockets the server has open. */
  live: number;
}

/** One transport's figures in one round. */
interface Case {
  heap_per_socket: number;
  rss_per_socket: number;
  echo32_per_s: number;
  echo16k_per_s: number;
  /** Connections all the sockets (twice --idle) ran over, and the busy ones. */
  connections: number;
  busy_connections: number;
}

const TRANSPORTS = {
  h2: { alpnprotos: ["h2"] },
  tcp: { alpnprotos: ["http/1.1"] },
} as const;
type Transport = keyof typeof TRANSPORTS;

if (SERVE) await serve();
else if (BREAKDOWN > 0) await breakdown();
else process.exitCode = await main();

/** The child: a TLS echo server offering h2 (extended CONNECT announced) and HTTP/1.1. */
async function serve(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  let live = 0;
  const [server, err] = await http.listen({
    addr: "127.0.0.1:0",
    backlog: 4096,
    certs: [{ cert: pem("localhost.pem"), key: pem("localhost-key.pem") }],
    alpnprotos: ["h2", "http/1.1"],
    handler: async (stream: ServerStream) => {
      if (stream.path === "/mem") {
        gc();
        gc();
        const m = process.memoryUsage();
        return void stream.close(JSON.stringify({ heap: m.heapUsed, rss: m.rss, live }));
      }
      if (stream.path === "/snap") return void stream.close(writeHeapSnapshot(join(tmpdir(), `h2ws-${process.pid}-${Date.now()}.heapsnapshot`)));
      const [sock] = await websocket.upgrade(stream);
      if (sock === undefined) return;
      live++;
      for (;;) {
        const [data, type] = await sock.read();
        if (data === undefined || type === "close") break;
        if (type === "text" || type === "binary") void sock.write(data, type);
      }
      await sock.close();
      live--;
    },
  });
  if (server === undefined) throw new Error(`listen failed: ${err}`);
  process.stdout.write(`PORT=${server.port}\n`);
}

/** A GET on a connection of its own, closed after: it is not among those measured. */
async function get(port: number, path: string): Promise<string> {
  const [res, err] = await http.get(`https://localhost:${port}${path}`, {}, { ca: pem("ca.pem"), reuse: false });
  if (res === undefined) throw new Error(`GET ${path}: ${err}`);
  return res.body.toString();
}

/** The server's memory: the median of 3 samples, each after full collections. */
async function mem(port: number): Promise<Mem> {
  const s: Mem[] = [];
  for (let i = 0; i < 3; i++) s.push(JSON.parse(await get(port, "/mem")) as Mem);
  return { heap: median(s.map((m) => m.heap)), rss: median(s.map((m) => m.rss)), live: s[2]!.live };
}

/** Echoes per second over every socket: each keeps `inflight` messages out for `secs`. */
async function echo(socks: Socket[], msg: string | Buffer, inflight: number, secs: number): Promise<number> {
  const type = typeof msg === "string" ? "text" : "binary";
  let count = 0;
  let counting = false;
  let running = true;
  const one = async (sock: Socket): Promise<void> => {
    for (let i = 0; i < inflight; i++) void sock.write(msg, type);
    let out = inflight;
    while (out > 0) {
      const [data] = await sock.read();
      if (data === undefined) throw new Error("a socket ended during the run");
      out--;
      if (counting) count++;
      if (running) {
        void sock.write(msg, type);
        out++;
      }
    }
  };
  const all = Promise.all(socks.map(one));
  await sleep(WARMUP * 1000);
  counting = true;
  const t0 = performance.now();
  await sleep(secs * 1000);
  const n = count;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  await all;
  return n / elapsed;
}

/** A fresh server with `n` idle sockets over `transport` (`warm`); `open` opens `n` more. */
async function fixture<T>(transport: Transport, machine: Machine, n: number, body: (port: number, warm: Socket[], open: () => Promise<Socket[]>) => Promise<T>): Promise<T> {
  const server = await startServer(
    // A small young generation: RSS then moves with what the sockets hold, not with the nursery's size.
    [process.execPath, "--expose-gc", "--max-semi-space-size=1", "--conditions=source", "--import", "tsx", "bench/h2ws.ts", "--serve"],
    { cpu: machine.taskset ? 0 : undefined, nofile: machine.nofile, cwd: root },
    30_000,
  );
  try {
    const opts = { ca: pem("ca.pem"), ...TRANSPORTS[transport] };
    const want = transport === "h2" ? "HTTP/2" : "HTTP/1.1";
    const open = async (): Promise<Socket[]> => {
      const socks: Socket[] = [];
      // 200 handshakes at a time: a loaded machine would time some out otherwise.
      for (let i = 0; i < n; i += 200) {
        const some = Array.from({ length: Math.min(200, n - i) }, async (_, j) => {
          const [sock, err] = await websocket.connect(`wss://localhost:${server.port}/s/${i + j}`, {}, opts);
          if (sock === undefined) throw new Error(`connect over ${transport}: ${err}`);
          if ((sock.stream as ClientStream).version !== want) throw new Error(`a socket is not over ${want}`);
          return sock;
        });
        socks.push(...(await Promise.all(some)));
      }
      return socks;
    };
    // A first n sockets, open and idle after one echo each: the server's
    // pools, heap pages and compiled code are then in place, and the figures
    // are what n more cost (closing them instead would leave freed memory
    // that the next ones reuse, and RSS would hardly move).
    const warm = await open();
    await echo(warm, "x", 1, 0);
    try {
      return await body(server.port, warm, open);
    } finally {
      await Promise.all(warm.map((s) => s.close()));
    }
  } finally {
    await server.stop();
  }
}

/** How many connections the sockets run over. */
function connections(socks: Socket[]): number {
  return new Set(socks.map((s) => (s.stream as ClientStream).conn)).size;
}

async function measure(transport: Transport, machine: Machine): Promise<Case> {
  return fixture(transport, machine, IDLE, async (port, warm, open) => {
    const before = await mem(port);
    const socks = await open();
    await echo(socks, "x", 1, 0); // one message each, then idle
    const idle = await mem(port);
    if (idle.live !== 2 * IDLE) throw new Error(`the server has ${idle.live} sockets open, not ${2 * IDLE}`);
    // The first sockets: over h2 the first connection's streams.
    const busy = warm.slice(0, SOCKETS);
    const echo32_per_s = await echo(busy, "x".repeat(32), 16, SECS);
    const echo16k_per_s = await echo(busy, Buffer.alloc(16 * 1024, 7), 4, SECS);
    const c = {
      heap_per_socket: Math.round((idle.heap - before.heap) / IDLE),
      rss_per_socket: Math.round((idle.rss - before.rss) / IDLE),
      echo32_per_s: Math.round(echo32_per_s),
      echo16k_per_s: Math.round(echo16k_per_s),
      connections: connections([...warm, ...socks]),
      busy_connections: connections(busy),
    };
    await Promise.all(socks.map((s) => s.close()));
    return c;
  });
}

/** --breakdown: the server's heap per idle socket by kind of object, over h2 and over TLS. */
async function breakdown(): Promise<void> {
  const machine = describeMachine(root, false);
  try {
    for (const t of ["h2", "tcp"] as const) {
      const rows = await fixture(t, machine, BREAKDOWN, async (port, _warm, open) => {
        const a = await get(port, "/snap");
        const socks = await open();
        await echo(socks, "x", 1, 0);
        const b = await get(port, "/snap");
        const per = diff(kinds(a), kinds(b), BREAKDOWN).filter((k) => Math.abs(k.bytes) >= 4 || Math.abs(k.count) >= 0.5);
        rmSync(a);
        rmSync(b);
        await Promise.all(socks.map((s) => s.close()));
        return per;
      });
      // V8's own heap (what heapUsed counts), what node's native objects
      // report of theirs, and compiled code (warm-up noise, not per socket).
      const part = (kind: string): string => (kind.startsWith("code") ? "code" : kind.startsWith("native") || kind.startsWith("synthetic") ? "native" : "heap");
      const sum = (p: string): number => Math.round(rows.reduce((n, k) => n + (part(k.kind) === p ? k.bytes : 0), 0));
      process.stdout.write(`\n${t}, per idle socket (${BREAKDOWN} sockets): V8 heap ${sum("heap")} B, native ${sum("native")} B, compiled code ${sum("code")} B\n`);
      for (const k of rows.filter((k) => part(k.kind) !== "code").slice(0, 40)) {
        process.stdout.write(`${String(Math.round(k.bytes)).padStart(7)} B ${k.count.toFixed(2).padStart(6)} x  ${k.kind}\n`);
      }
    }
  } finally {
    await stopAll();
  }
}

async function main(): Promise<number> {
  const rounds: Record<Transport, Case[]> = { h2: [], tcp: [] };
  const machine = describeMachine(root, false);
  try {
    for (let r = 1; r <= ROUNDS; r++) {
      for (const t of ["h2", "tcp"] as const) {
        const c = await measure(t, machine);
        rounds[t].push(c);
        process.stderr.write(`[h2ws] round ${r} ${t}: ${JSON.stringify(c)}\n`);
      }
    }
  } catch (e) {
    await stopAll();
    process.stdout.write(JSON.stringify({ ok: false, reasons: [(e as Error).message] }) + "\n");
    return 1;
  }
  const med = (t: Transport): Case => {
    const m = (k: keyof Case): number => Math.round(median(rounds[t].map((c) => c[k])));
    const keys = ["heap_per_socket", "rss_per_socket", "echo32_per_s", "echo16k_per_s", "connections", "busy_connections"] as const;
    return Object.fromEntries(keys.map((k) => [k, m(k)])) as unknown as Case;
  };
  const cases = { h2: med("h2"), tcp: med("tcp") };
  const lines = [
    `${IDLE} idle sockets (echo: ${SOCKETS}), ${ROUNDS} rounds, medians | over h2 | over TLS | h2/tls`,
    ...(["heap_per_socket", "rss_per_socket", "echo32_per_s", "echo16k_per_s", "connections", "busy_connections"] as const).map(
      (k) => `${k} | ${cases.h2[k]} | ${cases.tcp[k]} | ${round(cases.h2[k] / cases.tcp[k], 2)}`,
    ),
  ];
  process.stdout.write(lines.join("\n") + "\n");
  process.stdout.write(JSON.stringify({ ok: true, sockets: SOCKETS, idle: IDLE, cases }) + "\n");
  return 0;
}
