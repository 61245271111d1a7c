// permessage-deflate (RFC 7692) without sockets: the Sec-WebSocket-Extensions
// grammar, the negotiation matrix for both roles, the compression options,
// the RSV1 rules of the frame parser and encoder, and the zlib edge against
// node:zlib and against `ws`'s own PerMessageDeflate as a peer.
// Runs twice (scripts/test.mjs): with the fast zlib engine, and with
// SILLY_FASTZLIB=0 (the public one-shot engine).
import { test } from "uvu";
import * as assert from "uvu/assert";
import zlib from "node:zlib";
import { createRequire } from "node:module";
import {
  FrameParser,
  encodemessage,
  encodeframe,
  OP_TEXT,
  OP_BINARY,
  OP_PING,
  OP_CONTINUATION,
  parseextensions,
  formatextension,
  compressionconfig,
  acceptdeflate,
  offerdeflate,
  confirmdeflate,
  COMPRESSION_DEFAULTS,
} from "../packages/silly-net-websocket/src/codec/index.js";
import type { DeflateConfig, DeflateParams, ParserOptions } from "../packages/silly-net-websocket/src/codec/index.js";
import { PerMessageDeflate, fastzlib } from "../packages/silly-net-websocket/src/deflate.js";
import { zflush } from "./lib/zflush.js";

console.log(`zlib engine: ${fastzlib ? "fast (handle.writeSync)" : "public (one-shot *Sync with dictionary)"}`);

// ---------------------------------------------------------------- helpers

const SERVER = COMPRESSION_DEFAULTS.server;
const CLIENT = COMPRESSION_DEFAULTS.client;
const cfg = (role: "server" | "client", o: Partial<DeflateConfig> = {}): DeflateConfig => compressionconfig({ ...o }, role) as DeflateConfig;

function params(o: Partial<DeflateParams> = {}): DeflateParams {
  return { servernocontexttakeover: false, clientnocontexttakeover: false, servermaxwindowbits: 15, clientmaxwindowbits: 15, ...o };
}

/** A seeded xorshift32; every user prints its seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function randombytes(n: number, seed: number): Buffer {
  const r = rng(seed);
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = r() & 255;
  return b;
}

/** JSON-like chat messages, deterministic, all different. */
function chat(i: number): string {
  const words = ["hello", "world", "lorem", "ipsum", "dolor", "sit", "amet", "ünïcödé", "日本語", "emoji 😀"];
  const text = Array.from({ length: 3 + (i % 11) }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(" ");
  return JSON.stringify({ type: "chat", id: i, user: `user${i % 13}`, room: "general", text, ts: 1700000000000 + i * 37 });
}

function jsontext(bytes: number): string {
  let s = "[";
  for (let i = 0; s.length < bytes; i++) s += chat(i) + ",";
  return s.slice(0, bytes - 1) + "]";
}

// ws as a reference peer: its PerMessageDeflate, driven directly.
interface WsPmd {
  offer(): Record<string, unknown>;
  accept(offers: Record<string, unknown>[]): Record<string, unknown>;
  compress(data: Buffer | string, fin: boolean, cb: (err: Error | null, out: Buffer) => void): void;
  decompress(data: Buffer, fin: boolean, cb: (err: Error | null, out: Buffer) => void): void;
  cleanup(): void;
}
interface WsModule {
  PerMessageDeflate: new (opts: Record<string, unknown>) => WsPmd;
  extension: { parse(h: string): Record<string, Record<string, unknown>[]>; format(e: Record<string, unknown>): string };
}
const ws = createRequire(import.meta.url)("ws") as WsModule;

function wscompress(p: WsPmd, data: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => p.compress(data, true, (err, out) => (err ? reject(err) : resolve(out))));
}
function wsdecompress(p: WsPmd, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => p.decompress(data, true, (err, out) => (err ? reject(err) : resolve(out))));
}

/** A ws PerMessageDeflate that accepted `answer` (client) or `offer` (server). */
function wspeer(isServer: boolean, header: string, opts: Record<string, unknown> = {}): WsPmd {
  const p = new ws.PerMessageDeflate({ ...opts, isServer, maxPayload: 64 << 20, threshold: 0 });
  p.accept(ws.extension.parse(header)["permessage-deflate"]);
  return p;
}

function ok<T>(r: readonly [T, undefined] | readonly [undefined, unknown]): Exclude<T, undefined> {
  if (r[1] !== undefined) throw new Error(`unexpected error ${JSON.stringify(r[1])}`);
  return r[0] as Exclude<T, undefined>;
}

function text(pmd: PerMessageDeflate, data: Uint8Array | Uint8Array[]): string {
  return ok(pmd.decompress(data, "text"));
}

// ---------------------------------------------------------------- the header grammar (RFC 6455 9.1)

