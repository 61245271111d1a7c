// One raw WebSocket client connection over node:net: hand-written handshake, then
// every received byte goes to a FrameReader. Reads land in a caller-supplied buffer
// shared by all connections (net's `onread`), so receiving allocates nothing.
import net from "node:net";
import { FrameReader } from "./framereader.js";
import { OP_PONG, checkHandshake, extensionsOf, handshakeRequest, maskedFrame, newKey } from "./wsproto.js";

export interface WsEvents {
  open(c: WsConn): void;
  /** `n` complete, verified echoes arrived in one read. */
  messages(c: WsConn, n: number): void;
  /** The connection failed or was closed by the server; it is already destroyed. */
  failed(c: WsConn, why: string): void;
}

const MAX_HEAD = 16 * 1024;
const PONG_MASK = Buffer.from([1, 2, 3, 4]);

export class WsConn {
  readonly socket: net.Socket;
  state: "handshake" | "open" | "closed" = "handshake";
  /** The handshake succeeded at some point. */
  wasOpen = false;
  /** The server's Sec-WebSocket-Extensions answer, when an offer was made. */
  answer: string | undefined = undefined;
  private head = "";
  private readonly key = newKey();

  constructor(
    readonly id: number,
    port: number,
    readonly reader: FrameReader,
    private readonly events: WsEvents,
    readBuffer: Buffer,
    /** A Sec-WebSocket-Extensions offer (permessage-deflate), which the server must accept. */
    private readonly offer?: string,
  ) {
    this.socket = net.connect({
      host: "127.0.0.1",
      port,
      noDelay: true,
      onread: { buffer: readBuffer, callback: (n: number) => this.onRead(n, readBuffer) },
    });
    this.socket.on("connect", () => this.socket.write(handshakeRequest(port, this.key, offer)));
    this.socket.on("error", (err: Error) => this.fail(`socket: ${err.message}`));
    this.socket.on("close", () => this.fail("closed by server"));
    reader.onPing = (p) => this.socket.write(maskedFrame(OP_PONG, p, PONG_MASK));
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  /** Close quietly (no failure event). */
  close(): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.socket.destroy();
  }

  private onRead(n: number, buf: Buffer): boolean {
    if (this.state === "closed") return false;
    let off = 0;
    if (this.state === "handshake") {
      const prev = this.head.length;
      this.head += buf.toString("latin1", 0, n);
      const end = this.head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (this.head.length > MAX_HEAD) this.fail("handshake response too large");
        return true;
      }
      const head = this.head.slice(0, end);
      if (this.offer !== undefined) this.answer = extensionsOf(head);
      const why = checkHandshake(head, this.key, this.offer !== undefined) ?? (this.answer === undefined ? undefined : this.reader.agree(this.answer));
      if (why !== undefined) {
        this.fail(why);
        return false;
      }
      off = end + 4 - prev;
      this.head = "";
      this.state = "open";
      this.wasOpen = true;
      this.events.open(this);
      if (this.state !== "open") return false;
    }
    if (off < n) {
      const got = this.reader.feed(buf, off, n - off);
      if (this.reader.error !== undefined) {
        this.fail(this.reader.error);
        return false;
      }
      if (got > 0) this.events.messages(this, got);
    }
    return true;
  }

  private fail(why: string): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.socket.destroy();
    this.events.failed(this, why);
  }
}
