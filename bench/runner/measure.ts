// One measurement: start one side's server, run the scenario's load against it,
// stop the server. Returns the headline figure plus details for the report.
import http from "node:http";
import { cpuSeconds } from "../lib/procstat.js";
import { round } from "../lib/stats.js";
import type { Machine } from "./machine.js";
import type { Client, Hello, Idle, Scenario, WsEcho } from "./scenarios.js";
import { lastJson, runToEnd, startServer, type Placement, type Server } from "./spawn.js";

export type Side = "ours" | "peer";

export interface Context {
  root: string;
  machine: Machine;
  secs: number;
  warmup: number;
  quick: boolean;
}

export interface Sample {
  ok: boolean;
  value: number;
  impl: string;
  detail: Record<string, number | string>;
  error?: string;
}

const SERVER_SCRIPTS: Record<"ws" | "http", Record<Side, string>> = {
  ws: { ours: "bench/servers/ours-ws.ts", peer: "bench/servers/ws-peer.ts" },
  http: { ours: "bench/servers/ours-http.ts", peer: "bench/servers/http-peer.ts" },
};
const SERVER_START_MS = 30_000;
const RUN_SLACK_MS = 60_000;

function tsx(script: string, ...args: string[]): string[] {
  return [process.execPath, "--conditions=source", "--import", "tsx", script, ...args];
}

function place(ctx: Context, cpu: number): Placement {
  return { cpu: ctx.machine.taskset ? cpu : undefined, nofile: ctx.machine.nofile, cwd: ctx.root };
}

function failed(impl: string, error: string): Sample {
  return { ok: false, value: Number.NaN, impl, detail: {}, error };
}

function num(v: unknown): number {
  return typeof v === "number" ? v : Number.NaN;
}

/** The latency and CPU fields every load generator of ours reports. */
function loaddetail(j: Record<string, unknown>): Record<string, number> {
  return {
    p50_us: num(j.p50_us),
    p99_us: num(j.p99_us),
    gen_cpu: num(j.cpu),
    server_cpu: num(j.server_cpu),
    other_cpu: num(j.other_cpu),
  };
}

async function runGenerator(cmd: string[], ctx: Context, budgetMs: number): Promise<Record<string, unknown> | string> {
  const r = await runToEnd(cmd, place(ctx, 1), budgetMs + RUN_SLACK_MS);
  const j = lastJson(r.stdout);
  if (r.timedOut) return `load generator timed out after ${budgetMs + RUN_SLACK_MS} ms`;
  if (j === undefined) return `load generator printed no JSON (exit ${String(r.code)}): ${r.stderr.slice(-400)}`;
  if (j.ok !== true) {
    const reasons = Array.isArray(j.reasons) ? j.reasons.join("; ") : "";
    return `load generator reported failure: ${reasons || r.stderr.slice(-400)}`;
  }
  return j;
}

async function wsEcho(l: WsEcho, srv: Server, ctx: Context): Promise<Sample> {
  const cmd = tsx("bench/loadgen.ts", "--mode", "echo", "--port", String(srv.port), "--pid", String(srv.pid),
    "-c", String(l.conns), "-p", String(l.pipeline), "-s", String(l.size), "-t", l.type,
    "-d", String(ctx.secs), "-w", String(ctx.warmup), ...(l.compression ? ["--deflate"] : []));
  const j = await runGenerator(cmd, ctx, (ctx.secs + ctx.warmup) * 1000);
  if (typeof j === "string") return failed(srv.impl, j);
  return {
    ok: true,
    value: num(j.msgs_per_s),
    impl: srv.impl,
    detail: {
      mb_per_s: num(j.mb_per_s),
      ...loaddetail(j),
      verified: num(j.verified),
      ...(l.compression ? { rx_bytes_per_msg: num(j.rx_bytes_per_msg) } : {}),
    },
  };
}

async function idle(l: Idle, srv: Server, ctx: Context): Promise<Sample> {
  const need = l.conns + 256;
  if (ctx.machine.nofile < need) {
    return failed(srv.impl, `ulimit -n is ${ctx.machine.nofile}, ${l.conns} connections need >= ${need} (${ctx.machine.nofileNote ?? ""})`);
  }
  const settle = ctx.quick ? 1 : 2;
  const hold = ctx.quick ? 0.2 : 1;
  const cmd = tsx("bench/loadgen.ts", "--mode", "idle", "--port", String(srv.port), "--pid", String(srv.pid),
    "-n", String(l.conns), "--settle", String(settle), "--hold", String(hold));
  const j = await runGenerator(cmd, ctx, (settle + hold + 60) * 1000);
  if (typeof j === "string") return failed(srv.impl, j);
  return {
    ok: true,
    value: num(j.per_conn_kb),
    impl: srv.impl,
    detail: {
      rss_before_kb: num(j.rss_before_kb),
      rss_after_kb: num(j.rss_after_kb),
      per_conn_end_kb: num(j.per_conn_end_kb),
      connect_secs: num(j.connect_secs),
    },
  };
}

/** One plain GET, to check the protocol before wrk (which checks nothing) hammers it. */
function probe(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false, timeout: 5000 }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => {
        if (res.statusCode !== 200) resolve(`probe: status ${res.statusCode}`);
        else if (body !== "hello world") resolve(`probe: body ${JSON.stringify(body.slice(0, 40))}`);
        else if (res.headers["content-type"] !== "text/plain") resolve(`probe: content-type ${res.headers["content-type"]}`);
        else resolve(undefined);
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (e: Error) => resolve(`probe: ${e.message}`));
  });
}

