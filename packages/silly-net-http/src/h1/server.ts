// The HTTP/1.x server side: one Session per connection reads request heads
// in order, hands each request to the handler as an H1Stream in its own
// task, and starts on the next request once that handler has returned and
// its response is complete.
import { error as logerror } from "silly/logger";
import { fork } from "silly/task";
import type { Conn, ReadResult as ConnReadResult } from "silly/net/tcp";
import { flush, linger } from "silly/net/protocol";
import type { Body, Header, HeaderInput, ReadAllResult, ReadResult, WriteResult } from "../types.js";
import type { Live, ServerConf } from "../serve.js";
import { describe, runhandler } from "../serve.js";
import { DEFERRED, DONE, Exchange, SENDING, UPGRADED } from "../response.js";
import { EOFRESULT, OK_P } from "../results.js";
import { H1, RAW, bodyallowed, httpdate, newscan, scanheaders } from "../outgoing.js";
import type { Mode, Scan } from "../outgoing.js";
import { parsetarget } from "../url.js";
import type { Target } from "../url.js";
import { CHUNKED, FIXED, HeadError, NOBODY, UNTILCLOSE, parserequest, requestheader } from "./parse.js";
import type { Framing, RequestHead } from "./parse.js";
import { chunksize, lastchunk, statusline } from "./head.js";
import { BodyReader } from "./body.js";
import type { BodyConf } from "./body.js";
import { FAIL_BARELF, FAIL_GARBAGE, FAIL_IDLE, FAIL_TIMEOUT, FAIL_TOOLARGE, Wire } from "./wire.js";
import type { Fail, WireOwner } from "./wire.js";

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** Unread request body a connection may skip to stay reusable; more and it is closed. */
const DRAIN_MAX = 256 * 1024;

/**
 * Answer an unusable request with `status`, then close the connection the
 * lingering way: the client may still be sending, and a reset would cost
 * it the answer.
 */
function refuseconn(conn: Conn, conf: ServerConf, status: number, reason: string): void {
  const body = `${reason}\n`;
  conn.write(
    `${statusline(status)}Connection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nDate: ${httpdate()}\r\n\r\n${body}`,
  );
  linger(conn, conf.timeouts.linger, conf.limits.linger);
}

/** Is `head` nothing but empty lines (CRLF pairs)? */
function blank(head: Buffer): boolean {
  for (let i = 0; i < head.length; i += 2) if (head[i] !== 13 || head[i + 1] !== 10) return false;
  return true;
}

export class Session implements WireOwner, Live {
  readonly wire: Wire;
  private ended = false;
  private blanks = 0; // bytes of empty lines skipped before the current request
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
    if (this.wire.idle()) this.end(false);
  }

  /** A head read was cut short: say why, if it is worth an answer. */
  wirefail(f: Fail): void {
    if (f === FAIL_TIMEOUT) this.refuse(408, "timed out reading the request head");
    else if (f === FAIL_TOOLARGE) this.refuse(431, "request head too large");
    else if (f === FAIL_BARELF) this.refuse(400, "bare LF in request head");
    else if (f === FAIL_GARBAGE) this.refuse(400, "malformed request line");
  }

  /** Serve the connection: read a head, run its handler, then the next. */
  start(): void {
    this.conf.sessions.add(this);
    this.readhead();
  }

  private readhead(): void {
    const { conf, wire } = this;
    if (conf.closing) return this.end(false);
    wire.begin(conf.limits.headerbytes, conf.timeouts.idle, conf.timeouts.header, true, this);
    this.conn.read(CRLFCRLF).then(this.onhead);
  }

  private headed(r: ConnReadResult): void {
    this.wire.done();
    try {
      const head = r[0];
      if (head === undefined) return this.end(false);
      const conf = this.conf;
      const limits = conf.limits;
      if (head.length > limits.headerbytes) return this.refuse(431, "request head too large");
      // Empty lines before a request line are skipped (RFC 9112 2.2), a head's worth at most.
      if (blank(head)) {
        this.blanks += head.length;
        if (this.blanks > limits.headerbytes) return this.refuse(400, "too many empty lines before the request");
        return this.readhead();
      }
      this.blanks = 0;
      const req = parserequest(head, limits);
      if (req instanceof HeadError) return this.refuse(req.status, req.reason);
      const target = parsetarget(req.method, req.target);
      if (typeof target === "string") return this.refuse(400, target);
      if (req.framing === FIXED && req.length > limits.body) return this.refuse(413, "request body too large");
      fork(runhandler, new H1Stream(this, req, target));
    } catch (err) {
      logerror("http: serving %s failed: %s", this.conn.remoteaddr, describe(err));
      this.end(false);
    }
  }

  private refuse(status: number, reason: string): void {
    if (this.ended) return;
    refuseconn(this.conn, this.conf, status, reason);
    this.end(false);
  }

  /**
   * @internal A 101 went out: the conn belongs to the upgraded protocol now.
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
      if (!s.reusable()) return this.end(!s.received());
      const d = s.drain();
      if (d === true) this.readhead();
      else if (d === false) this.end(true);
      else d.then((this.ondrained ??= (ok) => (ok ? this.readhead() : this.end(true))));
    } catch (err) {
      logerror("http: serving %s failed: %s", this.conn.remoteaddr, describe(err));
      this.end(false);
    }
  }

  /** Close the connection; lingering when the client may still be sending a body. */
  private end(lingering: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.conf.sessions.delete(this);
    this.wire.detach();
    if (lingering) linger(this.conn, this.conf.timeouts.linger, this.conf.limits.linger);
    else this.conn.close();
  }
}

