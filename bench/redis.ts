// Redis clients side by side: silly-store-redis, node-redis (`redis`) and
// ioredis, against one redis-server of our own (tests/lib/redis.ts, pinned to
// CPU 1 when taskset exists; each client case runs in its own process,
// pinned to CPU 0). Prints one JSON line.
//
//   node --conditions=source --import tsx bench/redis.ts [--secs 3] [--reps 3] [--only pipeline,tasks,fanout]
//   node --conditions=source --import tsx bench/redis.ts --case pipeline.silly --addr 127.0.0.1:P --secs 3
//
// Workloads, each client in its own idiomatic way:
// - pipeline: batches of 100 commands (50 SET of a 32-byte value, 50 GET),
//   one batch in flight; commands per second.
// - tasks: 100 concurrent loops, each a SET then a GET of its own key, one
//   command awaited at a time (how a server's request handlers use a client:
//   the pipelining is the client's own); commands per second.
// - fanout: 8 subscriber connections on one channel, one publisher sending
//   128-byte messages in pipelined batches of 64, at most 2,048 messages
//   ahead of the slowest subscriber; messages delivered per second (all
//   subscribers together).
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createClient } from "redis";
import { Redis as IORedis } from "ioredis";
import task from "silly/task";
import sredis from "silly-store-redis";
import { Args } from "./lib/args.js";
import { median, round } from "./lib/stats.js";
import { startredis } from "../tests/lib/redis.js";

const BATCH = 100;
const TASKS = 100;
const SUBSCRIBERS = 8;
const PUBBATCH = 64;
const WINDOW = 2048;
const VALUE = "v".repeat(32);
const MESSAGE = JSON.stringify({ type: "message", name: "ann", text: "x".repeat(70), at: 1700000000000 }).padEnd(128, " ");
const CASE_TIMEOUT_MS = 120_000;

/** One client library, reduced to what the workloads need. */
interface Client {
  pipeline(cmds: string[][]): Promise<unknown[]>;
  set(key: string, value: string): Promise<unknown>;
  get(key: string): Promise<unknown>;
  subscribe(channel: string, onmessage: (data: string) => void): Promise<void>;
  close(): Promise<void>;
}

type Maker = (addr: string) => Promise<Client>;

const makers: Record<string, Maker> = {
  async silly(addr) {
    const db = sredis.new({ addr });
    return {
      async pipeline(cmds) {
        const [rs, err] = await db.pipeline(cmds);
        if (rs === undefined) throw new Error(String(err));
        return rs.map(([v, e]) => {
          if (e !== undefined) throw new Error(String(e));
          return v;
        });
      },
      async set(key, value) {
        const [v, err] = await db.set(key, value);
        if (v === undefined) throw new Error(String(err));
        return v;
      },
      async get(key) {
        const [v, err] = await db.get(key);
        if (v === undefined) throw new Error(String(err));
        return v;
      },
      async subscribe(channel, onmessage) {
        const [sub, err] = await db.subscribe(channel);
        if (sub === undefined) throw new Error(String(err));
        task.fork(async () => {
          for (;;) {
            const [msg] = await sub.read();
            if (msg === undefined) return;
            onmessage(msg.data);
          }
        });
      },
      async close() {
        db.close();
      },
    };
  },
  async "node-redis"(addr) {
    const c = createClient({ url: `redis://${addr}` });
    await c.connect();
    let sub: typeof c | undefined;
    return {
      pipeline(cmds) {
        // Its explicit pipeline: commands issued together without it are
        // pipelined too, but measured 5x slower here.
        const m = c.multi();
        for (const a of cmds) m.addCommand(a);
        return m.execAsPipeline();
      },
      set: (key, value) => c.set(key, value),
      get: (key) => c.get(key),
      async subscribe(channel, onmessage) {
        sub = c.duplicate();
        await sub.connect();
        await sub.subscribe(channel, onmessage);
      },
      async close() {
        await sub?.quit();
        await c.quit();
      },
    };
  },
  async ioredis(addr) {
    const [host, port] = addr.split(":");
    const c = new IORedis({ host, port: Number(port), lazyConnect: true });
    await c.connect();
    let sub: IORedis | undefined;
    return {
      async pipeline(cmds) {
        const rs = await c.pipeline(cmds.map(([name, ...args]) => [name!.toLowerCase(), ...args])).exec();
        if (rs === null) throw new Error("pipeline aborted");
        return rs.map(([e, v]) => {
          if (e !== null) throw e;
          return v;
        });
      },
      set: (key, value) => c.set(key, value),
      get: (key) => c.get(key),
      async subscribe(channel, onmessage) {
        sub = c.duplicate();
        sub.on("message", (_ch: string, data: string) => onmessage(data));
        await sub.subscribe(channel);
      },
      async close() {
        sub?.disconnect();
        c.disconnect();
      },
    };
  },
};

