// Live heap per idle WebSocket connection, ours and ws, measured the steady
// way: the server runs in a child process with --expose-gc, N raw connections
// each exchange one echo, and the server reports its heap after full
// collections before and after. Unlike RSS (the "idle" row of run.ts), this
// counts only live objects, so it moves by bytes, not by the young
// generation's growth, and tells whether a change costs memory per connection.
// --breakdown also writes a heap snapshot before and after in the first round
// and prints what the connections added, per kind of object (self sizes).
//
//   node --import tsx bench/idleheap.ts [--conns 2000] [--rounds 3] [--server ours|ws|both] [--breakdown [--keep DIR]] [--deflate]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeHeapSnapshot } from "node:v8";
import { Args } from "./lib/args.js";
import { childlines } from "./lib/childlines.js";
import { diff, kinds, oneoff } from "./lib/heapdiff.js";
import { median } from "./lib/stats.js";
import { OP_TEXT, handshakeRequest, makePayload, maskedFrame, newKey } from "./lib/wsproto.js";

const args = new Args(process.argv.slice(2), new Set(["--breakdown", "--deflate"]));
const serve = args.str(["--serve"], "");
const CONNS = args.num(["--conns"], 2000);
const ROUNDS = args.num(["--rounds"], 3);
const SERVER = args.str(["--server"], "both");
const BREAKDOWN = args.flag("--breakdown");
const KEEP = args.str(["--keep"], ""); // with --breakdown: keep the snapshots in this directory
// --deflate: permessage-deflate on at both servers (each with its defaults) and offered by the clients.
const DEFLATE = args.flag("--deflate");
/** The clients' offer with --deflate (what browsers send). */
const OFFER = "permessage-deflate; client_max_window_bits";
args.done();

if (serve !== "") await server(serve);
else await measure();

/**
 * The child: an echo server that answers "heap" on stdin with its live heap
 * after full collections, and "snap <file>" by writing a heap snapshot too.
 */
async function server(which: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error("run with --expose-gc");
  let port: number;
  if (which === "ws") {
    const { WebSocketServer } = await import("ws");
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: DEFLATE });
    wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
    await new Promise((r) => wss.on("listening", r));
    port = (wss.address() as net.AddressInfo).port;
  } else {
    const { startOursWs } = await import("./servers/ours-ws.js");
    port = (await startOursWs(DEFLATE ? { compression: true } : undefined)).port;
  }
  console.log(`PORT=${port}`);
  process.stdin.on("end", () => process.exit(0)); // the parent is gone
  process.stdin.on("data", (d) => {
    const [cmd, file] = d.toString().trim().split(" ");
    if (cmd !== "heap" && cmd !== "snap") return process.exit(0);
    gc();
    gc();
    const m = process.memoryUsage();
    if (cmd === "snap") writeHeapSnapshot(file);
    console.log(`HEAP=${m.heapUsed} ${m.heapTotal} ${m.rss}`);
  });
}

/** Bytes per idle connection: live heap after full collections, the heap V8 keeps (live or not), and RSS. */
interface PerConn {
  heap: number;
  total: number;
  rss: number;
}

/** One round: what each idle connection costs; with `snapdir`, snapshots before.heapsnapshot and after.heapsnapshot there. */
async function round(which: string, snapdir?: string): Promise<PerConn> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const flags = DEFLATE ? ["--deflate"] : [];
  const child = spawn(process.execPath, ["--expose-gc", "--conditions=source", "--import", "tsx", "bench/idleheap.ts", "--serve", which, ...flags], {
    cwd: root,
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = childlines(child, `the ${which} server`);
  const [port] = await line(/PORT=(\d+)/);
  const ask = (name: string): string => (snapdir === undefined ? "heap\n" : `snap ${join(snapdir, name)}.heapsnapshot\n`);
  child.stdin.write(ask("before"));
  const usage = /HEAP=(\d+) (\d+) (\d+)/;
  const before = await line(usage);
  const payload = makePayload(16, true);
  const socks: net.Socket[] = [];
  for (let i = 0; i < CONNS; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, CONNS - i) }, () => idle(port, payload, socks)));
  }
  await new Promise((r) => setTimeout(r, 1000));
  child.stdin.write(ask("after"));
  const after = await line(usage);
  child.stdin.write("exit\n");
  for (const s of socks) s.destroy();
  const per = (i: number): number => (after[i]! - before[i]!) / CONNS;
  return { heap: per(0), total: per(1), rss: per(2) };
}

