// permessage-deflate over real sockets: interop both ways with `ws` (every
// window 9..15, with and without context takeover, small messages compressed
// too), Node's built-in client, and raw peers for what well-behaved peers
// never send: a compression bomb, fragments with control frames between them,
// a compressed stream cut at every byte offset, text that is not UTF-8 once
// inflated, data that does not inflate, the budget; order under concurrent
// writes, fragmentation of large compressed messages, and the zlib contexts
// released when a connection ends. Runs twice (scripts/test.mjs): with the
// fast zlib engine, and with SILLY_FASTZLIB=0.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { once } from "node:events";
import net from "node:net";
import zlib from "node:zlib";
import WebSocket, { WebSocketServer } from "ws";
import websocket from "silly-net-websocket";
import type { CompressionOptions, Socket, UpgradeOptions } from "silly-net-websocket";
import channel from "silly-sync-channel";
import task from "silly/task";
import logger from "silly/logger";
import { upgrading } from "./lib/upgrading.js";
import { nodesocket } from "./lib/nodesocket.js";
import { bounded } from "./lib/bounded.js";
import { rawserver } from "./lib/rawserver.js";
import { Raw, frame } from "./lib/rawws.js";
import { noise } from "./lib/noise.js";

logger.setlevel(logger.ERROR);

const leftovers: (() => void)[] = [];
test.after.each(() => {
  for (const f of leftovers.splice(0)) f();
});

// Live zlib streams, counted where node:zlib makes and closes them (the
// contexts our sockets hold are streams; zlib's one-shot functions hold none).
let livezlib = 0;
for (const name of ["createDeflateRaw", "createInflateRaw"] as const) {
  const make = zlib[name] as (o?: zlib.ZlibOptions) => zlib.DeflateRaw;
  Object.defineProperty(zlib, name, {
    value: (o?: zlib.ZlibOptions) => {
      const zs = make(o);
      livezlib++;
      const close = zs.close.bind(zs);
      let open = true;
      zs.close = (cb?: () => void) => {
        if (open) livezlib--;
        open = false;
        return close(cb);
      };
      return zs;
    },
  });
}

// ---------------------------------------------------------------- helpers

function chat(i: number): string {
  const words = ["hello", "world", "lorem", "ipsum", "dolor", "sit", "amet", "ünïcödé", "日本語", "emoji 😀"];
  const text = Array.from({ length: 3 + (i % 11) }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" ");
  return JSON.stringify({ type: "chat", id: i, user: `user${i % 13}`, room: "general", text, ts: 1700000000000 + i * 37 });
}

const MESSAGES: (string | Buffer)[] = ["", "a", "hi", chat(1), chat(2), chat(1), Buffer.from([0, 255, 1]), noise(3000, 5), "好".repeat(30_000), chat(3).repeat(2000), Buffer.alloc(200_000, 7)];

function same(got: unknown, want: string | Buffer, what: string): void {
  if (typeof want === "string") assert.ok(got === want, `${what}: text differs`);
  else assert.ok(Buffer.isBuffer(got) && want.equals(got), `${what}: bytes differ`);
}

/** A `ws` peer's messages as a channel. */
function wsmessages(ws: WebSocket): ReturnType<typeof channel.new<[Buffer, boolean]>> {
  const ch = channel.new<[Buffer, boolean]>();
  ws.on("message", (data: Buffer, isBinary: boolean) => ch.send([data, isBinary]));
  return ch;
}

function wsclosed(ws: WebSocket): Promise<[number, string]> {
  return new Promise((resolve) => ws.on("close", (code: number, reason: Buffer) => resolve([code, reason.toString()])));
}

function wssend(ws: WebSocket, data: string | Buffer, opts: { fin?: boolean; binary?: boolean; compress?: boolean } = {}): Promise<void> {
  return new Promise((resolve, reject) => ws.send(data, opts, (err) => (err ? reject(err) : resolve())));
}

async function wsclient(url: string, pmd: WebSocket.PerMessageDeflateOptions | boolean): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: pmd });
  ws.on("error", () => {});
  leftovers.push(() => ws.terminate());
  await once(ws, "open");
  return ws;
}

