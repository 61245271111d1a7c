// What tcp.connect and tls.connect share: checking the timeout option and
// waiting for the socket to be ready.
import type { Socket } from "node:net";
import { TIMEDOUT, fromnode } from "../errno.js";
import { Conn } from "./conn.js";
import type { ConnectResult } from "./conn.js";
import { parseaddr } from "./addr.js";

export function checktimeout(timeout: number | undefined, who: string): void {
  if (timeout !== undefined && (typeof timeout !== "number" || !(timeout >= 0))) {
    throw new RangeError(`${who}: timeout must be a number of ms >= 0, got ${String(timeout)}`);
  }
}

export interface Local {
  localAddress?: string;
  localPort?: number;
}

/** The socket options for the `bind` option ("ip:port"), or an error message. */
export function localof(bind: string | undefined): Local | string {
  if (bind === undefined) return {};
  const b = parseaddr(bind);
  if (typeof b === "string") return `bind: ${b}`;
  return { localAddress: b.host, localPort: b.port };
}

/**
 * Resolve when `socket` is connected (or failed): `event` is the one that
 * means "ready" ("connect", or "secureConnect" for TLS).
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

function noop(): void {}
