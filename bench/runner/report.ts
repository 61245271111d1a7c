// Aggregates samples into medians and renders the markdown report.
import { median, round } from "../lib/stats.js";
import type { Machine } from "./machine.js";
import type { Sample } from "./measure.js";
import type { Goal } from "./scenarios.js";
import { met } from "./scenarios.js";

export interface SideSummary {
  median: number;
  values: number[];
  impl: string;
  /** Median of every numeric detail across the successful samples. */
  detail: Record<string, number | string>;
  errors: string[];
}

/** One row's pair of samples from a suite that measures both sides itself (chat, redis, h2ws). */
export interface PairRow {
  id: string;
  label: string;
  unit: string;
  /** undefined: report only. */
  goal?: Goal | undefined;
  ours: Sample;
  peer: Sample;
}

export interface Row {
  id: string;
  label: string;
  unit: string;
  /** undefined: report only. */
  goal: Goal | undefined;
  ours: SideSummary;
  peer: SideSummary;
  ratio: number;
  met: boolean | undefined;
}

export function summarize(samples: readonly Sample[]): SideSummary {
  const good = samples.filter((s) => s.ok && Number.isFinite(s.value));
  const detail: Record<string, number | string> = {};
  const keys = new Set(good.flatMap((s) => Object.keys(s.detail)));
  for (const k of keys) {
    const vals = good.map((s) => s.detail[k]);
    const nums = vals.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    detail[k] = nums.length > 0 ? round(median(nums), 3) : String(vals[0] ?? "");
  }
  return {
    median: good.length > 0 ? median(good.map((s) => s.value)) : Number.NaN,
    values: good.map((s) => s.value),
    impl: samples.find((s) => s.impl !== "")?.impl ?? "",
    detail,
    errors: samples.filter((s) => !s.ok).map((s) => s.error ?? "failed"),
  };
}

export function makeRow(id: string, label: string, unit: string, goal: Goal | undefined, ours: SideSummary, peer: SideSummary): Row {
  const ratio = ours.median / peer.median;
  const known = Number.isFinite(ratio);
  return { id, label, unit, goal, ours, peer, ratio, met: goal !== undefined && known ? met(goal, ratio) : undefined };
}

function fmt(x: number, unit: string): string {
  if (!Number.isFinite(x)) return "—";
  if (unit.startsWith("KB")) return `${x.toFixed(2)} KB`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(x >= 100 ? 0 : 1);
}

function metText(r: Row): string {
  if (r.goal === undefined) return "report only";
  if (r.met === undefined) return "n/a (failed)";
  return r.met ? "yes" : "**no**";
}

function detailText(s: SideSummary): string {
  const d = s.detail;
  const parts: string[] = [];
  const pct = (v: number | string | undefined): string | undefined =>
    typeof v === "number" && v >= 0 ? `${Math.round(v * 100)}%` : undefined;
  const gen = pct(d.gen_cpu);
  const srv = pct(d.server_cpu);
  if (srv !== undefined) parts.push(`server CPU ${srv}`);
  const redis = pct(d.redis_cpu);
  if (redis !== undefined) parts.push(`Redis CPU ${redis}`);
  if (gen !== undefined) parts.push(`generator CPU ${gen}`);
  const other = pct(d.other_cpu);
  if (other !== undefined) parts.push(`other processes ${other}`);
  if (typeof d.p50_us === "number") parts.push(`p50 ${d.p50_us} us, p99 ${d.p99_us} us`);
  if (typeof d.mb_per_s === "number") parts.push(`${d.mb_per_s} MB/s`);
  if (typeof d.rx_bytes_per_msg === "number") parts.push(`${d.rx_bytes_per_msg} B/echo on the wire`);
  if (typeof d.rss_before_kb === "number") parts.push(`RSS ${d.rss_before_kb} -> ${d.rss_after_kb} kB`);
  if (typeof d.node_req_per_s === "number") parts.push(`node:http Agent ${fmt(d.node_req_per_s, "req/s")}, fetch ${fmt(d.fetch_req_per_s as number, "req/s")}`);
  if (typeof d.tool === "string") parts.push(`via ${d.tool}`);
  if (typeof d.cpu_us_per_op === "number") parts.push(`client CPU ${d.cpu_us_per_op} us/op`);
  if (s.errors.length > 0) parts.push(`${s.errors.length} failed run(s)`);
  return parts.join("; ");
}

export interface ReportInput {
  machine: Machine;
  rounds: number;
  secs: number;
  warmup: number;
  rows: Row[];
  notes: string[];
}

export function renderMarkdown(r: ReportInput): string {
  const m = r.machine;
  const out: string[] = [];
  out.push(`Machine: ${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}, ws ${m.ws}; load average at start ${m.loadavg.join(" ")}`);
  out.push(`Method: ${r.rounds} round(s) of ours/peer alternated (A B A B), ${r.secs} s measured after ${r.warmup} s warm-up, medians; ` +
    `server ${m.taskset ? "on CPU 0" : "unpinned"}, load generator ${m.taskset ? "on CPU 1" : "unpinned"} (taskset ${m.taskset ? "yes" : "absent"}); ` +
    `HTTP load: ${m.wrk !== undefined ? `${m.wrk} -t1 -c50` : "bench/http-load.ts (wrk absent)"}; ulimit -n ${m.nofile}`);
  out.push("");
  out.push("| scenario | ours | peer | ratio ours/peer | goal | met? |");
  out.push("|---|---:|---:|---:|---|---|");
  for (const row of r.rows) {
    const goal = row.goal === undefined ? "—" : `${row.goal.op} ${row.goal.value}`;
    const ratio = Number.isFinite(row.ratio) ? row.ratio.toFixed(2) : "—";
    out.push(`| ${row.label} (${row.unit}) | ${fmt(row.ours.median, row.unit)} | ${fmt(row.peer.median, row.unit)} | ${ratio} | ${goal} | ${metText(row)} |`);
  }
  out.push("");
  out.push("| scenario | side | impl | samples | details (medians) |");
  out.push("|---|---|---|---|---|");
  for (const row of r.rows) {
    for (const [side, s] of [["ours", row.ours], ["peer", row.peer]] as const) {
      const samples = s.values.map((v) => fmt(v, row.unit)).join(", ");
      out.push(`| ${row.id} | ${side} | ${s.impl || "—"} | ${samples || "—"} | ${detailText(s)} |`);
    }
  }
  if (r.notes.length > 0) {
    out.push("");
    for (const n of r.notes) out.push(`- ${n}`);
  }
  return out.join("\n");
}
