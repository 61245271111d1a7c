// The node:net socket under a Conn, for tests that check transport facts
// (ports, certificates, the fast read path, pausing) or cut a connection
// abruptly. No API offers it: applications and protocol layers never touch it.
// An accepted plain TCP conn sits on a HandleSocket instead (the bare libuv
// handle; packages/silly/src/net/handlesocket.ts), which has the part of
// net.Socket these tests use: destroyed, destroy(), once("close"), isPaused().
import type { Socket } from "node:net";
import type { Conn } from "silly/net/tcp";

export function nodesocket(conn: Conn): Socket {
  const s = (conn as unknown as { socket?: Socket }).socket;
  if (s === undefined) throw new Error("nodesocket: this Conn keeps no socket property (update tests/lib/nodesocket.ts)");
  return s;
}
