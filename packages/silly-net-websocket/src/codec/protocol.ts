// The WebSocket connection as a sans-I/O state machine (RFC 6455 sections 5
// and 7): bytes in, events out; messages in, bytes out. No sockets, no timers,
// no promises. The host (the Socket, or a test) feeds it the peer's bytes and
// EOF, calls tick(now) once the deadline it asked for has passed, and carries
// out what it is told through the ProtocolHost interface.
//
// States:
//   open     messages flow both ways
//   failing  the peer broke the protocol; what preceded the bad frame was
//            delivered, nothing after it will be. The failure (our close
//            frame) waits until the application has taken those messages
//            (fail()), so that its answers to them go out first; at most
//            closetimeout. Sending is still allowed.
//   closing  our close frame is sent; the peer's is awaited (data frames that
//            still arrive are dropped)
//   draining (clients) the close frames have crossed, or our close frame
//            answered a failure: no more frames are processed. The client
//            waits for the server's EOF (RFC 6455 7.1.1: the server closes TCP
//            first), reading and discarding what still arrives, then closes.
//   closed   the transport is closed or being closed; nothing more happens.
//            Where a client drains, a server closes with a lingering close
//            (the transport's linger): it ends its side at once and discards
//            what the peer still sends until the peer's EOF (a peer still
//            sending would otherwise get a reset, and lose our close frame
//            with it), for at most closetimeout and maxpayload + 1 MiB.
//
// Every wait in the closing states is bounded by closetimeout: past it the
// transport is aborted.
//
// While open the protocol checks the connection at a fixed period, the
// shortest of pinginterval, pongtimeout and stalltimeout among those in use
// (see checkperiod), and counts the checks:
// - keepalive (pinginterval > 0): a peer silent (no byte at all) for
//   pinginterval gets a ping; one silent for pongtimeout after the ping fails
//   the connection with 1011. Any byte is proof of life (a pong may queue
//   behind a large message); the pongs that answer these pings (payload
//   "keepalive") are not handed on.
// - stalls (stalltimeout > 0): a frame or fragmented message that has begun
//   and makes no progress (no payload byte, no message completed) for
//   stalltimeout fails the connection with 1008 (policy violation). Without
//   keepalive the checks run only while something is unfinished.
// - the budget: what the parser holds of an unfinished message is counted in
//   a Budget shared by many sockets, after each chunk; a message over
//   BUDGET_FLOOR that grows while the budget is exceeded fails with 1009.
//   (A compressed message counts as it arrives, compressed.)
//
// permessage-deflate (RFC 7692), when the handshake agreed it: the host gives
// the protocol a MessageDeflate, which works synchronously, so compressed
// messages keep their place among the others both ways. Received compressed
// messages are inflated as they complete (bounded by maxpayload: 1009; bad
// data: 1002; text not UTF-8: 1007, failures like the parser's); data
// messages sent at or above its threshold are compressed, RSV1 on their first
// frame; control frames never are. Its zlib contexts are released as soon as
// the connection neither sends nor receives any more.
//
// The protocol's input methods (data, borrow, end) have the shape of a
// silly/net/protocol Consumer, so a conn can feed it directly.
import { FrameParser, encodemessage, stagedsize } from "./frame.js";
import type { MessageType, ParserOptions, ParserSink } from "./frame.js";
import type { MessageDeflate } from "./permessagedeflate.js";
import { decodeclose, encodeclose } from "./closecode.js";
import { BUDGET_FLOOR } from "./budget.js";
import type { Budget } from "./budget.js";

export type ProtocolState = "open" | "failing" | "closing" | "draining" | "closed";

export interface ProtocolOptions {
  role: "server" | "client";
  /** Largest message accepted, in bytes. */
  maxpayload: number;
  /** Most frames one message may arrive in. */
  maxfragments: number;
  /** How long the closing handshake may take, in ms. */
  closetimeout: number;
  /** Answer pings with pongs instead of handing them to the application. */
  autopong: boolean;
  /** Keepalive: ping a peer silent for this long, in ms; 0 for none. */
  pinginterval: number;
  /** Keepalive: fail with 1011 when nothing arrives this long after a ping, in ms. */
  pongtimeout: number;
  /** Fail with 1008 a frame or message that makes no progress for this long, in ms; 0 for never. */
  stalltimeout: number;
  /** Where the bytes of unfinished messages are counted, with other sockets'. */
  budget: Budget;
}

