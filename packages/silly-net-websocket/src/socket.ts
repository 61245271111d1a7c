// The WebSocket socket: the I/O adapter around the sans-I/O Protocol
// (codec/protocol.ts). It hands the transport's bytes to the protocol, writes
// the bytes the protocol makes, runs the deadlines it asks for on the shared
// ticker, and turns its events into read() results.
//
// Outgoing messages are encoded whole (and compressed, when permessage-deflate
// was agreed, synchronously) and handed to the transport in one call, so
// frames of concurrent writers never interleave and messages keep their
// order; a server's small uncompressed messages are encoded straight into the
// conn's output (writeinto).
import { isUtf8 } from "node:buffer";
import type { Conn } from "silly/net/tcp";
import type { ClientStream, Header, ServerStream } from "silly-net-http";
import { Protocol, encodeinto, typeopcode, validclosecode, MAX_REASON } from "./codec/index.js";
import type { DeflateConfig, DeflateParams, ProtocolOptions } from "./codec/index.js";
import { Budget } from "./codec/budget.js";
import type { Compression, MessageType } from "./codec/types.js";
import { PerMessageDeflate } from "./deflate.js";
import { clock, schedule } from "./ticker.js";
import { conntransport } from "./transport.js";
import { Inbox } from "./inbox.js";
import type { Transport } from "./transport.js";

export type { MessageType };
export type WriteType = MessageType;

/**
 * `[text, "text"]`, `[bytes, "binary" | "ping" | "pong"]`, `[reason, "close"]`,
 * or `[undefined, err, partial]` once the socket failed or closed.
 */
export type ReadResult =
  | [string, "text"]
  | [Buffer, "binary" | "ping" | "pong"]
  | [string, "close"]
  | [undefined, string, (string | Buffer)?];
export type WriteResult = [true, undefined] | [false, string];

export interface SocketOptions {
  /** Largest message (after reassembly) accepted, in bytes. Default 16 MiB. */
  maxpayload?: number;
  /** Most fragments one message may arrive in. Default 1024. */
  maxfragments?: number;
  /** How long close() waits for the peer's close frame, in ms. Default 5000. */
  closetimeout?: number;
  /** Answer pings with pongs automatically instead of returning them from read(). Default false. */
  autopong?: boolean;
  /**
   * Keepalive: ping a peer that sent nothing for this long, in ms; 0 turns
   * keepalive off. Default 20000 for servers, 0 for clients.
   */
  pinginterval?: number;
  /** Keepalive: fail with 1011 when nothing arrives this long after a ping, in ms. Default 20000. */
  pongtimeout?: number;
  /**
   * Fail with 1008 a frame or fragmented message that has begun and makes no
   * progress for this long, in ms; 0 for never. Default 30000.
   */
  stalltimeout?: number;
  /**
   * The memory budget this socket shares with others for the bytes of messages
   * that have begun to arrive (see websocket.budget). Default: one budget of
   * 128 MiB for every socket that names none.
   */
  budget?: Budget;
  /**
   * permessage-deflate (RFC 7692): false, true (the defaults) or settings.
   * Default: offered by clients, off on servers (see docs/websocket.md).
   */
  compression?: Compression;
}

/** @internal What the handshake agreed for permessage-deflate, and this end's settings. */
export interface Agreed {
  params: DeflateParams;
  config: DeflateConfig;
}

/** The default options (`pinginterval` is a server's: a client's is 0; `budget` is the shared default budget's limit). */
export const DEFAULTS = {
  maxpayload: 16 * 1024 * 1024,
  maxfragments: 1024,
  closetimeout: 5000,
  autopong: false,
  pinginterval: 20_000,
  pongtimeout: 20_000,
  stalltimeout: 30_000,
  budget: 128 * 1024 * 1024,
} as const;

/** The budget of every socket that names none. */
const SHARED_BUDGET = new Budget(DEFAULTS.budget);

/**
 * A memory budget for sockets to share (the `budget` option): past `limit`
 * bytes held in messages that have begun to arrive, across every socket given
 * it, a message of more than 64 KiB that grows further fails its connection
 * with close code 1009. `budget.used` tells what is held now.
 */
