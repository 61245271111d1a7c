// In-process micro-benchmarks: silly-sync-channel vs a plain promise queue, and
// task.fork vs queueMicrotask / Promise.resolve().then. Prints one JSON line.
//
//   node --conditions=source --import tsx bench/channel.ts [--n 1000000] [--reps 5]
//   node --conditions=source --import tsx bench/channel.ts --case NAME ...   (one case)
//
// Without --case every case runs in its own child process (see micro/cases.ts).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Args } from "./lib/args.js";
import { median, round } from "./lib/stats.js";
import { cases } from "./micro/cases.js";

export interface CaseResult {
  name: string;
  n: number;
  ops_per_s: number;
  /** ops/s of every timed repetition (the first, untimed one warms the JIT). */
  reps: number[];
}

export interface Pair {
  name: string;
  ours: string;
  peer: string;
  ratio: number;
}

const PAIRS: readonly (readonly [string, string, string])[] = [
  ["channel x1", "chan.silly.x1", "chan.queue.x1"],
  ["channel x64", "chan.silly.x64", "chan.queue.x64"],
  ["channel x1, no task", "chan.silly-notask.x1", "chan.queue.x1"],
  ["channel x64, no task", "chan.silly-notask.x64", "chan.queue.x64"],
  ["fork vs queueMicrotask", "fork.silly", "fork.microtask"],
  ["fork vs Promise.then", "fork.silly", "fork.then"],
];
const CASE_TIMEOUT_MS = 120_000;

async function runCase(name: string, n: number, reps: number): Promise<CaseResult> {
  const fn = cases[name];
  if (fn === undefined) throw new Error(`unknown case ${name}; known: ${Object.keys(cases).join(", ")}`);
  const rates: number[] = [];
  for (let r = 0; r <= reps; r++) {
    const t0 = performance.now();
    const ops = await fn(n);
    const secs = (performance.now() - t0) / 1000;
    if (r > 0) rates.push(round(ops / secs, 0));
  }
  return { name, n, ops_per_s: median(rates), reps: rates };
}

function runChild(name: string, n: number, reps: number): CaseResult {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, self, "--case", name, "--n", String(n), "--reps", String(reps)],
    { encoding: "utf8", timeout: CASE_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"] },
  );
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(`case ${name} failed (status ${String(r.status)}): ${r.stderr.slice(-500)}`);
  }
  return JSON.parse(line) as CaseResult;
}

async function main(): Promise<void> {
  const a = new Args(process.argv.slice(2));
  const only = a.str(["--case"], "");
  const n = a.num(["--n"], 1_000_000);
  const reps = a.num(["--reps"], 5);
  a.done();
  if (!(Number.isInteger(n) && n > 0 && n <= 1e8 && Number.isInteger(reps) && reps >= 1 && reps <= 100)) {
    throw new Error("--n must be 1..1e8 and --reps 1..100");
  }
  if (only !== "") {
    process.stdout.write(JSON.stringify(await runCase(only, n, reps)) + "\n");
    return;
  }
  const results: Record<string, CaseResult> = {};
  for (const name of Object.keys(cases)) results[name] = runChild(name, n, reps);
  const pairs: Pair[] = PAIRS.map(([name, ours, peer]) => ({
    name,
    ours,
    peer,
    ratio: round(results[ours]!.ops_per_s / results[peer]!.ops_per_s, 3),
  }));
  process.stdout.write(JSON.stringify({ mode: "micro", ok: true, n, reps, cases: results, pairs }) + "\n");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ mode: "micro", ok: false, reasons: [String(err instanceof Error ? err.message : err)] }) + "\n");
    process.exit(1);
  },
);
