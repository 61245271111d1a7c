// silly-net-websocket over real sockets on 127.0.0.1: the seed page's examples
// translated almost line for line, upstream's test vectors in both directions,
// errors as values, concurrency, limits and options.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import net from "node:net";
import http from "silly-net-http";
import type { ListenConf, Server, ServerStream } from "silly-net-http";
import websocket, { DEFAULTS } from "silly-net-websocket";
import type { ReadResult, Socket, UpgradeOptions } from "silly-net-websocket";
import channel from "silly-sync-channel";
import type { Channel } from "silly-sync-channel";
import task from "silly/task";
import logger from "silly/logger";
import { deferred } from "./lib/deferred.js";
import { nodesocket } from "./lib/nodesocket.js";
import { bounded } from "./lib/bounded.js";
import { NOHOST } from "./lib/nohost.js";

logger.setlevel(logger.ERROR);

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const ca = fixture("ca.pem");
const certs = [{ cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") }];

// ---------------------------------------------------------------- helpers



// What a failed test left open is closed after it, so the process still exits.
const leftovers: (() => void)[] = [];
test.after.each(() => {
  for (const f of leftovers.splice(0)) f();
});

async function listen(handler: (stream: ServerStream) => unknown, extra: Partial<ListenConf> = {}): Promise<Server> {
  const [server, err] = await http.listen({ addr: "127.0.0.1:0", handler, ...extra });
  assert.ok(server, err);
  leftovers.push(() => server!.close());
  return server!;
}

interface WsServer {
  server: Server;
  url: string;
  /** Every upgraded socket, with its stream, in order of arrival. */
  socks: Channel<[Socket, ServerStream]>;
  /** Every failed upgrade's error. */
  errs: Channel<string>;
  close(): void;
}

/** An HTTP server that upgrades every request and hands the sockets to the test. */
async function wsserver(opts?: UpgradeOptions, extra: Partial<ListenConf> = {}): Promise<WsServer> {
  const socks = channel.new<[Socket, ServerStream]>();
  const errs = channel.new<string>();
  const server = await listen(async (stream) => {
    const [sock, err] = await websocket.upgrade(stream, opts);
    if (sock === undefined) errs.send(err);
    else socks.send([sock, stream]);
  }, extra);
  const scheme = extra.certs === undefined ? "ws" : "wss";
  return { server, url: `${scheme}://${server.addr}`, socks, errs, close: () => server.close() };
}

async function accepted(srv: WsServer): Promise<Socket> {
  const [pair, err] = await srv.socks.recv();
  assert.ok(pair, String(err));
  leftovers.push(() => nodesocket(pair![0].conn).destroy());
  return pair![0];
}

async function dial(url: string, header?: Record<string, string>, opts?: Parameters<typeof websocket.connect>[2]): Promise<Socket> {
  const [sock, err] = await websocket.connect(url, header, opts);
  assert.ok(sock, err);
  leftovers.push(() => nodesocket(sock!.conn).destroy());
  return sock!;
}

/** A connected pair: our client and the server's socket. */
async function pair(srv: WsServer, path = "/"): Promise<[Socket, Socket]> {
  const c = await dial(srv.url + path);
  const s = await accepted(srv);
  return [c, s];
}

/** Bytes that run through every value: 0x00, 0x7F, 0xFF and all in between. */
function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

/** Read and assert the exact message. */
async function expectmsg(sock: Socket, data: string | Buffer, typ: string, what = ""): Promise<void> {
  const [got, t] = await sock.read();
  assert.ok(got !== undefined, `${what}: read failed: ${t}`);
  assert.is(t, typ, `${what}: type`);
  if (typeof data === "string") {
    assert.type(got, "string", `${what}: text is a string`);
    assert.ok(got === data, `${what}: text differs (got ${String(got).length} chars, want ${data.length})`);
  } else {
    assert.ok(Buffer.isBuffer(got), `${what}: a Buffer`);
    assert.ok(data.equals(got as Buffer), `${what}: bytes differ (got ${(got as Buffer).length}, want ${data.length})`);
  }
}

/** The read ends with an error value; returns it. */
async function expecterr(sock: Socket, what = ""): Promise<string> {
  const r: ReadResult = await sock.read();
  assert.is(r[0], undefined, `${what}: read should fail, got a ${String(r[1])} message`);
  assert.type(r[1], "string", `${what}: error is a string`);
  return r[1] as string;
}

/** A port with nothing listening on it. */
async function freeport(): Promise<number> {
  const s = net.createServer();
  s.listen(0, "127.0.0.1");
  await once(s, "listening");
  const port = (s.address() as net.AddressInfo).port;
  s.close();
  await once(s, "close");
  return port;
}

/** Everything a raw TCP client receives until the server closes. */
async function rawexchange(port: number, request: string): Promise<string> {
  const s = net.connect(port, "127.0.0.1");
  const chunks: Buffer[] = [];
  s.on("data", (c: Buffer) => chunks.push(c));
  s.write(request);
  await once(s, "close");
  return Buffer.concat(chunks).toString("latin1");
}

// ---------------------------------------------------------------- the seed's examples

test("seed: websocket.upgrade echo server, plain HTTP branch, and the connect example", async () => {
  const printed: string[] = [];
  const print = (...a: unknown[]): void => void printed.push(a.map(String).join(" "));
  const up = deferred<Server>();
  const serverdone = deferred();

  // The upgrade example, as on the page (":8080" becomes "127.0.0.1:0").
  task.fork(async () => {
    const [server] = await http.listen({
      addr: "127.0.0.1:0",
      handler: async (stream) => {
        // Is this a WebSocket upgrade request?
        if (stream.header["upgrade"] === "websocket") {
          const [sock, err] = await websocket.upgrade(stream);
          if (!sock) {
            print("Upgrade failed:", err);
            return;
          }
          // The WebSocket loop
          while (true) {
            const [data, typ] = await sock.read();
            if (data === undefined) {
              break;
            }
            if (typ === "text") {
              await sock.write("Echo: " + data, "text");
            } else if (typ === "close") {
              break;
            }
          }
          await sock.close();
          serverdone.resolve();
        } else {
          // A plain HTTP request
          stream.respond(200, { "content-type": "text/plain" });
          stream.close("Not a WebSocket request");
        }
      },
    });
    print("WebSocket server listening on :8080");
    up.resolve(server!);
  });
  const server = await up.promise;

  // The plain-HTTP branch.
  const [res, herr] = await http.get(`http://${server.addr}/`);
  assert.ok(res, herr);
  assert.is(res!.status, 200);
  assert.is(res!.header["content-type"], "text/plain");
  assert.is(res!.body.toString(), "Not a WebSocket request");

  // The connect example, as on the page.
  const clientdone = deferred();
  task.fork(async () => {
    const [sock, err] = await websocket.connect(`ws://${server.addr}`);
    if (!sock) {
      print("Connect failed:", err);
      clientdone.resolve();
      return;
    }
    print("Connected to WebSocket server");
    // Send a message
    await sock.write("Hello, Server!", "text");
    // Read the answer
    const [data] = await sock.read();
    if (data !== undefined) {
      print("Received:", data);
    }
    // "" is a message too: the server's `=== undefined` loop must go on.
    await sock.write("", "text");
    const [empty, etyp] = await sock.read();
    print("Received:", JSON.stringify(empty), etyp);
    await sock.close();
    clientdone.resolve();
  });
  await clientdone.promise;
  await serverdone.promise;
  assert.equal(printed, [
    "WebSocket server listening on :8080",
    "Connected to WebSocket server",
    "Received: Echo: Hello, Server!",
    'Received: "Echo: " text',
  ]);
  server.close();
});

test("seed: the read loop answers pings with sock.write(data, 'pong')", async () => {
  const payload = Buffer.from([0x00, 0xff, 0x7f, 0x41, 0xe4, 0xbd, 0xa0]);
  const pongseen = deferred<ReadResult>();
  // A server that greets, pings, checks the pong and closes.
  const server = await listen(async (stream) => {
    const [sock, err] = await websocket.upgrade(stream);
    assert.ok(sock, err);
    await sock!.write("hello", "text");
    await sock!.write(payload, "ping");
    pongseen.resolve(await sock!.read());
    await sock!.write("bye", "text");
    await sock!.close(1000, "done");
  });

  const texts: string[] = [];
  const clientdone = deferred();
  // The read example, as on the page.
  task.fork(async () => {
    const [sock] = await websocket.connect(`ws://${server.addr}`);
    if (!sock) return;
    while (true) {
      const [data, typ] = await sock.read();
      if (data === undefined) break;
      if (typ === "text") {
        texts.push(data); // print("Text:", data)
      } else if (typ === "ping") {
        await sock.write(data, "pong");
      } else if (typ === "close") {
        break;
      }
    }
    await sock.close();
    assert.is(sock.closecode, 1000);
    assert.is(sock.closereason, "done");
    clientdone.resolve();
  });
  const [pong, ptyp] = await pongseen.promise;
  assert.is(ptyp, "pong");
  assert.ok(Buffer.isBuffer(pong) && pong.equals(payload), "the pong carries the ping's payload");
  await clientdone.promise;
  assert.equal(texts, ["hello", "bye"]);
  server.close();
});

test("seed: broadcast server with a channel; 5 clients; two leave mid-way, the others get everything", async () => {
  const joined = deferred<Server>();
  let stop: (() => void) | undefined;
  // The broadcast example, as on the page.
  task.fork(async () => {
    const clients: Socket[] = [];
    const broadcast_chan = channel.new<string>();

    // The broadcasting task
    task.fork(async () => {
      while (true) {
        const [message] = await broadcast_chan.recv();
        if (message === undefined) break; // (the page's loop never ends; ours ends with the test)
        for (const sock of clients) {
          sock.write(message, "text");
        }
      }
    });

    const [server] = await http.listen({
      addr: "127.0.0.1:0",
      handler: async (stream) => {
        if (stream.header["upgrade"] === "websocket") {
          const [sock] = await websocket.upgrade(stream);
          if (sock) {
            clients.push(sock);
            while (true) {
              const [data, typ] = await sock.read();
              if (data === undefined || typ === "close") break;
              if (typ === "text") {
                broadcast_chan.send(data);
              }
            }
            // Remove the client (simplified, as on the page)
            for (let i = 0; i < clients.length; i++) {
              if (clients[i] === sock) {
                clients.splice(i, 1);
                break;
              }
            }
            await sock.close();
          }
        } else {
          stream.respond(404, {});
          stream.close();
        }
      },
    });
    stop = () => broadcast_chan.close();
    joined.resolve(server!);
  });
  const server = await joined.promise;
  const url = `ws://${server.addr}/`;

  const [nf] = await http.get(`http://${server.addr}/`);
  assert.is(nf!.status, 404);

  // Each client joins and waits for its own hello to come back: then the server has it listed.
  const N = 5;
  const socks: Socket[] = [];
  for (let i = 0; i < N; i++) {
    const sock = await dial(url);
    await sock.write(`hello ${i}`, "text");
    for (;;) {
      const [data, typ] = await sock.read();
      assert.is(typ, "text");
      if (data === `hello ${i}`) break;
    }
    socks.push(sock);
  }
  /** Collect `n` messages starting with `prefix` on a socket. */
  const collect = async (sock: Socket, prefix: string, n: number): Promise<string[]> => {
    const got: string[] = [];
    while (got.length < n) {
      const [data, typ] = await sock.read();
      if (data === undefined) throw new Error(`read failed: ${typ}`);
      if (typ === "text" && data.startsWith(prefix)) got.push(data);
    }
    return got;
  };
  // Round 1: everybody talks, everybody hears everything, in the same order.
  const K = 10;
  const round1 = socks.map((s) => collect(s, "r1 ", N * K));
  await Promise.all(socks.map(async (s, i) => {
    for (let k = 0; k < K; k++) await s.write(`r1 ${i}.${k}`, "text");
  }));
  const heard1 = await Promise.all(round1);
  for (const h of heard1) {
    assert.equal(h, heard1[0], "every client hears the same sequence");
    assert.is(new Set(h).size, N * K);
  }
  // Round 2: client 0 leaves with a close handshake and client 1 drops its TCP
  // connection while the others are talking.
  const left = socks.slice(2);
  const round2 = left.map((s) => collect(s, "r2 ", left.length * K));
  const talking = Promise.all(left.map(async (s, i) => {
    for (let k = 0; k < K; k++) {
      await s.write(`r2 ${i}.${k}`, "text");
      if (i === 0 && k === 2) {
        await socks[0]!.close();
        nodesocket(socks[1]!.conn).destroy();
      }
    }
  }));
  await talking;
  const heard2 = await Promise.all(round2);
  for (const h of heard2) {
    assert.is(h.length, left.length * K);
    assert.equal(h, heard2[0]);
  }
  assert.is(socks[0]!.closecode, 1000);
  // Round 3, after both are gone: still fine.
  const round3 = left.map((s) => collect(s, "r3 ", left.length));
  await Promise.all(left.map((s, i) => s.write(`r3 ${i}`, "text")));
  for (const h of await Promise.all(round3)) assert.is(h.length, left.length);
  await Promise.all(left.map((s) => s.close()));
  stop!();
  server.close();
});

test("seed: WSS with the fixture certificate via http.listen({ addr, certs, handler })", async () => {
  const up = deferred<Server>();
  const serverdone = deferred();
  // The WSS example, as on the page; its "communication loop" is an echo.
  task.fork(async () => {
    const [server, err] = await http.listen({
      addr: "127.0.0.1:0",
      certs: certs,
      handler: async (stream) => {
        if (stream.header["upgrade"] === "websocket") {
          const [sock] = await websocket.upgrade(stream);
          if (sock) {
            await sock.write("Secure connection established", "text");
            // ... the communication loop
            for (;;) {
              const [data, typ] = await sock.read();
              if (data === undefined || typ === "close") break;
              await sock.write(data, typ === "text" ? "text" : "binary");
            }
            await sock.close();
            serverdone.resolve();
          }
        }
      },
    });
    assert.ok(server, err);
    up.resolve(server!);
  });
  const server = await up.promise;
  const sock = await dial(`wss://localhost:${server.port}/secure`, undefined, { ca });
  await expectmsg(sock, "Secure connection established", "text", "greeting");
  const big = pattern(1024 * 1024, 3);
  await sock.write(big);
  await expectmsg(sock, big, "binary", "1 MiB over TLS");
  await sock.write("你好 wss", "text");
  await expectmsg(sock, "你好 wss", "text", "CJK over TLS");
  assert.ok(nodesocket(sock.conn).constructor.name === "TLSSocket", "the conn is a TLS connection");
  await sock.close();
  await serverdone.promise;
  server.close();
});

// ---------------------------------------------------------------- vectors both ways

const VECTORS: [string, string | Buffer, "text" | "binary"][] = [
  ["empty text", "", "text"],
  ["empty binary", Buffer.alloc(0), "binary"],
  ["1-byte binary", Buffer.from([0]), "binary"],
  ["125 bytes", pattern(125), "binary"],
  ["126 bytes", pattern(126), "binary"],
  ["65535 bytes", pattern(65535), "binary"],
  ["65536 bytes", pattern(65536), "binary"],
  ["65537 bytes", pattern(65537), "binary"],
  ["1 MiB", pattern(1024 * 1024, 5), "binary"],
  ["0x00 0xFF 0x7F", Buffer.from([0x00, 0xff, 0x7f, 0x00, 0xff, 0x7f]), "binary"],
  ["text 125", "a".repeat(125), "text"],
  ["text 126", "b".repeat(126), "text"],
  ["text 65535", "c".repeat(65535), "text"],
  ["text 65536", "d".repeat(65536), "text"],
  ["text 1 MiB", "e".repeat(1024 * 1024), "text"],
  ["CJK text", "你好，世界！こんにちは 안녕하세요 🌏 héllo", "text"],
  // 3-byte characters across the 64 KiB fragment boundaries
  ["CJK text 90000 bytes", "你".repeat(30000), "text"],
  ["text with NUL and DEL", "a\u0000b\u007fc", "text"],
];

test("vectors: the server reads what our client sends, our client reads what the server sends", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  for (const [name, data, typ] of VECTORS) {
    const [ok, err] = await c.write(data, typ);
    assert.ok(ok, `${name}: client write: ${err}`);
    await expectmsg(s, data, typ, `server reads ${name}`);
    const [ok2, err2] = await s.write(data, typ);
    assert.ok(ok2, `${name}: server write: ${err2}`);
    await expectmsg(c, data, typ, `client reads ${name}`);
  }
  // write() with no data sends an empty binary message; a Uint8Array is accepted as is.
  await c.write();
  await expectmsg(s, Buffer.alloc(0), "binary", "write() without data");
  await s.write(new Uint8Array([1, 2, 3]));
  await expectmsg(c, Buffer.from([1, 2, 3]), "binary", "Uint8Array");
  // text given as UTF-8 bytes; bytes that are not UTF-8 are refused as text, and nothing is sent
  await c.write(Buffer.from("字节", "utf8"), "text");
  await expectmsg(s, "字节", "text", "text from bytes");
  const [bad, berr] = await c.write(Buffer.from([0x61, 0xff]), "text");
  assert.is(bad, false);
  assert.match(berr!, /UTF-8/);
  await c.write("next", "text");
  await expectmsg(s, "next", "text", "the socket is fine");
  assert.ok(c.isalive() && s.isalive());
  await c.close();
  await expectmsg(s, "", "close", "the close");
  assert.match(await expecterr(s, "after close"), /closed/);
  srv.close();
});

test("vectors: the `=== undefined` loop does not stop on empty messages", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  for (const m of ["", "x", "", ""]) await c.write(m, "text");
  await c.write(Buffer.alloc(0));
  await c.close(1000, "end");
  const seen: [unknown, string][] = [];
  while (true) {
    const [data, typ] = await s.read();
    if (data === undefined) break;
    seen.push([typeof data === "string" ? data : `<${data.length} bytes>`, typ]);
    if (typ === "close") break;
  }
  assert.equal(seen, [["", "text"], ["x", "text"], ["", "text"], ["", "text"], ["<0 bytes>", "binary"], ["end", "close"]]);
  srv.close();
});

