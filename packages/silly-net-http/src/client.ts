// The client: http.request / get / post. Connections are kept per origin and
// reused (upstream silly's promise): HTTP/1.1 ones in a small pool of idle
// connections, HTTP/2 ones (when alpnprotos offers "h2" and the server picks
// it) as one session whose streams carry the requests.
import { RESOLVE, TLS } from "silly/errno";
import tcp from "silly/net/tcp";
import type { Conn } from "silly/net/tcp";
import tls from "silly/net/tls";
import { ref } from "silly/net/protocol";
import { NOEXTENDEDCONNECT } from "./types.js";
import type { Body, ClientStream, FetchResult, HeaderInput, RequestOptions, RequestResult } from "./types.js";
import { H1, H2, checkbody, newscan, scanheaders } from "./outgoing.js";
import type { Scan } from "./outgoing.js";
import { ACCEPT } from "./decode.js";
import { hastoken } from "./fields.js";
import { H1Client, newlink } from "./h1/client.js";
import type { ClientConf, Home, Link } from "./h1/client.js";
import type { H2Session } from "./h2/client.js";
import { loadh2client } from "./lazy.js";

const DEFAULT_TIMEOUT = 60_000;
/** Idle HTTP/1.1 connections kept per origin; past this the oldest is closed. */
const MAXIDLE = 16;
/** How long an idle connection (or an HTTP/2 session without streams) is kept; less when the server's Keep-Alive says so. */
const IDLE_MS = 4_000;

/** A request as checked by request(): what the connection does not change. */
interface Plan {
  method: string;
  url: URL;
  secure: boolean;
  addr: string;
  headers: HeaderInput | undefined;
  scan: Scan;
  opts: RequestOptions;
  timeout: number;
  conf: ClientConf;
  /** The request asks for a protocol upgrade: HTTP/1.1 only, on a connection of its own. */
  upgrade: boolean;
  /** Connections are kept and reused. */
  reuse: boolean;
}

// ---- the pool ----

interface Idle extends Link {
  until: number;
}

/** The connections kept for one origin (scheme, host, port and TLS options). */
class Origin {
  idle: Idle[] = [];
  h2: H2Session | undefined = undefined;
  /** A connect that may bring an HTTP/2 session, which requests arriving meanwhile share. */
  dialing: Promise<H2Session | undefined> | undefined = undefined;

  constructor(readonly key: string) {}

  /** An idle connection that can still carry a request, or undefined. */
  take(): Link | undefined {
    const now = Date.now();
    for (;;) {
      const l = this.idle.pop();
      if (l === undefined) return undefined;
      if (l.until > now && l.conn.isalive() && l.conn.unreadbytes() === 0) {
        ref(l.conn, true);
        return l;
      }
      drop(l);
    }
  }

  keep(link: Link, idlems: number): void {
    const { conn } = link;
    if (idlems <= 0 || !conn.isalive() || conn.unreadbytes() > 0) return drop(link);
    ref(conn, false); // an idle connection does not keep the process alive
    // The sweep may have forgotten this origin while the request ran: keep it where requests look.
    const idle = originof(this.key).idle;
    idle.push({ conn, wire: link.wire, until: Date.now() + idlems });
    if (idle.length > MAXIDLE) drop(idle.shift()!);
  }

  /** Nothing kept: forget the origin. */
  empty(): boolean {
    return this.idle.length === 0 && this.h2 === undefined && this.dialing === undefined;
  }
}

function drop(l: Link): void {
  l.wire.detach();
  l.conn.close();
}

const origins = new Map<string, Origin>();
let sweeper: NodeJS.Timeout | undefined = undefined;

/** The origin kept under `key`, made when there is none (the sweep forgets it once it keeps nothing). */
function originof(key: string): Origin {
  let o = origins.get(key);
  if (o === undefined) {
    o = new Origin(key);
    origins.set(key, o);
    sweepsoon();
  }
  return o;
}