export function budget(limit: number): Budget {
  return new Budget(limit);
}

/** Unread messages past this many bytes pause the transport until the app reads. */
const QUEUE_HIGH = 1024 * 1024;

// Socket flags: one small integer instead of a field each (idle sockets are most sockets).
/** Unread messages fill the queue: the transport is paused. */
const PAUSED = 1;
/** The protocol stopped receiving for good. */
const STOPPED = 2;
/** A message went straight to a waiting reader, and read() was not called since. */
const HANDED = 4;

/** A client's stream once its handshake succeeded: the answer's status and header are there. */
export type HandshakeStream = ClientStream & { readonly status: number; readonly header: Header };

// The Socket is the protocol's host (codec ProtocolHost) and the ticker's
// entry (ticker Timed); those members are internal, so it declares neither.
/**
 * A WebSocket. `S` is the HTTP stream it came from: a `ServerStream` for
 * websocket.upgrade(), a `HandshakeStream` for websocket.connect().
 */
export class Socket<S extends ServerStream | HandshakeStream = ServerStream | HandshakeStream> {
  /** The HTTP stream the socket was upgraded from (or connected through). */
  readonly stream: S;

  readonly #proto: Protocol;
  readonly #io: unknown; // the byte stream, as #tx knows it
  readonly #tx: Transport<unknown>;
  #inbox: Inbox | undefined = undefined; // unread messages; made when the first one is queued
  #flags = 0; // PAUSED, STOPPED, HANDED
  #reader: ((r: ReadResult) => void) | undefined = undefined;
  #err: string | undefined = undefined; // set once no more messages will come
  #closers: (() => void)[] | undefined = undefined; // made by close()
  /** @internal The ticker's: the place in its heap. */
  slot = -1;

  /**
   * @internal Use websocket.upgrade() or websocket.connect(). `io` is the
   * byte stream, a tcp or tls Conn unless another Transport is given;
   * `deflate`, what the handshake agreed for compression, if it did.
   */
  constructor(io: unknown, role: "server" | "client", opts: SocketOptions | undefined, stream: S, tx: Transport<never> = conntransport, deflate?: Agreed) {
    this.stream = stream;
    this.#io = io;
    this.#tx = tx as Transport<unknown>;
    const o = protocoloptions(role, opts);
    this.#proto = new Protocol(o, this, deflate && new PerMessageDeflate(role, deflate.params, deflate.config, o.maxpayload));
    schedule(this); // the first keepalive check, if any
    this.#tx.takeover(io, this.#proto);
  }

  /** The underlying tcp or tls connection. */
  get conn(): Conn {
    return this.#tx.conn(this.#io);
  }

  /** The received close code (1005 when the peer's close frame had none), once a close frame arrived. */
  get closecode(): number | undefined {
    return this.#proto.closecode;
  }

  /** The received close reason, once a close frame arrived. */
  get closereason(): string | undefined {
    return this.#proto.closereason;
  }

  // ---- the protocol's events (ProtocolHost) ----

