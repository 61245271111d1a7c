// For the chat's suites: chat clients over our WebSocket client, a
// bounded wait for an event, and chat servers in processes of their own.
import { fileURLToPath } from "node:url";
import websocket from "silly-net-websocket";
import type { Socket } from "silly-net-websocket";
import type { Event } from "../../examples/chat/protocol.js";
import { SUBPROTOCOL } from "../../examples/chat/protocol.js";
import { start } from "./child.js";
import type { Child } from "./child.js";

export const root = fileURLToPath(new URL("../..", import.meta.url));

/** A chat client named `name`; `v2` asks for the JSON commands. Throws when it cannot connect. */
export async function join(addr: string, name: string, v2 = false): Promise<Socket> {
  const q = name === "" ? "" : `?name=${encodeURIComponent(name)}`;
  const [sock, err] = await websocket.connect(`ws://${addr}/ws${q}`, undefined, v2 ? { protocols: [SUBPROTOCOL] } : undefined);
  if (sock === undefined) throw new Error(`${name} cannot join ${addr}: ${err}`);
  return sock;
}

/** Read events until one matches; fail after `ms` with what was seen, or when the socket ends. */
export async function until(sock: Socket, match: (e: Event) => boolean, ms = 10_000, what = "the event"): Promise<Event> {
  const seen: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; saw:\n${seen.slice(-20).join("\n")}`)), ms);
  });
  const reading = (async (): Promise<Event> => {
    for (;;) {
      const [data, typ] = await sock.read();
      if (data === undefined) throw new Error(`the socket ended (${typ}) before ${what}; saw:\n${seen.slice(-20).join("\n")}`);
      if (typ !== "text") continue;
      seen.push(data);
      const e = JSON.parse(data) as Event;
      if (match(e)) return e;
    }
  })();
  try {
    return await Promise.race([reading, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Read until the socket ends (at most `ms`): the close code the server sent. */
export async function closed(sock: Socket, ms = 10_000): Promise<number | undefined> {
  await until(sock, () => false, ms, "the end").catch((e: Error) => {
    if (!e.message.startsWith("the socket ended")) throw e;
  });
  await sock.close();
  return sock.closecode;
}

/** A presence event that lists exactly `names` (in any order). */
export function listing(...names: string[]): (e: Event) => boolean {
  const want = [...names].sort().join("\n");
  return (e) => e.type === "presence" && [...e.online!].sort().join("\n") === want;
}

export interface ChatProcess {
  child: Child;
  addr: string;
}

/** `examples/chat/main.ts --port=0 ARGS` in a process of its own, as the tests run TypeScript; resolves once it listens. */
export async function chatprocess(args: string[]): Promise<ChatProcess> {
  const child = start(process.execPath, [...process.execArgv, "examples/chat/main.ts", "--port=0", ...args], { cwd: root });
  const [, addr] = await child.waitfor(/listening on (127\.0\.0\.1:\d+)/);
  return { child, addr: addr! };
}