/** What the protocol asks of its host. The calls never re-enter the protocol. */
export interface ProtocolHost {
  /**
   * A message for the application, in order: text, binary, ping, pong, or the
   * peer's close frame (its reason, as "close").
   */
  onmessage(type: MessageType, data: string | Buffer): void;
  /** No more messages will come: `err` says why. */
  onend(err: string): void;
  /**
   * True when the application has taken every message handed to onmessage and
   * is not busy with the last one: a failure then needs to wait for nothing.
   */
  caughtup(): boolean;
  /** Bytes the protocol made itself (pongs, close frames): send them. */
  transmit(frames: Buffer[]): void;
  /** Stop receiving: the peer sent more after a failure than it may. */
  pause(): void;
  /** Close the transport: gracefully (queued bytes first) or, with `abort`, at once. */
  closetransport(abort: boolean): void;
  /**
   * Close the transport after the queued bytes, ending our side at once but
   * reading and dropping what the peer still sends until its EOF, for at most
   * `ms` and `bytes` (a lingering close).
   */
  linger(ms: number, bytes: number): void;
  /** Call tick(now) once now >= at (ms on the host's clock; also in `deadline`); -1 cancels. */
  settimer(at: number): void;
  /** The host's clock, in ms; read only when a deadline is set. */
  now(): number;
}

const EMPTY = Buffer.alloc(0);
// The `checks` field: three flags, then two counts of checks (14 bits each).
/** Bytes arrived since the last check. */
const HEARD = 1;
/** A keepalive ping awaits an answer. */
const PINGING = 2;
/** The unfinished message moved (bytes, or a message completed) since the last check. */
const MOVED = 4;
/** Checks since the peer was last heard (or since the ping): checks >> SILENT & COUNT. */
const SILENT = 3;
/** Checks the unfinished message has not moved: checks >> STUCK & COUNT. */
const STUCK = 17;
const COUNT = 0x3fff;
/** The payload of keepalive pings: their pongs are recognized by it. */
const KEEPALIVE = Buffer.from("keepalive");
/** A server's keepalive ping frame (unmasked), the same bytes for every connection. */
const SERVER_PING = encodemessage("ping", KEEPALIVE, false);
/** After the close frames, read at most maxpayload + this many bytes waiting for the peer's EOF. */
const LINGER_SLACK = 1024 * 1024;

/**
 * The period of the open state's checks: the shortest wait in use, but long
 * enough that no count passes COUNT. 0 when nothing is checked.
 */
function checkperiod(o: Readonly<ProtocolOptions>): number {
  const ka = o.pinginterval > 0;
  const waits = [ka ? o.pinginterval : 0, ka ? o.pongtimeout : 0, o.stalltimeout].filter((w) => w > 0);
  if (waits.length === 0) return 0;
  return Math.max(Math.min(...waits), Math.ceil(Math.max(...waits) / COUNT));
}

/** The checks it takes to cover `wait` ms. */
function periods(wait: number, period: number): number {
  return Math.ceil(wait / period);
}

/** The longest reason a failure puts in its close frame: 123 bytes, cut at a character. */
function closereason(why: string): string {
  if (Buffer.byteLength(why) <= 123) return why;
  let s = why.slice(0, 123);
  while (Buffer.byteLength(s) > 123) s = s.slice(0, -1);
  return s;
}

/**
 * The parser options of a protocol's options, one object for each, and one
 * more with RSV1 allowed (compression): parsers made from it share their limits.
 */
const parseropts = new WeakMap<Readonly<ProtocolOptions>, [plain: ParserOptions, rsv1: ParserOptions | undefined]>();

function parseroptions(o: Readonly<ProtocolOptions>, rsv1: boolean): ParserOptions {
  let p = parseropts.get(o);
  if (p === undefined) {
    p = [{ role: o.role, maxpayload: o.maxpayload, maxfragments: o.maxfragments }, undefined];
    parseropts.set(o, p);
  }
  if (!rsv1) return p[0];
  return (p[1] ??= { ...p[0], rsv1allowed: true });
}