const CLIENTS = Object.keys(makers);

async function pipeline(make: Maker, addr: string, secs: number): Promise<Measured> {
  const c = await make(addr);
  const cmds: string[][] = [];
  for (let i = 0; i < BATCH / 2; i++) cmds.push(["SET", `bench:k${i}`, VALUE]);
  for (let i = 0; i < BATCH / 2; i++) cmds.push(["GET", `bench:k${i}`]);
  const run = async (ms: number): Promise<number> => {
    const end = performance.now() + ms;
    let n = 0;
    while (performance.now() < end) {
      const rs = await c.pipeline(cmds);
      if (rs[BATCH - 1] !== VALUE) throw new Error(`pipeline: GET returned ${String(rs[BATCH - 1])}`);
      n += BATCH;
    }
    return n;
  };
  const m = await measured(run, secs);
  await c.close();
  return m;
}

interface Measured {
  ops_per_s: number;
  /** The client's CPU time (user + system) per operation, in microseconds. */
  cpu_us_per_op: number;
}

/** Warm up for 0.5 s, then time `run` (which returns the operations it did) for `secs`. */
async function measured(run: (ms: number) => Promise<number>, secs: number): Promise<Measured> {
  await run(500);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const n = await run(secs * 1000);
  const cpu = process.cpuUsage(cpu0);
  return { ops_per_s: round(n / ((performance.now() - t0) / 1000), 0), cpu_us_per_op: round((cpu.user + cpu.system) / n, 3) };
}

async function tasks(make: Maker, addr: string, secs: number): Promise<Measured> {
  const c = await make(addr);
  const run = async (ms: number): Promise<number> => {
    const end = performance.now() + ms;
    const counts = await Promise.all(
      Array.from({ length: TASKS }, async (_, i) => {
        const key = `bench:t${i}`;
        let n = 0;
        while (performance.now() < end) {
          await c.set(key, VALUE);
          const v = await c.get(key);
          if (v !== VALUE) throw new Error(`tasks: GET returned ${String(v)}`);
          n += 2;
        }
        return n;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  };
  const m = await measured(run, secs);
  await c.close();
  return m;
}

async function fanout(make: Maker, addr: string, secs: number): Promise<Measured> {
  const subs = await Promise.all(Array.from({ length: SUBSCRIBERS }, () => make(addr)));
  const got = new Array<number>(SUBSCRIBERS).fill(0);
  let sent = 0;
  let wake: (() => void) | undefined;
  const slowest = (): number => Math.min(...got);
  await Promise.all(
    subs.map((s, i) =>
      s.subscribe("bench:fan", (data) => {
        if (data.length !== MESSAGE.length) throw new Error(`fanout: a message of ${data.length} characters`);
        got[i]!++;
        if (wake !== undefined && sent - slowest() <= WINDOW) {
          const w = wake;
          wake = undefined;
          w();
        }
      }),
    ),
  );
  const pub = await make(addr);
  const batch = Array.from({ length: PUBBATCH }, () => ["PUBLISH", "bench:fan", MESSAGE]);
  const run = async (ms: number): Promise<number> => {
    const start = got.reduce((a, b) => a + b, 0);
    const end = performance.now() + ms;
    while (performance.now() < end) {
      if (sent - slowest() > WINDOW) await new Promise<void>((resolve) => (wake = resolve));
      const rs = await pub.pipeline(batch);
      if (rs[0] !== SUBSCRIBERS) throw new Error(`fanout: PUBLISH reached ${String(rs[0])} subscribers`);
      sent += PUBBATCH;
    }
    return got.reduce((a, b) => a + b, 0) - start;
  };
  const m = await measured(run, secs);
  await pub.close();
  await Promise.all(subs.map((s) => s.close()));
  return m;
}

const workloads: Record<string, (make: Maker, addr: string, secs: number) => Promise<Measured>> = { pipeline, tasks, fanout };
const LABELS: Record<string, string> = {
  pipeline: "redis pipelined GET/SET, batches of 100",
  tasks: `redis GET/SET from ${TASKS} concurrent tasks`,
  fanout: `redis pub/sub fan-out, ${SUBSCRIBERS} subscribers`,
};
const UNITS: Record<string, string> = { pipeline: "cmds/s", tasks: "cmds/s", fanout: "msgs/s" };

export interface CaseResult {
  name: string;
  ops_per_s: number;
  /** The client's own CPU time per operation, in microseconds (median). */
  cpu_us_per_op: number;
  reps: number[];
  cpu: number[];
}

function runChild(name: string, addr: string, secs: number, taskset: boolean): Measured {
  const self = fileURLToPath(import.meta.url);
  const node = [process.execPath, ...process.execArgv, self, "--case", name, "--addr", addr, "--secs", String(secs)];
  const cmd = taskset ? ["taskset", "-c", "0", ...node] : node;
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", timeout: CASE_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"] });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) throw new Error(`case ${name} failed (status ${String(r.status)}): ${r.stderr.slice(-500)}`);
  return JSON.parse(line) as Measured;
}

