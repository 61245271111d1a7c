// HTTP/2 on a TLS connection whose ALPN settled on "h2": node:http2 runs the
// protocol (http2.performServerHandshake over a Duplex fed from the Conn),
// and every stream reaches the handler as an H2Stream with the same API as
// the HTTP/1.x stream, each in its own task.
import * as http2 from "node:http2";
import { Duplex } from "node:stream";
import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from "node:http2";
import { EOF } from "silly/errno";
import { error as logerror } from "silly/logger";
import { fork } from "silly/task";
import type { Conn } from "silly/net/tcp";
import { flowing, takeover } from "silly/net/protocol";
import type { Body, Header, HeaderInput, ReadAllResult, ReadResult, WriteResult } from "../types.js";
import type { Live, ServerConf, ServerStream } from "../stream.js";
import { parsetarget, queryof } from "../url.js";
import type { Target } from "../url.js";
import { newheader } from "../h1/parse.js";
import { bodyallowed, bodylength, checklength, checkname, checkvalue, httpdate } from "../h1/head.js";
import { checkbody } from "../h1/server.js";
import { describe, runhandler } from "../stream.js";

const OK: WriteResult = Object.freeze([true, undefined]) as unknown as WriteResult;
const OK_P: Promise<WriteResult> = Promise.resolve(OK);
const EOFRESULT: ReadResult = Object.freeze([undefined, EOF]) as unknown as ReadResult;
const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR } = http2.constants;

/** Fields HTTP/2 forbids (RFC 9113 8.2.2): dropped from responses. */
const CONNECTION_FIELDS = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"]);

// Response states, as for HTTP/1.x.
const OPEN = 0;
const DEFERRED = 1;
const SENDING = 2;
const DONE = 3;
const FAILED = 5;

function noop(): void {}

/** Serve an HTTP/2 connection. The conn's bytes go to node:http2 from now on. */
export function serveh2(conn: Conn, conf: ServerConf): void {
  const duplex = new Duplex({
    read(): void {
      flowing(conn, true);
    },
    write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
      conn.write(chunk).then(([ok, err]) => cb(ok ? null : new Error(err)), cb);
    },
    final(cb: (err?: Error | null) => void): void {
      conn.close();
      cb();
    },
    destroy(err: Error | null, cb: (err: Error | null) => void): void {
      conn.close();
      cb(err);
    },
  });
  takeover(conn, {
    data: (chunk) => {
      if (!duplex.push(chunk)) flowing(conn, false);
    },
    end: () => {
      duplex.push(null);
    },
  });
  const { limits, timeouts } = conf;
  let session: ServerHttp2Session;
  try {
    session = http2.performServerHandshake(duplex, {
      settings: { maxHeaderListSize: limits.headerbytes, maxConcurrentStreams: 128 },
      maxHeaderListPairs: limits.headercount + 8, // pseudo-header fields count too
    });
  } catch (err) {
    logerror("http: HTTP/2 handshake with %s failed: %s", conn.remoteaddr, describe(err));
    conn.close();
    return;
  }
  const live: Live = { closeidle: () => session.close() };
  conf.sessions.add(live);
  session.on("error", noop);
  session.on("close", () => {
    conf.sessions.delete(live);
    conn.close();
  });
  // No frames for timeouts.idle: close (gracefully: open streams finish).
  session.setTimeout(timeouts.idle, () => session.close());
  session.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on("error", noop);
    try {
      onstream(conn, conf, stream, headers);
    } catch (err) {
      logerror("http: HTTP/2 stream from %s failed: %s", conn.remoteaddr, describe(err));
      stream.close(NGHTTP2_INTERNAL_ERROR);
    }
  });
  if (conf.closing) session.close();
}