/** A raw connection that completes the handshake and one echo, then stays. */
function idle(port: number, payload: Buffer, socks: net.Socket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1");
    socks.push(s);
    const key = newKey();
    let buf = Buffer.alloc(0);
    let stage = 0;
    s.on("error", reject);
    s.on("connect", () => s.write(handshakeRequest(port, key, DEFLATE ? OFFER : undefined)));
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (stage === 0) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const agreed = /^sec-websocket-extensions: *permessage-deflate/im.test(buf.toString("latin1", 0, end));
        if (agreed !== DEFLATE) return reject(new Error(`permessage-deflate ${agreed ? "agreed" : "declined"} by the server`));
        buf = buf.subarray(end + 4);
        stage = 1;
        s.write(maskedFrame(OP_TEXT, payload, randomBytes(4)));
      }
      if (stage === 1 && buf.length >= 2 + payload.length) {
        stage = 2;
        resolve();
      }
    });
  });
}

async function measure(): Promise<void> {
  const sides = SERVER === "both" ? ["ours", "ws"] : [SERVER];
  const got: Record<string, PerConn[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const side of sides) {
      const snapdir = BREAKDOWN && r === 0 ? mkdtempSync(join(KEEP || tmpdir(), `idleheap-${side}-`)) : undefined;
      const b = await round(side, snapdir);
      (got[side] ??= []).push(b);
      console.log(`[idleheap] round ${r + 1} ${side}: ${b.heap.toFixed(0)} B/conn live heap (V8 heap ${b.total.toFixed(0)}, RSS ${b.rss.toFixed(0)})`);
      if (snapdir !== undefined) {
        breakdown(side, snapdir);
        if (KEEP === "") rmSync(snapdir, { recursive: true });
        else console.log(`[idleheap] snapshots kept in ${snapdir}`);
      }
    }
  }
  const med = (side: string, k: keyof PerConn): number => median(got[side]!.map((b) => b[k]));
  for (const side of sides) {
    console.log(
      `${side}: median ${med(side, "heap").toFixed(0)} bytes of live heap per idle connection ` +
        `(V8 heap ${med(side, "total").toFixed(0)}, RSS ${med(side, "rss").toFixed(0)}; ${CONNS} connections, ${ROUNDS} rounds)`,
    );
  }
  if (sides.length === 2) {
    const ratio = (k: keyof PerConn): string => (med("ours", k) / med("ws", k)).toFixed(2);
    console.log(`ours / ws: live heap ${ratio("heap")}, V8 heap ${ratio("total")}, RSS ${ratio("rss")}`);
  }
}

/** Print what the connections added to the heap, per kind of object, per connection. */
function breakdown(side: string, dir: string): void {
  const rows = diff(kinds(join(dir, "before.heapsnapshot")), kinds(join(dir, "after.heapsnapshot")), CONNS);
  const kept = rows.filter((k) => !oneoff(k.kind) && Math.abs(k.bytes) >= 4);
  console.log(`[idleheap] ${side}: what each connection adds to the heap, by kind (self sizes, bytes)`);
  for (const k of kept) console.log(`${k.bytes.toFixed(0).padStart(6)}  x${k.count.toFixed(2).padEnd(5)} ${k.kind}`);
  const sum = (ks: typeof rows): number => ks.reduce((n, k) => n + k.bytes, 0);
  console.log(`${sum(kept).toFixed(0).padStart(6)}  in the kinds above; ${sum(rows.filter((k) => oneoff(k.kind))).toFixed(0)} more in code, shapes and native nodes (warm-up, or outside the JS heap)`);
}
