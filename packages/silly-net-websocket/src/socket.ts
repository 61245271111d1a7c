// The WebSocket socket: a thin I/O layer joining the sans-I/O codec to a Conn.
//
// Incoming bytes go straight from the conn into the frame parser; each whole
// message either resolves the waiting read() or joins a queue. Outgoing
// messages are encoded whole and handed to the conn in one call, so frames of
// concurrent writers never interleave; the conn sends what was written at the
// end of the event loop's poll phase.
import { isUtf8 } from "node:buffer";
import type { Conn } from "silly/net/tcp";
import { abort, flowing, takeover, writeinto } from "silly/net/protocol";
import type { Consumer } from "silly/net/protocol";
import { FrameParser, encodemessage, encodeinto, stagedsize, typeopcode, decodeclose, encodeclose, validclosecode, MAX_REASON } from "./codec/index.js";
import type { MessageType, ParserSink } from "./codec/index.js";

export type { MessageType };
export type WriteType = "text" | "binary" | "ping" | "pong" | "close";

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
  maxPayload?: number;
  /** Most fragments one message may arrive in. Default 1024. */
  maxFragments?: number;
  /** How long close() waits for the peer's close frame, in ms. Default 5000. */
  closeTimeout?: number;
  /** Answer pings with pongs automatically instead of returning them from read(). Default false. */
  autopong?: boolean;
}

export const DEFAULTS = {
  maxPayload: 16 * 1024 * 1024,
  maxFragments: 1024,
  closeTimeout: 5000,
  autopong: false,
} as const;

/** Unread messages past this many bytes pause the conn until the app reads. */
const QUEUE_HIGH = 1024 * 1024;

type Entry = [string | Buffer, MessageType];

export class Socket {
  /** The received close code (1005 when the peer's close frame had none), once a close frame arrived. */
  closecode: number | undefined = undefined;
  /** The received close reason, once a close frame arrived. */
  closereason: string | undefined = undefined;

  private readonly parser: FrameParser;
  private readonly mask: boolean;
  private readonly opts: Required<SocketOptions>;
  private queue: Entry[] = NOQUEUE; // an array of its own from the first queued message
  private qhead = 0;
  private qbytes = 0;
  private paused = false;
  private reader: ((r: ReadResult) => void) | undefined = undefined;
  private err: string | undefined = undefined; // set once no more messages will come
  private closesent = false;
  private closerecv = false;
  private finished = false; // the conn is closed
  private closewaiters: (() => void)[] | undefined = undefined; // made by close()
  private closetimer: NodeJS.Timeout | undefined = undefined;

  /** @internal Use websocket.upgrade() or websocket.connect(). */
  constructor(
    /** The underlying tcp or tls connection. */
    readonly conn: Conn,
    role: "server" | "client",
    opts: SocketOptions | undefined,
    /** The HTTP stream the socket was upgraded from (or connected through). */
    readonly stream: unknown,
  ) {
    // Idle sockets are most sockets: share the default options object.
    this.opts = opts === undefined ? DEFAULT_OPTS : { ...DEFAULTS, ...stripundefined(opts) };
    checkoptions(this.opts);
    this.mask = role === "client";
    const link = new Link(this);
    this.parser = new FrameParser({ role, maxPayload: this.opts.maxPayload, maxFragments: this.opts.maxFragments }, link);
    link.parser = this.parser;
    takeover(conn, link);
  }

  // ---- incoming ----

  /** @internal */
  onmessage(type: MessageType, data: string | Buffer): void {
    if (type === "close") {
      this.onclose(data as Buffer);
      return;
    }
    if (this.closesent) return; // we are closing: data after our close frame is dropped
    if (type === "ping" && this.opts.autopong) {
      void this.write(data, "pong");
      return;
    }
    this.deliver(data, type);
  }

  private deliver(data: string | Buffer, type: MessageType): void {
    const r = this.reader;
    if (r !== undefined) {
      this.reader = undefined;
      r([data, type] as ReadResult);
      return;
    }
    if (this.queue === NOQUEUE) this.queue = [];
    this.queue.push([data, type]);
    this.qbytes += data.length;
    if (this.qbytes > QUEUE_HIGH && !this.paused) {
      this.paused = true;
      flowing(this.conn, false);
    }
  }

