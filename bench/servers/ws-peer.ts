// Peer WebSocket echo server on the npm `ws` package: every message goes back with
// the same type; no compression. Prints PORT=<n> once listening on 127.0.0.1.
import { WebSocketServer } from "ws";
import { announce, exitOnSignal, isMain } from "./announce.js";

export function startWsPeer(impl = "ws"): void {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on("error", () => ws.terminate());
  });
  wss.on("listening", () => {
    const addr = wss.address();
    if (addr === null || typeof addr === "string") throw new Error(`unexpected address ${String(addr)}`);
    announce(addr.port, impl);
  });
  exitOnSignal(() => wss.close());
}

if (isMain(import.meta.url)) startWsPeer();
