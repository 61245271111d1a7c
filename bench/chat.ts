// The chat under fan-out load, side by side: one room, `--clients` clients
// (1,000) spread over the chat processes, `--senders` of them (20) each sending
// one message every `--every` ms (100). Cases:
//   ours2  examples/chat on 2 processes sharing the room through Redis
//   ours1  examples/chat on 1 process, no Redis
//   ref2   the plain way, 2 processes: npm `ws` + npm `redis` (bench/servers/chat-ref.ts)
// For each: messages delivered per second (all clients together), latency
// from send to receipt (p50, p99), and the CPU share of the chat processes,
// of redis-server, of this load generator and of everything else. Every case
// gets a fresh redis-server (tests/lib/redis.ts). Prints one JSON line.
//
//   node --conditions=source --import tsx bench/chat.ts [--secs 5] [--warmup 2] [--settle 2] [--reps 1]
//        [--clients 1000] [--senders 20] [--every 100] [--size 100] [--only ours2,ours1,ref2]
import net from "node:net";
import { Args } from "./lib/args.js";
import { Histogram } from "./lib/histogram.js";
import { cpuSeconds, machineBusySeconds } from "./lib/procstat.js";
import { median, round } from "./lib/stats.js";
import { OP_CLOSE, OP_PING, OP_TEXT, acceptFor, maskedFrame, newKey } from "./lib/wsproto.js";
import { startServer, stopAll } from "./runner/spawn.js";
import type { Server } from "./runner/spawn.js";
import type { CaseJson } from "./runner/chat.js";
import { startredis } from "../tests/lib/redis.js";
import type { RedisServer } from "../tests/lib/redis.js";

interface Case {
  processes: number;
  redis: boolean;
  cmd: (redis: string) => string[];
}

const TSX = [process.execPath, "--conditions=source", "--import", "tsx"];
const CASES: Record<string, Case> = {
  ours2: { processes: 2, redis: true, cmd: (r) => [...TSX, "bench/servers/chat-ours.ts", "--redis", r] },
  ours1: { processes: 1, redis: false, cmd: () => [...TSX, "bench/servers/chat-ours.ts"] },
  ref2: { processes: 2, redis: true, cmd: (r) => [...TSX, "bench/servers/chat-ref.ts", "--redis", r] },
};

const a = new Args(process.argv.slice(2));
const o = {
  secs: a.num(["--secs"], 5),
  warmup: a.num(["--warmup"], 2),
  settle: a.num(["--settle"], 2),
  reps: a.num(["--reps"], 1),
  clients: a.num(["--clients"], 1000),
  senders: a.num(["--senders"], 20),
  every: a.num(["--every"], 100),
  size: a.num(["--size"], 100),
  only: a.str(["--only"], "ours2,ours1,ref2").split(",").filter((s) => s !== ""),
};
a.done();
for (const c of o.only) if (CASES[c] === undefined) throw new Error(`--only: unknown case ${c}; known: ${Object.keys(CASES).join(", ")}`);

const root = new URL("..", import.meta.url).pathname;
const OPEN_MS = 60_000;
const MASK = Buffer.from([0x11, 0x22, 0x33, 0x44]);
const MESSAGE = Buffer.from('{"type":"message"');
const TEXT = Buffer.from('"text":"');
/** Every connection's reads land here (net's onread), so receiving allocates nothing. */
const readbuf = Buffer.allocUnsafe(256 * 1024);

/** What all the clients of one run have seen. */
interface Tally {
  delivered: number;
  latency: Histogram;
  lost: number;
  reasons: string[];
}

/**
 * One chat client on a raw socket: a hand-written handshake, then server
 * frames parsed in place; a message event's latency comes from the send time
 * (µs, this process's clock) that starts its text.
 */
class ChatClient {
  readonly socket: net.Socket;
  open = false;
  private head = "";
  private rest: Buffer | undefined = undefined; // the start of a frame cut by a read
  private readonly key = newKey();

