// OUR WebSocket echo server, benchmarked by bench/run.ts against ws-peer.ts.
// Contract (see ws-peer.ts): listen on 127.0.0.1:0, print PORT=<n> via announce(),
// echo every data message with its own type, answer pings, exit on SIGTERM.
import http from "silly-net-http";
import websocket from "silly-net-websocket";
import { announce, exitOnSignal } from "./announce.js";

const [server, err] = await http.listen({
  addr: "127.0.0.1:0",
  backlog: 4096,
  handler: async (stream) => {
    const [sock] = await websocket.upgrade(stream);
    if (sock === undefined) return;
    for (;;) {
      const [data, type] = await sock.read();
      if (data === undefined || type === "close") break;
      if (type === "text") void sock.write(data, "text");
      else if (type === "binary") void sock.write(data, "binary");
      else if (type === "ping") void sock.write(data, "pong");
    }
    await sock.close();
  },
});
if (server === undefined) throw new Error(String(err));
announce(server.port, "silly");
exitOnSignal(() => server.close());
