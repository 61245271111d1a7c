// A Conn as a node:stream Duplex, for node:http2 to run a session over
// (the server's and the client's alike): the conn's bytes go to the duplex
// from now on (protocol.takeover), paced by node's backpressure.
import { Duplex } from "node:stream";
import type { Http2Session } from "node:http2";
import type { Conn } from "silly/net/tcp";
import { flowing, takeover } from "silly/net/protocol";
import { GoawayWatch, PREFACE_LENGTH } from "./goaway.js";

/**
 * `client`: the session sends the client's preface first. `fatal` is called
 * once a GOAWAY with an error code has gone out: nghttp2 gave the connection
 * up, and the session must be destroyed (it would not say so itself).
 */
export function duplexof(conn: Conn, client: boolean, fatal: () => void): Duplex {
  const watch = new GoawayWatch(client ? PREFACE_LENGTH : 0);
  const duplex = new Duplex({
    read(): void {
      flowing(conn, true);
    },
    write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
      const goaway = watch.push(chunk) !== 0;
      conn.write(chunk).then(([ok, err]) => {
        cb(ok ? null : new Error(err));
        if (goaway) fatal();
      }, cb);
    },
    final(cb: (err?: Error | null) => void): void {
      conn.close();
      cb();
    },
    destroy(err: Error | null, cb: (err: Error | null) => void): void {
      conn.close();
      cb(err);
    },
  });
  takeover(conn, {
    data: (chunk) => {
      if (!duplex.push(chunk)) flowing(conn, false);
    },
    end: () => {
      duplex.push(null);
    },
  });
  return duplex;
}

/**
 * The connection's receive window (RFC 9113 6.9.2) starts at 65,535 bytes:
 * one round trip's worth for all the streams together, which would hold many
 * busy streams (WebSockets, say) to a trickle. node:http2 gives it back as
 * the bytes arrive, so a wider one bounds only the bytes in flight: what a
 * stream nobody reads holds stays bounded by that stream's own window.
 */
export const CONNECTION_WINDOW = 16 * 1024 * 1024;

export function widen(session: Http2Session): void {
  session.once("connect", () => {
    if (!session.destroyed) session.setLocalWindowSize(CONNECTION_WINDOW);
  });
}
