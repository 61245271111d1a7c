// WebSockets over HTTP/2 (RFC 8441): our client against our server, many
// sockets on one connection; flow control both ways; the close handshake,
// keepalive and strictness on a stream; fallback to HTTP/1.1. Then every bad
// input, each failing only its own stream while a bystander WebSocket on the
// same connection goes on: node:http2 as the peer where it can send the bad
// input, a hand-written frame writer (tests/lib/h2raw.ts) where node:http2
// will not (it fills in missing pseudo-header fields, and sends no DATA
// after END_STREAM).
import { test } from "uvu";
import * as assert from "uvu/assert";
import * as nodehttp2 from "node:http2";
import { readFileSync } from "node:fs";
import http from "silly-net-http";
import type { Server, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import type { Socket, UpgradeOptions } from "silly-net-websocket";
import channel from "silly-sync-channel";
import type { Channel } from "silly-sync-channel";
import logger from "silly/logger";
import { bounded } from "./lib/bounded.js";
import { RawH2 } from "./lib/h2raw.js";
import { clientframe, serverframes } from "./lib/wsframes.js";
import type { ServerFrame } from "./lib/wsframes.js";

logger.setlevel(logger.ERROR);

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), "utf8");
const ca = fixture("ca.pem");
const certs = [{ cert: fixture("localhost.pem"), key: fixture("localhost-key.pem") }];
const H2 = { ca, alpnprotos: ["h2", "http/1.1"] };
const { NGHTTP2_CANCEL, NGHTTP2_PROTOCOL_ERROR, NGHTTP2_NO_ERROR } = nodehttp2.constants;
const TEXT = 1, BINARY = 2, CLOSE = 8, PING = 9, PONG = 10;

