// RFC 6455 strictness over the wire: frames written byte by byte on a raw
// node:net socket after a valid handshake to our server; the close frame the
// server answers with is parsed from the raw bytes. Then the other way round:
// a raw node:net server that breaks the rules against our client.
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import type { Server, ServerStream } from "silly-net-http";
import websocket from "silly-net-websocket";
import type { Socket, UpgradeOptions } from "silly-net-websocket";
import type { Channel } from "silly-sync-channel";
import logger from "silly/logger";
import { upgrading } from "./lib/upgrading.js";
import { nodesocket } from "./lib/nodesocket.js";
import { bounded } from "./lib/bounded.js";
import { Raw, closepayload, frame } from "./lib/rawws.js";
import { rawserver } from "./lib/rawserver.js";

logger.setlevel(logger.ERROR);

// ---------------------------------------------------------------- a server and raw clients

const leftovers: (() => void)[] = [];
test.after.each(() => {
  for (const f of leftovers.splice(0)) f();
});

interface Srv {
  server: Server;
  port: number;
  socks: Channel<[Socket, ServerStream]>;
}

async function wsserver(opts?: UpgradeOptions): Promise<Srv> {
  const { server, socks } = await upgrading(leftovers, opts);
  return { server, port: server.port, socks };
}

const HANDSHAKE =
  "GET /strict HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/** A raw client after a valid handshake, and the server's socket for it. */
async function rawclient(srv: Srv, pipelined?: Buffer): Promise<[Raw, Socket]> {
  const sock = net.connect(srv.port, "127.0.0.1");
  leftovers.push(() => sock.destroy());
  const raw = new Raw(sock);
  raw.send(pipelined === undefined ? Buffer.from(HANDSHAKE) : Buffer.concat([Buffer.from(HANDSHAKE), pipelined]));
  const head = await raw.head();
  assert.ok(head.startsWith("HTTP/1.1 101 "), head);
  assert.match(head, /\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=\r\n/i);
  const [pair] = await srv.socks.recv();
  return [raw, pair![0]];
}

/** Send `bytes`; the server must answer with close `code`, read() must fail naming it, and TCP must close. */
async function violation(srv: Srv, what: string, code: number, ...bytes: Buffer[]): Promise<void> {
  const [raw, s] = await rawclient(srv);
  raw.send(...bytes);
  const got = await raw.closecode();
  assert.is(got, code, `${what}: close code`);
  const [d, err] = await s.read();
  assert.is(d, undefined, `${what}: the server's read() fails`);
  assert.match(String(err), new RegExp(String(code)), `${what}: read() names the code: ${err}`);
  await raw.closed; // the server closed the TCP connection
  // and the process is up and the server still serves a fresh client
  await healthy(srv, what);
}

/** A fresh raw client still gets served: a masked text frame is echoed. */
async function healthy(srv: Srv, what: string): Promise<void> {
  const [raw, s] = await rawclient(srv);
  raw.send(frame(1, "still fine"));
  const [d, t] = await s.read();
  assert.is(d, "still fine", `${what}: a fresh client is served (${t})`);
  assert.is(t, "text");
  await s.write("ok", "text");
  const f = await raw.frame();
  assert.is(f.op, 1);
  assert.not.ok(f.masked, "server frames are not masked");
  assert.is(f.payload.toString(), "ok");
  raw.sock.destroy();
  await s.read();
}

// ---------------------------------------------------------------- the server side

test("unmasked client frame -> 1002", async () => {
  const srv = await wsserver();
  await violation(srv, "unmasked text", 1002, frame(1, "hi", { mask: false }));
  await violation(srv, "unmasked ping", 1002, frame(9, "hi", { mask: false }));
});

test("RSV1, RSV2, RSV3 set (no extension negotiated) -> 1002", async () => {
  const srv = await wsserver();
  for (const rsv of [4, 2, 1, 7]) await violation(srv, `rsv ${rsv}`, 1002, frame(1, "x", { rsv }));
  await violation(srv, "rsv on a ping", 1002, frame(9, "x", { rsv: 4 }));
});

test("unknown opcodes 3..7 and 0xB..0xF -> 1002", async () => {
  const srv = await wsserver();
  for (const op of [3, 0xb, 7, 0xf]) await violation(srv, `opcode ${op}`, 1002, frame(op, "x"));
});