test("ping/pong with payloads, both ways; pongs are returned by read()", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  const p = Buffer.from("ping 你好 \u0000\u00ff");
  await c.write(p, "ping");
  await expectmsg(s, p, "ping", "server sees the ping");
  await s.write(p, "pong");
  await expectmsg(c, p, "pong", "client sees the pong");
  await s.write("srv", "ping");
  await expectmsg(c, Buffer.from("srv"), "ping", "client sees the ping");
  await c.write(Buffer.from("srv"), "pong");
  await expectmsg(s, Buffer.from("srv"), "pong", "server sees the pong");
  // empty and maximal control payloads
  await c.write(undefined, "ping");
  await expectmsg(s, Buffer.alloc(0), "ping", "empty ping");
  await c.write(pattern(125), "ping");
  await expectmsg(s, pattern(125), "ping", "125-byte ping");
  await s.write(pattern(125), "pong");
  await expectmsg(c, pattern(125), "pong", "125-byte pong");
  await c.close();
  srv.close();
});

test("control frames over 125 bytes are refused with an error value; the socket stays usable", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  for (const typ of ["ping", "pong", "close"] as const) {
    const [ok, err] = await c.write(pattern(126), typ);
    assert.is(ok, false, typ);
    assert.match(err!, /125/, `${typ}: ${err}`);
    const [ok2, err2] = await s.write("x".repeat(200), typ);
    assert.is(ok2, false, typ);
    assert.match(err2!, /125/);
  }
  // nothing was sent, nothing broke
  await c.write("still here", "text");
  await expectmsg(s, "still here", "text");
  // close() checks its own arguments: a reason over 123 bytes or a code not allowed on the wire throws
  assert.throws(() => c.close(1000, "r".repeat(124)), /123/);
  assert.throws(() => c.close(1005), /close code/);
  assert.throws(() => c.write("x", "bogus" as "text"), /type/);
  await c.close(1000, "r".repeat(123));
  assert.is(s.closereason, "r".repeat(123));
  srv.close();
});

