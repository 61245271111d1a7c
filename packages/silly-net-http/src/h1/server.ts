// The HTTP/1.x server side: one Session per connection reads request heads
// in order, hands each request to the handler as a ServerStream in its own
// task, and starts on the next request once that handler has returned and
// its response is complete.
import { EOF } from "silly/errno";
import { error as logerror } from "silly/logger";
import { fork } from "silly/task";
import type { Conn } from "silly/net/tcp";
import { flush } from "silly/net/protocol";
import type { Body, Header, HeaderInput, ReadAllResult, ReadResult, WriteResult } from "../types.js";
import type { Live, ServerConf, ServerStream } from "../stream.js";
import { describe, runhandler } from "../stream.js";
import type { ReadResult as ConnReadResult } from "silly/net/tcp";
import { parsetarget, queryof } from "../url.js";
import type { Target } from "../url.js";
import { CHUNKED, FIXED, HeadError, NOBODY, UNTILCLOSE, buildheader, hastoken, parserequest } from "./parse.js";
import type { Framing, RequestHead } from "./parse.js";
import { bodyallowed, bodylength, chunksize, httpdate, newscan, scanheaders, statusline } from "./head.js";
import { LASTCHUNK } from "./chunked.js";
import { BodyReader } from "./body.js";
import { FAIL_BARELF, FAIL_GARBAGE, FAIL_TIMEOUT, FAIL_TOOLARGE, Wire } from "./wire.js";
import type { Fail, WireOwner } from "./wire.js";

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** Unread request body a connection may skip to stay reusable; more and it is closed. */
const DRAIN_MAX = 256 * 1024;

const OK: WriteResult = Object.freeze([true, undefined]) as unknown as WriteResult;
const OK_P: Promise<WriteResult> = Promise.resolve(OK);
const EOFRESULT: ReadResult = Object.freeze([undefined, EOF]) as unknown as ReadResult;

// Response states.
const OPEN = 0; // nothing sent or decided
const DEFERRED = 1; // respond() was called; the head waits for the first write or close
const SENDING = 2; // head sent, body under way
const DONE = 3; // response complete
const UPGRADED = 4; // 101 sent: the conn belongs to another protocol
const FAILED = 5; // response abandoned: an error status went out, or the conn is closing

/** Answer an unusable request with `status` and close the connection. */
export function senderror(conn: Conn, status: number, reason: string): void {
  const body = `${reason}\n`;
  conn.write(
    `${statusline(status)}Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nDate: ${httpdate()}\r\n\r\n${body}`,
  );
}

export class Session implements WireOwner, Live {
  readonly wire: Wire;
  private ended = false;
  private onhead: (r: ConnReadResult) => void;
  private ondrained: ((ok: boolean) => void) | undefined = undefined; // made when a body is first skipped

  constructor(
    readonly conn: Conn,
    readonly conf: ServerConf,
  ) {
    this.wire = new Wire(conn);
    this.onhead = (r) => this.headed(r);
  }

  /** The server is closing: end the connection now if it is waiting for a request with none of it here. */
  closeidle(): void {
    if (this.wire.idle()) this.conn.close();
  }

  /** A head read was cut short: say why, if it is worth an answer. */
  wirefail(f: Fail): void {
    if (f === FAIL_TIMEOUT) senderror(this.conn, 408, "timed out reading the request head");
    else if (f === FAIL_TOOLARGE) senderror(this.conn, 431, "request head too large");
    else if (f === FAIL_BARELF) senderror(this.conn, 400, "bare LF in request head");
    else if (f === FAIL_GARBAGE) senderror(this.conn, 400, "malformed request line");
  }

  /** Serve the connection: read a head, run its handler, then the next. */
  start(): void {
    this.conf.sessions.add(this);
    this.readhead();
  }

  private readhead(): void {
    const { conf, wire } = this;
    if (conf.closing) return this.end();
    wire.begin(conf.limits.headerbytes, conf.timeouts.idle, conf.timeouts.header, true, this);
    this.conn.read(CRLFCRLF).then(this.onhead);
  }

