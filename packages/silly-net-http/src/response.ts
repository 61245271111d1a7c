// The server's side of one exchange, shared by the HTTP/1.x and HTTP/2
// streams: the request's target, the response's states, and the rules
// respond(), write() and close() follow (content-length accounting, bodies
// that must not be sent, what a handler left undone). Each protocol says
// how the head is framed and how the bytes go out.
import type { Conn } from "silly/net/tcp";
import { error as logerror } from "silly/logger";
import type { Body, Header, HeaderInput, ReadAllResult, ReadResult, WriteResult } from "./types.js";
import type { Handled, ServerConf } from "./serve.js";
import { describe } from "./serve.js";
import { hastoken } from "./fields.js";
import { bodylength, checkbody, checktrailer, newscan, scanheaders } from "./outgoing.js";
import type { Mode, Scan } from "./outgoing.js";
import { parsequery } from "./url.js";
import { OK_P } from "./results.js";
import type { Target } from "./url.js";

// Response states.
export const OPEN = 0; // nothing sent or decided
export const DEFERRED = 1; // respond() was called; the head waits for the first write or close
export const SENDING = 2; // head sent, body under way
export const DONE = 3; // response complete
export const UPGRADED = 4; // 101 sent (HTTP/1.x): the conn belongs to another protocol
export const FAILED = 5; // response abandoned: an error status went out, or it was cut short

const TEXT = Object.freeze({ "content-type": "text/plain; charset=utf-8" });

// Exchange flags.
const HCHUNKED = 1;
const HCLOSE = 2;
const HDATE = 4;
const NOBODY = 8;
const TUNNEL = 16;

/** respond()'s header fields, validated (one object: fields are read before the next respond). */
const SCAN: Scan = newscan();

export abstract class Exchange implements Handled {
  /** The request method, e.g. "GET". */
  readonly method: string;
  /** The request path, percent-decoded ("/a b" for "/a%20b?x"). */
  readonly path: string;
  /** The request path as sent, still percent-encoded, without the query. */
  readonly rawpath: string;
  /** The request-target exactly as sent ("/a%20b?x=1"). */
  readonly target: string;
  /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2". */
  readonly version: string;
  /** The connection (tcp or tls). */
  readonly conn: Conn;
  /** The protocol an extended CONNECT asks for (RFC 8441), or undefined. */
  readonly protocol: string | undefined;

  protected readonly conf: ServerConf;
  /** The query as sent (no target object kept per request), replaced by its parameters once asked for. */
  private q: string | Record<string, string>;
  protected state = OPEN;
  protected status = 0;
  /** content-length given to respond(), or -1. */
  protected hlength = -1;
  /** Body bytes still owed under the content-length in force; -1 when the body is not length-delimited. */
  protected left = -1;
  /** HCHUNKED, HCLOSE, HDATE, NOBODY, TUNNEL: one small integer instead of a field each (an upgraded stream lives long). */
  private flags = 0;

  constructor(conf: ServerConf, conn: Conn, method: string, target: string, tgt: Target, version: string, protocol: string | undefined) {
    this.conf = conf;
    this.conn = conn;
    this.method = method;
    this.target = target;
    this.q = tgt.query ?? tgt.rawquery;
    this.path = tgt.path;
    this.rawpath = tgt.rawpath;
    this.version = version;
    this.protocol = protocol;
  }

  /** The client's "ip:port". */
  get remoteaddr(): string {
    return this.conn.remoteaddr;
  }

  /** transfer-encoding: chunked given to respond(). */
  protected get hchunked(): boolean {
    return (this.flags & HCHUNKED) !== 0;
  }
  /** "connection: close" (or respond's close flag) given. */
  protected get hclose(): boolean {
    return (this.flags & HCLOSE) !== 0;
  }
  /** A date field given. */
  protected get hdate(): boolean {
    return (this.flags & HDATE) !== 0;
  }
  /** The response carries no body (HEAD, 1xx, 204, 304): what is written is dropped. */
  protected get nobody(): boolean {
    return (this.flags & NOBODY) !== 0;
  }
  protected set nobody(on: boolean) {
    this.flags = on ? this.flags | NOBODY : this.flags & ~NOBODY;
  }
  /** A 2xx answer to CONNECT: the body both ways is the tunnel's bytes. */
  protected get tunnel(): boolean {
    return (this.flags & TUNNEL) !== 0;
  }

