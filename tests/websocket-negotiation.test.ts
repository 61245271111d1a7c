// permessage-deflate negotiation end to end (RFC 7692 sections 5 and 7),
// through websocket.upgrade and websocket.connect over real sockets. The peer
// is a raw node:net endpoint that writes the handshake by hand and speaks
// permessage-deflate with node:zlib: it compresses at the largest window the
// agreement allows it and inflates with a strict inflater at the window the
// agreement allows the other end, so an end that reaches further back than
// agreed, or keeps no context where it must, fails the exchange.
import { test } from "uvu";
import * as assert from "uvu/assert";
import net from "node:net";
import zlib from "node:zlib";
import http from "silly-net-http";
import websocket from "silly-net-websocket";
import type { ConnectOptions, Socket, UpgradeOptions } from "silly-net-websocket";
import channel from "silly-sync-channel";
import logger from "silly/logger";
import { upgrading } from "./lib/upgrading.js";
import { nodesocket } from "./lib/nodesocket.js";
import { Raw, frame } from "./lib/rawws.js";
import { rawserver } from "./lib/rawserver.js";
import { zflush } from "./lib/zflush.js";

logger.setlevel(logger.ERROR);

const leftovers: (() => void)[] = [];
test.after.each(() => {
  for (const f of leftovers.splice(0)) f();
});

// ---------------------------------------------------------------- permessage-deflate with node:zlib

const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** The parameters of an answer, as the RFC reads them (absent window bits are 15). */
interface Agreement {
  snct: boolean;
  cnct: boolean;
  sbits: number;
  cbits: number;
}

function agreement(answer: string): Agreement {
  const p = answer.split(";").map((s) => s.trim());
  assert.is(p[0], "permessage-deflate");
  const bits = (name: string): number => Number(p.find((x) => x.startsWith(`${name}=`))?.split("=")[1] ?? 15);
  return { snct: p.includes("server_no_context_takeover"), cnct: p.includes("client_no_context_takeover"), sbits: bits("server_max_window_bits"), cbits: bits("client_max_window_bits") };
}

/** One direction of permessage-deflate: compress (or inflate) messages at `bits`, keeping the context or not. */
class Zdir {
  private zs: zlib.DeflateRaw | zlib.InflateRaw | undefined;
  constructor(
    private readonly deflate: boolean,
    private readonly bits: number,
    private readonly takeover: boolean,
  ) {
    leftovers.push(() => this.zs?.close());
  }

  async run(data: Buffer): Promise<Buffer> {
    // zlib checks a distance against its window only past the output of the
    // current call: the smallest output chunk makes the inflater strict.
    const o = { windowBits: this.bits, chunkSize: this.deflate ? undefined : 64 };
    if (!this.takeover) {
      return this.deflate ? zlib.deflateRawSync(data, { ...o, ...SYNC }).subarray(0, -4) : zlib.inflateRawSync(Buffer.concat([data, TRAILER]), { ...o, ...SYNC });
    }
    this.zs ??= this.deflate ? zlib.createDeflateRaw(o) : zlib.createInflateRaw(o);
    const out = await zflush(this.zs, this.deflate ? data : Buffer.concat([data, TRAILER]));
    return this.deflate ? out.subarray(0, -4) : out;
  }
}

/** Random hex text, deterministic per seed (printed). */
function hex(n: number, seed: number): string {
  let x = seed;
  let s = "";
  while (s.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += (x >>> 8).toString(16).padStart(6, "0");
  }
  return s.slice(0, n);
}

/**
 * Two messages that tell whether an end keeps to its window and its context:
 * a block repeated at a distance just over the window (a back reference there
 * breaks a strict inflater), then its last 200 characters again (with context
 * takeover a few bytes, without it ~115; 200 is within reach of zlib's
 * smallest window, 250 bytes).
 */
function probes(bits: number, seed: number): [string, string] {
  console.log(`probe seed ${seed}, ${bits} bits`);
  const block = hex((1 << bits) + 200, seed);
  const long = block + block;
  return [long, long.slice(-200)];
}

// ---------------------------------------------------------------- the server's side

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";

