// The HTTP/1.1 side of the client: one request and its response on one
// connection. The connection goes back to its origin's pool once both are
// complete and the server keeps it open; a request that was sent whole on
// a kept-alive connection the server had already closed is sent again on a
// fresh one when that is safe (an idempotent method, nothing received).
import { EOF } from "silly/errno";
import type { Conn } from "silly/net/tcp";
import { flush } from "silly/net/protocol";
import type { Body, ClientStream, Header, HeaderInput, ReadAllResult, ReadHeaderResult, ReadResult, ResponseHead, WriteResult } from "../types.js";
import { hastoken } from "../fields.js";
import { bodylength, checkbody, checktrailer } from "../outgoing.js";
import { Decoder, decodable } from "../decode.js";
import { OK, collect } from "../results.js";
import { CHUNKED, FIXED, NOBODY, UNTILCLOSE, parseresponse, responseframing } from "./parse.js";
import type { Framing } from "./parse.js";
import { chunksize, lastchunk } from "./head.js";
import { BodyReader } from "./body.js";
import { FAIL_IDLE, FAIL_TIMEOUT, FAIL_TOOLARGE, Wire } from "./wire.js";

const CRLFCRLF = Buffer.from("\r\n\r\n");
const MAXINTERIM = 16;
/** Methods that define no request content: no Content-Length: 0 when they are sent without a body. */
const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);
/** Methods a request may be repeated with (RFC 9110 9.2.2). */
export const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

// Request states.
const HEAD = 0; // head not sent yet
const SENDING = 1; // body under way
const SENT = 2; // request complete
const TUNNEL = 3; // a 2xx answered CONNECT: writes go to the tunnel as they are

/** A connection that speaks HTTP/1.1, with the Wire that bounds its reads. */
export interface Link {
  conn: Conn;
  wire: Wire;
}

export function newlink(conn: Conn): Link {
  return { conn, wire: new Wire(conn) };
}

/** What a client stream needs of its client. */
export interface ClientConf {
  timeout: number;
  headerbytes: number;
  headercount: number;
  body: number;
  decompress: boolean;
}

/** Where a stream's connection goes when it is done, and where a fresh one comes from. */
export interface Home {
  /** The link can carry another request: keep it for `idlems` (it is closed if it cannot be kept). */
  keep(link: Link, idlems: number): void;
  /** A fresh connection to the same origin, for a request to be sent again. */
  redial(): Promise<[Link, undefined] | [undefined, string]>;
}

/** How long a kept-alive connection may wait: ours, or less when the server's Keep-Alive field says timeout=N. */
function keepalivems(v: string | undefined, ours: number): number {
  if (v === undefined) return ours;
  const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(v);
  if (m === null) return ours;
  // A second less than the server says: its close and our next request must not cross.
  return Math.min(ours, Number(m[1]) * 1000 - 1000);
}

export class H1Client implements ClientStream {
  readonly method: string;
  readonly version = "HTTP/1.1";
  status: number | undefined = undefined;
  header: Header | undefined = undefined;

  private link: Link;
  private reused: boolean;
  private readonly home: Home | undefined; // undefined: the connection is not kept
  private readonly conf: ClientConf;
  private readonly head: string; // request line, host, fields; framing still to add
  private readonly hlength: number;
  private readonly hchunked: boolean;
  private readonly idlems: number;
  private keepconn: boolean; // the request lets the connection stay open
  private state = HEAD;
  private framing: Framing = NOBODY;
  private left = 0;
  private replay: Body[] | undefined = undefined; // the whole request, when it went out in one write
  private reader: BodyReader | undefined = undefined;
  private decoder: Decoder | undefined = undefined;
  private res: ResponseHead | undefined = undefined;
  private upgraded = false;
  private closed = false;
  private released = false;

  /** @internal */
  constructor(link: Link, reused: boolean, home: Home | undefined, idlems: number, method: string, head: string, hlength: number, hchunked: boolean, keep: boolean, conf: ClientConf) {
    this.link = link;
    this.reused = reused;
    this.home = home;
    this.idlems = idlems;
    this.method = method;
    this.head = head;
    this.hlength = hlength;
    this.hchunked = hchunked;
    this.keepconn = keep;
    this.conf = conf;
  }

  /** The connection; after a 101 it is the caller's. */
  get conn(): Conn {
    return this.link.conn;
  }

  /** Trailer fields of a chunked response, once its body has been read to the end. */
  get trailer(): Header | undefined {
    return this.reader?.trailer;
  }

