// Cross-checks bench/loadgen.ts against the C wsload (shared/tools/wsload) on the ws
// peer: same scenarios, same pinning, alternated per round, medians of both.
//
//   cc -O2 -o /tmp/wsload /work/shared/tools/wsload/wsload.c
//   node --import tsx bench/crosscheck.ts [--wsload /tmp/wsload] [--rounds 3] [--secs 5]
//        [--only ws32,ws32x16,ws16k,ws1m,idle]
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Args } from "./lib/args.js";
import { median, round } from "./lib/stats.js";
import { describeMachine } from "./runner/machine.js";
import { SCENARIOS } from "./runner/scenarios.js";
import { lastJson, runToEnd, startServer, stopAll, type Placement } from "./runner/spawn.js";

const root = fileURLToPath(new URL("..", import.meta.url));

interface Figure {
  value: number;
  genCpu: number;
  serverCpu: number;
}

function parseWsload(out: string): Record<string, number> {
  const line = out.trim().split("\n").reverse().find((l) => /(msgs_per_s|per_conn_kb)=/.test(l)) ?? "";
  const r: Record<string, number> = {};
  for (const m of line.matchAll(/(\w+)=([-0-9.]+)/g)) r[m[1]!] = Number(m[2]);
  return r;
}

async function main(): Promise<number> {
  const a = new Args(process.argv.slice(2));
  const wsload = a.str(["--wsload"], "/tmp/wsload");
  const rounds = a.num(["--rounds"], 3);
  const secs = a.num(["--secs"], 5);
  const only = a.str(["--only"], "ws32,ws32x16,ws16k,ws1m,idle").split(",");
  a.done();
  if (!existsSync(wsload)) throw new Error(`${wsload} not found; build it: cc -O2 -o /tmp/wsload /work/shared/tools/wsload/wsload.c`);
  const machine = describeMachine(root, false);
  const at = (cpu: number): Placement => ({ cpu: machine.taskset ? cpu : undefined, nofile: machine.nofile, cwd: root });
  const node = [process.execPath, "--conditions=source", "--import", "tsx"];
  const lines = ["| scenario | loadgen.ts | wsload (C) | loadgen/wsload | loadgen.ts CPU | wsload CPU | server CPU (loadgen.ts run) |", "|---|---:|---:|---:|---:|---:|---:|"];
  let clean = true;
  for (const s of SCENARIOS) {
    if (!only.includes(s.id) || s.load.kind === "http") continue;
    const l = s.load;
    const ours: Figure[] = [];
    const theirs: Figure[] = [];
    for (let r = 0; r < rounds * 2; r++) {
      const useC = r % 2 === 1;
      const srv = await startServer([...node, "bench/servers/ws-peer.ts"], at(0), 30_000);
      try {
        let cmd: string[];
        if (l.kind === "ws") {
          const common = ["--port", String(srv.port), "-c", String(l.conns), "-p", String(l.pipeline), "-s", String(l.size), "-t", l.type, "-d", String(secs), "-w", "1"];
          cmd = useC ? [wsload, "echo", ...common] : [...node, "bench/loadgen.ts", "--mode", "echo", "--pid", String(srv.pid), ...common];
        } else if (l.kind === "idle") {
          const common = ["--port", String(srv.port), "--pid", String(srv.pid), "-n", String(l.conns), "--settle", "2"];
          cmd = useC ? [wsload, "idle", ...common, "-H", "1"] : [...node, "bench/loadgen.ts", "--mode", "idle", ...common, "--hold", "1"];
        } else {
          continue;
        }
        const out = await runToEnd(cmd, at(1), (secs + 90) * 1000);
        if (useC) {
          const w = parseWsload(out.stdout);
          const value = l.kind === "idle" ? w.per_conn_kb : w.msgs_per_s;
          if (out.code !== 0 || value === undefined) {
            clean = false;
            process.stderr.write(`wsload ${s.id} failed: ${out.stdout.slice(-300)} ${out.stderr.slice(-300)}\n`);
          } else theirs.push({ value, genCpu: (w.client_cpu_pct ?? Number.NaN) / 100, serverCpu: Number.NaN });
        } else {
          const j = lastJson(out.stdout);
          if (j === undefined || j.ok !== true) {
            clean = false;
            process.stderr.write(`loadgen ${s.id} failed: ${out.stdout.slice(-300)} ${out.stderr.slice(-300)}\n`);
          } else {
            const value = Number(l.kind === "idle" ? j.per_conn_kb : j.msgs_per_s);
            ours.push({ value, genCpu: Number(j.cpu ?? Number.NaN), serverCpu: Number(j.server_cpu ?? Number.NaN) });
          }
        }
        process.stderr.write(`[crosscheck] ${s.id} ${useC ? "wsload" : "loadgen.ts"}: ${(useC ? theirs : ours).at(-1)?.value ?? "failed"}\n`);
      } finally {
        await srv.stop();
      }
    }
    const med = (xs: Figure[], f: (x: Figure) => number): number => median(xs.map(f).filter(Number.isFinite));
    const o = med(ours, (x) => x.value);
    const t = med(theirs, (x) => x.value);
    const pct = (x: number): string => (Number.isFinite(x) ? `${Math.round(x * 100)}%` : "—");
    lines.push(`| ${s.id} (${s.unit}) | ${round(o, 2)} | ${round(t, 2)} | ${(o / t).toFixed(2)} | ${pct(med(ours, (x) => x.genCpu))} | ${pct(med(theirs, (x) => x.genCpu))} | ${pct(med(ours, (x) => x.serverCpu))} |`);
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