test("fragmented control frame (ping with FIN=0) -> 1002", async () => {
  const srv = await wsserver();
  await violation(srv, "ping FIN=0", 1002, frame(9, "x", { fin: false }));
  await violation(srv, "close FIN=0", 1002, frame(8, closepayload(1000), { fin: false }));
});

test("ping with a 126-byte payload -> 1002 (also pong, close)", async () => {
  const srv = await wsserver();
  await violation(srv, "ping 126", 1002, frame(9, Buffer.alloc(126)));
  await violation(srv, "pong 126", 1002, frame(10, Buffer.alloc(126)));
  await violation(srv, "close 126", 1002, frame(8, closepayload(1000, "r".repeat(124))));
  // a 125-byte ping is fine
  const [raw, s] = await rawclient(srv);
  raw.send(frame(9, Buffer.alloc(125, 7)));
  const [d, t] = await s.read();
  assert.is(t, "ping");
  assert.ok(Buffer.isBuffer(d) && d.equals(Buffer.alloc(125, 7)));
  raw.sock.destroy();
});

test("continuation without a start -> 1002", async () => {
  const srv = await wsserver();
  await violation(srv, "lone continuation", 1002, frame(0, "x"));
  await violation(srv, "lone continuation FIN=0", 1002, frame(0, "x", { fin: false }));
});

test("a new data frame inside a fragmented message -> 1002; a control frame in between is fine", async () => {
  const srv = await wsserver();
  await violation(srv, "text inside text", 1002, frame(1, "a", { fin: false }), frame(1, "b"));
  await violation(srv, "binary inside text", 1002, frame(1, "a", { fin: false }), frame(2, "b"));
  const [raw, s] = await rawclient(srv);
  raw.send(frame(1, "he", { fin: false }), frame(9, "p"), frame(0, "ll", { fin: false }), frame(0, "o"));
  assert.equal(await s.read(), [Buffer.from("p"), "ping"]);
  assert.equal(await s.read(), ["hello", "text"]);
  // zero-length fragments
  raw.send(frame(2, "", { fin: false }), frame(0, "", { fin: false }), frame(0, ""));
  const [d, t] = await s.read();
  assert.is(t, "binary");
  assert.is((d as Buffer).length, 0);
  raw.sock.destroy();
});

test("close frame with a 1-byte payload -> 1002", async () => {
  const srv = await wsserver();
  await violation(srv, "1-byte close", 1002, frame(8, [0x03]));
});

test("close codes 0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535 -> 1002", async () => {
  const srv = await wsserver();
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
    await violation(srv, `close code ${code}`, 1002, frame(8, closepayload(code)));
  }
});

test("close codes 1000..1003, 1007..1014, 3000, 4999 are accepted and echoed; an empty close too", async () => {
  const srv = await wsserver();
  for (const code of [1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999]) {
    const [raw, s] = await rawclient(srv);
    raw.send(frame(8, closepayload(code, "why")));
    const [reason, typ] = await s.read();
    assert.is(typ, "close", `code ${code}`);
    assert.is(reason, "why");
    assert.is(s.closecode, code);
    assert.is(await raw.closecode(), code, `code ${code} echoed`);
    await raw.closed;
  }
  const [raw, s] = await rawclient(srv);
  raw.send(frame(8));
  assert.equal(await s.read(), ["", "close"]);
  assert.is(s.closecode, 1005);
  const f = await raw.frame();
  assert.is(f.op, 8);
  assert.is(f.payload.length, 0, "an empty close is echoed empty (1005 is never sent)");
  await raw.closed;
});

const BAD_UTF8: [string, number[]][] = [
  ["C3 28", [0xc3, 0x28]],
  ["lone FF", [0xff]],
  ["lone FE", [0x61, 0xfe]],
  ["overlong C0 80", [0xc0, 0x80]],
  ["overlong E0 80 AF", [0xe0, 0x80, 0xaf]],
  ["surrogate ED A0 80", [0xed, 0xa0, 0x80]],
  ["above U+10FFFF F4 90 80 80", [0xf4, 0x90, 0x80, 0x80]],
  ["lone continuation 80", [0x61, 0x80]],
  ["truncated E4 BD", [0xe4, 0xbd]],
  ["F5 80 80 80", [0xf5, 0x80, 0x80, 0x80]],
  ["overlong F0 80 80 80", [0xf0, 0x80, 0x80, 0x80]],
  ["F8", [0xf8, 0x88, 0x80, 0x80, 0x80]],
  ["surrogate pair as CESU-8", [0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80]],
];