  private sendhead(len: number, trailers: boolean): string {
    let fields: string;
    if (this.hlength >= 0) {
      fields = `Content-Length: ${this.hlength}\r\n`;
      this.framing = FIXED;
      this.left = this.hlength;
    } else if (len >= 0 && !this.hchunked && !trailers) {
      fields = len > 0 || !BODYLESS.has(this.method) ? `Content-Length: ${len}\r\n` : "";
      this.framing = FIXED;
      this.left = len;
    } else {
      fields = "Transfer-Encoding: chunked\r\n";
      this.framing = CHUNKED;
    }
    return `${this.head}${fields}\r\n`;
  }

  /** Send a piece of the request body (the head first, chunked unless a content-length was given). */
  write(data: Body): Promise<WriteResult> {
    checkbody(data, "stream.write");
    if (this.state === TUNNEL) return this.conn.write(data);
    let head = "";
    if (this.state === HEAD) {
      head = this.sendhead(-1, false);
      this.state = SENDING;
    } else if (this.state !== SENDING) {
      return Promise.resolve([false, "stream.write: the request is already complete"]);
    }
    const len = bodylength(data);
    if (this.framing === CHUNKED) {
      if (len === 0) return head === "" ? Promise.resolve(OK) : this.conn.write(head);
      return this.conn.write(head === "" ? [chunksize(len), data, "\r\n"] : [head, chunksize(len), data, "\r\n"]);
    }
    if (len > this.left) {
      if (head !== "") this.conn.write(head);
      throw new RangeError(`stream.write: ${len} bytes exceed the content-length (${this.left} left)`);
    }
    this.left -= len;
    if (this.left === 0) this.state = SENT;
    return this.conn.write(head === "" ? data : [head, data]);
  }

  /**
   * Finish the request with `body` as its last piece and `trailer` fields
   * after it (chunked framing only). With nothing sent before, the head goes
   * out with Content-Length (none at all for a bodyless GET), head and body
   * in one write.
   */
  closewrite(body?: Body, trailer?: HeaderInput): Promise<WriteResult> {
    if (body !== undefined) checkbody(body, "stream.closewrite");
    const t = trailer === undefined ? undefined : checktrailer(trailer, "stream.closewrite");
    const len = body === undefined ? 0 : bodylength(body);
    if (this.state === TUNNEL) return len === 0 ? Promise.resolve(OK) : this.conn.write(body!);
    if (this.state === HEAD) {
      const head = this.sendhead(len, t !== undefined && t.length > 0);
      if (this.framing === FIXED && len !== this.left) {
        throw new RangeError(`stream.closewrite: ${len} bytes, but the content-length is ${this.left}`);
      }
      this.state = SENT;
      this.left = 0;
      let out: Body[];
      if (this.framing === CHUNKED) out = len === 0 ? [head + lastchunk(t)] : [head + chunksize(len), body!, `\r\n${lastchunk(t)}`];
      else out = len === 0 ? [head] : [head, body!];
      this.replay = out;
      const sent = this.conn.write(out.length === 1 ? head : out.length === 2 && typeof body === "string" ? head + body : out);
      flush(this.conn); // the request is whole and the answer is awaited: on its way now
      return sent;
    }
    if (this.state !== SENDING) {
      if (len === 0) return Promise.resolve(OK);
      return Promise.resolve([false, "stream.closewrite: the request is already complete"]);
    }
    this.state = SENT;
    if (this.framing === CHUNKED) return this.conn.write(len === 0 ? lastchunk(t) : [chunksize(len), body!, `\r\n${lastchunk(t)}`]);
    if (len !== this.left) throw new RangeError(`stream.closewrite: ${len} bytes, but ${this.left} of the content-length are owed`);
    this.left = 0;
    return len === 0 ? Promise.resolve(OK) : this.conn.write(body!);
  }

  /**
   * Wait for the response head (interim 1xx answers other than 101 are
   * skipped). Sends the request first if nothing was sent yet.
   */
  async readheader(): Promise<ReadHeaderResult> {
    if (this.res !== undefined) return [this.res, undefined];
    if (this.closed) return [undefined, "stream.readheader: the stream is closed"];
    if (this.state === HEAD) {
      const [, err] = await this.closewrite();
      if (err !== undefined && !this.mayretry()) return [undefined, `http: sending the request failed: ${err}`];
    }
    for (;;) {
      const r = await this.readresponse();
      if (r[0] !== undefined) return r;
      if (r[2] !== true || !this.mayretry()) return [undefined, r[1]];
      // The kept-alive connection had been closed by the server: once more on a fresh one.
      this.reused = false;
      this.link.wire.detach();
      this.link.conn.close();
      const [link, err] = await this.home!.redial();
      if (link === undefined) return [undefined, err];
      this.link = link;
      const [, werr] = await this.conn.write(this.replay!);
      if (werr !== undefined) return [undefined, `http: sending the request failed: ${werr}`];
    }
  }