  private onclose(payload: Buffer): void {
    if (this.closerecv) return;
    const c = decodeclose(payload);
    if (!c.ok) {
      this.onprotocolerror(c.code, c.reason);
      return;
    }
    this.closerecv = true;
    this.closecode = c.code;
    this.closereason = c.reason;
    if (!this.closesent) {
      // Echo the close so the handshake completes even before the app reacts.
      this.sendclose(c.code === 1005 ? undefined : c.code, "");
    }
    this.deliver(c.reason, "close");
    this.fail(`websocket: closed by peer (${c.code}${c.reason ? ` ${c.reason}` : ""})`);
    this.settle();
  }

  /** @internal */
  onprotocolerror(code: number, reason: string): void {
    if (this.err !== undefined) return;
    this.sendclose(code, reason.slice(0, 120));
    this.fail(`websocket: ${code} ${reason}`);
    this.finish();
  }

  /** @internal */
  onconnend(err: string): void {
    if (this.closerecv || this.finished) {
      this.finish();
      return;
    }
    this.fail(`websocket: connection ended without a close frame (${err})`);
    this.finish();
  }

  /** No more messages will arrive: the queue drains, then reads get `err`. */
  private fail(err: string): void {
    if (this.err !== undefined) return;
    this.err = err;
    const r = this.reader;
    if (r !== undefined && this.qhead === this.queue.length) {
      this.reader = undefined;
      r([undefined, err]);
    }
  }

  // ---- the read side of the API ----

