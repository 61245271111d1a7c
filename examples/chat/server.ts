// A chat server: the seed's broadcast example grown into a small app.
// GET / serves the page; /ws is the WebSocket; /metrics the Prometheus
// metrics. Messages fan out through one channel and one broadcast task, as in
// the seed; a client whose unsent backlog passes a bound is dropped instead
// of slowing everyone down.
import { readFileSync } from "node:fs";
import http from "silly-net-http";
import type { Server, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import type { Socket } from "silly-net-websocket";
import channel from "silly-sync-channel";
import task from "silly/task";
import logger from "silly/logger";
import prometheus from "silly-metrics/prometheus";
import { chatmetrics } from "./metrics.js";
import type { ChatMetrics } from "./metrics.js";

const page = readFileSync(new URL("./index.html", import.meta.url));

/** A client is dropped once this many bytes wait unsent on its connection. */
export const MAX_BACKLOG = 1024 * 1024;

export interface Event {
  type: "message" | "join" | "leave" | "presence";
  name?: string;
  text?: string;
  online?: string[];
  at?: number;
}

interface Client {
  name: string;
  sock: Socket;
}

export interface Chat {
  server: Server;
  /** "ip:port" the server is bound to. */
  addr: string;
  metrics: ChatMetrics;
  /** Close every socket with 1001 (going away) and stop listening. */
  stop(): Promise<void>;
}

export async function startchat(addr: string): Promise<[Chat, undefined] | [undefined, string]> {
  const clients = new Set<Client>();
  const broadcast = channel.new<string>();
  const metrics = chatmetrics();
  const servemetrics = prometheus.handler(metrics.registry);
  let guests = 0;

  const online = (): string[] => [...clients].map((c) => c.name);
  const publish = (e: Event): void => {
    broadcast.send(JSON.stringify(e));
  };

  const drop = (c: Client, why: string): void => {
    if (!clients.delete(c)) return;
    logger.warn("chat: dropping %s (%s): %s", c.name, c.sock.conn.remoteaddr, why);
    metrics.dropped.inc();
    void c.sock.close(1008, why);
    publish({ type: "leave", name: c.name });
    publish({ type: "presence", online: online() });
  };

  // The broadcast task: one receiver, never awaits a single client.
  task.fork(async () => {
    for (;;) {
      const [msg, err] = await broadcast.recv();
      if (msg === undefined) {
        logger.debug("chat: broadcast ends: %s", err);
        return;
      }
      const size = Buffer.byteLength(msg);
      for (const c of clients) {
        if (c.sock.conn.unsentbytes() > MAX_BACKLOG) drop(c, "too slow");
        else {
          void c.sock.write(msg, "text");
          metrics.messagesout.inc();
          metrics.bytesout.add(size);
        }
      }
    }
  });

  const session = async (stream: ServerStream): Promise<void> => {
    const [sock, err] = await websocket.upgrade(stream);
    if (sock === undefined) {
      logger.warn("chat: upgrade failed from %s: %s", stream.remoteaddr, err);
      return;
    }
    const wanted = String(stream.query["name"] ?? "").trim().slice(0, 32);
    const c: Client = { name: wanted !== "" ? wanted : `guest-${++guests}`, sock };
    clients.add(c);
    metrics.sockets.inc();
    logger.info("chat: %s joined from %s", c.name, sock.conn.remoteaddr);
    publish({ type: "join", name: c.name });
    publish({ type: "presence", online: online() });
    for (;;) {
      const [data, typ] = await sock.read();
      if (data === undefined || typ === "close") break;
      if (typ === "text") {
        metrics.messagesin.inc();
        metrics.bytesin.add(Buffer.byteLength(data));
        const text = data.trim().slice(0, 2000);
        if (text !== "") publish({ type: "message", name: c.name, text, at: Date.now() });
      } else if (typ === "ping") {
        void sock.write(data, "pong");
      }
    }
    if (clients.delete(c)) {
      logger.info("chat: %s left", c.name);
      publish({ type: "leave", name: c.name });
      publish({ type: "presence", online: online() });
    }
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
  if (server === undefined) return [undefined, err];

  const stop = async (): Promise<void> => {
    server.close();
    const closing = [...clients].map((c) => c.sock.close(1001, "server shutting down"));
    clients.clear();
    broadcast.close("server stopped");
    await Promise.all(closing);
  };
  return [{ server, addr: server.addr, metrics, stop }, undefined];
}
