// The reference for the chat benchmark, written the plain way with npm `ws`
// and npm `redis` (node-redis): every message is published to a Redis
// channel, and each process sends what it receives from the channel to all
// of its clients. Same wire format as the chat for messages (plain text frame
// in, `{"type":"message","name","text","at"}` out); no presence. Bench-only.
//   node --import tsx bench/servers/chat-ref.ts --redis redis://HOST:PORT
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import { createClient } from "redis";
import { Args } from "../lib/args.js";
import { announce, exitOnSignal } from "./announce.js";

const a = new Args(process.argv.slice(2));
const url = a.str(["--redis"], "redis://127.0.0.1:6379");
a.done();
const CHANNEL = "chat-ref:lobby";

const pub = createClient({ url });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);

const clients = new Set<WebSocket>();
await sub.subscribe(CHANNEL, (message) => {
  for (const ws of clients) ws.send(message);
});

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, path: "/ws", perMessageDeflate: false });
wss.on("connection", (ws, req) => {
  const name = new URL(req.url ?? "/", "http://x").searchParams.get("name") || "guest";
  clients.add(ws);
  ws.on("message", (data, binary) => {
    if (binary) return;
    const text = data.toString().trim().slice(0, 2000);
    if (text !== "") void pub.publish(CHANNEL, JSON.stringify({ type: "message", name, text, at: Date.now() }));
  });
  ws.on("close", () => clients.delete(ws));
  ws.on("error", () => ws.terminate());
});
wss.on("listening", () => {
  const addr = wss.address();
  if (addr === null || typeof addr === "string") throw new Error(`unexpected address ${String(addr)}`);
  announce(addr.port, "ws + node-redis");
});
exitOnSignal(() => {
  wss.close();
  void pub.quit();
  void sub.quit();
});
