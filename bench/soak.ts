// Soak: many WebSocket connections held open against the echo server with its
// default options (keepalive on: a ping after 20 s of silence), each answering
// pings and echoing a small message now and then, for a long time. Samples the
// server's RSS; growth after the first minute must stay bounded.
//
//   node --import tsx bench/soak.ts [--conns 2000] [--secs 600] [--every 30] [--sample 10]
//
// --every S: each connection sends one 32-byte echo every S seconds on average
// (0: never; then only keepalive pings and pongs cross). Prints the RSS curve
// and a summary; exit status 1 when a connection was lost or RSS grew by more
// than 10% between the first minute and the end.
import { fileURLToPath } from "node:url";
import { Args } from "./lib/args.js";
import { openConnections } from "./lib/connpool.js";
import { FrameReader } from "./lib/framereader.js";
import { statusKb } from "./lib/procstat.js";
import { sleep } from "./lib/stats.js";
import type { WsConn } from "./lib/wsclient.js";
import { OP_TEXT, makePayload, maskedFrame } from "./lib/wsproto.js";
import { startServer, stopAll } from "./runner/spawn.js";

const args = new Args(process.argv.slice(2));
const CONNS = args.num(["--conns"], 2000);
const SECS = args.num(["--secs"], 600);
const EVERY = args.num(["--every"], 30);
const SAMPLE = args.num(["--sample"], 10);
args.done();
const GROWTH_LIMIT = 0.1;

const root = fileURLToPath(new URL("..", import.meta.url));
const server = await startServer(["node", "--conditions=source", "--import", "tsx", "bench/servers/ours-ws.ts"], { cpu: undefined, nofile: CONNS + 1024, cwd: root }, 30_000);
const rssmib = (): number => statusKb(server.pid, "VmRSS") / 1024;
const rss0 = rssmib();

const payload = makePayload(32, true);
const frame = maskedFrame(OP_TEXT, payload, Buffer.from([5, 6, 7, 8]));
let echoes = 0;
let pings = 0;
let lost = 0;
const reasons: string[] = [];
const t0 = performance.now();
const pool = await openConnections(
  {
    port: server.port,
    count: CONNS,
    batch: 100,
    timeoutMs: 60_000,
    reader: () => {
      const r = new FrameReader(payload, OP_TEXT, 1);
      return r;
    },
    readBuffer: Buffer.allocUnsafe(64 * 1024),
  },
  {
    open: (c) => {
      // Count the pings each connection answers (the pool's reader answers them).
      const answer = c.reader.onPing;
      c.reader.onPing = (p) => {
        pings++;
        answer(p);
      };
    },
    messages: (_c, n) => (echoes += n),
    lost: (c, why) => {
      lost++;
      if (reasons.length < 5) reasons.push(`conn ${c.id} after ${((performance.now() - t0) / 1000).toFixed(0)} s: ${why}`);
    },
  },
);
if (pool.failed > 0) console.log(`${pool.failed} connections failed to open: ${pool.reasons.join("; ")}`);
const conns: WsConn[] = pool.conns;
console.log(`${conns.length} connections open in ${pool.secs.toFixed(1)} s; RSS ${rss0.toFixed(0)} -> ${rssmib().toFixed(0)} MiB`);

// Light traffic: every connection echoes now and then, spread evenly.
let traffic: NodeJS.Timeout | undefined;
if (EVERY > 0) {
  let next = 0;
  const perTick = Math.max(1, Math.round(conns.length / (EVERY * 10)));
  traffic = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      const c = conns[next++ % conns.length]!;
      if (c.state === "open") c.write(frame);
    }
  }, 100);
}

const curve: [number, number][] = [];
const end = performance.now() + SECS * 1000;
while (performance.now() < end && server.death() === undefined) {
  await sleep(SAMPLE * 1000);
  curve.push([Math.round((performance.now() - t0) / 1000), rssmib()]);
}
if (traffic !== undefined) clearInterval(traffic);
const death = server.death();
for (const c of conns) c.close();
await server.stop();
await stopAll();

const at = (s: number): number => curve.find(([t]) => t >= s)?.[1] ?? curve[0]?.[1] ?? rss0;
const first = at(60);
const last = curve.at(-1)?.[1] ?? rss0;
const peak = Math.max(...curve.map(([, m]) => m));
console.log(`RSS (MiB) every ${SAMPLE} s: ${curve.map(([t, m]) => `${t}:${m.toFixed(0)}`).join(" ")}`);
console.log(`RSS: ${rss0.toFixed(0)} MiB before, ${first.toFixed(1)} at 1 min, ${last.toFixed(1)} at the end, peak ${peak.toFixed(1)}: ${(((last - first) / first) * 100).toFixed(1)}% after the first minute (limit ${GROWTH_LIMIT * 100}%)`);
console.log(`${echoes} echoes, ${pings} keepalive pings answered, ${lost} connections lost${reasons.length ? `: ${reasons.join("; ")}` : ""}`);
if (death !== undefined) console.log(death);
const ok = lost === 0 && death === undefined && last - first <= GROWTH_LIMIT * first;
console.log(ok ? "bounded" : "not bounded");
process.exit(ok ? 0 : 1);
