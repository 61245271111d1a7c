// A Conn as a node:stream Duplex, for node:http2 to run a session over
// (the server's and the client's alike): the conn's bytes go to the duplex
// from now on (protocol.takeover), paced by node's backpressure.
import { Duplex } from "node:stream";
import type { Conn } from "silly/net/tcp";
import { flowing, takeover } from "silly/net/protocol";

export function duplexof(conn: Conn): Duplex {
  const duplex = new Duplex({
    read(): void {
      flowing(conn, true);
    },
    write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
      conn.write(chunk).then(([ok, err]) => cb(ok ? null : new Error(err)), cb);
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
