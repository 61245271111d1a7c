// RSS per idle WebSocket connection with permessage-deflate, ours and ws, in
// one run: each server (bench/servers, `--compression`: ours with its server
// defaults, ws with the same settings) holds N connections that each agreed
// to compression the way browsers offer it and exchanged one compressed
// 256-byte JSON text each way (so both zlib contexts exist), and the
// generator reads the server's RSS (loadgen.ts --mode idle --deflate). The
// same without compression, for what compression adds. Rounds alternate the
// servers; medians.
//
//   node --import tsx bench/idledeflate.ts [--conns 1000,5000] [--rounds 3] [--settle 2]
import { fileURLToPath } from "node:url";
import { Args } from "./lib/args.js";
import { median } from "./lib/stats.js";
import { describeMachine } from "./runner/machine.js";
import { lastJson, runToEnd, startServer, stopAll } from "./runner/spawn.js";
import type { Placement } from "./runner/spawn.js";

const args = new Args(process.argv.slice(2));
const CONNS = args.str(["--conns"], "1000,5000").split(",").map(Number);
const ROUNDS = args.num(["--rounds"], 3);
const SETTLE = args.num(["--settle"], 2);
args.done();

const root = fileURLToPath(new URL("..", import.meta.url));
const machine = describeMachine(root, false);
const place = (cpu: number): Placement => ({ cpu: machine.taskset ? cpu : undefined, nofile: machine.nofile, cwd: root });
const tsx = (...a: string[]): string[] => [process.execPath, "--conditions=source", "--import", "tsx", ...a];

const SIDES = [
  { name: "ours, compression", script: "bench/servers/ours-ws.ts", deflate: true },
  { name: "ws, perMessageDeflate", script: "bench/servers/ws-peer.ts", deflate: true },
  { name: "ours, no compression", script: "bench/servers/ours-ws.ts", deflate: false },
  { name: "ws, no compression", script: "bench/servers/ws-peer.ts", deflate: false },
];

/** One measurement: KiB of RSS per connection after settling, or an error. */
async function once(script: string, deflate: boolean, conns: number): Promise<number | string> {
  if (machine.nofile < conns + 256) return `ulimit -n is ${machine.nofile}, ${conns} connections need more`;
  const flag = deflate ? ["--compression"] : [];
  const srv = await startServer(tsx(script, ...flag), place(0), 30_000);
  try {
    const r = await runToEnd(
      tsx("bench/loadgen.ts", "--mode", "idle", "--port", String(srv.port), "--pid", String(srv.pid), "-n", String(conns), "--settle", String(SETTLE), "--hold", "1", "--hs-timeout", "120", ...(deflate ? ["--deflate"] : [])),
      place(1),
      300_000,
    );
    const j = lastJson(r.stdout);
    if (j === undefined || j.ok !== true) return `loadgen failed: ${JSON.stringify(j) ?? r.stderr.slice(-300)}`;
    return j.per_conn_kb as number; // /proc counts in KiB ("kB")
  } finally {
    await srv.stop();
  }
}

async function main(): Promise<void> {
  console.log(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ws ${machine.ws}; ${ROUNDS} rounds, medians; RSS after ${SETTLE} s of settling`);
  const results = new Map<string, number[]>();
  for (let r = 1; r <= ROUNDS; r++) {
    for (const n of CONNS) {
      for (const s of SIDES) {
        const v = await once(s.script, s.deflate, n);
        if (typeof v === "string") throw new Error(`${s.name}, ${n} connections: ${v}`);
        const key = `${s.name}|${n}`;
        results.set(key, [...(results.get(key) ?? []), v]);
        process.stderr.write(`[idledeflate] round ${r}: ${s.name}, ${n} conns: ${v.toFixed(1)} KiB/conn\n`);
      }
    }
  }
  console.log(`| server | ${CONNS.map((n) => `${n.toLocaleString("en")} conns`).join(" | ")} |`);
  console.log(`|---|${CONNS.map(() => "---:").join("|")}|`);
  for (const s of SIDES) {
    const cells = CONNS.map((n) => {
      const v = results.get(`${s.name}|${n}`)!;
      return `${median(v).toFixed(1)} KiB (${v.map((x) => x.toFixed(0)).join(", ")})`;
    });
    console.log(`| ${s.name} | ${cells.join(" | ")} |`);
  }
}

main().then(
  async () => {
    await stopAll();
  },
  async (e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    await stopAll();
    process.exit(1);
  },
);
