// silly.net.tcp: listen for and open TCP connections.
import { createServer, connect as netconnect } from "node:net";
import { Conn } from "./conn.js";
import type { ConnectResult } from "./conn.js";
import { parseaddr } from "./addr.js";
import { acceptor } from "./accept.js";
import { checktimeout, localof, whenconnected } from "./dial.js";
import { bind, Listener } from "./listener.js";
import { takehandles } from "./handlesocket.js";
import type { ListenResult } from "./listener.js";

export { Conn, Listener };
export type { ReadResult, WriteResult, CloseResult, ConnectResult, Data } from "./conn.js";
export type { ListenResult };

export interface ListenConf {
  /** "127.0.0.1:8080", ":8080" (all interfaces), "[::1]:8080"; port 0 picks a free port. */
  addr: string;
  /** Runs as its own task for every accepted connection. */
  accept: (conn: Conn) => unknown;
  backlog?: number;
}

/** Start a TCP server. Resolves once bound: `[listener]` or `[undefined, err]`. */
export function listen(conf: ListenConf): Promise<ListenResult> {
  if (conf === null || typeof conf !== "object") throw new TypeError("tcp.listen: expects { addr, accept }");
  if (typeof conf.accept !== "function") throw new TypeError("tcp.listen: accept must be a function");
  const take = acceptor(conf.accept);
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => take(new Conn(socket)));
  return bind(server, conf.addr, conf.backlog, (bound) => {
    // Where this Node allows, connections skip net.Socket (less memory each): handlesocket.ts.
    takehandles(bound, (socket) => take(new Conn(socket)));
    return new Listener(bound);
  });
}

export interface ConnectOpts {
  /** Give up after this many ms with errno.TIMEDOUT. */
  timeout?: number;
  /** Local "ip:port" to bind to first. */
  bind?: string;
}

/** Connect to "host:port" (host names are resolved). Never rejects. */
export function connect(addr: string, opts: ConnectOpts = {}): Promise<ConnectResult> {
  checktimeout(opts.timeout, "tcp.connect");
  const hp = parseaddr(addr);
  if (typeof hp === "string") return Promise.resolve([undefined, hp]);
  const local = localof(opts.bind);
  if (typeof local === "string") return Promise.resolve([undefined, local]);
  const socket = netconnect({ host: hp.host ?? "localhost", port: hp.port, allowHalfOpen: true, noDelay: true, ...local });
  return whenconnected(socket, "connect", opts.timeout);
}

const tcp = { listen, connect };
export default tcp;
