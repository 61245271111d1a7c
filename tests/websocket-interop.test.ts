// Interoperability: the npm `ws` client against our server, our client against
// a `ws` server, and Node's built-in WebSocket client (a child process run
// with --experimental-websocket) against our server.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import WebSocket, { WebSocketServer } from "ws";
import http from "silly-net-http";
import type { Server, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import type { Socket, UpgradeOptions } from "silly-net-websocket";
import channel from "silly-sync-channel";
import type { Channel } from "silly-sync-channel";
import logger from "silly/logger";
import { upgrading } from "./lib/upgrading.js";
import { nodesocket } from "./lib/nodesocket.js";
import { bounded } from "./lib/bounded.js";

logger.setlevel(logger.ERROR);

// ---------------------------------------------------------------- helpers

const leftovers: (() => void)[] = [];
test.after.each(() => {
  for (const f of leftovers.splice(0)) f();
});

function pattern(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 255;
  return b;
}

const VECTORS: [string, string | Buffer][] = [
  ["empty text", ""],
  ["empty binary", Buffer.alloc(0)],
  ["125 bytes", pattern(125)],
  ["126 bytes", pattern(126)],
  ["65535 bytes", pattern(65535)],
  ["65536 bytes", pattern(65536)],
  ["1 MiB", pattern(1024 * 1024, 9)],
  ["0x00 0xFF 0x7F", Buffer.from([0x00, 0xff, 0x7f])],
  ["text 125", "a".repeat(125)],
  ["text 126", "b".repeat(126)],
  ["text 65536", "c".repeat(65536)],
  ["text 1 MiB", "d".repeat(1024 * 1024)],
  ["CJK text", "你好，世界！こんにちは 🌏"],
  ["CJK text across fragments", "好".repeat(40000)],
];

interface Srv {
  server: Server;
  url: string;
  socks: Channel<[Socket, ServerStream]>;
}

async function oursserver(opts?: UpgradeOptions): Promise<Srv> {
  const { server, socks } = await upgrading(leftovers, opts);
  return { server, url: `ws://${server.addr}`, socks };
}

async function accepted(srv: Srv): Promise<Socket> {
  const [p] = await srv.socks.recv();
  return p![0];
}

/** Our server's echo loop: text as text, binary as binary, ping answered; ends on close. */
async function echo(sock: Socket): Promise<void> {
  for (;;) {
    const [data, typ] = await sock.read();
    if (data === undefined || typ === "close") break;
    if (typ === "text") await sock.write(data, "text");
    else if (typ === "binary") await sock.write(data, "binary");
    else if (typ === "ping") await sock.write(data, "pong");
  }
  await sock.close();
}

/** A `ws` peer with its events turned into channels. */
class Peer {
  readonly msgs = channel.new<[Buffer, boolean]>();
  readonly pongs = channel.new<Buffer>();
  readonly pings = channel.new<Buffer>();
  readonly closed: Promise<[number, string]>;
  readonly errors: Error[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer, isBinary: boolean) => this.msgs.send([data, isBinary]));
    ws.on("pong", (d: Buffer) => this.pongs.send(d));
    ws.on("ping", (d: Buffer) => this.pings.send(d));
    ws.on("error", (e: Error) => this.errors.push(e));
    this.closed = new Promise((resolve) => ws.on("close", (code: number, reason: Buffer) => resolve([code, reason.toString()])));
    leftovers.push(() => ws.terminate());
  }

  async msg(): Promise<[Buffer, boolean]> {
    const [m, err] = await this.msgs.recv();
    assert.ok(m, String(err));
    return m!;
  }

  send(data: string | Buffer, opts: { fin?: boolean; binary?: boolean } = {}): Promise<void> {
    return new Promise((resolve, reject) => this.ws.send(data, opts, (err) => (err ? reject(err) : resolve())));
  }
}

async function wsclient(url: string, opts?: WebSocket.ClientOptions): Promise<Peer> {
  const ws = new WebSocket(url, opts);
  const p = new Peer(ws);
  await once(ws, "open");
  return p;
}

