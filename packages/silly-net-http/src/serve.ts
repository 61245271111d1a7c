// What the protocol sessions (HTTP/1.x, HTTP/2) share on the server side:
// the server's configuration, and running a request's handler as a task.
import { error as logerror } from "silly/logger";
import { onsettle } from "silly/net/protocol";
import type { Limits, ServerStream, Timeouts } from "./types.js";

/** A protocol session on one connection, as the server sees it. */
export interface Live {
  /** The server is closing: end the session if it is idle (h1), or stop taking new streams (h2). */
  closeidle(): void;
}

/** What protocol sessions need from their server. */
export interface ServerConf {
  handler: (stream: ServerStream) => unknown;
  limits: Limits;
  timeouts: Timeouts;
  /** Live sessions, so closing the server can end idle ones. */
  sessions: Set<Live>;
  /** The server was closed: finish what is in flight, take no new requests. */
  closing: boolean;
  /** Extended CONNECT (RFC 8441) is announced to HTTP/2 clients. */
  extendedconnect: boolean;
}

/** What runhandler needs of a protocol's stream. */
export interface Handled extends ServerStream {
  /** Call the user's handler with this stream. */
  callhandler(): unknown;
  /** Complete the response after the handler returned (threw: it failed). */
  finish(threw: boolean): void;
}

/**
 * A request's task (HTTP/1.x and HTTP/2): run the handler, log what it
 * throws, then finish the response; synchronously for a sync handler.
 */
export function runhandler(s: Handled): void | Promise<void> {
  let r: unknown;
  try {
    r = s.callhandler();
  } catch (err) {
    handlerfailed(s, err);
    s.finish(true);
    return;
  }
  if (r instanceof Promise) {
    // The task itself reports when r settles: nothing of ours waits on it.
    if (onsettle(handlerended, s)) return r;
    return awaithandler(s, r);
  }
  s.finish(false);
}

function handlerended(s: Handled, threw: boolean, err: unknown): void {
  if (threw) handlerfailed(s, err);
  s.finish(threw);
}
// task.fork reads fn.name for every task: a plain value is much cheaper than a function's own accessor.
Object.defineProperty(runhandler, "name", { value: "http.handler" });

// Outside a task (not the servers' way): plain reactions, no suspended frame.
function awaithandler(s: Handled, p: Promise<unknown>): Promise<void> {
  return p.then(
    () => s.finish(false),
    (err: unknown) => {
      handlerfailed(s, err);
      s.finish(true);
    },
  );
}

export function handlerfailed(s: ServerStream, err: unknown): void {
  logerror("http: handler for %s %s failed: %s", s.method, s.target, describe(err));
}

export function describe(err: unknown): string {
  return err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
}
