// HTTP/2 on a TLS connection whose ALPN settled on "h2": node:http2 runs the
// protocol (http2.performServerHandshake over a Duplex fed from the Conn),
// and every stream reaches the handler as an H2Stream with the same API as
// the HTTP/1.x stream, each in its own task.
//
// CONNECT streams (RFC 9113 8.5) and extended CONNECT (RFC 8441, with a
// :protocol; announced unless the server was listened with extendedconnect:
// false) reach the handler like any other: a 2xx answer makes the stream's
// body, both ways, the tunnel (stream.protocol says what an extended CONNECT
// asks for), and protocol.tunnel(stream) hands it to a protocol layer. That
// is the one place a protocol carried over HTTP/2 takes a stream over.
import * as http2 from "node:http2";
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from "node:http2";
import { EOF } from "silly/errno";
import { error as logerror } from "silly/logger";
import { fork } from "silly/task";
import type { Conn } from "silly/net/tcp";
import type { Body, Header, HeaderInput, ReadAllResult, ReadResult, WriteResult } from "../types.js";
import type { Tunnel } from "../protocol.js";
import type { Live, ServerConf } from "../serve.js";
import { describe, runhandler } from "../serve.js";
import { DEFERRED, Exchange, FAILED, SENDING, UPGRADED } from "../response.js";
import { OK_P } from "../results.js";
import { H2, bodyallowed, httpdate, newscan, scanheaders } from "../outgoing.js";
import type { Scan } from "../outgoing.js";
import { parsetarget } from "../url.js";
import type { Target } from "../url.js";
import { duplexof, widen } from "./duplex.js";
import { toheader, trailerfields } from "./fields.js";
import { Inbound } from "./inbound.js";
import { RESET, send } from "./outbound.js";
import { H2Tunnel } from "./tunnel.js";
import { OPENTUNNEL } from "../opentunnel.js";

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;
/** RFC 9113 6.5.2: each field counts its name, its value and 32 bytes. */
const FIELD_OVERHEAD = 32;

function noop(): void {}

/**
 * The session's limits. node:http2 resets a stream whose header section
 * passes what it was told, so it is told twice our limits: up to there the
 * handler's side answers 431 itself (onstream).
 */
function sessionoptions(conf: ServerConf): http2.ServerSessionOptions {
  const { limits } = conf;
  return {
    settings: {
      maxHeaderListSize: 2 * limits.headerbytes,
      maxConcurrentStreams: 128,
      enableConnectProtocol: conf.extendedconnect,
    },
    maxHeaderListPairs: 2 * limits.headercount + 8, // pseudo-header fields count too
  };
}

/** Serve an HTTP/2 connection. The conn's bytes go to node:http2 from now on. */
export function serveh2(conn: Conn, conf: ServerConf): void {
  let session: ServerHttp2Session | undefined;
  const duplex = duplexof(conn, false, () => session?.destroy());
  try {
    session = http2.performServerHandshake(duplex, sessionoptions(conf));
  } catch (err) {
    logerror("http: HTTP/2 handshake with %s failed: %s", conn.remoteaddr, describe(err));
    conn.close();
    return;
  }
  const live: Live = { closeidle: () => session.close() };
  conf.sessions.add(live);
  session.on("error", noop);
  widen(session);
  session.on("close", () => {
    conf.sessions.delete(live);
    conn.close();
  });
  // No frames for timeouts.idle: close (gracefully: open streams finish).
  session.setTimeout(conf.timeouts.idle, () => session.close());
  session.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
    stream.on("error", noop);
    try {
      onstream(conn, conf, stream, headers, raw);
    } catch (err) {
      logerror("http: HTTP/2 stream from %s failed: %s", conn.remoteaddr, describe(err));
      stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  });
  if (conf.closing) session.close();
}