test("close code and reason, client to server: closecode/closereason after the close frame", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  const closing = c.close(4001, "client bye 再见");
  const [reason, typ] = await s.read();
  assert.is(typ, "close");
  assert.is(reason, "client bye 再见");
  assert.is(s.closecode, 4001);
  assert.is(s.closereason, "client bye 再见");
  await closing; // the server echoed the close: the handshake is complete
  assert.is(c.closecode, 4001, "the echo carries the code");
  const after = await expecterr(s, "after the close");
  assert.match(after, /4001/);
  const [ok, werr] = await s.write("late", "text");
  assert.is(ok, false);
  assert.type(werr, "string");
  await s.close(); // nothing left to do, resolves
  srv.close();
});

test("close code and reason, server to client; close() without a code sends 1000", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  const closing = s.close(4002, "server bye");
  await expectmsg(c, "server bye", "close", "client reads the close");
  assert.is(c.closecode, 4002);
  assert.is(c.closereason, "server bye");
  await closing;
  assert.is(s.closecode, 4002);
  assert.match(await expecterr(c), /4002/);

  const [c2, s2] = await pair(srv);
  const closing2 = c2.close();
  await expectmsg(s2, "", "close");
  assert.is(s2.closecode, 1000);
  assert.is(s2.closereason, "");
  await closing2;
  // an empty close frame reads as 1005 and is echoed empty
  const [c3, s3] = await pair(srv);
  await c3.write(undefined, "close");
  await expectmsg(s3, "", "close");
  assert.is(s3.closecode, 1005);
  await expectmsg(c3, "", "close");
  assert.is(c3.closecode, 1005);
  await c3.close();
  srv.close();
});

