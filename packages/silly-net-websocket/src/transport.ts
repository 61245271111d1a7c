// What a Socket needs of the byte stream under it. A tcp or tls Conn provides
// it through silly/net/protocol; another stream (an HTTP/2 stream carrying a
// WebSocket, RFC 8441) can provide the same. A Transport holds no state of
// its own: one object serves every socket of its kind, and each call names
// the stream (`io`).
import type { Conn, WriteResult } from "silly/net/tcp";
import type { Tunnel } from "silly-net-http/protocol";
import { abort, flowing, linger, takeover, writeinto } from "silly/net/protocol";
import type { Consumer, Encoder } from "silly/net/protocol";

export interface Transport<T> {
  /** The tcp or tls connection the stream runs over (sock.conn). */
  conn(io: T): Conn;
  /** Deliver every byte from now on to `consumer` (see protocol.takeover). */
  takeover(io: T, consumer: Consumer): void;
  /** Pause (false) or resume (true) that delivery. */
  flowing(io: T, on: boolean): void;
  /** Queue bytes; resolves once accepted (waits while the stream is over its high-water mark). */
  write(io: T, data: Buffer[]): Promise<WriteResult>;
  /**
   * Queue `n` bytes that `encode` writes in place (see protocol.writeinto), or
   * return undefined to have them sent with write().
   */
  writeinto<A, B>(io: T, n: number, encode: Encoder<A, B>, a: A, b: B): Promise<WriteResult> | undefined;
  /**
   * Close after the queued bytes, ending our side at once but reading and
   * dropping what the peer still sends until its EOF, `ms` or `bytes` (see
   * protocol.linger). The consumer ends at once.
   */
  linger(io: T, ms: number, bytes: number): void;
  /** Close after the queued bytes are sent. */
  close(io: T): void;
  /** Drop the stream now, queued bytes and all. */
  abort(io: T): void;
}

/** A tcp or tls Conn as a Transport. */
export const conntransport: Transport<Conn> = {
  conn: (conn) => conn,
  takeover,
  flowing,
  write: (conn, data) => conn.write(data),
  writeinto,
  linger,
  close: (conn) => void conn.close(),
  abort,
};

/**
 * The tunnel of an extended CONNECT (RFC 8441) as a Transport: END_STREAM
 * where TCP has its FIN, RST_STREAM (CANCEL) where it has a reset, and HTTP/2
 * flow control per stream where TCP has its window; the connection under the
 * session is never closed. Messages take write(): nothing is encoded in place.
 */
export const tunneltransport: Transport<Tunnel> = {
  conn: (t) => t.conn,
  takeover: (t, consumer) => t.takeover(consumer),
  flowing: (t, on) => t.flowing(on),
  write: (t, data) => t.write(data),
  writeinto: () => undefined,
  linger: (t, ms, bytes) => t.close(ms, bytes),
  close: (t) => t.close(),
  abort: (t) => t.abort(),
};
