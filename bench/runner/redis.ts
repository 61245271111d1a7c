// Runs bench/redis.ts (its own redis-server on CPU 1, each client on CPU 0)
// and returns its ours/peer pairs: silly-store-redis vs node-redis and ioredis.
import type { Context } from "./measure.js";
import { lastJson, runToEnd } from "./spawn.js";

export interface RedisPair {
  name: string;
  workload: string;
  unit: string;
  peerimpl: string;
  ours: number;
  peer: number;
  ourscpu: number;
  peercpu: number;
}

interface CaseJson {
  ops_per_s: number;
  cpu_us_per_op: number;
}

interface PairJson {
  name: string;
  workload: string;
  unit: string;
  peerimpl: string;
  ours: string;
  peer: string;
}

export async function runRedis(ctx: Context): Promise<RedisPair[] | string> {
  const secs = ctx.quick ? 1 : ctx.secs;
  const cmd = [process.execPath, "--conditions=source", "--import", "tsx", "bench/redis.ts", "--secs", String(secs), "--reps", "1"];
  // Unpinned: the script pins the server and the clients it starts itself.
  const r = await runToEnd(cmd, { cpu: undefined, nofile: ctx.machine.nofile, cwd: ctx.root }, 600_000);
  const j = lastJson(r.stdout);
  if (j === undefined || j.ok !== true) {
    const reasons = j !== undefined && Array.isArray(j.reasons) ? j.reasons.join("; ") : r.stderr.slice(-400);
    return `bench/redis.ts failed: ${reasons}`;
  }
  const cases = j.cases as Record<string, CaseJson>;
  return (j.pairs as PairJson[]).map((p) => ({
    name: p.name,
    workload: p.workload,
    unit: p.unit,
    peerimpl: p.peerimpl,
    ours: cases[p.ours]!.ops_per_s,
    peer: cases[p.peer]!.ops_per_s,
    ourscpu: cases[p.ours]!.cpu_us_per_op,
    peercpu: cases[p.peer]!.cpu_us_per_op,
  }));
}
