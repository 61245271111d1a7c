// OUR WebSocket echo server, as benchmarked by bench/run.ts against ws-peer.ts.
//
// TODO(lead): PLACEHOLDER. This file currently falls back to the npm `ws` peer (it
// announces IMPL=peer-fallback, and the runner flags every "ours" figure as such).
// Replace the last two lines with our own server. The contract the runner relies on:
//
//   started as   node --conditions=source --import tsx bench/servers/ours-ws.ts
//                (workspace packages load from src/; pinned with `taskset -c 0`;
//                 `ulimit -n` raised as far as the machine allows)
//   listen on    127.0.0.1, ephemeral port (addr "127.0.0.1:0")
//   stdout       `IMPL=silly` (optional, names the implementation in the report), then
//                exactly `PORT=<n>` once accepting: call announce(port, "silly")
//   protocol     any `GET /` upgrade, RFC 6455, no subprotocol, NO permessage-deflate
//                (a Sec-WebSocket-Extensions reply or RSV bits fail the run); echo each
//                data message with the same opcode and payload (text -> text, binary ->
//                binary), messages up to at least 1 MiB, fragmented or not; answer ping
//                with pong and close with close
//   scale        5,000 idle connections at once (idle scenario, RSS read from /proc)
//   exit         on SIGTERM (exitOnSignal); the runner SIGKILLs after 2 s
//
// Intended shape with the project's own API (as used by examples/chat/server.ts at the
// time of writing; adjust to the final names):
//
//   import http from "silly-net-http";
//   import websocket from "silly-net-websocket";
//   import { announce, exitOnSignal } from "./announce.js";
//
//   const [server, err] = await http.listen({
//     addr: "127.0.0.1:0",
//     handler: async (stream) => {
//       const [sock] = await websocket.upgrade(stream);      // 101 + Sec-WebSocket-Accept
//       if (sock === undefined) return;
//       for (;;) {                                           // read/write loop
//         const [data, type] = await sock.read();            // "text" | "binary" | "ping" | "close" ...
//         if (data === undefined || type === "close") break;
//         if (type === "text" || type === "binary") void sock.write(data, type);
//         else if (type === "ping") void sock.write(data, "pong");
//       }
//       await sock.close();
//     },
//   });
//   if (server === undefined) throw new Error(String(err));
//   announce(Number(server.addr.slice(server.addr.lastIndexOf(":") + 1)), "silly");
//   exitOnSignal(() => server.close());
import { startWsPeer } from "./ws-peer.js";

startWsPeer("peer-fallback");