  private headed(r: ConnReadResult): void {
    this.wire.done();
    try {
      const head = r[0];
      if (head === undefined) return this.end();
      const conf = this.conf;
      const limits = conf.limits;
      if (head.length > limits.headerbytes) return this.refuse(431, "request head too large");
      const req = parserequest(head, limits);
      if (req instanceof HeadError) return this.refuse(req.status, req.reason);
      const target = parsetarget(req.method, req.target);
      if (typeof target === "string") return this.refuse(400, target);
      if (req.framing === FIXED && req.length > limits.body) return this.refuse(413, "request body too large");
      fork(runhandler, new H1Stream(this, req, target));
    } catch (err) {
      logerror("http: serving %s failed: %s", this.conn.remoteaddr, describe(err));
      this.end();
    }
  }

  private refuse(status: number, reason: string): void {
    senderror(this.conn, status, reason);
    this.end();
  }

  /**
   * @internal `s` answered 101: the conn belongs to the upgraded protocol now.
   * Let go of everything (the server's set, the Wire, the closures), so an
   * upgraded connection that lives long costs nothing here.
   */
  upgrade(): void {
    this.ended = true;
    this.conf.sessions.delete(this);
    this.wire.detach();
    this.onhead = noop;
    this.ondrained = undefined;
  }

  /** @internal The handler of `s` returned and its response is complete. */
  next(s: H1Stream): void {
    try {
      if (s.upgraded()) return; // upgrade() let the conn go already
      if (!s.reusable()) return this.end();
      const d = s.drain();
      if (d === true) this.readhead();
      else if (d === false) this.end();
      else d.then((this.ondrained ??= (ok) => (ok ? this.readhead() : this.end())));
    } catch (err) {
      logerror("http: serving %s failed: %s", this.conn.remoteaddr, describe(err));
      this.end();
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.conf.sessions.delete(this);
    this.wire.detach();
    this.conn.close();
  }
}

/**
 * One HTTP/1.x request and its response, as the handler sees it. The
 * response head is held back until the first write() or close(), so
 * `respond(...)` then `close(body)` leaves as one write with a Content-Length.
 */
export class H1Stream implements ServerStream, WireOwner {
  /** The request method, e.g. "GET". */
  readonly method: string;
  /** The request path, percent-decoded ("/a b" for "/a%20b?x"). */
  readonly path: string;
  /** The request path as sent, still percent-encoded, without the query. */
  readonly rawpath: string;
  /** The request-target exactly as sent ("/a%20b?x=1"). */
  readonly target: string;
  /** "HTTP/1.1" or "HTTP/1.0". */
  readonly version: string;
  /** The client's "ip:port". */
  readonly remoteaddr: string;
  /** The connection (tcp or tls); after a 101 answer it belongs to the upgraded protocol. */
  readonly conn: Conn;

  private session: Session; // released after a 101
  private req: RequestHead; // UPGRADEDREQ after a 101
  private reader: BodyReader | undefined = undefined;
  private state = OPEN;
  private status = 0;
  // respond()'s headers, validated and rendered
  private hlines = "";
  private hlength = -1;
  private hchunked = false;
  private hdate = false;
  private wantclose = false;
  // the response as sent
  private framing: Framing = NOBODY;
  private left = 0; // FIXED: body bytes still owed
  private keepalive = false;
  private continued = false; // "100 Continue" sent

  /** @internal */
  constructor(session: Session, req: RequestHead, target: Target) {
    this.session = session;
    this.req = req;
    this.conn = session.conn;
    this.method = req.method;
    this.target = req.target;
    this.path = target.path;
    this.rawpath = target.rawpath;
    this.tgt = target;
    this.version = req.minor === 1 ? "HTTP/1.1" : "HTTP/1.0";
    this.remoteaddr = session.conn.remoteaddr;
  }

  private hdr: Header | undefined = undefined;
  private readonly tgt: Target;

  /** Query parameters, decoded ("+" is a space); a repeated key keeps its last value. Built on first use. */
  get query(): Record<string, string> {
    return (this.tgt.query ??= queryof(this.tgt));
  }

  /** Request headers: lower-case names; repeats joined with ", " (set-cookie with "\n"). Built on first use. */
  get header(): Header {
    return (this.hdr ??= buildheader(this.req));
  }

