// OUR WebSocket echo server, benchmarked by bench/run.ts against ws-peer.ts.
// Contract (see ws-peer.ts): listen on 127.0.0.1:0, print PORT=<n> via announce(),
// echo every data message with its own type, answer pings, exit on SIGTERM.
// `--compression`: permessage-deflate on, with the package's server defaults.
import http from "silly-net-http";
import type { Server, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import type { UpgradeOptions } from "silly-net-websocket";
import { announce, exitOnSignal, isMain } from "./announce.js";

/** The echo server on 127.0.0.1, an ephemeral port, the socket's default options (or `opts`). */
export async function startOursWs(opts?: UpgradeOptions): Promise<Server> {
  const handler = opts === undefined ? echo : (stream: ServerStream) => echo(stream, opts);
  const [server, err] = await http.listen({ addr: "127.0.0.1:0", backlog: 4096, handler });
  if (server === undefined) throw new Error(String(err));
  return server;
}

async function echo(stream: ServerStream, opts?: UpgradeOptions): Promise<void> {
  const [sock] = await websocket.upgrade(stream, opts);
  if (sock === undefined) return;
  for (;;) {
    const [data, type] = await sock.read();
    if (data === undefined || type === "close") break;
    if (type === "text") void sock.write(data, "text");
    else if (type === "binary") void sock.write(data, "binary");
    else if (type === "ping") void sock.write(data, "pong");
  }
  await sock.close();
}

if (isMain(import.meta.url)) {
  const server = await startOursWs(process.argv.includes("--compression") ? { compression: true } : undefined);
  announce(server.port, "silly");
  exitOnSignal(() => server.close());
}