function hastaskset(): boolean {
  return spawnSync("bash", ["-c", "command -v taskset"], { encoding: "utf8" }).status === 0;
}

async function main(): Promise<void> {
  const a = new Args(process.argv.slice(2));
  const only = a.str(["--case"], "");
  const addr = a.str(["--addr"], "");
  const secs = a.num(["--secs"], 3);
  const reps = a.num(["--reps"], 3);
  const which = a.str(["--only"], "pipeline,tasks,fanout").split(",").filter((s) => s !== "");
  a.done();
  if (!(secs > 0 && secs <= 60 && Number.isInteger(reps) && reps >= 1 && reps <= 20)) throw new Error("--secs must be (0,60] and --reps 1..20");
  for (const w of which) if (workloads[w] === undefined) throw new Error(`--only: unknown workload ${w}; known: ${Object.keys(workloads).join(", ")}`);
  if (only !== "") {
    const [w, c] = only.split(".") as [string, string];
    const run = workloads[w];
    const make = makers[c];
    if (run === undefined || make === undefined) throw new Error(`unknown case ${only}`);
    process.stdout.write(JSON.stringify({ name: only, ...(await run(make, addr, secs)) }) + "\n");
    return;
  }
  const taskset = hastaskset();
  const server = await startredis(taskset ? { cpu: 1 } : {});
  try {
    const cases: Record<string, CaseResult> = {};
    for (const w of which) for (const c of CLIENTS) cases[`${w}.${c}`] = { name: `${w}.${c}`, ops_per_s: 0, cpu_us_per_op: 0, reps: [], cpu: [] };
    // Rounds alternate the clients, so a noisy moment hits all of them alike.
    for (let r = 0; r < reps; r++) {
      for (const w of which) {
        for (const c of CLIENTS) {
          const res = runChild(`${w}.${c}`, server.addr, secs, taskset);
          cases[`${w}.${c}`]!.reps.push(res.ops_per_s);
          cases[`${w}.${c}`]!.cpu.push(res.cpu_us_per_op);
        }
      }
    }
    for (const k of Object.keys(cases)) {
      cases[k]!.ops_per_s = median(cases[k]!.reps);
      cases[k]!.cpu_us_per_op = median(cases[k]!.cpu);
    }
    const pairs = which.flatMap((w) =>
      CLIENTS.filter((c) => c !== "silly").map((peer) => ({
        name: `${LABELS[w]} vs ${peer}`,
        workload: w,
        unit: UNITS[w],
        peerimpl: peer,
        ours: `${w}.silly`,
        peer: `${w}.${peer}`,
        ratio: round(cases[`${w}.silly`]!.ops_per_s / cases[`${w}.${peer}`]!.ops_per_s, 3),
      })),
    );
    process.stdout.write(JSON.stringify({ mode: "redis", ok: true, secs, reps, taskset, cases, pairs }) + "\n");
  } finally {
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ mode: "redis", ok: false, reasons: [String(err instanceof Error ? err.message : err)] }) + "\n");
    process.exit(1);
  },
);