async function expectmsg(sock: Socket, data: string | Buffer, what: string): Promise<void> {
  const [got, typ] = await sock.read();
  assert.ok(got !== undefined, `${what}: read failed: ${typ}`);
  if (typeof data === "string") {
    assert.is(typ, "text", what);
    assert.ok(got === data, `${what}: text differs`);
  } else {
    assert.is(typ, "binary", what);
    assert.ok(data.equals(got as Buffer), `${what}: bytes differ`);
  }
}

function expectpeermsg([got, isBinary]: [Buffer, boolean], data: string | Buffer, what: string): void {
  assert.is(isBinary, typeof data !== "string", `${what}: binary flag`);
  const want = typeof data === "string" ? Buffer.from(data) : data;
  assert.ok(want.equals(got), `${what}: bytes differ (got ${got.length}, want ${want.length})`);
}

// ---------------------------------------------------------------- the ws client against our server

test("ws client -> our server: every vector both ways", async () => {
  const srv = await oursserver();
  const peer = await wsclient(srv.url);
  const s = await accepted(srv);
  for (const [name, data] of VECTORS) {
    await peer.send(data);
    await expectmsg(s, data, `our server reads ${name}`);
    await s.write(data, typeof data === "string" ? "text" : "binary");
    expectpeermsg(await peer.msg(), data, `ws reads ${name}`);
  }
  peer.ws.close();
  await peer.closed;
  assert.equal(peer.errors, []);
});

test("ws client -> our server: ping/pong with payloads both ways (ws answers pings itself)", async () => {
  const srv = await oursserver();
  const peer = await wsclient(srv.url);
  const s = await accepted(srv);
  const payload = Buffer.from([0, 0xff, 0x7f, 0x41]);
  peer.ws.ping(payload);
  const [d, t] = await s.read();
  assert.is(t, "ping");
  assert.ok((d as Buffer).equals(payload));
  await s.write(d as Buffer, "pong");
  assert.ok((await peer.pongs.recv())[0]!.equals(payload));
  await s.write("from server", "ping");
  assert.ok((await peer.pings.recv())[0]!.equals(Buffer.from("from server")));
  const [d2, t2] = await s.read();
  assert.is(t2, "pong", "ws's automatic pong");
  assert.ok((d2 as Buffer).equals(Buffer.from("from server")));
  // our autopong answers ws
  const srv2 = await oursserver({ autopong: true });
  const peer2 = await wsclient(srv2.url);
  const s2 = await accepted(srv2);
  peer2.ws.ping("auto");
  assert.ok((await peer2.pongs.recv())[0]!.equals(Buffer.from("auto")));
  peer.ws.close();
  peer2.ws.close();
  await Promise.all([peer.closed, peer2.closed, s.read(), s2.read()]);
});

test("ws client -> our server: close codes and reasons both ways", async () => {
  const srv = await oursserver();
  const peer = await wsclient(srv.url);
  const s = await accepted(srv);
  peer.ws.close(4001, "ws bye 再见");
  assert.equal(await s.read(), ["ws bye 再见", "close"]);
  assert.is(s.closecode, 4001);
  assert.is(s.closereason, "ws bye 再见");
  const [code] = await peer.closed;
  assert.is(code, 4001, "ws got our echo");

  const peer2 = await wsclient(srv.url);
  const s2 = await accepted(srv);
  await s2.close(4002, "our bye");
  assert.equal(await peer2.closed, [4002, "our bye"]);
  assert.is(s2.closecode, 4002, "ws echoed the code");

  const peer3 = await wsclient(srv.url);
  const s3 = await accepted(srv);
  await s3.close();
  assert.equal(await peer3.closed, [1000, ""]);
  assert.equal(peer.errors, []);
});

