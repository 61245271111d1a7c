// Stalled uploads against the WebSocket echo server, with its default options:
// N connections each send all but the last byte of a large frame and stop,
// while one normal client keeps echoing 32-byte messages. Reports the server's
// RSS growth, when and how each stalled connection was closed, and the normal
// client's echo latency before, during and after the upload.
//
//   node --import tsx bench/stall.ts [--conns 40] [--frame 16m] [--max-secs 180] [--server ours|ws]
//
// Goals (with --conns 40 --frame 16m): RSS grows by less than 300 MiB, and every
// stalled connection is closed within 120 s of stalling. Exit status 1 when a
// goal is missed. Not a test: it takes about two minutes and one core.
import net from "node:net";
import { fileURLToPath } from "node:url";
import { Args } from "./lib/args.js";
import { FrameReader } from "./lib/framereader.js";
import { Histogram } from "./lib/histogram.js";
import { statusKb } from "./lib/procstat.js";
import { sleep } from "./lib/stats.js";
import { WsConn } from "./lib/wsclient.js";
import { OP_BINARY, OP_TEXT, checkHandshake, handshakeRequest, makePayload, maskedFrame, newKey } from "./lib/wsproto.js";
import { startServer, stopAll } from "./runner/spawn.js";

const args = new Args(process.argv.slice(2));
const CONNS = args.num(["--conns"], 40);
const FRAME = args.num(["--frame"], 16 * 1024 * 1024);
const MAX_SECS = args.num(["--max-secs"], 180);
const SERVER = args.str(["--server"], "ours");
args.done();
const GOAL_RSS_MIB = 300;
const GOAL_CLOSED_SECS = 120;

const root = fileURLToPath(new URL("..", import.meta.url));
const script = SERVER === "ws" ? "bench/servers/ws-peer.ts" : "bench/servers/ours-ws.ts";
const server = await startServer(["node", "--conditions=source", "--import", "tsx", script], { cpu: undefined, nofile: 4096, cwd: root }, 30_000);
const rssmib = (): number => statusKb(server.pid, "VmRSS") / 1024;

// ---- the normal client: one 32-byte echo at a time, latency per phase ----

type Phase = "before" | "upload" | "stalled";
let phase: Phase = "before";
const latency: Record<Phase, Histogram> = { before: new Histogram(), upload: new Histogram(), stalled: new Histogram() };
const payload = makePayload(32, true);
const echo = maskedFrame(OP_TEXT, payload, Buffer.from([9, 8, 7, 6]));
let sentat = 0;
let echofail: string | undefined;
const normal = new WsConn(0, server.port, new FrameReader(payload, OP_TEXT, 1), {
  open: (c) => {
    sentat = performance.now();
    c.write(echo);
  },
  messages: (c) => {
    latency[phase].record((performance.now() - sentat) * 1000);
    sentat = performance.now();
    c.write(echo);
  },
  failed: (_c, why) => (echofail = why),
}, Buffer.allocUnsafe(64 * 1024));

// ---- the stalled uploads ----

interface Stalled {
  stalledat: number; // when its last byte was written (ms), 0 before
  closedat: number; // when the server closed it (ms), 0 while open
  code: number; // the close code it received, 0 for none
}

/** A raw connection that writes the whole frame but its last byte, then stops (and never answers). */
function upload(port: number, body: Buffer, st: Stalled): Promise<void> {
  return new Promise((resolve) => {
    const key = newKey();
    const s = net.connect({ port, host: "127.0.0.1", noDelay: true });
    let buf = Buffer.alloc(0);
    let open = false;
    s.on("connect", () => s.write(handshakeRequest(port, key)));
    s.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (!open) {
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        const why = checkHandshake(buf.subarray(0, end).toString("latin1"), key);
        if (why !== undefined) throw new Error(why);
        buf = buf.subarray(end + 4);
        open = true;
        s.write(body, () => (st.stalledat = performance.now()));
      }
      // The server's frames: keepalive pings (not answered: a peer inside a frame cannot) and the close frame.
      while (buf.length >= 2) {
        const len = buf[1]! & 0x7f; // control frames only: 7-bit lengths
        if (buf.length < 2 + len) break;
        if ((buf[0]! & 0x0f) === 8 && len >= 2) st.code = buf.readUInt16BE(2);
        buf = buf.subarray(2 + len);
      }
    });
    s.on("error", () => {});
    s.on("close", () => {
      st.closedat = performance.now();
      resolve();
    });
    s.on("end", () => s.end());
  });
}

