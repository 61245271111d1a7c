// Benchmark runner: ours vs peer for every scenario, alternated A B A B for N rounds,
// medians and ratios in a markdown table; JSON copy in bench/results/latest.json.
//
//   node --import tsx bench/run.ts [--rounds 3] [--secs 5] [--warmup 1] [--quick]
//        [--only ws32,ws32x16,ws16k,ws1m,wsz16k,wsz256,idle,http,micro,redis,chat,h2ws] [--no-wrk] [--max-minutes 40]
//        [--quiet-wait 20]   (seconds to wait, per measurement, for other processes to go
//                             below 0.25 busy cores; 0 to never wait; default 0 with --quick)
//
// Exit status: 0 when every measurement ran cleanly (goals met or not), 1 otherwise.
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Args } from "./lib/args.js";
import { describeMachine } from "./runner/machine.js";
import { measure, type Context, type Sample } from "./runner/measure.js";
import { runMicro, type MicroPair } from "./runner/micro.js";
import { runRedis } from "./runner/redis.js";
import { makeRow, renderMarkdown, summarize, type PairRow, type Row } from "./runner/report.js";
import { CHAT_ID, H2WS_ID, MICRO_ALIASES, REDIS_ID, SCENARIOS } from "./runner/scenarios.js";
import { runChat } from "./runner/chat.js";
import { runH2ws } from "./runner/h2ws.js";
import { busyCores, waitQuiet } from "./runner/quiet.js";
import { stopAll } from "./runner/spawn.js";

const root = fileURLToPath(new URL("..", import.meta.url));

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

interface Options {
  rounds: number;
  secs: number;
  warmup: number;
  quick: boolean;
  only: string[];
  wrk: boolean;
  maxMinutes: number;
  quietWait: number;
}

const QUIET_CORES = 0.25;

function options(): Options {
  const a = new Args(process.argv.slice(2), new Set(["--quick", "--no-wrk"]));
  const quick = a.flag("--quick");
  const o = {
    quick,
    rounds: a.num(["--rounds"], quick ? 1 : 3),
    secs: a.num(["--secs"], quick ? 1 : 5),
    warmup: a.num(["--warmup"], quick ? 0.5 : 1),
    only: a.str(["--only"], "").split(",").map((s) => s.trim()).filter((s) => s !== ""),
    wrk: !a.flag("--no-wrk"),
    maxMinutes: a.num(["--max-minutes"], 40),
    quietWait: a.num(["--quiet-wait"], quick ? 0 : 20),
  };
  a.done();
  if (!(Number.isInteger(o.rounds) && o.rounds >= 1 && o.rounds <= 20)) throw new Error("--rounds must be 1..20");
  if (!(o.secs > 0 && o.secs <= 120 && o.warmup >= 0 && o.warmup <= 60)) throw new Error("--secs must be (0,120], --warmup [0,60]");
  if (!(o.maxMinutes > 0 && o.maxMinutes <= 240)) throw new Error("--max-minutes must be (0,240]");
  if (!(o.quietWait >= 0 && o.quietWait <= 600)) throw new Error("--quiet-wait must be 0..600 seconds");
  const known = [...SCENARIOS.map((s) => s.id), ...MICRO_ALIASES, REDIS_ID, CHAT_ID, H2WS_ID];
  for (const id of o.only) if (!known.includes(id)) throw new Error(`--only: unknown scenario ${id}; known: ${known.join(", ")}`);
  return o;
}