  constructor(port: number, readonly name: string, private readonly tally: Tally, onopen: (c: ChatClient) => void, onfail: (why: string) => void) {
    this.socket = net.connect({ host: "127.0.0.1", port, noDelay: true, onread: { buffer: readbuf, callback: (n: number) => this.read(n, onopen) } });
    this.socket.on("connect", () =>
      this.socket.write(
        `GET /ws?name=${name} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${this.key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    let failed = false;
    const fail = (why: string): void => {
      if (failed) return;
      failed = true;
      this.socket.destroy();
      onfail(why);
    };
    this.socket.on("error", (e) => fail(e.message));
    this.socket.on("close", () => fail("closed"));
  }

  send(text: string): void {
    this.socket.write(maskedFrame(OP_TEXT, Buffer.from(text), MASK));
  }

  /** One read's bytes, in readbuf[0..n); true: keep reading. */
  private read(n: number, onopen: (c: ChatClient) => void): boolean {
    let off = 0;
    if (!this.open) {
      const prev = this.head.length;
      this.head += readbuf.toString("latin1", 0, n);
      const end = this.head.indexOf("\r\n\r\n");
      if (end < 0) return true;
      if (!this.head.startsWith("HTTP/1.1 101") || !this.head.includes(acceptFor(this.key))) {
        this.socket.destroy(new Error(`handshake: ${this.head.slice(0, 60)}`));
        return false;
      }
      off = end + 4 - prev;
      this.open = true;
      onopen(this);
    }
    let b = readbuf.subarray(off, n);
    if (this.rest !== undefined) {
      b = Buffer.concat([this.rest, b]);
      this.rest = undefined;
    }
    this.frames(b);
    return true;
  }

  private frames(b: Buffer): void {
    let i = 0;
    while (b.length - i >= 2) {
      const op = b[i]! & 0x0f;
      let len = b[i + 1]! & 0x7f;
      let at = i + 2;
      if (len === 126) {
        if (b.length - i < 4) break;
        len = b.readUInt16BE(i + 2);
        at = i + 4;
      } else if (len === 127) {
        if (b.length - i < 10) break;
        len = b.readUInt32BE(i + 6);
        at = i + 10;
      }
      if (b.length - at < len) break;
      if (op === OP_TEXT) this.event(b, at, len);
      else if (op === OP_PING) this.socket.write(maskedFrame(0xa, Buffer.from(b.subarray(at, at + len)), MASK));
      else if (op === OP_CLOSE) this.socket.destroy(new Error(`closed by the server: ${b.subarray(at + 2, at + len).toString()}`));
      i = at + len;
    }
    if (i < b.length) this.rest = Buffer.from(b.subarray(i));
  }

  private event(b: Buffer, at: number, len: number): void {
    if (len < MESSAGE.length || b.compare(MESSAGE, 0, MESSAGE.length, at, at + MESSAGE.length) !== 0) return;
    this.tally.delivered++;
    const t = b.indexOf(TEXT, at);
    if (t < 0 || t > at + len) return;
    let sent = 0;
    for (let k = t + TEXT.length; b[k]! >= 0x30 && b[k]! <= 0x39; k++) sent = sent * 10 + b[k]! - 0x30;
    this.tally.latency.record(nowus() - sent);
  }
}

function nowus(): number {
  return Math.floor(performance.now() * 1000);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Open `count` clients over `ports` in turn, at most 100 handshakes at a time. */
async function connect(ports: number[], count: number, tally: Tally): Promise<ChatClient[]> {
  const clients: ChatClient[] = [];
  let next = 0;
  let failed = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${clients.length} of ${count} clients connected within ${OPEN_MS} ms`)), OPEN_MS);
    const launch = (): void => {
      if (failed !== "") return;
      if (clients.length === count) {
        clearTimeout(timer);
        resolve();
        return;
      }
      if (next >= count) return;
      const i = next++;
      new ChatClient(ports[i % ports.length]!, `c${i}`, tally, (c) => {
        clients.push(c);
        launch();
      }, (why) => {
        if (clients.length < count) {
          failed = why;
          clearTimeout(timer);
          reject(new Error(`client c${i} failed while connecting: ${why}`));
        } else {
          tally.lost++;
          if (tally.reasons.length < 3) tally.reasons.push(`c${i}: ${why}`);
        }
      });
    };
    for (let k = 0; k < 100; k++) launch();
  });
  return clients;
}

type Result = CaseJson;

