// The HTTP/2 side of the client: node:http2 runs a session over a
// connection of ours whose ALPN settled on "h2" (http2.connect with the
// conn as its transport); each request is a stream on it, with the same
// ClientStream API as over HTTP/1.1. A session serves every request to its
// origin while it lives; it keeps the process alive only while a stream is
// open, and closes after a while without any.
import * as http2 from "node:http2";
import type { ClientHttp2Session, ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http2";
import type { Conn } from "silly/net/tcp";
import { ref } from "silly/net/protocol";
import { EOF } from "silly/errno";
import { NOEXTENDEDCONNECT } from "../types.js";
import type { Body, ClientStream, Header, HeaderInput, ReadAllResult, ReadHeaderResult, ReadResult, ResponseHead, WriteResult } from "../types.js";
import type { Tunnel } from "../protocol.js";
import { bodylength, checkbody, checktrailer } from "../outgoing.js";
import { ACCEPT, Decoder, decodable } from "../decode.js";
import { OK, collect } from "../results.js";
import type { ClientConf } from "../h1/client.js";
import { duplexof, widen } from "./duplex.js";
import { Inbound } from "./inbound.js";
import { RESET, send } from "./outbound.js";
import { toheader, trailerfields } from "./fields.js";
import { H2Tunnel } from "./tunnel.js";
import { OPENTUNNEL } from "../opentunnel.js";

const { NGHTTP2_CANCEL } = http2.constants;
/** Methods that define no request content: no content-length: 0 for them. */
const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);

function noop(): void {}

/** An HTTP/2 session to one origin, shared by its requests. */
export class H2Session {
  readonly conn: Conn;
  private readonly session: ClientHttp2Session;
  private streams = 0;
  /** Requests handed this session that have not opened their stream yet (reserve). */
  private pending = 0;
  private gone = false;
  private readonly once: boolean;
  private readonly settings: Promise<void>;

  /** `once`: the session carries one stream, then closes (a request that is not to reuse connections). */
  constructor(conn: Conn, authority: string, limits: { headerbytes: number; headercount: number }, once: boolean, idlems: number, ongone: () => void) {
    this.once = once;
    this.conn = conn;
    const duplex = duplexof(conn, true, () => this.session.destroy());
    const session = (this.session = http2.connect(authority, {
      createConnection: () => duplex,
      settings: { enablePush: false, maxHeaderListSize: limits.headerbytes },
      maxHeaderListPairs: limits.headercount + 8,
    }));
    const end = (): void => {
      if (this.gone) return;
      this.gone = true;
      ongone();
    };
    session.on("error", noop);
    widen(session);
    session.on("goaway", end);
    session.on("close", () => {
      end();
      conn.close();
    });
    // Unused for idlems: close (gracefully; a stream opened meanwhile finishes).
    session.setTimeout(idlems, () => {
      if (this.streams === 0) session.close();
    });
    this.settings = new Promise((resolve) => {
      session.once("remoteSettings", () => resolve());
      session.once("close", () => resolve());
    });
    ref(conn, false);
  }

  /**
   * Can it carry another request? Not past the server's
   * SETTINGS_MAX_CONCURRENT_STREAMS: a request then waits for no stream,
   * the origin gets another connection.
   */
  usable(): boolean {
    const full = this.streams + this.pending >= (this.session.remoteSettings.maxConcurrentStreams ?? Infinity);
    return !full && !this.gone && !this.session.closed && !this.session.destroyed && this.conn.isalive();
  }

  /** A request holds a place for its stream until it opens it or gives up (release). */
  reserve(): void {
    this.pending++;
  }

  release(): void {
    this.pending--;
  }

  /** Does the server take extended CONNECT (RFC 8441)? Waits for its first SETTINGS. */
  async extendedconnect(): Promise<boolean> {
    await this.settings;
    return this.session.remoteSettings.enableConnectProtocol === true;
  }

  /** Open a stream; the session keeps the process alive while any is open. */
  open(headers: OutgoingHttpHeaders, endStream: boolean, waitForTrailers: boolean): ClientHttp2Stream | string {
    let st: ClientHttp2Stream;
    try {
      st = this.session.request(headers, { endStream, waitForTrailers });
    } catch (err) {
      return `http: cannot open an HTTP/2 stream: ${(err as Error).message}`;
    }
    st.on("error", noop);
    if (this.streams++ === 0) ref(this.conn, true);
    st.once("close", () => {
      if (--this.streams > 0) return;
      ref(this.conn, false);
      if (this.once) this.close();
    });
    return st;
  }