/**
 * One HTTP/1.x request and its response, as the handler sees it. The
 * response head is held back until the first write() or close(), so
 * `respond(...)` then `close(body)` leaves as one write with a Content-Length.
 */
export class H1Stream extends Exchange implements WireOwner {
  private session: Session; // released after a 101
  private req: RequestHead; // UPGRADEDREQ after a 101
  private reader: BodyReader | undefined = undefined;
  private hdr: Header | undefined = undefined;
  private headtext = ""; // respond()'s header lines, then the whole head once start() built it
  private bits = 0; // KEEPALIVE, CONTINUED, CHUNKS

  protected get mode(): Mode {
    return H1;
  }

  /** @internal */
  constructor(session: Session, req: RequestHead, target: Target) {
    super(session.conf, session.conn, req.method, req.target, target, req.minor === 1 ? "HTTP/1.1" : "HTTP/1.0", undefined);
    this.session = session;
    this.req = req;
  }

  /** Request headers: lower-case names; repeats joined with ", " (set-cookie with "\n"). Built on first use. */
  get header(): Header {
    return (this.hdr ??= requestheader(this.req));
  }

  /** Trailer fields of a chunked request body, once it has been read to its end. */
  get trailer(): Header | undefined {
    return this.reader?.trailer;
  }

  protected keep(scan: Scan): void {
    this.headtext = scan.lines;
  }

  protected interim(status: number, headers: HeaderInput | undefined): Promise<WriteResult> {
    const scan = INTERIM;
    scanheaders(headers, RAW, scan, "stream.respond");
    if (status === 101) {
      if (!this.req.upgrade) throw new Error("stream.respond: 101 answers a request that asks for an upgrade");
      this.state = UPGRADED;
      const p = this.conn.write(`${statusline(101)}${scan.lines}\r\n`);
      flush(this.conn);
      this.release();
      return p;
    }
    if (this.req.minor === 0) return OK_P; // HTTP/1.0 clients do not expect interim answers
    if (status === 100) this.bits |= CONTINUED;
    return this.conn.write(`${statusline(status)}${scan.lines}\r\n`);
  }

