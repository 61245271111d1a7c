// silly.net.tls: TLS listeners and connections with the same Conn verbs as tcp.
import { X509Certificate } from "node:crypto";
import { createRequire } from "node:module";
import { isIP } from "node:net";
import type * as NodeTls from "node:tls";
import type { ConnectionOptions, SecureContext, Server, TLSSocket } from "node:tls";
import { TLS } from "../errno.js";
import { causeof } from "../internal/cause.js";
import { Conn } from "./conn.js";
import { parseaddr } from "./addr.js";
import { acceptor } from "./accept.js";
import { checktimeout, localof, whenconnected } from "./dial.js";
import type { ConnectResult } from "./conn.js";
import { bind, Listener } from "./listener.js";

// node:tls (and what it loads) weighs ~0.6 MB of heap: loaded on first use,
// so a process that never speaks TLS does not carry it.
const require = createRequire(import.meta.url);
let nodetls: typeof NodeTls | undefined;
function nodeTls(): typeof NodeTls {
  return (nodetls ??= require("node:tls") as typeof NodeTls);
}

export { Conn, Listener };
export type { ReadResult, WriteResult, CloseResult, ConnectResult, Data } from "./conn.js";

/** PEM text (a string or its bytes). */
export type Pem = string | Uint8Array;

export interface CertConf {
  /** The certificate in PEM; intermediate certificates may follow it. */
  cert: Pem;
  /** Its private key in PEM. */
  key: Pem;
}

export interface ListenConf {
  /** "127.0.0.1:8443", ":8443" (all interfaces), "[::1]:8443"; port 0 picks a free port. */
  addr: string;
  /** One or more certificates; the client's SNI name picks one, the first is the default. */
  certs: readonly CertConf[];
  /** Runs as its own task for every connection, once its handshake is done. */
  accept: (conn: Conn) => unknown;
  /** Protocols offered to ALPN, in order of preference, e.g. ["h2", "http/1.1"]. */
  alpnprotos?: readonly string[];
  /** A client that has not finished its handshake after this many ms is dropped. Default 10000. */
  handshaketimeout?: number;
  /** OpenSSL cipher list, e.g. "ECDHE+AESGCM". */
  ciphers?: string;
  backlog?: number;
}

export interface ReloadConf {
  certs: readonly CertConf[];
  ciphers?: string;
}

export type ListenResult = [TlsListener, undefined] | [undefined, string];
export type ReloadResult = [true, undefined] | [false, string];

/** One certificate ready to serve: its context and the names it covers. */
interface Served {
  ctx: SecureContext;
  names: string[]; // lower case; may start with "*."
  opts: { cert: string; key: string; ciphers: string | undefined }; // what built ctx
}

/** A TLS listener: a Listener whose certificates can be swapped while it runs. */
export class TlsListener extends Listener {
  readonly #tlsserver: Server;
  readonly #table: { served: Served[] };
  /** @internal */
  constructor(tlsserver: Server, table: { served: Served[] }) {
    super(tlsserver);
    this.#tlsserver = tlsserver;
    this.#table = table;
  }

  /**
   * Replace the certificates (and ciphers) for new handshakes; connections
   * already open keep theirs. On a bad certificate nothing changes.
   */
  reload(conf: ReloadConf): ReloadResult {
    if (conf === null || typeof conf !== "object") throw new TypeError("listener.reload: expects { certs }");
    const served = makeserved(conf.certs, conf.ciphers, "listener.reload");
    if (typeof served === "string") return [false, served];
    this.#table.served = served;
    // Clients without SNI get the server's default context: the first cert.
    this.#tlsserver.setSecureContext(served[0]!.opts);
    return [true, undefined];
  }
}

/**
 * Start a TLS server. Resolves once bound: `[listener]` or `[undefined, err]`
 * (also for a certificate or key that does not load).
 */
