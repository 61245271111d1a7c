// An HTTP/2 stream after a 2xx to CONNECT (RFC 9113 8.5, RFC 8441) as a byte
// stream for a protocol layer, server and client alike: the peer's DATA
// frames go to a consumer as they arrive, paced per stream by HTTP/2 flow
// control, and our bytes go out as DATA frames. As RFC 8441 section 5 maps
// TCP onto the stream, END_STREAM stands for a FIN and RST_STREAM (CANCEL)
// for a reset: nothing here ever touches the connection the session's other
// streams share.
import * as http2 from "node:http2";
import type { Http2Stream } from "node:http2";
import type { Conn } from "silly/net/tcp";
import type { Consumer } from "silly/net/protocol";
import { CLOSED, CONNRESET, EOF } from "silly/errno";
import type { Body, WriteResult } from "../types.js";
import type { Tunnel } from "../protocol.js";
import { RESET } from "./outbound.js";
import { OK, OK_P } from "../results.js";

const { NGHTTP2_CANCEL } = http2.constants;

/** close()'s bounds by default: how long, and how many bytes, the peer may still send after our END_STREAM. */
const CLOSE_MS = 10_000;
const CLOSE_BYTES = 16 * 1024 * 1024;

/** The tunnel an HTTP/2 stream carries, for the listeners below, which every tunnel shares. */
const TUNNEL = Symbol("tunnel");
type Tagged = Http2Stream & { [TUNNEL]?: H2Tunnel };

// An idle WebSocket holds one of these per stream: its listeners are
// functions every tunnel shares (they find the tunnel on the stream), and
// what only some tunnels need (writes waiting for a window) comes when needed.
export class H2Tunnel implements Tunnel {
  readonly conn: Conn;
  readonly #st: Tagged;
  #consumer: Consumer | undefined = undefined;
  #ended = false; // the consumer had its end()
  #corked = false;
  /** Writes waiting for the stream's buffer to drain, in order: one 'drain' listener serves them all. */
  #waiting: ((r: WriteResult) => void)[] | undefined = undefined;

  /** @internal */
  constructor(st: Http2Stream, conn: Conn) {
    this.#st = st;
    this.conn = conn;
    (st as Tagged)[TUNNEL] = this;
    st.on("close", H2Tunnel.#onclose);
  }

  static #of(st: Tagged): H2Tunnel {
    return st[TUNNEL]!;
  }

  // A reset also ends the readable side: st.aborted at 'end' (or no 'end'
  // before 'close') tells it apart from the peer's END_STREAM.
  static #onclose(this: Tagged): void {
    const t = H2Tunnel.#of(this);
    t.#settle(RESET);
    if (t.#consumer !== undefined) t.#end(CONNRESET);
  }

  static #ondata(this: Tagged, chunk: Buffer): void {
    const t = H2Tunnel.#of(this);
    if (!t.#ended) t.#consumer!.data(chunk);
  }

  static #onend(this: Tagged): void {
    H2Tunnel.#of(this).#end(this.aborted ? CONNRESET : EOF);
  }

  static #ondrain(this: Tagged): void {
    H2Tunnel.#of(this).#settle(OK);
  }

  static #uncork(t: H2Tunnel): void {
    t.#corked = false;
    t.#st.uncork();
  }

  #settle(r: WriteResult): void {
    const w = this.#waiting;
    if (w !== undefined && w.length > 0) for (const resolve of w.splice(0)) resolve(r);
  }

  takeover(consumer: Consumer): void {
    if (this.#consumer !== undefined) throw new TypeError("tunnel.takeover: the tunnel was already taken over");
    this.#consumer = consumer;
    const st = this.#st;
    st.on("data", H2Tunnel.#ondata);
    st.on("end", H2Tunnel.#onend);
    if (st.destroyed) this.#end(CONNRESET);
  }

  #end(err: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#consumer?.end(err);
  }

  flowing(on: boolean): void {
    if (this.#consumer === undefined) throw new TypeError("tunnel.flowing: the tunnel was not taken over");
    if (on) this.#st.resume();
    else this.#st.pause();
  }

  write(data: Body | readonly Uint8Array[]): Promise<WriteResult> {
    const st = this.#st;
    if (st.destroyed || st.writableEnded) return Promise.resolve(RESET);
    // Writes of one turn go to node:http2 as one (the stream's writev).
    if (!this.#corked) {
      this.#corked = true;
      st.cork();
      process.nextTick(H2Tunnel.#uncork, this);
    }
    let room = true;
    if (Array.isArray(data)) for (const part of data as readonly Uint8Array[]) room = st.write(part);
    else room = st.write(data as Body);
    // Past the stream's buffer (the peer's window is shut) a write resolves
    // once it drains; one behind a waiting write waits too, to resolve in order.
    let w = this.#waiting;
    if (room && (w === undefined || w.length === 0)) return OK_P;
    if (w === undefined) {
      w = this.#waiting = [];
      st.on("drain", H2Tunnel.#ondrain);
    }
    const waiting = w;
    return new Promise<WriteResult>((resolve) => waiting.push(resolve));
  }

  close(ms = CLOSE_MS, bytes = CLOSE_BYTES): void {
    if (!(ms >= 0) || !(bytes >= 0)) throw new RangeError("tunnel.close: ms and bytes must be >= 0");
    const st = this.#st;
    this.#end(CLOSED);
    if (st.destroyed || st.writableEnded) return;
    st.end();
    // The stream closes once both sides have ended. Till then what the peer
    // still sends is read and dropped (flow control would hold it back, and
    // the stream would never close), within the bounds; a peer that does not
    // read our last bytes is bounded by the same time.
    let left = bytes;
    const reset = (): void => {
      if (!st.destroyed) st.close(NGHTTP2_CANCEL);
    };
    if (!st.readableEnded) {
      st.on("data", (chunk: Buffer) => {
        left -= chunk.length;
        if (left < 0) reset();
      });
      st.resume();
    }
    const timer = setTimeout(reset, ms);
    st.once("close", () => clearTimeout(timer));
  }

  abort(): void {
    this.#end(CLOSED);
    const st = this.#st;
    if (!st.destroyed) st.close(NGHTTP2_CANCEL);
  }
}
