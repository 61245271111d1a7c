// `pnpm start`: run the chat server until Ctrl-C.
//   --addr HOST:PORT   (default 127.0.0.1:8080; PORT in the environment sets the port)
import { parseArgs } from "node:util";
import logger from "silly/logger";
import silly from "silly";
import { startchat } from "./server.js";

// `pnpm start -- --addr X` passes a literal "--" first: skip it.
const argv = process.argv.slice(2).filter((a, i) => !(i === 0 && a === "--"));
const { values } = parseArgs({ args: argv, options: { addr: { type: "string" } } });
const addr = values.addr ?? `127.0.0.1:${process.env.PORT ?? "8080"}`;

const [chat, err] = await startchat(addr);
if (chat === undefined) {
  logger.error("chat: cannot listen on %s: %s", addr, err);
  await silly.exit(1);
} else {
  // A wildcard bind is reachable through loopback; otherwise use the bound address.
  const shown = chat.addr.replace(/^(\[::\]|0\.0\.0\.0):/, "127.0.0.1:");
  console.log(`chat server listening on ${chat.addr}: open http://${shown}/ in a browser`);
  let stopping = false;
  const shutdown = async (sig: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info("chat: %s received, closing every socket with 1001", sig);
    await chat.stop();
    await silly.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
}
