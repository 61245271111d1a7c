// Runs bench/channel.ts (pinned to CPU 0) and returns its ours/peer pairs.
import type { Context } from "./measure.js";
import { lastJson, runToEnd } from "./spawn.js";

export interface MicroPair {
  name: string;
  ours: number;
  peer: number;
}

interface CaseJson {
  ops_per_s: number;
}

interface PairJson {
  name: string;
  ours: string;
  peer: string;
}

export async function runMicro(ctx: Context): Promise<MicroPair[] | string> {
  const n = ctx.quick ? 200_000 : 1_000_000;
  const reps = ctx.quick ? 1 : 5;
  const cmd = [process.execPath, "--conditions=source", "--import", "tsx", "bench/channel.ts", "--n", String(n), "--reps", String(reps)];
  const placement = { cpu: ctx.machine.taskset ? 0 : undefined, nofile: ctx.machine.nofile, cwd: ctx.root };
  const r = await runToEnd(cmd, placement, 600_000);
  const j = lastJson(r.stdout);
  if (j === undefined || j.ok !== true) {
    const reasons = j !== undefined && Array.isArray(j.reasons) ? j.reasons.join("; ") : r.stderr.slice(-400);
    return `bench/channel.ts failed: ${reasons}`;
  }
  const cases = j.cases as Record<string, CaseJson>;
  const pairs = j.pairs as PairJson[];
  return pairs.map((p) => ({ name: p.name, ours: cases[p.ours]!.ops_per_s, peer: cases[p.peer]!.ops_per_s }));
}
