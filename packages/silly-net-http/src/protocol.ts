// silly-net-http/protocol: what a protocol layer carried over HTTP may do
// with a stream beyond the application's verbs, as silly/net/protocol is for
// a Conn. Over HTTP/1.1 a protocol takes the connection over after a 101
// (stream.conn); over HTTP/2 it runs on one stream of a shared connection, a
// tunnel opened by a 2xx answer to CONNECT: WebSocket over HTTP/2 (RFC 8441).
import type { Conn } from "silly/net/tcp";
import type { Consumer } from "silly/net/protocol";
import type { Body, ClientStream, ServerStream, WriteResult } from "./types.js";
import { OPENTUNNEL } from "./opentunnel.js";

/**
 * An HTTP/2 stream that a 2xx answer to CONNECT (RFC 9113 8.5, or RFC 8441's
 * extended CONNECT) turned into a byte stream, for a protocol layer such as
 * WebSocket. As RFC 8441 section 5 maps TCP onto the stream, END_STREAM
 * stands for a FIN and RST_STREAM (CANCEL) for a reset; the connection,
 * shared by the session's other streams, is never closed by it.
 */
export interface Tunnel {
  /** The connection the HTTP/2 session runs over, shared by its streams: do not read, write or close it. */
  readonly conn: Conn;
  /**
   * Deliver every byte the peer sends from now on to `consumer` (as
   * silly/net/protocol's takeover does for a Conn), then end(err) once: errno.EOF at the
   * peer's END_STREAM, errno.CONNRESET when the stream is reset or the
   * connection lost, errno.CLOSED after close() or abort(). Throws when
   * called twice.
   */
  takeover(consumer: Consumer): void;
  /**
   * Pause (false) or resume (true) that delivery. While paused the stream's
   * flow-control window stays shut, which holds back this stream's sender
   * only: the connection's other streams go on.
   */
  flowing(on: boolean): void;
  /**
   * Send bytes (several pieces go out as one write). Resolves once HTTP/2
   * took them; waits while the peer's window for this stream is shut
   * (backpressure); `[false, err]` once the stream is reset or ended.
   */
  write(data: Body | readonly Uint8Array[]): Promise<WriteResult>;
  /**
   * End our side (END_STREAM after the bytes written). What the peer still
   * sends is read and dropped until it ends its side too, which closes the
   * stream; past `ms` (default 10 s) or `bytes` (default 16 MiB) the stream
   * is reset instead. The consumer ends at once.
   */
  close(ms?: number, bytes?: number): void;
  /** Reset the stream now (RST_STREAM with CANCEL), unsent bytes and all. */
  abort(): void;
}

/**
 * The tunnel of an HTTP/2 stream whose CONNECT was answered 2xx: on the
 * server once respond(2xx) sent the answer (the handler may return, the
 * tunnel stays), on the client once readheader() returned it (close() then
 * leaves the stream alone). Throws (programmer errors) over HTTP/1.x, where
 * the tunnel is stream.conn; before such an answer; after read() took the
 * tunnel's bytes; or when called twice for a stream.
 */
export function tunnel(stream: ServerStream | ClientStream): Tunnel {
  const open = (stream as { [OPENTUNNEL]?: () => Tunnel })[OPENTUNNEL];
  if (typeof open === "function") return open.call(stream);
  throw new TypeError("protocol.tunnel: over HTTP/1.x the tunnel of a CONNECT is stream.conn");
}

const protocol = { tunnel };
export default protocol;