function onstream(conn: Conn, conf: ServerConf, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
  const method = String(headers[":method"] ?? "");
  const raw = headers[":path"] ?? (method === "CONNECT" ? headers[":authority"] : undefined);
  const refuse = (status: number, why: string): void => {
    if (!stream.headersSent) stream.respond({ ":status": status, "content-type": "text/plain; charset=utf-8" });
    stream.end(`${why}\n`);
  };
  if (typeof raw !== "string" || raw === "") return refuse(400, "missing :path");
  if (raw.length > conf.limits.requestline) return refuse(414, "request target too long");
  const target = parsetarget(method, raw);
  if (typeof target === "string") return refuse(400, target);
  const cl = headers["content-length"];
  if (cl !== undefined && Number(cl) > conf.limits.body) return refuse(413, "request body too large");
  fork(runhandler, new H2Stream(conn, conf, stream, headers, method, raw, target));
}
/** Received HTTP/2 fields as a Header: no pseudo-fields; host from :authority. */
function toheader(h: IncomingHttpHeaders): Header {
  const out = newheader();
  for (const k of Object.keys(h)) {
    if (k.charCodeAt(0) === 58 /* : */) continue;
    const v = h[k];
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(k === "set-cookie" ? "\n" : ", ") : String(v);
  }
  const authority = h[":authority"];
  if (out["host"] === undefined && typeof authority === "string") out["host"] = authority;
  return out;
}

/** One HTTP/2 request and its response. */
export class H2Stream implements ServerStream {
  readonly method: string;
  readonly path: string;
  readonly rawpath: string;
  readonly target: string;
  readonly version = "HTTP/2";
  readonly remoteaddr: string;
  readonly conn: Conn;
  trailer: Header | undefined = undefined;

  private readonly conf: ServerConf;
  private readonly stream: ServerHttp2Stream;
  private readonly headers: IncomingHttpHeaders;
  private readonly tgt: Target;
  private hdr: Header | undefined = undefined;
  private state = OPEN;
  private status = 0;
  private fields: OutgoingHttpHeaders = {};
  private hlength = -1;
  private left = -1; // body bytes still owed under a given content-length; -1 when none was given
  private nobody = false;
  // request body: chunks arrive through 'data' into a small queue; the stream is paused while it is full
  private reading = false;
  private queue: Buffer[] = [];
  private waiter: (() => void) | undefined = undefined;
  private ended = false;
  private discard = false;
  private total = 0;
  private rerr: string | undefined = undefined;
  private continued = false;

  /** @internal */
  constructor(conn: Conn, conf: ServerConf, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, method: string, raw: string, target: Target) {
    this.conn = conn;
    this.conf = conf;
    this.stream = stream;
    this.headers = headers;
    this.method = method;
    this.target = raw;
    this.tgt = target;
    this.path = target.path;
    this.rawpath = target.rawpath;
    this.remoteaddr = conn.remoteaddr;
    stream.on("trailers", (t: IncomingHttpHeaders) => (this.trailer = toheader(t)));
  }

  get query(): Record<string, string> {
    return (this.tgt.query ??= queryof(this.tgt));
  }

  get header(): Header {
    return (this.hdr ??= toheader(this.headers));
  }

  /** @internal */
  callhandler(): unknown {
    return this.conf.handler(this);
  }

  respond(status: number, headers?: HeaderInput, _close?: boolean): Promise<WriteResult> {
    if (!Number.isInteger(status) || status < 100 || status > 999) {
      throw new RangeError(`stream.respond: status must be an integer 100..999, got ${String(status)}`);
    }
    if (this.state !== OPEN) return Promise.resolve([false, "stream.respond: the response has already started"]);
    if (status === 101) throw new Error("stream.respond: 101 (upgrade) is not possible over HTTP/2");
    const fields: OutgoingHttpHeaders = {};
    let length = -1;
    if (headers !== undefined && headers !== null) {
      if (typeof headers !== "object") throw new TypeError("stream.respond: headers must be an object");
      for (const name in headers) {
        const v = headers[name];
        if (v === undefined) continue;
        checkname(name, "stream.respond");
        const k = name.toLowerCase();
        if (CONNECTION_FIELDS.has(k)) continue;
        if (k === "content-length") {
          length = checklength(v, "stream.respond");
          continue;
        }
        if (typeof v === "number") fields[k] = String(v);
        else if (typeof v === "string") fields[k] = checkvalue(name, v, "stream.respond");
        else if (Array.isArray(v)) fields[k] = (v as readonly string[]).map((x) => checkvalue(name, String(x), "stream.respond"));
        else throw new TypeError(`stream.respond: header ${name}: value must be a string, a number or an array of strings`);
      }
    }
    if (status < 200) {
      if (!this.stream.headersSent) this.stream.additionalHeaders({ ...fields, ":status": status });
      if (status === 100) this.continued = true;
      return OK_P;
    }
    this.status = status;
    this.fields = fields;
    this.hlength = length;
    this.state = DEFERRED;
    return OK_P;
  }

