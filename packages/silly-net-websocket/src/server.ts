// websocket.upgrade: validate an HTTP upgrade request and answer 101.
import type { ServerStream } from "silly-net-http";
import { acceptkey, hastoken, validkey } from "./codec/index.js";
import { Socket, checksocketoptions } from "./socket.js";
import { acceptcompression } from "./negotiate.js";
import type { Accepted } from "./negotiate.js";
import type { SocketOptions } from "./socket.js";

export type UpgradeResult = [Socket, undefined] | [undefined, string];

export interface UpgradeOptions extends SocketOptions {
  /**
   * Pick a subprotocol from those the client offered (sec-websocket-protocol);
   * return undefined to answer without one.
   */
  protocol?: (offered: string[]) => string | undefined;
}

/** Answer a failed handshake and return the error value. */
function refuse(stream: ServerStream, status: number, why: string, extra: Record<string, string> = {}): UpgradeResult {
  stream.respond(status, { "content-type": "text/plain; charset=utf-8", ...extra }, true);
  stream.close(`${why}\n`);
  return [undefined, `websocket.upgrade: ${why}`];
}

/**
 * Upgrade an HTTP request to a WebSocket. On success the stream's connection
 * belongs to the socket. A bad handshake is answered (400, or 426 for a
 * wrong version) and returned as `[undefined, err]`; it never throws.
 */
export async function upgrade(stream: ServerStream, opts?: UpgradeOptions): Promise<UpgradeResult> {
  const h = stream.header;
  if (stream.method !== "GET") return refuse(stream, 400, `method must be GET, got ${stream.method}`);
  if (h["upgrade"]?.toLowerCase() !== "websocket") return refuse(stream, 400, "missing 'upgrade: websocket' header");
  if (!hastoken(h["connection"], "upgrade")) return refuse(stream, 400, "'connection' header does not contain 'upgrade'");
  if (h["sec-websocket-version"] !== "13") {
    return refuse(stream, 426, `unsupported sec-websocket-version ${JSON.stringify(h["sec-websocket-version"] ?? "")} (want 13)`, {
      "sec-websocket-version": "13",
    });
  }
  const key = h["sec-websocket-key"];
  if (key === undefined || !validkey(key)) return refuse(stream, 400, "sec-websocket-key must be 16 bytes in base64");
  const headers: Record<string, string> = {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-accept": acceptkey(key),
  };
  if (opts?.protocol !== undefined) {
    const offered = (h["sec-websocket-protocol"] ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    const chosen = opts.protocol(offered);
    if (chosen !== undefined) {
      if (!offered.includes(chosen)) return refuse(stream, 400, `subprotocol ${chosen} was not offered`);
      headers["sec-websocket-protocol"] = chosen;
    }
  }
  // permessage-deflate, when on and offered acceptably; other extensions are declined by not answering them.
  let deflate: Accepted | undefined;
  try {
    checksocketoptions(opts);
    deflate = acceptcompression(h["sec-websocket-extensions"], opts);
  } catch (e) {
    return refuse(stream, 500, (e as Error).message);
  }
  if (deflate !== undefined) headers["sec-websocket-extensions"] = deflate.answer;
  // The 101 goes out before the socket takes the conn over: frames the client
  // sent right behind its request are parsed then, and a close frame answering
  // a bad one must follow the 101, not precede it.
  stream.respond(101, headers);
  return [new Socket(stream.conn, "server", opts, stream, undefined, deflate), undefined];
}
