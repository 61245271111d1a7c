// The server stream API shared by HTTP/1.x and HTTP/2, and the server
// configuration the protocol sessions work from.
import type { Conn } from "silly/net/tcp";
import { error as logerror } from "silly/logger";
import { onsettle } from "silly/net/protocol";
import type { Body, Header, HeaderInput, Limits, ReadAllResult, ReadResult, Timeouts, WriteResult } from "./types.js";

/** One request and its response, as a handler sees it (HTTP/1.x or HTTP/2). */
export interface ServerStream {
  /** The request method, e.g. "GET". */
  readonly method: string;
  /** The request path, percent-decoded ("/a b" for "/a%20b?x"). */
  readonly path: string;
  /** The request path as sent, still percent-encoded, without the query. */
  readonly rawpath: string;
  /** The request-target exactly as sent ("/a%20b?x=1"). */
  readonly target: string;
  /** Query parameters, decoded ("+" is a space); a repeated key keeps its last value. */
  readonly query: Record<string, string>;
  /** Request headers: lower-case names; repeats joined with ", " (set-cookie with "\n"). */
  readonly header: Header;
  /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
  readonly version: string;
  /** The client's "ip:port". */
  readonly remoteaddr: string;
  /** The connection (tcp or tls); after a 101 answer it belongs to the upgraded protocol. Shared by every stream of an HTTP/2 connection. */
  readonly conn: Conn;
  /** Trailer fields of the request body, once it has been read to its end. */
  readonly trailer: Header | undefined;
  /** Set the status and header fields; the head goes out with the first write() or close(). */
  respond(status: number, headers?: HeaderInput, close?: boolean): Promise<WriteResult>;
  /** Send a piece of the body. */
  write(data: Body): Promise<WriteResult>;
  /** Finish the response with `body` as its last piece. */
  close(body?: Body): Promise<WriteResult>;
  /** The same as close(body). */
  closewrite(body?: Body): Promise<WriteResult>;
  /** The next piece of the request body, or `[undefined, errno.EOF]` after the last one. */
  read(): Promise<ReadResult>;
  /** The whole request body. */
  readall(): Promise<ReadAllResult>;
}

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