  /** Query parameters, decoded ("+" is a space); a repeated key keeps its last value. Built on first use. */
  get query(): Record<string, string> {
    const q = this.q;
    // parsetarget checked every "%" of the query: it parses.
    return typeof q === "string" ? (this.q = parsequery(q)!) : q;
  }

  abstract get header(): Header;
  abstract get trailer(): Header | undefined;
  abstract read(): Promise<ReadResult>;
  abstract readall(): Promise<ReadAllResult>;

  // ---- what each protocol provides ----

  /** How respond() validates header fields for this protocol. */
  protected abstract readonly mode: Mode;
  /** Keep respond()'s validated fields (in SCAN) for the head. */
  protected abstract keep(scan: Scan): void;
  /** Send a 1xx answer now (101 hands an HTTP/1.x connection over). */
  protected abstract interim(status: number, headers: HeaderInput | undefined): Promise<WriteResult>;
  /**
   * Decide how the response now starting is framed, and build its head:
   * set `left` and `nobody`. `len` is the whole body's size when it is known
   * (close), else -1; `trailers` tells that trailer fields will follow.
   */
  protected abstract start(len: number, trailers: boolean): void;
  /**
   * Put out the head (when `head`), then `data` (`len` bytes; undefined for
   * none) under the framing, then, when `last`, the end of the body with
   * `trailer` fields.
   */
  protected abstract emit(head: boolean, data: Body | undefined, len: number, last: boolean, trailer: [string, string][] | undefined): Promise<WriteResult>;
  /** The body ends short of its content-length, or the response failed midway: the client must not take it as complete. */
  protected abstract cut(): void;
  /** Answer with an error status (nothing of the response has gone out) and stop serving the request. */
  protected abstract refuse(status: number, why: string): void;
  /** The handler has returned and the response is complete or abandoned: go on. */
  protected abstract after(): void;

  // ---- the response, as the handler drives it ----