export function listen(conf: ListenConf): Promise<ListenResult> {
  if (conf === null || typeof conf !== "object") throw new TypeError("tls.listen: expects { addr, certs, accept }");
  if (typeof conf.accept !== "function") throw new TypeError("tls.listen: accept must be a function");
  checkprotos(conf.alpnprotos, "tls.listen");
  const served = makeserved(conf.certs, conf.ciphers, "tls.listen");
  if (typeof served === "string") return Promise.resolve([undefined, served]);
  const table = { served };
  const take = acceptor(conf.accept);
  const server = nodeTls().createServer({
    allowHalfOpen: true,
    noDelay: true,
    // Bounds a client that connects and never completes (or half-closes before) its handshake.
    handshakeTimeout: conf.handshaketimeout ?? 10_000,
    ...served[0]!.opts, // the default, for clients that send no SNI name
    ALPNProtocols: conf.alpnprotos === undefined ? undefined : [...conf.alpnprotos],
    // Read the table on every handshake so reload() takes effect at once.
    SNICallback: (servername, cb) => cb(null, pick(table.served, servername)),
  });
  server.on("secureConnection", (socket: TLSSocket) => take(new Conn(socket)));
  // A failed handshake (garbage, a reset, an untrusted client) ends that socket only.
  server.on("tlsClientError", (_err: Error, socket: TLSSocket) => socket.destroy());
  return bind(server, conf.addr, conf.backlog, () => new TlsListener(server, table));
}

/** Load every certificate once; an error message when one does not load. */
function makeserved(certs: readonly CertConf[], ciphers: string | undefined, who: string): Served[] | string {
  if (!Array.isArray(certs) || certs.length === 0) throw new TypeError(`${who}: certs must be a non-empty array of { cert, key }`);
  const out: Served[] = [];
  for (const [i, c] of certs.entries()) {
    if (c === null || typeof c !== "object" || !ispem(c.cert) || !ispem(c.key)) {
      throw new TypeError(`${who}: certs[${i}] must be { cert, key } with PEM strings`);
    }
    const opts = { cert: pemtext(c.cert), key: pemtext(c.key), ciphers };
    try {
      out.push({ ctx: nodeTls().createSecureContext(opts), names: certnames(new X509Certificate(opts.cert)), opts });
    } catch (err) {
      return `${who}: certs[${i}]: ${causeof(err, true)}`;
    }
  }
  return out;
}

/** The DNS names a certificate covers: its subjectAltName DNS entries, else its CN. */
function certnames(x: X509Certificate): string[] {
  const names: string[] = [];
  for (const part of (x.subjectAltName ?? "").split(",")) {
    const m = /^\s*DNS:(.+?)\s*$/.exec(part);
    if (m !== null) names.push(m[1]!.toLowerCase());
  }
  if (names.length > 0) return names;
  const cn = /(?:^|\n)CN=(.*)/.exec(x.subject);
  return cn === null ? [] : [cn[1]!.trim().toLowerCase()];
}

