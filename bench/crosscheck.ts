// Cross-checks bench/loadgen.ts against wsload, a C WebSocket load generator kept outside
// this repository (pass its binary with --wsload), on one
// server (the ws peer by default): same scenarios, same pinning, alternated per
// round. CPU shares over the measured window: loadgen.ts reports them itself; for
// wsload they are polled from /proc (runner/cpuwatch.ts) after its 1 s warm-up.
// Medians use the runs where other processes stayed below 0.25 cores, if any.
//
//   cc -O2 -o /tmp/wsload path/to/wsload.c
//   node --import tsx bench/crosscheck.ts [--wsload /tmp/wsload] [--rounds 3] [--secs 5]
//        [--only ws32,ws32x16,ws16k,ws1m,idle] [--quiet-wait 20] [--server peer|ours]
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Args } from "./lib/args.js";
import { median, round } from "./lib/stats.js";
import { CpuWatch, type CpuShares } from "./runner/cpuwatch.js";
import { describeMachine } from "./runner/machine.js";
import { waitQuiet } from "./runner/quiet.js";
import { SCENARIOS, type Idle, type WsEcho } from "./runner/scenarios.js";
import { lastJson, runToEnd, startServer, stopAll, type Placement } from "./runner/spawn.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const NODE = [process.execPath, "--conditions=source", "--import", "tsx"];
const QUIET = 0.25;

interface Run {
  value: number;
  /** The generator's own CPU share over its measured window. */
  genCpu: number;
  shares: CpuShares | undefined;
}

function parseWsload(out: string): Record<string, number> {
  const line = out.trim().split("\n").reverse().find((l) => /(msgs_per_s|per_conn_kb)=/.test(l)) ?? "";
  const r: Record<string, number> = {};
  for (const m of line.matchAll(/(\w+)=([-0-9.]+)/g)) r[m[1]!] = Number(m[2]);
  return r;
}

function command(l: WsEcho | Idle, useC: boolean, wsload: string, port: number, pid: number, secs: number): string[] {
  if (l.kind === "ws") {
    const common = ["--port", String(port), "-c", String(l.conns), "-p", String(l.pipeline), "-s", String(l.size), "-t", l.type, "-d", String(secs), "-w", "1"];
    return useC ? [wsload, "echo", ...common] : [...NODE, "bench/loadgen.ts", "--mode", "echo", "--pid", String(pid), ...common];
  }
  const common = ["--port", String(port), "--pid", String(pid), "-n", String(l.conns), "--settle", "2"];
  return useC ? [wsload, "idle", ...common, "-H", "1"] : [...NODE, "bench/loadgen.ts", "--mode", "idle", ...common, "--hold", "1"];
}

function parseRun(stdout: string, useC: boolean, idle: boolean, polled: CpuShares | undefined): Run | undefined {
  if (useC) {
    const w = parseWsload(stdout);
    const value = idle ? w.per_conn_kb : w.msgs_per_s;
    if (value === undefined || (w.errors ?? 0) > 0) return undefined;
    return { value, genCpu: (w.client_cpu_pct ?? Number.NaN) / 100, shares: polled };
  }
  const j = lastJson(stdout);
  if (j === undefined || j.ok !== true) return undefined;
  const genCpu = Number(j.cpu ?? Number.NaN);
  const own = typeof j.server_cpu === "number" && typeof j.other_cpu === "number" && j.server_cpu >= 0
    ? { wall: Number(j.secs), server: j.server_cpu, generator: genCpu, other: j.other_cpu }
    : polled;
  return { value: Number(idle ? j.per_conn_kb : j.msgs_per_s), genCpu, shares: own };
}

/** Medians over the quiet runs (or all runs when none was quiet). */
function summary(runs: Run[]): { value: number; genCpu: number; server: number; other: number; quiet: number; n: number } {
  const quiet = runs.filter((r) => r.shares !== undefined && r.shares.other < QUIET);
  const use = quiet.length > 0 ? quiet : runs;
  const med = (f: (r: Run) => number | undefined): number => median(use.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x)));
  return {
    value: med((r) => r.value),
    genCpu: med((r) => r.genCpu),
    server: med((r) => r.shares?.server),
    other: med((r) => r.shares?.other),
    quiet: quiet.length,
    n: runs.length,
  };
}