test("a pending read() ends with an error value when the socket is closed locally", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  const pending = c.read();
  const closing = c.close();
  const [d, err] = await pending;
  assert.is(d, undefined);
  assert.type(err, "string");
  await expectmsg(s, "", "close");
  await closing;
  srv.close();
});

test("abrupt TCP close: read() returns an EOF error (server drops, then client drops)", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  nodesocket(s.conn).destroy();
  const err = await expecterr(c, "client after server drop");
  assert.ok(/End of file|EOF/.test(err), err);
  await c.close(); // resolves at once
  const [ok] = await c.write("x", "text");
  assert.is(ok, false);

  const [c2, s2] = await pair(srv);
  nodesocket(c2.conn).destroy();
  const err2 = await expecterr(s2, "server after client drop");
  assert.ok(/End of file|EOF/.test(err2), err2);
  await s2.close();

  // A raw client that completes the handshake, then just disconnects.
  const raw = net.connect(srv.server.port, "127.0.0.1");
  raw.write(
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  const s3 = await accepted(srv);
  raw.end();
  const err3 = await expecterr(s3, "server after raw client end");
  assert.ok(/End of file|EOF/.test(err3), err3);
  await s3.close();
  raw.destroy();
  srv.close();
});

// ---------------------------------------------------------------- connect failures