  /**
   * Set the status and header fields of the response. The head is sent with
   * the first write() or close(). A 1xx status is sent at once, and so is a
   * 2xx to CONNECT (the tunnel opens). Throws for a bad status or header
   * field (programmer errors).
   */
  respond(status: number, headers?: HeaderInput, close?: boolean): Promise<WriteResult> {
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new RangeError(`stream.respond: status must be an integer 100..999, got ${String(status)}`);
    }
    if (this.state !== OPEN) return Promise.resolve([false, "stream.respond: the response has already started"]);
    if (status < 200) return this.interim(status, headers);
    const scan = SCAN;
    scanheaders(headers, this.mode, scan, "stream.respond");
    if (scan.chunked && scan.length >= 0) throw new TypeError("stream.respond: both content-length and transfer-encoding given");
    this.status = status;
    this.hlength = scan.length;
    const hclose = close === true || (scan.connection !== undefined && hastoken(scan.connection, "close"));
    this.flags = (scan.chunked ? HCHUNKED : 0) | (scan.date ? HDATE : 0) | (hclose ? HCLOSE : 0);
    this.keep(scan);
    this.state = DEFERRED;
    // A 2xx to CONNECT opens the tunnel now: its head goes out, and read() gets the tunnel's bytes.
    if (this.method === "CONNECT" && status < 300) return this.write("");
    return OK_P;
  }

  /** The head is going out now: the common rules, then the protocol's framing. */
  private begin(len: number, trailers: boolean): void {
    const tunnel = this.method === "CONNECT" && this.status >= 200 && this.status < 300;
    this.flags = (this.flags & ~(TUNNEL | NOBODY)) | (tunnel ? TUNNEL : 0);
    this.left = -1;
    this.start(len, trailers);
  }

  /**
   * Send a piece of the body (the head first if it is still held back).
   * Resolves once the bytes are accepted (waits while the peer is slow).
   * With no respond() before, the status is 200.
   */
  write(data: Body): Promise<WriteResult> {
    checkbody(data, "stream.write");
    if (this.state === OPEN) this.respond(200);
    const head = this.state === DEFERRED;
    if (head) {
      this.begin(-1, false);
      this.state = SENDING;
    } else if (this.state !== SENDING) {
      return Promise.resolve([false, "stream.write: the response is already finished"]);
    }
    const len = bodylength(data);
    if (this.nobody || len === 0) return head ? this.emit(true, undefined, 0, false, undefined) : OK_P;
    if (this.left >= 0) {
      if (len > this.left) {
        if (head) this.emit(true, undefined, 0, false, undefined); // the head is committed; the bad write is not
        throw new RangeError(`stream.write: ${len} bytes exceed the content-length (${this.left} left)`);
      }
      this.left -= len;
    }
    return this.emit(head, data, len, false, undefined);
  }

  /**
   * Finish the response, with `body` as its last piece and `trailer` fields
   * after it. When the head is still held back and carries no
   * content-length, the body's size is sent as its length (unless trailers
   * need chunked framing), and head and body leave together.
   */
  close(body?: Body, trailer?: HeaderInput): Promise<WriteResult> {
    if (body !== undefined) checkbody(body, "stream.close");
    const t = trailer === undefined ? undefined : checktrailer(trailer, "stream.close");
    const len = body === undefined ? 0 : bodylength(body);
    if (this.state === OPEN) this.respond(200);
    const head = this.state === DEFERRED;
    if (head) this.begin(len, t !== undefined && t.length > 0);
    else if (this.state !== SENDING) return Promise.resolve([false, "stream.close: the response is already finished"]);
    if (!this.nobody && this.left >= 0 && len !== this.left) {
      if (len > this.left) {
        throw new RangeError(`stream.close: ${len} bytes exceed the content-length (${this.left}${head ? "" : " left"})`);
      }
      this.cut();
    }
    this.left = 0;
    this.state = DONE;
    return this.emit(head, this.nobody || len === 0 ? undefined : body, len, true, t);
  }

  /** The same as close(body, trailer) (upstream's name). */
  closewrite(body?: Body, trailer?: HeaderInput): Promise<WriteResult> {
    return this.close(body, trailer);
  }

  /** Reading the request body failed: answer with its status if the response has not started. */
  protected bodyfailed(status: number, err: string): void {
    const was = this.state;
    if (was === UPGRADED || was === FAILED) return;
    this.state = FAILED;
    if (was <= DEFERRED && status !== 0) this.refuse(status, err.replace(/^http: /, ""));
    else if (was === SENDING) this.cut();
  }

  // ---- the handler's task (runhandler) ----

  /** @internal */
  callhandler(): unknown {
    return this.conf.handler(this);
  }

  /**
   * @internal The handler returned (or threw): complete whatever it left
   * undone. Nothing sent at all becomes a 500; a held-back head goes out
   * with what the framing needs; a body under way is ended, or cut off when
   * the handler threw.
   */
  finish(threw: boolean): void {
    if (this.state === UPGRADED) return;
    try {
      switch (this.state) {
        case OPEN:
        case DEFERRED:
          if (threw || this.state === OPEN) {
            this.state = OPEN;
            this.respond(500, TEXT, threw);
            this.close("Internal Server Error\n");
          } else {
            this.close();
          }
          break;
        case SENDING:
          if (threw) {
            this.state = FAILED;
            this.cut();
          } else {
            this.close();
          }
          break;
      }
    } catch (err) {
      logerror("http: finishing the response failed: %s", describe(err));
      this.state = FAILED;
      this.cut();
    }
    this.after();
  }
}