  /** Send the held-back head; `len` is the whole body's size or -1. */
  private sendhead(len: number, end: boolean): void {
    const h = this.fields;
    h[":status"] = this.status;
    if (h["date"] === undefined) h["date"] = httpdate();
    this.nobody = this.method === "HEAD" || !bodyallowed(this.status);
    if (this.hlength >= 0) {
      if (this.status !== 204) h["content-length"] = this.hlength;
      this.left = this.nobody ? -1 : this.hlength;
    } else if (len >= 0 && bodyallowed(this.status)) {
      h["content-length"] = len;
    }
    this.stream.respond(h, { endStream: end || this.nobody });
  }

  write(data: Body): Promise<WriteResult> {
    checkbody(data, "stream.write");
    if (this.state === OPEN) this.respond(200);
    if (this.state === DEFERRED) {
      if (this.stream.destroyed) return Promise.resolve([false, "stream.write: the stream was reset"]);
      this.sendhead(-1, false);
      this.state = SENDING;
    } else if (this.state !== SENDING) {
      return Promise.resolve([false, "stream.write: the response is already finished"]);
    }
    if (this.nobody) return OK_P;
    const len = bodylength(data);
    if (len === 0) return OK_P;
    if (this.left >= 0) {
      if (len > this.left) throw new RangeError(`stream.write: ${len} bytes exceed the content-length (${this.left} left)`);
      this.left -= len;
    }
    if (this.stream.destroyed) return Promise.resolve([false, "stream.write: the stream was reset"]);
    if (this.stream.write(data)) return OK_P;
    return new Promise<WriteResult>((resolve) => {
      const ondrain = (): void => done(OK);
      const onclose = (): void => done([false, "stream.write: the stream was reset"]);
      const done = (r: WriteResult): void => {
        this.stream.off("drain", ondrain);
        this.stream.off("close", onclose);
        resolve(r);
      };
      this.stream.once("drain", ondrain);
      this.stream.once("close", onclose);
    });
  }

  close(body?: Body): Promise<WriteResult> {
    if (body !== undefined) checkbody(body, "stream.close");
    const len = body === undefined ? 0 : bodylength(body);
    if (this.state === OPEN) this.respond(200);
    if (this.stream.destroyed) {
      this.state = FAILED;
      return Promise.resolve([false, "stream.close: the stream was reset"]);
    }
    if (this.state === DEFERRED) {
      if (this.hlength >= 0 && len > this.hlength && this.method !== "HEAD" && bodyallowed(this.status)) {
        throw new RangeError(`stream.close: ${len} bytes exceed the content-length (${this.hlength})`);
      }
      this.sendhead(len, len === 0);
      this.state = DONE;
      if (len > 0 && !this.nobody) this.stream.end(body);
      return OK_P;
    }
    if (this.state !== SENDING) return Promise.resolve([false, "stream.close: the response is already finished"]);
    if (this.left >= 0 && len > this.left) throw new RangeError(`stream.close: ${len} bytes exceed the content-length (${this.left} left)`);
    this.state = DONE;
    if (this.nobody) return OK_P;
    if (len > 0) this.stream.end(body);
    else this.stream.end();
    return OK_P;
  }

  closewrite(body?: Body): Promise<WriteResult> {
    return this.close(body);
  }

