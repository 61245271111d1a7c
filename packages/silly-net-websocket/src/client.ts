// websocket.connect: the client handshake over an HTTP/1.1 client stream.
import http from "silly-net-http";
import type { RequestOptions } from "silly-net-http";
import { acceptkey, genkey, hastoken } from "./codec/index.js";
import { Socket } from "./socket.js";
import { confirmcompression, offercompression } from "./negotiate.js";
import type { SocketOptions } from "./socket.js";

export type ConnectResult = [Socket, undefined] | [undefined, string];

export interface ConnectOptions extends SocketOptions, RequestOptions {
  /** Subprotocols to offer (sec-websocket-protocol). */
  protocols?: string[];
}

/**
 * Open a WebSocket to a ws:// or wss:// URL, sending `header` with the
 * handshake. Every failure (bad URL, refused, DNS, TLS, non-101 answer, bad
 * accept key) is `[undefined, err]` naming the cause.
 */
export async function connect(url: string, header?: Record<string, string>, opts?: ConnectOptions): Promise<ConnectResult> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [undefined, `websocket.connect: invalid URL ${JSON.stringify(url)}`];
  }
  if (u.protocol !== "ws:" && u.protocol !== "wss:") {
    return [undefined, `websocket.connect: URL scheme must be ws:// or wss://, got ${u.protocol}//`];
  }
  const target = `${u.protocol === "wss:" ? "https:" : "http:"}//${u.host}${u.pathname}${u.search}`;
  let deflate: ReturnType<typeof offercompression>;
  try {
    deflate = offercompression(opts);
  } catch (e) {
    return [undefined, `websocket.connect: ${(e as Error).message}`];
  }
  const key = genkey();
  const headers: Record<string, string> = { ...header };
  headers["upgrade"] = "websocket";
  headers["connection"] = "Upgrade";
  headers["sec-websocket-key"] = key;
  headers["sec-websocket-version"] = "13";
  if (opts?.protocols !== undefined && opts.protocols.length > 0) headers["sec-websocket-protocol"] = opts.protocols.join(", ");
  if (deflate !== undefined) headers["sec-websocket-extensions"] = deflate.offer;

  const [stream, err] = await http.request("GET", target, headers, opts);
  if (stream === undefined) return [undefined, `websocket.connect: ${err}`];
  const fail = (why: string): ConnectResult => {
    stream.close();
    // After a 101 answer stream.close() leaves the conn to us: close it too.
    stream.conn.close();
    return [undefined, `websocket.connect: ${why}`];
  };
  const [, werr] = await stream.closewrite();
  if (werr !== undefined) return fail(`sending the handshake failed: ${werr}`);
  const [res, rerr] = await stream.readheader();
  if (res === undefined) return fail(`no handshake answer: ${rerr}`);
  if (res.status !== 101) return fail(`server answered ${res.status}, not 101 Switching Protocols`);
  if (res.header["upgrade"]?.toLowerCase() !== "websocket") return fail("101 answer lacks 'upgrade: websocket'");
  if (!hastoken(res.header["connection"], "upgrade")) return fail("101 answer lacks 'connection: upgrade'");
  if (res.header["sec-websocket-accept"] !== acceptkey(key)) return fail("sec-websocket-accept does not match the key sent");
  // An answer the client cannot accept fails the connection: no frame is sent, TCP is closed.
  const [agreed, xerr] = confirmcompression(res.header["sec-websocket-extensions"], deflate?.config);
  if (xerr !== undefined) return fail(xerr);
  const proto = res.header["sec-websocket-protocol"];
  if (proto !== undefined && !(opts?.protocols ?? []).includes(proto)) return fail(`server chose subprotocol ${proto}, which was not offered`);
  try {
    return [new Socket(stream.conn, "client", opts, stream, undefined, agreed), undefined];
  } catch (e) {
    return fail((e as Error).message);
  }
}