  /**
   * The next whole message. Fragmented messages come back reassembled.
   * Never rejects: failures (protocol errors, EOF) are `[undefined, err]`.
   */
  read(): Promise<ReadResult> {
    if (this.reader !== undefined) return Promise.resolve([undefined, "websocket: another read is pending"]);
    if (this.qhead < this.queue.length) {
      const e = this.queue[this.qhead]!;
      this.queue[this.qhead++] = undefined as never;
      this.qbytes -= e[0].length;
      if (this.qhead === this.queue.length) {
        this.queue = NOQUEUE; // an idle socket keeps no array
        this.qhead = 0;
      }
      if (this.paused && this.qbytes <= QUEUE_HIGH / 2) {
        this.paused = false;
        flowing(this.conn, true);
      }
      return Promise.resolve(e as ReadResult);
    }
    if (this.err !== undefined) return Promise.resolve([undefined, this.err]);
    return new Promise<ReadResult>((resolve) => {
      this.reader = resolve;
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
    if (this.closesent || this.finished) return Promise.resolve([false, this.err ?? "websocket: socket is closed"]);
    if (type === "text" && data instanceof Uint8Array && !isUtf8(data)) {
      return Promise.resolve([false, "websocket: text message is not valid UTF-8"]);
    }
    // A server's small message is encoded straight into the conn's output.
    if (!this.mask && data !== undefined && type !== "close") {
      const n = stagedsize(data);
      if (n > 0 && (n <= 127 || type === "text" || type === "binary")) {
        const sent = writeinto(this.conn, n, encodeinto, op, data);
        if (sent !== undefined) return sent; // else not ASCII: encoded below
      }
    }
    let frames: Buffer[];
    try {
      frames = encodemessage(type, data ?? EMPTY, this.mask);
    } catch (e) {
      return Promise.resolve([false, `websocket: ${(e as Error).message}`]);
    }
    // A close frame written by hand starts the close handshake like close() does.
    if (type === "close") this.closesent = true;
    // The conn's [true] | [false, errno] already has the shape of WriteResult.
    return this.conn.write(frames);
  }

  /** Encode and queue a frame now; returns an error tuple or undefined. */
  private sendraw(type: WriteType, payload: string | Uint8Array): WriteResult | undefined {
    try {
      void this.conn.write(encodemessage(type, payload, this.mask));
      return undefined;
    } catch (e) {
      return [false, `websocket: ${(e as Error).message}`];
    }
  }

  private sendclose(code: number | undefined, reason: string): void {
    if (this.closesent || this.finished) return;
    this.closesent = true;
    this.sendraw("close", code === undefined ? EMPTY : encodeclose(code, reason));
  }

  /**
   * Close: send a close frame (code 1000 unless given), wait for the peer's
   * close frame (at most closeTimeout ms), then close the connection.
   * Resolves when done; calling it again just waits for the same end.
   */
  close(code = 1000, reason = ""): Promise<void> {
    if (!Number.isInteger(code) || !validclosecode(code)) throw new RangeError(`websocket.close: invalid close code ${code}`);
    if (Buffer.byteLength(reason) > MAX_REASON) throw new RangeError(`websocket.close: reason is over ${MAX_REASON} bytes`);
    if (this.finished) return Promise.resolve();
    this.sendclose(code, reason);
    this.fail(this.err ?? "websocket: socket closed");
    // The peer's close frame may sit behind unread messages: read on (data
    // after our close frame is dropped, so the queue no longer grows).
    if (this.paused) {
      this.paused = false;
      flowing(this.conn, true);
    }
    const done = new Promise<void>((resolve) => (this.closewaiters ??= []).push(resolve));
    this.settle();
    if (!this.finished && this.closetimer === undefined) {
      this.closetimer = setTimeout(() => {
        this.finish();
        // The handshake failed: do not wait for a peer that may never read
        // to take the bytes still queued (conn.close() would flush them first).
        abort(this.conn);
      }, this.opts.closeTimeout);
    }
    return done;
  }

  /** Both close frames have crossed: a server closes the TCP connection at once. */
  private settle(): void {
    if (this.closesent && this.closerecv) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.closetimer !== undefined) clearTimeout(this.closetimer);
    this.fail("websocket: socket closed");
    this.conn.close();
    const ws = this.closewaiters;
    this.closewaiters = undefined;
    if (ws !== undefined) for (const w of ws) w();
  }

  /** True until the close handshake started or the connection failed. */
  isalive(): boolean {
    return !this.closesent && !this.closerecv && !this.finished && this.err === undefined;
  }
}

const EMPTY = Buffer.alloc(0);
/** The queue of every socket with nothing queued: never pushed to (deliver() swaps in an array first). */
const NOQUEUE: Entry[] = [];
const DEFAULT_OPTS: Required<SocketOptions> = Object.freeze({ ...DEFAULTS });

/**
 * Joins conn -> parser -> socket with one small object instead of four
 * closures: idle connections are the common case, and each byte counts.
 */
class Link implements ParserSink, Consumer {
  parser: FrameParser | undefined = undefined;
  constructor(private readonly sock: Socket) {}
  data(chunk: Buffer): void {
    (this.parser as FrameParser).push(chunk);
  }
  borrow(buf: Buffer, n: number): void {
    (this.parser as FrameParser).push(buf, true, n);
  }
  end(err: string): void {
    this.sock.onconnend(err);
  }
  message(type: MessageType, data: string | Buffer): void {
    this.sock.onmessage(type, data);
  }
  error(code: number, reason: string): void {
    this.sock.onprotocolerror(code, reason);
  }
}

function stripundefined(o: SocketOptions | undefined): SocketOptions {
  const out: SocketOptions = {};
  if (o === undefined) return out;
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** @internal Throws for options the Socket constructor would refuse. */
export function checksocketoptions(opts: SocketOptions | undefined): void {
  checkoptions({ ...DEFAULTS, ...stripundefined(opts) });
}

function checkoptions(o: Required<SocketOptions>): void {
  for (const k of ["maxPayload", "maxFragments", "closeTimeout"] as const) {
    if (!Number.isSafeInteger(o[k]) || o[k] <= 0) throw new RangeError(`websocket: option ${k} must be a positive integer, got ${String(o[k])}`);
  }
  if (typeof o.autopong !== "boolean") throw new TypeError("websocket: option autopong must be a boolean");
}