function parseWrk(out: string): { rps: number; errors: string | undefined } {
  const m = /Requests\/sec:\s+([0-9.]+)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  const errs: string[] = [];
  if (sock !== null && sock.slice(1).some((x) => Number(x) > 0)) errs.push(sock[0]);
  if (non2xx !== null) errs.push(non2xx[0]);
  if (m === null) errs.push(`no Requests/sec in wrk output: ${out.slice(-300)}`);
  return { rps: m === null ? Number.NaN : Number(m[1]), errors: errs.length > 0 ? errs.join("; ") : undefined };
}

async function hello(l: Hello, srv: Server, ctx: Context): Promise<Sample> {
  const bad = await probe(srv.port);
  if (bad !== undefined) return failed(srv.impl, bad);
  const wrk = ctx.machine.wrk;
  if (wrk === undefined) {
    const cmd = tsx("bench/http-load.ts", "--port", String(srv.port), "--pid", String(srv.pid),
      "-c", String(l.conns), "-d", String(ctx.secs), "-w", String(ctx.warmup));
    const j = await runGenerator(cmd, ctx, (ctx.secs + ctx.warmup) * 1000);
    if (typeof j === "string") return failed(srv.impl, j);
    return {
      ok: true,
      value: num(j.req_per_s),
      impl: srv.impl,
      detail: {
        tool: "http-load",
        ...loaddetail(j),
      },
    };
  }
  const url = `http://127.0.0.1:${srv.port}/`;
  const secs = Math.max(1, Math.ceil(ctx.secs));
  if (ctx.warmup > 0) {
    await runToEnd([wrk, "-t1", `-c${l.conns}`, `-d${Math.max(1, Math.ceil(ctx.warmup))}s`, url], place(ctx, 1), RUN_SLACK_MS);
  }
  const s0 = cpuSeconds(srv.pid);
  const t0 = performance.now();
  const r = await runToEnd([wrk, "-t1", `-c${l.conns}`, `-d${secs}s`, url], place(ctx, 1), secs * 1000 + RUN_SLACK_MS);
  const wall = (performance.now() - t0) / 1000;
  const s1 = cpuSeconds(srv.pid);
  const w = parseWrk(r.stdout);
  if (w.errors !== undefined) return failed(srv.impl, `wrk: ${w.errors}`);
  return {
    ok: true,
    value: w.rps,
    impl: srv.impl,
    detail: { tool: "wrk", server_cpu: s0 >= 0 && s1 >= 0 ? round((s1 - s0) / wall, 3) : -1 },
  };
}

/**
 * The client scenario: the same server (ours) for every client; ours is http.get,
 * the peer the faster of node:http with a keep-alive Agent and fetch.
 */
async function client(l: Client, srv: Server, ctx: Context, side: Side): Promise<Sample> {
  const n = ctx.quick ? 2000 : l.requests;
  const one = (impl: string) =>
    runGenerator(tsx("bench/http-client.ts", "--impl", impl, "--port", String(srv.port), "-n", String(n), "-w", String(Math.min(2000, n))), ctx, 120_000);
  if (side === "ours") {
    const j = await one("ours");
    if (typeof j === "string") return failed("silly", j);
    return { ok: true, value: num(j.req_per_s), impl: "silly http.get", detail: { gen_cpu: num(j.cpu) } };
  }
  const node = await one("node");
  const fetched = await one("fetch");
  if (typeof node === "string") return failed("node:http", node);
  if (typeof fetched === "string") return failed("fetch", fetched);
  const faster = num(node.req_per_s) >= num(fetched.req_per_s) ? "node:http Agent" : "fetch";
  return {
    ok: true,
    value: Math.max(num(node.req_per_s), num(fetched.req_per_s)),
    impl: faster,
    detail: { node_req_per_s: num(node.req_per_s), fetch_req_per_s: num(fetched.req_per_s), node_cpu: num(node.cpu), fetch_cpu: num(fetched.cpu) },
  };
}

function run(s: Scenario, srv: Server, ctx: Context, side: Side): Promise<Sample> {
  switch (s.load.kind) {
    case "ws":
      return wsEcho(s.load, srv, ctx);
    case "idle":
      return idle(s.load, srv, ctx);
    case "http":
      return hello(s.load, srv, ctx);
    case "client":
      return client(s.load, srv, ctx, side);
  }
}

export async function measure(s: Scenario, side: Side, ctx: Context): Promise<Sample> {
  const kind = s.load.kind === "http" || s.load.kind === "client" ? "http" : "ws";
  // Every client talks to the same server: ours.
  const script = s.load.kind === "client" ? SERVER_SCRIPTS.http.ours : SERVER_SCRIPTS[kind][side];
  let srv: Server;
  try {
    const compression = s.load.kind === "ws" && s.load.compression === true;
    srv = await startServer(tsx(script, ...(compression ? ["--compression"] : [])), place(ctx, 0), SERVER_START_MS);
  } catch (e) {
    return failed("", e instanceof Error ? e.message : String(e));
  }
  try {
    const sample = await run(s, srv, ctx, side);
    const death = srv.death();
    return death === undefined ? sample : failed(srv.impl, `${death}${sample.error ? `; ${sample.error}` : ""}`);
  } finally {
    await srv.stop();
  }
}