// Fails until the HTTP server rejects a request whose first byte cannot start a
// request line (a TLS ClientHello starts with 0x16) instead of waiting for
// "\r\n\r\n" until its 10 s header timeout. With that, the client's TLS layer
// sees the 400 answer at once ("wrong version number").
test("connect: wss:// to a plain ws server fails with a TLS error, no hang", async () => {
  // (The header timeout only bounds how long the server keeps the TLS client's
  // connection; the client gives up first.)
  const srv = await wsserver(undefined, { timeouts: { header: 4000 } });
  const t0 = Date.now();
  const [sock, err] = await websocket.connect(`wss://${srv.server.addr}/`, undefined, { ca, timeout: 3000 });
  assert.is(sock, undefined);
  assert.match(err!, /TLS/, `${err} after ${Date.now() - t0} ms`);
  srv.close();
});

test("connect: refused port, DNS failure, non-101 answer, bad scheme, bad URL: [undefined, err] naming the cause", async () => {
  const port = await freeport();
  const [s1, e1] = await websocket.connect(`ws://127.0.0.1:${port}/`);
  assert.is(s1, undefined);
  assert.match(e1!, /refused/i);

  const [s2, e2] = await websocket.connect(`ws://${NOHOST}/`);
  assert.is(s2, undefined);
  assert.match(e2!, /resol/i);
  assert.ok(e2!.includes(NOHOST), e2);

  const server = await listen((stream) => {
    stream.respond(404, {});
    stream.close("nope");
  });
  const [s3, e3] = await websocket.connect(`ws://${server.addr}/`);
  assert.is(s3, undefined);
  assert.match(e3!, /404/);
  server.close();

  const [s4, e4] = await websocket.connect(`http://127.0.0.1:${port}/`);
  assert.is(s4, undefined);
  assert.match(e4!, /scheme/);
  assert.match(e4!, /http:/);

  const [s5, e5] = await websocket.connect("not a url");
  assert.is(s5, undefined);
  assert.match(e5!, /invalid URL/);
});

test("connect: wss with the wrong trust or name fails with a TLS error; hostname option fixes the name", async () => {
  const srv = await wsserver(undefined, { certs });
  // no ca: the test CA is not trusted
  const [s1, e1] = await websocket.connect(`wss://localhost:${srv.server.port}/`);
  assert.is(s1, undefined);
  assert.match(e1!, /TLS/);
  // connect to the IP but check the certificate for "localhost"
  const c = await dial(`wss://127.0.0.1:${srv.server.port}/`, undefined, { ca, hostname: "localhost" });
  const s = await accepted(srv);
  await c.write("hi", "text");
  await expectmsg(s, "hi", "text");
  await c.close();
  srv.close();
});

test("connect: a 101 answer with a wrong accept key is refused and the connection closed", async () => {
  const closed = deferred();
  const raw = net.createServer((s) => {
    s.once("data", () => {
      s.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n");
    });
    s.on("end", () => s.end());
    s.on("close", () => closed.resolve());
  });
  raw.listen(0, "127.0.0.1");
  await once(raw, "listening");
  const [sock, err] = await websocket.connect(`ws://127.0.0.1:${(raw.address() as net.AddressInfo).port}/`);
  assert.is(sock, undefined);
  assert.match(err!, /accept/);
  await closed.promise; // the client did not leave the connection open
  raw.close();
});

// ---------------------------------------------------------------- the server's handshake checks

const GOODKEY = "dGhlIHNhbXBsZSBub25jZQ==";
function handshake(over: Record<string, string | undefined>, method = "GET"): string {
  const h: Record<string, string | undefined> = {
    Host: "x",
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": GOODKEY,
    "Sec-WebSocket-Version": "13",
    ...over,
  };
  let s = `${method} /ws HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) if (v !== undefined) s += `${k}: ${v}\r\n`;
  return s + "\r\n";
}

test("upgrade: bad handshakes are answered with their status and upgrade() returns [undefined, err]", async () => {
  const srv = await wsserver({ closetimeout: 50 }); // the raw client at the end never answers a close
  const cases: [string, string, number, RegExp][] = [
    ["POST", handshake({ "Content-Length": "0" }, "POST"), 400, /method/],
    ["no upgrade header", handshake({ Upgrade: undefined }), 400, /upgrade/],
    ["upgrade: h2c", handshake({ Upgrade: "h2c" }), 400, /upgrade/],
    ["no connection upgrade", handshake({ Connection: "keep-alive" }), 400, /connection/],
    ["version 12", handshake({ "Sec-WebSocket-Version": "12" }), 426, /version/],
    ["no version", handshake({ "Sec-WebSocket-Version": undefined }), 426, /version/],
    ["bad key", handshake({ "Sec-WebSocket-Key": "abc" }), 400, /key/],
    ["no key", handshake({ "Sec-WebSocket-Key": undefined }), 400, /key/],
    ["15-byte key", handshake({ "Sec-WebSocket-Key": Buffer.alloc(15).toString("base64") }), 400, /key/],
  ];
  for (const [name, req, status, why] of cases) {
    const res = await rawexchange(srv.server.port, req);
    assert.ok(res.startsWith(`HTTP/1.1 ${status} `), `${name}: ${res.slice(0, 40)}`);
    if (status === 426) assert.match(res.toLowerCase(), /\r\nsec-websocket-version: 13\r\n/);
    const [err] = await srv.errs.recv();
    assert.match(err!, why, `${name}: ${err}`);
  }
  // A good one still works, case-insensitive tokens and a list in Connection included.
  const res = rawexchange(srv.server.port, handshake({ Upgrade: "WebSocket", Connection: "keep-alive, Upgrade" }));
  const s = await accepted(srv);
  await s.close(1000);
  const text = await res;
  assert.ok(text.startsWith("HTTP/1.1 101 "), text);
  assert.match(text, /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
  srv.close();
});

// ---------------------------------------------------------------- concurrency

test("50 concurrent clients each echo 20 messages", async () => {
  const srv = await wsserver();
  const servers: Promise<void>[] = [];
  const serving = (async () => {
    for (let i = 0; i < 50; i++) {
      const s = await accepted(srv);
      servers.push((async () => {
        for (;;) {
          const [data, typ] = await s.read();
          if (data === undefined || typ === "close") break;
          await s.write(data, typ === "text" ? "text" : "binary");
        }
        await s.close();
      })());
    }
  })();
  await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const c = await dial(srv.url);
    for (let j = 0; j < 20; j++) {
      const msg = j % 2 === 0 ? `client ${i} message ${j} ${"x".repeat(i * 10)}` : pattern(i * 100 + j, i);
      await c.write(msg, typeof msg === "string" ? "text" : "binary");
      await expectmsg(c, msg, typeof msg === "string" ? "text" : "binary", `client ${i} #${j}`);
    }
    await c.close();
  }));
  await serving;
  await Promise.all(servers);
  srv.close();
});

