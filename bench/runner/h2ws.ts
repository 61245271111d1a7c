// Runs bench/h2ws.ts (its own server process) once and returns its rows:
// WebSockets over HTTP/2 ("ours") against WebSockets over TLS connections of
// their own ("peer"), both ends ours: memory with 1,000 idle sockets a side,
// echo over 100 (one h2 connection, 100 TLS connections).
import type { Context, Sample } from "./measure.js";
import type { PairRow } from "./report.js";
import type { Goal } from "./scenarios.js";
import { lastJson, runToEnd } from "./spawn.js";

interface CaseJson {
  heap_per_socket: number;
  rss_per_socket: number;
  echo32_per_s: number;
  echo16k_per_s: number;
}

const ROWS: { id: string; key: keyof CaseJson; label: string; unit: string; goal?: Goal }[] = [
  { id: "h2ws:idle", key: "rss_per_socket", label: "idle WebSocket, server RSS: 1,000 over h2 vs 1,000 TLS connections, on top of as many", unit: "bytes/socket", goal: { op: "<=", value: 0.5 } },
  { id: "h2ws:idleheap", key: "heap_per_socket", label: "idle WebSocket, server live heap: 1,000 over h2 vs 1,000 over TLS", unit: "bytes/socket" },
  { id: "h2ws:32", key: "echo32_per_s", label: "wss echo 32 B text, 100 sockets x 16: over one h2 connection vs 100 TLS connections", unit: "msgs/s" },
  { id: "h2ws:16k", key: "echo16k_per_s", label: "wss echo 16 KiB binary, 100 sockets x 4: over one h2 connection vs 100 TLS connections", unit: "msgs/s" },
];

export async function runH2ws(ctx: Context): Promise<PairRow[] | string> {
  const secs = ctx.quick ? 1 : ctx.secs;
  const cmd = [process.execPath, "--conditions=source", "--import", "tsx", "bench/h2ws.ts", "--rounds", "1", "--secs", String(secs), "--warmup", String(ctx.warmup)];
  // The client side runs on CPU 1, bench/h2ws.ts pins its server to CPU 0.
  const r = await runToEnd(cmd, { cpu: ctx.machine.taskset ? 1 : undefined, nofile: ctx.machine.nofile, cwd: ctx.root }, 300_000);
  const j = lastJson(r.stdout);
  if (j === undefined || j.ok !== true) {
    const reasons = j !== undefined && Array.isArray(j.reasons) ? j.reasons.join("; ") : r.stderr.slice(-400);
    return `bench/h2ws.ts failed: ${reasons}`;
  }
  const cases = j.cases as Record<"h2" | "tcp", CaseJson>;
  const sample = (impl: string, c: CaseJson, key: keyof CaseJson): Sample => ({ ok: true, value: c[key], impl, detail: {} });
  return ROWS.map((row) => ({
    id: row.id,
    label: row.label,
    unit: row.unit,
    goal: row.goal,
    ours: sample("silly over HTTP/2", cases.h2, row.key),
    peer: sample("silly over TLS", cases.tcp, row.key),
  }));
}
