// The RESP codec of silly-store-redis, without sockets: commands out as bytes,
// bytes in as replies, every input also fed split at each byte offset and
// byte by byte, plus seeded random reply trees.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Decoder, MORE, encode, encodemany, LINE_MAX } from "../packages/silly-store-redis/src/resp.js";
import type { Bulks, Reply } from "../packages/silly-store-redis/src/resp.js";
import { RedisError } from "../packages/silly-store-redis/src/error.js";
import { rng } from "./lib/rng.js";

const b = (s: string): Buffer => Buffer.from(s);

/** Every reply decodable from `chunks` fed in order, then what is left. */
function decodeall(chunks: Buffer[], max = Infinity, bulks: Bulks = "string"): { replies: Reply[]; pushes: boolean[]; broken?: RedisError } {
  const d = new Decoder(max);
  const replies: Reply[] = [];
  const pushes: boolean[] = [];
  for (const c of chunks) {
    d.feed(c);
    for (;;) {
      d.bulks = bulks;
      const r = d.next();
      if (r === MORE) break;
      if (d.broken !== undefined) return { replies, pushes, broken: d.broken };
      replies.push(r);
      pushes.push(d.push);
    }
  }
  return { replies, pushes };
}

/** The same stream fed whole, split in two at every offset, and byte by byte: all must agree. */
function splits(bytes: Buffer): Buffer[][] {
  const out: Buffer[][] = [[bytes]];
  for (let i = 1; i < bytes.length; i++) out.push([bytes.subarray(0, i), bytes.subarray(i)]);
  out.push([...bytes].map((x) => Buffer.from([x])));
  return out;
}

function same(stream: string | Buffer, expected: Reply[], max = Infinity, bulks: Bulks = "string"): void {
  const bytes = typeof stream === "string" ? b(stream) : stream;
  for (const chunks of splits(bytes)) {
    const got = decodeall(chunks, max, bulks);
    assert.is(got.broken, undefined, `broken with ${chunks.length} chunks: ${got.broken?.message}`);
    assert.equal(got.replies, expected, `fed as ${chunks.map((c) => c.length).join("+")} bytes`);
  }
}

function brokenby(stream: string | Buffer, why: RegExp): void {
  const bytes = typeof stream === "string" ? b(stream) : stream;
  for (const chunks of splits(bytes)) {
    const got = decodeall(chunks);
    assert.ok(got.broken !== undefined, `not broken when fed as ${chunks.map((c) => c.length).join("+")}: ${JSON.stringify(got.replies)}`);
    assert.is(got.broken!.kind, "protocol");
    assert.match(got.broken!.message, why);
  }
}

// ---- encoding ----