/** "*.example.com" covers exactly one extra label: "a.example.com", not "example.com". */
function namematch(pattern: string, name: string): boolean {
  if (!pattern.startsWith("*.")) return pattern === name;
  const dot = name.indexOf(".");
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

/** The context for an SNI name: an exact name first, then a wildcard, else the first cert. */
function pick(served: readonly Served[], servername: string): SecureContext {
  const name = servername.toLowerCase().replace(/\.$/, "");
  const exact = served.find((s) => s.names.includes(name));
  if (exact !== undefined) return exact.ctx;
  const wild = served.find((s) => s.names.some((p) => namematch(p, name)));
  return (wild ?? served[0]!).ctx;
}

export interface ConnectOpts {
  /** SNI name sent and the name the certificate must match. Default: the host in addr unless it is an IP. */
  hostname?: string;
  /** Protocols to offer to ALPN, e.g. ["h2", "http/1.1"]. */
  alpnprotos?: readonly string[];
  /** Extra trust anchors (PEM), added to the system's root CAs. */
  ca?: Pem | readonly Pem[];
  /** Give up after this many ms (TCP connect and handshake together) with errno.TIMEDOUT. */
  timeout?: number;
  /** Check the server's certificate (default true). false accepts any certificate. */
  verify?: boolean;
  /** Local "ip:port" to bind to first. */
  bind?: string;
}

/**
 * Connect to "host:port" and finish a TLS handshake. Resolves to
 * `[conn]` or `[undefined, err]`: a transport errno, or for a TLS failure a
 * message starting with errno.TLS that names the cause. Never rejects.
 */
export function connect(addr: string, opts: ConnectOpts = {}): Promise<ConnectResult> {
  checktimeout(opts.timeout, "tls.connect");
  checkprotos(opts.alpnprotos, "tls.connect");
  if (opts.hostname !== undefined && typeof opts.hostname !== "string") throw new TypeError("tls.connect: hostname must be a string");
  const hp = parseaddr(addr);
  if (typeof hp === "string") return Promise.resolve([undefined, hp]);
  const host = hp.host ?? "localhost";
  const name = opts.hostname ?? host;
  const local = localof(opts.bind);
  if (typeof local === "string") return Promise.resolve([undefined, local]);
  const ctx = opts.ca === undefined ? undefined : cacontext(opts.ca);
  if (typeof ctx === "string") return Promise.resolve([undefined, ctx]);
  let socket: TLSSocket;
  try {
    // Node passes the socket options (local address, half-open) on to net; its types do not list them.
    const options: ConnectionOptions & typeof local & { allowHalfOpen: boolean } = {
      host,
      port: hp.port,
      ...local,
      allowHalfOpen: true,
      // SNI carries names only; an IP is still checked against the certificate below.
      servername: isIP(name) === 0 ? name : undefined,
      checkServerIdentity: (_host, cert) => nodeTls().checkServerIdentity(name, cert),
      rejectUnauthorized: opts.verify !== false,
      ALPNProtocols: opts.alpnprotos === undefined ? undefined : [...opts.alpnprotos],
      secureContext: ctx,
    };
    socket = nodeTls().connect(options);
  } catch (err) {
    return Promise.resolve([undefined, `${TLS}: ${causeof(err, true)}`]);
  }
  return whenconnected(socket, "secureConnect", opts.timeout);
}

// Contexts with extra CAs, built once per distinct CA set (loading the system roots is not cheap).
const cacache = new Map<string, SecureContext>();
const CACACHE_MAX = 32;

/** The context trusting the system roots plus `ca`; an error message if a CA does not parse. */
function cacontext(ca: Pem | readonly Pem[]): SecureContext | string {
  const list = (Array.isArray(ca) ? ca : [ca]) as readonly Pem[];
  for (const c of list) if (!ispem(c)) throw new TypeError("tls.connect: ca must be PEM text or an array of them");
  const pems = list.map(pemtext);
  const key = pems.join("\n");
  let ctx = cacache.get(key);
  if (ctx === undefined) {
    try {
      ctx = nodeTls().createSecureContext({ ca: [...nodeTls().rootCertificates, ...pems] });
    } catch (err) {
      return `${TLS}: bad ca: ${causeof(err, true)}`;
    }
    if (cacache.size >= CACACHE_MAX) cacache.delete(cacache.keys().next().value!);
    cacache.set(key, ctx);
  }
  return ctx;
}

function checkprotos(protos: readonly string[] | undefined, who: string): void {
  if (protos === undefined) return;
  if (!Array.isArray(protos) || protos.some((p) => typeof p !== "string" || p.length === 0 || p.length > 255)) {
    throw new TypeError(`${who}: alpnprotos must be an array of protocol names`);
  }
}

function ispem(v: unknown): v is Pem {
  return typeof v === "string" || v instanceof Uint8Array;
}

function pemtext(p: Pem): string {
  return typeof p === "string" ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength).toString("latin1");
}

const tls = { listen, connect };
export default tls;
