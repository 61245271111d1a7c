// Bounded, timed delimiter reads over a Conn.
//
// conn.read(delim) waits for the delimiter however many bytes that takes. A
// Wire watches the connection while such a read is pending: when more than
// `max` bytes are buffered without the delimiter (or a request head shows
// bare-LF line ends, or starts with a byte no request starts with), or its
// deadline passes, it tells its owner (who may answer with an error status)
// and closes the conn, which ends the pending read.
//
// Two timeouts: `idlems` while none of the awaited bytes has arrived (a
// keep-alive connection between requests), `activems` from the first byte
// on (a slowloris head). Deadlines are plain numbers checked by one shared
// ticker, so a read costs no timer of its own; a deadline fires within a
// tenth of its timeout of the exact time.
//
// The Wire learns that bytes arrived as the Conn's watcher (protocol.watch):
// the Conn tells it of each chunk once it has buffered it and served any
// pending read from it.
import type { Conn, ReadResult } from "silly/net/tcp";
import { watch } from "silly/net/protocol";
import type { Watcher } from "silly/net/protocol";

export const FAIL_NONE = 0;
/** Nothing arrived within idlems. */
export const FAIL_IDLE = 1;
/** The awaited bytes did not complete within activems. */
export const FAIL_TIMEOUT = 2;
/** More than max bytes without the delimiter. */
export const FAIL_TOOLARGE = 3;
/** A head with bare-LF line ends. */
export const FAIL_BARELF = 4;
/** A request head whose first byte cannot start a request line (say, a TLS ClientHello). */
export const FAIL_GARBAGE = 5;
export type Fail =
  | typeof FAIL_NONE | typeof FAIL_IDLE | typeof FAIL_TIMEOUT | typeof FAIL_TOOLARGE | typeof FAIL_BARELF | typeof FAIL_GARBAGE;

/** Told about a failure before the conn is closed (so it can still write). */
export interface WireOwner {
  wirefail(f: Fail): void;
}

const LFLF = Buffer.from("\n\n");

/** Bytes that may start a request: a method's token characters, or CR/LF of an empty line before it. */
const STARTCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\r\n") STARTCHAR[c.charCodeAt(0)] = 1;

// ---- the shared ticker ----
//
// It runs only while some read waits, as often as the shortest timeout among
// the waiting reads asks for: each waiting Wire counts in `needs` under the
// period it wants, so the ticker slows back down (or stops) as soon as the
// reads with short timeouts are over.

const waiters = new Set<Wire>();
/** How many waiting Wires want each tick period (ms, 5..1000), and in all. */
const needs = new Int32Array(1001);
let needing = 0;
let ticker: NodeJS.Timeout | undefined = undefined;
let period = Infinity;
/** Date.now() as of the last tick: deadlines are set from it (at most one period stale). */
let clock = 0;

function tick(): void {
  // Nothing has waited since the last tick: stop (lazily, so that a client's
  // sequential requests do not start and stop a timer each).
  if (waiters.size === 0) return retune(Infinity);
  const now = (clock = Date.now());
  for (const w of waiters) w.check(now);
}

/** The period a timeout of `ms` wants: a tenth of it, between 5 ms and 1 s. */
function periodfor(ms: number): number {
  return Math.min(1000, Math.max(5, Math.floor(ms / 10)));
}

function want(p: number): void {
  const first = needing++ === 0; // the ticker may still run at a period nobody wants now
  needs[p]!++;
  if (p < period || ticker === undefined || (first && p !== period)) retune(p);
}

function unwant(p: number): void {
  needing--;
  // With nothing left waiting, the next tick stops the ticker.
  if (--needs[p]! > 0 || p !== period || needing === 0) return;
  let next = p + 1;
  while (needs[next] === 0) next++;
  retune(next);
}

function retune(p: number): void {
  if (ticker !== undefined) clearInterval(ticker);
  ticker = undefined;
  period = p;
  if (p === Infinity) return;
  clock = Date.now();
  ticker = setInterval(tick, p);
  ticker.unref(); // sockets keep the process alive, not this
}

/** @internal For tests: the ticker's period in ms (Infinity while it is stopped). */
export function tickperiod(): number {
  return period;
}

export class Wire implements Watcher {
  /** Why the last read was cut short (FAIL_NONE if it was not). */
  fail: Fail = FAIL_NONE;
  private waiting = false;
  private max = 0;
  private lfcheck = false;
  private active = false;
  private activems = 0;
  private deadline = 0;
  private checking = false;
  private sawlf = false;
  private garbage = false;
  private owner: WireOwner | undefined = undefined;
  private attached = true;
  private need = 0; // the tick period this Wire counts under while waiting