test("valid UTF-8 edge characters are accepted, whole or split across fragments", async () => {
  const srv = await wsserver();
  const [raw, s] = await rawclient(srv);
  const edge = "\u007f\u0080\u07ff\u0800\ud7ff\ue000\uffff\u{10000}\u{10ffff}😀";
  raw.send(frame(1, edge));
  assert.equal(await s.read(), [edge, "text"]);
  const b = Buffer.from(edge);
  // one byte per fragment
  for (let i = 0; i < b.length; i++) raw.send(frame(i === 0 ? 1 : 0, b.subarray(i, i + 1), { fin: i === b.length - 1 }));
  assert.equal(await s.read(), [edge, "text"]);
  raw.sock.destroy();
});

test("invalid UTF-8 in a text message -> 1007", async () => {
  const srv = await wsserver();
  for (const [name, bytes] of BAD_UTF8) await violation(srv, name, 1007, frame(1, bytes));
  // a long mostly-ASCII message with one bad byte near the end
  const long = Buffer.alloc(70000, 0x61);
  long[69990] = 0xff;
  await violation(srv, "bad byte at 69990", 1007, frame(1, long));
});

test("invalid UTF-8 split across fragments -> 1007; a character split across fragments is fine", async () => {
  const srv = await wsserver();
  await violation(srv, "E4 BD | 28", 1007, frame(1, [0xe4, 0xbd], { fin: false }), frame(0, [0x28]));
  await violation(srv, "C3 | 28", 1007, frame(1, [0x61, 0xc3], { fin: false }), frame(0, [0x28, 0x61]));
  await violation(srv, "ED | A0 80", 1007, frame(1, [0xed], { fin: false }), frame(0, [0xa0, 0x80]));
  await violation(srv, "ends inside a character", 1007, frame(1, [0x61], { fin: false }), frame(0, [0xe4, 0xbd]));
  await violation(srv, "FF in the middle fragment", 1007, frame(1, "a", { fin: false }), frame(0, [0xff], { fin: false }), frame(0, "b"));
  const [raw, s] = await rawclient(srv);
  raw.send(frame(1, [0xe4], { fin: false }), frame(0, [0xbd], { fin: false }), frame(0, [0xa0, 0xe5, 0xa5], { fin: false }), frame(0, [0xbd]));
  assert.equal(await s.read(), ["你好", "text"]);
  raw.sock.destroy();
});

test("invalid UTF-8 in a close reason -> 1007", async () => {
  const srv = await wsserver();
  await violation(srv, "close reason FF", 1007, frame(8, closepayload(1000, Buffer.from([0xff]))));
  await violation(srv, "close reason surrogate", 1007, frame(8, closepayload(1000, Buffer.from([0x61, 0xed, 0xa0, 0x80]))));
});

test("a header announcing more than maxpayload -> 1009 before any payload is sent", async () => {
  const srv = await wsserver({ maxpayload: 1000 });
  // only the header (with its mask key): no payload byte follows
  await violation(srv, "16-bit length 1001", 1009, frame(2, Buffer.alloc(0), { len: 1001 }));
  await violation(srv, "64-bit length 2^40", 1009, frame(2, Buffer.alloc(0), { len: 2n ** 40n }));
  await violation(srv, "fragment pushing the total over", 1009, frame(2, Buffer.alloc(600), { fin: false }), frame(0, Buffer.alloc(0), { len: 401, fin: false }));
  const srv2 = await wsserver(); // the default limit, 16 MiB
  await violation(srv2, "16 MiB + 1", 1009, frame(2, Buffer.alloc(0), { len: 16 * 1024 * 1024 + 1 }));
});

