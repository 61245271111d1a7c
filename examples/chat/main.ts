// `pnpm start`: run the chat server until Ctrl-C or SIGTERM, which close
// every socket with 1001 (going away). Options are upstream-style
// --key=value arguments, read through silly/env.
import silly from "silly";
import env from "silly/env";
import logger from "silly/logger";
import signal from "silly/signal";
import { startchat } from "./server.js";

const USAGE = `usage: pnpm start [--addr=HOST:PORT | --port=PORT] [--loglevel=debug|info|warn|error]
   or: silly examples/chat/main.ts [the same options]
Serves the chat on HOST:PORT (default 127.0.0.1:8080; PORT in the environment sets the port).
`;
const OPTIONS = new Set(["addr", "port", "loglevel"]);

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

const addr = String(env.get("addr") ?? `127.0.0.1:${String(env.get("port") ?? process.env.PORT ?? "8080")}`);
const [chat, err] = await startchat(addr);
if (chat === undefined) {
  logger.error("chat: cannot listen on %s: %s", addr, err);
  await silly.exit(1);
} else {
  // A wildcard bind is reachable through loopback; otherwise use the bound address.
  const shown = chat.addr.replace(/^(\[::\]|0\.0\.0\.0):/, "127.0.0.1:");
  console.log(`chat server listening on ${chat.addr}: open http://${shown}/ in a browser (metrics: /metrics)`);
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