export class Protocol implements ParserSink {
  state: ProtocolState = "open";
  /** The peer's close code (1005 when its close frame had none), once its close frame arrived. */
  get closecode(): number | undefined {
    return this.peer?.code;
  }
  /** The peer's close reason, once its close frame arrived. */
  get closereason(): string | undefined {
    return this.peer?.reason;
  }

  // Few fields, and numbers that stay small integers: every idle connection has one of these.
  private readonly parser: FrameParser;
  /** When tick(now) is next needed, on the host's clock; -1 for never. */
  deadline = -1;
  private failure: Buffer | undefined = undefined; // the close payload waiting in state "failing"
  private discarded = 0; // bytes read and dropped since the parser stopped
  private peer: { code: number; reason: string } | undefined = undefined; // the peer's close frame
  private checks = 0; // flags and counts of the periodic checks (HEARD, PINGING, MOVED, SILENT, STUCK)
  private held = 0; // bytes of unfinished messages counted in the budget

  /**
   * `deflate`: permessage-deflate, when the handshake agreed it. The protocol
   * releases it (close()) once the connection neither sends nor receives.
   */
  constructor(
    private readonly opts: Readonly<ProtocolOptions>,
    private readonly host: ProtocolHost,
    private deflate: MessageDeflate | undefined = undefined,
  ) {
    this.parser = new FrameParser(parseroptions(opts, deflate !== undefined), this);
    // The first keepalive check. (Set, not announced: the host schedules the
    // deadline a new protocol has; no host call runs during construction.)
    if (opts.pinginterval > 0) this.deadline = host.now() + checkperiod(opts);
  }

  /** Clients mask their frames. */
  private get mask(): boolean {
    return this.opts.role === "client";
  }

  // ---- bytes in (the shape of a Consumer) ----

  /** Bytes from the peer; the chunk becomes the protocol's (messages may be views into it). */
  data(chunk: Buffer): void {
    this.checks |= HEARD;
    if (this.parser.stopped) this.discard(chunk.length);
    else {
      this.parser.push(chunk);
      this.pushed();
    }
  }

  /** Bytes from the peer in `buf[0..n)`, on loan for the duration of the call. */
  borrow(buf: Buffer, n: number): void {
    this.checks |= HEARD;
    if (this.parser.stopped) this.discard(n);
    else {
      this.parser.push(buf, true, n);
      this.pushed();
    }
  }

  /**
   * After each chunk: count what the parser holds in the budget (a message
   * that grows past it fails), and have an unfinished message checked.
   */
  private pushed(): void {
    const h = this.parser.held;
    if (h !== this.held) {
      this.checks |= MOVED;
      const b = this.opts.budget;
      const grew = h > this.held;
      b.used += h - this.held;
      this.held = h;
      if (grew && h > BUDGET_FLOOR && b.used > b.limit) {
        this.halt();
        this.error(1009, `the messages being received exceed the memory budget (${b.limit} bytes)`);
        return;
      }
    }
    // Without keepalive, checks run only while something is unfinished.
    if (this.deadline < 0 && this.state === "open" && this.opts.stalltimeout > 0 && this.parser.busy) {
      this.settimer(this.host.now() + checkperiod(this.opts));
    }
  }

  /** Stop the parser for good and release what it held from the budget. */
  private halt(): void {
    this.parser.stop();
    this.opts.budget.used -= this.held;
    this.held = 0;
  }

  /** The transport ended: `err` is the transport's reason (EOF, a reset, closed). */
  end(err: string): void {
    if (this.state === "closed") return;
    this.host.onend(this.state === "open" ? `websocket: connection ended without a close frame (${err})` : "websocket: socket closed");
    this.close("close");
  }

  /** Bytes after the end of what is processed: bounded, then no more are read. */
  private discard(n: number): void {
    if (this.state !== "failing" && this.state !== "draining") return;
    const before = this.discarded;
    this.discarded += n;
    const bound = this.opts.maxpayload + LINGER_SLACK;
    if (before <= bound && this.discarded > bound) this.host.pause();
  }

  // ---- the parser's events ----