test("lingering close: 50 times, a 16 MiB + 1 frame written whole before reading gets close 1009, then the server's EOF", bounded(60_000, async () => {
  const srv = await wsserver(); // the default maxpayload, 16 MiB
  const big = frame(2, Buffer.alloc(16 * 1024 * 1024 + 1, 1));
  for (let i = 0; i < 50; i++) {
    const [raw, s] = await rawclient(srv);
    // The server fails at the header and answers while the client is still
    // writing: it reads and discards the rest, so the write completes and the
    // client then finds the close frame (a reset would have lost it).
    assert.ok(await raw.sendall(big), `round ${i}: the write completed (${raw.errors.join(", ")})`);
    assert.is(await raw.closecode(), 1009, `round ${i}`);
    assert.match(String((await s.read())[1]), /1009/);
    await raw.closed; // the client's side ended on the server's EOF; then the server closed
    assert.equal(raw.errors, [], `round ${i}: no reset`);
  }
}));

test("lingering close: 4 MiB in 64-byte fragments, past maxfragments, written before reading gets close 1009", bounded(60_000, async () => {
  const srv = await wsserver(); // the default maxfragments, 1024
  const n = (4 * 1024 * 1024) / 64;
  const piece = Buffer.alloc(64, 3);
  const frames: Buffer[] = [];
  for (let k = 0; k < n; k++) frames.push(frame(k === 0 ? 2 : 0, piece, { fin: k === n - 1 }));
  const all = Buffer.concat(frames);
  for (let i = 0; i < 50; i++) {
    const [raw, s] = await rawclient(srv);
    assert.ok(await raw.sendall(all), `round ${i}: the write completed (${raw.errors.join(", ")})`);
    assert.is(await raw.closecode(), 1009, `round ${i}`);
    assert.match(String((await s.read())[1]), /more than 1024 fragments/);
    await raw.closed;
    assert.equal(raw.errors, [], `round ${i}: no reset`);
  }
}));

test("lingering close: the server ends TCP first and reads on until the client's end; a client that never ends is cut off after closetimeout", bounded(60_000, async () => {
  const srv = await wsserver({ closetimeout: 300 });
  const sock = net.connect({ port: srv.port, host: "127.0.0.1", allowHalfOpen: true });
  leftovers.push(() => sock.destroy());
  const raw = new Raw(sock);
  raw.send(Buffer.from(HANDSHAKE));
  await raw.head();
  const [pair] = await srv.socks.recv();
  raw.send(frame(1, "x", { mask: false }));
  assert.is(await raw.closecode(), 1002);
  await new Promise((resolve) => sock.once("end", resolve)); // the server's FIN, while our side is still open
  const t0 = Date.now();
  raw.send(frame(1, "discarded")); // still read (and dropped) by the server
  const server = nodesocket(pair![0].conn);
  await new Promise((resolve) => (server.destroyed ? resolve(undefined) : server.once("close", resolve)));
  // we never end our side: the server gives up after closetimeout
  assert.ok(Date.now() - t0 >= 200, `the server waited for our end (${Date.now() - t0} ms)`);
  assert.match(String((await pair![0].read())[1]), /1002/);
  raw.sock.end();
  await raw.closed;
}));

test("too many fragments -> 1009 (the documented code)", async () => {
  const srv = await wsserver({ maxfragments: 3 });
  const [raw, s] = await rawclient(srv);
  raw.send(frame(1, "a", { fin: false }), frame(0, "b", { fin: false }), frame(0, "c"));
  assert.equal(await s.read(), ["abc", "text"]);
  raw.sock.destroy();
  await violation(srv, "4 fragments", 1009, frame(1, "a", { fin: false }), frame(0, "b", { fin: false }), frame(0, "c", { fin: false }), frame(0, "d"));
});

test("64-bit length with the most significant bit set -> 1002", async () => {
  const srv = await wsserver();
  await violation(srv, "MSB set", 1002, frame(2, Buffer.alloc(0), { len: 2n ** 63n + 5n }));
});

test("control frames with 126/127 length forms -> 1002", async () => {
  const srv = await wsserver();
  await violation(srv, "ping, 16-bit form", 1002, frame(9, "x", { len: 200 }));
  await violation(srv, "ping, 64-bit form", 1002, frame(9, Buffer.alloc(0), { len64: true }));
});

test("data frames with non-minimal length forms are accepted", async () => {
  const srv = await wsserver();
  const [raw, s] = await rawclient(srv);
  raw.send(frame(1, "five!", { len64: true }));
  assert.equal(await s.read(), ["five!", "text"]);
  raw.sock.destroy();
});

