// HTTP client benchmark: N sequential GETs over keep-alive to one server,
// with one of three clients. Prints one JSON line.
//
//   node --conditions=source --import tsx bench/http-client.ts --impl ours|node|fetch --port P [-n 20000] [-w 2000]
//
// ours:  silly-net-http's http.get (connections are reused by default)
// node:  node:http with an Agent({ keepAlive: true, maxSockets: 1 })
// fetch: the global fetch (undici)
// Every answer is checked (status 200, body "hello world"). Connects to 127.0.0.1 only.
import * as nodehttp from "node:http";
import { Args } from "./lib/args.js";
import { cpuSeconds } from "./lib/procstat.js";
import { round } from "./lib/stats.js";

type Get = (url: string) => Promise<string>;

const EXPECT = "hello world";

async function client(impl: string): Promise<Get> {
  if (impl === "ours") {
    const http = (await import("silly-net-http")).default;
    return async (url) => {
      const [res, err] = await http.get(url);
      if (res === undefined) throw new Error(err);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.body.toString();
    };
  }
  if (impl === "node") {
    const agent = new nodehttp.Agent({ keepAlive: true, maxSockets: 1 });
    return (url) =>
      new Promise((resolve, reject) => {
        nodehttp
          .get(url, { agent }, (res) => {
            let body = "";
            res.setEncoding("latin1");
            res.on("data", (d: string) => (body += d));
            res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`status ${res.statusCode}`))));
            res.on("error", reject);
          })
          .on("error", reject);
      });
  }
  if (impl === "fetch") {
    return async (url) => {
      const res = await fetch(url);
      if (res.status !== 200) throw new Error(`status ${res.status}`);
      return res.text();
    };
  }
  throw new Error(`--impl must be ours, node or fetch, got ${impl}`);
}

async function main(): Promise<number> {
  const a = new Args(process.argv.slice(2));
  const impl = a.str(["--impl"], "ours");
  const port = a.num(["--port"], 0);
  const n = a.num(["-n"], 20_000);
  const warm = a.num(["-w", "--warmup"], 2_000);
  a.done();
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw new Error(`--port must be 1..65535, got ${port}`);
  if (!(Number.isInteger(n) && n > 0 && Number.isInteger(warm) && warm >= 0)) throw new Error("-n and -w must be integers");
  const get = await client(impl);
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < warm; i++) if ((await get(url)) !== EXPECT) throw new Error("unexpected body");
  const c0 = cpuSeconds(process.pid);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) if ((await get(url)) !== EXPECT) throw new Error("unexpected body");
  const secs = (performance.now() - t0) / 1000;
  const cpu = (cpuSeconds(process.pid) - c0) / secs;
  process.stdout.write(JSON.stringify({ ok: true, impl, n, secs: round(secs, 3), req_per_s: round(n / secs, 1), cpu: round(cpu, 3) }) + "\n");
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stdout.write(JSON.stringify({ ok: false, reasons: [String(err instanceof Error ? err.message : err)] }) + "\n");
    process.exit(1);
  },
);