test("encode: a command is an array of bulk strings; numbers and bigints in decimal", () => {
  assert.is(encode(["SET", "k", "v"]).toString(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  assert.is(encode(["k", 42, -1.5, 10n ** 20n], "SET").toString(), "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n42\r\n$4\r\n-1.5\r\n$21\r\n100000000000000000000\r\n");
  assert.is(encode(["PING"]).toString(), "*1\r\n$4\r\nPING\r\n");
  assert.is(encode(["ECHO", ""]).toString(), "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
});

test("encode: UTF-8 text counts bytes; binary goes byte for byte; long strings too", () => {
  assert.is(encode(["ECHO", "你好"]).toString(), "*2\r\n$4\r\nECHO\r\n$6\r\n你好\r\n");
  const bin = Buffer.from([0, 13, 10, 255, 36, 42]);
  const out = encode(["SET", "k", bin]);
  assert.equal([...out.subarray(out.length - 12)], [...b("$6\r\n"), ...bin, 13, 10]);
  const long = "x".repeat(100_000);
  assert.is(encode(["SET", "k", long]).toString(), `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100000\r\n${long}\r\n`);
  assert.is(encode(["SET", "k", new Uint8Array([97, 98])]).toString(), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nab\r\n");
});

test("encode: a nested array is spread (upstream's table arguments)", () => {
  assert.is(encode(["MSET", ["a", "1", "b", 2]]).toString(), encode(["MSET", "a", "1", "b", 2]).toString());
});

test("encode: bad arguments are programmer errors (TypeError), and leave no trace", () => {
  assert.throws(() => encode([]), TypeError);
  assert.throws(() => encode(["SET", "k", undefined as never]), TypeError);
  assert.throws(() => encode(["SET", "k", null as never]), TypeError);
  assert.throws(() => encode(["SET", "k", { a: 1 } as never]), TypeError);
  assert.throws(() => encode(["SET", "k", true as never]), TypeError);
  assert.throws(() => encode(["SET", "k", NaN]), TypeError);
  assert.throws(() => encode(["SET", "k", Infinity]), TypeError);
  assert.is(encode(["PING"]).toString(), "*1\r\n$4\r\nPING\r\n");
});

test("encodemany: a pipeline's bytes are its commands' bytes in order", () => {
  const cmds = [["SET", "a", "1"], ["GET", "a"], ["MSET", ["x", "y"]], ["ECHO", Buffer.from([0, 1])]] as const;
  assert.equal(encodemany(cmds), Buffer.concat(cmds.map((c) => encode(c))));
  assert.throws(() => encodemany([["GET", "a"], []]), TypeError);
});

// ---- decoding: RESP2 ----

test("RESP2 simple strings, errors, integers, bulk strings, nil", () => {
  same("+OK\r\n+\r\n:0\r\n:-42\r\n:9007199254740991\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n", [
    "OK", "", 0, -42, Number.MAX_SAFE_INTEGER, "hello", "", null, null,
  ]);
  const got = decodeall([b("-WRONGTYPE Operation against a key\r\n")]);
  assert.instance(got.replies[0], RedisError);
  assert.is((got.replies[0] as RedisError).kind, "reply");
  assert.is((got.replies[0] as RedisError).message, "WRONGTYPE Operation against a key");
});

test("integers outside the safe range come out as bigints", () => {
  same(":9223372036854775807\r\n:-9223372036854775808\r\n:9007199254740992\r\n:123456789012345678\r\n", [
    9223372036854775807n, -9223372036854775808n, 9007199254740992n, 123456789012345678n,
  ]);
});

test("bulk strings keep CR, LF and UTF-8 inside; a CRLF inside a bulk is data", () => {
  same("$4\r\na\r\nb\r\n$6\r\n你好\r\n", ["a\r\nb", "你好"]);
});

test("arrays nest, hold nils and error values", () => {
  const got = decodeall([b("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n-ERR inner\r\n*0\r\n")]);
  assert.equal(got.replies[0], [1, ["a", null], new RedisError("reply", "ERR inner")]);
  assert.equal(got.replies[1], []);
  same("*2\r\n*1\r\n*1\r\n:7\r\n+x\r\n", [[[[7]], "x"]]);
});

test("bulk strings as Buffers: all 256 byte values, byte for byte", () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const stream = Buffer.concat([b("*2\r\n$256\r\n"), all, b("\r\n$3\r\nabc\r\n")]);
  same(stream, [[all, b("abc")]], Infinity, "buffer");
});

test("\"payload\" bulks: only the last element of a top-level aggregate is a Buffer", () => {
  same("*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n", [["message", "news", b("hi")]], Infinity, "payload");
  same("*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$0\r\n\r\n", [["pmessage", "n*", "news", b("")]], Infinity, "payload");
  same("$2\r\nhi\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n", ["hi", ["subscribe", "a", 1]], Infinity, "payload");
});

test("\"payload\" bulks: channels that come and go decode right (the decoder keeps recent ones)", () => {
  const msg = (kind: string, ch: string, data: string): string =>
    `*3\r\n$${Buffer.byteLength(kind)}\r\n${kind}\r\n$${Buffer.byteLength(ch)}\r\n${ch}\r\n$${Buffer.byteLength(data)}\r\n${data}\r\n`;
  const channels = ["aa", "ab", "aa", "ba", "频道", "频遒", "频道", "", "x".repeat(100), "x".repeat(99) + "y"];
  const stream = channels.map((c, i) => msg(i % 2 ? "message" : "massage", c, `d${i}`)).join("");
  same(stream, channels.map((c, i) => [i % 2 ? "message" : "massage", c, b(`d${i}`)]), Infinity, "payload");
});

// ---- decoding: RESP3 ----

test("RESP3 null, booleans, doubles, big numbers, verbatim and blob errors", () => {
  same("_\r\n#t\r\n#f\r\n,1.5\r\n,-0.25\r\n,10\r\n,inf\r\n,-inf\r\n,1e3\r\n(3492890328409238509324850943850943825024385\r\n=15\r\ntxt:Some string\r\n", [
    null, true, false, 1.5, -0.25, 10, Infinity, -Infinity, 1000, 3492890328409238509324850943850943825024385n, "Some string",
  ]);
  const nan = decodeall([b(",nan\r\n")]).replies[0];
  assert.ok(typeof nan === "number" && Number.isNaN(nan));
  const err = decodeall([b("!21\r\nSYNTAX invalid syntax\r\n")]).replies[0];
  assert.equal(err, new RedisError("reply", "SYNTAX invalid syntax"));
});

test("RESP3 maps, sets and pushes", () => {
  same("%2\r\n+first\r\n:1\r\n+second\r\n*1\r\n:2\r\n~3\r\n+a\r\n+b\r\n+a\r\n%0\r\n", [
    new Map<Reply, Reply>([["first", 1], ["second", [2]]]),
    new Set<Reply>(["a", "b"]),
    new Map(),
  ]);
  const got = decodeall([b(">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n+OK\r\n")]);
  assert.equal(got.replies, [["message", "c", "m"], "OK"]);
  assert.equal(got.pushes, [true, false]);
});

test("RESP3 attributes are read and dropped, at the top and inside aggregates", () => {
  same("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:2127\r\n|1\r\n+ttl\r\n:3600\r\n:42\r\n|0\r\n+after\r\n", [[2127, 42], "after"]);
});

// ---- limits ----

test("a bulk string over max is dropped as it comes; the stream stays in step", () => {
  const big = "x".repeat(1000);
  const stream = `$1000\r\n${big}\r\n+next\r\n`;
  for (const chunks of splits(b(stream))) {
    const got = decodeall(chunks, 100);
    assert.is(got.broken, undefined);
    assert.is(got.replies.length, 2);
    assert.is((got.replies[0] as RedisError).kind, "toolarge");
    assert.is(got.replies[1], "next");
  }
});

test("an aggregate whose elements add up over max is dropped whole; the stream stays in step", () => {
  const parts = Array.from({ length: 50 }, (_, i) => `$5\r\nv${String(i).padStart(4, "0")}\r\n`).join("");
  const stream = `*50\r\n${parts}:7\r\n*2\r\n*60\r\n${":1\r\n".repeat(60)}$3\r\nend\r\n+tail\r\n`;
  for (const chunks of splits(b(stream))) {
    const got = decodeall(chunks, 100);
    assert.is(got.broken, undefined);
    assert.equal(got.replies.map((r) => (r instanceof RedisError ? r.kind : r)), ["toolarge", 7, "toolarge", "tail"]);
  }
});

test("a reply of exactly max bytes is kept", () => {
  const stream = "$3\r\nabc\r\n"; // 9 bytes
  same(stream, ["abc"], 9);
  assert.is((decodeall([b(stream)], 8).replies[0] as RedisError).kind, "toolarge");
});

test("a huge announced length is not buffered: it is skipped as bytes arrive", () => {
  const d = new Decoder(1024);
  d.feed(b("$1073741824\r\n"));
  const r = d.next();
  assert.is((r as RedisError).kind, "toolarge");
  for (let i = 0; i < 64; i++) {
    d.feed(Buffer.alloc(64 * 1024, 120));
    assert.is(d.next(), MORE);
    assert.ok(d.pending <= 64 * 1024, `holds ${d.pending} bytes`);
  }
});

test("a long bulk string in many chunks is joined once, not once per chunk", () => {
  const d = new Decoder();
  const n = 1 << 20;
  d.feed(b(`$${n}\r\n`));
  assert.is(d.next(), MORE);
  for (let i = 0; i < 16; i++) {
    d.feed(Buffer.alloc(n / 16, 97));
    if (i < 15) assert.is(d.next(), MORE);
  }
  d.feed(b("\r\n"));
  const r = d.next();
  assert.is(typeof r === "string" && r.length, n);
});

// ---- protocol errors ----

test("bytes that are not RESP break the stream, however they are split", () => {
  brokenby("+OK\r\n?what\r\n", /unknown type byte 0x3f/);
  brokenby(":12a\r\n", /bad integer/);
  brokenby(":\r\n", /bad integer/);
  brokenby("$abc\r\n", /bad length/);
  brokenby("$-2\r\n", /bad length/);
  brokenby("*-2\r\n", /bad element count/);
  brokenby("%-1\r\n", /bad element count/);
  brokenby("$3\r\nabcde\r\n", /without its CRLF/);
  brokenby("+OK\rX\n", /CR without LF/);
  brokenby("#x\r\n", /bad boolean/);
  brokenby("_x\r\n", /bad null/);
  brokenby(",abc\r\n", /bad double/);
  brokenby("=3\r\nabc\r\n", /verbatim/);
  brokenby("*?\r\n", /bad element count/);
  brokenby("$99999999999999999999\r\n", /bad length/);
});

test("a line longer than LINE_MAX breaks the stream before it is all buffered", () => {
  const d = new Decoder();
  d.feed(b("+"));
  let fed = 1;
  while (fed <= LINE_MAX + 1) {
    d.feed(Buffer.alloc(4096, 97));
    fed += 4096;
    const r = d.next();
    if (r !== MORE) break;
  }
  assert.ok(d.broken !== undefined);
  assert.match(d.broken!.message, /longer than/);
  assert.ok(fed <= LINE_MAX + 4097);
});

test("a broken stream stays broken and buffers nothing more", () => {
  const d = new Decoder();
  d.feed(b("?\r\n"));
  const e = d.next();
  assert.is((e as RedisError).kind, "protocol");
  d.feed(b("+OK\r\n"));
  assert.is(d.next(), e);
  assert.is(d.pending, 0);
});

// ---- random trees ----

/** A random reply and its RESP3 bytes. */
function gen(rand: () => number, depth: number): [Reply, string] {
  const pick = Math.floor(rand() * (depth > 3 ? 7 : 10));
  const word = (): string => Array.from({ length: Math.floor(rand() * 12) }, () => "ab\r\n你 z"[Math.floor(rand() * 7)]).join("");
  switch (pick) {
    case 0: {
      const s = word().replace(/[\r\n]/g, "");
      return [s, `+${s}\r\n`];
    }
    case 1: {
      const n = Math.floor((rand() - 0.5) * 2e9);
      return [n, `:${n}\r\n`];
    }
    case 2: {
      const s = word();
      return [s, `$${Buffer.byteLength(s)}\r\n${s}\r\n`];
    }
    case 3:
      return [null, rand() < 0.5 ? "$-1\r\n" : "_\r\n"];
    case 4: {
      const v = rand() < 0.5;
      return [v, `#${v ? "t" : "f"}\r\n`];
    }
    case 5: {
      const e = `ERR ${word().replace(/[\r\n]/g, "")}`;
      return [new RedisError("reply", e), `-${e}\r\n`];
    }
    case 6: {
      const d = Math.round((rand() - 0.5) * 1e6) / 64;
      return [d, `,${d}\r\n`];
    }
    default: {
      const n = Math.floor(rand() * 5);
      const items: [Reply, string][] = Array.from({ length: n }, () => gen(rand, depth + 1));
      if (pick === 9) {
        // a map of string keys
        const m = new Map<Reply, Reply>();
        let text = "";
        items.forEach(([v, t], i) => {
          m.set(`k${i}`, v);
          text += `+k${i}\r\n${t}`;
        });
        return [m, `%${n}\r\n${text}`];
      }
      return [items.map(([v]) => v), `*${n}\r\n${items.map(([, t]) => t).join("")}`];
    }
  }
}

test("random reply trees decode to what was encoded, in random chunks (seed printed)", () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1e9);
  console.log(`redis-resp random trees: SEED=${seed}`);
  const rand = rng(seed);
  for (let round = 0; round < 300; round++) {
    const n = 1 + Math.floor(rand() * 5);
    const made = Array.from({ length: n }, () => gen(rand, 0));
    const bytes = Buffer.from(made.map(([, t]) => t).join(""));
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const k = 1 + Math.floor(rand() * 16);
      chunks.push(bytes.subarray(at, at + k));
      at += k;
    }
    const got = decodeall(chunks);
    assert.is(got.broken, undefined, `seed ${seed} round ${round}`);
    assert.equal(got.replies, made.map(([v]) => v), `seed ${seed} round ${round}`);
  }
});

test.run();