/** Bytes the socket's connection has read and written so far. */
function wire(s: Socket): { read: number; written: number } {
  const n = nodesocket(s.conn);
  return { read: n.bytesRead, written: n.bytesWritten };
}

// ---------------------------------------------------------------- interop with ws

const WINDOWS = [9, 10, 11, 12, 13, 14, 15];

test("ws client -> our server: windows 9..15, with and without context takeover, threshold 0: every message both ways, compressed", async () => {
  for (const bits of WINDOWS) {
    for (const nct of [false, true]) {
      const what = `${bits} bits${nct ? ", no context takeover" : ""}`;
      const compression: CompressionOptions = { servermaxwindowbits: bits, clientmaxwindowbits: bits, servernocontexttakeover: nct, clientnocontexttakeover: nct, threshold: 0 };
      const { server, socks } = await upgrading(leftovers, { compression });
      const ws = await wsclient(`ws://${server.addr}/`, { serverMaxWindowBits: bits, clientMaxWindowBits: bits, serverNoContextTakeover: nct, clientNoContextTakeover: nct, threshold: 0 });
      const [p] = await socks.recv();
      const [s, stream] = p!;
      assert.match(stream.header["sec-websocket-extensions"] ?? "", /permessage-deflate/);
      assert.match(ws.extensions, /^permessage-deflate/, what);
      const msgs = wsmessages(ws);
      for (const m of MESSAGES) {
        const w0 = wire(s);
        await wssend(ws, m, { binary: typeof m !== "string" });
        const [got, typ] = await s.read();
        assert.is(typ, typeof m === "string" ? "text" : "binary", what);
        same(got, m, `${what}: ws -> us`);
        await s.write(m, typeof m === "string" ? "text" : "binary");
        const [back] = await msgs.recv();
        same(typeof m === "string" ? back![0].toString() : back![0], m, `${what}: us -> ws`);
        assert.is(back![1], typeof m !== "string", `${what}: binary flag`);
        if (m.length >= 10_000 && m !== MESSAGES[7]) {
          const w1 = wire(s);
          assert.ok(w1.read - w0.read < m.length / 10, `${what}: ws's message came compressed (${w1.read - w0.read} bytes)`);
          assert.ok(w1.written - w0.written < m.length / 10, `${what}: ours went compressed (${w1.written - w0.written} bytes)`);
        }
      }
      ws.close(1000);
      assert.equal(await wsclosed(ws), [1000, ""]);
      server.close();
    }
  }
});

test("our client -> ws server: windows 9..15, with and without context takeover, threshold 0: every message both ways, compressed", async () => {
  for (const bits of WINDOWS) {
    for (const nct of [false, true]) {
      const what = `${bits} bits${nct ? ", no context takeover" : ""}`;
      const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: { serverMaxWindowBits: bits, clientMaxWindowBits: bits, serverNoContextTakeover: nct, clientNoContextTakeover: nct, threshold: 0 } });
      await once(wss, "listening");
      leftovers.push(() => wss.close());
      wss.on("connection", (ws) => ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary })));
      const compression: CompressionOptions = { servermaxwindowbits: bits, clientmaxwindowbits: bits, servernocontexttakeover: nct, clientnocontexttakeover: nct, threshold: 0 };
      const [c, err] = await websocket.connect(`ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}/`, undefined, { compression });
      assert.ok(c, err);
      leftovers.push(() => nodesocket(c!.conn).destroy());
      const answer = (c!.stream as { header: Record<string, string> }).header["sec-websocket-extensions"];
      assert.match(answer ?? "", /^permessage-deflate/, what);
      if (nct) assert.match(answer!, /server_no_context_takeover/, what);
      for (const m of MESSAGES) {
        const w0 = wire(c!);
        await c!.write(m, typeof m === "string" ? "text" : "binary");
        const [got, typ] = await c!.read();
        assert.is(typ, typeof m === "string" ? "text" : "binary", what);
        same(got, m, `${what}: echoed by ws`);
        if (m.length >= 10_000 && m !== MESSAGES[7]) {
          const w1 = wire(c!);
          assert.ok(w1.written - w0.written + (w1.read - w0.read) < m.length / 5, `${what}: compressed both ways`);
        }
      }
      await c!.close();
      wss.close();
    }
  }
});