test("extensions: tokens, parameters, quoted values, OWS, empty elements, several lines", () => {
  assert.equal(parseextensions(undefined), [[], undefined]);
  assert.equal(parseextensions(""), [[], undefined]);
  assert.equal(parseextensions("permessage-deflate"), [[{ name: "permessage-deflate", params: [] }], undefined]);
  assert.equal(
    parseextensions('permessage-deflate ;client_max_window_bits; server_max_window_bits = "10" , , x-foo;a=b;c="d\\e"'),
    [
      [
        { name: "permessage-deflate", params: [["client_max_window_bits", undefined], ["server_max_window_bits", "10"]] },
        { name: "x-foo", params: [["a", "b"], ["c", "de"]] },
      ],
      undefined,
    ],
  );
  assert.equal(parseextensions(["a; x=1", "b", ", c ,"]), [
    [
      { name: "a", params: [["x", "1"]] },
      { name: "b", params: [] },
      { name: "c", params: [] },
    ],
    undefined,
  ]);
  // Duplicates are kept: deciding about them is the extension's job.
  assert.equal(parseextensions("a; x; x=2")[0]?.[0]?.params, [["x", undefined], ["x", "2"]]);
  assert.is(formatextension({ name: "permessage-deflate", params: [["server_no_context_takeover", undefined], ["client_max_window_bits", "9"]] }), "permessage-deflate; server_no_context_takeover; client_max_window_bits=9");
});

test("extensions: malformed headers are errors naming the place", () => {
  for (const bad of [
    "permessage-deflate;",
    "; x",
    "=1",
    "permessage-deflate; x=",
    'permessage-deflate; x="10',
    'permessage-deflate; x="a b"', // a quoted value must be a token once unquoted
    'permessage-deflate; x=""',
    'permessage-deflate; x="1\u00010"',
    "permessage deflate",
    "permessage-deflate; x=1 2",
    "perm@ssage",
    "a, b; c=d; =e",
  ]) {
    const [items, err] = parseextensions(bad);
    assert.is(items, undefined, bad);
    assert.match(String(err), /^malformed sec-websocket-extensions: /, bad);
  }
  assert.is(parseextensions(["a", "b;"])[0], undefined);
});

// ---------------------------------------------------------------- options