/** `p`, or a failure naming `what` after `ms`. */
function within<T>(p: Promise<T>, what: string, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

interface Served {
  stream: ServerStream;
  sock: Socket | undefined;
  err: string | undefined;
}

interface H2Server {
  server: Server;
  port: number;
  /** Every upgrade's outcome, in order. */
  served: Channel<Served>;
  next(what?: string): Promise<Served>;
}

/** A TLS server offering h2 that upgrades every request but one to /plain (answered "plain HTTP/2"). */
async function h2server(conf: { extendedconnect?: boolean; alpnprotos?: readonly string[]; opts?: UpgradeOptions } = {}): Promise<H2Server> {
  const served = channel.new<Served>();
  const [server, err] = await http.listen({
    addr: "127.0.0.1:0",
    certs,
    alpnprotos: conf.alpnprotos ?? ["h2", "http/1.1"],
    extendedconnect: conf.extendedconnect,
    handler: async (stream) => {
      if (stream.path === "/plain") return void stream.close(`plain ${stream.version}`);
      const [sock, uerr] = await websocket.upgrade(stream, conf.opts);
      served.send({ stream, sock, err: uerr });
    },
  });
  if (server === undefined) throw new Error(`listen failed: ${err}`);
  return {
    server,
    port: server.port,
    served,
    next: async (what = "an upgrade") => (await within(served.recv(), what))[0]!,
  };
}

/** Echo every text and binary message until the end; resolves with the read error that ended it. */
async function echo(sock: Socket): Promise<string> {
  for (;;) {
    const [data, typ] = await sock.read();
    if (data === undefined) return typ;
    if (typ === "text") await sock.write(data, "text");
    else if (typ === "binary") await sock.write(data, "binary");
  }
}

// ---------------------------------------------------------------- node:http2 as the peer

function h2connect(port: number): Promise<nodehttp2.ClientHttp2Session> {
  const c = nodehttp2.connect(`https://localhost:${port}`, { ca });
  c.on("error", () => {});
  return within(new Promise((resolve) => c.once("remoteSettings", () => resolve(c))), "the server's SETTINGS");
}

/** A WebSocket spoken by hand on a node:http2 stream: frames out, frames in. */
class PeerWS {
  status = 0;
  head: nodehttp2.IncomingHttpHeaders = {};
  bytes = Buffer.alloc(0);
  ended = false;
  closed = false;
  /** Answer pings with pongs as they arrive. */
  autopong = false;
  private pinged = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly req: nodehttp2.ClientHttp2Stream) {
    req.on("error", () => {});
    req.on("response", (h) => {
      this.status = Number(h[":status"]);
      this.head = h;
      this.wake();
    });
    req.on("data", (d: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, d]);
      if (this.autopong) {
        const pings = this.frames().filter((f) => f.op === PING);
        for (const p of pings.slice(this.pinged)) this.send(PONG, p.payload);
        this.pinged = pings.length;
      }
      this.wake();
    });
    req.on("end", () => {
      this.ended = true;
      this.wake();
    });
    req.on("close", () => {
      this.closed = true;
      this.wake();
    });
  }

  static open(c: nodehttp2.ClientHttp2Session, path = "/ws", extra: nodehttp2.OutgoingHttpHeaders = {}): PeerWS {
    return new PeerWS(c.request({ ":method": "CONNECT", ":protocol": "websocket", ":path": path, "sec-websocket-version": "13", ...extra }, { endStream: false }));
  }

  frames(): ServerFrame[] {
    return serverframes(this.bytes);
  }

  send(op: number, payload: Buffer | string = ""): void {
    this.req.write(clientframe(op, payload));
  }

  async until(done: () => boolean, what: string): Promise<void> {
    const t0 = Date.now();
    while (!done()) {
      if (this.closed) throw new Error(`the stream closed while waiting for ${what}`);
      const left = 10_000 - (Date.now() - t0);
      if (left <= 0) throw new Error(`timed out waiting for ${what}`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((r) => {
        this.waiters.push(r);
        timer = setTimeout(r, left);
      });
      clearTimeout(timer);
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** A bystander: one more WebSocket on the connection `c`, echoed by the server's next socket; checks a round trip. */
async function bystander(c: nodehttp2.ClientHttp2Session, s: H2Server): Promise<{ roundtrip(text: string): Promise<void> }> {
  const peer = PeerWS.open(c, "/bystander");
  peer.autopong = true;
  const served = await s.next("the bystander's upgrade");
  assert.ok(served.sock, served.err);
  void echo(served.sock!);
  await peer.until(() => peer.status === 200, "the bystander's 200");
  return {
    async roundtrip(text: string) {
      const before = peer.frames().length;
      peer.send(TEXT, text);
      await peer.until(() => peer.frames().length > before, `the echo of ${text}`);
      const f = peer.frames()[before]!;
      assert.equal([f.op, f.payload.toString()], [TEXT, text]);
    },
  };
}

// ---------------------------------------------------------------- our client and our server

test("100 sockets over one HTTP/2 connection, our client and our server: messages in order on each", bounded(60_000, async () => {
  const s = await h2server();
  const conns = new Set<unknown>();
  const echoes: Promise<string>[] = [];
  void (async () => {
    for (;;) {
      const [x] = await s.served.recv();
      if (x === undefined) return;
      assert.ok(x.sock, x.err);
      assert.is(x.stream.version, "HTTP/2");
      conns.add(x.stream.conn);
      echoes.push(echo(x.sock!));
    }
  })();
  const N = 100, M = 50;
  const socks = await Promise.all(Array.from({ length: N }, async (_, i) => {
    const [sock, err] = await websocket.connect(`wss://localhost:${s.port}/n/${i}`, {}, H2);
    assert.ok(sock, err);
    return sock!;
  }));
  for (const sock of socks) {
    assert.is((sock.stream as { version: string }).version, "HTTP/2");
    assert.ok(sock.conn === socks[0]!.conn, "every socket on the one connection");
  }
  await Promise.all(socks.map(async (sock, i) => {
    for (let j = 0; j < M; j++) void sock.write(`${i}:${j}`, "text");
    for (let j = 0; j < M; j++) assert.equal(await sock.read(), [`${i}:${j}`, "text"]);
  }));
  assert.is(conns.size, 1, "the server saw one connection");
  // Closing the sockets ends their streams, not the connection.
  await Promise.all(socks.map((sock) => sock.close()));
  for (const sock of socks) assert.is(sock.closecode, 1000);
  for (const e of await within(Promise.all(echoes), "the server's sockets to end")) assert.match(e, /closed by peer \(1000\)/);
  assert.ok(socks[0]!.conn.isalive(), "the connection lives on");
  const [again, err] = await websocket.connect(`wss://localhost:${s.port}/again`, {}, H2);
  assert.ok(again, err);
  assert.ok(again!.conn === socks[0]!.conn, "a new socket shares it");
  await again!.write("still here", "text");
  assert.equal(await again!.read(), ["still here", "text"]);
  await again!.close();
  s.server.close();
  s.served.close();
}));

test("past the server's 128 concurrent streams the client opens another connection; sockets closed and opened at once do too", bounded(60_000, async () => {
  const s = await h2server();
  void (async () => {
    for (;;) {
      const [x] = await s.served.recv();
      if (x === undefined) return;
      if (x.sock !== undefined) void echo(x.sock);
    }
  })();
  const open = (n: number): Promise<Socket[]> =>
    Promise.all(Array.from({ length: n }, async (_, i) => {
      const [sock, err] = await websocket.connect(`wss://localhost:${s.port}/many/${i}`, {}, { ...H2, timeout: 10_000 });
      assert.ok(sock, err);
      return sock!;
    }));
  const roundtrip = (socks: Socket[]): Promise<void[]> => Promise.all(socks.map(async (sock, i) => {
    await sock.write(`m${i}`, "text");
    assert.equal(await sock.read(), [`m${i}`, "text"]);
  }));
  const first = await open(140);
  await roundtrip(first);
  const conns = new Set(first.map((sock) => sock.conn));
  assert.is(conns.size, 2, "140 sockets on two connections");
  // The server may count closed streams a moment longer than the client: new sockets never hit its limit.
  await Promise.all(first.map((sock) => sock.close()));
  const second = await open(100);
  await roundtrip(second);
  await Promise.all(second.map((sock) => sock.close()));
  s.server.close();
  s.served.close();
}));

test("flow control both ways: a reader that does not read holds back its own stream only", bounded(60_000, async () => {
  const s = await h2server();
  const open = async (path: string): Promise<[Socket, Socket]> => {
    const [c, err] = await websocket.connect(`wss://localhost:${s.port}${path}`, {}, H2);
    assert.ok(c, err);
    const x = await s.next();
    assert.ok(x.sock, x.err);
    return [c!, x.sock!];
  };
  const [slowclient, fastserver] = await open("/down");
  const [fastclient, slowserver] = await open("/up");
  const [other, otherserver] = await open("/other");
  void echo(otherserver);
  assert.ok(slowclient.conn === fastclient.conn && fastclient.conn === other.conn);
  // 4 MiB each way to a reader that reads nothing yet: each write waits once
  // the reader's queue (1 MiB) and the stream's window are full.
  const piece = Buffer.alloc(64 * 1024, 7);
  const COUNT = 64;
  let down = 0, up = 0;
  const writing = Promise.all([
    (async () => {
      for (let i = 0; i < COUNT; i++) if ((await fastserver.write(piece))[0]) down++;
    })(),
    (async () => {
      for (let i = 0; i < COUNT; i++) if ((await fastclient.write(piece))[0]) up++;
    })(),
  ]);
  // Meanwhile the connection's other stream goes on.
  for (let i = 0; i < 100; i++) {
    await other.write(`round ${i}`, "text");
    assert.equal(await other.read(), [`round ${i}`, "text"]);
  }
  assert.ok(down < COUNT && up < COUNT, `the writers wait (down ${down}, up ${up} of ${COUNT})`);
  // The readers catch up: everything arrives, in order, and the writers finish.
  const drain = async (sock: Socket): Promise<void> => {
    for (let i = 0; i < COUNT; i++) {
      const [d, t] = await sock.read();
      assert.is(t, "binary");
      assert.ok((d as Buffer).equals(piece));
    }
  };
  await within(Promise.all([drain(slowclient), drain(slowserver), writing]), "the readers to catch up", 30_000);
  assert.equal([down, up], [COUNT, COUNT]);
  for (const sock of [slowclient, fastclient, other]) await sock.close();
  s.server.close();
}));

test("many writes waiting on one stream's window: each resolves, in order, with no listener per write", bounded(60_000, async () => {
  const s = await h2server();
  const warnings: string[] = [];
  const onwarning = (w: Error): void => void warnings.push(w.message);
  process.on("warning", onwarning);
  const [client, err] = await websocket.connect(`wss://localhost:${s.port}/many`, {}, H2);
  assert.ok(client, err);
  const x = await s.next();
  // 200 x 32 KiB to a client that reads nothing yet: most wait for the window.
  const COUNT = 200;
  const settled: number[] = [];
  const writes = Array.from({ length: COUNT }, (_, i) => x.sock!.write(Buffer.alloc(32 * 1024, i % 256)).then(([ok]) => {
    assert.ok(ok);
    settled.push(i);
  }));
  for (let i = 0; i < COUNT; i++) {
    const [d] = await within(client!.read(), `message ${i}`);
    assert.is((d as Buffer)[0], i % 256);
  }
  await within(Promise.all(writes), "the writes to resolve");
  assert.equal(settled, Array.from({ length: COUNT }, (_, i) => i), "resolved in order");
  await new Promise((r) => setImmediate(r)); // warnings are emitted on a later turn
  process.off("warning", onwarning);
  assert.equal(warnings, []);
  await client!.close();
  s.server.close();
}));

test("fallback: HTTP/1.1 when the server does not announce extended CONNECT or does not speak h2; none when h2 alone is offered", bounded(30_000, async () => {
  for (const [conf, h2only] of [
    [{ extendedconnect: false }, `websocket.connect: ${http.NOEXTENDEDCONNECT}`],
    [{ alpnprotos: ["http/1.1"] }, /no application protocol/],
  ] as const) {
    const s = await h2server(conf);
    const [sock, err] = await websocket.connect(`wss://localhost:${s.port}/fallback`, {}, H2);
    assert.ok(sock, err);
    const x = await s.next();
    assert.is(x.stream.version, "HTTP/1.1");
    assert.is((sock!.stream as { version: string }).version, "HTTP/1.1");
    void echo(x.sock!);
    await sock!.write("over 1.1", "text");
    assert.equal(await sock!.read(), ["over 1.1", "text"]);
    await sock!.close();
    const [none, nerr] = await websocket.connect(`wss://localhost:${s.port}/h2only`, {}, { ca, alpnprotos: ["h2"] });
    assert.is(none, undefined);
    if (typeof h2only === "string") assert.is(nerr, h2only);
    else assert.match(nerr!, h2only);
    s.server.close();
  }
}));

test("subprotocols, options and a refused handshake over HTTP/2; upgrade's answer is 200", bounded(30_000, async () => {
  const s = await h2server({ opts: { protocol: (offered) => offered.find((p) => p === "chat.v2"), maxpayload: 10 } });
  const [sock, err] = await websocket.connect(`wss://localhost:${s.port}/p`, {}, { ...H2, protocols: ["chat.v1", "chat.v2"] });
  assert.ok(sock, err);
  const x = await s.next();
  assert.is((sock!.stream as { status: number }).status, 200);
  assert.is((sock!.stream as { header: Record<string, string> }).header["sec-websocket-protocol"], "chat.v2");
  assert.is(x.stream.protocol, "websocket");
  assert.is(x.stream.method, "CONNECT");
  assert.is(x.stream.path, "/p");
  // The same options: maxpayload fails the socket with 1009, and the peer reads the code.
  await sock!.write(Buffer.alloc(11));
  assert.match(String((await x.sock!.read())[1]), /^websocket: 1009/);
  const [reason, typ] = await sock!.read();
  assert.is(typ, "close");
  assert.match(String(reason), /maxpayload/);
  await sock!.close();
  // A version the server does not speak: 400 (no 426 over HTTP/2), with the version it takes.
  const c = await h2connect(s.port);
  const bad = PeerWS.open(c, "/v8", { "sec-websocket-version": "8" });
  const refused = await s.next();
  assert.match(refused.err!, /unsupported sec-websocket-version "8"/);
  await bad.until(() => bad.ended, "the refusal");
  assert.is(bad.status, 400);
  c.destroy();
  s.server.close();
}));

test("compression over HTTP/2: permessage-deflate is negotiated on the extended CONNECT as on an upgrade", bounded(30_000, async () => {
  const s = await h2server({ opts: { compression: true } });
  // Our client offers it by default.
  const [sock, err] = await websocket.connect(`wss://localhost:${s.port}/z`, {}, H2);
  assert.ok(sock, err);
  const x = await s.next();
  assert.ok(x.sock, x.err);
  assert.match((sock!.stream as { header: Record<string, string> }).header["sec-websocket-extensions"] ?? "", /^permessage-deflate/);
  void echo(x.sock!);
  const text = "compress me ".repeat(1000);
  await sock!.write(text, "text");
  assert.equal(await sock!.read(), [text, "text"]);
  await sock!.close();
  // node:http2 as the peer: the answer names the extension, and the message comes compressed (RSV1), and smaller.
  const c = await h2connect(s.port);
  const peer = PeerWS.open(c, "/raw", { "sec-websocket-extensions": "permessage-deflate; client_max_window_bits" });
  const y = await s.next();
  assert.ok(y.sock, y.err);
  await y.sock!.write(text, "text");
  await peer.until(() => peer.frames().length > 0, "the compressed message");
  assert.match(String(peer.head["sec-websocket-extensions"]), /^permessage-deflate/);
  const f = peer.frames()[0]!;
  assert.equal([f.op, f.rsv1], [TEXT, true]);
  assert.ok(f.payload.length < text.length / 10, `compressed to ${f.payload.length} bytes`);
  // Without an offer: no extension, uncompressed.
  const plain = PeerWS.open(c, "/plain-ws");
  const z = await s.next();
  await z.sock!.write(text, "text");
  await plain.until(() => plain.frames().length > 0, "the message");
  assert.equal([plain.frames()[0]!.rsv1, plain.frames()[0]!.payload.length], [false, text.length]);
  c.destroy();
  s.server.close();
}));

// ---------------------------------------------------------------- the stream's life, node:http2 as the peer

test("the close handshake ends the stream with END_STREAM both ways, and the connection serves on", bounded(30_000, async () => {
  const s = await h2server();
  const c = await h2connect(s.port);
  // The peer closes first.
  const a = PeerWS.open(c, "/a");
  const xa = await s.next();
  const ended = echo(xa.sock!);
  await a.until(() => a.status === 200, "200");
  a.send(CLOSE, Buffer.from([0x03, 0xe8])); // 1000
  await a.until(() => a.frames().some((f) => f.op === CLOSE) && a.ended, "the server's close frame and END_STREAM");
  a.req.end(); // our END_STREAM: the stream is done
  await a.until(() => a.closed, "the stream to close");
  assert.is(a.req.rstCode, NGHTTP2_NO_ERROR, "closed without a reset");
  assert.match(await ended, /closed by peer \(1000\)/);
  // The server closes first.
  const b = PeerWS.open(c, "/b");
  const xb = await s.next();
  await b.until(() => b.status === 200, "200");
  const closing = xb.sock!.close(4001, "bye");
  await b.until(() => b.frames().some((f) => f.op === CLOSE), "the server's close frame");
  const f = b.frames().find((x) => x.op === CLOSE)!;
  assert.equal([f.payload.readUInt16BE(0), f.payload.subarray(2).toString()], [4001, "bye"]);
  assert.not.ok(b.ended, "the stream stays open for our answer");
  b.send(CLOSE, f.payload.subarray(0, 2));
  await b.until(() => b.ended, "the server's END_STREAM once the close frames crossed");
  await within(closing, "the server's close() to resolve");
  b.req.end();
  await b.until(() => b.closed, "the stream to close");
  assert.is(b.req.rstCode, NGHTTP2_NO_ERROR);
  assert.is(xb.sock!.closecode, 4001);
  // Neither touched the connection.
  const third = await bystander(c, s);
  await third.roundtrip("after two closes");
  c.destroy();
  s.server.close();
}));

test("keepalive and strictness on a stream: a silent peer is pinged then failed with 1011; an unmasked frame gets 1002", bounded(30_000, async () => {
  const s = await h2server({ opts: { pinginterval: 100, pongtimeout: 100 } });
  const c = await h2connect(s.port);
  const by = await bystander(c, s);
  const silent = PeerWS.open(c, "/silent");
  const x = await s.next();
  await silent.until(() => silent.frames().some((f) => f.op === PING), "a keepalive ping");
  assert.equal(silent.frames().find((f) => f.op === PING)!.payload.toString(), "keepalive");
  assert.match((await within(x.sock!.read(), "the keepalive failure"))[1], /^websocket: 1011 keepalive/);
  await silent.until(() => silent.frames().some((f) => f.op === CLOSE) && silent.ended, "the 1011 close frame and END_STREAM");
  assert.is(silent.frames().find((f) => f.op === CLOSE)!.payload.readUInt16BE(0), 1011);
  await by.roundtrip("after a keepalive failure");
  const rude = PeerWS.open(c, "/rude");
  const y = await s.next();
  rude.req.write(Buffer.from([0x81, 0x02, 0x68, 0x69])); // an unmasked "hi"
  assert.match((await within(y.sock!.read(), "the protocol error"))[1], /^websocket: 1002/);
  await rude.until(() => rude.frames().some((f) => f.op === CLOSE), "the 1002 close frame");
  assert.is(rude.frames().find((f) => f.op === CLOSE)!.payload.readUInt16BE(0), 1002);
  await by.roundtrip("after a protocol error");
  c.destroy();
  s.server.close();
}));

// ---------------------------------------------------------------- bad input, each failing one stream

test("bad input: :protocol the server did not announce is reset; the connection serves on", bounded(30_000, async () => {
  const s = await h2server({ extendedconnect: false });
  const c = await h2connect(s.port);
  assert.is(c.remoteSettings.enableConnectProtocol, false);
  const ws = PeerWS.open(c, "/ws");
  await ws.until(() => ws.closed, "the reset");
  assert.is(ws.req.rstCode, NGHTTP2_PROTOCOL_ERROR);
  assert.is(s.served.size, 0, "no handler saw it");
  const plain = c.request({ ":path": "/plain" });
  plain.setEncoding("utf8");
  let body = "";
  plain.on("data", (d: string) => (body += d));
  await within(new Promise((r) => plain.on("end", r)), "the plain request");
  assert.is(body, "plain HTTP/2");
  c.destroy();
  s.server.close();
}));

test("bad input: an extended CONNECT that lacks :scheme, :path or :authority is reset; the connection serves on", bounded(30_000, async () => {
  const s = await h2server();
  const raw = await RawH2.open(s.port, ca);
  await raw.until(() => raw.settings.size > 0, "the server's SETTINGS");
  assert.is(raw.settings.get(8), 1, "SETTINGS_ENABLE_CONNECT_PROTOCOL");
  const full = wsrequest("/ws");
  const lacking = [":scheme", ":path", ":authority"];
  lacking.forEach((name, i) => raw.headers(1 + 2 * i, full.filter(([k]) => k !== name)));
  await raw.until(() => lacking.every((_, i) => raw.stream(1 + 2 * i).rst !== undefined), "the resets");
  for (let i = 0; i < lacking.length; i++) assert.is(raw.stream(1 + 2 * i).rst, NGHTTP2_PROTOCOL_ERROR, `without ${lacking[i]}`);
  assert.is(s.served.size, 0, "no handler saw them");
  // A whole one on the same connection works.
  raw.headers(7, full);
  const x = await s.next();
  assert.ok(x.sock, x.err);
  void echo(x.sock!);
  raw.data(7, clientframe(TEXT, "whole"));
  await raw.until(() => serverframes(raw.stream(7).data).length === 1, "the echo");
  assert.is(raw.stream(7).status, 200);
  assert.is(serverframes(raw.stream(7).data)[0]!.payload.toString(), "whole");
  raw.close();
  s.server.close();
}));

test("bad input: CONNECT without :protocol, or a GET, is refused by upgrade (400) with an error value; the connection serves on", bounded(30_000, async () => {
  const s = await h2server();
  const c = await h2connect(s.port);
  const by = await bystander(c, s);
  const plain = new PeerWS(c.request({ ":method": "CONNECT", ":authority": "localhost:443" }, { endStream: false }));
  const x = await s.next();
  assert.is(x.sock, undefined);
  assert.match(x.err!, /CONNECT without :protocol asks for a tunnel/);
  await plain.until(() => plain.ended, "the refusal");
  assert.is(plain.status, 400);
  const get = new PeerWS(c.request({ ":path": "/get", "sec-websocket-version": "13" }));
  const y = await s.next();
  assert.match(y.err!, /extended CONNECT \(RFC 8441\), not GET/);
  await get.until(() => get.ended, "the refusal");
  assert.is(get.status, 400);
  await by.roundtrip("after two refusals");
  c.destroy();
  s.server.close();
}));

/** The request head of an extended CONNECT for a WebSocket, as the hand-written peer sends it. */
function wsrequest(path: string): [string, string][] {
  return [[":method", "CONNECT"], [":protocol", "websocket"], [":scheme", "https"], [":path", path], [":authority", "localhost"], ["sec-websocket-version", "13"]];
}

test("bad input: RST_STREAM mid-message fails the socket's read and write; the connection serves on", bounded(30_000, async () => {
  const s = await h2server();
  const raw = await RawH2.open(s.port, ca);
  raw.headers(1, wsrequest("/bystander"));
  const by = await s.next();
  void echo(by.sock!);
  raw.headers(3, wsrequest("/cut"));
  const x = await s.next();
  raw.data(3, clientframe(BINARY, Buffer.alloc(1000, 1)).subarray(0, 100)); // a tenth of a frame
  raw.rst(3, NGHTTP2_CANCEL);
  const reset = "websocket: connection ended without a close frame (Connection reset by peer)";
  assert.equal(await within(x.sock!.read(), "the reset"), [undefined, reset]);
  assert.equal(await x.sock!.write("too late", "text"), [false, reset]);
  raw.data(1, clientframe(TEXT, "bystander"));
  await raw.until(() => serverframes(raw.stream(1).data).length === 1, "the bystander's echo");
  assert.is(serverframes(raw.stream(1).data)[0]!.payload.toString(), "bystander");
  assert.is(raw.goaway, undefined, "no GOAWAY");
  raw.close();
  s.server.close();
}));

// RFC 9113 5.1 calls DATA on a half-closed (remote) stream a stream error,
// and 5.4 lets an endpoint treat a stream error as a connection error:
// node:http2 (nghttp2) does, with GOAWAY (STREAM_CLOSED). Every stream of
// that connection is the same peer's; each of its sockets reads an error
// value, and the server serves on.
test("bad input: DATA after END_STREAM: that socket reads its end; node:http2 ends the peer's connection, whose sockets all read an error value", bounded(30_000, async () => {
  const s = await h2server();
  const raw = await RawH2.open(s.port, ca);
  raw.headers(1, wsrequest("/bystander"));
  const by = await s.next();
  raw.headers(3, wsrequest("/ends"));
  const x = await s.next();
  raw.data(3, clientframe(TEXT, "last"), true);
  raw.data(3, clientframe(TEXT, "after the end"));
  assert.equal(await within(x.sock!.read(), "the last message"), ["last", "text"]);
  assert.equal(await within(x.sock!.read(), "the end"), [undefined, "websocket: connection ended without a close frame (End of file)"]);
  await raw.until(() => raw.goaway !== undefined, "GOAWAY");
  assert.is(raw.goaway, nodehttp2.constants.NGHTTP2_STREAM_CLOSED);
  assert.equal(await within(by.sock!.read(), "the bystander's end"), [undefined, "websocket: connection ended without a close frame (Connection reset by peer)"]);
  raw.close();
  // A new connection is served.
  const [sock, err] = await websocket.connect(`wss://localhost:${s.port}/next`, {}, H2);
  assert.ok(sock, err);
  void echo((await s.next()).sock!);
  await sock!.write("next", "text");
  assert.equal(await sock!.read(), ["next", "text"]);
  await sock!.close();
  s.server.close();
}));

test("bad input: a stream reset while a write waits: the write and the read fail; the connection serves on", bounded(30_000, async () => {
  const s = await h2server();
  const c = await h2connect(s.port);
  const by = await bystander(c, s);
  const ws = new PeerWS(c.request({ ":method": "CONNECT", ":protocol": "websocket", ":path": "/stuck", "sec-websocket-version": "13" }, { endStream: false }));
  const x = await s.next();
  // 4 MiB cannot pass a window the peer stops opening after its first bytes.
  ws.req.once("data", () => {
    ws.req.pause();
    ws.req.close(NGHTTP2_CANCEL);
  });
  const [ok, werr] = await within(x.sock!.write(Buffer.alloc(4 * 1024 * 1024)), "the waiting write");
  assert.is(ok, false);
  assert.match(werr!, /reset/);
  assert.equal(await within(x.sock!.read(), "the read"), [undefined, "websocket: connection ended without a close frame (Connection reset by peer)"]);
  await by.roundtrip("after a reset under a write");
  c.destroy();
  s.server.close();
}));

test.run();
