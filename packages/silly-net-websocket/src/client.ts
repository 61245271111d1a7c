// websocket.connect: the client handshake, over an HTTP/1.1 client stream
// (an upgrade, RFC 6455 4.1) or an HTTP/2 one (an extended CONNECT, RFC 8441).
import http from "silly-net-http";
import type { ClientStream, RequestOptions } from "silly-net-http";
import { acceptkey, genkey, hastoken } from "./codec/index.js";
import { Socket } from "./socket.js";
import { confirmcompression, offercompression } from "./negotiate.js";
import type { HandshakeStream, SocketOptions } from "./socket.js";
import { tunnel } from "silly-net-http/protocol";
import { tunneltransport } from "./transport.js";

export type ConnectResult = [Socket<HandshakeStream>, undefined] | [undefined, string];

export interface ConnectOptions extends SocketOptions, Omit<RequestOptions, "protocol"> {
  /** Subprotocols to offer (sec-websocket-protocol). */
  protocols?: string[];
}

/**
 * Open a WebSocket to a ws:// or wss:// URL, sending `header` with the
 * handshake. Over wss:// with "h2" in `alpnprotos` the socket runs on a
 * stream of the origin's shared HTTP/2 connection when the server takes
 * extended CONNECT (RFC 8441), else, when "http/1.1" is offered too, on an
 * HTTP/1.1 connection of its own. Every failure (bad URL, refused, DNS, TLS,
 * a refused or broken handshake) is `[undefined, err]` naming the cause.
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
  const headers: Record<string, string> = { ...header };
  headers["sec-websocket-version"] = "13";
  if (opts?.protocols !== undefined && opts.protocols.length > 0) headers["sec-websocket-protocol"] = opts.protocols.join(", ");
  if (deflate !== undefined) headers["sec-websocket-extensions"] = deflate.offer;
  const ropts: RequestOptions = { ...opts, protocol: undefined };

  const alpn = opts?.alpnprotos ?? [];
  let opened: ClientStream | string | undefined;
  if (u.protocol === "wss:" && alpn.includes("h2")) {
    opened = await overh2(target, headers, ropts);
    if (opened === http.NOEXTENDEDCONNECT && alpn.includes("http/1.1")) opened = undefined; // fall back
  }
  opened ??= await overh1(target, headers, ropts);
  if (typeof opened === "string") return [undefined, `websocket.connect: ${opened}`];
  const stream = opened as HandshakeStream; // overh1 and overh2 return a stream once its answer was read
  const res = stream.header;
  // An answer the client cannot accept fails the connection: no frame is sent.
  const [agreed, xerr] = confirmcompression(res["sec-websocket-extensions"], deflate?.config);
  if (xerr !== undefined) return abandon(stream, xerr);
  const proto = res["sec-websocket-protocol"];
  if (proto !== undefined && !(opts?.protocols ?? []).includes(proto)) return abandon(stream, `server chose subprotocol ${proto}, which was not offered`);
  try {
    if (stream.version === "HTTP/2") return [new Socket(tunnel(stream), "client", opts, stream, tunneltransport, agreed), undefined];
    return [new Socket(stream.conn, "client", opts, stream, undefined, agreed), undefined];
  } catch (e) {
    return abandon(stream, (e as Error).message);
  }
}

/** The HTTP/1.1 form (RFC 6455 4.1): an upgrade on a connection of its own, answered 101; or what went wrong. */
async function overh1(target: string, headers: Record<string, string>, opts: RequestOptions): Promise<ClientStream | string> {
  const key = genkey();
  // (The HTTP client never offers "h2" for an upgrade.)
  const h = { ...headers, upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": key };
  const [stream, err] = await http.request("GET", target, h, opts);
  if (stream === undefined) return err;
  const why = await upgraded(stream, key);
  if (why === undefined) return stream;
  abandon(stream, why);
  return why;
}

async function upgraded(stream: ClientStream, key: string): Promise<string | undefined> {
  const [, werr] = await stream.closewrite();
  if (werr !== undefined) return `sending the handshake failed: ${werr}`;
  const [res, rerr] = await stream.readheader();
  if (res === undefined) return `no handshake answer: ${rerr}`;
  if (res.status !== 101) return `server answered ${res.status}, not 101 Switching Protocols`;
  if (res.header["upgrade"]?.toLowerCase() !== "websocket") return "101 answer lacks 'upgrade: websocket'";
  if (!hastoken(res.header["connection"], "upgrade")) return "101 answer lacks 'connection: upgrade'";
  if (res.header["sec-websocket-accept"] !== acceptkey(key)) return "sec-websocket-accept does not match the key sent";
  return undefined;
}

/**
 * The HTTP/2 form (RFC 8441 section 5): an extended CONNECT on the origin's
 * shared session, answered 2xx; or what went wrong, http.NOEXTENDEDCONNECT
 * when the server does not take it (its ALPN picked HTTP/1.1, or it did not
 * announce the setting).
 */
async function overh2(target: string, headers: Record<string, string>, opts: RequestOptions): Promise<ClientStream | string> {
  const [stream, err] = await http.request("CONNECT", target, headers, { ...opts, protocol: "websocket" });
  if (stream === undefined) return err;
  const [res, rerr] = await stream.readheader();
  let why: string | undefined;
  if (res === undefined) why = rerr === http.NOEXTENDEDCONNECT ? rerr : `no handshake answer: ${rerr}`;
  else if (res.status < 200 || res.status > 299) why = `server answered ${res.status} to the extended CONNECT, not 200`;
  if (why === undefined) return stream;
  stream.close();
  return why;
}

/** Give up on a handshake: reset the HTTP/2 stream (its session serves on), or close the HTTP/1.1 connection. */
function abandon(stream: ClientStream, why: string): ConnectResult {
  stream.close();
  // After a 101 answer stream.close() leaves the conn to us: close it too.
  if (stream.version !== "HTTP/2") stream.conn.close();
  return [undefined, `websocket.connect: ${why}`];
}