test("frames byte by byte: the parser reassembles headers and payloads split anywhere", async () => {
  const srv = await wsserver();
  const [raw, s] = await rawclient(srv);
  const bytes = Buffer.concat([frame(1, "你好, world"), frame(2, Buffer.alloc(300, 9)), frame(8, closepayload(4000, "ok"))]);
  for (let i = 0; i < bytes.length; i++) {
    raw.sock.write(bytes.subarray(i, i + 1));
    if (i % 7 === 0) await new Promise((r) => setImmediate(r)); // let them arrive as separate chunks
  }
  assert.equal(await s.read(), ["你好, world", "text"]);
  const [b, t] = await s.read();
  assert.is(t, "binary");
  assert.ok((b as Buffer).equals(Buffer.alloc(300, 9)));
  assert.equal(await s.read(), ["ok", "close"]);
  assert.is(await raw.closecode(), 4000);
  await raw.closed;
});

test("a valid frame pipelined right behind the handshake is read", async () => {
  const srv = await wsserver();
  const [raw, s] = await rawclient(srv, frame(1, "early"));
  assert.equal(await s.read(), ["early", "text"]);
  raw.sock.destroy();
});

test("an invalid frame pipelined behind the handshake: the 101 answer still comes first, then close 1002", async () => {
  const srv = await wsserver();
  const sock = net.connect(srv.port, "127.0.0.1");
  leftovers.push(() => sock.destroy());
  const raw = new Raw(sock);
  raw.send(Buffer.from(HANDSHAKE), frame(1, "bad", { mask: false }));
  const head = await raw.head();
  assert.ok(head.startsWith("HTTP/1.1 101 "), `the answer starts with the 101 head: ${JSON.stringify(head.slice(0, 40))}`);
  assert.is(await raw.closecode(), 1002);
  await raw.closed;
  const [pair] = await srv.socks.recv();
  const [d, err] = await pair![0].read();
  assert.is(d, undefined);
  assert.match(String(err), /1002/);
  await healthy(srv, "after the pipelined violation");
});

test("in order: a valid message and a bad frame in one write: the message is read and answered, then the failure", bounded(60_000, async () => {
  const srv = await wsserver();
  // the server's read is pending when the bytes arrive
  const [raw, s] = await rawclient(srv);
  const first = s.read();
  raw.send(frame(1, "hello"), frame(1, "bad", { rsv: 4 }), frame(1, "after"));
  assert.equal(await first, ["hello", "text"]);
  await s.write("echo: hello", "text");
  const [d, err] = await s.read();
  assert.is(d, undefined);
  assert.match(String(err), /1002/);
  const f = await raw.frame();
  assert.is(f.op, 1, "the answer to the valid message comes before the close frame");
  assert.is(f.payload.toString(), "echo: hello");
  assert.is(await raw.closecode(), 1002);
  await raw.closed;
  // no read pending: both valid messages are queued, and the failure after them
  const [raw2, s2] = await rawclient(srv);
  raw2.send(frame(1, "one"), frame(2, "two"), frame(0, "bad"));
  assert.equal(await s2.read(), ["one", "text"]);
  await s2.write("echo: one", "text");
  const [b, t] = await s2.read();
  assert.is(t, "binary");
  assert.is(String(b), "two");
  await s2.write("echo: two", "text");
  assert.match(String((await s2.read())[1]), /1002 continuation frame without a message in progress/);
  assert.is((await raw2.frame()).payload.toString(), "echo: one");
  assert.is((await raw2.frame()).payload.toString(), "echo: two");
  assert.is(await raw2.closecode(), 1002);
  await raw2.closed;
}));

test("in order: an application that never reads on still fails the connection after closetimeout", bounded(60_000, async () => {
  const srv = await wsserver({ closetimeout: 100 });
  const [raw, s] = await rawclient(srv);
  raw.send(frame(1, "hello"), frame(1, "x", { mask: false }));
  // the server never reads; the failure goes ahead on its own
  assert.is(await raw.closecode(), 1002);
  await raw.closed;
  assert.equal(await s.read(), ["hello", "text"], "the message stays readable");
  assert.match(String((await s.read())[1]), /1002/);
}));

