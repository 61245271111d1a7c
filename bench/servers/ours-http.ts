// OUR HTTP hello-world server, as benchmarked by bench/run.ts against http-peer.ts.
//
// TODO(lead): PLACEHOLDER. This file currently falls back to node:http (it announces
// IMPL=peer-fallback, and the runner flags every "ours" figure as such). Replace the
// last two lines with our own server. The contract the runner relies on:
//
//   started as   node --conditions=source --import tsx bench/servers/ours-http.ts
//                (pinned with `taskset -c 0`)
//   listen on    127.0.0.1, ephemeral port (addr "127.0.0.1:0")
//   stdout       `IMPL=silly` (optional), then exactly `PORT=<n>` once accepting:
//                call announce(port, "silly")
//   protocol     HTTP/1.1 keep-alive; every `GET /` gets status 200, body "hello world",
//                `content-type: text/plain` and `content-length: 11` (no chunked
//                encoding, no `connection: close`); 50 connections, one request in
//                flight on each (wrk -t1 -c50, or bench/http-load.ts without wrk)
//   exit         on SIGTERM (exitOnSignal); the runner SIGKILLs after 2 s
//
// Intended shape with the project's own API (as used by examples/chat/server.ts at the
// time of writing; adjust to the final names):
//
//   import http from "silly-net-http";
//   import { announce, exitOnSignal } from "./announce.js";
//
//   const [server, err] = await http.listen({
//     addr: "127.0.0.1:0",
//     handler: async (stream) => {
//       stream.respond(200, { "content-type": "text/plain", "content-length": "11" });
//       stream.close("hello world");
//     },
//   });
//   if (server === undefined) throw new Error(String(err));
//   announce(Number(server.addr.slice(server.addr.lastIndexOf(":") + 1)), "silly");
//   exitOnSignal(() => server.close());
import { startHttpPeer } from "./http-peer.js";

startHttpPeer("peer-fallback");