  protected start(len: number, trailers: boolean): void {
    const req = this.req;
    const status = this.status;
    let keep = req.keepalive && !this.hclose && !this.session.conf.closing;
    // A body we never asked for (no 100 Continue yet) would be taken for the next request.
    if (req.framing !== NOBODY && req.expect100 && (this.bits & CONTINUED) === 0) keep = false;
    // After CONNECT the client may send tunnel bytes before our answer arrives.
    if (req.method === "CONNECT") keep = false;
    let fields = "";
    let framing: Framing = NOBODY;
    if (this.tunnel) {
      framing = UNTILCLOSE; // no framing fields at all (RFC 9110 9.3.6)
    } else if (!bodyallowed(status)) {
      this.nobody = true;
      if (status === 304 && this.hlength >= 0) fields = `Content-Length: ${this.hlength}\r\n`;
    } else if (req.method === "HEAD") {
      this.nobody = true;
      const n = this.hlength >= 0 ? this.hlength : len;
      if (n >= 0) fields = `Content-Length: ${n}\r\n`;
    } else if (this.hlength >= 0) {
      fields = `Content-Length: ${this.hlength}\r\n`;
      framing = FIXED;
      this.left = this.hlength;
    } else if (len >= 0 && !this.hchunked && !trailers) {
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
    if (this.tunnel) {
      // The head is all the tunnel gets from HTTP.
    } else if (!keep) fields += "Connection: close\r\n";
    else if (req.minor === 0) fields += "Connection: keep-alive\r\n";
    if (!this.hdate) fields += `Date: ${httpdate()}\r\n`;
    this.bits = (this.bits & CONTINUED) | (keep ? KEEPALIVE : 0) | (framing === CHUNKED ? CHUNKS : 0);
    this.headtext = `${statusline(status)}${this.headtext}${fields}\r\n`;
  }

  protected emit(head: boolean, data: Body | undefined, len: number, last: boolean, trailer: [string, string][] | undefined): Promise<WriteResult> {
    const h = head ? this.headtext : "";
    if ((this.bits & CHUNKS) !== 0) {
      const end = last ? lastchunk(trailer) : "";
      if (data === undefined) return h === "" && end === "" ? OK_P : this.conn.write(h + end);
      if (typeof data === "string" && len <= 1024) return this.conn.write(`${h}${chunksize(len)}${data}\r\n${end}`);
      return this.conn.write([`${h}${chunksize(len)}`, data, `\r\n${end}`]);
    }
    if (data === undefined) return h === "" ? OK_P : this.conn.write(h);
    if (h === "") return this.conn.write(data);
    return this.conn.write(typeof data === "string" ? h + data : [h, data]);
  }

  protected cut(): void {
    this.bits &= ~KEEPALIVE;
  }

  protected refuse(status: number, why: string): void {
    this.bits &= ~KEEPALIVE;
    refuseconn(this.conn, this.conf, status, why);
  }

  protected after(): void {
    this.session.next(this);
  }

  /**
   * The next piece of the request body, or `[undefined, errno.EOF]` after
   * the last one (at once when there is no body). Other errors: the body is
   * too large (413), too slow (408) or malformed (400); the server has then
   * answered with that status itself if the response had not started.
   * After a 2xx answer to CONNECT: the tunnel's bytes until the client ends.
   */
  async read(): Promise<ReadResult> {
    const r = this.body();
    if (r === undefined) return EOFRESULT;
    const res = await r.read();
    if (res[0] === undefined && r.err !== undefined) this.bodyfailed(r.status, r.err);
    return res;
  }

  /** The whole request body (an empty Buffer when there is none). Errors as for read(). */
  async readall(): Promise<ReadAllResult> {
    const r = this.body();
    if (r === undefined) return [Buffer.alloc(0), undefined];
    const res = await r.readall();
    if (res[0] === undefined && r.err !== undefined) this.bodyfailed(r.status, r.err);
    return res;
  }

  private bodyconf(): BodyConf {
    const { limits, timeouts } = this.session.conf;
    return { limit: limits.body, timeout: timeouts.body, headerbytes: limits.headerbytes, headercount: limits.headercount };
  }

  /** The request body's reader (undefined: no body); sends 100 Continue when the client waits for it. */
  private body(): BodyReader | undefined {
    if (this.state === UPGRADED) return undefined;
    let r = this.reader;
    if (r === undefined) {
      if (this.tunnel && this.state >= SENDING) {
        const conf = this.bodyconf();
        conf.limit = Infinity;
        r = this.reader = new BodyReader(this.conn, this.session.wire, UNTILCLOSE, 0, conf, this);
      } else if (this.req.framing === NOBODY) {
        return undefined;
      } else {
        r = this.reader = new BodyReader(this.conn, this.session.wire, this.req.framing, this.req.length, this.bodyconf(), this);
      }
    }
    if (this.req.expect100 && (this.bits & CONTINUED) === 0 && this.state <= DEFERRED) {
      this.bits |= CONTINUED;
      this.conn.write("HTTP/1.1 100 Continue\r\n\r\n");
    }
    return r;
  }

  /** @internal A chunk-size or trailer line was cut short by the Wire. */
  wirefail(f: Fail): void {
    const timeout = f === FAIL_TIMEOUT || f === FAIL_IDLE;
    this.bodyfailed(timeout ? 408 : 400, timeout ? "timed out reading the request body" : "malformed chunked request body");
  }

  /**
   * After a 101: keep only what the ServerStream API still shows (the header
   * object, whose values are strings of their own, not slices of the head),
   * and let the session, its Wire and the request head go. Body bytes not
   * read by now stay in the conn for the upgraded protocol.
   */
  private release(): void {
    this.hdr ??= requestheader(this.req);
    this.session.upgrade();
    this.session = undefined as unknown as Session;
    this.req = UPGRADEDREQ;
  }

  /** @internal */
  upgraded(): boolean {
    return this.state === UPGRADED;
  }

  /** @internal May the connection carry another request? */
  reusable(): boolean {
    return this.state === DONE && (this.bits & KEEPALIVE) !== 0 && !this.session.conf.closing && this.conn.isalive();
  }

  /** @internal Has all of the request arrived (its body read to the end, or none)? */
  received(): boolean {
    return this.req.framing === NOBODY || (this.reader !== undefined && this.reader.finished);
  }

  /** @internal Skip an unread request body so the next request can be read: true, false, or a promise of it. */
  drain(): boolean | Promise<boolean> {
    if (this.received()) return true;
    if (this.req.expect100 && (this.bits & CONTINUED) === 0) return false;
    const r = (this.reader ??= new BodyReader(this.conn, this.session.wire, this.req.framing, this.req.length, this.bodyconf(), undefined));
    return r.skip(DRAIN_MAX);
  }
}

const INTERIM = newscan();
/** H1Stream bits: the connection may carry another request. */
const KEEPALIVE = 1;
/** H1Stream bits: "100 Continue" was sent. */
const CONTINUED = 2;
/** H1Stream bits: the response body goes out chunked. */
const CHUNKS = 4;

/** What an upgraded stream keeps of its request: no body to read. */
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