test("keepalive: a client that never answers gets a ping, then close 1011 on the deadline; read() says why", bounded(30_000, async () => {
  const srv = await wsserver({ pinginterval: 100, pongtimeout: 100 });
  const [raw, s] = await rawclient(srv);
  const ping = await raw.frame();
  assert.is(ping.op, 9);
  assert.is(ping.payload.toString(), "keepalive");
  assert.is(await raw.closecode(), 1011);
  const [d, err] = await s.read();
  assert.is(d, undefined);
  assert.match(String(err), /^websocket: 1011 keepalive: no answer to a ping within 100 ms$/);
  await raw.closed;
}));

test("keepalive: a client that answers every ping stays connected; the pongs never reach read()", bounded(30_000, async () => {
  const srv = await wsserver({ pinginterval: 50, pongtimeout: 5000 });
  const [raw, s] = await rawclient(srv);
  const reading = s.read();
  for (let i = 0; i < 10; i++) {
    const f = await raw.frame();
    assert.is(f.op, 9, `ping ${i}`);
    raw.send(frame(10, f.payload));
  }
  raw.send(frame(1, "still here"));
  assert.equal(await reading, ["still here", "text"]);
  assert.ok(s.isalive());
  raw.sock.destroy();
}));

test("stalls: a client that begins a message and stops gets close 1008; read() says why", bounded(30_000, async () => {
  const srv = await wsserver({ stalltimeout: 100, pinginterval: 0 });
  // the first of several fragments, then nothing
  const [raw, s] = await rawclient(srv);
  raw.send(frame(2, Buffer.alloc(1000, 1), { fin: false }));
  assert.is(await raw.closecode(), 1008);
  assert.match(String((await s.read())[1]), /^websocket: 1008 a message made no progress for 100 ms$/);
  await raw.closed;
  // half a frame, then nothing (with keepalive on: answering pings would not help, the frame is unfinished)
  const srv2 = await wsserver({ stalltimeout: 100, pinginterval: 50, pongtimeout: 1000 });
  const [raw2, s2] = await rawclient(srv2);
  raw2.send(frame(2, Buffer.alloc(1000, 1)).subarray(0, 500));
  let f = await raw2.frame();
  while (f.op === 9) f = await raw2.frame(); // the server's keepalive pings
  assert.is(f.op, 8);
  assert.is(f.payload.readUInt16BE(0), 1008);
  assert.match(String((await s2.read())[1]), /1008/);
}));

test("budget: past the shared budget a message over 64 KiB that grows fails with 1009; small ones pass; the budget is released", bounded(30_000, async () => {
  const budget = websocket.budget(100_000);
  const srv = await wsserver({ budget });
  const [a, sa] = await rawclient(srv);
  const [b, sb] = await rawclient(srv);
  const [c, sc] = await rawclient(srv);
  // a holds 80 KB of a fragmented message (the ping after it says when the server has it)
  a.send(frame(2, Buffer.alloc(80_000, 1), { fin: false }), frame(9, "a"));
  assert.is((await sa.read())[1], "ping");
  assert.is(budget.used, 80_000);
  // b holds 40 KB: the total passes 100 KB, but b's message is small
  b.send(frame(2, Buffer.alloc(40_000, 2), { fin: false }), frame(9, "b"));
  assert.is((await sb.read())[1], "ping");
  assert.is(budget.used, 120_000);
  // c's message passes 64 KB while the budget is exceeded: 1009
  c.send(frame(2, Buffer.alloc(70_000, 3), { fin: false }));
  assert.is(await c.closecode(), 1009);
  assert.match(String((await sc.read())[1]), /1009 the messages being received exceed the memory budget \(100000 bytes\)/);
  assert.is(budget.used, 120_000, "c's bytes were released");
  // a and b finish; their messages arrive whole and the budget empties
  a.send(frame(0, Buffer.alloc(10_000, 1)));
  b.send(frame(0, Buffer.alloc(10, 2)));
  assert.is(((await sa.read())[0] as Buffer).length, 90_000);
  assert.is(((await sb.read())[0] as Buffer).length, 40_010);
  assert.is(budget.used, 0);
  a.sock.destroy();
  b.sock.destroy();
}));

