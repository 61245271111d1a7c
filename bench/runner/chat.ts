// Runs bench/chat.ts (its own redis-servers and chat processes) and returns
// the chat's rows: on 2 processes with Redis against the plain ws + node-redis
// reference, and against itself on one process.
import type { Context } from "./measure.js";
import type { Sample } from "./measure.js";
import type { PairRow } from "./report.js";
import { lastJson, runToEnd } from "./spawn.js";

/** One case's figures, as bench/chat.ts prints them. */
export interface CaseJson {
  delivered_per_s: number;
  expected_per_s: number;
  p50_us: number;
  p99_us: number;
  server_cpu: number;
  redis_cpu: number;
  gen_cpu: number;
  other_cpu: number;
  lost: number;
}

export type ChatRow = PairRow;

const IMPL: Record<string, string> = { ours2: "silly chat, 2 processes + Redis", ours1: "silly chat, 1 process", ref2: "ws + node-redis, 2 processes + Redis" };

function sample(name: string, c: CaseJson): Sample {
  const { delivered_per_s, ...detail } = c;
  return { ok: true, value: delivered_per_s, impl: IMPL[name] ?? name, detail };
}

/** Run bench/chat.ts with `extra` arguments: its cases, or why it failed. */
async function chatrun(ctx: Context, extra: string[]): Promise<Record<string, CaseJson> | string> {
  const secs = ctx.quick ? 1 : ctx.secs;
  const cmd = [process.execPath, "--conditions=source", "--import", "tsx", "bench/chat.ts", "--secs", String(secs), "--warmup", String(ctx.warmup), ...extra];
  const r = await runToEnd(cmd, { cpu: undefined, nofile: ctx.machine.nofile, cwd: ctx.root }, 600_000);
  const j = lastJson(r.stdout);
  if (j === undefined || j.ok !== true) {
    const reasons = j !== undefined && Array.isArray(j.reasons) ? j.reasons.join("; ") : r.stderr.slice(-400);
    return `bench/chat.ts failed: ${reasons}`;
  }
  return j.cases as Record<string, CaseJson>;
}

export async function runChat(ctx: Context): Promise<ChatRow[] | string> {
  const cases = await chatrun(ctx, []);
  if (typeof cases === "string") return cases;
  // The scenario's own rate offers 200k deliveries a second, which ours nearly
  // delivers in full: the ratio is capped by the offer. At twice the rate the
  // reference's capacity shows (report only).
  const doubled = await chatrun(ctx, ["--every", "50", "--only", "ours2,ref2"]);
  if (typeof doubled === "string") return doubled;
  const load = "one room, 1,000 clients, 20 senders x 1 msg/100 ms";
  return [
    {
      id: "chat:fanout:ref",
      label: `chat fan-out, ${load}, 2 processes + Redis, vs ws + node-redis`,
      unit: "msgs/s delivered",
      goal: { op: ">=", value: 2 },
      ours: sample("ours2", cases.ours2!),
      peer: sample("ref2", cases.ref2!),
    },
    {
      id: "chat:fanout:1proc",
      label: `chat fan-out, ${load}, 2 processes + Redis vs 1 process`,
      unit: "msgs/s delivered",
      goal: undefined,
      ours: sample("ours2", cases.ours2!),
      peer: sample("ours1", cases.ours1!),
    },
    {
      id: "chat:fanout:double",
      label: "chat fan-out at twice the rate (20 senders x 1 msg/50 ms), 2 processes + Redis, vs ws + node-redis",
      unit: "msgs/s delivered",
      goal: undefined,
      ours: sample("ours2", doubled.ours2!),
      peer: sample("ref2", doubled.ref2!),
    },
  ];
}