/** 10 tasks each write 50 messages (the 25th a 200 KiB binary one) at once; returns when all were written. */
function writers(sock: Socket): Promise<void> {
  const done: Promise<void>[] = [];
  for (let w = 0; w < 10; w++) {
    const d = deferred();
    done.push(d.promise);
    task.fork(async () => {
      for (let j = 0; j < 50; j++) {
        let r;
        if (j === 25) {
          const big = pattern(200 * 1024, w);
          big.write(`${w}:${j}:`, 0, "latin1");
          r = await sock.write(big, "binary");
        } else {
          r = await sock.write(`${w}:${j}:${"z".repeat((w * 7 + j * 13) % 300)}`, "text");
        }
        assert.ok(r[0], r[1]);
      }
      d.resolve();
    });
  }
  return Promise.all(done).then(() => undefined);
}

/** Read the 500 messages of writers(): each whole, each writer's in order. */
async function checkwriters(sock: Socket): Promise<void> {
  const next = new Array<number>(10).fill(0);
  for (let n = 0; n < 500; n++) {
    const [data, typ] = await sock.read();
    assert.ok(data !== undefined, `read ${n} failed: ${typ}`);
    const head = typeof data === "string" ? data : data.subarray(0, 8).toString("latin1");
    const m = /^(\d):(\d+):/.exec(head)!;
    assert.ok(m, `message ${n} has a header`);
    const w = Number(m[1]);
    const j = Number(m[2]);
    assert.is(j, next[w], `writer ${w} in order`);
    next[w]++;
    if (j === 25) {
      assert.is(typ, "binary");
      const want = pattern(200 * 1024, w);
      want.write(`${w}:${j}:`, 0, "latin1");
      assert.ok(want.equals(data as Buffer), `writer ${w}'s 200 KiB message is whole`);
    } else {
      assert.is(typ, "text");
      assert.is(data, `${w}:${j}:${"z".repeat((w * 7 + j * 13) % 300)}`);
    }
  }
  assert.equal(next, new Array<number>(10).fill(50));
}

test("10 tasks x 50 messages written to one socket at once: every message whole, per-writer order kept (both ways)", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  await Promise.all([writers(c), checkwriters(s)]);
  await Promise.all([writers(s), checkwriters(c)]);
  await c.close();
  srv.close();
});

test("small messages encoded in place keep their order among other writes, across sockets writing in the same turn", async () => {
  const srv = await wsserver();
  const pairs = [await pair(srv), await pair(srv), await pair(srv)];
  // Every kind of write the server has: short ASCII text, short non-ASCII
  // text, empty text, small and 4 KiB+ binary, a Uint8Array, a ping.
  const kinds = (k: number, who: number): [string | Buffer | Uint8Array, "text" | "binary" | "ping"][] => [
    [`${who}:${k}`, "text"],
    [`é${who}:${k}`, "text"],
    ["", "text"],
    [pattern(100, k + who), "binary"],
    [pattern(5000, k * 3 + who), "binary"],
    [new Uint8Array(pattern(33, k)), "binary"],
    [`p${k}`, "ping"],
    [`${who}:${k}:${"y".repeat(k % 50)}`, "text"],
  ];
  for (let k = 0; k < 60; k++) {
    for (let who = 0; who < pairs.length; who++) {
      for (const [data, typ] of kinds(k, who)) void pairs[who]![1].write(data, typ);
    }
  }
  await Promise.all(
    pairs.map(async ([c], who) => {
      for (let k = 0; k < 60; k++) {
        for (const [data, typ] of kinds(k, who)) {
          const want = typeof data === "string" && typ === "text" ? data : Buffer.from(data);
          await expectmsg(c, want, typ, `socket ${who} #${k} ${typ}`);
        }
      }
    }),
  );
  for (const [c] of pairs) await c.close();
  srv.close();
});