test("ws client -> our server: a compressed message in fragments with pings between them; ours arrive whole", async () => {
  const { server, socks } = await upgrading(leftovers, { compression: { threshold: 0 } });
  const ws = await wsclient(`ws://${server.addr}/`, { threshold: 0 });
  const [p] = await socks.recv();
  const s = p![0];
  const parts = [chat(1), chat(2), "", chat(3)];
  for (let i = 0; i < parts.length; i++) {
    await wssend(ws, parts[i]!, { fin: i === parts.length - 1, compress: true });
    if (i < parts.length - 1) ws.ping(`mid ${i}`);
  }
  for (let i = 0; i < parts.length - 1; i++) assert.equal(await s.read(), [Buffer.from(`mid ${i}`), "ping"]);
  assert.equal(await s.read(), [parts.join(""), "text"]);
  // Binary too, and the next message still inflates (the context is intact).
  await wssend(ws, Buffer.from(chat(4)), { fin: false, binary: true, compress: true });
  ws.ping();
  await wssend(ws, Buffer.from(chat(4)), { fin: true, binary: true });
  await wssend(ws, chat(5));
  assert.equal(await s.read(), [Buffer.alloc(0), "ping"]);
  assert.equal(await s.read(), [Buffer.from(chat(4) + chat(4)), "binary"]);
  assert.equal(await s.read(), [chat(5), "text"]);
  ws.close();
  await wsclosed(ws);
});

