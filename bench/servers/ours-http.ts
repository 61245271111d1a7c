// OUR HTTP/1.1 hello-world server, benchmarked by bench/run.ts against http-peer.ts.
// Contract (see http-peer.ts): listen on 127.0.0.1:0, print PORT=<n> via announce(),
// answer every request with 200 "hello world" and content-length 11, keep-alive.
import http from "silly-net-http";
import { announce, exitOnSignal } from "./announce.js";

const [server, err] = await http.listen({
  addr: "127.0.0.1:0",
  backlog: 4096,
  handler: (stream) => {
    stream.respond(200, { "content-type": "text/plain", "content-length": "11" });
    stream.close("hello world");
  },
});
if (server === undefined) throw new Error(String(err));
announce(server.port, "silly");
exitOnSignal(() => server.close());
