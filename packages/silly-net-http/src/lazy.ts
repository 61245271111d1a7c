// The HTTP/2 code (ours and node:http2), loaded the first time a listener or
// a request offers "h2": a process that never speaks HTTP/2 does not carry it
// (docs/performance.md, "Heap size and the 16 KiB echo").
import { createRequire } from "node:module";
import type * as H2ServerModule from "./h2/server.js";
import type * as H2ClientModule from "./h2/client.js";

let h2server: Promise<typeof H2ServerModule> | undefined;
let h2client: Promise<typeof H2ClientModule> | undefined;

export function loadh2server(): Promise<typeof H2ServerModule> {
  return (h2server ??= import("./h2/server.js"));
}

export function loadh2client(): Promise<typeof H2ClientModule> {
  return (h2client ??= import("./h2/client.js"));
}

/** Can this Node serve HTTP/2 over a connection of ours? (http2.performServerHandshake: Node 20.12+.) */
export function h2serversupported(): boolean {
  const http2 = createRequire(import.meta.url)("node:http2") as { performServerHandshake?: unknown };
  return typeof http2.performServerHandshake === "function";
}