test("a large compressed message still goes out in 64 KiB fragments, RSV1 on the first only; small uncompressed ones take the fast path", async () => {
  const { server, socks } = await upgrading(leftovers, { compression: true });
  const sock = net.connect(server.port, "127.0.0.1");
  leftovers.push(() => sock.destroy());
  const raw = new Raw(sock);
  raw.send(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"));
  assert.match(await raw.head(), /sec-websocket-extensions: permessage-deflate; server_max_window_bits=12\r\n/i);
  const [p] = await socks.recv();
  const s = p![0];
  const big = noise(200_000, 9); // incompressible: the compressed payload is over 64 KiB
  void s.write(big);
  void s.write("short"); // under the threshold: uncompressed, after the big one
  void s.write("x".repeat(100), "text");
  const m = await raw.message();
  assert.ok(m.rsv1);
  assert.is(m.frames, 4, "200 KB in 64 KiB frames");
  assert.equal(zlib.inflateRawSync(Buffer.concat([m.payload, Buffer.from([0, 0, 0xff, 0xff])]), { windowBits: 12, finishFlush: zlib.constants.Z_SYNC_FLUSH }), big);
  const short = await raw.message();
  assert.equal([short.rsv1, short.payload.toString()], [false, "short"]);
  const third = await raw.message();
  assert.ok(third.rsv1);
  assert.is(third.payload.length < 20, true);
});

test("our server: concurrent writers, compressed and not, keep each writer's order", async () => {
  const { server, socks } = await upgrading(leftovers, { compression: true });
  const ws = await wsclient(`ws://${server.addr}/`, true);
  const msgs = wsmessages(ws);
  const [p] = await socks.recv();
  const s = p![0];
  const WRITERS = 5;
  const N = 200;
  const body = (w: number, i: number): string => (i % 3 === 0 ? `${w}:${i}` : i % 3 === 1 ? `${w}:${i} ${chat(i)}` : `${w}:${i} ${chat(i).repeat(400)}`);
  for (let w = 0; w < WRITERS; w++) {
    task.fork(async () => {
      for (let i = 0; i < N; i++) {
        const r = i % 2 === 0 ? await s.write(body(w, i), "text") : (void s.write(body(w, i), "text"), [true]);
        assert.ok(r[0]);
      }
    });
  }
  const next = new Array<number>(WRITERS).fill(0);
  for (let k = 0; k < WRITERS * N; k++) {
    const [m] = await msgs.recv();
    const text = m![0].toString();
    const [w, i] = text.split(" ")[0]!.split(":").map(Number) as [number, number];
    assert.is(i, next[w], `writer ${w}'s messages in order`);
    assert.is(text, body(w, i));
    next[w]!++;
  }
  ws.close();
  await wsclosed(ws);
});

// ---------------------------------------------------------------- Node's built-in client

const NODE_CHILD = `
const ws = new WebSocket(process.argv[1]);
ws.binaryType = "arraybuffer";
const sent = ["hello hello hello hello 你好", "a".repeat(100000), new Uint8Array(50000).fill(7)];
const out = [];
let i = 0;
const timer = setTimeout(() => { console.log("RESULT timeout " + out.join(",")); process.exit(2); }, 10000);
ws.onopen = () => { out.push("ext=" + ws.extensions); for (const m of sent) ws.send(m); };
ws.onmessage = (ev) => {
  const want = sent[i++];
  if (typeof want === "string") out.push(ev.data === want ? "text-ok" : "text-bad");
  else { const got = new Uint8Array(ev.data); out.push(got.length === want.length && got.every((b) => b === 7) ? "binary-ok" : "binary-bad"); }
  if (i === sent.length) ws.close(1000);
};
ws.onclose = (ev) => { clearTimeout(timer); console.log("RESULT " + out.join(",") + " close=" + ev.code); };
`;

test("Node's built-in WebSocket negotiates permessage-deflate and inflates our compressed messages; it sends its own uncompressed", bounded(30_000, async () => {
  const { server, socks } = await upgrading(leftovers, { compression: true });
  const child = spawn(process.execPath, ["--experimental-websocket", "--no-warnings", "-e", NODE_CHILD, `ws://${server.addr}/`], { stdio: ["ignore", "pipe", "pipe"] });
  leftovers.push(() => child.kill("SIGKILL"));
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  const [p] = await socks.recv();
  const [s, stream] = p!;
  assert.is(stream.header["sec-websocket-extensions"], "permessage-deflate; client_max_window_bits");
  let read = 0;
  let written = 0;
  for (;;) {
    const w0 = wire(s);
    const [d, t] = await s.read();
    if (d === undefined || t === "close") break;
    read += wire(s).read - w0.read;
    const w1 = wire(s);
    await s.write(d, t);
    written += wire(s).written - w1.written;
  }
  await s.close();
  const [code] = await once(child, "close");
  assert.is(code, 0, out);
  assert.match(out, /RESULT ext=permessage-deflate; server_max_window_bits=12; client_max_window_bits=12,text-ok,text-ok,binary-ok close=1000/);
  assert.ok(written < 2000, `ours went compressed: ${written} bytes for 150 KB`);
  assert.ok(read > 150_000, `Node's came uncompressed: ${read} bytes`);
}));

// ---------------------------------------------------------------- limits and bad input

const TRAILER_LEN = 4;

/**
 * A compressed payload that inflates to `mib` MiB of zeros: one sync-flushed
 * chunk of 1 MiB, repeated (each chunk refers only to itself, so the copies
 * form one valid stream).
 */
function bomb(mib: number): Buffer {
  const chunk = zlib.deflateRawSync(Buffer.alloc(1 << 20), { windowBits: 12, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return Buffer.concat(Array.from({ length: mib }, () => chunk)).subarray(0, -TRAILER_LEN);
}

const OFFER = "permessage-deflate; client_max_window_bits";

/** A raw client after a handshake offering `offer`, and our server's socket. */
async function rawclient(opts: UpgradeOptions, offer = OFFER): Promise<[Raw, Socket]> {
  const { server, socks } = await upgrading(leftovers, opts);
  const sock = net.connect(server.port, "127.0.0.1");
  leftovers.push(() => sock.destroy());
  const raw = new Raw(sock);
  raw.send(Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: ${offer}\r\n\r\n`));
  assert.match(await raw.head(), /^HTTP\/1\.1 101 [^]*sec-websocket-extensions: permessage-deflate/i);
  const [p] = await socks.recv();
  return [raw, p![0]];
}

/** Our client against a raw server that agrees to `answer`. */
async function ourclient(answer = "permessage-deflate", opts = {}): Promise<[Raw, Socket]> {
  const rs = await rawserver(leftovers, answer);
  const [c, err] = await websocket.connect(`ws://127.0.0.1:${rs.port}/`, undefined, opts);
  assert.ok(c, err);
  leftovers.push(() => nodesocket(c!.conn).destroy());
  const [peer] = await rs.peers.recv();
  return [peer![0], c!];
}

test("a compression bomb (1 GiB from 1 MiB) fails with 1009 on both roles, the process's memory bounded", bounded(60_000, async () => {
  const b = bomb(1024);
  assert.ok(b.length < 1.2 * (1 << 20), `${b.length} bytes`);
  for (const role of ["server", "client"] as const) {
    const rss0 = process.memoryUsage().rss;
    const [raw, s] = role === "server" ? await rawclient({ compression: true }) : await ourclient();
    raw.send(frame(2, b, { rsv: 4, mask: role === "server" }));
    const [d, err] = await s.read();
    assert.is(d, undefined);
    assert.is(err, "websocket: 1009 inflated message exceeds maxpayload (16777216 bytes)", role);
    assert.is(await raw.closecode(), 1009, role);
    const grown = process.memoryUsage().rss - rss0;
    assert.ok(grown < 96 << 20, `${role}: RSS grew by ${grown >> 20} MiB for a 16 MiB bound`);
  }
  // A smaller bound stops sooner: 1 MiB + 1 byte.
  const [raw, s] = await rawclient({ compression: true, maxpayload: 1 << 20 });
  raw.send(frame(2, bomb(2), { rsv: 4 }));
  assert.equal(await s.read(), [undefined, "websocket: 1009 inflated message exceeds maxpayload (1048576 bytes)"]);
  assert.is(await raw.closecode(), 1009);
}));

test("text that is not UTF-8 once inflated: 1007 (ws as the sender, and a raw server to our client)", async () => {
  const { server, socks } = await upgrading(leftovers, { compression: { threshold: 0 } });
  const ws = await wsclient(`ws://${server.addr}/`, { threshold: 0 });
  const closed = wsclosed(ws);
  const [p] = await socks.recv();
  const s = p![0];
  await wssend(ws, "fine");
  await wssend(ws, Buffer.from([0x61, 0xff, 0x62]), { binary: false }); // ws sends the bytes as text, compressed
  assert.equal(await s.read(), ["fine", "text"]);
  assert.equal(await s.read(), [undefined, "websocket: 1007 invalid UTF-8 in text message"]);
  assert.is((await closed)[0], 1007);
  // Ends inside a character, from a raw server, split over fragments.
  const [raw, c] = await ourclient();
  const z = zlib.deflateRawSync(Buffer.from([0x61, 0xe2, 0x82]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  raw.send(frame(1, z.subarray(0, 2), { rsv: 4, mask: false, fin: false }), frame(0, z.subarray(2), { mask: false }));
  const [d, err] = await c.read();
  assert.is(d, undefined);
  assert.match(err!, /^websocket: 1007 invalid UTF-8 in text message/);
  assert.is(await raw.closecode(), 1007);
});

test("data that does not inflate: 1002, on both roles", async () => {
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00, 0x01]);
  for (const role of ["server", "client"] as const) {
    const [raw, s] = role === "server" ? await rawclient({ compression: true }) : await ourclient();
    raw.send(frame(2, garbage, { rsv: 4, mask: role === "server" }));
    assert.equal(await s.read(), [undefined, "websocket: 1002 invalid compressed data"], role);
    assert.is(await raw.closecode(), 1002, role);
  }
});

test("the budget counts a compressed message as it arrives; a failure releases it", async () => {
  const budget = websocket.budget(256 * 1024);
  const [raw, s] = await rawclient({ compression: true, budget });
  const z = zlib.deflateRawSync(noise(600_000, 21), { windowBits: 12, finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  raw.send(frame(2, z.subarray(0, 200_000), { rsv: 4, fin: false }));
  raw.send(frame(0, z.subarray(200_000, 400_000), { fin: false }));
  assert.equal(await s.read(), [undefined, "websocket: 1009 the messages being received exceed the memory budget (262144 bytes)"]);
  assert.is(await raw.closecode(), 1009);
  assert.is(budget.used, 0);
});

/** Lets the event loop run through one poll phase: bytes written to loopback before it have been read by then. */
async function polled(): Promise<void> {
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

test("a compressed stream cut at every byte offset: two messages (context takeover), the second in fragments with a ping among them", bounded(120_000, async () => {
  const m1 = chat(1) + chat(2);
  const m2 = chat(2) + " and again " + chat(1);
  const sync = { windowBits: 12, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const c1 = zlib.deflateRawSync(m1, sync).subarray(0, -4);
  const c2 = zlib.deflateRawSync(m2, { ...sync, dictionary: Buffer.from(m1) }).subarray(0, -4); // refers back into m1
  const stream = Buffer.concat([
    frame(1, c1, { rsv: 4 }),
    frame(1, c2.subarray(0, 10), { rsv: 4, fin: false }),
    frame(9, "p"),
    frame(0, c2.subarray(10, 20), { fin: false }),
    frame(0, c2.subarray(20)),
  ]);
  const { server, socks } = await upgrading(leftovers, { compression: true });
  const HEAD = `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: ${OFFER}\r\n\r\n`;
  for (let cut = 0; cut <= stream.length; cut++) {
    const sock = net.connect(server.port, "127.0.0.1");
    sock.setNoDelay(true);
    const raw = new Raw(sock);
    raw.send(Buffer.from(HEAD));
    await raw.head();
    const [p] = await socks.recv();
    const s = p![0];
    raw.send(stream.subarray(0, cut));
    await polled();
    raw.send(stream.subarray(cut));
    assert.equal(await s.read(), [m1, "text"], `cut at ${cut}`);
    assert.equal(await s.read(), [Buffer.from("p"), "ping"], `cut at ${cut}`);
    assert.equal(await s.read(), [m2, "text"], `cut at ${cut}`);
    sock.destroy();
    assert.is((await s.read())[0], undefined);
  }
}));

test("the zlib contexts are released when a connection ends, however it ends", bounded(30_000, async () => {
  const before = livezlib;
  const { server, socks } = await upgrading(leftovers, { compression: true });
  const url = `ws://${server.addr}/`;
  const pairs: [Socket, Socket][] = [];
  for (let i = 0; i < 30; i++) {
    const [c, err] = await websocket.connect(url);
    assert.ok(c, err);
    const [p] = await socks.recv();
    const s = p![0];
    await c!.write(chat(i), "text");
    assert.equal(await s.read(), [chat(i), "text"]);
    await s.write(chat(i + 1), "text");
    assert.equal(await c!.read(), [chat(i + 1), "text"]);
    pairs.push([c!, s]);
  }
  if (livezlib > before) assert.is(livezlib - before, 4 * 30, "a compressor and an inflater per end"); // (the fast engine; the public one keeps no stream)
  for (let i = 0; i < pairs.length; i++) {
    const [c, s] = pairs[i]!;
    if (i % 3 === 0) await c.close(); // the closing handshake
    else if (i % 3 === 1) {
      nodesocket(c.conn).destroy(); // the client vanishes: the server sees EOF
      assert.is((await s.read())[0], undefined);
      assert.is((await c.read())[0], undefined);
    } else {
      await s.write(Buffer.from([1]), "close"); // a bad close frame from the server: the client fails with 1002
      assert.is((await c.read())[0], undefined);
      assert.is((await s.read())[1], "close");
    }
  }
  // The server's ends close as the clients' do.
  for (const [, s] of pairs) await s.close();
  assert.is(livezlib, before, "every context closed");
}));

test.run();
