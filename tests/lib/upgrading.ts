// A test HTTP server on 127.0.0.1 that upgrades every request to a WebSocket
// and hands each socket, with its stream, to the test through a channel.
// Whatever it opened is queued on `leftovers`, for the suite to close after each test.
import * as assert from "uvu/assert";
import http from "silly-net-http";
import type { Server, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import type { Socket, UpgradeOptions } from "silly-net-websocket";
import channel from "silly-sync-channel";
import type { Channel } from "silly-sync-channel";
import { nodesocket } from "./nodesocket.js";

export interface Upgrading {
  server: Server;
  socks: Channel<[Socket, ServerStream]>;
}

export async function upgrading(leftovers: (() => void)[], opts?: UpgradeOptions): Promise<Upgrading> {
  const socks = channel.new<[Socket, ServerStream]>();
  const [server, err] = await http.listen({
    addr: "127.0.0.1:0",
    handler: async (stream) => {
      const [sock, uerr] = await websocket.upgrade(stream, opts);
      assert.ok(sock, uerr);
      leftovers.push(() => nodesocket(sock!.conn).destroy());
      socks.send([sock!, stream]);
    },
  });
  assert.ok(server, err);
  leftovers.push(() => server!.close());
  return { server: server!, socks };
}
