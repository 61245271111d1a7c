// A chat server: the seed's broadcast example grown into a small app.
// GET / serves the page; /ws is the WebSocket; /metrics the Prometheus
// metrics. The room (room.ts) fans messages out; with a Redis URL, chat
// servers on other ports or machines share it (relay.ts). The protocol is
// described in README.md and coded in protocol.ts.
import { readFileSync } from "node:fs";
import http from "silly-net-http";
import type { Server, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import logger from "silly/logger";
import prometheus from "silly-metrics/prometheus";
import { chatmetrics } from "./metrics.js";
import type { ChatMetrics } from "./metrics.js";
import { SUBPROTOCOL, parseframe, queryname } from "./protocol.js";
import { Room } from "./room.js";
import { RedisRelay } from "./relay.js";

export type { Event } from "./protocol.js";

const page = readFileSync(new URL("./index.html", import.meta.url));

/** A client is dropped once this many bytes wait unsent on its connection after a flush. */
export const MAX_BACKLOG = 1024 * 1024;

export interface ChatOptions {
  /** `redis://host:port`: share the room with the chat servers using the same Redis. Without it, one process. */
  redis?: string;
  /** With Redis: how often this process announces its users, in ms (default 1000). */
  heartbeat?: number;
}

export interface Chat {
  server: Server;
  /** "ip:port" the server is bound to. */
  addr: string;
  metrics: ChatMetrics;
  /** Close every socket with 1001 (going away) and stop listening. */
  stop(): Promise<void>;
}

export async function startchat(addr: string, opts: ChatOptions = {}): Promise<[Chat, undefined] | [undefined, string]> {
  const metrics = chatmetrics();
  const servemetrics = prometheus.handler(metrics.registry);
  const room = new Room(metrics, MAX_BACKLOG);
  const relay = opts.redis === undefined ? undefined : new RedisRelay(opts.redis, room, metrics, opts.heartbeat ?? 1000);
  let guests = 0;
  /** guest-N: numbered by Redis across processes; by this process alone without it (or while Redis is down, then marked as ours). */
  const guestname = async (): Promise<string> => {
    if (relay === undefined) return `guest-${++guests}`;
    const n = await relay.guestnumber();
    return n !== undefined ? `guest-${n}` : `guest-${relay.origin.slice(0, 4)}-${++guests}`;
  };

  const session = async (stream: ServerStream): Promise<void> => {
    let v2 = false; // the client asked for the JSON commands
    const [sock, err] = await websocket.upgrade(stream, {
      protocol: (offered) => ((v2 = offered.includes(SUBPROTOCOL)) ? SUBPROTOCOL : undefined),
      // Browsers offer permessage-deflate, and chat events are small JSON that
      // shrink to a fraction with context takeover (the package's server defaults).
      compression: true,
    });
    if (sock === undefined) {
      logger.warn("chat: upgrade failed from %s: %s", stream.remoteaddr, err);
      return;
    }
    const wanted = queryname(String(stream.query["name"] ?? ""));
    const c = room.enter(sock, wanted !== "" ? wanted : await guestname(), v2);
    metrics.sockets.inc();
    logger.info("chat: %s joined from %s", c.name, sock.conn.remoteaddr);
    for (;;) {
      const [data, typ] = await sock.read();
      if (data === undefined || typ === "close") break;
      if (typ === "text") {
        metrics.messagesin.inc();
        metrics.bytesin.add(Buffer.byteLength(data));
        const cmd = parseframe(data, v2);
        if (cmd.type === "message") room.say(c, cmd.text);
        else if (cmd.type === "name") room.rename(c, cmd.name);
        else if (cmd.type === "error") room.tell(c, { type: "error", text: cmd.text });
      } else if (typ === "ping") {
        void sock.write(data, "pong");
      }
    }
    if (room.leave(c)) logger.info("chat: %s left", c.name);
    metrics.sockets.dec();
    await sock.close();
  };

  const [server, err] = await http.listen({
    addr,
    handler: async (stream) => {
      if (stream.path === "/ws") {
        await session(stream);
      } else if (stream.path === "/metrics") {
        await servemetrics(stream);
      } else if (stream.path === "/" && (stream.method === "GET" || stream.method === "HEAD")) {
        stream.respond(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
        stream.close(page);
      } else {
        stream.respond(404, { "content-type": "text/plain" });
        stream.close("not found\n");
      }
    },
  });
  if (server === undefined) {
    await Promise.all([room.close(), relay?.stop()]);
    return [undefined, err];
  }

  const stop = async (): Promise<void> => {
    server.close();
    await Promise.all([room.close(), relay?.stop()]);
  };
  return [{ server, addr: server.addr, metrics, stop }, undefined];
}
