// websocket.upgrade: validate an HTTP/1.1 upgrade request and answer 101, or
// an HTTP/2 extended CONNECT and answer 200.
import type { ServerStream } from "silly-net-http";
import { acceptkey, hastoken, validkey } from "./codec/index.js";
import { Socket, checksocketoptions } from "./socket.js";
import { acceptcompression } from "./negotiate.js";
import type { Accepted } from "./negotiate.js";
import { tunnel } from "silly-net-http/protocol";
import { tunneltransport } from "./transport.js";
import type { SocketOptions } from "./socket.js";

export type UpgradeResult = [Socket<ServerStream>, undefined] | [undefined, string];

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
 * Upgrade an HTTP request to a WebSocket: an HTTP/1.1 upgrade (RFC 6455),
 * answered 101, or an HTTP/2 extended CONNECT (RFC 8441), answered 200. On
 * success the stream's connection (or, over HTTP/2, the stream) belongs to
 * the socket. A bad handshake is answered (400, or 426 for a wrong version
 * over HTTP/1.1) and returned as `[undefined, err]`; it never throws.
 */
export async function upgrade(stream: ServerStream, opts?: UpgradeOptions): Promise<UpgradeResult> {
  const h = stream.header;
  const h2 = stream.version === "HTTP/2";
  const headers: Record<string, string> = {};
  const bad = h2 ? checkconnect(stream) : checkget(stream, headers);
  if (bad !== undefined) return refuse(stream, 400, bad);
  if (h["sec-websocket-version"] !== "13") {
    // Over HTTP/2 there is no upgrade to require (426): a plain refusal, with the version we take.
    return refuse(stream, h2 ? 400 : 426, `unsupported sec-websocket-version ${JSON.stringify(h["sec-websocket-version"] ?? "")} (want 13)`, {
      "sec-websocket-version": "13",
    });
  }
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
  // The answer goes out before the socket takes the bytes over: frames the
  // client sent right behind its request are parsed then, and a close frame
  // answering a bad one must follow the answer, not precede it.
  stream.respond(h2 ? 200 : 101, headers);
  if (h2) return [new Socket(tunnel(stream), "server", opts, stream, tunneltransport, deflate), undefined];
  return [new Socket(stream.conn, "server", opts, stream, undefined, deflate), undefined];
}

/** The HTTP/1.1 form (RFC 6455 4.2.1): what is wrong with it, or undefined; the 101's own fields go in `headers`. */
function checkget(stream: ServerStream, headers: Record<string, string>): string | undefined {
  const h = stream.header;
  if (stream.method !== "GET") return `method must be GET, got ${stream.method}`;
  if (h["upgrade"]?.toLowerCase() !== "websocket") return "missing 'upgrade: websocket' header";
  if (!hastoken(h["connection"], "upgrade")) return "'connection' header does not contain 'upgrade'";
  const key = h["sec-websocket-key"];
  if (key === undefined || !validkey(key)) return "sec-websocket-key must be 16 bytes in base64";
  headers["upgrade"] = "websocket";
  headers["connection"] = "Upgrade";
  headers["sec-websocket-accept"] = acceptkey(key);
  return undefined;
}

/**
 * The HTTP/2 form (RFC 8441 sections 4 and 5): an extended CONNECT whose
 * :protocol is "websocket", with an authority. (node:http2 resets a stream
 * whose :protocol the server did not announce, or that lacks :scheme or
 * :path, before it could get here.) No key: the stream is the proof.
 */
function checkconnect(stream: ServerStream): string | undefined {
  if (stream.method !== "CONNECT") return `over HTTP/2 a WebSocket opens with an extended CONNECT (RFC 8441), not ${stream.method}`;
  if (stream.protocol === undefined) return "a CONNECT without :protocol asks for a tunnel, not a WebSocket";
  if (stream.protocol !== "websocket") return `extended CONNECT for protocol ${JSON.stringify(stream.protocol)}, not websocket`;
  if (stream.header["host"] === undefined) return "extended CONNECT without :authority";
  return undefined;
}
