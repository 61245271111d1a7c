// A redis-server of one's own, for tests and benchmarks: 127.0.0.1 on a free
// ephemeral port, no persistence (`--save "" --appendonly no`), a temporary
// directory. It runs under a small shell watchdog that stops it when our
// stdin pipe closes, so it never outlives the process that started it, even
// one that is killed.
//
// Needs Debian's redis-server (`bash scripts/peers.sh` installs it; REDIS_SERVER
// names another binary). Without it, startredis() fails with a message that says so.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

export interface RedisServerOptions {
  /** requirepass: clients must AUTH with it. */
  password?: string;
  /** More `--name value` arguments for redis-server. */
  args?: string[];
  /** Pin the server to this CPU (taskset), for benchmarks. */
  cpu?: number;
  /** Listen on this port instead of a free one. */
  port?: number;
}

const START_LIMIT_MS = 10_000;
const STOP_LIMIT_MS = 5_000;

// The watchdog: starts redis-server ($0) with our arguments, prints its pid,
// and kills it when stdin (our pipe, kept on fd 3) reaches its end.
const WATCHDOG = `
exec 3<&0
"$0" "$@" </dev/null &
r=$!
echo "PID=$r"
{ read -r _ <&3; kill -TERM "$r" 2>/dev/null; } &
w=$!
wait "$r"; code=$?
kill "$w" 2>/dev/null
exit "$code"
`;

/** The redis-server binary to run, or undefined when there is none. */
export function redisserverpath(): string | undefined {
  const name = process.env.REDIS_SERVER ?? "redis-server";
  const dirs = name.includes("/") ? [""] : (process.env.PATH ?? "").split(delimiter);
  for (const d of dirs) {
    const p = d === "" ? name : join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A port on 127.0.0.1 that nothing listens on (at the time of asking). */
export function freeport(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  port = 0;
  /** redis-server's own pid (not the watchdog's). */
  pid = 0;
  private child: ChildProcess | undefined;
  private dir = "";
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(private readonly opts: RedisServerOptions) {}

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Start (again, on the same port once it has one). Rejects with the server's log when it cannot. */
  async start(): Promise<void> {
    const bin = redisserverpath();
    if (bin === undefined) {
      // Said here too: a test's before-hook that throws fails its tests without a word.
      const why = "redis-server not found: `bash scripts/peers.sh` installs Debian's (or set REDIS_SERVER)";
      console.error(why);
      throw new Error(why);
    }
    let lasterr: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = this.opts.port ?? (this.port || (await freeport()));
      try {
        await this.spawn(bin, port);
        this.port = port;
        return;
      } catch (err) {
        lasterr = err;
        // Another process took the free port first: try another one.
        if (this.opts.port !== undefined || this.port !== 0 || !/in use/i.test(String(err))) break;
      }
    }
    throw lasterr;
  }

  private spawn(bin: string, port: number): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), "silly-redis-"));
    const args = [
      "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--dir", this.dir, "--logfile", "", "--daemonize", "no",
      ...(this.opts.password !== undefined ? ["--requirepass", this.opts.password] : []),
      ...(this.opts.args ?? []),
    ];
    const cmd = this.opts.cpu !== undefined ? ["taskset", "-c", String(this.opts.cpu), bin] : [bin];
    const child = spawn("bash", ["-c", WATCHDOG, cmd[0]!, ...cmd.slice(1), ...args], { stdio: ["pipe", "pipe", "pipe"] });
    this.child = child;
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
    let log = "";
    let settled = false;
    const dir = this.dir;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(`did not start within ${START_LIMIT_MS} ms`), START_LIMIT_MS);
      const fail = (why: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        child.stdin!.end();
        rmSync(dir, { recursive: true, force: true });
        reject(new Error(`redis-server on port ${port} ${why}:\n${log.slice(-2000)}`));
      };
      const ondata = (d: Buffer): void => {
        log += d.toString();
        const pid = /PID=(\d+)/.exec(log);
        if (pid !== null) this.pid = Number(pid[1]);
        if (/Ready to accept connections/.test(log) && !settled) {
          settled = true;
          clearTimeout(timer);
          child.stdout!.off("data", ondata);
          child.stdout!.resume(); // keep draining its log
          resolve();
        }
      };
      child.stdout!.on("data", ondata);
      child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
      void this.exited.then((code) => fail(`exited (${code}) before it was ready`));
    });
  }

  /** Stop it (SIGTERM, SIGKILL if it lingers) and wait until it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    child.stdin!.end();
    const timer = setTimeout(() => {
      try {
        process.kill(this.pid, "SIGKILL");
      } catch {
        // gone already
      }
    }, STOP_LIMIT_MS);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Kill it with SIGKILL, as a crash would, and wait until it has exited. */
  async crash(): Promise<void> {
    if (this.child === undefined) return;
    process.kill(this.pid, "SIGKILL");
    await this.stop();
  }

  /** Stop it and start it again on the same port, empty. */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** A started redis-server; stop() it when done. */
export async function startredis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const s = new RedisServer(opts);
  await s.start();
  return s;
}