  /**
   * May the request go out again on a fresh connection? Only when it went
   * out whole on a reused one and its method is idempotent (and, as
   * readresponse tells, nothing of a response came back).
   */
  private mayretry(): boolean {
    return this.reused && this.home !== undefined && this.replay !== undefined && IDEMPOTENT.has(this.method);
  }

  /** The response head, or an error; `true` third when the connection ended with nothing received. */
  private async readresponse(): Promise<[ResponseHead, undefined] | [undefined, string, boolean?]> {
    const { timeout, headerbytes, headercount } = this.conf;
    const wire = this.link.wire;
    for (let i = 0; i < MAXINTERIM; i++) {
      const [head, err, partial] = await wire.until(CRLFCRLF, headerbytes, timeout, timeout, false, undefined);
      if (head === undefined) {
        const f = wire.fail;
        if (f === FAIL_TIMEOUT || f === FAIL_IDLE) return [undefined, `http: timed out after ${timeout} ms waiting for the response`];
        if (f === FAIL_TOOLARGE) return [undefined, "http: response head too large"];
        const nothing = i === 0 && (partial === undefined || partial.length === 0);
        if (err === EOF) return [undefined, "http: connection closed before a response arrived", nothing];
        return [undefined, `http: reading the response failed: ${err}`, nothing];
      }
      if (head.length > headerbytes) return this.fail("http: response head too large");
      const res = parseresponse(head, headercount);
      if (typeof res === "string") return this.fail(`http: malformed response: ${res}`);
      if (res.status < 200 && res.status !== 101) continue;
      let framing: Framing = NOBODY;
      let length = 0;
      let limit = this.conf.body;
      if (res.status === 101) {
        this.upgraded = true;
        wire.detach();
      } else if (this.method === "CONNECT" && res.status < 300) {
        // A tunnel (RFC 9110 9.3.6): its bytes are the body both ways, until close().
        this.state = TUNNEL;
        framing = UNTILCLOSE;
        limit = Infinity;
      } else {
        const fr = responseframing(this.method, res);
        if (typeof fr === "string") return this.fail(`http: malformed response: ${fr}`);
        [framing, length] = fr;
        const c = res.header["connection"];
        const keeps = res.minor === 1 ? !hastoken(c, "close") : hastoken(c, "keep-alive");
        if (!keeps || framing === UNTILCLOSE) this.keepconn = false;
        if (this.conf.decompress && framing !== NOBODY && decodable(res.header["content-encoding"])) {
          this.decoder = new Decoder(res.header["content-encoding"]!, this.conf.body);
          delete res.header["content-encoding"];
          delete res.header["content-length"];
        }
      }
      const conf = { limit, timeout, headerbytes, headercount };
      this.reader = new BodyReader(this.conn, wire, framing, length, conf, undefined);
      this.status = res.status;
      this.header = res.header;
      this.res = { status: res.status, header: res.header };
      if (framing === NOBODY) this.settle();
      return [this.res, undefined];
    }
    return this.fail("http: too many interim (1xx) responses");
  }

  private fail(err: string): [undefined, string] {
    this.close();
    return [undefined, err];
  }

  /** The response is complete: the connection goes home if both sides allow it. */
  private settle(): void {
    if (this.released || this.upgraded || this.closed || this.state === TUNNEL) return;
    if (this.home === undefined || !this.keepconn || this.state !== SENT) return;
    this.released = true;
    this.home.keep(this.link, keepalivems(this.header?.["keep-alive"], this.idlems));
  }

  /** The reader's piece, or its end (which completes the response). */
  private async piece(r: BodyReader): Promise<ReadResult> {
    const res = await r.read();
    if (res[0] === undefined && res[1] === EOF && r.finished) this.settle();
    return res;
  }

  /** The next piece of the response body (decoded when asked), or `[undefined, errno.EOF]` after the last one. */
  async read(): Promise<ReadResult> {
    if (this.reader === undefined) {
      const [, err] = await this.readheader();
      if (err !== undefined) return [undefined, err];
    }
    const r = this.reader!;
    const d = this.decoder;
    if (d === undefined) return this.piece(r);
    const res = await d.read(() => this.piece(r));
    if (res[0] === undefined && res[1] !== EOF) this.close();
    return res;
  }

  /** The whole response body (reads the head first if needed). */
  async readall(): Promise<ReadAllResult> {
    if (this.reader === undefined) {
      const [, err] = await this.readheader();
      if (err !== undefined) return [undefined, err];
    }
    if (this.decoder === undefined) {
      const res = await this.reader!.readall();
      if (res[0] !== undefined && this.reader!.finished) this.settle();
      return res;
    }
    return collect(() => this.read());
  }

  /** Done with the stream: the connection is kept for reuse if the exchange completed, else closed (not after a 101). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder?.close();
    if (this.released || this.upgraded) return;
    this.link.wire.detach();
    this.link.conn.close();
  }
}