/** Close the idle connections whose time is up, once a second while there are any. */
function sweep(): void {
  const now = Date.now();
  for (const [key, o] of origins) {
    o.idle = o.idle.filter((l) => {
      if (l.until > now && l.conn.isalive()) return true;
      drop(l);
      return false;
    });
    if (o.empty()) origins.delete(key);
  }
  if (origins.size === 0 && sweeper !== undefined) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

function sweepsoon(): void {
  if (sweeper === undefined) {
    sweeper = setInterval(sweep, 1000);
    sweeper.unref();
  }
}

function originkey(p: Plan): string {
  const o = p.opts;
  const ca = o.ca === undefined ? "" : (Array.isArray(o.ca) ? o.ca : [o.ca]).map((c: string | Uint8Array) => (typeof c === "string" ? c : Buffer.from(c).toString("latin1"))).join("\n");
  return `${p.secure ? "https" : "http"}://${p.addr}\n${o.hostname ?? ""}\n${o.verify === false}\n${(o.alpnprotos ?? []).join(",")}\n${ca}`;
}

/** A request's way home: where its connection is kept, and how a fresh one is made. */
class Route implements Home {
  constructor(
    private readonly origin: Origin,
    private readonly plan: Plan,
  ) {}

  keep(link: Link, idlems: number): void {
    this.origin.keep(link, idlems);
  }

  async redial(): Promise<[Link, undefined] | [undefined, string]> {
    const [conn, err] = await dial(this.plan, false);
    if (conn === undefined) return [undefined, err];
    return [newlink(conn), undefined];
  }
}

// ---- connecting ----

/** The HTTP/2 client code, once a connection offered "h2" (only then can a session exist). */
let h2: Awaited<ReturnType<typeof loadh2client>> | undefined;

async function dial(p: Plan, h2ok: boolean): Promise<[Conn, undefined] | [undefined, string]> {
  const o = p.opts;
  let alpnprotos = o.alpnprotos ?? ["http/1.1"];
  if (!h2ok) alpnprotos = alpnprotos.filter((x) => x !== "h2");
  // The HTTP/2 code comes before a connection that may need it.
  if (h2ok) h2 ??= await loadh2client();
  const [conn, err] = p.secure
    ? await tls.connect(p.addr, {
        hostname: o.hostname,
        ca: o.ca,
        verify: o.verify,
        alpnprotos: alpnprotos.length > 0 ? alpnprotos : ["http/1.1"],
        timeout: p.timeout,
      })
    : await tcp.connect(p.addr, { timeout: p.timeout });
  if (conn === undefined) return [undefined, connecterror(p.url.hostname, p.addr, err)];
  const proto = conn.alpnproto;
  if (proto !== undefined && proto !== "http/1.1" && proto !== "h2") {
    conn.close();
    return [undefined, `http.request: the server chose ALPN protocol ${proto}, which is not HTTP`];
  }
  return [conn, undefined];
}

function connecterror(host: string, addr: string, err: string): string {
  if (err === RESOLVE) return `http.request: cannot resolve ${host}: ${err}`;
  if (err.startsWith(TLS)) return `http.request: TLS with ${addr} failed: ${err}`;
  return `http.request: connect to ${addr} failed: ${err}`;
}

function h1stream(p: Plan, link: Link, reused: boolean, route: Route | undefined): ClientStream {
  const { method, url, scan } = p;
  const keep = route !== undefined && !hastoken(scan.connection, "close");
  const connection = scan.connection ?? (route === undefined ? "close" : undefined);
  const target = method === "CONNECT" ? `${url.hostname}:${url.port === "" ? (p.secure ? 443 : 80) : url.port}` : `${url.pathname === "" ? "/" : url.pathname}${url.search}`;
  let head = `${method} ${target} HTTP/1.1\r\nHost: ${scan.host ?? url.host}\r\n${scan.lines}`;
  if (connection !== undefined) head += `Connection: ${connection}\r\n`;
  if (p.conf.decompress && !given(p.headers, "accept-encoding")) head += `Accept-Encoding: ${ACCEPT}\r\n`;
  return new H1Client(link, reused, route, IDLE_MS, method, head, scan.length, scan.chunked, keep, p.conf);
}

function h2stream(p: Plan, session: H2Session): ClientStream {
  const scan = newscan();
  scanheaders(p.headers, H2, scan, "http.request"); // already found valid by request()
  if (scan.host !== undefined) scan.fields["host"] = scan.host;
  return new h2!.H2Client(session, p.method, p.url, scan.fields, scan.length, p.opts.protocol, p.conf);
}

/** A new HTTP/2 session on `conn`, kept for the origin unless the plan says not to reuse. */
function newsession(p: Plan, conn: Conn, origin: Origin | undefined): H2Session {
  const authority = `${p.secure ? "https" : "http"}://${p.addr}`;
  const s: H2Session = new h2!.H2Session(conn, authority, p.conf, origin === undefined, IDLE_MS, () => {
    const o = origin === undefined ? undefined : origins.get(origin.key);
    if (o !== undefined && o.h2 === s) o.h2 = undefined;
  });
  if (origin !== undefined) originof(origin.key).h2 = s;
  return s;
}

async function open(p: Plan): Promise<RequestResult> {
  const h1only = p.upgrade;
  const wanth2 = !h1only && p.secure && (p.opts.alpnprotos ?? []).includes("h2");
  let origin: Origin | undefined;
  if (p.reuse) {
    origin = originof(originkey(p));
    if (!h1only && origin.h2 !== undefined && origin.h2.usable()) return [h2stream(p, origin.h2), undefined];
    if (p.method !== "CONNECT") {
      const link = origin.take();
      if (link !== undefined) return [h1stream(p, link, true, new Route(origin, p)), undefined];
    }
    // A connect under way may bring a session with room; one that does not
    // may have started another meanwhile (its session was full): wait for that.
    for (let d = origin.dialing; wanth2 && d !== undefined; d = origin.dialing === d ? undefined : origin.dialing) {
      const s = await d;
      if (s !== undefined && s.usable()) return [h2stream(p, s), undefined];
    }
  }
  const dialed = dial(p, wanth2);
  // Requests to the origin arriving meanwhile wait for this connect: it may bring a session for all.
  let session: Promise<H2Session | undefined> | undefined;
  if (origin !== undefined && wanth2) {
    const o = origin;
    const pending = (session = dialed.then(([conn]) => (conn !== undefined && conn.alpnproto === "h2" ? newsession(p, conn, o) : undefined)));
    o.dialing = pending;
    void pending.then(() => {
      if (o.dialing === pending) o.dialing = undefined;
    });
  }
  const [conn, err] = await dialed;
  if (conn === undefined) return [undefined, err];
  if (conn.alpnproto === "h2") return [h2stream(p, (await session) ?? newsession(p, conn, undefined)), undefined];
  if (p.opts.protocol !== undefined) {
    conn.close();
    return [undefined, wanth2 ? NOEXTENDEDCONNECT : "http.request: extended CONNECT (protocol) needs HTTP/2; offer \"h2\" in alpnprotos"];
  }
  const route = origin !== undefined && p.method !== "CONNECT" ? new Route(origin, p) : undefined;
  return [h1stream(p, newlink(conn), false, route), undefined];
}

/** URLs parsed lately (a client tends to ask the same ones again); read only. */
const urls = new Map<string, URL>();

function parseurl(url: string): URL | undefined {
  let u = urls.get(url);
  if (u !== undefined) return u;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (urls.size >= 256) urls.clear();
  urls.set(url, u);
  return u;
}

/** Was the field `name` (lower case) given? */
function given(headers: HeaderInput | undefined, name: string): boolean {
  if (headers === undefined || headers === null) return false;
  for (const k in headers) if (headers[k] !== undefined && k.length === name.length && k.toLowerCase() === name) return true;
  return false;
}

/**
 * Prepare a request to `url`: a kept-alive connection to its origin when
 * there is one, else a new one. Resolves to the stream (nothing is sent
 * until write/closewrite/readheader) or `[undefined, err]` naming the cause
 * (bad URL, DNS, connect, TLS, timeout). Throws for bad arguments.
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
  if (o.protocol !== undefined && (typeof o.protocol !== "string" || method !== "CONNECT")) {
    throw new TypeError("http.request: protocol (extended CONNECT) is a string, with the method CONNECT");
  }
  const scan = newscan();
  scanheaders(headers, H1, scan, "http.request");
  if (scan.chunked && scan.length >= 0) throw new TypeError("http.request: both content-length and transfer-encoding given");
  const u = parseurl(url);
  if (u === undefined) return Promise.resolve([undefined, `http.request: invalid URL ${JSON.stringify(url)}`]);
  const proto = u.protocol;
  const secure = proto === "https:" || proto === "wss:";
  if (!secure && proto !== "http:" && proto !== "ws:") {
    return Promise.resolve([undefined, `http.request: unsupported URL scheme ${JSON.stringify(proto)} (want http: or https:)`]);
  }
  const port = u.port === "" ? (secure ? 443 : 80) : Number(u.port);
  const limits = o.limits ?? {};
  const plan: Plan = {
    method,
    url: u,
    secure,
    addr: `${u.hostname}:${port}`,
    headers,
    scan,
    opts: o,
    timeout,
    conf: {
      timeout,
      headerbytes: limits.headerbytes ?? 64 * 1024,
      headercount: limits.headercount ?? 100,
      body: limits.body ?? 64 * 1024 * 1024,
      decompress: o.decompress === true,
    },
    upgrade: given(headers, "upgrade"),
    reuse: o.reuse !== false && !given(headers, "upgrade"),
  };
  return open(plan);
}

/** Send a request with `body` (or none) and read the whole response. */
function exchange(method: string, url: string, headers: HeaderInput | undefined, body: Body | undefined, opts: RequestOptions | undefined): Promise<FetchResult> {
  return finishexchange(request(method, url, headers, opts), body); // request() throws for bad arguments
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
    return [{ status: res.status, header: res.header, body: data, trailer: s.trailer }, undefined];
  } finally {
    s.close();
  }
}

/** GET `url`; resolves to `{ status, header, body, trailer }` or `[undefined, err]`. */
export function get(url: string, headers?: HeaderInput, opts?: RequestOptions): Promise<FetchResult> {
  return exchange("GET", url, headers, undefined, opts);
}

/** POST `body` to `url` (Content-Length is set); resolves like get(). */
export function post(url: string, headers?: HeaderInput, body?: Body, opts?: RequestOptions): Promise<FetchResult> {
  if (body !== undefined) checkbody(body, "http.post");
  return exchange("POST", url, headers, body, opts);
}