test("options: role defaults, true/false, merging, and programmer errors throw", () => {
  assert.is(compressionconfig(undefined, "server"), undefined); // a server opts in
  assert.equal(compressionconfig(undefined, "client"), CLIENT); // a client offers
  assert.is(compressionconfig(false, "client"), undefined);
  assert.equal(compressionconfig(true, "server"), SERVER);
  assert.equal(compressionconfig({}, "server"), SERVER);
  assert.equal(compressionconfig({ threshold: 0, level: 1, servernocontexttakeover: true, memlevel: undefined }, "server"), {
    ...SERVER,
    threshold: 0,
    level: 1,
    servernocontexttakeover: true,
  });
  const throwsT = (o: unknown, re: RegExp, kind: typeof TypeError | typeof RangeError): void => {
    try {
      compressionconfig(o as never, "server");
    } catch (e) {
      assert.instance(e, kind, String(o));
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable(`no throw for ${JSON.stringify(o)}`);
  };
  throwsT(null, /boolean or an object/, TypeError);
  throwsT("yes", /boolean or an object/, TypeError);
  throwsT({ serverMaxWindowBits: 10 }, /unknown compression option serverMaxWindowBits/, TypeError);
  throwsT({ servernocontexttakeover: 1 }, /must be a boolean/, TypeError);
  for (const [k, v] of [["servermaxwindowbits", 7], ["clientmaxwindowbits", 16], ["memlevel", 0], ["memlevel", 10], ["level", -1], ["level", 10], ["threshold", -1], ["threshold", 1.5], ["level", "6"]] as const) {
    throwsT({ [k]: v }, new RegExp(`${k} must be an integer`), RangeError);
  }
});

// ---------------------------------------------------------------- the server's side (RFC 7692 5, 7.1)

function accepted(header: string | string[] | undefined, config: DeflateConfig = SERVER): [DeflateParams, string] {
  const [a, why] = acceptdeflate(header, config);
  if (a === undefined) throw new Error(`declined: ${why}`);
  return [a.params, a.answer];
}

function declined(header: string | string[] | undefined, config: DeflateConfig = SERVER): string {
  const [a, why] = acceptdeflate(header, config);
  assert.is(a, undefined, `${String(header)} should be declined`);
  return why as string;
}

test("server: no offer, or only other extensions: declined without failing anything", () => {
  assert.match(declined(undefined), /no permessage-deflate offer/);
  assert.match(declined("x-webkit-deflate-frame"), /no permessage-deflate offer/);
  assert.match(declined("permessage-deflate; x=\"unterminated"), /malformed/);
});

test("server: the defaults answer a browser's offer with 12-bit windows both ways", () => {
  assert.equal(accepted("permessage-deflate; client_max_window_bits"), [
    params({ servermaxwindowbits: 12, clientmaxwindowbits: 12 }),
    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12",
  ]);
  // Without client_max_window_bits in the offer the client's window cannot be limited: 15.
  assert.equal(accepted("permessage-deflate"), [params({ servermaxwindowbits: 12 }), "permessage-deflate; server_max_window_bits=12"]);
});

test("server: every parameter, offered and configured", () => {
  const wide = cfg("server", { servermaxwindowbits: 15, clientmaxwindowbits: 15 });
  assert.equal(accepted("permessage-deflate; client_max_window_bits", wide), [params(), "permessage-deflate"]);
  assert.equal(accepted("permessage-deflate", wide), [params(), "permessage-deflate"]);
  // server_no_context_takeover: honoured when asked, added when configured.
  assert.equal(accepted("permessage-deflate; server_no_context_takeover", wide), [params({ servernocontexttakeover: true }), "permessage-deflate; server_no_context_takeover"]);
  assert.equal(accepted("permessage-deflate", cfg("server", { servermaxwindowbits: 15, servernocontexttakeover: true })), [params({ servernocontexttakeover: true }), "permessage-deflate; server_no_context_takeover"]);
  // client_no_context_takeover: the client's hint is echoed; configured, it is imposed.
  assert.equal(accepted("permessage-deflate; client_no_context_takeover", wide), [params({ clientnocontexttakeover: true }), "permessage-deflate; client_no_context_takeover"]);
  assert.equal(accepted("permessage-deflate", cfg("server", { servermaxwindowbits: 15, clientnocontexttakeover: true })), [params({ clientnocontexttakeover: true }), "permessage-deflate; client_no_context_takeover"]);
  // server_max_window_bits: the smaller of offer and configuration, always answered when offered.
  assert.equal(accepted("permessage-deflate; server_max_window_bits=10")[1], "permessage-deflate; server_max_window_bits=10");
  assert.equal(accepted("permessage-deflate; server_max_window_bits=14")[1], "permessage-deflate; server_max_window_bits=12");
  assert.equal(accepted("permessage-deflate; server_max_window_bits=15", wide)[1], "permessage-deflate; server_max_window_bits=15");
  assert.equal(accepted("permessage-deflate; server_max_window_bits=8")[0].servermaxwindowbits, 8);
  assert.equal(accepted('permessage-deflate; server_max_window_bits="9"')[0].servermaxwindowbits, 9);
  // client_max_window_bits: with a value the client already limits itself; the server may go lower.
  assert.equal(accepted("permessage-deflate; client_max_window_bits=9"), [params({ servermaxwindowbits: 12, clientmaxwindowbits: 9 }), "permessage-deflate; server_max_window_bits=12; client_max_window_bits=9"]);
  assert.equal(accepted("permessage-deflate; client_max_window_bits=13")[0].clientmaxwindowbits, 12);
  assert.equal(accepted("permessage-deflate; client_max_window_bits=11", wide), [params({ clientmaxwindowbits: 11 }), "permessage-deflate; client_max_window_bits=11"]);
  // Everything at once.
  assert.equal(
    accepted("permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10"),
    [
      { servernocontexttakeover: true, clientnocontexttakeover: true, servermaxwindowbits: 9, clientmaxwindowbits: 10 },
      "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9; client_max_window_bits=10",
    ],
  );
});

test("server: offers with unknown or duplicate parameters or bad values are declined one by one", () => {
  const bad: [string, RegExp][] = [
    ["permessage-deflate; x=1", /unknown parameter x/],
    ["permessage-deflate; Server_No_Context_Takeover", /unknown parameter/],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", /duplicate parameter server_no_context_takeover/],
    ["permessage-deflate; client_max_window_bits; client_max_window_bits=10", /duplicate parameter client_max_window_bits/],
    ["permessage-deflate; server_no_context_takeover=1", /takes no value/],
    ['permessage-deflate; client_no_context_takeover="x"', /takes no value/],
    ["permessage-deflate; server_max_window_bits", /server_max_window_bits must be 8..15, got no value/],
    ...["7", "16", "010", "08", "1e1", "abc", "-9", "+9"].map((v): [string, RegExp] => [`permessage-deflate; server_max_window_bits=${v}`, /server_max_window_bits must be 8..15/]),
    ...["0", "7", "16", "09"].map((v): [string, RegExp] => [`permessage-deflate; client_max_window_bits=${v}`, /client_max_window_bits must be 8..15/]),
  ];
  for (const [offer, re] of bad) {
    assert.match(declined(offer), re, offer);
    // A good offer after the bad one is taken.
    assert.equal(accepted(`${offer}, permessage-deflate; client_max_window_bits`)[1], "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", offer);
  }
  assert.match(declined("permessage-deflate; x, permessage-deflate; server_max_window_bits=99"), /offer 1 declined: unknown parameter x; offer 2 declined: server_max_window_bits must be 8..15/);
});

test("server: several offers and header lines: the first acceptable one wins", () => {
  assert.equal(accepted("permessage-deflate; server_max_window_bits=10, permessage-deflate")[1], "permessage-deflate; server_max_window_bits=10");
  assert.equal(accepted(["x-foo; a=1", "permessage-deflate; client_no_context_takeover", "permessage-deflate"])[0].clientnocontexttakeover, true);
  assert.equal(accepted("x-webkit-deflate-frame, permessage-deflate; client_max_window_bits")[0].clientmaxwindowbits, 12);
});

// ---------------------------------------------------------------- the client's side

function confirmed(answer: string | undefined, config: DeflateConfig = CLIENT): DeflateParams | undefined {
  const [p, err] = confirmdeflate(answer, config);
  if (err !== undefined) throw new Error(`refused: ${err}`);
  return p;
}

function refused(answer: string, config: DeflateConfig = CLIENT): string {
  const [p, err] = confirmdeflate(answer, config);
  assert.is(p, undefined, answer);
  assert.type(err, "string", answer);
  return err as string;
}

test("client: the offer follows the options", () => {
  assert.is(offerdeflate(CLIENT), "permessage-deflate; client_max_window_bits"); // what browsers offer
  assert.is(offerdeflate(cfg("client", { clientmaxwindowbits: 12 })), "permessage-deflate; client_max_window_bits=12");
  assert.is(
    offerdeflate(cfg("client", { servernocontexttakeover: true, clientnocontexttakeover: true, servermaxwindowbits: 10, clientmaxwindowbits: 8 })),
    "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=8",
  );
  // The offer parses back and a server accepts it as is.
  const offer = offerdeflate(cfg("client", { servermaxwindowbits: 10, clientmaxwindowbits: 9 }));
  assert.equal(accepted(offer)[0], params({ servermaxwindowbits: 10, clientmaxwindowbits: 9 }));
});

test("client: answers it can honour", () => {
  assert.is(confirmed(undefined), undefined); // declined: no compression
  assert.is(confirmed(""), undefined);
  assert.equal(confirmed("permessage-deflate"), params());
  assert.equal(confirmed("permessage-deflate", cfg("client", { clientmaxwindowbits: 12 })), params({ clientmaxwindowbits: 12 }));
  assert.equal(confirmed("permessage-deflate; client_max_window_bits=10"), params({ clientmaxwindowbits: 10 }));
  assert.equal(confirmed("permessage-deflate; server_max_window_bits=9"), params({ servermaxwindowbits: 9 }));
  assert.equal(confirmed("permessage-deflate; server_no_context_takeover; client_no_context_takeover"), params({ servernocontexttakeover: true, clientnocontexttakeover: true }));
  const asked = cfg("client", { servernocontexttakeover: true, servermaxwindowbits: 10, clientnocontexttakeover: true, clientmaxwindowbits: 15 });
  assert.equal(confirmed("permessage-deflate; server_no_context_takeover; server_max_window_bits=8", asked), {
    servernocontexttakeover: true,
    clientnocontexttakeover: true, // offered as a hint: kept even when the answer omits it
    servermaxwindowbits: 8,
    clientmaxwindowbits: 15,
  });
  assert.equal(confirmed("permessage-deflate; client_max_window_bits=15; server_max_window_bits=10; server_no_context_takeover", asked)?.clientmaxwindowbits, 15);
});

test("client: answers it must fail the connection on (a clear error value)", () => {
  const asked = cfg("client", { servernocontexttakeover: true, servermaxwindowbits: 10 });
  const bad: [string, RegExp, DeflateConfig?][] = [
    ["x-foo", /server chose extension x-foo, which was not offered/],
    ["permessage-deflate, x-foo", /x-foo, which was not offered/],
    ["permessage-deflate, permessage-deflate", /answered permessage-deflate 2 times/],
    ["permessage-deflate; x=1", /unknown parameter x/],
    ["permessage-deflate; server_no_context_takeover; server_no_context_takeover", /duplicate parameter/],
    ["permessage-deflate; client_max_window_bits", /client_max_window_bits must be 8..15, got no value/],
    ["permessage-deflate; client_max_window_bits=13", /client_max_window_bits=13, over the 12 offered/, cfg("client", { clientmaxwindowbits: 12 })],
    ["permessage-deflate; server_max_window_bits=16", /server_max_window_bits must be 8..15/],
    ["permessage-deflate; server_no_context_takeover=yes", /takes no value/],
    ["permessage-deflate; server_max_window_bits=10", /lacks server_no_context_takeover/, asked],
    ["permessage-deflate; server_no_context_takeover", /lacks server_max_window_bits/, asked],
    ["permessage-deflate; server_no_context_takeover; server_max_window_bits=11", /server_max_window_bits=11, over the 10 requested/, asked],
    ["permessage-deflate;", /malformed/],
  ];
  for (const [answer, re, config] of bad) assert.match(refused(answer, config), re, answer);
});

test("negotiation interop with ws: its offers to our server, our offers to its server", () => {
  for (const wsopts of [{}, { serverNoContextTakeover: true, clientNoContextTakeover: true }, { serverMaxWindowBits: 10, clientMaxWindowBits: 9 }, { clientMaxWindowBits: false }]) {
    const wsclient = new ws.PerMessageDeflate({ ...wsopts });
    const offer = ws.extension.format({ "permessage-deflate": wsclient.offer() });
    const [ours, answer] = accepted(offer);
    const theirs = wsclient.accept(ws.extension.parse(answer)["permessage-deflate"]);
    assert.is(Boolean(theirs.server_no_context_takeover), ours.servernocontexttakeover, offer);
    assert.is(theirs.server_max_window_bits ?? 15, ours.servermaxwindowbits, offer);
    assert.is(theirs.client_max_window_bits ?? 15, ours.clientmaxwindowbits, offer);
  }
  for (const o of [{}, { servernocontexttakeover: true, servermaxwindowbits: 10, clientmaxwindowbits: 9 }, { clientnocontexttakeover: true }]) {
    for (const wsopts of [{}, { serverMaxWindowBits: 11, clientMaxWindowBits: 10 }, { serverNoContextTakeover: true }]) {
      const config = cfg("client", o);
      const wsserver = new ws.PerMessageDeflate({ ...wsopts, isServer: true });
      let answer: string;
      try {
        answer = ws.extension.format({ "permessage-deflate": wsserver.accept(ws.extension.parse(offerdeflate(config))["permessage-deflate"]) });
      } catch {
        continue; // ws declined this offer (e.g. its window is larger than asked)
      }
      const p = confirmed(answer, config) as DeflateParams;
      assert.ok(p.servermaxwindowbits <= config.servermaxwindowbits && p.clientmaxwindowbits <= config.clientmaxwindowbits, answer);
    }
  }
});

// ---------------------------------------------------------------- RSV1 in the frame parser (RFC 7692 6)

type Ev = [string, string] | ["error", number, string];

function dparser(opts: Partial<ParserOptions> = {}): { p: FrameParser; ev: Ev[]; raw: Buffer[] } {
  const ev: Ev[] = [];
  const raw: Buffer[] = [];
  const p = new FrameParser(
    { role: "server", maxpayload: 1 << 20, maxfragments: 100, rsv1allowed: true, ...opts },
    {
      message(type, data) {
        ev.push([type, typeof data === "string" ? data : "hex:" + data.toString("hex")]);
      },
      compressed(type, data) {
        ev.push([`compressed ${type}`, "hex:" + data.toString("hex")]);
        raw.push(Buffer.from(data));
      },
      error(code, reason) {
        ev.push(["error", code, reason]);
      },
    },
  );
  return { p, ev, raw };
}

/** A masked client frame with chosen header bits (an independent builder). */
function frame(op: number, payload: Uint8Array | string, o: { fin?: boolean; rsv?: number } = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload, "latin1") : Buffer.from(payload);
  const key = [1, 2, 3, 4];
  const n = data.length;
  const head = [((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | op];
  if (n < 126) head.push(0x80 | n);
  else head.push(0x80 | 126, n >> 8, n & 255);
  head.push(...key);
  for (let i = 0; i < n; i++) data[i] ^= key[i & 3];
  return Buffer.concat([Buffer.from(head), data]);
}

test("RSV1: marks compressed text and binary messages when allowed; not UTF-8 checked by the parser", () => {
  const { p, ev } = dparser();
  p.push(Buffer.concat([frame(OP_TEXT, "\xff\xfe", { rsv: 0x40 }), frame(OP_BINARY, "ab", { rsv: 0x40 }), frame(OP_TEXT, "plain")]));
  assert.equal(ev, [
    ["compressed text", "hex:fffe"],
    ["compressed binary", "hex:6162"],
    ["text", "plain"],
  ]);
});

test("RSV1: a fragmented compressed message with a ping between fragments", () => {
  const { p, ev } = dparser();
  p.push(Buffer.concat([frame(OP_TEXT, "ab", { fin: false, rsv: 0x40 }), frame(OP_PING, "p"), frame(OP_CONTINUATION, "\xff", { fin: false }), frame(OP_CONTINUATION, "cd")]));
  assert.equal(ev, [
    ["ping", "hex:70"],
    ["compressed text", "hex:" + Buffer.from("ab\xffcd", "latin1").toString("hex")],
  ]);
  // The next message is plain again, and checked.
  p.push(frame(OP_TEXT, "\xff", {}));
  assert.equal(ev[2][0], "error");
});

test("RSV1: on a control or continuation frame, RSV2/RSV3, or when not negotiated: 1002", () => {
  const cases: [Buffer[], RegExp, Partial<ParserOptions>?][] = [
    [[frame(OP_PING, "x", { rsv: 0x40 })], /RSV1 set on a control frame/],
    [[frame(OP_TEXT, "a", { fin: false, rsv: 0x40 }), frame(OP_CONTINUATION, "b", { rsv: 0x40 })], /RSV1 set on a continuation frame/],
    [[frame(OP_TEXT, "a", { fin: false }), frame(OP_CONTINUATION, "b", { rsv: 0x40 })], /RSV1 set on a continuation frame/],
    [[frame(OP_TEXT, "a", { rsv: 0x20 })], /RSV2\/RSV3/],
    [[frame(OP_TEXT, "a", { rsv: 0x50 })], /RSV2\/RSV3/],
    [[frame(OP_TEXT, "a", { rsv: 0x40 })], /no extension was negotiated/, { rsv1allowed: false }],
  ];
  for (const [frames, re, opts] of cases) {
    const { p, ev } = dparser(opts);
    p.push(Buffer.concat(frames));
    const last = ev[ev.length - 1];
    assert.equal([last[0], last[1]], ["error", 1002], String(re));
    assert.match(String(last[2]), re);
  }
  assert.throws(() => new FrameParser({ role: "server", maxpayload: 1, maxfragments: 1, rsv1allowed: true }, { message() {}, error() {} }), /compressed\(\) method/);
});

test("RSV1 in the encoder: the first frame of a compressed message only; never on control frames", () => {
  const small = encodemessage("text", Buffer.from("abc"), false, true);
  assert.is(small[0][0], 0xc1);
  assert.is(encodemessage("binary", "abc", true, true)[0][0], 0xc2);
  assert.is(encodemessage("text", "abc", false)[0][0], 0x81);
  const big = Buffer.concat(encodemessage("binary", Buffer.alloc(150_000, 1), false, true));
  const { p, ev } = dparser({ role: "client", maxpayload: 1 << 20 });
  p.push(big);
  assert.equal(ev.map((e) => e[0]), ["compressed binary"]);
  assert.is(big[0], 0x42); // first frame: RSV1, binary, no FIN
  const f = encodeframe(OP_TEXT, "x", true, false, true);
  assert.is((Array.isArray(f) ? f[0] : f)[0], 0xc1);
  assert.throws(() => encodemessage("ping", "x", false, true), /never compressed/);
});

// ---------------------------------------------------------------- the zlib edge

/** Our two ends over the same agreement. */
function pair(p: DeflateParams, o: Partial<DeflateConfig> = {}, maxpayload = 64 << 20): { server: PerMessageDeflate; client: PerMessageDeflate } {
  return {
    server: new PerMessageDeflate("server", p, cfg("server", o), maxpayload),
    client: new PerMessageDeflate("client", p, cfg("client", o), maxpayload),
  };
}

const MESSAGES = Array.from({ length: 40 }, (_, i) => chat(i));

test("round trips, ours to ours: every window 8..15, with and without context takeover, both directions", () => {
  for (let bits = 8; bits <= 15; bits++) {
    for (const nct of [false, true]) {
      const p = params({ servermaxwindowbits: bits, clientmaxwindowbits: bits, servernocontexttakeover: nct, clientnocontexttakeover: nct });
      const { server, client } = pair(p);
      for (const m of MESSAGES) {
        assert.is(text(client, ok(server.compress(m))), m);
        assert.is(text(server, ok(client.compress(m))), m);
      }
      const bin = randombytes(3000, bits);
      assert.equal(ok(client.decompress(ok(server.compress(bin)), "binary")), bin);
    }
  }
});

test("contexts initialized off the main thread: used before and after they are ready", async () => {
  for (const early of [0, 1, 3]) {
    const { server, client } = pair(params({ servermaxwindowbits: 10 }));
    // Some messages before the warm-up finished (those contexts start inline), the rest after.
    for (let i = 0; i < early; i++) assert.is(text(client, ok(server.compress(MESSAGES[i]))), MESSAGES[i]);
    await Promise.all([server.ready, client.ready]);
    for (const m of MESSAGES) {
      assert.is(text(client, ok(server.compress(m))), m);
      assert.is(text(server, ok(client.compress(m))), m);
    }
    server.close();
    client.close();
  }
  // Closed before the warm-up finished: nothing is left pending.
  const d = new PerMessageDeflate("server", params(), cfg("server"), 1 << 20);
  d.close();
  await d.ready;
});

test("context takeover: repeated messages shrink; without it every message stands alone", () => {
  const m = chat(5);
  const take = pair(params()).server;
  const alone = pair(params({ servernocontexttakeover: true })).server;
  const first = ok(take.compress(m)).length;
  const second = ok(take.compress(m)).length;
  assert.ok(second < first / 4, `${second} vs ${first}`);
  assert.is(ok(alone.compress(m)).length, ok(alone.compress(m)).length);
  assert.is(ok(alone.compress(m)).length, first);
});

test("interop with ws's PerMessageDeflate, windows 8..15, with and without takeover, both directions", async () => {
  for (let bits = 8; bits <= 15; bits++) {
    for (const nct of [false, true]) {
      const offer = `permessage-deflate; client_max_window_bits=${bits}; server_max_window_bits=${bits}${nct ? "; server_no_context_takeover; client_no_context_takeover" : ""}`;
      const [p, answer] = accepted(offer, cfg("server", { servermaxwindowbits: bits, clientmaxwindowbits: bits }));
      assert.is(p.servermaxwindowbits, bits);
      // ws as the client, ours as the server.
      const wsc = wspeer(false, answer, { clientMaxWindowBits: bits, serverMaxWindowBits: bits, clientNoContextTakeover: nct, serverNoContextTakeover: nct });
      const ours = new PerMessageDeflate("server", p, cfg("server", { threshold: 0 }), 64 << 20);
      // ws as the server, ours as the client.
      const wss = wspeer(true, offer, { serverMaxWindowBits: bits, clientMaxWindowBits: bits });
      const ourc = new PerMessageDeflate("client", p, cfg("client"), 64 << 20);
      for (const m of [...MESSAGES.slice(0, 20), jsontext(20_000), ""]) {
        assert.is(text(ours, await wscompress(wsc, m)), m, `ws client -> us, ${bits} bits`);
        assert.is((await wsdecompress(wsc, ok(ours.compress(m)))).toString(), m, `us -> ws client, ${bits} bits`);
        assert.is(text(ourc, await wscompress(wss, m)), m, `ws server -> us, ${bits} bits`);
        assert.is((await wsdecompress(wss, ok(ourc.compress(m)))).toString(), m, `us -> ws server, ${bits} bits`);
      }
      wsc.cleanup();
      wss.cleanup();
    }
  }
});

test("interop with node:zlib, windows 9..15: our messages inflate there, its sync-flushed ones here", async () => {
  const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };
  const TRAIL = Buffer.from([0, 0, 0xff, 0xff]);
  for (let bits = 9; bits <= 15; bits++) {
    // Without context takeover every message is a stream of its own.
    const { server, client } = pair(params({ servermaxwindowbits: bits, clientmaxwindowbits: bits, servernocontexttakeover: true, clientnocontexttakeover: true }));
    for (const m of [...MESSAGES.slice(0, 5), jsontext(70_000)]) {
      const c = ok(server.compress(m));
      assert.is(zlib.inflateRawSync(Buffer.concat([c, TRAIL]), { ...SYNC, windowBits: bits }).toString(), m, `${bits} bits`);
      assert.is(text(client, zlib.deflateRawSync(m, { ...SYNC, windowBits: bits }).subarray(0, -4)), m, `${bits} bits`);
    }
    // With it: one zlib stream per direction for the whole conversation.
    const take = pair(params({ servermaxwindowbits: bits, clientmaxwindowbits: bits }));
    const inflater = zlib.createInflateRaw({ windowBits: bits });
    const deflater = zlib.createDeflateRaw({ windowBits: bits });
    for (const m of [...MESSAGES.slice(0, 10), jsontext(70_000), ...MESSAGES.slice(10, 15)]) {
      assert.is((await zflush(inflater, Buffer.concat([ok(take.server.compress(m)), TRAIL]))).toString(), m, `${bits} bits`);
      assert.is(text(take.client, (await zflush(deflater, m)).subarray(0, -4)), m, `${bits} bits`);
    }
    inflater.close();
    deflater.close();
  }
  // A peer that ends each message with a final block (BFINAL, 7.2.3.4) instead of a sync flush.
  const { client: c2 } = pair(params());
  for (const m of MESSAGES.slice(0, 5)) assert.is(text(c2, zlib.deflateRawSync(m)), m);
});

test("an 8-bit window is honoured although zlib compresses with 9: nothing reaches back over 256 bytes", () => {
  // Repeats at distances between 250 and 512 bytes: only a real 8-bit inflater catches a violation.
  const unit = randombytes(300, 8).toString("hex").slice(0, 300);
  const m = (unit + unit + unit).repeat(4);
  const { server, client } = pair(params({ servermaxwindowbits: 8, clientmaxwindowbits: 8 }));
  for (let i = 0; i < 5; i++) {
    const c = ok(server.compress(m));
    assert.is(text(client, c), m);
  }
  const strict = zlib.inflateRawSync(Buffer.concat([ok(pair(params({ servermaxwindowbits: 8, servernocontexttakeover: true })).server.compress(m)), Buffer.from([0, 0, 0xff, 0xff])]), { windowBits: 8, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  assert.is(strict.toString(), m);
});

test("empty messages, large messages, incompressible data, characters across buffer boundaries", () => {
  const { server, client } = pair(params());
  const empty = ok(server.compress(""));
  assert.equal([...empty], [0]); // RFC 7692 7.2.3.6
  assert.is(text(client, empty), "");
  assert.is(text(client, ok(server.compress(""))), "");
  assert.is(text(client, new Uint8Array(0)), ""); // an empty payload inflates to nothing
  for (const m of [jsontext(300_000), "€".repeat(100_000), "a" + "😀".repeat(70_000)]) {
    assert.is(text(client, ok(server.compress(m))), m);
    assert.is(text(server, ok(client.compress(m))), m);
  }
  const seed = 12345;
  console.log(`incompressible data seed ${seed}`);
  const noise = randombytes(200_000, seed);
  const c = ok(server.compress(noise));
  assert.ok(c.length > noise.length);
  assert.equal(ok(client.decompress(c, "binary")), noise);
  // Uint8Array input that is not a Buffer.
  const u8 = new Uint8Array(noise.buffer, noise.byteOffset + 1, 1000);
  assert.equal(ok(client.decompress(ok(server.compress(u8)), "binary")), Buffer.from(u8));
});

test("threshold: wants() counts bytes, not characters", () => {
  const d = new PerMessageDeflate("server", params(), cfg("server", { threshold: 10 }), 1 << 20);
  assert.is(d.wants("123456789"), false);
  assert.is(d.wants("1234567890"), true);
  assert.is(d.wants("ééééé"), true); // 10 bytes in 5 characters
  assert.is(d.wants("éééé"), false);
  assert.is(d.wants(Buffer.alloc(9)), false);
  assert.is(d.wants(new Uint8Array(10)), true);
  assert.is(new PerMessageDeflate("server", params(), cfg("server", { threshold: 0 }), 1).wants(""), true);
});

test("a compressed stream split at every byte offset (as fragments, and as frames cut anywhere)", () => {
  const { server, client } = pair(params());
  // Context takeover: the first message primes the window, the second refers back into it.
  const m1 = chat(1) + chat(2);
  const m2 = chat(2) + " and again " + chat(1);
  const c1 = ok(server.compress(m1));
  const c2 = ok(server.compress(m2));
  for (let cut = 0; cut <= c2.length; cut++) {
    const { client: c } = pair(params());
    assert.is(text(c, [c1]), m1);
    assert.is(text(c, [c2.subarray(0, cut), c2.subarray(cut)]), m2, `cut at ${cut}`);
  }
  assert.is(text(client, [c1]), m1);
  assert.is(text(client, [...c2].map((b) => Buffer.from([b]))), m2);
  // The same bytes as masked frames (three fragments, a ping among them), cut at every offset.
  const wire = Buffer.concat([
    frame(OP_TEXT, c1),
    frame(OP_TEXT, c2.subarray(0, 10), { fin: false, rsv: 0x40 }),
    frame(OP_PING, "p"),
    frame(OP_CONTINUATION, c2.subarray(10, 20), { fin: false }),
    frame(OP_CONTINUATION, c2.subarray(20)),
  ]);
  wire[0] |= 0x40; // the first message is compressed too
  for (let cut = 0; cut <= wire.length; cut++) {
    const { p, ev, raw } = dparser();
    p.push(Buffer.from(wire.subarray(0, cut)));
    p.push(Buffer.from(wire.subarray(cut)));
    assert.equal(ev.map((e) => e[0]), ["compressed text", "ping", "compressed text"], `cut at ${cut}`);
    const { client: c } = pair(params());
    assert.equal(raw.map((r) => text(c, r)), [m1, m2]);
  }
});

test("a compression bomb stops at the bound without inflating the rest (1009)", () => {
  const bomb = zlib.deflateRawSync(Buffer.alloc(64 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  assert.ok(bomb.length < 100_000);
  for (const type of ["binary", "text"] as const) {
    const d = new PerMessageDeflate("server", params(), cfg("server"), 1 << 20);
    const before = process.memoryUsage().arrayBuffers;
    const [out, err] = d.decompress(bomb, type as "binary");
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.is(out, undefined);
    assert.is(err?.code, 1009);
    assert.match(String(err?.reason), /exceeds maxpayload \(1048576 bytes\)/);
    assert.ok(grown < 8 << 20, `allocated ${grown} bytes for a 1 MiB bound`);
    // The connection is done: later messages fail too.
    assert.is(d.decompress(ok(new PerMessageDeflate("client", params(), cfg("client"), 1 << 20).compress("x")), "text")[1]?.code, 1002);
  }
  // No bound (Infinity) still works: capped at what a Buffer or a string holds.
  const free = new PerMessageDeflate("client", params(), cfg("client"), Infinity);
  assert.is(text(free, ok(new PerMessageDeflate("server", params(), cfg("server"), Infinity).compress("unbounded"))), "unbounded");
  // Exactly at the bound is fine; one byte over is not; also when split into fragments.
  const exact = ok(new PerMessageDeflate("client", params(), cfg("client"), 1 << 20).compress(Buffer.alloc(1000, 7)));
  assert.is(ok(new PerMessageDeflate("server", params(), cfg("server"), 1000).decompress(exact, "binary")).length, 1000);
  assert.is(new PerMessageDeflate("server", params(), cfg("server"), 999).decompress([exact.subarray(0, 3), exact.subarray(3)], "binary")[1]?.code, 1009);
});

test("invalid data (1002) and invalid UTF-8 after inflation (1007)", () => {
  const { server } = pair(params());
  const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]);
  const [, err] = new PerMessageDeflate("client", params(), cfg("client"), 1 << 20).decompress(garbage, "binary");
  assert.equal(err, { code: 1002, reason: "invalid compressed data" });
  const bad = [Buffer.from("ok \xff ok", "latin1"), Buffer.from("ends inside \xe2\x82", "latin1"), Buffer.from("\xed\xa0\x80 surrogate", "latin1")];
  for (const b of bad) {
    const [, e] = new PerMessageDeflate("client", params(), cfg("client"), 1 << 20).decompress(ok(server.compress(b)), "text");
    assert.is(e?.code, 1007, b.toString("hex"));
  }
  // Long text that turns bad early: the fast engine stops at the first bad byte
  // (1007) before the size bound; the public engine inflates to the bound first (1009).
  const early = Buffer.concat([Buffer.from([0xff]), Buffer.alloc(4 << 20, 0x61)]);
  const c = ok(new PerMessageDeflate("server", params({ servernocontexttakeover: true }), cfg("server"), 8 << 20).compress(early));
  const [, e2] = new PerMessageDeflate("client", params({ servernocontexttakeover: true }), cfg("client"), 1 << 20).decompress(c, "text");
  assert.is(e2?.code, fastzlib ? 1007 : 1009);
  // The same bytes as binary are fine.
  const fresh = pair(params());
  assert.is(ok(fresh.client.decompress(ok(fresh.server.compress(bad[0])), "binary")).toString("latin1"), "ok \xff ok");
});

test("directions without context takeover share contexts across connections safely", () => {
  const p = params({ servernocontexttakeover: true, clientnocontexttakeover: true });
  const a = pair(p);
  const b = pair(p);
  for (let i = 0; i < 10; i++) {
    const ca = ok(a.server.compress(MESSAGES[i]));
    const cb = ok(b.server.compress(MESSAGES[i + 10]));
    assert.is(text(b.client, cb), MESSAGES[i + 10]);
    assert.is(text(a.client, ca), MESSAGES[i]);
  }
  // A failure on one connection leaves the shared inflater clean for the next:
  // bad data (zlib gives up on the stream), and a bomb stopped mid-message.
  assert.is(b.client.decompress(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x00]), "text")[1]?.code, 1002);
  const c = pair(p);
  assert.is(text(c.client, ok(c.server.compress(MESSAGES[3]))), MESSAGES[3]);
  const bomb = zlib.deflateRawSync(Buffer.alloc(1 << 20), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
  assert.is(new PerMessageDeflate("client", p, cfg("client"), 1000).decompress(bomb, "binary")[1]?.code, 1009);
  assert.is(text(c.client, ok(c.server.compress(MESSAGES[4]))), MESSAGES[4]);
});

test("close() releases the contexts and is idempotent", () => {
  const { server, client } = pair(params());
  assert.is(text(client, ok(server.compress("x".repeat(100)))), "x".repeat(100));
  server.close();
  client.close();
  server.close();
});

test.run();
