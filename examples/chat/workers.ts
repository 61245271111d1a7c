// --workers=N: N chat processes on one machine, each a silly app of its own
// (the same main.ts, run by the silly command), sharing the listening port
// through node:cluster (Node.js 20 has no SO_REUSEPORT option) and the room
// through Redis. This process, the primary, only starts them, starts again one
// that dies, and stops them all when it is stopped: SIGINT or SIGTERM here is
// passed on to every worker, which closes its sockets with 1001. Should the
// primary itself be killed, the workers see their channel to it close and exit.
import cluster from "node:cluster";
import type { Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import silly from "silly";
import logger from "silly/logger";
import signal from "silly/signal";

/** How long the workers get to stop before they are killed, in ms. */
const STOP_MS = 10_000;
/** A worker that dies is started again after this many ms. */
const RESTART_MS = 1000;

export async function runworkers(n: number, args: string[]): Promise<void> {
  // Each worker is `silly main.ts ARGS`, as this process was started (the silly
  // package has its command in bin/, beside the src/ and dist/ its entry resolves to).
  cluster.setupPrimary({
    exec: fileURLToPath(new URL("../bin/silly.js", import.meta.resolve("silly"))),
    args: [fileURLToPath(new URL("./main.ts", import.meta.url)), ...args],
  });
  let stopping = false;
  let listening = 0;
  const fork = (): void => {
    const w = cluster.fork();
    logger.info("chat: worker %d started", w.process.pid);
  };
  cluster.on("listening", (w, address) => {
    if (++listening !== n) return;
    // A wildcard bind is reachable through loopback; otherwise use the bound address.
    const ip = address.address ?? "";
    const host = ["", "0.0.0.0", "::"].includes(ip) ? "127.0.0.1" : ip.includes(":") ? `[${ip}]` : ip;
    console.log(`chat: ${n} workers listening on ${host}:${address.port}: open http://${host}:${address.port}/ in a browser`);
  });
  cluster.on("exit", (w, code, sig) => {
    if (stopping) return;
    if (listening < n) {
      // A worker that cannot start (a port in use, say) will not do better the next time.
      logger.error("chat: worker %d exited (%s) before it was ready: stopping", w.process.pid, sig ?? code);
      void stop("a worker failed", 1);
      return;
    }
    logger.warn("chat: worker %d exited (%s): starting another in %d ms", w.process.pid, sig ?? code, RESTART_MS);
    setTimeout(() => {
      if (!stopping) fork();
    }, RESTART_MS);
  });

  const stop = async (why: string, status = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info("chat: %s: stopping %d workers", why, Object.keys(cluster.workers ?? {}).length);
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const gone = workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once("exit", () => resolve()))));
    for (const w of workers) w.process.kill("SIGTERM");
    const timer = setTimeout(() => {
      for (const w of workers) if (!w.isDead()) w.process.kill("SIGKILL");
    }, STOP_MS);
    await Promise.all(gone);
    clearTimeout(timer);
    await silly.exit(status);
  };
  signal("SIGINT", (sig) => stop(sig));
  signal("SIGTERM", (sig) => stop(sig));
  for (let i = 0; i < n; i++) fork();
}
