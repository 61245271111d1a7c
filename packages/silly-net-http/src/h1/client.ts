// The HTTP/1.1 client: one connection per request (no pooling). request()
// connects and returns a ClientStream; get() and post() run a whole exchange.
import { EOF, RESOLVE, TLS } from "silly/errno";
import tcp from "silly/net/tcp";
import type { Conn } from "silly/net/tcp";
import tls from "silly/net/tls";
import type { Pem } from "silly/net/tls";
import type { Body, Header, HeaderInput, ReadAllResult, ReadResult, WriteResult } from "../types.js";
import { CHUNKED, FIXED, NOBODY, parseresponse, responseframing } from "./parse.js";
import type { Framing } from "./parse.js";
import { bodylength, chunksize, newscan, scanheaders } from "./head.js";
import type { Scan } from "./head.js";
import { LASTCHUNK } from "./chunked.js";
import { BodyReader } from "./body.js";
import { FAIL_IDLE, FAIL_TIMEOUT, FAIL_TOOLARGE, Wire } from "./wire.js";

export interface RequestOptions {
  /** Ms allowed for connecting (TCP and TLS), and for each wait on the response. Default 60 s. */
  timeout?: number;
  /** Extra trust anchors (PEM) for https, e.g. a test CA. */
  ca?: Pem | readonly Pem[];
  /** The TLS name to send (SNI) and to check the certificate against. Default: the URL's host. */
  hostname?: string;
  /** Check the server's certificate (default true). */
  verify?: boolean;
  /** ALPN protocols to offer over TLS. Default ["http/1.1"]. */
  alpnprotos?: readonly string[];
  /** Bounds on the response: head bytes (default 64 KiB), header count (100), body bytes (64 MiB). */
  limits?: { headerbytes?: number; headercount?: number; body?: number };
}

/** The status and header fields of a response. */
export interface ResponseHead {
  status: number;
  header: Header;
}

/** A whole response, from get() and post(). */
export interface Response {
  status: number;
  header: Header;
  body: Buffer;
}

export type RequestResult = [ClientStream, undefined] | [undefined, string];
export type ReadHeaderResult = [ResponseHead, undefined] | [undefined, string];
export type FetchResult = [Response, undefined] | [undefined, string];

const CRLFCRLF = Buffer.from("\r\n\r\n");
const DEFAULT_TIMEOUT = 60_000;
const MAXINTERIM = 16;
/** Methods that define no request content: no Content-Length: 0 when they are sent without a body. */
const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);

// Request states.
const HEAD = 0; // head not sent yet
const SENDING = 1; // body under way
const SENT = 2; // request complete

interface Conf {
  timeout: number;
  headerbytes: number;
  headercount: number;
  body: number;
}

/**
 * A request in flight. The request head is held back until the first
 * write() or closewrite(), so closewrite(body) sends a Content-Length and a
 * bodyless request sends no body framing at all.
 */
export class ClientStream {
  /** The connection; after a 101 answer it is the caller's (close() leaves it open). */
  readonly conn: Conn;
  readonly method: string;
  readonly version = "HTTP/1.1";
  /** The response status, once readheader() succeeded. */
  status: number | undefined = undefined;
  /** The response header fields, once readheader() succeeded. */
  header: Header | undefined = undefined;

  private readonly wire: Wire;
  private readonly conf: Conf;
  private readonly head: string; // request line, host, fields; framing still to add
  private readonly hlength: number;
  private readonly hchunked: boolean;
  private state = HEAD;
  private framing: Framing = NOBODY;
  private left = 0;
  private reader: BodyReader | undefined = undefined;
  private res: ResponseHead | undefined = undefined;
  private upgraded = false;
  private closed = false;

  /** @internal */
  constructor(conn: Conn, method: string, head: string, hlength: number, hchunked: boolean, conf: Conf) {
    this.conn = conn;
    this.method = method;
    this.head = head;
    this.hlength = hlength;
    this.hchunked = hchunked;
    this.conf = conf;
    this.wire = new Wire(conn);
  }

  /** Trailer fields of a chunked response, once its body has been read to the end. */
  get trailer(): Header | undefined {
    return this.reader?.trailer;
  }

