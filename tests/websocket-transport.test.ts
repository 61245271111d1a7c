// The Socket over a byte stream that is not a tcp Conn: two sockets joined by
// an in-memory pipe that implements the package's Transport interface (what
// an HTTP/2 stream carrying a WebSocket, RFC 8441, will implement).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Socket } from "../packages/silly-net-websocket/src/socket.js"; // its constructor is internal
import type { Consumer } from "silly/net/protocol";
import type { Conn, WriteResult } from "silly/net/tcp";
import type { Transport } from "../packages/silly-net-websocket/src/transport.js";
import { bounded } from "./lib/bounded.js";

/** One end of an in-memory byte pipe; bytes arrive at the other end on a later turn, in order. */
class End {
  peer!: End;
  consumer: Consumer | undefined;
  inbox: Buffer[] = [];
  paused = false;
  eof = false; // the peer ended its sending side
  ended = false; // this end's consumer got its end
  writing = true;

  deliver(): void {
    setImmediate(() => {
      const k = this.consumer;
      if (k === undefined || this.ended) return;
      while (!this.paused && this.inbox.length > 0) k.data(this.inbox.shift()!);
      if (!this.paused && this.inbox.length === 0 && this.eof) this.finish("End of file");
    });
  }

  finish(err: string): void {
    if (this.ended) return;
    this.ended = true;
    this.consumer?.end(err);
  }
}

const pipe: Transport<End> = {
  conn: () => {
    throw new Error("an in-memory pipe has no conn");
  },
  takeover(end, consumer) {
    end.consumer = consumer;
    end.deliver();
  },
  flowing(end, on) {
    end.paused = !on;
    if (on) end.deliver();
  },
  write(end, data): Promise<WriteResult> {
    if (!end.writing) return Promise.resolve([false, "closed"]);
    end.peer.inbox.push(Buffer.concat(data));
    end.peer.deliver();
    return Promise.resolve([true, undefined]);
  },
  writeinto: () => undefined, // no in-place encoding: every message takes write()
  close(end) {
    end.writing = false;
    end.peer.eof = true;
    end.peer.deliver();
    end.finish("closed");
  },
  linger(end) {
    // the other end reads our EOF after what we sent; what it still sends is dropped
    pipe.close(end);
  },
  abort(end) {
    end.writing = false;
    end.finish("closed");
    end.peer.finish("Connection reset by peer");
  },
};

function pair(serveropts = {}): [Socket, Socket] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  const server = new Socket(a, "server", { pinginterval: 0, ...serveropts }, undefined as never, pipe); // no HTTP stream under this transport
  const client = new Socket(b, "client", undefined, undefined as never, pipe);
  return [server, client];
}

test("messages both ways and the closing handshake over a transport that is not a Conn", bounded(10_000, async () => {
  const [server, client] = pair();
  await client.write("hello", "text");
  assert.equal(await server.read(), ["hello", "text"]);
  await server.write(Buffer.from([1, 2, 3]));
  const [d, t] = await client.read();
  assert.is(t, "binary");
  assert.equal([...(d as Buffer)], [1, 2, 3]);
  // the client closes: the server answers, ends its side, the client then closes its own
  const closing = client.close(4000, "bye");
  assert.equal(await server.read(), ["bye", "close"]);
  assert.is(server.closecode, 4000);
  await closing;
  await server.close(); // already done: resolves once the transport is closed
  assert.is(client.closecode, 4000, "the echoed close");
}));

test("a failure over such a transport: the peer reads the close code", bounded(10_000, async () => {
  const [server, client] = pair({ maxpayload: 10 });
  await client.write(Buffer.alloc(100));
  assert.match(String((await server.read())[1]), /^websocket: 1009/);
  const [reason, typ] = await client.read();
  assert.is(typ, "close");
  assert.match(String(reason), /exceeds maxpayload/);
  assert.is(client.closecode, 1009);
  await client.close();
}));

test("the conn of a socket is its transport's", () => {
  const [server] = pair();
  assert.throws(() => (server as { conn: Conn }).conn, /no conn/);
});

test.run();