test("ws client -> our server: fragmented messages from ws are reassembled; ours arrive whole", async () => {
  const srv = await oursserver();
  const peer = await wsclient(srv.url, { perMessageDeflate: false });
  const s = await accepted(srv);
  await peer.send("frag", { fin: false });
  await peer.send("ment", { fin: false });
  await peer.send("ed 你好", { fin: true });
  await expectmsg(s, "fragmented 你好", "text fragments");
  const parts = [pattern(1000, 1), pattern(0), pattern(70000, 2), pattern(5, 3)];
  for (let i = 0; i < parts.length; i++) await peer.send(parts[i]!, { fin: i === parts.length - 1, binary: true });
  await expectmsg(s, Buffer.concat(parts), "binary fragments");
  // a ping between fragments
  await peer.send("a", { fin: false });
  peer.ws.ping("mid");
  await peer.send("b", { fin: true });
  assert.equal(await s.read(), [Buffer.from("mid"), "ping"]);
  await expectmsg(s, "ab", "around a ping");
  const big = pattern(3 * 1024 * 1024 + 7, 4);
  await s.write(big);
  expectpeermsg(await peer.msg(), big, "our 3 MiB in 64 KiB fragments");
  peer.ws.close();
  await peer.closed;
});

test("ws client -> our server: over maxpayload, ws sees close 1009", async () => {
  const srv = await oursserver({ maxpayload: 4096 });
  const peer = await wsclient(srv.url);
  const s = await accepted(srv);
  await peer.send(pattern(4096));
  await expectmsg(s, pattern(4096), "at the limit");
  await peer.send(pattern(4097));
  const [d, err] = await s.read();
  assert.is(d, undefined);
  assert.match(String(err), /1009/);
  const [code] = await peer.closed;
  assert.is(code, 1009);
});

test("ws client -> our server: 50 times, a 16 MiB + 1 message sent whole gets close 1009, not 1006 (lingering close)", bounded(60_000, async () => {
  const srv = await oursserver(); // the default maxpayload, 16 MiB
  const big = Buffer.alloc(16 * 1024 * 1024 + 1, 7);
  for (let i = 0; i < 50; i++) {
    const peer = await wsclient(srv.url);
    const s = await accepted(srv);
    peer.ws.send(big); // still being sent when the close frame comes
    const [d, err] = await s.read();
    assert.is(d, undefined);
    assert.match(String(err), /1009/);
    const [code] = await peer.closed;
    assert.is(code, 1009, `round ${i}`);
  }
}));

test("ws client -> our server: 4 MiB in 64-byte fragments, past maxfragments, gets close 1009", bounded(60_000, async () => {
  const srv = await oursserver(); // the default maxfragments, 1024
  const piece = pattern(64);
  for (let i = 0; i < 10; i++) {
    const peer = await wsclient(srv.url);
    const s = await accepted(srv);
    const n = (4 * 1024 * 1024) / 64;
    for (let k = 0; k < n; k++) peer.ws.send(piece, { binary: true, fin: k === n - 1 });
    const [d, err] = await s.read();
    assert.is(d, undefined);
    assert.match(String(err), /1009 message has more than 1024 fragments/);
    const [code] = await peer.closed;
    assert.is(code, 1009, `round ${i}`);
  }
}));

test("ws client -> our server with keepalive: ws answers the pings and stays connected; no pong reaches read()", bounded(30_000, async () => {
  const srv = await oursserver({ pinginterval: 50, pongtimeout: 5000 });
  const peer = await wsclient(srv.url);
  const s = await accepted(srv);
  const reading = s.read();
  for (let i = 0; i < 10; i++) {
    const [ping] = await peer.pings.recv();
    assert.is(ping?.toString(), "keepalive", `ping ${i}`);
  }
  await peer.send("after ten pings");
  assert.equal(await reading, ["after ten pings", "text"]);
  assert.is(peer.ws.readyState, WebSocket.OPEN);
  peer.ws.close(1000);
  assert.equal(await peer.closed, [1000, ""]);
}));