  /** Trailer fields of a chunked request body, once it has been read to its end. */
  get trailer(): Header | undefined {
    return this.reader?.trailer;
  }

  /**
   * Set the status and header fields of the response. The head is sent with
   * the first write() or close(): close(body) then adds Content-Length
   * itself, write() without a content-length makes the body chunked (or, to
   * an HTTP/1.0 client, delimited by closing the connection). `close` true
   * sends "Connection: close" and ends the connection after this response.
   * A 1xx status is sent at once; 101 hands the connection over (upgrade).
   * Throws for a bad status or header field (programmer errors).
   */
  respond(status: number, headers?: HeaderInput, close?: boolean): Promise<WriteResult> {
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new RangeError(`stream.respond: status must be an integer 100..999, got ${String(status)}`);
    }
    if (this.state !== OPEN) return Promise.resolve([false, "stream.respond: the response has already started"]);
    const scan = SCAN;
    if (status < 200) {
      scanheaders(headers, true, scan, "stream.respond");
      if (status === 101) {
        if (!this.req.upgrade) throw new Error("stream.respond: 101 answers a request that asks for an upgrade");
        this.state = UPGRADED;
        const p = this.conn.write(`${statusline(101)}${scan.lines}\r\n`);
        flush(this.conn);
        this.release();
        return p;
      }
      if (this.req.minor === 0) return OK_P; // HTTP/1.0 clients do not expect interim answers
      if (status === 100) this.continued = true;
      return this.conn.write(`${statusline(status)}${scan.lines}\r\n`);
    }
    scanheaders(headers, false, scan, "stream.respond");
    if (scan.chunked && scan.length >= 0) throw new TypeError("stream.respond: both content-length and transfer-encoding given");
    this.status = status;
    this.hlines = scan.lines;
    this.hlength = scan.length;
    this.hchunked = scan.chunked;
    this.hdate = scan.date;
    this.wantclose = close === true || (scan.connection !== undefined && hastoken(scan.connection, "close"));
    this.state = DEFERRED;
    return OK_P;
  }

  /**
   * Send a piece of the body (the head first if it is still held back).
   * Resolves once the conn accepted it (waits while the socket is over its
   * high-water mark). With no respond() before, the status is 200.
   */
  write(data: Body): Promise<WriteResult> {
    checkbody(data, "stream.write");
    let head = "";
    if (this.state <= DEFERRED) {
      if (this.state === OPEN) this.respond(200);
      head = this.sendhead(-1);
      this.state = SENDING;
    } else if (this.state !== SENDING) {
      return Promise.resolve([false, "stream.write: the response is already finished"]);
    }
    const len = bodylength(data);
    switch (this.framing) {
      case CHUNKED:
        if (len === 0) return head === "" ? OK_P : this.conn.write(head);
        return this.conn.write(head === "" ? [chunksize(len), data, "\r\n"] : [head, chunksize(len), data, "\r\n"]);
      case FIXED:
        if (len > this.left) {
          if (head !== "") this.conn.write(head); // the head is committed; the bad write is not
          throw new RangeError(`stream.write: ${len} bytes exceed the content-length (${this.left} left)`);
        }
        this.left -= len;
        return this.conn.write(head === "" ? data : [head, data]);
      case UNTILCLOSE:
        return this.conn.write(head === "" ? data : [head, data]);
      default: // no body for HEAD, 1xx, 204, 304
        return head === "" ? OK_P : this.conn.write(head);
    }
  }