  close(): void {
    this.gone = true;
    this.session.close();
  }
}

/** One request on an HTTP/2 session. */
export class H2Client implements ClientStream {
  readonly method: string;
  readonly version = "HTTP/2";
  status: number | undefined = undefined;
  header: Header | undefined = undefined;
  trailer: Header | undefined = undefined;

  private readonly h2: H2Session;
  private readonly base: OutgoingHttpHeaders; // pseudo-fields and fields; framing still to add
  private readonly hlength: number;
  private readonly conf: ClientConf;
  private readonly protocol: string | undefined;
  private st: ClientHttp2Stream | undefined = undefined;
  private inbound: Inbound | undefined = undefined;
  private decoder: Decoder | undefined = undefined;
  private response: Promise<ResponseHead | string> | undefined = undefined;
  private res: ResponseHead | undefined = undefined;
  private left = -1;
  private sent = false;
  private endtrailer: OutgoingHttpHeaders = {};
  private closed = false;
  private reserved = true;

  /** @internal */
  constructor(h2: H2Session, method: string, u: URL, fields: Record<string, string | string[]>, hlength: number, protocol: string | undefined, conf: ClientConf) {
    this.h2 = h2;
    this.method = method;
    this.hlength = hlength;
    this.protocol = protocol;
    this.conf = conf;
    const h: OutgoingHttpHeaders = { ...fields, ":method": method, ":authority": typeof fields["host"] === "string" ? fields["host"] : u.host };
    delete h["host"];
    // A plain CONNECT names its target by :authority alone (RFC 9113 8.5); an extended one is a request to a path.
    if (method !== "CONNECT" || protocol !== undefined) {
      h[":scheme"] = u.protocol === "http:" || u.protocol === "ws:" ? "http" : "https";
      h[":path"] = `${u.pathname === "" ? "/" : u.pathname}${u.search}`;
    }
    if (protocol !== undefined) h[":protocol"] = protocol;
    if (conf.decompress && h["accept-encoding"] === undefined) h["accept-encoding"] = ACCEPT;
    this.base = h;
    h2.reserve();
  }

  /** The session's place for this request is taken by its stream, or no longer needed. */
  private release(): void {
    if (this.reserved) this.h2.release();
    this.reserved = false;
  }

  /** The connection, shared by every stream of the session. */
  get conn(): Conn {
    return this.h2.conn;
  }

  /** Open the stream with its head; `len` is the whole body's size when known. */
  private start(len: number, end: boolean, trailers: boolean): ClientHttp2Stream | string {
    const h = this.base;
    if (this.hlength >= 0) {
      h["content-length"] = this.hlength;
      this.left = this.hlength;
    } else if (len >= 0 && !trailers && (len > 0 || !BODYLESS.has(this.method))) {
      h["content-length"] = len;
    }
    this.release();
    const st = this.h2.open(h, end, !end && (len < 0 || trailers));
    if (typeof st === "string") return st;
    this.st = st;
    this.inbound = new Inbound(st);
    st.on("trailers", (t: IncomingHttpHeaders) => (this.trailer = toheader(t)));
    st.once("wantTrailers", () => st.sendTrailers(this.endtrailer));
    this.response = new Promise((resolve) => {
      st.once("response", (headers: IncomingHttpHeaders) => {
        const status = Number(headers[":status"]);
        resolve({ status, header: toheader(headers) });
      });
      st.once("close", () => resolve("http: the HTTP/2 stream closed before a response arrived"));
    });
    return st;
  }

  /** Send a piece of the request body (the head first). */
  write(data: Body): Promise<WriteResult> {
    checkbody(data, "stream.write");
    if (this.sent) return Promise.resolve([false, "stream.write: the request is already complete"]);
    let st = this.st;
    if (st === undefined) {
      const s = this.start(-1, false, false);
      if (typeof s === "string") return Promise.resolve([false, s]);
      st = s;
    }
    const len = bodylength(data);
    if (this.left >= 0) {
      if (len > this.left) throw new RangeError(`stream.write: ${len} bytes exceed the content-length (${this.left} left)`);
      this.left -= len;
    }
    if (len === 0) return Promise.resolve(OK);
    return send(st, data);
  }

