// Peer WebSocket echo server on the npm `ws` package: every message goes back with
// the same type. Prints PORT=<n> once listening on 127.0.0.1. No compression, or
// with `--compression` permessage-deflate with the settings ours uses by default
// (WS_DEFLATE), so that both do the same work.
import { WebSocketServer } from "ws";
import type { PerMessageDeflateOptions } from "ws";
import { announce, exitOnSignal, isMain } from "./announce.js";

/**
 * ws's permessage-deflate set to our server's defaults: 12-bit windows both
 * ways, context takeover, level 6 and memLevel 8 (ws's defaults too), and a
 * threshold of 32 bytes instead of ws's 1 KiB, so both compress the same
 * messages. The concurrency limit stays ws's default (10).
 */
export const WS_DEFLATE: PerMessageDeflateOptions = { serverMaxWindowBits: 12, clientMaxWindowBits: 12, threshold: 32 };

export function startWsPeer(impl = "ws", compression = false): void {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: compression ? WS_DEFLATE : false });
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

if (isMain(import.meta.url)) startWsPeer("ws", process.argv.includes("--compression"));