test("small messages written in a tight loop wait for the socket (backpressure): unsent bytes stay bounded", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  const N = 50_000; // ~2 MB on the wire: more than the socket buffers take at once
  let most = 0;
  const writer = (async () => {
    for (let i = 0; i < N; i++) {
      const [ok, err] = await s.write(`message ${i}`, "text");
      assert.ok(ok, err);
      most = Math.max(most, s.conn.unsentbytes());
    }
  })();
  for (let i = 0; i < N; i++) {
    const [data] = await c.read();
    if (data !== `message ${i}`) assert.unreachable(`message ${i}: got ${String(data)}`);
  }
  await writer;
  assert.ok(most < 64 * 1024, `at most ${most} bytes were queued when a write resolved`);
  await c.close();
  srv.close();
});

test("a second concurrent read() gets an error value; the first still gets the message", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  const first = c.read();
  const [d, err] = await c.read();
  assert.is(d, undefined);
  assert.match(err!, /read/);
  await s.write("for the first", "text");
  assert.equal(await first, ["for the first", "text"]);
  await c.close();
  srv.close();
});

// ---------------------------------------------------------------- options

test("maxpayload: a message over it -> the peer sees close 1009 and read() returns an error", async () => {
  const srv = await wsserver({ maxpayload: 1000 });
  const [c, s] = await pair(srv);
  await c.write(pattern(1000));
  await expectmsg(s, pattern(1000), "binary", "exactly maxpayload is fine");
  await c.write(pattern(1001));
  const err = await expecterr(s, "server");
  assert.match(err, /1009/);
  const [, typ] = await c.read();
  assert.is(typ, "close");
  assert.is(c.closecode, 1009);
  await c.close();

  // The client's own limit, and a fragmented message over it in total.
  const srv2 = await wsserver();
  const c2 = await dial(srv2.url, undefined, { maxpayload: 100 * 1024 });
  const s2 = await accepted(srv2);
  await s2.write(pattern(100 * 1024));
  await expectmsg(c2, pattern(100 * 1024), "binary");
  await s2.write(pattern(130 * 1024)); // two 64 KiB frames and a bit: fails on the second
  assert.match(await expecterr(c2, "client"), /1009/);
  await s2.read();
  assert.is(s2.closecode, 1009);
  await s2.close();
  srv.close();
  srv2.close();
});

test("the default maxpayload is 16 MiB: exactly 16 MiB passes, one byte more is refused with 1009", async () => {
  const srv = await wsserver();
  const [c, s] = await pair(srv);
  const max = pattern(16 * 1024 * 1024, 1);
  await c.write(max);
  await expectmsg(s, max, "binary", "16 MiB");
  await s.write(max);
  await expectmsg(c, max, "binary", "16 MiB back");
  await c.write(pattern(16 * 1024 * 1024 + 1));
  assert.match(await expecterr(s), /1009/);
  await c.read();
  assert.is(c.closecode, 1009);
  await c.close();
  srv.close();
});

test("maxfragments: a message in more fragments fails with 1009", async () => {
  const srv = await wsserver({ maxfragments: 2 });
  const [c, s] = await pair(srv);
  await c.write(pattern(2 * 65535)); // 2 frames of 65535 bytes
  await expectmsg(s, pattern(2 * 65535), "binary");
  await c.write(pattern(2 * 65535 + 1)); // 3 frames
  assert.match(await expecterr(s), /1009/);
  await c.read();
  assert.is(c.closecode, 1009);
  await c.close();
  srv.close();
});

test("bad options throw (programmer errors)", async () => {
  const srv = await wsserver({ maxpayload: -1 });
  const [sock, err] = await websocket.connect(srv.url);
  assert.is(sock, undefined, "the server refused: its options are bad");
  assert.match(err!, /500/);
  const [uerr] = await srv.errs.recv();
  assert.match(uerr!, /maxpayload/);
  srv.close();
  const srv2 = await wsserver();
  const [sock2, err2] = await websocket.connect(srv2.url, undefined, { closetimeout: 0 });
  assert.is(sock2, undefined);
  assert.match(err2!, /closetimeout/);
  const s = await accepted(srv2);
  assert.match(await expecterr(s), /End of file|EOF|closed/);
  await s.close();
  const renamed = { maxPayload: 1000 } as unknown as { maxpayload: number }; // the former camelCase name
  for (const [opts, name] of [
    [{ pinginterval: -1 }, /pinginterval/],
    [{ pinginterval: 1.5 }, /pinginterval/],
    [{ pongtimeout: 0 }, /pongtimeout/],
    [{ stalltimeout: -1 }, /stalltimeout/],
    [renamed, /option maxPayload is now called maxpayload/],
  ] as const) {
    const [none, e] = await websocket.connect(srv2.url, undefined, opts);
    assert.is(none, undefined);
    assert.match(e!, name);
    const t = await accepted(srv2);
    await expecterr(t);
    await t.close();
  }
  srv2.close();
});

test("autopong: pings are answered automatically and not returned by read()", async () => {
  const srv = await wsserver({ autopong: true });
  const c = await dial(srv.url, undefined, { autopong: true });
  const s = await accepted(srv);
  await c.write("are you there", "ping");
  await c.write("after the ping", "text");
  await expectmsg(c, Buffer.from("are you there"), "pong", "client gets the automatic pong");
  await expectmsg(s, "after the ping", "text", "the server's read skipped the ping");
  await s.write(Buffer.from([0, 255]), "ping");
  await s.write("after", "text");
  await expectmsg(s, Buffer.from([0, 255]), "pong", "server gets the client's automatic pong");
  await expectmsg(c, "after", "text");
  await c.close();
  // without autopong the ping is read and nothing answers it
  const srv2 = await wsserver();
  const [c2, s2] = await pair(srv2);
  await c2.write("p", "ping");
  await c2.write("t", "text");
  await expectmsg(s2, Buffer.from("p"), "ping");
  await expectmsg(s2, "t", "text");
  await s2.write("t2", "text");
  await expectmsg(c2, "t2", "text", "no pong came first");
  await c2.close();
  srv.close();
  srv2.close();
});