  /** Finish the request with `body` as its last piece and `trailer` fields after it. */
  closewrite(body?: Body, trailer?: HeaderInput): Promise<WriteResult> {
    if (body !== undefined) checkbody(body, "stream.closewrite");
    const t = trailer === undefined ? undefined : checktrailer(trailer, "stream.closewrite");
    const len = body === undefined ? 0 : bodylength(body);
    if (this.sent) {
      if (len === 0) return Promise.resolve(OK);
      return Promise.resolve([false, "stream.closewrite: the request is already complete"]);
    }
    const trailers = t !== undefined && t.length > 0;
    let st = this.st;
    if (st === undefined) {
      if (this.hlength >= 0 && len !== this.hlength) throw new RangeError(`stream.closewrite: ${len} bytes, but the content-length is ${this.hlength}`);
      // A tunnel's request stays open: its body is what write() sends once the server said yes.
      const tunnel = this.method === "CONNECT";
      const s = this.start(len, len === 0 && !trailers && !tunnel, trailers);
      if (typeof s === "string") return Promise.resolve([false, s]);
      st = s;
      if (tunnel) return Promise.resolve(OK);
    } else if (this.left >= 0 && len !== this.left) {
      throw new RangeError(`stream.closewrite: ${len} bytes, but ${this.left} of the content-length are owed`);
    }
    this.sent = true;
    this.endtrailer = trailerfields(t);
    if (st.destroyed) return Promise.resolve(RESET);
    if (!st.writableEnded) {
      if (len > 0) st.end(body);
      else st.end();
    }
    return Promise.resolve(OK);
  }

  /** Wait for the response head (1xx answers are skipped); sends the request first if nothing was sent. */
  async readheader(): Promise<ReadHeaderResult> {
    if (this.res !== undefined) return [this.res, undefined];
    if (this.closed) return [undefined, "stream.readheader: the stream is closed"];
    if (this.protocol !== undefined && this.st === undefined && !(await this.h2.extendedconnect())) {
      return [undefined, NOEXTENDEDCONNECT];
    }
    if (this.st === undefined) {
      const [, err] = await this.closewrite();
      if (err !== undefined) return [undefined, err];
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = this.conf.timeout;
    const r = await Promise.race([
      this.response!,
      new Promise<string>((resolve) => (timer = setTimeout(resolve, timeout, `http: timed out after ${timeout} ms waiting for the response`))),
    ]);
    clearTimeout(timer);
    if (typeof r === "string") {
      this.close();
      return [undefined, r];
    }
    if (this.conf.decompress && decodable(r.header["content-encoding"]) && this.method !== "HEAD") {
      this.decoder = new Decoder(r.header["content-encoding"]!, this.conf.body);
      delete r.header["content-encoding"];
      delete r.header["content-length"];
    }
    this.status = r.status;
    this.header = r.header;
    this.res = r;
    return [r, undefined];
  }

  /** Past a 2xx to CONNECT the body is the tunnel's: no size limit. */
  private limit(): number {
    return this.method === "CONNECT" && this.status !== undefined && this.status < 300 ? Infinity : this.conf.body;
  }

  private async piece(): Promise<ReadResult> {
    const r = await this.inbound!.next(this.limit(), this.conf.timeout);
    if (r[0] !== undefined) return r;
    if (r[1] !== EOF) this.close();
    return [undefined, r[1]];
  }

  /** The next piece of the response body (decoded when asked), or `[undefined, errno.EOF]` after the last one. */
  async read(): Promise<ReadResult> {
    if (this.res === undefined) {
      const [, err] = await this.readheader();
      if (err !== undefined) return [undefined, err];
    }
    const d = this.decoder;
    if (d === undefined) return this.piece();
    const res = await d.read(() => this.piece());
    if (res[0] === undefined && res[1] !== EOF) this.close();
    return res;
  }

  /** The whole response body (reads the head first if needed). */
  async readall(): Promise<ReadAllResult> {
    return collect(() => this.read());
  }

  /** @internal After a 2xx to CONNECT: the stream as a byte stream for a protocol layer (protocol.tunnel); close() leaves it alone from then on. */
  [OPENTUNNEL](): Tunnel {
    const st = this.st;
    const ok = this.method === "CONNECT" && this.status !== undefined && this.status >= 200 && this.status < 300;
    if (!ok || st === undefined || this.closed) throw new TypeError("protocol.tunnel: only after a 2xx answer to CONNECT, once");
    if (this.inbound!.started) throw new TypeError("protocol.tunnel: the tunnel's bytes were read with read() already");
    this.closed = true;
    return new H2Tunnel(st, this.h2.conn);
  }

  /** Done with the stream: it is reset if the exchange is unfinished; the session stays for other requests. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.decoder?.close();
    const st = this.st;
    if (st !== undefined && !st.closed && !st.destroyed) st.close(NGHTTP2_CANCEL);
  }
}