test("ws client -> our server: 50 clients echo 20 messages each", async () => {
  const srv = await oursserver();
  const serving: Promise<void>[] = [];
  const acceptall = (async () => {
    for (let i = 0; i < 50; i++) serving.push(echo(await accepted(srv)));
  })();
  await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const peer = await wsclient(srv.url);
    for (let j = 0; j < 20; j++) {
      const m = j % 3 === 0 ? pattern(j * 50 + i, i) : `ws ${i}/${j} 你好`;
      await peer.send(m);
      expectpeermsg(await peer.msg(), m, `client ${i} #${j}`);
    }
    peer.ws.close(1000);
    assert.is((await peer.closed)[0], 1000);
  }));
  await acceptall;
  await Promise.all(serving);
});

test("ws client -> our server: path, query, headers and subprotocol", async () => {
  const srv = await oursserver({ protocol: (offered) => (offered.includes("p2") ? "p2" : undefined) });
  const peer = await wsclient(`${srv.url}/room/7?who=ws`, { headers: { "x-custom": "yes" } });
  const [p] = await srv.socks.recv();
  const [s, stream] = p!;
  assert.is(stream.path, "/room/7");
  assert.is(stream.query.who, "ws");
  assert.is(stream.header["x-custom"], "yes");
  peer.ws.close();
  await peer.closed;
  await s.read();
  const ws3 = new WebSocket(srv.url, ["p1", "p2"]);
  const peer3 = new Peer(ws3);
  await once(ws3, "open");
  assert.is(ws3.protocol, "p2");
  ws3.close();
  await peer3.closed;
});

// ---------------------------------------------------------------- our client against a ws server

interface WsSrv {
  wss: WebSocketServer;
  url: string;
  peers: Channel<[Peer, string, Record<string, string | string[] | undefined>]>;
}