async function run(name: string, c: Case): Promise<Result> {
  let redis: RedisServer | undefined;
  const servers: Server[] = [];
  const clients: ChatClient[] = [];
  const tally: Tally = { delivered: 0, latency: new Histogram(), lost: 0, reasons: [] };
  try {
    if (c.redis) redis = await startredis();
    const place = { cpu: undefined, nofile: 65536, cwd: root };
    for (let p = 0; p < c.processes; p++) servers.push(await startServer(c.cmd(`redis://${redis?.addr}`), place, 30_000));
    clients.push(...(await connect(servers.map((s) => s.port), o.clients, tally)));
    await sleep(o.settle * 1000); // the joins' presence events settle
    // Senders spread over the processes and over the interval.
    const step = Math.floor(o.clients / o.senders);
    const timers: NodeJS.Timeout[] = [];
    const pad = "x".repeat(o.size);
    for (let s = 0; s < o.senders; s++) {
      const who = clients.find((k) => k.name === `c${s * step}`)!;
      timers.push(
        setTimeout(() => {
          timers.push(setInterval(() => who.send(`${nowus()} ${pad}`.slice(0, o.size)), o.every));
        }, (s * o.every) / o.senders),
      );
    }
    await sleep(o.warmup * 1000);
    tally.delivered = 0;
    tally.latency.reset();
    const pids = servers.map((s) => s.pid);
    const cpu = (): number => pids.reduce((sum, p) => sum + cpuSeconds(p), 0);
    const s0 = cpu();
    const r0 = redis === undefined ? 0 : cpuSeconds(redis.pid);
    const m0 = machineBusySeconds();
    const g0 = process.cpuUsage();
    const t0 = performance.now();
    await sleep(o.secs * 1000);
    const w = (performance.now() - t0) / 1000;
    const delivered = tally.delivered;
    const g = process.cpuUsage(g0);
    const server = (cpu() - s0) / w;
    const rcpu = redis === undefined ? 0 : (cpuSeconds(redis.pid) - r0) / w;
    const gen = (g.user + g.system) / 1e6 / w;
    const other = Math.max(0, (machineBusySeconds() - m0) / w - server - rcpu - gen);
    for (const t of timers) clearInterval(t);
    for (const s of servers) {
      const d = s.death();
      if (d !== undefined) throw new Error(d);
    }
    const res: Result = {
      delivered_per_s: round(delivered / w, 0),
      expected_per_s: round((o.senders * (1000 / o.every) * o.clients), 0),
      p50_us: tally.latency.quantile(0.5),
      p99_us: tally.latency.quantile(0.99),
      server_cpu: round(server, 3),
      redis_cpu: round(rcpu, 3),
      gen_cpu: round(gen, 3),
      other_cpu: round(other, 3),
      lost: tally.lost,
    };
    process.stderr.write(`[chat] ${name}: ${JSON.stringify(res)}${tally.reasons.length > 0 ? ` lost: ${tally.reasons.join("; ")}` : ""}\n`);
    return res;
  } finally {
    for (const k of clients) k.socket.destroy();
    await Promise.all(servers.map((s) => s.stop()));
    await redis?.stop();
  }
}

async function main(): Promise<void> {
  const reps: Record<string, Result[]> = {};
  const reasons: string[] = [];
  for (let r = 0; r < o.reps; r++) {
    for (const name of o.only) {
      try {
        (reps[name] ??= []).push(await run(name, CASES[name]!));
      } catch (e) {
        reasons.push(`${name}: ${(e as Error).message}`);
      }
    }
  }
  const cases: Record<string, Result> = {};
  for (const [name, rs] of Object.entries(reps)) {
    const med = (k: keyof Result): number => median(rs.map((x) => x[k]));
    cases[name] = {
      delivered_per_s: med("delivered_per_s"), expected_per_s: med("expected_per_s"), p50_us: med("p50_us"), p99_us: med("p99_us"),
      server_cpu: med("server_cpu"), redis_cpu: med("redis_cpu"), gen_cpu: med("gen_cpu"), other_cpu: med("other_cpu"), lost: med("lost"),
    };
  }
  console.log(JSON.stringify({ ok: reasons.length === 0, options: o, cases, reasons }));
}

const bail = (): void => {
  void stopAll().then(() => process.exit(130));
};
process.once("SIGINT", bail);
process.once("SIGTERM", bail);
await main();