/** A raw client's handshake with these Sec-WebSocket-Extensions lines: its 101 head, the raw peer and our socket. */
async function handshake(opts: UpgradeOptions | undefined, lines: string[]): Promise<[string, Raw, Socket]> {
  const { server, socks } = await upgrading(leftovers, opts);
  const sock = net.connect(server.port, "127.0.0.1");
  leftovers.push(() => sock.destroy());
  const raw = new Raw(sock);
  raw.send(Buffer.from(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n${lines.map((l) => `Sec-WebSocket-Extensions: ${l}\r\n`).join("")}\r\n`));
  const head = await raw.head();
  assert.ok(head.startsWith("HTTP/1.1 101 "), head);
  const [p] = await socks.recv();
  return [head, raw, p![0]];
}

function extensionsof(head: string): string | undefined {
  return /\r\nsec-websocket-extensions: *([^\r]*)\r\n/i.exec(head)?.[1];
}

/**
 * Our socket (`role`) echoes the two probes: the raw peer sends them compressed
 * with its own direction's window as agreed, and inflates the echoes strictly
 * with ours. Context takeover shows in the size of the second echo.
 */
async function exchange(raw: Raw, s: Socket, role: "server" | "client", a: Agreement, seed: number): Promise<void> {
  const server = role === "server";
  const [peerbits, peernct] = server ? [a.cbits, a.cnct] : [a.sbits, a.snct];
  const [ourbits, ournct] = server ? [a.sbits, a.snct] : [a.cbits, a.cnct];
  const tx = new Zdir(true, peerbits, !peernct);
  const rx = new Zdir(false, ourbits, !ournct);
  const sizes: number[] = [];
  for (const m of probes(Math.min(a.sbits, a.cbits), seed)) {
    raw.send(frame(1, await tx.run(Buffer.from(m)), { rsv: 4, mask: server }));
    const [got, typ] = await s.read();
    assert.is(typ, "text");
    assert.ok(got === m, `our ${role} inflated the peer's message`);
    await s.write(got, "text");
    const echo = await raw.message();
    assert.ok(echo.rsv1, "the echo is compressed");
    assert.is((await rx.run(echo.payload)).toString(), m, "the echo inflates within the agreed window");
    sizes.push(echo.payload.length);
  }
  if (ournct) assert.ok(sizes[1]! > 60, `no context takeover: the repeat stands alone (${sizes[1]} bytes)`);
  else assert.ok(sizes[1]! < 20, `context takeover: the repeat refers back (${sizes[1]} bytes)`);
}

const BROWSER = "permessage-deflate; client_max_window_bits";

// [what, server options, offer lines, the answer expected (undefined: declined)]
const SERVER_CASES: [string, UpgradeOptions | undefined, string[], string | undefined][] = [
  ["compression off (the default): a browser's offer is declined", undefined, [BROWSER], undefined],
  ["compression false", { compression: false }, [BROWSER], undefined],
  ["on, no offer", { compression: true }, [], undefined],
  ["on, a browser's offer: 12-bit windows both ways", { compression: true }, [BROWSER], "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"],
  ["on, a bare offer: the client's window cannot be limited", { compression: true }, ["permessage-deflate"], "permessage-deflate; server_max_window_bits=12"],
  ["both window sizes asked for", { compression: true }, ["permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"], "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"],
  ["an 8-bit client window", { compression: true }, ["permessage-deflate; client_max_window_bits=8"], "permessage-deflate; server_max_window_bits=12; client_max_window_bits=8"],
  ["a server window over the server's own", { compression: true }, ["permessage-deflate; server_max_window_bits=15"], "permessage-deflate; server_max_window_bits=12"],
  ["no context takeover asked for both ways", { compression: true }, ["permessage-deflate; server_no_context_takeover; client_no_context_takeover"], "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12"],
  ["no context takeover set by the server", { compression: { servernocontexttakeover: true, clientnocontexttakeover: true, servermaxwindowbits: 15, clientmaxwindowbits: 15 } }, [BROWSER], "permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
  ["the server's windows under the offer's", { compression: { servermaxwindowbits: 9, clientmaxwindowbits: 11 } }, ["permessage-deflate; client_max_window_bits=13"], "permessage-deflate; server_max_window_bits=9; client_max_window_bits=11"],
  ["a quoted value", { compression: true }, ['permessage-deflate; client_max_window_bits="10"'], "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"],
  ["several offers: a bad one, then a good one", { compression: true }, ["permessage-deflate; foo, permessage-deflate; server_max_window_bits=10"], "permessage-deflate; server_max_window_bits=10"],
  ["several offers: the first acceptable wins", { compression: true }, ["x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=10, permessage-deflate"], "permessage-deflate; server_max_window_bits=12; client_max_window_bits=10"],
  ["several header lines", { compression: true }, ["permessage-deflate; server_max_window_bits=16", "permessage-deflate; client_no_context_takeover"], "permessage-deflate; client_no_context_takeover; server_max_window_bits=12"],
  ["malformed: window bits 16", { compression: true }, ["permessage-deflate; server_max_window_bits=16"], undefined],
  ["malformed: window bits 7", { compression: true }, ["permessage-deflate; client_max_window_bits=7"], undefined],
  ["malformed: a leading zero", { compression: true }, ["permessage-deflate; client_max_window_bits=010"], undefined],
  ["malformed: server_max_window_bits without a value", { compression: true }, ["permessage-deflate; server_max_window_bits"], undefined],
  ["malformed: a value on a flag", { compression: true }, ["permessage-deflate; server_no_context_takeover=1"], undefined],
  ["malformed: an unknown parameter", { compression: true }, ["permessage-deflate; foo=1"], undefined],
  ["malformed: a duplicate parameter", { compression: true }, ["permessage-deflate; client_no_context_takeover; client_no_context_takeover"], undefined],
  ["malformed: the header's syntax", { compression: true }, ["permessage-deflate; ; server_max_window_bits=10"], undefined],
  ["another extension only", { compression: true }, ["x-webkit-deflate-frame"], undefined],
];

test("server: the negotiation matrix through upgrade, and every agreement honoured on the wire", async () => {
  let seed = 1;
  for (const [what, opts, lines, want] of SERVER_CASES) {
    const [head, raw, s] = await handshake(opts, lines);
    assert.is(extensionsof(head), want, what);
    if (want !== undefined) await exchange(raw, s, "server", agreement(want), seed++);
    else {
      // Declined: messages flow uncompressed, and RSV1 is a protocol error.
      raw.send(frame(1, "plain text, long enough to be compressed if it could be"));
      assert.equal(await s.read(), ["plain text, long enough to be compressed if it could be", "text"], what);
      await s.write("an answer, long enough to be compressed if it could be", "text");
      const m = await raw.message();
      assert.not.ok(m.rsv1, what);
      raw.send(frame(1, "x", { rsv: 4 }));
      const [d, err] = await s.read(); // the failure: the close frame follows
      assert.is(d, undefined, what);
      assert.match(err!, /1002 RSV1\/RSV2\/RSV3 set but no extension was negotiated/, what);
      assert.is(await raw.closecode(), 1002, what);
    }
    raw.sock.destroy();
  }
});

test("server: a malformed compression option is a programmer error: 500 and an error value", async () => {
  const errs = channel.new<string>();
  const [srv] = await http.listen({
    addr: "127.0.0.1:0",
    handler: async (stream) => {
      const [, err] = await websocket.upgrade(stream, { compression: { servermaxwindowbits: 16 } });
      errs.send(err!);
    },
  });
  leftovers.push(() => srv!.close());
  const [c, err] = await websocket.connect(`ws://${srv!.addr}/`);
  assert.is(c, undefined);
  assert.match(err!, /server answered 500/);
  assert.match((await errs.recv())[0]!, /compression option servermaxwindowbits must be an integer in 8\.\.15, got 16/);
});

// ---------------------------------------------------------------- the client's side

/** Our client against a raw server answering `answer`: the connect result, the offer it sent, the raw peer. */
async function connectto(answer: string | undefined, opts?: ConnectOptions): Promise<[Socket | undefined, string | undefined, string | undefined, Raw]> {
  const rs = await rawserver(leftovers, answer);
  const [c, err] = await websocket.connect(`ws://127.0.0.1:${rs.port}/`, undefined, opts);
  if (c !== undefined) leftovers.push(() => nodesocket(c.conn).destroy());
  const [p] = await rs.peers.recv();
  const [raw, head] = p!;
  return [c, err, extensionsof(head), raw];
}

test("client: the offer follows the options", async () => {
  const cases: [ConnectOptions | undefined, string | undefined][] = [
    [undefined, BROWSER],
    [{ compression: true }, BROWSER],
    [{ compression: false }, undefined],
    [{ compression: { servermaxwindowbits: 10, clientmaxwindowbits: 11, servernocontexttakeover: true, clientnocontexttakeover: true } }, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11"],
    [{ compression: { threshold: 0, level: 1, memlevel: 4 } }, BROWSER],
  ];
  for (const [opts, want] of cases) {
    const [c, err, offer] = await connectto(undefined, opts);
    assert.ok(c, err);
    assert.is(offer, want, JSON.stringify(opts));
    c!.conn.close();
  }
  const [c, err] = await websocket.connect("ws://127.0.0.1:1/", undefined, { compression: { clientmaxwindowbits: 7 } });
  assert.is(c, undefined);
  assert.match(err!, /^websocket\.connect: websocket: compression option clientmaxwindowbits must be an integer in 8\.\.15, got 7$/);
});

test("client: answers it accepts, each honoured on the wire", async () => {
  const answers = [
    "permessage-deflate",
    "permessage-deflate; server_max_window_bits=9",
    "permessage-deflate; client_max_window_bits=10",
    "permessage-deflate; client_max_window_bits=8",
    "permessage-deflate; server_no_context_takeover",
    "permessage-deflate; client_no_context_takeover",
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11; client_max_window_bits=12",
    'permessage-deflate; server_max_window_bits="13"',
  ];
  let seed = 100;
  for (const answer of answers) {
    const [c, err, , raw] = await connectto(answer);
    assert.ok(c, `${answer}: ${err}`);
    await exchange(raw, c!, "client", agreement(answer.replace(/"/g, "")), seed++);
    c!.conn.close();
  }
  // Declined: no header, no compression; RSV1 from the server is a 1002.
  const [c, err, , raw] = await connectto(undefined);
  assert.ok(c, err);
  await c!.write("an answer, long enough to be compressed if it could be", "text");
  assert.not.ok((await raw.message()).rsv1);
  raw.send(frame(1, "x", { rsv: 4, mask: false }));
  const [d, rerr] = await c!.read();
  assert.is(d, undefined);
  assert.match(rerr!, /1002 RSV1\/RSV2\/RSV3 set but no extension was negotiated/);
});

test("client: answers it did not offer or cannot honour fail the connect with a clear error; nothing is sent, TCP is closed", async () => {
  const cases: [string, ConnectOptions | undefined, RegExp][] = [
    ["x-foo", undefined, /server chose extension x-foo, which was not offered/],
    ["permessage-deflate, x-foo", undefined, /server chose extension x-foo, which was not offered/],
    ["permessage-deflate, permessage-deflate", undefined, /server answered permessage-deflate 2 times/],
    ["permessage-deflate; foo", undefined, /bad permessage-deflate answer: unknown parameter foo/],
    ["permessage-deflate; client_max_window_bits", undefined, /bad permessage-deflate answer: client_max_window_bits must be 8\.\.15, got no value/],
    ["permessage-deflate; server_max_window_bits=16", undefined, /server_max_window_bits must be 8\.\.15, got "16"/],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", undefined, /duplicate parameter server_no_context_takeover/],
    ["permessage-deflate;", undefined, /malformed sec-websocket-extensions/],
    ["permessage-deflate", { compression: { servermaxwindowbits: 10 } }, /answer lacks server_max_window_bits, which was requested/],
    ["permessage-deflate; server_max_window_bits=11", { compression: { servermaxwindowbits: 10 } }, /server_max_window_bits=11, over the 10 requested/],
    ["permessage-deflate", { compression: { servernocontexttakeover: true } }, /answer lacks server_no_context_takeover, which was requested/],
    ["permessage-deflate; client_max_window_bits=12", { compression: { clientmaxwindowbits: 10 } }, /client_max_window_bits=12, over the 10 offered/],
    ["permessage-deflate", { compression: false }, /server chose extension permessage-deflate, which was not offered/],
  ];
  for (const [answer, opts, re] of cases) {
    const [c, err, , raw] = await connectto(answer, opts);
    assert.is(c, undefined, answer);
    assert.match(err!, /^websocket\.connect: /, answer);
    assert.match(err!, re, answer);
    await raw.closed; // the client closed TCP ...
    assert.is(raw.buf.length, 0, `${answer}: ... without sending a frame`);
  }
});

test.run();