async function wsserver(opts: WebSocket.ServerOptions = {}): Promise<WsSrv> {
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", ...opts });
  await once(wss, "listening");
  leftovers.push(() => wss.close());
  const peers = channel.new<[Peer, string, Record<string, string | string[] | undefined>]>();
  wss.on("connection", (ws, req) => peers.send([new Peer(ws), req.url ?? "", req.headers]));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as { port: number }).port}`, peers };
}

async function ourclient(ws: WsSrv, path = "/", header?: Record<string, string>, opts?: Parameters<typeof websocket.connect>[2]): Promise<[Socket, Peer]> {
  const [c, err] = await websocket.connect(ws.url + path, header, opts);
  assert.ok(c, err);
  leftovers.push(() => nodesocket(c!.conn).destroy());
  const [p] = await ws.peers.recv();
  return [c!, p![0]];
}

test("our client -> ws server: every vector both ways", async () => {
  const ws = await wsserver();
  const [c, peer] = await ourclient(ws);
  for (const [name, data] of VECTORS) {
    await c.write(data, typeof data === "string" ? "text" : "binary");
    expectpeermsg(await peer.msg(), data, `ws server reads ${name}`);
    await peer.send(data);
    await expectmsg(c, data, `our client reads ${name}`);
  }
  await c.close();
  assert.equal(await peer.closed, [1000, ""]);
  assert.equal(peer.errors, []);
  ws.wss.close();
});

test("our client -> ws server: ping/pong both ways", async () => {
  const ws = await wsserver();
  const [c, peer] = await ourclient(ws);
  await c.write(Buffer.from([1, 2, 0xff]), "ping");
  const [d, t] = await c.read();
  assert.is(t, "pong", "ws answers our ping");
  assert.ok((d as Buffer).equals(Buffer.from([1, 2, 0xff])));
  assert.ok((await peer.pings.recv())[0]!.equals(Buffer.from([1, 2, 0xff])));
  peer.ws.ping("srv ping");
  const [d2, t2] = await c.read();
  assert.is(t2, "ping");
  await c.write(d2 as Buffer, "pong");
  assert.ok((await peer.pongs.recv())[0]!.equals(Buffer.from("srv ping")));
  await c.close();
  await peer.closed;
  // autopong
  const [c2, peer2] = await ourclient(ws, "/", undefined, { autopong: true });
  peer2.ws.ping("auto");
  assert.ok((await peer2.pongs.recv())[0]!.equals(Buffer.from("auto")));
  await c2.close();
  await peer2.closed;
  ws.wss.close();
});

test("our client -> ws server: close codes and reasons both ways", async () => {
  const ws = await wsserver();
  const [c, peer] = await ourclient(ws);
  await c.close(4003, "our client bye");
  assert.equal(await peer.closed, [4003, "our client bye"]);
  assert.is(c.closecode, 4003, "ws echoed our code");

  const [c2, peer2] = await ourclient(ws);
  peer2.ws.close(4004, "ws server bye");
  assert.equal(await c2.read(), ["ws server bye", "close"]);
  assert.is(c2.closecode, 4004);
  assert.is(c2.closereason, "ws server bye");
  assert.is((await peer2.closed)[0], 4004);
  await c2.close();

  // ws drops the connection: our read() reports EOF
  const [c3, peer3] = await ourclient(ws);
  peer3.ws.terminate();
  const [d, err] = await c3.read();
  assert.is(d, undefined);
  assert.match(String(err), /End of file|EOF|reset/);
  await c3.close();
  ws.wss.close();
});

test("our client -> ws server: fragments from ws are reassembled; ours are accepted", async () => {
  const ws = await wsserver();
  const [c, peer] = await ourclient(ws);
  await peer.send("你", { fin: false });
  await peer.send("好", { fin: false });
  await peer.send("!", { fin: true });
  await expectmsg(c, "你好!", "text fragments");
  await peer.send(pattern(10), { fin: false, binary: true });
  await peer.send(pattern(100000, 1), { fin: true, binary: true });
  await expectmsg(c, Buffer.concat([pattern(10), pattern(100000, 1)]), "binary fragments");
  const big = "大".repeat(500000);
  await c.write(big, "text");
  expectpeermsg(await peer.msg(), big, "our 1.5 MB text in fragments");
  await c.close();
  ws.wss.close();
});

test("our client -> ws server: limits both ways (ws maxPayload, our maxpayload)", async () => {
  const ws = await wsserver({ maxPayload: 1000 });
  const [c, peer] = await ourclient(ws);
  await c.write(pattern(1001));
  const [, t] = await c.read();
  assert.is(t, "close");
  assert.is(c.closecode, 1009, "ws refuses with 1009");
  await c.close();
  await peer.closed;
  ws.wss.close();

  const ws2 = await wsserver();
  const [c2, peer2] = await ourclient(ws2, "/", undefined, { maxpayload: 1000 });
  await peer2.send(pattern(1001));
  const [d, err] = await c2.read();
  assert.is(d, undefined);
  assert.match(String(err), /1009/);
  assert.is((await peer2.closed)[0], 1009, "ws received our 1009");
  ws2.wss.close();
});

test("our client -> ws server: path, query and custom headers; subprotocol", async () => {
  const ws = await wsserver({ handleProtocols: (set) => (set.has("b") ? "b" : false) });
  const [c, err] = await websocket.connect(`${ws.url}/a/b?c=d&e=%20`, { "x-hello": "world", cookie: "k=v" }, { protocols: ["a", "b"] });
  assert.ok(c, err);
  leftovers.push(() => nodesocket(c!.conn).destroy());
  const [p] = await ws.peers.recv();
  const [peer, url, headers] = p!;
  assert.is(url, "/a/b?c=d&e=%20");
  assert.is(headers["x-hello"], "world");
  assert.is(headers["cookie"], "k=v");
  assert.is(peer.ws.protocol, "b");
  await c!.close();
  ws.wss.close();
});

test("our client -> ws server, keepalive on our side: ws answers, the client stays; no pong reaches read()", bounded(30_000, async () => {
  const ws = await wsserver();
  const [c, peer] = await ourclient(ws, "/", undefined, { pinginterval: 50, pongtimeout: 5000 });
  const reading = c.read();
  for (let i = 0; i < 10; i++) assert.is((await peer.pings.recv())[0]?.toString(), "keepalive");
  assert.ok(c.isalive());
  await c.close();
  const [d, err] = await reading;
  assert.is(d, undefined, `no message, no pong: ${String(err)}`);
}));

test("our client -> ws server: 50 clients echo 20 messages each", async () => {
  const ws = await wsserver();
  ws.wss.on("connection", (w) => w.on("message", (data, isBinary) => w.send(data, { binary: isBinary })));
  await Promise.all(Array.from({ length: 50 }, async (_, i) => {
    const [c, err] = await websocket.connect(ws.url);
    assert.ok(c, err);
    leftovers.push(() => nodesocket(c!.conn).destroy());
    for (let j = 0; j < 20; j++) {
      const m = j % 3 === 0 ? pattern(j * 50 + i, i) : `ours ${i}/${j} 你好`;
      await c!.write(m, typeof m === "string" ? "text" : "binary");
      await expectmsg(c!, m, `client ${i} #${j}`);
    }
    await c!.close();
  }));
  ws.wss.close();
});