await sleep(3000);
const rss0 = rssmib();
console.log(`server ${SERVER} pid ${server.pid}: RSS ${rss0.toFixed(0)} MiB before; ${CONNS} uploads of ${FRAME - 1} bytes of a ${FRAME}-byte frame`);
phase = "upload";
const t0 = performance.now();
const frame = maskedFrame(OP_BINARY, Buffer.alloc(FRAME), Buffer.from([1, 2, 3, 4]));
const body = frame.subarray(0, frame.length - 1);
const results: Stalled[] = Array.from({ length: CONNS }, () => ({ stalledat: 0, closedat: 0, code: 0 }));
for (const st of results) void upload(server.port, body, st);
const done = (): number => results.filter((r) => r.closedat > 0).length;

let peak = rss0;
const curve: [number, number][] = [];
const deadline = t0 + MAX_SECS * 1000;
while (done() < CONNS && performance.now() < deadline) {
  await sleep(500);
  const r = rssmib();
  peak = Math.max(peak, r);
  curve.push([Math.round((performance.now() - t0) / 1000), Math.round(r - rss0)]);
  if (phase === "upload" && results.every((r) => r.stalledat > 0 || r.closedat > 0)) phase = "stalled";
  if (server.death() !== undefined) break;
}
const rss1 = rssmib();
const closed = results.filter((r) => r.closedat > 0).map((r) => ({ ...r })); // before our own teardown closes the rest
normal.close();
await server.stop();
await stopAll();

// ---- report ----

const lastclose = Math.max(0, ...closed.map((r) => (r.closedat - (r.stalledat || r.closedat)) / 1000));
const codes = new Map<number, number>();
for (const r of closed) codes.set(r.code, (codes.get(r.code) ?? 0) + 1);
const q = (h: Histogram, x: number): string => (h.count === 0 ? "-" : `${(h.quantile(x) / 1000).toFixed(2)} ms`);
console.log(`RSS growth: peak ${(peak - rss0).toFixed(0)} MiB, at the end ${(rss1 - rss0).toFixed(0)} MiB (goal < ${GOAL_RSS_MIB} MiB)`);
console.log(`closed by the server: ${closed.length} of ${CONNS}, the last ${lastclose.toFixed(1)} s after it stalled (goal <= ${GOAL_CLOSED_SECS} s)`);
console.log(`close codes received: ${[...codes].map(([c, n]) => `${c === 0 ? "none" : c} x${n}`).join(", ")}`);
console.log("echo latency of the normal client (p50 / p99 / max):");
for (const p of ["before", "upload", "stalled"] as const) {
  console.log(`  ${p.padEnd(8)} ${String(latency[p].count).padStart(7)} echoes  ${q(latency[p], 0.5)} / ${q(latency[p], 0.99)} / ${q(latency[p], 1)}`);
}
if (echofail !== undefined) console.log(`normal client failed: ${echofail}`);
console.log(`RSS growth curve (s, MiB): ${curve.filter((_, i) => i % 4 === 0).map(([t, m]) => `${t}:${m}`).join(" ")}`);
const ok = peak - rss0 < GOAL_RSS_MIB && closed.length === CONNS && lastclose <= GOAL_CLOSED_SECS && echofail === undefined;
console.log(ok ? "goals met" : "goals missed");
process.exit(ok ? 0 : 1);