test("data after the peer's close frame is ignored", async () => {
  const srv = await wsserver();
  const [raw, s] = await rawclient(srv);
  raw.send(frame(8, closepayload(1000)), frame(1, "after close"));
  assert.equal(await s.read(), ["", "close"]);
  const [d] = await s.read();
  assert.is(d, undefined);
  assert.is(await raw.closecode(), 1000);
  await raw.closed;
});

test("a close handshake that never completes is timed out: close() resolves and TCP is closed", async () => {
  const srv = await wsserver({ closetimeout: 200 });
  const [raw, s] = await rawclient(srv);
  const t0 = Date.now();
  const closing = s.close(4000, "bye");
  assert.is(await raw.closecode(), 4000, "the server sent its close frame");
  // never answer it
  await closing;
  const took = Date.now() - t0;
  assert.ok(took >= 150 && took < 2000, `close() waited about closetimeout (${took} ms)`);
  await raw.closed;
  assert.ok(raw.ended, "the server ended the connection");
  await healthy(srv, "after the timeout");
});

test("the server's close handshake completes when the peer answers", async () => {
  const srv = await wsserver({ closetimeout: 60_000 });
  const [raw, s] = await rawclient(srv);
  const closing = s.close(1001, "going away");
  const f = await raw.frame();
  assert.is(f.op, 8);
  assert.is(f.payload.readUInt16BE(0), 1001);
  assert.is(f.payload.subarray(2).toString(), "going away");
  raw.send(frame(8, closepayload(1001)));
  await closing; // well before the 60 s timeout
  assert.is(s.closecode, 1001);
  await raw.closed;
});

// ---------------------------------------------------------------- the client side

async function clientpair(rs: { port: number; peers: Channel<[Raw, string]> }): Promise<[Socket, Raw, string]> {
  const [c, err] = await websocket.connect(`ws://127.0.0.1:${rs.port}/raw`);
  assert.ok(c, err);
  leftovers.push(() => nodesocket(c!.conn).destroy());
  const [p] = await rs.peers.recv();
  return [c!, p![0], p![1]];
}

test("client: the handshake request is well formed; frames it sends are masked", async () => {
  const rs = await rawserver(leftovers);
  const [c, raw, head] = await clientpair(rs);
  assert.ok(head.startsWith("GET /raw HTTP/1.1\r\n"), head);
  assert.match(head, /\r\nupgrade: websocket\r\n/i);
  assert.match(head, /\r\nconnection: upgrade\r\n/i);
  assert.match(head, /\r\nsec-websocket-version: 13\r\n/i);
  assert.match(head, /\r\nsec-websocket-key: [A-Za-z0-9+/]{22}==\r\n/i);
  assert.match(head, /\r\nhost: 127\.0\.0\.1:\d+\r\n/i);
  await c.write("masked", "text");
  const f = await raw.frame();
  assert.ok(f.masked, "a client frame is masked");
  assert.is(f.op, 1);
  assert.is(f.payload.toString(), "masked");
  // a server frame (unmasked) is read
  raw.send(frame(1, "plain", { mask: false }));
  assert.equal(await c.read(), ["plain", "text"]);
  raw.sock.destroy();
  rs.close();
});

/** Our client gets `bytes` from the raw server: its read() fails naming `code`, and the server receives close `code`. */
async function clientviolation(what: string, code: number, ...bytes: Buffer[]): Promise<void> {
  const rs = await rawserver(leftovers);
  const [c, raw] = await clientpair(rs);
  raw.send(...bytes);
  const [d, err] = await c.read();
  assert.is(d, undefined, `${what}: the client's read() fails`);
  assert.match(String(err), new RegExp(String(code)), `${what}: ${err}`);
  const f = await raw.frame();
  assert.is(f.op, 8, what);
  assert.ok(f.masked, `${what}: the client's close frame is masked`);
  assert.is(f.payload.readUInt16BE(0), code, `${what}: close code`);
  assert.not.ok(raw.ended, `${what}: the client leaves ending TCP to the server`);
  raw.sock.end();
  await c.close(); // resolves once the client saw the server's end and closed too
  await raw.closed;
  rs.close();
}

test("client: a masked frame from the server -> read() fails and the server receives close 1002", async () => {
  await clientviolation("masked text", 1002, frame(1, "masked", { mask: true }));
});