  private startreading(): void {
    if (this.reading) return;
    this.reading = true;
    if (this.headers["expect"] === "100-continue" && !this.continued && this.state <= DEFERRED) {
      this.continued = true;
      if (!this.stream.headersSent) this.stream.additionalHeaders({ ":status": 100 });
    }
    const st = this.stream;
    st.on("data", (chunk: Buffer) => {
      if (this.discard) return;
      this.queue.push(chunk);
      if (this.queue.length >= 16) st.pause(); // flow control holds the client back
      this.wake();
    });
    st.on("end", () => {
      this.ended = true;
      this.wake();
    });
    st.on("close", () => {
      if (!this.ended && this.rerr === undefined) this.rerr = "http: the stream was reset before its body ended";
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiter;
    if (w !== undefined) {
      this.waiter = undefined;
      w();
    }
  }

  /** The body failed: answer with `status` if nothing was sent yet, else reset the stream. */
  private bodyfailed(status: number, err: string): [undefined, string] {
    this.rerr = err;
    this.queue = [];
    if (this.state <= DEFERRED && !this.stream.destroyed) {
      this.stream.respond({ ":status": status, "content-type": "text/plain; charset=utf-8" });
      this.stream.end(`${err.replace(/^http: /, "")}\n`);
    } else {
      this.stream.close(NGHTTP2_CANCEL);
    }
    this.state = FAILED;
    return [undefined, err];
  }

  private async next(): Promise<ReadResult> {
    this.startreading();
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk !== undefined) {
        if (this.queue.length < 4 && this.stream.isPaused()) this.stream.resume();
        this.total += chunk.length;
        if (this.total > this.conf.limits.body) return this.bodyfailed(413, "http: body exceeds the size limit");
        return [chunk, undefined];
      }
      if (this.ended) return EOFRESULT;
      if (this.rerr !== undefined) return [undefined, this.rerr];
      if (this.waiter !== undefined) return [undefined, "http: another body read is pending"];
      let timer: NodeJS.Timeout | undefined;
      const arrived = await new Promise<boolean>((resolve) => {
        this.waiter = () => resolve(true);
        timer = setTimeout(resolve, this.conf.timeouts.body, false);
      });
      clearTimeout(timer);
      if (!arrived) {
        this.waiter = undefined;
        return this.bodyfailed(408, "http: timed out reading the body");
      }
    }
  }

  read(): Promise<ReadResult> {
    return this.next();
  }

  async readall(): Promise<ReadAllResult> {
    const parts: Buffer[] = [];
    for (;;) {
      const [piece, err] = await this.next();
      if (piece === undefined) {
        if (err === EOF) break;
        return [undefined, err];
      }
      parts.push(piece);
    }
    return [parts.length === 1 ? parts[0]! : Buffer.concat(parts), undefined];
  }

  /** @internal The handler returned (or threw): complete the response. */
  finish(threw: boolean): void {
    try {
      switch (this.stream.destroyed ? DONE : this.state) {
        case OPEN:
        case DEFERRED:
          if (threw || this.state === OPEN) {
            this.state = OPEN;
            this.respond(500, { "content-type": "text/plain; charset=utf-8" });
            this.close("Internal Server Error\n");
          } else if (this.hlength > 0 && this.method !== "HEAD" && bodyallowed(this.status)) {
            this.sendhead(-1, false);
            this.stream.close(NGHTTP2_CANCEL); // a promised body that never came
          } else {
            this.close();
          }
          break;
        case SENDING:
          if (threw || (this.left > 0 && !this.nobody)) this.stream.close(NGHTTP2_INTERNAL_ERROR);
          else this.close();
          break;
      }
    } catch (err) {
      logerror("http: finishing the HTTP/2 response failed: %s", describe(err));
      this.stream.close(NGHTTP2_INTERNAL_ERROR);
    }
    this.settle();
  }

  /**
   * A request body nobody read to its end: drop the rest as it arrives (so
   * flow control lets the client finish and the stream can close), but give
   * the client no more than timeouts.body to get there.
   */
  private settle(): void {
    const st = this.stream;
    if (st.destroyed || this.ended || st.readableEnded) return;
    this.discard = true;
    this.queue = [];
    const timer = setTimeout(() => {
      if (!st.destroyed) st.close(NGHTTP2_CANCEL);
    }, this.conf.timeouts.body);
    st.once("close", () => clearTimeout(timer));
    if (!this.reading) st.on("data", noop);
    st.resume();
  }
}
