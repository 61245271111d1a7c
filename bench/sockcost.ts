// What a `net.Socket` costs an idle connection, against the bare libuv TCP
// handle underneath it: the figure behind the idle-memory discussion in
// docs/performance.md. A child process with --expose-gc accepts N loopback
// connections either as `net.Socket`s (reading, as every server's are) or as
// raw handles (Node's internal tcp_wrap binding, reached through the
// deprecated process.binding; the shipped transport on those handles is
// packages/silly/src/net/handlesocket.ts), and
// reports its live heap after full collections and its RSS, before and after.
//
//   node --import tsx bench/sockcost.ts [--conns 5000] [--rounds 3]
import { spawn } from "node:child_process";
import net from "node:net";
import { Args } from "./lib/args.js";
import { childlines } from "./lib/childlines.js";
import { median } from "./lib/stats.js";

const args = new Args(process.argv.slice(2), new Set());
const serve = args.str(["--serve"], "");
const CONNS = args.num(["--conns"], 5000);
const ROUNDS = args.num(["--rounds"], 3);
args.done();

interface RawHandle {
  onread: () => void;
  readStart(): number;
  setNoDelay(on: boolean): number;
}
interface RawServer {
  bind(host: string, port: number): number;
  listen(backlog: number): number;
  getsockname(out: { port?: number }): number;
  onconnection: (err: number, handle: RawHandle) => void;
}
type TcpBinding = { TCP: new (kind: number) => RawServer; constants: { SERVER: number } };

/** The child: accept and hold connections; "heap" on stdin prints HEAP=<live> <rss>. */
async function server(kind: string): Promise<void> {
  const held: unknown[] = [];
  let port = 0;
  if (kind === "raw") {
    const binding = (process as unknown as { binding?: (name: string) => unknown }).binding?.("tcp_wrap") as TcpBinding | undefined;
    if (binding === undefined || typeof binding.TCP !== "function") throw new Error("this Node has no tcp_wrap binding to measure");
    const srv = new binding.TCP(binding.constants.SERVER);
    if (srv.bind("127.0.0.1", 0) !== 0 || srv.listen(4096) !== 0) throw new Error("raw listen failed");
    srv.onconnection = (err, handle) => {
      if (err !== 0) return;
      handle.onread = () => {};
      handle.setNoDelay(true);
      handle.readStart();
      held.push(handle);
    };
    const out: { port?: number } = {};
    srv.getsockname(out);
    port = out.port ?? 0;
  } else {
    const srv = net.createServer({ noDelay: true }, (s) => {
      s.on("data", () => {});
      s.on("error", () => s.destroy());
      held.push(s);
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", 4096, r));
    port = (srv.address() as net.AddressInfo).port;
  }
  const gc = (globalThis as { gc?: () => void }).gc!;
  console.log(`PORT=${port}`);
  process.stdin.on("data", (d) => {
    if (d.toString().trim() !== "heap") return process.exit(0);
    gc();
    gc();
    const m = process.memoryUsage();
    console.log(`HEAP=${m.heapUsed} ${m.rss} ${held.length}`);
  });
}

/** One round for `kind`: bytes of live heap and of RSS per held connection. */
async function round(kind: string): Promise<{ heap: number; rss: number }> {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", "bench/sockcost.ts", "--serve", kind], { stdio: ["pipe", "pipe", "inherit"] });
  const line = childlines(child, `the ${kind} server`);
  const [port] = await line(/PORT=(\d+)/);
  child.stdin.write("heap\n");
  const [heap0, rss0] = await line(/HEAP=(\d+) (\d+) (\d+)/);
  const socks: net.Socket[] = [];
  for (let i = 0; i < CONNS; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, CONNS - i) }, () =>
        new Promise<void>((resolve, reject) => {
          const s = net.connect(port!, "127.0.0.1", () => resolve());
          s.on("error", reject);
          socks.push(s);
        }),
      ),
    );
  }
  // Every connection accepted: the server has counted them all.
  let heap1 = 0;
  let rss1 = 0;
  for (let held = 0; held < CONNS; ) {
    child.stdin.write("heap\n");
    [heap1, rss1, held] = (await line(/HEAP=(\d+) (\d+) (\d+)/)) as [number, number, number];
  }
  child.stdin.write("exit\n");
  for (const s of socks) s.destroy();
  return { heap: (heap1 - heap0!) / CONNS, rss: (rss1 - rss0!) / CONNS };
}

if (serve !== "") {
  await server(serve);
} else {
  const res: Record<string, { heap: number[]; rss: number[] }> = { socket: { heap: [], rss: [] }, raw: { heap: [], rss: [] } };
  for (let r = 0; r < ROUNDS; r++) {
    for (const kind of ["socket", "raw"]) {
      const x = await round(kind);
      res[kind]!.heap.push(x.heap);
      res[kind]!.rss.push(x.rss);
      console.error(`[sockcost] round ${r + 1} ${kind}: ${Math.round(x.heap)} B live heap, ${Math.round(x.rss)} B RSS per connection`);
    }
  }
  const out = Object.fromEntries(
    Object.entries(res).map(([k, v]) => [k, { heap_per_conn: Math.round(median(v.heap)), rss_per_conn: Math.round(median(v.rss)) }]),
  );
  console.log(JSON.stringify({ ok: true, conns: CONNS, rounds: ROUNDS, ...out }));
}
