// The chat (examples/chat) for the chat benchmark: the app's own server,
// in one process or sharing the room through Redis.
//   node --conditions=source --import tsx bench/servers/chat-ours.ts [--redis redis://HOST:PORT]
import logger from "silly/logger";
import { startchat } from "../../examples/chat/server.js";
import { Args } from "../lib/args.js";
import { announce } from "./announce.js";

const a = new Args(process.argv.slice(2));
const redis = a.str(["--redis"], "");
a.done();
logger.setlevel(logger.WARN); // not a line per join

const [chat, err] = await startchat("127.0.0.1:0", { redis: redis === "" ? undefined : redis });
if (chat === undefined) throw new Error(String(err));
announce(Number(chat.addr.split(":")[1]), redis === "" ? "silly chat, one process" : "silly chat + Redis");
const stop = (): void => {
  void chat.stop().then(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