function onstream(conn: Conn, conf: ServerConf, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[]): void {
  const { limits } = conf;
  const refuse = (status: number, why: string): void => {
    stream.respond({ ":status": status, "content-type": "text/plain; charset=utf-8" });
    stream.end(`${why}\n`);
  };
  let size = 0;
  for (let i = 0; i < raw.length; i++) size += raw[i]!.length;
  if (size + FIELD_OVERHEAD * (raw.length >> 1) > limits.headerbytes) return refuse(431, "request header section too large");
  let pseudo = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.charCodeAt(0) === 58 /* : */) pseudo++;
  if ((raw.length >> 1) - pseudo > limits.headercount) return refuse(431, "too many header fields");
  const method = common(String(headers[":method"] ?? ""));
  const target = headers[":path"] ?? (method === "CONNECT" ? headers[":authority"] : undefined);
  if (typeof target !== "string" || target === "") return refuse(400, "missing :path");
  if (target.length > limits.requestline) return refuse(414, "request target too long");
  const tgt = parsetarget(method, target);
  if (typeof tgt === "string") return refuse(400, tgt);
  const cl = headers["content-length"];
  if (cl !== undefined && Number(cl) > limits.body) return refuse(413, "request body too large");
  const protocol = headers[":protocol"];
  fork(runhandler, new H2Stream(conn, conf, stream, headers, method, target, tgt, typeof protocol === "string" ? common(protocol) : undefined));
}

/** Methods and protocols every stream may share: node:http2 gives each stream copies of its own, which a long-lived stream would keep. */
const COMMON = new Map(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "PATCH", "websocket"].map((s) => [s, s]));

function common(s: string): string {
  return COMMON.get(s) ?? s;
}

/** The H2Stream of a node:http2 stream, for listeners that every stream shares. */
const OWNER = Symbol("H2Stream");
type OwnedStream = ServerHttp2Stream & { [OWNER]?: H2Stream };

function ontrailers(this: OwnedStream, t: IncomingHttpHeaders): void {
  this[OWNER]!.trailer = toheader(t);
}

/** What a stream whose tunnel opened keeps in place of the request's fields and those it answered. */
const NONE: Record<string, never> = Object.freeze({});

/** One HTTP/2 request and its response. */
export class H2Stream extends Exchange {
  protected readonly mode = H2;
  /** Trailer fields of the request body, once it has been read to its end. */
  trailer: Header | undefined = undefined;

  private readonly stream: OwnedStream;
  // The request's fields as node:http2 gave them, till a tunnel opens: the
  // tunnel keeps only their Header (what stream.header returns).
  private headers: IncomingHttpHeaders;
  private hdr: Header | undefined = undefined;
  private fields: OutgoingHttpHeaders = {};
  private short = false; // cut(): the body ended before its content-length
  private endtrailer: OutgoingHttpHeaders | undefined = undefined; // what 'wantTrailers' sends
  private inbound: Inbound | undefined = undefined; // on the first read
  private continued = false;

  /** @internal */
  constructor(conn: Conn, conf: ServerConf, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, method: string, raw: string, target: Target, protocol: string | undefined) {
    super(conf, conn, method, raw, target, "HTTP/2", protocol);
    this.stream = stream;
    this.headers = headers;
    this.stream[OWNER] = this;
    stream.on("trailers", ontrailers);
  }

  get header(): Header {
    return (this.hdr ??= toheader(this.headers));
  }

  protected keep(scan: Scan): void {
    this.fields = scan.fields;
  }

  protected interim(status: number, headers: HeaderInput | undefined): Promise<WriteResult> {
    if (status === 101) throw new Error("stream.respond: 101 (upgrade) is not possible over HTTP/2");
    scanheaders(headers, H2, INTERIM, "stream.respond");
    if (!this.stream.headersSent && !this.stream.destroyed) this.stream.additionalHeaders({ ...INTERIM.fields, ":status": status });
    if (status === 100) this.continued = true;
    return OK_P;
  }

  protected start(len: number, trailers: boolean): void {
    const h = this.fields;
    const status = this.status;
    h[":status"] = status;
    if (!this.hdate) h["date"] = httpdate();
    this.nobody = this.method === "HEAD" || !bodyallowed(status);
    if (this.tunnel) return; // no content-length in a 2xx to CONNECT (RFC 9110 9.3.6)
    if (this.hlength >= 0) {
      if (status !== 204) h["content-length"] = this.hlength;
      if (!this.nobody) this.left = this.hlength;
    } else if (len >= 0 && bodyallowed(status) && !trailers) {
      h["content-length"] = len;
    }
  }

