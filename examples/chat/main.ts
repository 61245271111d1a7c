// `pnpm start`: run the chat server until Ctrl-C or SIGTERM, which close
// every socket with 1001 (going away). Options are upstream-style
// --key=value arguments, read through silly/env.
import cluster from "node:cluster";
import silly from "silly";
import env from "silly/env";
import logger from "silly/logger";
import signal from "silly/signal";
import { startchat } from "./server.js";
import { runworkers } from "./workers.js";

const USAGE = `usage: pnpm start [--addr=HOST:PORT | --port=PORT] [--redis=redis://HOST:PORT] [--workers=N]
                 [--heartbeat=MS] [--loglevel=debug|info|warn|error]
   or: silly examples/chat/main.ts [the same options]
Serves the chat on HOST:PORT (default 127.0.0.1:8080; PORT in the environment sets the port).
  --redis=URL     share the room with every chat server that uses this Redis
                  (REDIS_URL in the environment does the same)
  --workers=N     run N processes that share the port and the room (needs Redis)
  --heartbeat=MS  with Redis: how often each process announces its users (default 1000);
                  the users of a process not heard of for three heartbeats are gone
`;
const OPTIONS = new Set(["addr", "port", "loglevel", "redis", "workers", "heartbeat"]);

function usage(problem: string): never {
  process.stderr.write(`chat: ${problem}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2).filter((a) => a !== "--");
if (args.includes("--help") || args.includes("-h")) {
  process.stdout.write(USAGE);
  process.exit(0);
}
for (const a of args) {
  const key = /^--([^=]+)=/.exec(a)?.[1];
  if (key !== undefined && OPTIONS.has(key)) continue;
  const bare = /^--([^=]+)$/.exec(a)?.[1];
  if (bare !== undefined && OPTIONS.has(bare)) usage(`write --${bare}=VALUE, not --${bare} VALUE`);
  usage(`unknown argument ${JSON.stringify(a)}`);
}

/** An integer option within [min, max], or its default. */
function count(key: string, min: number, max: number, dflt: number | undefined): number | undefined {
  const v = env.get(key);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) usage(`--${key} must be an integer from ${min} to ${max}`);
  return n;
}

const addr = String(env.get("addr") ?? `127.0.0.1:${String(env.get("port") ?? process.env.PORT ?? "8080")}`);
const redis = (env.get("redis") as string | undefined) ?? (process.env.REDIS_URL || undefined);
if (redis !== undefined && !/^(redis:\/\/)?[^\s/]+(\/\d+)?$/.test(redis)) usage(`--redis must be redis://HOST:PORT, not ${JSON.stringify(redis)}`);
const workers = count("workers", 1, 64, undefined);
const heartbeat = count("heartbeat", 50, 3_600_000, 1000)!;
if (workers !== undefined && redis === undefined) usage("--workers needs --redis (or REDIS_URL): the workers share the room through it");

if (workers !== undefined && cluster.isPrimary) {
  // This process only starts, restarts and stops the workers.
  await runworkers(workers, args);
} else {
  const [chat, err] = await startchat(addr, { redis, heartbeat });
  if (chat === undefined) {
    logger.error("chat: cannot listen on %s: %s", addr, err);
    await silly.exit(1);
  } else {
    // A wildcard bind is reachable through loopback; otherwise use the bound address.
    const shown = chat.addr.replace(/^(\[::\]|0\.0\.0\.0):/, "127.0.0.1:");
    const shared = redis === undefined ? "" : `, sharing the room through ${redis}`;
    console.log(`chat server listening on ${chat.addr}: open http://${shown}/ in a browser (metrics: /metrics)${shared}`);
    let stopping = false;
    const shutdown = async (sig: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      logger.info("chat: %s received, closing every socket with 1001", sig);
      await chat.stop();
      await silly.exit(0);
    };
    signal("SIGINT", shutdown);
    signal("SIGTERM", shutdown);
  }
}