  /**
   * Finish the response, with `body` as its last piece. When the head is
   * still held back and carries no content-length, Content-Length is set
   * to the body's size, and head and body leave in one write.
   */
  close(body?: Body): Promise<WriteResult> {
    if (body !== undefined) checkbody(body, "stream.close");
    const len = body === undefined ? 0 : bodylength(body);
    if (this.state <= DEFERRED) {
      if (this.state === OPEN) this.respond(200);
      const head = this.sendhead(len);
      if (this.framing === FIXED && len !== this.left) {
        if (len > this.left) throw new RangeError(`stream.close: ${len} bytes exceed the content-length (${this.left})`);
        this.keepalive = false; // the client waits for bytes that will not come
      }
      this.state = DONE;
      if (len === 0 || this.framing === NOBODY) return this.conn.write(head);
      if (typeof body === "string") return this.conn.write(head + body);
      return this.conn.write([head, body!]);
    }
    if (this.state !== SENDING) return Promise.resolve([false, "stream.close: the response is already finished"]);
    if (this.framing === FIXED && len > this.left) {
      throw new RangeError(`stream.close: ${len} bytes exceed the content-length (${this.left} left)`);
    }
    this.state = DONE;
    switch (this.framing) {
      case CHUNKED:
        return this.conn.write(len === 0 ? LASTCHUNK : [chunksize(len), body!, "\r\n", LASTCHUNK]);
      case FIXED:
        this.left -= len;
        if (this.left > 0) this.keepalive = false;
        return len === 0 ? OK_P : this.conn.write(body!);
      case UNTILCLOSE:
        return len === 0 ? OK_P : this.conn.write(body!);
      default:
        return OK_P;
    }
  }

  /** The same as close(body) (upstream's name). */
  closewrite(body?: Body): Promise<WriteResult> {
    return this.close(body);
  }

  /**
   * The next piece of the request body, or `[undefined, errno.EOF]` after
   * the last one (at once when there is no body). Other errors: the body is
   * too large (413), too slow (408) or malformed (400); the server has then
   * answered with that status itself if the response had not started.
   */
  async read(): Promise<ReadResult> {
    if (this.req.upgrade || this.req.framing === NOBODY) return EOFRESULT;
    const r = this.body();
    const res = await r.read();
    if (res[0] === undefined && r.err !== undefined) this.bodyfailed(r);
    return res;
  }

  /** The whole request body (an empty Buffer when there is none). Errors as for read(). */
  async readall(): Promise<ReadAllResult> {
    if (this.req.upgrade || this.req.framing === NOBODY) return [Buffer.alloc(0), undefined];
    const r = this.body();
    const res = await r.readall();
    if (res[0] === undefined && r.err !== undefined) this.bodyfailed(r);
    return res;
  }