  /** @internal The parser's sink. */
  message(type: MessageType, data: string | Buffer): void {
    if (type === "close") {
      this.onclose(data as Buffer);
      return;
    }
    if (this.state !== "open") return; // we are closing: data after our close frame is dropped
    if (type === "ping" && this.opts.autopong) {
      this.host.transmit(encodemessage("pong", data, this.mask));
      return;
    }
    if (type === "pong" && this.opts.pinginterval > 0 && KEEPALIVE.equals(data as Buffer)) return; // the answer to our keepalive
    if (type === "text" || type === "binary") this.checks |= MOVED;
    this.host.onmessage(type, data);
  }

  /** @internal The parser's sink: a whole compressed message (compression only). */
  compressed(type: "text" | "binary", data: Buffer): void {
    if (this.state !== "open") return; // as message(): dropped, and so is its effect on the window
    const [m, err] = (this.deflate as MessageDeflate).decompress(data, type);
    if (m === undefined) {
      this.halt();
      this.error(err.code, err.reason);
      return;
    }
    this.checks |= MOVED;
    this.host.onmessage(type, m);
  }

  /** @internal The parser's sink: the peer broke the protocol (the parser has stopped). */
  error(code: number, reason: string): void {
    if (this.state === "closing") {
      // Our close frame is out already: there is nothing left to say.
      this.host.onend(`websocket: ${code} ${reason}`);
      this.drain();
      return;
    }
    if (this.state !== "open") return;
    this.state = "failing";
    this.failure = encodeclose(code, closereason(reason));
    const now = this.host.caughtup();
    this.host.onend(`websocket: ${code} ${reason}`);
    if (now) this.fail();
    else this.settimer(this.host.now() + this.opts.closetimeout);
  }

  /**
   * The application has taken every message that preceded the failure: send
   * the close frame and close. Does nothing unless failing.
   */
  fail(): void {
    if (this.state !== "failing") return;
    this.host.transmit(encodemessage("close", this.failure as Buffer, this.mask));
    this.drain();
  }

  private onclose(payload: Buffer): void {
    if (this.state === "closed") return;
    const c = decodeclose(payload); // the parser checked it
    if (!c.ok) return;
    this.halt(); // nothing after a close frame counts
    this.peer = c;
    // Echo the close so the handshake completes even before the app reacts.
    if (this.state === "open") this.host.transmit(encodemessage("close", c.code === 1005 ? EMPTY : encodeclose(c.code, ""), this.mask));
    this.host.onmessage("close", c.reason);
    this.host.onend(`websocket: closed by peer (${c.code}${c.reason ? ` ${c.reason}` : ""})`);
    this.drain();
  }

  // ---- messages in, bytes out ----

  /**
   * The bytes of an unmasked frame `encodeinto` can write for this message in
   * place, or -1 when it must go through send(): the server's small messages
   * (unless they are to be compressed).
   */
  inplace(type: MessageType, data: string | Uint8Array): number {
    if (this.mask || !this.sending() || type === "close") return -1;
    if (this.deflate !== undefined && type !== "ping" && type !== "pong" && this.deflate.wants(data)) return -1;
    const n = stagedsize(data);
    return n > 0 && (n <= 127 || type === "text" || type === "binary") ? n : -1;
  }

  /**
   * The frames of one message, or an error string when it cannot be sent
   * (the socket is closing, or a control payload is over 125 bytes). A close
   * frame (`payload` built by encodeclose) starts the closing handshake.
   */
  send(type: MessageType, data: string | Uint8Array): Buffer[] | string {
    if (!this.sending()) return "websocket: socket is closed";
    const d = this.deflate;
    if (d !== undefined && (type === "text" || type === "binary") && d.wants(data)) {
      const [z, err] = d.compress(data);
      if (z !== undefined) return encodemessage(type, z, this.mask, true);
      this.abandon(1011, err);
      return `websocket: ${err}`;
    }
    let frames: Buffer[];
    try {
      frames = encodemessage(type, data, this.mask);
    } catch (e) {
      return `websocket: ${(e as Error).message}`;
    }
    // A close frame written by hand starts the handshake but, unlike
    // closewith, leaves reads open for the peer's answer.
    if (type === "close") {
      if (this.state === "failing") {
        this.drain(); // the application's close frame stands for the failure's
        return frames;
      }
      this.closing();
    }
    return frames;
  }