test("client: other violations from a server: RSV, opcode, bad UTF-8, bad close code, oversize", async () => {
  await clientviolation("rsv1", 1002, frame(1, "x", { mask: false, rsv: 4 }));
  await clientviolation("opcode 0xB", 1002, frame(0xb, "x", { mask: false }));
  await clientviolation("bad UTF-8", 1007, frame(1, [0xc3, 0x28], { mask: false }));
  await clientviolation("close code 1005", 1002, frame(8, closepayload(1005), { mask: false }));
  await clientviolation("over 16 MiB", 1009, frame(2, Buffer.alloc(0), { mask: false, len: 2n ** 32n }));
});

test("client, in order: a valid message and a bad frame from the server: the message is read and answered, then the failure", bounded(60_000, async () => {
  const rs = await rawserver(leftovers);
  const [c, raw] = await clientpair(rs);
  raw.send(frame(1, "hello", { mask: false }), frame(1, "masked", { mask: true }));
  assert.equal(await c.read(), ["hello", "text"]);
  await c.write("echo: hello", "text");
  assert.match(String((await c.read())[1]), /1002 masked frame from a server/);
  const f = await raw.frame();
  assert.is(f.payload.toString(), "echo: hello");
  assert.is(await raw.closecode(), 1002);
  rs.close();
}));

test("client: after the closing handshake the client waits for the server to end TCP (RFC 6455 7.1.1)", bounded(60_000, async () => {
  const rs = await rawserver(leftovers);
  const [c, raw] = await clientpair(rs);
  raw.send(frame(8, closepayload(1000, "bye"), { mask: false }));
  assert.equal(await c.read(), ["bye", "close"]);
  assert.is(await raw.closecode(), 1000, "the client echoes the close");
  const closing = c.close(); // waits for the server's end of TCP
  assert.not.ok(raw.ended, "the client does not end TCP first");
  raw.sock.end();
  await closing;
  await raw.closed;
  assert.equal(raw.errors, []);
  rs.close();
}));

test("client: a failure sends the close frame and waits for the server to end TCP, at most closetimeout", bounded(60_000, async () => {
  const rs = await rawserver(leftovers);
  const [c0, err] = await websocket.connect(`ws://127.0.0.1:${rs.port}/`, undefined, { closetimeout: 300 });
  assert.ok(c0, err);
  const c = c0!;
  const [p] = await rs.peers.recv();
  const raw = p![0];
  raw.send(frame(1, "x", { mask: true }));
  assert.match(String((await c.read())[1]), /1002/);
  assert.is(await raw.closecode(), 1002);
  assert.not.ok(raw.ended, "the client does not end TCP first");
  const t0 = Date.now();
  await c.close(); // the raw server never ends: the client gives up after closetimeout
  assert.ok(Date.now() - t0 >= 200, `waited for the server (${Date.now() - t0} ms)`);
  await raw.closed;
  rs.close();
}));

test("client keepalive: a server that never answers gets a masked ping, then close 1011", bounded(30_000, async () => {
  const rs = await rawserver(leftovers);
  const [c0, err] = await websocket.connect(`ws://127.0.0.1:${rs.port}/`, undefined, { pinginterval: 100, pongtimeout: 100 });
  assert.ok(c0, err);
  const c = c0!;
  const [p] = await rs.peers.recv();
  const raw = p![0];
  const ping = await raw.frame();
  assert.is(ping.op, 9);
  assert.ok(ping.masked);
  assert.is(ping.payload.toString(), "keepalive");
  assert.is(await raw.closecode(), 1011);
  assert.match(String((await c.read())[1]), /1011 keepalive/);
  raw.sock.end();
  await c.close();
  rs.close();
}));

test("client: the close handshake with a server that never answers is timed out", async () => {
  const rs = await rawserver(leftovers);
  const [c0, err] = await websocket.connect(`ws://127.0.0.1:${rs.port}/`, undefined, { closetimeout: 200 });
  assert.ok(c0, err);
  const c = c0!;
  const [p] = await rs.peers.recv();
  const raw = p![0];
  const t0 = Date.now();
  const closing = c.close(1000, "bye");
  const f = await raw.frame();
  assert.is(f.op, 8);
  assert.is(f.payload.readUInt16BE(0), 1000);
  await closing;
  assert.ok(Date.now() - t0 >= 150, "waited for the answer");
  await raw.closed;
  rs.close();
});

test.run();