  private body(): BodyReader {
    let r = this.reader;
    if (r === undefined) {
      const { limits, timeouts } = this.session.conf;
      const conf = { limit: limits.body, timeout: timeouts.body, headerbytes: limits.headerbytes, headercount: limits.headercount };
      r = this.reader = new BodyReader(this.conn, this.session.wire, this.req.framing, this.req.length, conf, this);
    }
    if (this.req.expect100 && !this.continued && this.state <= DEFERRED) {
      this.continued = true;
      this.conn.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
    return r;
  }

  /** The body could not be read: answer with its status if nothing was sent yet; the conn will close. */
  private bodyfailed(r: BodyReader): void {
    if (this.state <= DEFERRED && r.status !== 0) senderror(this.conn, r.status, r.err!.replace(/^http: /, ""));
    if (this.state !== UPGRADED) this.state = FAILED;
  }

  /** @internal A chunk-size or trailer line was cut short by the Wire. */
  wirefail(f: Fail): void {
    if (this.state <= DEFERRED) {
      if (f === FAIL_TIMEOUT) senderror(this.conn, 408, "timed out reading the request body");
      else senderror(this.conn, 400, "malformed chunked request body");
    }
    this.state = FAILED;
  }

  /** Build the held-back head; decides the framing. `len` is the whole body's size, or -1 if unknown. */
  private sendhead(len: number): string {
    const req = this.req;
    const status = this.status;
    let keep = req.keepalive && !this.wantclose && !this.session.conf.closing;
    // A body we never asked for (no 100 Continue yet) or will never read (upgrade) would be
    // taken for the next request: close after this response instead.
    if (req.framing !== NOBODY && (req.upgrade || (req.expect100 && !this.continued))) keep = false;
    let fields = "";
    let framing: Framing = NOBODY;
    if (!bodyallowed(status)) {
      if (status === 304 && this.hlength >= 0) fields = `Content-Length: ${this.hlength}\r\n`;
    } else if (this.hlength >= 0) {
      fields = `Content-Length: ${this.hlength}\r\n`;
      if (req.method !== "HEAD") {
        framing = FIXED;
        this.left = this.hlength;
      }
    } else if (req.method === "HEAD") {
      if (len >= 0) fields = `Content-Length: ${len}\r\n`;
    } else if (len >= 0 && !this.hchunked) {
      fields = `Content-Length: ${len}\r\n`;
      framing = FIXED;
      this.left = len;
    } else if (req.minor === 1) {
      fields = "Transfer-Encoding: chunked\r\n";
      framing = CHUNKED;
    } else {
      framing = UNTILCLOSE;
      keep = false;
    }
    if (!keep) fields += "Connection: close\r\n";
    else if (req.minor === 0) fields += "Connection: keep-alive\r\n";
    if (!this.hdate) fields += `Date: ${httpdate()}\r\n`;
    this.framing = framing;
    this.keepalive = keep;
    return `${statusline(status)}${this.hlines}${fields}\r\n`;
  }

  /**
   * After a 101: keep only what the ServerStream API still shows (the header
   * object, whose values are strings of their own, not slices of the head),
   * and let the session, its Wire and the request head go.
   */
  private release(): void {
    this.hdr ??= buildheader(this.req);
    this.session.upgrade();
    this.session = undefined as unknown as Session;
    this.req = UPGRADEDREQ;
  }

  /** @internal The handler returned (or threw): complete the response, go on with the connection. */
  finish(threw: boolean): void {
    if (this.state === UPGRADED) return; // the session let the conn go at the 101
    try {
      this.conclude(threw);
    } catch (err) {
      logerror("http: finishing the response failed: %s", describe(err));
      this.state = FAILED;
    }
    this.session.next(this);
  }

  /** The handler has returned (or thrown): complete whatever it left undone. */
  private conclude(threw: boolean): void {
    switch (this.state) {
      case OPEN:
      case DEFERRED:
        if (threw || this.state === OPEN) {
          this.state = OPEN;
          this.respond(500, { "content-type": "text/plain; charset=utf-8" }, threw);
          this.close("Internal Server Error\n");
        } else if (this.hlength > 0 && this.req.method !== "HEAD" && bodyallowed(this.status)) {
          // A content-length was promised and no byte of it sent.
          this.conn.write(this.sendhead(-1));
          this.state = FAILED;
        } else {
          this.close();
        }
        break;
      case SENDING:
        if (threw) this.state = FAILED;
        else if (this.framing === CHUNKED) this.close();
        else {
          this.state = DONE;
          if (this.framing !== NOBODY && !(this.framing === FIXED && this.left === 0)) this.keepalive = false;
        }
        break;
    }
  }

  /** @internal */
  callhandler(): unknown {
    return this.session.conf.handler(this);
  }

  /** @internal */
  upgraded(): boolean {
    return this.state === UPGRADED;
  }

  /** @internal May the connection carry another request? */
  reusable(): boolean {
    return this.state === DONE && this.keepalive && !this.session.conf.closing && this.conn.isalive();
  }

  /** @internal Skip an unread request body so the next request can be read: true, false, or a promise of it. */
  drain(): boolean | Promise<boolean> {
    const req = this.req;
    if (req.framing === NOBODY) return true;
    if (this.reader !== undefined && this.reader.finished) return true;
    if (req.upgrade || (req.expect100 && !this.continued)) return false;
    const { limits, timeouts } = this.session.conf;
    const conf = { limit: limits.body, timeout: timeouts.body, headerbytes: limits.headerbytes, headercount: limits.headercount };
    const r = (this.reader ??= new BodyReader(this.conn, this.session.wire, req.framing, req.length, conf, undefined));
    return r.skip(DRAIN_MAX);
  }
}

const SCAN = newscan();

/** What an upgraded stream keeps of its request: read() sees an upgrade (EOF at once). */
const UPGRADEDREQ: RequestHead = Object.freeze({
  method: "GET",
  target: "",
  minor: 1,
  head: Buffer.alloc(0),
  fields: 0,
  framing: NOBODY,
  length: 0,
  keepalive: false,
  upgrade: true,
  expect100: false,
});

function noop(): void {}

export function checkbody(b: unknown, who: string): void {
  if (typeof b !== "string" && !(b instanceof Uint8Array)) throw new TypeError(`${who}: body must be a string or a Uint8Array`);
}
