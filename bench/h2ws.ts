// WebSockets over HTTP/2 (RFC 8441) against WebSockets over TCP: N sockets
// (100) as streams of one h2 connection, and N sockets each on a TLS
// connection of its own (HTTP/1.1 upgrade), both wss:// to the same echo
// server, both driven by our client. For each: the server's memory per idle
// socket (live heap after full collections, and RSS) once every socket has
// exchanged one message, then echo throughput with 32 B text (16 in flight
// per socket) and 16 KiB binary (4 in flight). Goal: an idle socket over h2
// costs the server at most half what one over TCP does.
//
//   node --import tsx bench/h2ws.ts [--sockets 100] [--secs 5] [--warmup 1] [--rounds 3]
//
// The server runs in a child process pinned to CPU 0 (when taskset is there)
// with --expose-gc; it answers GET /mem with its memory. The last line of
// stdout is the JSON that bench/runner/h2ws.ts reads.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import http from "silly-net-http";
import type { ClientStream, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import type { Socket } from "silly-net-websocket";
import { Args } from "./lib/args.js";
import { median, round, sleep } from "./lib/stats.js";
import { describeMachine } from "./runner/machine.js";
import type { Machine } from "./runner/machine.js";
import { startServer, stopAll } from "./runner/spawn.js";

const args = new Args(process.argv.slice(2), new Set(["--serve"]));
const SERVE = args.flag("--serve");
const SOCKETS = args.num(["--sockets"], 100);
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
}

const TRANSPORTS = {
  h2: { alpnprotos: ["h2"] },
  tcp: { alpnprotos: ["http/1.1"] },
} as const;
type Transport = keyof typeof TRANSPORTS;

if (SERVE) await serve();
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

async function mem(port: number): Promise<Mem> {
  // A connection of its own, closed after: it is not among those measured.
  const [res, err] = await http.get(`https://localhost:${port}/mem`, {}, { ca: pem("ca.pem"), reuse: false });
  if (res === undefined) throw new Error(`GET /mem: ${err}`);
  return JSON.parse(res.body.toString()) as Mem;
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

async function measure(transport: Transport, machine: Machine): Promise<Case> {
  const server = await startServer(
    // A small young generation: RSS then moves with what the sockets hold, not with the nursery's size.
    [process.execPath, "--expose-gc", "--max-semi-space-size=1", "--conditions=source", "--import", "tsx", "bench/h2ws.ts", "--serve"],
    { cpu: machine.taskset ? 0 : undefined, nofile: machine.nofile, cwd: root },
    30_000,
  );
  try {
    const opts = { ca: pem("ca.pem"), ...TRANSPORTS[transport] };
    const open = (): Promise<Socket[]> =>
      Promise.all(
        Array.from({ length: SOCKETS }, async (_, i) => {
          const [sock, err] = await websocket.connect(`wss://localhost:${server.port}/s/${i}`, {}, opts);
          if (sock === undefined) throw new Error(`connect over ${transport}: ${err}`);
          return sock;
        }),
      );
    // Once through first, so that the server's pools and code are warm when
    // measured. The server must have closed those streams before more open:
    // past its 128 concurrent streams node:http2 refuses new ones.
    await Promise.all((await open()).map((s) => s.close()));
    let before = await mem(server.port);
    for (let tries = 0; before.live > 0; tries++) {
      if (tries === 100) throw new Error(`the server still has ${before.live} sockets open`);
      await sleep(20);
      before = await mem(server.port);
    }
    const socks = await open();
    const want = transport === "h2" ? "HTTP/2" : "HTTP/1.1";
    if (socks.some((s) => (s.stream as ClientStream).version !== want)) throw new Error(`a socket is not over ${want}`);
    await echo(socks, "x", 1, 0); // one message each, then idle
    const idle = await mem(server.port);
    const echo32_per_s = await echo(socks, "x".repeat(32), 16, SECS);
    const echo16k_per_s = await echo(socks, Buffer.alloc(16 * 1024, 7), 4, SECS);
    await Promise.all(socks.map((s) => s.close()));
    return {
      heap_per_socket: Math.round((idle.heap - before.heap) / SOCKETS),
      rss_per_socket: Math.round((idle.rss - before.rss) / SOCKETS),
      echo32_per_s: Math.round(echo32_per_s),
      echo16k_per_s: Math.round(echo16k_per_s),
    };
  } finally {
    await server.stop();
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
    return { heap_per_socket: m("heap_per_socket"), rss_per_socket: m("rss_per_socket"), echo32_per_s: m("echo32_per_s"), echo16k_per_s: m("echo16k_per_s") };
  };
  const cases = { h2: med("h2"), tcp: med("tcp") };
  const lines = [
    `${SOCKETS} sockets, ${ROUNDS} rounds, medians | over one h2 connection | over ${SOCKETS} TCP connections | h2/tcp`,
    ...(["heap_per_socket", "rss_per_socket", "echo32_per_s", "echo16k_per_s"] as const).map(
      (k) => `${k} | ${cases.h2[k]} | ${cases.tcp[k]} | ${round(cases.h2[k] / cases.tcp[k], 2)}`,
    ),
  ];
  process.stdout.write(lines.join("\n") + "\n");
  process.stdout.write(JSON.stringify({ ok: true, sockets: SOCKETS, cases }) + "\n");
  return 0;
}
