// Peer HTTP server on node:http: every request gets 200 "hello world" (text/plain,
// Content-Length, keep-alive). Prints PORT=<n> once listening on 127.0.0.1.
import http from "node:http";
import { announce, exitOnSignal, isMain } from "./announce.js";

const BODY = "hello world";
const HEADERS = { "content-type": "text/plain", "content-length": String(Buffer.byteLength(BODY)) };

export function startHttpPeer(impl = "node:http"): void {
  const server = http.createServer((_req, res) => {
    res.writeHead(200, HEADERS);
    res.end(BODY);
  });
  server.listen(0, "127.0.0.1", () => {
    const addr = server.address();
    if (addr === null || typeof addr === "string") throw new Error(`unexpected address ${String(addr)}`);
    announce(addr.port, impl);
  });
  exitOnSignal(() => server.close());
}

if (isMain(import.meta.url)) startHttpPeer();
