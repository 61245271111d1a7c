// Bounded, timed delimiter reads over a Conn.
//
// conn.read(delim) waits for the delimiter however many bytes that takes. A
// Wire watches the socket while such a read is pending: when more than `max`
// bytes are buffered without the delimiter (or a head shows bare-LF line
// ends), or a timer runs out, it tells its owner (who may answer with an
// error status) and closes the conn, which ends the pending read.
//
// Two timeouts: `idlems` while none of the awaited bytes has arrived (a
// keep-alive connection between requests), `activems` from the first byte
// on (a slowloris head). The watcher is one socket listener per connection;
// per read it costs a counter and one timer.
import type { Conn, ReadResult } from "silly/net/tcp";

export const FAIL_NONE = 0;
/** Nothing arrived within idlems. */
export const FAIL_IDLE = 1;
/** The awaited bytes did not complete within activems. */
export const FAIL_TIMEOUT = 2;
/** More than max bytes without the delimiter. */
export const FAIL_TOOLARGE = 3;
/** A head with bare-LF line ends. */
export const FAIL_BARELF = 4;
export type Fail = typeof FAIL_NONE | typeof FAIL_IDLE | typeof FAIL_TIMEOUT | typeof FAIL_TOOLARGE | typeof FAIL_BARELF;

/** Told about a failure before the conn is closed (so it can still write). */
export interface WireOwner {
  wirefail(f: Fail): void;
}

const LFLF = Buffer.from("\n\n");

export class Wire {
  /** Why the last read was cut short (FAIL_NONE if it was not). */
  fail: Fail = FAIL_NONE;
  private seq = 0;
  private waiting = 0; // seq of the pending read, 0 when none
  private max = 0;
  private lfcheck = false;
  private active = false;
  private activems = 0;
  private checking = false;
  private sawlf = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private owner: WireOwner | undefined = undefined;
  private attached = true;
  private readonly listener: (chunk: Buffer) => void;

  constructor(readonly conn: Conn) {
    this.listener = (chunk: Buffer) => this.ondata(chunk);
    // Added after the Conn's own listener: when it runs, the Conn has taken the chunk.
    conn.socket.on("data", this.listener);
  }

  /** A read is waiting and none of its bytes has arrived (an idle keep-alive connection). */
  idle(): boolean {
    return this.waiting !== 0 && !this.active;
  }

  /** Stop watching the socket (the conn is being handed to another protocol). */
  detach(): void {
    if (this.attached) {
      this.attached = false;
      this.conn.socket.off("data", this.listener);
      this.stoptimer();
    }
  }

  /**
   * Read through `delim`. Fails with `[undefined, err]` on EOF/reset, or
   * after the Wire cut it short (see `fail`; the conn is closed then). A
   * result longer than `max` is returned as is: the caller checks it.
   */
  async until(delim: Buffer, max: number, idlems: number, activems: number, lfcheck: boolean, owner: WireOwner | undefined): Promise<ReadResult> {
    const seq = ++this.seq;
    this.waiting = seq;
    this.max = max;
    this.lfcheck = lfcheck;
    this.sawlf = false;
    this.activems = activems;
    this.owner = owner;
    this.fail = FAIL_NONE;
    const buffered = this.conn.unreadbytes();
    this.active = buffered > 0;
    this.timer = setTimeout(expire, this.active ? activems : idlems, this, seq);
    if (buffered > max) this.schedulecheck();
    const r = await this.conn.read(delim);
    this.waiting = 0;
    this.stoptimer();
    return r;
  }

  private stoptimer(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private ondata(chunk: Buffer): void {
    if (this.waiting === 0) return;
    const n = this.conn.unreadbytes();
    // Nothing left buffered: the read took what came (it has completed).
    if (n === 0) return;
    if (!this.active) {
      this.active = true;
      this.stoptimer();
      this.timer = setTimeout(expire, this.activems, this, this.waiting);
    }
    if (this.lfcheck && !this.sawlf && chunk.indexOf(LFLF) >= 0) this.sawlf = true;
    if (n > this.max || this.sawlf) this.schedulecheck();
  }

  /**
   * Judge on the next turn: by then a read that this chunk completed has
   * resumed its caller (microtasks have run), so a read still waiting is
   * really pending and the bytes buffered lack its delimiter.
   */
  private schedulecheck(): void {
    if (!this.checking) {
      this.checking = true;
      setImmediate(check, this);
    }
  }

  /** @internal */
  recheck(): void {
    this.checking = false;
    if (this.waiting === 0) return;
    if (this.conn.unreadbytes() > this.max) this.abort(FAIL_TOOLARGE);
    else if (this.sawlf) this.abort(FAIL_BARELF);
  }

  /** @internal */
  abort(f: Fail): void {
    this.fail = f;
    this.stoptimer();
    this.owner?.wirefail(f);
    this.conn.close();
  }

  /** @internal */
  expired(seq: number): void {
    this.timer = undefined;
    if (this.waiting !== seq) return;
    this.abort(this.active ? FAIL_TIMEOUT : FAIL_IDLE);
  }
}

function check(w: Wire): void {
  w.recheck();
}

function expire(w: Wire, seq: number): void {
  w.expired(seq);
}
