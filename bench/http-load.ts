// Fallback HTTP/1.1 keep-alive load generator (raw node:net), used when wrk is absent.
// Prints one JSON line.
//
//   node --import tsx bench/http-load.ts --port P [-c 50] [-d 5] [-w 1] [--pid SERVER_PID]
//        [--body "hello world"] [--verify-every 1000]
//
// Connects to 127.0.0.1 only. Exit status 0 when the run was clean, 1 otherwise.
import { Args } from "./lib/args.js";
import { runHttp } from "./lib/httpload.js";

async function main(): Promise<number> {
  const a = new Args(process.argv.slice(2));
  const port = a.num(["--port"], 0);
  const conns = a.num(["-c", "--conns"], 50);
  const secs = a.num(["-d", "--secs"], 5);
  const warmup = a.num(["-w", "--warmup"], 1);
  const o = {
    port,
    conns,
    secs,
    warmup,
    pid: a.num(["--pid"], 0),
    body: a.str(["--body"], "hello world"),
    verifyEvery: a.num(["--verify-every"], 1000),
    connectTimeoutMs: 10_000,
  };
  a.done();
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`--port must be 1..65535, got ${port}`);
  if (!(Number.isInteger(conns) && conns > 0 && conns <= 10000)) throw new Error(`-c must be 1..10000, got ${conns}`);
  if (!(secs > 0 && secs <= 3600 && warmup >= 0 && warmup <= 3600)) throw new Error("-d/-w out of range");
  if (!(Number.isInteger(o.verifyEvery) && o.verifyEvery >= 1)) throw new Error("--verify-every must be >= 1");
  const guard = setTimeout(() => {
    process.stdout.write(JSON.stringify({ mode: "http", ok: false, errors: 1, reasons: ["hard time limit"] }) + "\n");
    process.exit(1);
  }, (secs + warmup + 40) * 1000);
  const r = await runHttp(o);
  clearTimeout(guard);
  process.stdout.write(JSON.stringify(r) + "\n");
  return r.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ mode: "http", ok: false, errors: 1, reasons: [String(err instanceof Error ? err.message : err)] }) + "\n");
    process.exit(2);
  },
);