  protected emit(head: boolean, data: Body | undefined, _len: number, last: boolean, trailer: [string, string][] | undefined): Promise<WriteResult> {
    const st = this.stream;
    if (st.destroyed) return Promise.resolve(RESET);
    if (head) {
      const endstream = this.nobody || (last && data === undefined && trailer === undefined && !this.short);
      // A body under way may end with trailers: node:http2 then asks for them (or for none) at its end.
      // A tunnel ends with END_STREAM on its data, as a TCP stream ends with a FIN.
      const wait = !endstream && !this.tunnel && (!last || trailer !== undefined);
      st.respond(this.fields, { endStream: endstream, waitForTrailers: wait });
      this.fields = NONE; // node:http2 keeps its own copy (stream.sentHeaders)
      if (wait) st.once("wantTrailers", () => st.sendTrailers(this.endtrailer ?? {}));
    }
    if (this.nobody) return OK_P;
    if (last) {
      if (this.short) {
        st.close(NGHTTP2_CANCEL); // the body falls short of its content-length
        return OK_P;
      }
      this.endtrailer = trailerfields(trailer);
      if (data !== undefined) st.end(data);
      else st.end();
      return OK_P;
    }
    return data === undefined ? OK_P : send(st, data);
  }

  protected cut(): void {
    this.short = true;
    if (this.state === FAILED && !this.stream.destroyed) this.stream.close(NGHTTP2_INTERNAL_ERROR);
  }

  protected refuse(status: number, why: string): void {
    const st = this.stream;
    if (st.destroyed) return;
    if (st.headersSent) {
      st.close(NGHTTP2_CANCEL);
      return;
    }
    st.respond({ ":status": status, "content-type": "text/plain; charset=utf-8" });
    st.end(`${why}\n`);
  }

  protected after(): void {
    this.settle();
  }

  /** The body reader; the first read sends 100 Continue when the client waits for it. */
  private body(): Inbound {
    if (this.headers["expect"] === "100-continue" && !this.continued && this.state <= DEFERRED) {
      this.continued = true;
      if (!this.stream.headersSent) this.stream.additionalHeaders({ ":status": 100 });
    }
    return (this.inbound ??= new Inbound(this.stream));
  }

  /** Past a 2xx to CONNECT the body is the tunnel's: no size limit. */
  private limit(): number {
    return this.tunnel && this.state >= SENDING ? Infinity : this.conf.limits.body;
  }

  /**
   * @internal After a 2xx to CONNECT: the stream as a byte stream for a
   * protocol layer (protocol.tunnel). The response is then the tunnel's: the
   * handler's return leaves it open.
   */
  [OPENTUNNEL](): Tunnel {
    if (!this.tunnel || this.state !== SENDING) throw new TypeError("protocol.tunnel: only after a 2xx answer to CONNECT, once");
    if (this.inbound?.started) throw new TypeError("protocol.tunnel: the tunnel's bytes were read with read() already");
    this.state = UPGRADED;
    this.hdr ??= toheader(this.headers);
    this.headers = NONE;
    return new H2Tunnel(this.stream, this.conn);
  }

  async read(): Promise<ReadResult> {
    const r = await this.body().next(this.limit(), this.conf.timeouts.body);
    if (r[0] !== undefined) return r;
    if (r[1] !== EOF) this.bodyfailed(r[2], r[1]);
    return [undefined, r[1]];
  }

  async readall(): Promise<ReadAllResult> {
    const r = await this.body().all(this.limit(), this.conf.timeouts.body);
    if (r[0] !== undefined) return r;
    this.bodyfailed(r[2], r[1]);
    return [undefined, r[1]];
  }

  /**
   * A request body nobody read to its end: drop the rest as it arrives (so
   * flow control lets the client finish and the stream can close), but give
   * the client no more than timeouts.body to get there.
   */
  private settle(): void {
    const st = this.stream;
    if (st.destroyed || this.inbound?.finished || st.readableEnded) return;
    (this.inbound ??= new Inbound(st)).drop();
    const timer = setTimeout(() => {
      if (!st.destroyed) st.close(NGHTTP2_CANCEL);
    }, this.conf.timeouts.body);
    st.once("close", () => clearTimeout(timer));
  }
}

const INTERIM = newscan();