  /** @internal */
  onmessage(type: MessageType, data: string | Buffer): void {
    const r = this.#reader;
    if (r !== undefined) {
      this.#reader = undefined;
      this.#flags |= HANDED;
      r([data, type] as ReadResult);
      return;
    }
    const q = (this.#inbox ??= new Inbox());
    q.push([data, type]);
    // (Once closing, nothing more is queued but the peer's close frame, and the
    // peer's EOF must still be read.)
    if (q.bytes > QUEUE_HIGH && (this.#flags & PAUSED) === 0 && this.#proto.state === "open") this.#flow(true);
  }

  /** @internal No more messages will arrive: the queue drains, then reads get `err`. */
  onend(err: string): void {
    if (this.#err !== undefined) return;
    this.#err = err;
    const r = this.#reader;
    if (r !== undefined && this.#drained()) {
      this.#reader = undefined;
      r([undefined, err]);
    }
  }

  /** No message is queued. */
  #drained(): boolean {
    return this.#inbox === undefined || this.#inbox.empty;
  }

  /** @internal */
  caughtup(): boolean {
    return this.#drained() && (this.#flags & HANDED) === 0;
  }

  /** @internal */
  transmit(frames: Buffer[]): void {
    void this.#tx.write(this.#io, frames);
  }


  /** @internal */
  pause(): void {
    this.#flags |= STOPPED;
    this.#tx.flowing(this.#io, false);
  }

  /** Pause the transport for a full queue, or resume it (unless the protocol stopped it). */
  #flow(paused: boolean): void {
    this.#flags = paused ? this.#flags | PAUSED : this.#flags & ~PAUSED;
    if ((this.#flags & STOPPED) === 0) this.#tx.flowing(this.#io, !paused);
  }

  /** @internal */
  closetransport(abort: boolean): void {
    if (abort) this.#tx.abort(this.#io);
    else this.#tx.close(this.#io);
    this.#closed();
  }

  /** @internal */
  linger(ms: number, bytes: number): void {
    this.#tx.linger(this.#io, ms, bytes);
    this.#closed();
  }

  /** The transport is closed: close() calls resolve. */
  #closed(): void {
    const cs = this.#closers;
    this.#closers = undefined;
    if (cs !== undefined) for (const c of cs) c();
  }

  /** @internal The protocol's deadline changed (it is `at`). */
  settimer(): void {
    schedule(this);
  }

  /** @internal The ticker's: the protocol's deadline. */
  get at(): number {
    return this.#proto.deadline;
  }

  /** @internal */
  now(): number {
    return clock();
  }

  /** @internal The ticker: the protocol's deadline passed. */
  ontime(now: number): void {
    this.#proto.tick(now);
  }

  // ---- the read side of the API ----

  /**
   * The next whole message. Fragmented messages come back reassembled.
   * Never rejects: failures (protocol errors, EOF) are `[undefined, err]`.
   */
  read(): Promise<ReadResult> {
    if (this.#reader !== undefined) return Promise.resolve([undefined, "websocket: another read is pending"]);
    this.#flags &= ~HANDED;
    const q = this.#inbox;
    if (q !== undefined && !q.empty) {
      const e = q.shift();
      if ((this.#flags & PAUSED) !== 0 && q.bytes <= QUEUE_HIGH / 2) this.#flow(false);
      return Promise.resolve(e as ReadResult);
    }
    if (this.#err !== undefined) {
      // Every message before a protocol error has been taken: the failure goes ahead now.
      this.#proto.fail();
      return Promise.resolve([undefined, this.#err]);
    }
    return new Promise<ReadResult>((resolve) => {
      this.#reader = resolve;
    });
  }

  // ---- the write side ----

  /**
   * Send one message (default type "binary"). Messages of 64 KiB and more go
   * out fragmented. Control frames (ping, pong, close) carry at most 125 bytes.
   */
  write(data?: string | Uint8Array, type: WriteType = "binary"): Promise<WriteResult> {
    const op = typeopcode(type);
    if (op < 0) {
      throw new TypeError(`websocket.write: type must be text, binary, ping, pong or close, got ${String(type)}`);
    }
    if (data !== undefined && typeof data !== "string" && !(data instanceof Uint8Array)) {
      throw new TypeError("websocket.write: data must be a string, a Uint8Array or undefined");
    }
    const proto = this.#proto;
    if (!proto.sending()) return Promise.resolve([false, this.#err ?? "websocket: socket is closed"]);
    if (type === "text" && data instanceof Uint8Array && !isUtf8(data)) {
      return Promise.resolve([false, "websocket: text message is not valid UTF-8"]);
    }
    const payload = data ?? EMPTY;
    const n = proto.inplace(type, payload);
    if (n > 0) {
      const sent = this.#tx.writeinto(this.#io, n, encodeinto, op, payload);
      if (sent !== undefined) return sent; // else not ASCII: encoded below
    }
    const frames = proto.send(type, payload);
    if (typeof frames === "string") return Promise.resolve([false, frames]);
    return this.#tx.write(this.#io, frames);
  }

  /**
   * Close: send a close frame (code 1000 unless given), wait for the peer's
   * close frame (at most closetimeout ms), then for the end of the TCP
   * connection (at most closetimeout ms more; a server ends its side first).
   * Resolves when done; calling it again just waits for the same end.
   */
  close(code = 1000, reason = ""): Promise<void> {
    if (!Number.isInteger(code) || !validclosecode(code)) throw new RangeError(`websocket.close: invalid close code ${code}`);
    if (Buffer.byteLength(reason) > MAX_REASON) throw new RangeError(`websocket.close: reason is over ${MAX_REASON} bytes`);
    const proto = this.#proto;
    proto.closewith(code, reason);
    if (proto.state === "closed") return Promise.resolve();
    // The peer's close frame may sit behind unread messages: read on (data
    // after our close frame is dropped, so the queue no longer grows).
    if ((this.#flags & PAUSED) !== 0) this.#flow(false);
    return new Promise<void>((resolve) => (this.#closers ??= []).push(resolve));
  }

  /** True until the close handshake started or the connection failed. */
  isalive(): boolean {
    return this.#proto.state === "open" && this.#err === undefined;
  }
}

const EMPTY = Buffer.alloc(0);
/** Idle sockets are most sockets: those with default options share one options object per role. */
const DEFAULT_SERVER = resolve("server", {});
const DEFAULT_CLIENT = resolve("client", {});

/**
 * Resolved options, shared by every socket with the same values: a socket
 * keeps a reference, and so do its protocol and parser (with what they derive
 * from it), instead of copies. At most OPTIONS_KEPT sets per budget.
 */
const resolved = new WeakMap<Budget, Map<string, Readonly<ProtocolOptions>>>();
const OPTIONS_KEPT = 64;

function protocoloptions(role: "server" | "client", opts: SocketOptions | undefined): Readonly<ProtocolOptions> {
  if (opts === undefined) return role === "server" ? DEFAULT_SERVER : DEFAULT_CLIENT;
  const r = resolve(role, opts);
  let sets = resolved.get(r.budget);
  if (sets === undefined) resolved.set(r.budget, (sets = new Map()));
  const key = `${r.role} ${r.maxpayload} ${r.maxfragments} ${r.closetimeout} ${r.autopong} ${r.pinginterval} ${r.pongtimeout} ${r.stalltimeout}`;
  const known = sets.get(key);
  if (known !== undefined) return known;
  if (sets.size < OPTIONS_KEPT) sets.set(key, r);
  return r;
}

function resolve(role: "server" | "client", o: SocketOptions): Readonly<ProtocolOptions> {
  for (const old of ["maxPayload", "maxFragments", "closeTimeout"]) {
    if (old in o) throw new TypeError(`websocket: option ${old} is now called ${old.toLowerCase()}`);
  }
  const r: ProtocolOptions = {
    role,
    maxpayload: o.maxpayload ?? DEFAULTS.maxpayload,
    maxfragments: o.maxfragments ?? DEFAULTS.maxfragments,
    closetimeout: o.closetimeout ?? DEFAULTS.closetimeout,
    autopong: o.autopong ?? DEFAULTS.autopong,
    pinginterval: o.pinginterval ?? (role === "server" ? DEFAULTS.pinginterval : 0),
    pongtimeout: o.pongtimeout ?? DEFAULTS.pongtimeout,
    stalltimeout: o.stalltimeout ?? DEFAULTS.stalltimeout,
    budget: o.budget ?? SHARED_BUDGET,
  };
  for (const [k, v] of [["maxpayload", r.maxpayload], ["maxfragments", r.maxfragments], ["closetimeout", r.closetimeout], ["pongtimeout", r.pongtimeout]] as const) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`websocket: option ${k} must be a positive integer, got ${String(v)}`);
  }
  for (const [k, v] of [["pinginterval", r.pinginterval], ["stalltimeout", r.stalltimeout]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`websocket: option ${k} must be an integer >= 0, got ${String(v)}`);
  }
  if (!(r.budget instanceof Budget)) throw new TypeError("websocket: option budget must come from websocket.budget()");
  if (typeof r.autopong !== "boolean") throw new TypeError("websocket: option autopong must be a boolean");
  return Object.freeze(r);
}

/** @internal Throws for options the Socket constructor would refuse. */
export function checksocketoptions(opts: SocketOptions | undefined): void {
  if (opts !== undefined) resolve("server", opts);
}
