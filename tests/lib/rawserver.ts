// A raw WebSocket server over node:net for client tests: it answers each
// handshake by hand (with the extensions answer a test chooses) and hands the
// connection over as a Raw peer with the request head it received.
import { createHash } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import channel from "silly-sync-channel";
import type { Channel } from "silly-sync-channel";
import { Raw } from "./rawws.js";

/** Sec-WebSocket-Accept for a key (RFC 6455 section 4.2.2). */
export function acceptkey(key: string): string {
  return createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
}

export interface RawServer {
  port: number;
  /** Each connection: the raw peer and the request head it received. */
  peers: Channel<[Raw, string]>;
  close: () => void;
}

/**
 * Listen on 127.0.0.1 (an ephemeral port) and answer every handshake with a
 * 101, carrying `extensions` as Sec-WebSocket-Extensions when given. The
 * server and its sockets are closed through `leftovers`.
 */
export async function rawserver(leftovers: (() => void)[], extensions?: string): Promise<RawServer> {
  const peers = channel.new<[Raw, string]>();
  const server = net.createServer(async (sock) => {
    leftovers.push(() => sock.destroy());
    const raw = new Raw(sock);
    const head = await raw.head();
    const key = /\r\nsec-websocket-key: *([^\r]*)\r\n/i.exec(head)![1]!;
    const ext = extensions === undefined ? "" : `Sec-WebSocket-Extensions: ${extensions}\r\n`;
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptkey(key)}\r\n${ext}\r\n`);
    peers.send([raw, head]);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  leftovers.push(() => server.close());
  return { port: (server.address() as net.AddressInfo).port, peers, close: () => server.close() };
}