// ---------------------------------------------------------------- Node's built-in WebSocket client

const CHILD = `
const url = process.argv[1];
const ws = new WebSocket(url);
ws.binaryType = "arraybuffer";
const out = [];
const big = new Uint8Array(1024 * 1024).map((_, i) => (i * 7) & 255);
const sent = ["hello 你好", new Uint8Array([0, 255, 127, 1]), "", big];
let i = 0;
const timer = setTimeout(() => { console.log("RESULT timeout " + JSON.stringify(out)); process.exit(2); }, 10000);
ws.onopen = () => { for (const m of sent) ws.send(m); };
ws.onmessage = (ev) => {
  const want = sent[i++];
  if (typeof want === "string") out.push(typeof ev.data === "string" && ev.data === "Echo: " + want ? "text-ok" : "text-bad:" + String(ev.data));
  else {
    const got = new Uint8Array(ev.data);
    const same = got.length === want.length && got.every((b, k) => b === want[k]);
    out.push(same ? "binary-ok:" + got.length : "binary-bad:" + got.length);
  }
  if (i === sent.length) ws.close(4321, "node done");
};
ws.onerror = (e) => out.push("error:" + (e.message || e.type));
ws.onclose = (ev) => {
  clearTimeout(timer);
  console.log("RESULT " + out.join(",") + " close=" + ev.code + " clean=" + ev.wasClean + " proto=" + JSON.stringify(ws.extensions));
};
`;

test("Node's built-in WebSocket (child process) against our server: text and binary echoed", async () => {
  const closes = channel.new<[number | undefined, string | undefined]>();
  const offered = channel.new<string>();
  const [server, err] = await http.listen({
    addr: "127.0.0.1:0",
    handler: async (stream) => {
      offered.send(stream.header["sec-websocket-extensions"] ?? "");
      const [sock] = await websocket.upgrade(stream);
      if (!sock) return;
      leftovers.push(() => nodesocket(sock.conn).destroy());
      while (true) {
        const [data, typ] = await sock.read();
        if (data === undefined) break;
        if (typ === "text") await sock.write("Echo: " + data, "text");
        else if (typ === "binary") await sock.write(data, "binary");
        else if (typ === "close") break;
      }
      await sock.close();
      closes.send([sock.closecode, sock.closereason]);
    },
  });
  assert.ok(server, err);
  leftovers.push(() => server!.close());
  const child = spawn(process.execPath, ["--experimental-websocket", "--no-warnings", "-e", CHILD, `ws://${server!.addr}/node`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  leftovers.push(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const [code] = await once(child, "close");
  assert.is(code, 0, out);
  const line = out.split("\n").find((l) => l.startsWith("RESULT ")) ?? out;
  assert.is(line, 'RESULT text-ok,binary-ok:4,text-ok,binary-ok:1048576 close=4321 clean=true proto=""', out);
  // the built-in client offers permessage-deflate; declining it by not answering is fine
  assert.match((await offered.recv())[0]!, /permessage-deflate/);
  assert.equal((await closes.recv())[0], [4321, "node done"]);
  server!.close();
});

test.run();