async function main(): Promise<number> {
  const o = options();
  const machine = describeMachine(root, o.wrk);
  const ctx: Context = { root, machine, secs: o.secs, warmup: o.warmup, quick: o.quick };
  const wanted = (id: string): boolean => o.only.length === 0 || o.only.includes(id);
  const notes: string[] = [];
  if (machine.nofileNote !== undefined) notes.push(machine.nofileNote);
  if (!machine.taskset) notes.push("taskset not found: server and load generator are NOT pinned");
  const busyAtStart = await busyCores(1000);
  if (busyAtStart > QUIET_CORES) notes.push(`machine busy at start (${busyAtStart.toFixed(2)} cores used by other processes)`);
  if (o.wrk && machine.wrk === undefined && wanted("http")) notes.push("wrk not found (apt-get install -y wrk): HTTP uses bench/http-load.ts");
  log(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}, ws ${machine.ws}, ulimit -n ${machine.nofile}`);

  const deadline = Date.now() + o.maxMinutes * 60_000;
  const rows: Row[] = [];
  let clean = true;
  let expired = false;
  let busyStarts = 0;
  const settle = async (): Promise<void> => {
    if (o.quietWait <= 0) return;
    const busy = await waitQuiet(QUIET_CORES, o.quietWait * 1000);
    if (busy > QUIET_CORES) busyStarts++;
  };

  for (const s of SCENARIOS) {
    if (!wanted(s.id)) continue;
    const samples: Record<"ours" | "peer", Sample[]> = { ours: [], peer: [] };
    for (let r = 1; r <= o.rounds && !expired; r++) {
      for (const side of ["ours", "peer"] as const) {
        if (Date.now() > deadline) {
          expired = true;
          break;
        }
        await settle();
        const sample = await measure(s, side, ctx);
        samples[side].push(sample);
        log(`${s.id} round ${r} ${side}: ${sample.ok ? `${sample.value} ${s.unit}` : `FAILED: ${sample.error}`}`);
        if (!sample.ok) clean = false;
      }
    }
    rows.push(makeRow(s.id, s.label, s.unit, s.goal, summarize(samples.ours), summarize(samples.peer)));
  }

  // Suites that measure both sides in one run of their own (micro, redis).
  const pairrounds = async (tag: string, run: () => Promise<PairRow[] | string>): Promise<void> => {
    const byId = new Map<string, { row: PairRow; ours: Sample[]; peer: Sample[] }>();
    for (let r = 1; r <= o.rounds && !expired; r++) {
      if (Date.now() > deadline) {
        expired = true;
        break;
      }
      await settle();
      const res = await run();
      if (typeof res === "string") {
        log(`${tag} round ${r}: FAILED: ${res}`);
        notes.push(res);
        clean = false;
        continue;
      }
      for (const p of res) {
        const e = byId.get(p.id) ?? { row: p, ours: [], peer: [] };
        e.ours.push(p.ours);
        e.peer.push(p.peer);
        byId.set(p.id, e);
      }
      log(`${tag} round ${r}: ${res.map((p) => `${p.label} ${(p.ours.value / p.peer.value).toFixed(2)}`).join(", ")}`);
    }
    for (const { row, ours, peer } of byId.values()) rows.push(makeRow(row.id, row.label, row.unit, row.goal, summarize(ours), summarize(peer)));
  };

  if (MICRO_ALIASES.some(wanted)) {
    await pairrounds("micro", async () => {
      const res = await runMicro(ctx);
      if (typeof res === "string") return res;
      return res.map((p) => ({ id: `micro:${p.name}`, label: p.name, unit: "ops/s", ours: microSample(p, "ours"), peer: microSample(p, "peer") }));
    });
  }

  if (wanted(REDIS_ID)) {
    await pairrounds("redis", async () => {
      const res = await runRedis(ctx);
      if (typeof res === "string") return res;
      return res.map((p) => ({
        id: `redis:${p.workload}:${p.peerimpl}`,
        label: p.name,
        unit: p.unit,
        ours: { ok: true, value: p.ours, impl: "silly-store-redis", detail: { cpu_us_per_op: p.ourscpu } },
        peer: { ok: true, value: p.peer, impl: p.peerimpl, detail: { cpu_us_per_op: p.peercpu } },
      }));
    });
  }

  if (wanted(CHAT_ID)) {
    await pairrounds("chat", () => runChat(ctx));
    notes.push("chat rows: nothing is pinned; the chat processes, redis-server and the generator (1,000 clients in one process) share the machine");
  }

  if (wanted(H2WS_ID)) await pairrounds("h2ws", () => runH2ws(ctx));

  if (expired) {
    clean = false;
    notes.push(`stopped early: the ${o.maxMinutes}-minute limit (--max-minutes) was reached; later samples are missing`);
  }
  if (rows.some((r) => r.ours.impl === "peer-fallback")) {
    notes.push("ours = PLACEHOLDER (bench/servers/ours-*.ts fall back to the peer), so ratios are ~1 by construction");
  }
  const busiest = Math.max(0, ...rows.flatMap((r) => [r.ours.detail.other_cpu, r.peer.detail.other_cpu]).filter((x): x is number => typeof x === "number"));
  if (busyStarts > 0) {
    notes.push(`${busyStarts} measurement(s) started with other processes above ${QUIET_CORES} busy cores after waiting ${o.quietWait} s (--quiet-wait)`);
  }
  if (busiest > 0.1) {
    notes.push(`other processes used up to ${Math.round(busiest * 100)}% of a core during measured windows (median per row): the machine was shared, figures are noisy`);
  }
  for (const r of rows) {
    for (const e of [...r.ours.errors.map((x) => `ours: ${x}`), ...r.peer.errors.map((x) => `peer: ${x}`)]) notes.push(`${r.id} ${e}`);
  }
  const report = { machine, rounds: o.rounds, secs: o.secs, warmup: o.warmup, rows, notes };
  mkdirSync(`${root}bench/results`, { recursive: true });
  writeFileSync(`${root}bench/results/latest.json`, JSON.stringify({ date: new Date().toISOString(), quick: o.quick, ...report }, null, 2) + "\n");
  process.stdout.write(renderMarkdown(report) + "\n");
  return clean ? 0 : 1;
}

function microSample(p: MicroPair, side: "ours" | "peer"): Sample {
  return { ok: true, value: side === "ours" ? p.ours : p.peer, impl: side === "ours" ? "silly" : "baseline", detail: {} };
}

const bail = (sig: NodeJS.Signals): void => {
  log(`${sig}: stopping child processes`);
  void stopAll().then(() => process.exit(130));
};
process.once("SIGINT", bail);
process.once("SIGTERM", bail);

main().then(
  async (code) => {
    await stopAll();
    process.exit(code);
  },
  async (err: unknown) => {
    log(`error: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    await stopAll();
    process.exit(2);
  },
);
