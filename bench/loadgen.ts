// WebSocket load generator over raw node:net (no ws library). Prints one JSON line.
//
//   node --import tsx bench/loadgen.ts --mode echo --port P [-c 50] [-p 1] [-s 32]
//        [-t text|binary] [-d 5] [-w 1] [--pid SERVER_PID] [--verify-every 1000]
//   node --import tsx bench/loadgen.ts --mode idle --port P --pid SERVER_PID [-n 5000]
//        [--settle 2] [--hold 2]
//   both: [--batch 200] (handshakes pending at once) [--hs-timeout 30] (seconds)
//         [--deflate] (offer permessage-deflate, which the server must agree to;
//         messages are JSON texts, compressed: see lib/deflateload.ts)
//
// Connects to 127.0.0.1 only. Exit status 0 when the run was clean, 1 otherwise.
import { Args } from "./lib/args.js";
import { runEcho } from "./lib/echoload.js";
import { runIdle } from "./lib/idleload.js";

const HARD_MARGIN_S = 30;

function positive(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`${name} must be an integer in 1..${max}, got ${v}`);
  return v;
}

function seconds(name: string, v: number): number {
  if (!(v >= 0 && v <= 3600)) throw new Error(`${name} must be 0..3600 seconds, got ${v}`);
  return v;
}

async function main(): Promise<number> {
  const a = new Args(process.argv.slice(2), new Set(["--deflate"]));
  const deflate = a.flag("--deflate");
  const mode = a.str(["--mode"], "echo");
  const port = positive("--port", a.num(["--port"], 0), 65535);
  const pid = a.num(["--pid"], 0);
  const batch = positive("--batch", a.num(["--batch"], 200), 10000);
  const hsTimeout = seconds("--hs-timeout", a.num(["--hs-timeout"], 30));
  let budget: number;
  let job: () => Promise<{ ok: boolean }>;
  if (mode === "echo") {
    const o = {
      port,
      pid,
      batch,
      hsTimeoutMs: hsTimeout * 1000,
      conns: positive("-c", a.num(["-c", "--conns"], 50), 100000),
      pipeline: positive("-p", a.num(["-p", "--pipeline"], 1), 4096),
      size: positive("-s", a.num(["-s", "--size"], 32), 64 * 1024 * 1024),
      text: a.str(["-t", "--type"], "text") === "text",
      secs: seconds("-d", a.num(["-d", "--secs"], 5)),
      warmup: seconds("-w", a.num(["-w", "--warmup"], 1)),
      verifyEvery: positive("--verify-every", a.num(["--verify-every"], 1000), 1e9),
      deflate,
    };
    const type = a.str(["-t", "--type"], "text");
    if (type !== "text" && type !== "binary") throw new Error(`-t must be text or binary, got ${type}`);
    budget = hsTimeout + o.warmup + o.secs + 5;
    job = () => runEcho(o);
  } else if (mode === "idle") {
    const o = {
      port,
      pid: positive("--pid", pid, 1 << 30),
      batch,
      hsTimeoutMs: hsTimeout * 1000,
      conns: positive("-n", a.num(["-n", "--conns", "-c"], 5000), 100000),
      settle: seconds("--settle", a.num(["--settle"], 2)),
      hold: seconds("--hold", a.num(["-H", "--hold"], 2)),
      deflate,
    };
    budget = 2 * hsTimeout + o.settle + o.hold + 5;
    job = () => runIdle(o);
  } else {
    throw new Error(`--mode must be echo or idle, got ${mode}`);
  }
  a.done();
  const guard = setTimeout(() => {
    process.stdout.write(JSON.stringify({ mode, ok: false, errors: 1, reasons: ["load generator hard time limit"] }) + "\n");
    process.exit(1);
  }, (budget + HARD_MARGIN_S) * 1000);
  const result = await job();
  clearTimeout(guard);
  process.stdout.write(JSON.stringify(result) + "\n");
  return result.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ ok: false, errors: 1, reasons: [String(err instanceof Error ? err.message : err)] }) + "\n");
    process.exit(2);
  },
);
