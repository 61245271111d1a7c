// A bound server socket shared by tcp.listen and tls.listen.
import type { Server } from "node:net";
import type { AddressInfo } from "node:net";
import { CLOSED, fromnode } from "../errno.js";
import { formataddr, parseaddr } from "./addr.js";
import type { CloseResult } from "./conn.js";

export type ListenResult = [Listener, undefined] | [undefined, string];

export class Listener {
  #closed = false;
  readonly #server: Server;
  /** @internal */
  constructor(server: Server) {
    this.#server = server;
  }

  /** The bound "ip:port"; with port 0 in the address this tells the port picked. */
  get addr(): string {
    const a = this.#server.address() as AddressInfo | null;
    return a === null ? "" : formataddr(a.address, a.port);
  }

  /** The bound port number. */
  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Stop accepting. Connections already accepted stay open. */
  close(): CloseResult {
    if (this.#closed) return [false, CLOSED];
    this.#closed = true;
    this.#server.close();
    return [true, undefined];
  }
}

/**
 * @internal Bind `server` to `addr`; resolves once bound or failed (never rejects).
 * `make` builds the listener object (tls.listen passes its own subclass).
 */
export function bind<L extends Listener = Listener>(
  server: Server,
  addr: string,
  backlog: number | undefined,
  make?: (server: Server) => L,
): Promise<[L, undefined] | [undefined, string]> {
  if (backlog !== undefined && (!Number.isSafeInteger(backlog) || backlog < 0)) {
    throw new RangeError(`listen: backlog must be an integer >= 0, got ${String(backlog)}`);
  }
  const hp = parseaddr(addr);
  if (typeof hp === "string") return Promise.resolve([undefined, hp]);
  return new Promise((resolve) => {
    const onerror = (e: Error): void => resolve([undefined, fromnode(e)]);
    server.once("error", onerror);
    server.listen({ host: hp.host, port: hp.port, backlog }, () => {
      server.off("error", onerror);
      // A listener error after binding (rare: EMFILE on accept) must not crash the process.
      server.on("error", () => {});
      resolve([make === undefined ? (new Listener(server) as L) : make(server), undefined]);
    });
  });
}