  /** True while messages may be sent: open, or failing (answers to what preceded the bad frame). */
  sending(): boolean {
    return this.state === "open" || this.state === "failing";
  }

  /**
   * Start the closing handshake with `code` and `reason` (checked by the
   * caller). While failing, the failure goes ahead instead.
   */
  closewith(code: number, reason: string): void {
    if (this.state === "failing") {
      this.fail();
      return;
    }
    if (this.state !== "open") return;
    this.host.transmit(encodemessage("close", encodeclose(code, reason), this.mask));
    this.closing();
    this.host.onend("websocket: socket closed");
  }

  private closing(): void {
    this.state = "closing";
    this.settimer(this.host.now() + this.opts.closetimeout);
  }

  // ---- time ----

  /** The host's clock reached the deadline it was given. */
  tick(now: number): void {
    if (this.deadline < 0 || now < this.deadline) return;
    this.deadline = -1;
    if (this.state === "open") this.check(now);
    // The application did not get to the failure in time: fail anyway.
    else if (this.state === "failing") this.fail();
    // The closing handshake took too long: drop the transport, queued bytes and all.
    else if (this.state === "closing" || this.state === "draining") this.close("abort");
  }

  /** The open state's periodic check: stalls and keepalive. */
  private check(now: number): void {
    const o = this.opts;
    const period = checkperiod(o);
    let c = this.checks;
    let silent = (c >> SILENT) & COUNT;
    let stuck = (c >> STUCK) & COUNT;
    const busy = this.parser.busy;
    if (o.stalltimeout > 0 && busy && (c & MOVED) === 0) {
      stuck = Math.min(stuck + 1, COUNT);
      if (stuck >= periods(o.stalltimeout, period)) {
        this.halt();
        this.error(1008, `a message made no progress for ${o.stalltimeout} ms`);
        return;
      }
    } else stuck = 0;
    if (o.pinginterval > 0) {
      if ((c & HEARD) !== 0) {
        silent = 0;
        c &= ~PINGING;
      } else silent = Math.min(silent + 1, COUNT);
      if ((c & PINGING) !== 0) {
        if (silent >= periods(o.pongtimeout, period)) {
          this.abandon(1011, `keepalive: no answer to a ping within ${o.pongtimeout} ms`);
          return;
        }
      } else if (silent >= periods(o.pinginterval, period)) {
        this.host.transmit(this.mask ? encodemessage("ping", KEEPALIVE, true) : SERVER_PING);
        c |= PINGING;
        silent = 0;
      }
    }
    this.checks = (c & PINGING) | (silent << SILENT) | (stuck << STUCK);
    if (o.pinginterval > 0 || (o.stalltimeout > 0 && busy)) this.settimer(now + period);
  }

  /**
   * Fail the connection on our side's initiative (no bad frame to keep in
   * order): the close frame goes out now and reads end with the reason.
   */
  private abandon(code: number, reason: string): void {
    this.halt();
    this.host.onend(`websocket: ${code} ${reason}`);
    this.host.transmit(encodemessage("close", encodeclose(code, closereason(reason)), this.mask));
    this.drain();
  }

  private settimer(at: number): void {
    this.deadline = at;
    this.host.settimer(at);
  }

  /**
   * No more frames are processed. A server closes TCP first, lingering; a
   * client waits for it, discarding what still arrives.
   */
  private drain(): void {
    if (this.opts.role === "server") {
      this.close("linger");
      return;
    }
    this.state = "draining";
    this.halt();
    this.release();
    this.settimer(this.host.now() + this.opts.closetimeout);
  }

  /** Nothing more is sent or received: the zlib contexts go. */
  private release(): void {
    this.deflate?.close();
    this.deflate = undefined;
  }

  /** The end: the transport is closed gracefully, at once (abort), or lingering. */
  private close(how: "close" | "abort" | "linger"): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.halt();
    this.release();
    if (this.deadline >= 0) this.settimer(-1);
    if (how === "linger") this.host.linger(this.opts.closetimeout, this.opts.maxpayload + LINGER_SLACK);
    else this.host.closetransport(how === "abort");
  }
}