  private sendhead(len: number): string {
    let fields: string;
    if (this.hlength >= 0) {
      fields = `Content-Length: ${this.hlength}\r\n`;
      this.framing = FIXED;
      this.left = this.hlength;
    } else if (len >= 0 && !this.hchunked) {
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
    let head = "";
    if (this.state === HEAD) {
      head = this.sendhead(-1);
      this.state = SENDING;
    } else if (this.state !== SENDING) {
      return Promise.resolve([false, "stream.write: the request is already complete"]);
    }
    const len = bodylength(data);
    if (this.framing === CHUNKED) {
      if (len === 0) return head === "" ? Promise.resolve([true, undefined]) : this.conn.write(head);
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
   * Finish the request with `body` as its last piece. With nothing sent
   * before, the head goes out with Content-Length (none at all for a
   * bodyless GET), head and body in one write.
   */
  closewrite(body?: Body): Promise<WriteResult> {
    if (body !== undefined) checkbody(body, "stream.closewrite");
    const len = body === undefined ? 0 : bodylength(body);
    if (this.state === HEAD) {
      const head = this.sendhead(len);
      if (this.framing === FIXED && len !== this.left) {
        throw new RangeError(`stream.closewrite: ${len} bytes, but the content-length is ${this.left}`);
      }
      this.state = SENT;
      this.left = 0;
      if (len === 0) return this.conn.write(head);
      return this.conn.write(typeof body === "string" ? head + body : [head, body!]);
    }
    if (this.state !== SENDING) {
      if (len === 0) return Promise.resolve([true, undefined]);
      return Promise.resolve([false, "stream.closewrite: the request is already complete"]);
    }
    this.state = SENT;
    if (this.framing === CHUNKED) return this.conn.write(len === 0 ? LASTCHUNK : [chunksize(len), body!, "\r\n", LASTCHUNK]);
    if (len !== this.left) throw new RangeError(`stream.closewrite: ${len} bytes, but ${this.left} of the content-length are owed`);
    this.left = 0;
    return len === 0 ? Promise.resolve([true, undefined]) : this.conn.write(body!);
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
      if (err !== undefined) return [undefined, `http: sending the request failed: ${err}`];
    }
    const { timeout, headerbytes, headercount } = this.conf;
    for (let i = 0; i < MAXINTERIM; i++) {
      const [head, err] = await this.wire.until(CRLFCRLF, headerbytes, timeout, timeout, false, undefined);
      if (head === undefined) {
        const f = this.wire.fail;
        if (f === FAIL_TIMEOUT || f === FAIL_IDLE) return [undefined, `http: timed out after ${timeout} ms waiting for the response`];
        if (f === FAIL_TOOLARGE) return [undefined, "http: response head too large"];
        if (err === EOF) return [undefined, "http: connection closed before a response arrived"];
        return [undefined, `http: reading the response failed: ${err}`];
      }
      if (head.length > headerbytes) return this.fail("http: response head too large");
      const res = parseresponse(head, headercount);
      if (typeof res === "string") return this.fail(`http: malformed response: ${res}`);
      if (res.status < 200 && res.status !== 101) continue;
      let framing: Framing = NOBODY;
      let length = 0;
      if (res.status === 101) {
        this.upgraded = true;
        this.wire.detach();
      } else {
        const fr = responseframing(this.method, res);
        if (typeof fr === "string") return this.fail(`http: malformed response: ${fr}`);
        [framing, length] = fr;
      }
      const conf = { limit: this.conf.body, timeout, headerbytes, headercount };
      this.reader = new BodyReader(this.conn, this.wire, framing, length, conf, undefined);
      this.status = res.status;
      this.header = res.header;
      this.res = { status: res.status, header: res.header };
      return [this.res, undefined];
    }
    return this.fail("http: too many interim (1xx) responses");
  }

  private fail(err: string): [undefined, string] {
    this.close();
    return [undefined, err];
  }

  /** The next piece of the response body, or `[undefined, errno.EOF]` after the last one. */
  async read(): Promise<ReadResult> {
    if (this.reader === undefined) {
      const [, err] = await this.readheader();
      if (err !== undefined) return [undefined, err];
    }
    return this.reader!.read();
  }

  /** The whole response body (reads the head first if needed). */
  async readall(): Promise<ReadAllResult> {
    if (this.reader === undefined) {
      const [, err] = await this.readheader();
      if (err !== undefined) return [undefined, err];
    }
    return this.reader!.readall();
  }

  /** Close the connection, unless a 101 answer handed it to the caller. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.upgraded) return;
    this.wire.detach();
    this.conn.close();
  }
}

/**
 * Connect to the URL's host and prepare a request. Resolves to the stream
 * (nothing is sent until write/closewrite/readheader) or `[undefined, err]`
 * naming the cause (bad URL, DNS, connect, TLS, timeout).
 */
export function request(method: string, url: string, headers?: HeaderInput, opts?: RequestOptions): Promise<RequestResult> {
  // Argument checks throw here, synchronously (programmer errors); everything after is a value.
  if (typeof method !== "string" || !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(method)) {
    throw new TypeError(`http.request: invalid method ${JSON.stringify(method)}`);
  }
  if (typeof url !== "string") throw new TypeError("http.request: url must be a string");
  const o = opts ?? {};
  const timeout = o.timeout ?? DEFAULT_TIMEOUT;
  if (typeof timeout !== "number" || !(timeout > 0)) throw new RangeError(`http.request: timeout must be a number of ms > 0, got ${String(timeout)}`);
  if (o.limits !== undefined) {
    for (const [k, v] of Object.entries(o.limits)) {
      if (v !== undefined && (typeof v !== "number" || !(v > 0))) throw new RangeError(`http.request: limits.${k} must be a number > 0`);
    }
  }
  const scan = newscan();
  scanheaders(headers, false, scan, "http.request");
  if (scan.chunked && scan.length >= 0) throw new TypeError("http.request: both content-length and transfer-encoding given");
  return open(method, url, scan, o, timeout);
}

async function open(method: string, url: string, scan: Scan, o: RequestOptions, timeout: number): Promise<RequestResult> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return [undefined, `http.request: invalid URL ${JSON.stringify(url)}`];
  }
  const proto = u.protocol;
  const secure = proto === "https:" || proto === "wss:";
  if (!secure && proto !== "http:" && proto !== "ws:") {
    return [undefined, `http.request: unsupported URL scheme ${JSON.stringify(proto)} (want http: or https:)`];
  }
  const port = u.port === "" ? (secure ? 443 : 80) : Number(u.port);
  const addr = `${u.hostname}:${port}`;
  const path = `${u.pathname === "" ? "/" : u.pathname}${u.search}`;
  const connection = scan.connection ?? "close";
  const head = `${method} ${path} HTTP/1.1\r\nHost: ${scan.host ?? u.host}\r\n${scan.lines}Connection: ${connection}\r\n`;
  const [conn, err] = secure
    ? await tls.connect(addr, {
        hostname: o.hostname,
        ca: o.ca,
        verify: o.verify,
        alpnprotos: o.alpnprotos ?? ["http/1.1"],
        timeout,
      })
    : await tcp.connect(addr, { timeout });
  if (conn === undefined) return [undefined, connecterror(u.hostname, addr, err)];
  if (conn.alpnproto !== undefined && conn.alpnproto !== "http/1.1") {
    conn.close();
    return [undefined, `http.request: the server chose ALPN protocol ${conn.alpnproto}; only http/1.1 is spoken`];
  }
  const limits = o.limits ?? {};
  const conf: Conf = {
    timeout,
    headerbytes: limits.headerbytes ?? 64 * 1024,
    headercount: limits.headercount ?? 100,
    body: limits.body ?? 64 * 1024 * 1024,
  };
  return [new ClientStream(conn, method, head, scan.length, scan.chunked, conf), undefined];
}

function connecterror(host: string, addr: string, err: string): string {
  if (err === RESOLVE) return `http.request: cannot resolve ${host}: ${err}`;
  if (err.startsWith(TLS)) return `http.request: TLS with ${addr} failed: ${err}`;
  return `http.request: connect to ${addr} failed: ${err}`;
}

/** Send a request with `body` (or none) and read the whole response. */
function exchange(method: string, url: string, headers: HeaderInput | undefined, body: Body | undefined, opts: RequestOptions | undefined): Promise<FetchResult> {
  const started = request(method, url, headers, opts); // throws for bad arguments
  return finishexchange(started, body);
}

async function finishexchange(started: Promise<RequestResult>, body: Body | undefined): Promise<FetchResult> {
  const [s, err] = await started;
  if (s === undefined) return [undefined, err];
  try {
    let werr: string | undefined;
    try {
      [, werr] = await s.closewrite(body);
    } catch (e) {
      return [undefined, (e as Error).message]; // a content-length that does not match the body
    }
    const [res, rerr] = await s.readheader();
    if (res === undefined) return [undefined, werr !== undefined ? `http: sending the request failed: ${werr}` : rerr];
    const [data, berr] = await s.readall();
    if (data === undefined) return [undefined, berr];
    return [{ status: res.status, header: res.header, body: data }, undefined];
  } finally {
    s.close();
  }
}

/** GET `url`; resolves to `{ status, header, body }` or `[undefined, err]`. */
export function get(url: string, headers?: HeaderInput, opts?: RequestOptions): Promise<FetchResult> {
  return exchange("GET", url, headers, undefined, opts);
}

/** POST `body` to `url` (Content-Length is set); resolves like get(). */
export function post(url: string, headers?: HeaderInput, body?: Body, opts?: RequestOptions): Promise<FetchResult> {
  if (body !== undefined) checkbody(body, "http.post");
  return exchange("POST", url, headers, body, opts);
}

function checkbody(b: unknown, who: string): void {
  if (typeof b !== "string" && !(b instanceof Uint8Array)) throw new TypeError(`${who}: body must be a string or a Uint8Array`);
}