test("keepalive: our clients that answer pings (read loop, or autopong) stay connected; one that never reads is closed with 1011", bounded(30_000, async () => {
  const srv = await wsserver({ pinginterval: 50, pongtimeout: 1000 });
  const manual = await dial(srv.url);
  const s1 = await accepted(srv);
  const auto = await dial(srv.url, undefined, { autopong: true });
  const s2 = await accepted(srv);
  const deaf = await dial(srv.url);
  const s3 = await accepted(srv);
  const reads = [s1.read(), s2.read()];
  // The read loop of the seed answers each ping; autopong answers them without a read.
  for (let i = 0; i < 10; i++) {
    const [d, t] = await manual.read();
    assert.is(t, "ping", `ping ${i}`);
    assert.is(String(d), "keepalive");
    await manual.write(d, "pong");
  }
  // Meanwhile the client that never reads has been dropped by the server.
  const [none, err] = await s3.read();
  assert.is(none, undefined);
  assert.match(String(err), /1011 keepalive/);
  // The other two are alive: the next message is what their server sockets read (no pong).
  await manual.write("manual", "text");
  await auto.write("auto", "text");
  assert.equal(await reads[0], ["manual", "text"]);
  assert.equal(await reads[1], ["auto", "text"]);
  // The deaf client finds the pings, then the close frame, in its queue.
  for (;;) {
    const [d, t] = await deaf.read();
    if (t === "close") {
      assert.match(String(d), /keepalive/);
      assert.is(deaf.closecode, 1011);
      break;
    }
    assert.is(t, "ping");
  }
  await Promise.all([manual.close(), auto.close(), deaf.close()]);
  srv.close();
}));

test("the keepalive defaults: a ping after 20 s of silence, 20 s for the answer", () => {
  assert.is(DEFAULTS.pinginterval, 20_000);
  assert.is(DEFAULTS.pongtimeout, 20_000);
});

test("connect: custom headers reach stream.header; path and query are kept; sock.stream and sock.conn", async () => {
  const srv = await wsserver();
  const c = await dial(`${srv.url}/chat/room%201?name=ann&x=%E4%BD%A0#frag`, { "x-token": "secret 1", "user-agent": "silly-test" });
  const [p] = await srv.socks.recv();
  const [s, stream] = p!;
  assert.is(stream.header["x-token"], "secret 1");
  assert.is(stream.header["user-agent"], "silly-test");
  assert.is(stream.path, "/chat/room 1");
  assert.is(stream.target, "/chat/room%201?name=ann&x=%E4%BD%A0");
  assert.equal({ ...stream.query }, { name: "ann", x: "你" });
  assert.is(s.stream, stream);
  assert.is(s.conn, stream.conn);
  assert.ok(c.stream !== undefined);
  assert.is(c.conn.remoteaddr, srv.server.addr);
  await c.close();
  srv.close();
});

test("subprotocols: offered by connect, picked by upgrade", async () => {
  const srv = await wsserver({ protocol: (offered) => offered.find((p) => p === "chat.v2") });
  const c = await dial(srv.url, undefined, { protocols: ["chat.v1", "chat.v2"] });
  const [p] = await srv.socks.recv();
  assert.is(p![1].header["sec-websocket-protocol"], "chat.v1, chat.v2");
  assert.is((c.stream as { header: Record<string, string> }).header["sec-websocket-protocol"], "chat.v2");
  await c.close();
  srv.close();
});

test("close handshake that never completes is timed out: close() resolves after closetimeout", async () => {
  const srv = await wsserver({ closetimeout: 200 });
  const raw = net.connect(srv.server.port, "127.0.0.1");
  raw.write(handshake({}));
  const s = await accepted(srv);
  const ended = once(raw, "close");
  raw.resume(); // read, but never answer the close
  const t0 = Date.now();
  await s.close(1001, "going");
  const took = Date.now() - t0;
  assert.ok(took >= 150, `waited for the peer (${took} ms)`);
  await ended; // and the TCP connection was closed
  srv.close();
});

test("close() while unread messages have paused the connection still completes the handshake", async () => {
  const srv = await wsserver({ closetimeout: 10_000 });
  const [c, s] = await pair(srv);
  // The server reads nothing; 3 MiB pile up and it stops reading from the conn.
  for (let i = 0; i < 10; i++) await c.write(pattern(300 * 1024, i));
  while (!nodesocket(s.conn).isPaused()) await once(nodesocket(s.conn), "data");
  const reading = (async () => {
    for (;;) {
      const [data, typ] = await c.read();
      if (data === undefined || typ === "close") return typ;
    }
  })();
  const t0 = Date.now();
  await s.close(1000, "enough");
  assert.is(await reading, "close");
  assert.is(s.closecode, 1000, "the client's close frame was read");
  assert.ok(Date.now() - t0 < 5000, "well before closetimeout");
  // what had been queued before close() can still be read, in order
  const [first] = await s.read();
  assert.ok(Buffer.isBuffer(first) && first.equals(pattern(300 * 1024, 0)));
  srv.close();
});

test("a timed-out close handshake drops the connection even when the peer never reads", async () => {
  const srv = await wsserver({ closetimeout: 200 });
  const raw = net.connect(srv.server.port, "127.0.0.1");
  leftovers.push(() => raw.destroy());
  raw.write(handshake({}));
  const s = await accepted(srv);
  raw.pause(); // never reads again
  for (let i = 0; i < 32; i++) void s.write(pattern(1024 * 1024));
  assert.ok(s.conn.unsentbytes() > 0, "bytes wait for the peer");
  await s.close(1000);
  assert.ok(nodesocket(s.conn).destroyed, "the TCP connection is gone, queued bytes or not");
  raw.destroy();
  srv.close();
});

test.run();
