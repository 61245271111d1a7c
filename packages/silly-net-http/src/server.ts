// http.listen: an HTTP server over silly/net/tcp or silly/net/tls.
import tcp from "silly/net/tcp";
import type { Conn, Listener } from "silly/net/tcp";
import tls from "silly/net/tls";
import { direct } from "silly/net/protocol";
import type { CertConf } from "silly/net/tls";
import { DEFAULT_LIMITS, DEFAULT_TIMEOUTS } from "./types.js";
import type { Limits, ServerStream, Timeouts } from "./types.js";
import type { ServerConf } from "./serve.js";
import { Session } from "./h1/server.js";
import { h2serversupported, loadh2server } from "./lazy.js";

export interface ListenConf {
  /** "127.0.0.1:8080", ":8080" (every interface), "[::1]:8080"; port 0 picks a free port. */
  addr: string;
  /** Called for every request, each in its own task. */
  handler: (stream: ServerStream) => unknown;
  /** Serve HTTPS. Implied by `certs`; `tls: true` without certs is an error. */
  tls?: boolean;
  /** Certificates for HTTPS (PEM); with several, the client's SNI name picks one, the first is the default. */
  certs?: readonly CertConf[];
  /** ALPN protocols to offer over TLS. Default ["http/1.1"]. "h2" is left out on a Node without HTTP/2 server support. */
  alpnprotos?: readonly string[];
  /** Listen queue length. */
  backlog?: number;
  /** Size limits; any left out keep their default. */
  limits?: Partial<Limits>;
  /** Time limits in ms; any left out keep their default. */
  timeouts?: Partial<Timeouts>;
  /**
   * Announce extended CONNECT (RFC 8441) to HTTP/2 clients, for protocols such
   * as WebSocket over HTTP/2 (a browser opens its WebSockets over the page's
   * HTTP/2 connection when it is announced). Default true; it matters only
   * when alpnprotos offers "h2".
   */
  extendedconnect?: boolean;
}

export type ListenResult = [Server, undefined] | [undefined, string];
export type CloseResult = [true, undefined] | [false, string];

/** A listening HTTP server. */
export class Server {
  #closed = false;
  readonly #listener: Listener;
  readonly #conf: ServerConf;

  /** @internal */
  constructor(listener: Listener, conf: ServerConf) {
    this.#listener = listener;
    this.#conf = conf;
  }

  /** The bound "ip:port". */
  get addr(): string {
    return this.#listener.addr;
  }

  /** The bound port (the one picked, when the address said port 0). */
  get port(): number {
    return this.#listener.port;
  }

  /**
   * Stop accepting connections and close the idle keep-alive ones. Requests
   * in flight are answered (with "Connection: close"), then their
   * connections close; upgraded connections are not touched.
   */
  close(): CloseResult {
    if (this.#closed) return [false, "server.close: the server is already closed"];
    this.#closed = true;
    this.#conf.closing = true;
    this.#listener.close();
    for (const s of this.#conf.sessions) s.closeidle();
    return [true, undefined];
  }
}

function merge<T extends Limits | Timeouts>(defaults: Readonly<T>, given: Partial<T> | undefined, who: string): T {
  const out = { ...defaults } as T;
  if (given === undefined) return out;
  if (given === null || typeof given !== "object") throw new TypeError(`http.listen: ${who} must be an object`);
  for (const k of Object.keys(given) as (keyof T)[]) {
    if (!(k in defaults)) throw new TypeError(`http.listen: unknown ${who} field ${String(k)}`);
    const v = given[k];
    if (v === undefined) continue;
    if (typeof v !== "number" || !(v > 0)) throw new RangeError(`http.listen: ${who}.${String(k)} must be a number > 0, got ${String(v)}`);
    (out as Record<keyof T, number>)[k] = v;
  }
  return out;
}

/**
 * Start an HTTP (or, with certs, HTTPS) server. Resolves once bound:
 * `[server]`, or `[undefined, err]` (address in use, bad certificate...).
 * Throws for a malformed configuration (programmer error).
 */
export function listen(conf: ListenConf): Promise<ListenResult> {
  if (conf === null || typeof conf !== "object") throw new TypeError("http.listen: expects { addr, handler }");
  if (typeof conf.addr !== "string") throw new TypeError("http.listen: addr must be a string");
  if (typeof conf.handler !== "function") throw new TypeError("http.listen: handler must be a function");
  const secure = conf.tls === true || conf.certs !== undefined;
  if (conf.tls === true && conf.certs === undefined) throw new TypeError("http.listen: tls: true needs certs");
  const sc: ServerConf = {
    handler: conf.handler,
    limits: merge(DEFAULT_LIMITS, conf.limits, "limits"),
    timeouts: merge(DEFAULT_TIMEOUTS, conf.timeouts, "timeouts"),
    sessions: new Set(),
    closing: false,
    extendedconnect: conf.extendedconnect !== false,
  };
  const offered = conf.alpnprotos ?? ["http/1.1"];
  let serveh2: ((conn: Conn, conf: ServerConf) => void) | undefined;
  const wanth2 = secure && Array.isArray(offered) && offered.includes("h2") && h2serversupported();
  const h2 = wanth2 ? loadh2server().then((m) => void (serveh2 = m.serveh2)) : undefined;
  // Called directly on the accepting turn (no task per connection): it only
  // sets up the session, whose requests each run in a task of their own.
  const accept = direct((conn: Conn): void => {
    if (sc.closing) {
      conn.close();
      return;
    }
    const proto = conn.alpnproto;
    if (proto === undefined || proto === "http/1.1") new Session(conn, sc).start();
    else if (proto === "h2" && serveh2 !== undefined) serveh2(conn, sc);
    else if (proto === "h2" && h2 !== undefined) void h2.then(() => serveh2!(conn, sc)); // the code is still loading
    else conn.close(); // offered through alpnprotos, but not spoken here
  });
  const done = (r: [Listener, undefined] | [undefined, string]): ListenResult =>
    r[0] === undefined ? [undefined, r[1]] : [new Server(r[0], sc), undefined];
  if (!secure) return tcp.listen({ addr: conf.addr, backlog: conf.backlog, accept }).then(done);
  // (tls.listen says what is wrong with an alpnprotos that is not an array.)
  const alpnprotos = h2 === undefined && Array.isArray(offered) ? offered.filter((p) => p !== "h2") : offered;
  const bound = tls.listen({ addr: conf.addr, certs: conf.certs!, alpnprotos, backlog: conf.backlog, accept });
  // The listener is handed out once the HTTP/2 code is here too.
  return (h2 === undefined ? bound : h2.then(() => bound)).then(done);
}