  // No listener or closure of its own on the socket: its owner detaches it
  // when the conn ends or changes hands; the ticker only knows waiting Wires.
  constructor(readonly conn: Conn) {
    watch(conn, this);
  }

  /** A read is waiting and none of its bytes has arrived (an idle keep-alive connection). */
  idle(): boolean {
    return this.waiting && !this.active;
  }

  /** Stop watching (the conn is closing or is handed to another protocol). */
  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    this.stop();
    watch(this.conn, undefined);
  }

  /** The read is no longer waiting: leave the ticker. */
  private stop(): void {
    if (!this.waiting) return;
    this.waiting = false;
    waiters.delete(this);
    unwant(this.need);
  }

  /**
   * Read through `delim`. Fails with `[undefined, err]` on EOF/reset, or
   * after the Wire cut it short (see `fail`; the conn is closed then). A
   * result longer than `max` is returned as is: the caller checks it.
   */
  until(delim: Buffer, max: number, idlems: number, activems: number, lfcheck: boolean, owner: WireOwner | undefined): Promise<ReadResult> {
    this.begin(max, idlems, activems, lfcheck, owner);
    return this.conn.read(delim).then((r) => {
      this.stop();
      return r;
    });
  }

  /**
   * The parts of until() around the read, for callers that await the read
   * themselves: begin(), `await conn.read(delim)`, done(). With `lfcheck`
   * the awaited bytes are a request head (bare-LF and first-byte checks).
   */
  begin(max: number, idlems: number, activems: number, lfcheck: boolean, owner: WireOwner | undefined): void {
    this.stop();
    this.waiting = true;
    this.max = max;
    this.lfcheck = lfcheck;
    this.sawlf = false;
    this.garbage = false;
    this.activems = activems;
    this.owner = owner;
    this.fail = FAIL_NONE;
    const buffered = this.conn.unreadbytes();
    this.active = buffered > 0;
    // Tick often enough for both timeouts: the read may turn active later.
    this.need = periodfor(idlems < activems ? idlems : activems);
    waiters.add(this);
    want(this.need);
    this.deadline = clock + (this.active ? activems : idlems);
    if (buffered > max) this.schedulecheck();
  }

  /** Mark the pending read done (see begin()). */
  done(): void {
    this.stop();
  }

  /** @internal A chunk arrived (the Conn has already taken it in). */
  arrived(chunk: Buffer): void {
    if (!this.waiting) return;
    const n = this.conn.unreadbytes();
    // Nothing left buffered: the read took what came (it has completed).
    if (n === 0) return;
    if (!this.active) {
      this.active = true;
      this.deadline = clock + this.activems;
    }
    if (this.lfcheck) {
      // This chunk starts the head: is it a request at all?
      if (n === chunk.length && STARTCHAR[chunk[0]!] !== 1) this.garbage = true;
      if (!this.sawlf && chunk.indexOf(LFLF) >= 0) this.sawlf = true;
    }
    if (n > this.max || this.sawlf || this.garbage) this.schedulecheck();
  }

  /**
   * Judge on the next turn: by then a read that this chunk completed has
   * resumed its caller (microtasks have run), so a read still waiting is
   * really pending and the bytes buffered lack its delimiter.
   */
  private schedulecheck(): void {
    if (!this.checking) {
      this.checking = true;
      setImmediate(recheck, this);
    }
  }

  /** @internal */
  recheck(): void {
    this.checking = false;
    if (!this.waiting) return;
    if (this.garbage) this.abort(FAIL_GARBAGE);
    else if (this.conn.unreadbytes() > this.max) this.abort(FAIL_TOOLARGE);
    else if (this.sawlf) this.abort(FAIL_BARELF);
  }

  /** @internal The ticker's visit (timers run after microtasks: a waiting read is pending). */
  check(now: number): void {
    if (!this.conn.isalive()) return this.stop(); // the conn has ended: the read has failed
    const n = this.conn.unreadbytes();
    if (n > this.max) return this.abort(FAIL_TOOLARGE);
    if (!this.active && n > 0) {
      // Bytes arrived that no hook reported: the head has begun.
      this.active = true;
      this.deadline = now + this.activems;
    }
    if (now >= this.deadline) this.abort(this.active ? FAIL_TIMEOUT : FAIL_IDLE);
  }

  private abort(f: Fail): void {
    this.fail = f;
    this.stop();
    this.owner?.wirefail(f);
    this.conn.close();
  }
}

function recheck(w: Wire): void {
  w.recheck();
}