async function main(): Promise<number> {
  const a = new Args(process.argv.slice(2));
  const wsload = a.str(["--wsload"], "/tmp/wsload");
  const rounds = a.num(["--rounds"], 3);
  const secs = a.num(["--secs"], 5);
  const only = a.str(["--only"], "ws32,ws32x16,ws16k,ws1m,idle").split(",");
  const quietWait = a.num(["--quiet-wait"], 20);
  const which = a.str(["--server"], "peer");
  a.done();
  if (which !== "peer" && which !== "ours") throw new Error("--server must be peer or ours");
  if (!(Number.isInteger(rounds) && rounds >= 1 && rounds <= 20 && secs > 0 && secs <= 60)) throw new Error("--rounds 1..20, --secs (0,60]");
  if (!existsSync(wsload)) throw new Error(`${wsload} not found; build wsload and pass its path with --wsload`);
  const script = which === "peer" ? "bench/servers/ws-peer.ts" : "bench/servers/ours-ws.ts";
  const machine = describeMachine(root, false);
  const at = (cpu: number): Placement => ({ cpu: machine.taskset ? cpu : undefined, nofile: machine.nofile, cwd: root });
  const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : "—");
  const lines = [
    `server: ${script} (CPU 0), generators on CPU 1; medians of quiet runs (other processes < ${QUIET * 100}% of a core)`,
    "",
    "| scenario | loadgen.ts | wsload (C) | loadgen/wsload | generator CPU (loadgen.ts / wsload) | server CPU | other processes | quiet runs |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  let clean = true;
  for (const s of SCENARIOS) {
    const l = s.load;
    if (!only.includes(s.id) || l.kind === "http" || l.kind === "client") continue;
    const runs: Record<"ts" | "c", Run[]> = { ts: [], c: [] };
    for (let r = 0; r < rounds * 2; r++) {
      const useC = r % 2 === 1;
      if (quietWait > 0) await waitQuiet(QUIET, quietWait * 1000);
      const srv = await startServer([...NODE, script], at(0), 30_000);
      const watch = new CpuWatch(srv.pid, 1100);
      try {
        const cmd = command(l, useC, wsload, srv.port, srv.pid, secs);
        const out = await runToEnd(cmd, at(1), (secs + 90) * 1000, (pid) => watch.generator(pid));
        const shares = watch.stop();
        const got = parseRun(out.stdout, useC, l.kind === "idle", shares);
        const name = useC ? "wsload" : "loadgen.ts";
        if (got === undefined) {
          clean = false;
          process.stderr.write(`[crosscheck] ${s.id} ${name} FAILED: ${srv.death() ?? ""} ${out.stdout.slice(-300)} ${out.stderr.slice(-300)}\n`);
        } else {
          runs[useC ? "c" : "ts"].push(got);
          process.stderr.write(`[crosscheck] ${s.id} ${name}: ${got.value} (server ${pct(got.shares?.server ?? Number.NaN)}, other ${pct(got.shares?.other ?? Number.NaN)})\n`);
        }
      } finally {
        watch.stop();
        await srv.stop();
      }
    }
    const t = summary(runs.ts);
    const c = summary(runs.c);
    lines.push(
      `| ${s.id} (${s.unit}) | ${round(t.value, 2)} | ${round(c.value, 2)} | ${(t.value / c.value).toFixed(2)} | ${pct(t.genCpu)} / ${pct(c.genCpu)} | ` +
        `${pct(t.server)} / ${pct(c.server)} | ${pct(t.other)} / ${pct(c.other)} | ${t.quiet}/${t.n} , ${c.quiet}/${c.n} |`,
    );
  }
  process.stdout.write(lines.join("\n") + "\n");
  return clean ? 0 : 1;
}

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err: unknown) => {
    process.stderr.write(`crosscheck: ${err instanceof Error ? err.message : String(err)}\n`);
    await stopAll();
    process.exit(2);
  },
);
