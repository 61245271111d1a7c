// silly.net.tcp: listen for and open TCP connections.
import { createServer, connect as netconnect } from "node:net";
import type { Socket } from "node:net";
import { fork } from "../task.js";
import { TIMEDOUT, fromnode } from "../errno.js";
import { Conn } from "./conn.js";
import { logerror } from "../internal/report.js";
import { parseaddr } from "./addr.js";
import { bind, Listener } from "./listener.js";
import type { ListenResult } from "./listener.js";

export { Conn, Listener };
export type { ReadResult, WriteResult, CloseResult, Data, Consumer, Watcher } from "./conn.js";
export type { ListenResult };
export type ConnectResult = [Conn, undefined] | [undefined, string];

export interface ListenConf {
  /** "127.0.0.1:8080", ":8080" (all interfaces), "[::1]:8080"; port 0 picks a free port. */
  addr: string;
  /** Runs as its own task for every accepted connection. */
  accept: (conn: Conn) => unknown;
  backlog?: number;
  /**
   * @internal Call `accept` directly on the turn the connection arrives,
   * outside any task, instead of forking a task for it (a protocol server
   * whose accept only sets up state and starts its own tasks). A throw
   * closes the conn and is logged.
   */
  direct?: boolean;
}

/** Start a TCP server. Resolves once bound: `[listener]` or `[undefined, err]`. */
export function listen(conf: ListenConf): Promise<ListenResult> {
  if (conf === null || typeof conf !== "object") throw new TypeError("tcp.listen: expects { addr, accept }");
  if (typeof conf.accept !== "function") throw new TypeError("tcp.listen: accept must be a function");
  const server = createServer({ allowHalfOpen: true, noDelay: true }, acceptor(conf.accept, conf.direct === true));
  return bind(server, conf.addr, conf.backlog);
}

/**
 * The function that takes a new socket's Conn: forks `accept` as a task, or
 * (direct) calls it at once, closing the conn and logging when it throws.
 * Direct accepts cost no task, no async frame and no promise per connection.
 * @internal
 */
export function acceptor(accept: (conn: Conn) => unknown, direct: boolean): (socket: Socket) => void {
  if (!direct) {
    const task = guardaccept(accept);
    return (socket) => {
      fork(task, new Conn(socket));
    };
  }
  return (socket) => acceptnow(accept, new Conn(socket));
}

/** @internal Run a direct accept: a throw closes the conn it abandoned and is logged. */
export function acceptnow(accept: (conn: Conn) => unknown, conn: Conn): void {
  try {
    accept(conn);
  } catch (err) {
    conn.close();
    logerror(`accept ${conn.remoteaddr} failed`, err);
  }
}

/**
 * Wrap an accept handler so that a throw closes the conn it abandoned (else
 * the socket would stay open forever); the error is rethrown for the task
 * to log. A normal return leaves the conn alone: it may live on elsewhere.
 * @internal
 */
export function guardaccept(accept: (conn: Conn) => unknown): (conn: Conn) => Promise<void> {
  return async function accepttask(conn: Conn): Promise<void> {
    try {
      await accept(conn);
    } catch (err) {
      conn.close();
      throw err;
    }
  };
}

/** @internal */
export function checktimeout(timeout: number | undefined, who: string): void {
  if (timeout !== undefined && (typeof timeout !== "number" || !(timeout >= 0))) {
    throw new RangeError(`${who}: timeout must be a number of ms >= 0, got ${String(timeout)}`);
  }
}

export interface ConnectOpts {
  /** Give up after this many ms with errno.TIMEDOUT. */
  timeout?: number;
  /** Local "ip:port" to bind to first. */
  bind?: string;
}

/**
 * Resolve when the socket `make` opened is connected (or failed). Shared by
 * tcp.connect and tls.connect; `event` is the one that means "ready".
 * @internal
 */
export function whenconnected(socket: Socket, event: string, timeout: number | undefined): Promise<ConnectResult> {
  return new Promise<ConnectResult>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const done = (r: ConnectResult): void => {
      if (timer !== undefined) clearTimeout(timer);
      socket.off("error", onerror);
      socket.off(event, onready);
      resolve(r);
    };
    const fail = (err: string): void => {
      // Late errors from a socket we gave up on must not become uncaught.
      socket.on("error", noop);
      socket.destroy();
      done([undefined, err]);
    };
    const onerror = (e: Error): void => fail(fromnode(e));
    const onready = (): void => done([new Conn(socket), undefined]);
    socket.once("error", onerror);
    socket.once(event, onready);
    if (timeout !== undefined) timer = setTimeout(fail, timeout, TIMEDOUT);
  });
}

/** Connect to "host:port" (host names are resolved). Never rejects. */
export function connect(addr: string, opts: ConnectOpts = {}): Promise<ConnectResult> {
  checktimeout(opts.timeout, "tcp.connect");
  const hp = parseaddr(addr);
  if (typeof hp === "string") return Promise.resolve([undefined, hp]);
  let local: { localAddress?: string; localPort?: number } = {};
  if (opts.bind !== undefined) {
    const b = parseaddr(opts.bind);
    if (typeof b === "string") return Promise.resolve([undefined, `bind: ${b}`]);
    local = { localAddress: b.host, localPort: b.port };
  }
  const socket = netconnect({ host: hp.host ?? "localhost", port: hp.port, allowHalfOpen: true, noDelay: true, ...local });
  return whenconnected(socket, "connect", opts.timeout);
}

function noop(): void {}

const tcp = { listen, connect };
export default tcp;
