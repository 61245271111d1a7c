import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  FrameParser,
  encodeframe,
  encodemessage,
  encodeinto,
  stagedsize,
  opcodeof,
  FRAGMENT,
  FRAGMENT_SIZE,
  OP_TEXT,
  OP_BINARY,
  OP_CLOSE,
  OP_PING,
  OP_PONG,
  OP_CONTINUATION,
  unmask,
  unmaskascii,
  maskkey,
  keyat,
  utf8scan,
  isvalidutf8,
  Utf8Validator,
  validclosecode,
  encodeclose,
  decodeclose,
  acceptkey,
  genkey,
  validkey,
  hastoken,
} from "../packages/silly-net-websocket/src/codec/index.js";
import type { MessageType, ParserOptions } from "../packages/silly-net-websocket/src/codec/index.js";

// ---------------------------------------------------------------- helpers

type Ev = [MessageType, string] | ["error", number, string];

// Buffers are recorded as "hex:..." so events compare with assert.equal.
function parserof(opts: Partial<ParserOptions> = {}): { p: FrameParser; ev: Ev[] } {
  const ev: Ev[] = [];
  const p = new FrameParser(
    { role: "server", maxpayload: 64 << 20, maxfragments: 1000, ...opts },
    {
      message(type, data) {
        ev.push([type, typeof data === "string" ? data : "hex:" + data.toString("hex")]);
      },
      error(code, reason) {
        ev.push(["error", code, reason]);
      },
    },
  );
  return { p, ev };
}

const parser = parserof;

const RFC_KEY = [0x37, 0xfa, 0x21, 0x3d];

interface Mk {
  fin?: boolean;
  key?: number[] | null; // null: unmasked
  rsv?: number; // bits 0x70
  len?: 7 | 16 | 64; // force a length encoding
}

// An independent frame builder (deliberately not the encoder under test), able
// to produce invalid frames.
function mk(op: number, payload: Uint8Array | string, o: Mk = {}): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const key = o.key === undefined ? RFC_KEY : o.key;
  const n = data.length;
  const form = o.len ?? (n < 126 ? 7 : n < 65536 ? 16 : 64);
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | (o.rsv ?? 0) | op];
  const m = key ? 0x80 : 0;
  if (form === 7) head.push(m | n);
  else if (form === 16) head.push(m | 126, n >> 8, n & 255);
  else {
    head.push(m | 127);
    const big = BigInt(n);
    for (let i = 7; i >= 0; i--) head.push(Number((big >> BigInt(8 * i)) & 0xffn));
  }
  if (key) {
    head.push(...key);
    for (let i = 0; i < n; i++) data[i] ^= key[i & 3];
  }
  return Buffer.concat([Buffer.from(head), data]);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ""), "hex");
const flat = (f: Buffer | [Buffer, Buffer]): Buffer => (Array.isArray(f) ? Buffer.concat(f) : f);
const fill = (n: number, byte: number): Buffer => Buffer.alloc(n, byte);
const pattern = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255));

function feed(p: FrameParser, ...chunks: Buffer[]): void {
  for (const c of chunks) p.push(c);
}

function expecterror(ev: Ev[], code: number, why?: RegExp): void {
  assert.is(ev.length > 0, true, "expected an error event");
  const last = ev[ev.length - 1];
  assert.is(last[0], "error", `expected error, got ${JSON.stringify(last)}`);
  assert.is(last[1], code, `close code for ${String(last[2])}`);
  if (why) assert.match(String(last[2]), why);
}

// ---------------------------------------------------------------- RFC 6455 5.7 vectors

test("5.7: single-frame unmasked text 'Hello' (client role) and encoder bytes", () => {
  const wire = hex("81 05 48 65 6c 6c 6f");
  const { p, ev } = parser({ role: "client" });
  p.push(Buffer.from(wire));
  assert.equal(ev, [["text", "Hello"]]);
  assert.equal(flat(encodeframe(OP_TEXT, "Hello", true, false)), wire);
  assert.equal(encodemessage("text", Buffer.from("Hello"), false), [wire]);
});

test("5.7: single-frame masked text 'Hello' (server role)", () => {
  const wire = hex("81 85 37 fa 21 3d 7f 9f 4d 51 58");
  const { p, ev } = parser();
  p.push(Buffer.from(wire));
  assert.equal(ev, [["text", "Hello"]]);
  assert.equal(mk(OP_TEXT, "Hello"), wire); // the test builder agrees with the RFC
});

test("5.7: fragmented unmasked text 'Hel' + 'lo'", () => {
  const { p, ev } = parser({ role: "client" });
  p.push(hex("01 03 48 65 6c"));
  assert.equal(ev, []);
  p.push(hex("80 02 6c 6f"));
  assert.equal(ev, [["text", "Hello"]]);
});

test("5.7: unmasked ping and masked pong 'Hello'", () => {
  const c = parser({ role: "client" });
  c.p.push(hex("89 05 48 65 6c 6c 6f"));
  assert.equal(c.ev, [["ping", "hex:48656c6c6f"]]);
  assert.equal(flat(encodeframe(OP_PING, "Hello", true, false)), hex("89 05 48 65 6c 6c 6f"));
  const s = parser();
  s.p.push(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"));
  assert.equal(s.ev, [["pong", "hex:48656c6c6f"]]);
});

test("5.7: 256-byte and 64 KiB unmasked binary headers", () => {
  const b256 = Buffer.alloc(256, 0xab);
  const f256 = flat(encodeframe(OP_BINARY, b256, true, false));
  assert.equal(f256.subarray(0, 4), hex("82 7e 01 00"));
  assert.is(f256.length, 4 + 256);
  const b64k = Buffer.alloc(65536, 0xcd);
  const f64k = encodeframe(OP_BINARY, b64k, true, false);
  assert.ok(Array.isArray(f64k), "a large unmasked payload is returned as [header, payload]");
  const [h, body] = f64k as [Buffer, Buffer];
  assert.equal(h, hex("82 7f 00 00 00 00 00 01 00 00"));
  assert.is(body, b64k, "zero-copy: the caller's buffer itself");
  for (const [wire, data] of [
    [f256, b256],
    [Buffer.concat([h, body]), b64k],
  ] as const) {
    const { p, ev } = parser({ role: "client" });
    p.push(Buffer.from(wire));
    assert.equal(ev, [["binary", "hex:" + data.toString("hex")]]);
  }
});

// ---------------------------------------------------------------- round trips

function roundtrip(type: MessageType, payload: Buffer | string, mask: boolean): Ev[] {
  const { p, ev } = parser({ role: mask ? "server" : "client", maxpayload: 4 << 20 });
  for (const b of encodemessage(type, payload, mask)) p.push(Buffer.from(b));
  return ev;
}

test("round trip: binary lengths 0..1 MiB, bytes 0x00/0xFF/0x7F, masked and not", () => {
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20]) {
    for (const byte of [0x00, 0xff, 0x7f]) {
      for (const mask of [true, false]) {
        const data = fill(n, byte);
        const ev = roundtrip("binary", data, mask);
        assert.is(ev.length, 1, `n=${n} mask=${mask}`);
        assert.is(ev[0][0], "binary");
        assert.ok(ev[0][1] === "hex:" + data.toString("hex"), `payload n=${n} byte=${byte} mask=${mask}`);
      }
    }
  }
});

test("round trip: header length is minimal", () => {
  for (const [n, hl] of [
    [0, 2],
    [125, 2],
    [126, 4],
    [65535, 4],
    [65536, 10],
  ] as const) {
    for (const mask of [false, true]) {
      const f = flat(encodeframe(OP_BINARY, Buffer.alloc(n), true, mask));
      assert.is(f.length, hl + (mask ? 4 : 0) + n, `n=${n} mask=${mask}`);
    }
  }
  assert.is(flat(encodeframe(OP_BINARY, Buffer.alloc(1 << 20), true, false)).length, 10 + (1 << 20));
});

test("round trip: text ASCII, CJK and emoji of many lengths (fragment splits mid-character)", () => {
  const unit = "漢字テキスト🎉ok";
  for (const reps of [0, 1, 7, 10, 100, 5000, 20000]) {
    const s = unit.repeat(reps);
    for (const mask of [true, false]) {
      assert.equal(roundtrip("text", s, mask), [["text", s]], `reps=${reps} mask=${mask}`);
    }
  }
  for (let n = 0; n <= 45; n++) {
    for (const last of ["", "z", "é", "\u{1f389}", "\x7f"]) {
      const t = "q".repeat(n) + last;
      for (const mask of [true, false]) {
        const f = flat(encodeframe(OP_TEXT, t, true, mask));
        assert.is(f[1] & 0x7f, Buffer.byteLength(t), `length byte for ${JSON.stringify(t)}`);
        assert.equal(roundtrip("text", t, mask), [["text", t]]);
      }
    }
  }
  const ascii = "x".repeat(200000);
  assert.equal(roundtrip("text", ascii, true), [["text", ascii]]);
  assert.equal(roundtrip("text", "", true), [["text", ""]]);
});

test("round trip: control frames and close payloads", () => {
  assert.equal(roundtrip("ping", "", true), [["ping", "hex:"]]);
  assert.equal(roundtrip("pong", fill(125, 0xee), true), [["pong", "hex:" + "ee".repeat(125)]]);
  const close = encodeclose(1000, "bye ✓");
  const ev = roundtrip("close", close, true);
  assert.equal(ev, [["close", "hex:" + close.toString("hex")]]);
  assert.equal(decodeclose(close), { ok: true, code: 1000, reason: "bye ✓" });
});

test("encodemessage: messages of 64 KiB and more go out fragmented", () => {
  assert.is(FRAGMENT, 65536);
  assert.is(FRAGMENT_SIZE, 65535);
  const one = Buffer.concat(encodemessage("binary", Buffer.alloc(65535), false));
  assert.is(one[0], 0x82, "65535 bytes: one frame with FIN");
  assert.is(one.length, 4 + 65535, "16-bit length form");
  const two = Buffer.concat(encodemessage("binary", Buffer.alloc(65536, 1), false));
  assert.is(two[0], 0x02, "first frame: binary, FIN clear");
  assert.is(two[1], 126);
  assert.is(two.readUInt16BE(2), 65535);
  assert.is(two[4 + 65535], 0x80 | OP_CONTINUATION, "second frame: continuation with FIN");
  assert.is(two[4 + 65535 + 1], 1, "second frame: 1 byte");
  assert.is(two.length, 4 + 65535 + 2 + 1);
  const masked = Buffer.concat(encodemessage("text", "é".repeat(70000), true));
  assert.is(masked[0], 0x01);
  const { p, ev } = parser();
  p.push(masked);
  assert.equal(ev, [["text", "é".repeat(70000)]]);
});

test("encodeinto writes the same bytes as encodemessage at any offset; stagedsize bounds it", () => {
  const cases: [MessageType, string | Uint8Array][] = [
    ["text", ""],
    ["text", "a"],
    ["text", "x".repeat(40)],
    ["ping", "ping!"],
    ["binary", new Uint8Array(0)],
    ["binary", pattern(63)],
    ["binary", pattern(64)],
    ["binary", pattern(125)],
    ["binary", pattern(126)],
    ["binary", pattern(4095)],
    ["pong", new Uint8Array(pattern(125))],
  ];
  for (const [type, payload] of cases) {
    const n = stagedsize(payload);
    const want = Buffer.concat(encodemessage(type, payload, false));
    assert.is(n, want.length, `${type} ${payload.length}: size`);
    for (const at of [0, 1, 7]) {
      const dst = Buffer.alloc(at + n + 3, 0xaa);
      assert.ok(encodeinto(dst, at, opcodeof(type), payload));
      assert.ok(dst.subarray(at, at + n).equals(want), `${type} ${payload.length} at ${at}`);
      assert.ok(dst.subarray(0, at).every((x) => x === 0xaa) && dst.subarray(at + n).every((x) => x === 0xaa), "nothing else touched");
    }
  }
  // Too big to encode in place: left to encodemessage.
  assert.is(stagedsize("x".repeat(41)), -1);
  assert.is(stagedsize(pattern(4096)), -1);
  // Not ASCII: refused, so the caller falls back.
  assert.is(encodeinto(Buffer.alloc(10), 0, OP_TEXT, "é"), false);
  assert.is(encodeinto(Buffer.alloc(10), 0, OP_TEXT, "ab\u0080"), false);
});

test("encodemessage: control payload over 125 bytes throws RangeError", () => {
  assert.throws(() => encodemessage("ping", Buffer.alloc(126), true), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodemessage("close", Buffer.alloc(200), false), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodemessage("pong", "é".repeat(63), false), (e: unknown) => e instanceof RangeError);
  assert.is(encodemessage("ping", Buffer.alloc(125), true).length, 1);
});

test("encoder never mutates the caller's buffer when masking", () => {
  for (const n of [0, 3, 100, 127, 4095, 4096, 10000, 65536, 200000]) {
    const data = Buffer.alloc(n);
    for (let i = 0; i < n; i++) data[i] = (i * 31) & 255;
    const copy = Buffer.from(data);
    const f = encodeframe(OP_BINARY, data, true, true);
    assert.ok(!Array.isArray(f), "masked frames are one buffer");
    assert.equal(data, copy, `encodeframe n=${n}`);
    encodemessage("binary", data, true);
    assert.equal(data, copy, `encodemessage n=${n}`);
    if (n > 8) assert.not.ok((f as Buffer).subarray(-n).equals(data), "payload is masked");
  }
  const u8 = new Uint8Array([1, 2, 3, 4, 5]);
  const { p, ev } = parser();
  p.push(flat(encodeframe(OP_BINARY, u8, true, true)));
  assert.equal(Array.from(u8), [1, 2, 3, 4, 5]);
  assert.equal(ev, [["binary", "hex:0102030405"]]);
});

// ---------------------------------------------------------------- chunking

function stream(): Buffer {
  return Buffer.concat([
    mk(OP_TEXT, "Hello"),
    mk(OP_BINARY, Buffer.from(Array.from({ length: 200 }, (_, i) => i))),
    mk(OP_PING, "p1"),
    mk(OP_TEXT, Buffer.from("漢字テ").subarray(0, 4), { fin: false }), // splits 字
    mk(OP_PONG, "", { key: [1, 2, 3, 4] }),
    mk(OP_CONTINUATION, Buffer.from("漢字テ").subarray(4, 7), { fin: false }),
    mk(OP_CONTINUATION, Buffer.from("漢字テ").subarray(7), { fin: true }),
    mk(OP_TEXT, "a".repeat(130), { key: [0xff, 0, 0x80, 0x7f] }),
    mk(OP_BINARY, "", { fin: false }),
    mk(OP_CONTINUATION, "xyz", { fin: true, key: [9, 9, 9, 9] }),
    mk(OP_TEXT, "é€𝄞", { len: 16 }), // non-minimal length accepted
    mk(OP_TEXT, "", {}),
    mk(OP_CLOSE, encodeclose(1001, "going")),
  ]);
}

for (const slicetext of [false, true]) test(`same messages however the stream is split (every split point, 1 byte at a time; slicetext ${slicetext})`, () => {
  const parser = (): ReturnType<typeof parserof> => parserof({ slicetext });
  const wire = stream();
  assert.ok(wire.length > 300 && wire.length < 600, `stream is ${wire.length} bytes`);
  const base = parser();
  base.p.push(Buffer.from(wire));
  assert.is(base.ev.length, 10);
  assert.equal(base.ev[0], ["text", "Hello"]);
  assert.equal(base.ev[3], ["pong", "hex:"]);
  assert.equal(base.ev[4], ["text", "漢字テ"]);
  assert.equal(base.ev[5], ["text", "a".repeat(130)]);
  assert.equal(base.ev[6], ["binary", "hex:78797a"]);
  assert.equal(base.ev[7], ["text", "é€𝄞"]);
  assert.equal(base.ev[8], ["text", ""]);
  assert.equal(base.ev[9], ["close", "hex:" + encodeclose(1001, "going").toString("hex")]);
  for (let i = 0; i <= wire.length; i++) {
    const { p, ev } = parser();
    const w = Buffer.from(wire); // the parser unmasks in place: a fresh copy per run
    feed(p, w.subarray(0, i), w.subarray(i));
    assert.equal(ev, base.ev, `split at ${i}`);
  }
  for (let i = 0; i < wire.length; i++) {
    for (const j of [i + 1, i + 2, i + 3, i + 13, i + 14]) {
      if (j > wire.length) continue;
      const { p, ev } = parser();
      const w = Buffer.from(wire);
      feed(p, w.subarray(0, i), w.subarray(i, j), w.subarray(j));
      assert.equal(ev, base.ev, `splits at ${i}, ${j}`);
    }
  }
  const { p, ev } = parser();
  const w = Buffer.from(wire);
  for (let i = 0; i < w.length; i++) p.push(w.subarray(i, i + 1));
  assert.equal(ev, base.ev, "1 byte at a time");
});

test("chunks on loan: kept messages are copies, intact after the chunk's memory is reused", () => {
  // Records messages as they come and reads them only at the end, after every
  // loaned chunk has been scribbled over (as the fast read path's buffer is).
  const run = (cuts: number[]): Ev[] => {
    const got: [MessageType, string | Buffer][] = [];
    const p = new FrameParser(
      { role: "server", maxpayload: 64 << 20, maxfragments: 1000 },
      { message: (type, data) => got.push([type, data]), error: (code, why) => assert.unreachable(`${code} ${why}`) },
    );
    const wire = stream();
    const scratch = Buffer.alloc(wire.length + 16); // longer than any piece, as the read buffer is
    for (let i = 0; i + 1 < cuts.length; i++) {
      const n = wire.copy(scratch, 0, cuts[i], cuts[i + 1]);
      p.push(scratch, true, n);
      scratch.fill(0xee);
    }
    return got.map(([t, d]) => [t, typeof d === "string" ? d : "hex:" + d.toString("hex")]);
  };
  const wire = stream();
  const base = parserof();
  base.p.push(Buffer.from(wire));
  assert.equal(run([0, wire.length]), base.ev, "one chunk");
  for (let i = 1; i < wire.length; i++) assert.equal(run([0, i, wire.length]), base.ev, `split at ${i}`);
  const big = Buffer.alloc(70000, 7);
  const { p, ev } = parserof();
  const w = mk(OP_BINARY, big);
  const scratch = Buffer.alloc(5000);
  for (let i = 0; i < w.length; i += 4096) {
    const n = w.copy(scratch, 0, i, i + 4096);
    p.push(scratch, true, n);
    scratch.fill(0);
  }
  assert.equal(ev, [["binary", "hex:" + big.toString("hex")]], "a payload across loaned chunks");
});

test("large frames across chunks: 64-bit length, odd chunk sizes", () => {
  const data = Buffer.alloc(300000);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7 + 3) & 255;
  const wire = mk(OP_BINARY, data, { key: [0x11, 0x22, 0x33, 0x44] });
  for (const size of [1, 3, 1000, 4097, 65536, 100003]) {
    const { p, ev } = parser();
    const w = Buffer.from(wire);
    if (size === 1) {
      // header byte by byte, then the rest at once
      for (let i = 0; i < 14; i++) p.push(w.subarray(i, i + 1));
      p.push(w.subarray(14));
    } else for (let i = 0; i < w.length; i += size) p.push(w.subarray(i, i + size));
    assert.is(ev.length, 1);
    assert.ok(ev[0][1] === "hex:" + data.toString("hex"), `chunk size ${size}`);
  }
});

// ---------------------------------------------------------------- strictness

test("server rejects unmasked frames, client rejects masked frames (1002)", () => {
  const s = parser();
  s.p.push(mk(OP_TEXT, "hi", { key: null }));
  expecterror(s.ev, 1002, /unmasked/);
  const c = parser({ role: "client" });
  c.p.push(mk(OP_TEXT, "hi"));
  expecterror(c.ev, 1002, /masked/);
});

test("RSV bits without an extension (1002)", () => {
  for (const rsv of [0x40, 0x20, 0x10, 0x70]) {
    const { p, ev } = parser();
    p.push(mk(OP_TEXT, "x", { rsv }));
    assert.is(ev.length, 1);
    expecterror(ev, 1002, /RSV/);
  }
});

test("unknown opcodes (1002)", () => {
  for (const op of [3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    const { p, ev } = parser();
    p.push(mk(op, "x"));
    expecterror(ev, 1002, /opcode/);
  }
});

test("control frames: FIN=0 or payload over 125 (1002)", () => {
  for (const op of [OP_PING, OP_PONG, OP_CLOSE]) {
    const a = parser();
    a.p.push(mk(op, "", { fin: false }));
    expecterror(a.ev, 1002, /fragmented control/);
    const b = parser();
    b.p.push(mk(op, fill(126, 0x41)));
    expecterror(b.ev, 1002, /125/);
    const c = parser();
    c.p.push(mk(op, "abc", { len: 16 })); // extended length forms are refused for control frames
    expecterror(c.ev, 1002, /125/);
  }
});

test("continuation without a message, data frame inside a fragmented message (1002)", () => {
  const a = parser();
  a.p.push(mk(OP_CONTINUATION, "x"));
  expecterror(a.ev, 1002, /continuation/);
  for (const op of [OP_TEXT, OP_BINARY]) {
    const b = parser();
    b.p.push(Buffer.concat([mk(OP_BINARY, "ab", { fin: false }), mk(op, "cd")]));
    assert.is(b.ev.length, 1);
    expecterror(b.ev, 1002, /in progress/);
  }
  const c = parser(); // after a completed fragmented message a new one may start
  c.p.push(Buffer.concat([mk(OP_TEXT, "a", { fin: false }), mk(OP_CONTINUATION, "b"), mk(OP_TEXT, "c")]));
  assert.equal(c.ev, [
    ["text", "ab"],
    ["text", "c"],
  ]);
});

test("64-bit length with the most significant bit set (1002); non-minimal lengths accepted", () => {
  const { p, ev } = parser();
  p.push(hex("82 ff 80 00 00 00 00 00 00 05 01 02 03 04"));
  expecterror(ev, 1002, /most significant/);
  const ok = parser();
  ok.p.push(Buffer.concat([mk(OP_TEXT, "Hello", { len: 16 }), mk(OP_TEXT, "Hello", { len: 64 })]));
  assert.equal(ok.ev, [
    ["text", "Hello"],
    ["text", "Hello"],
  ]);
});

test("close frames: 1-byte payload, close codes, reason UTF-8", () => {
  const one = parser();
  one.p.push(mk(OP_CLOSE, Buffer.from([3])));
  expecterror(one.ev, 1002, /1-byte/);
  const bad = [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535];
  for (const code of bad) {
    assert.is(validclosecode(code), false, `code ${code}`);
    const { p, ev } = parser();
    p.push(mk(OP_CLOSE, Buffer.from([code >> 8, code & 255])));
    expecterror(ev, 1002, new RegExp(`close code ${code}`));
    assert.is(decodeclose(Buffer.from([code >> 8, code & 255])).code, 1002);
  }
  const good = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4000, 4999];
  for (const code of good) {
    assert.is(validclosecode(code), true, `code ${code}`);
    const { p, ev } = parser();
    const payload = Buffer.from([code >> 8, code & 255, 0x6f, 0x6b]);
    p.push(mk(OP_CLOSE, payload));
    assert.equal(ev, [["close", "hex:" + payload.toString("hex")]]);
    assert.equal(decodeclose(payload), { ok: true, code, reason: "ok" });
  }
  const empty = parser();
  empty.p.push(mk(OP_CLOSE, ""));
  assert.equal(empty.ev, [["close", "hex:"]]);
  assert.equal(decodeclose(Buffer.alloc(0)), { ok: true, code: 1005, reason: "" });
  const utf = parser();
  utf.p.push(mk(OP_CLOSE, Buffer.from([0x03, 0xe8, 0x61, 0xff])));
  expecterror(utf.ev, 1007, /close reason/);
  assert.equal(decodeclose(Buffer.from([0x03, 0xe8, 0xed, 0xa0, 0x80])), {
    ok: false,
    code: 1007,
    reason: "invalid UTF-8 in close reason",
  });
});

test("encodeclose: valid codes, limits", () => {
  assert.equal(encodeclose(), Buffer.alloc(0));
  assert.equal(encodeclose(1000), Buffer.from([0x03, 0xe8]));
  assert.equal(encodeclose(4000, "x".repeat(123)).length, 125);
  assert.throws(() => encodeclose(4000, "x".repeat(124)), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeclose(1005), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeclose(1006), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeclose(undefined, "why"), (e: unknown) => e instanceof RangeError);
});

test("invalid UTF-8 in text messages (1007), short and long, masked and not", () => {
  const bad = [
    [0xff],
    [0xc0, 0x80], // overlong
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xf5, 0x80, 0x80, 0x80],
    [0x80],
    [0xe2, 0x82], // truncated
    [0xf0, 0x9f, 0x98], // truncated
  ];
  for (const seq of bad) {
    for (const pad of [0, 1, 200]) {
      for (const role of ["server", "client"] as const) {
        const payload = Buffer.concat([fill(pad, 0x61), Buffer.from(seq)]);
        const { p, ev } = parser({ role });
        p.push(mk(OP_TEXT, payload, { key: role === "server" ? RFC_KEY : null }));
        expecterror(ev, 1007, /UTF-8/);
        assert.is(isvalidutf8(payload), false);
      }
    }
  }
  const good = ["", "a", "€", "𝄞", "\u{10ffff}", "\ud7ff", "\ue000", "ß".repeat(100)];
  for (const s of good) {
    assert.is(isvalidutf8(Buffer.from(s)), true, JSON.stringify(s));
    const { p, ev } = parser();
    p.push(mk(OP_TEXT, s));
    assert.equal(ev, [["text", s]]);
  }
});

test("text split mid-character across fragments: valid accepted, invalid 1007 early", () => {
  const bytes = Buffer.from("a€𝄞b");
  for (let i = 0; i <= bytes.length; i++) {
    for (let j = i; j <= bytes.length; j++) {
      const { p, ev } = parser();
      p.push(
        Buffer.concat([
          mk(OP_TEXT, bytes.subarray(0, i), { fin: false }),
          mk(OP_CONTINUATION, bytes.subarray(i, j), { fin: false }),
          mk(OP_CONTINUATION, bytes.subarray(j), { fin: true }),
        ]),
      );
      assert.equal(ev, [["text", "a€𝄞b"]], `splits ${i},${j}`);
    }
  }
  // Surrogate split across fragments: fails on the second fragment, before FIN.
  const s = parser();
  s.p.push(mk(OP_TEXT, Buffer.from([0x61, 0xed]), { fin: false }));
  assert.equal(s.ev, []);
  s.p.push(mk(OP_CONTINUATION, Buffer.from([0xa0]), { fin: false }));
  expecterror(s.ev, 1007, /UTF-8/);
  // An impossible byte fails on the very fragment that carries it.
  const f = parser();
  f.p.push(mk(OP_TEXT, Buffer.from([0x61, 0xc0]), { fin: false }));
  expecterror(f.ev, 1007, /UTF-8/);
  // Above U+10FFFF across fragments, long first fragment (native path).
  const g = parser();
  g.p.push(mk(OP_TEXT, Buffer.concat([fill(300, 0x61), Buffer.from([0xf4])]), { fin: false }));
  assert.equal(g.ev, []);
  g.p.push(mk(OP_CONTINUATION, Buffer.from([0x90]), { fin: false }));
  expecterror(g.ev, 1007, /UTF-8/);
  // Message ending inside a character.
  const h = parser();
  h.p.push(Buffer.concat([mk(OP_TEXT, "a", { fin: false }), mk(OP_CONTINUATION, Buffer.from([0xe2, 0x82]))]));
  expecterror(h.ev, 1007, /ends inside/);
});

test("control frames between fragments are delivered immediately", () => {
  const { p, ev } = parser();
  p.push(mk(OP_TEXT, "Hel", { fin: false }));
  p.push(mk(OP_PING, "x"));
  assert.equal(ev, [["ping", "hex:78"]]);
  p.push(Buffer.concat([mk(OP_PONG, "y"), mk(OP_CONTINUATION, "lo")]));
  assert.equal(ev, [
    ["ping", "hex:78"],
    ["pong", "hex:79"],
    ["text", "Hello"],
  ]);
});

test("maxpayload: a single frame is refused from its header (1009)", () => {
  for (const n of [101, 126, 70000, 2 ** 40]) {
    const { p, ev } = parser({ maxpayload: 100 });
    // Only the header (2 + extended length + 4 mask bytes): no payload fed.
    const hl = 2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + 4;
    const h = Buffer.alloc(hl);
    h[0] = 0x82;
    if (n < 126) h[1] = 0x80 | n;
    else if (n < 65536) {
      h[1] = 0x80 | 126;
      h.writeUInt16BE(n, 2);
    } else {
      h[1] = 0x80 | 127;
      h.writeBigUInt64BE(BigInt(n), 2);
    }
    p.push(h);
    expecterror(ev, 1009, /maxpayload/);
    p.push(mk(OP_TEXT, "after")); // ignored once failed
    assert.is(ev.length, 1);
  }
  const ok = parser({ maxpayload: 100 });
  ok.p.push(mk(OP_BINARY, fill(100, 1)));
  assert.is(ok.ev[0][0], "binary");
  // No limit configured: lengths no Buffer or string can hold still fail cleanly.
  for (const op of [OP_TEXT, OP_BINARY]) {
    const inf = parser({ maxpayload: Infinity });
    const h = Buffer.alloc(14);
    h[0] = 0x80 | op;
    h[1] = 0x80 | 127;
    h.writeBigUInt64BE(2n ** 62n, 2);
    inf.p.push(h);
    expecterror(inf.ev, 1009, /maxpayload/);
  }
});

test("maxpayload: a reassembled message is refused at the fragment that exceeds it (1009)", () => {
  const { p, ev } = parser({ maxpayload: 100 });
  p.push(mk(OP_BINARY, fill(60, 1), { fin: false }));
  assert.equal(ev, []);
  const next = mk(OP_CONTINUATION, fill(41, 2));
  p.push(next.subarray(0, 6)); // header only
  expecterror(ev, 1009, /maxpayload/);
  const ok = parser({ maxpayload: 100 });
  ok.p.push(Buffer.concat([mk(OP_TEXT, "a".repeat(60), { fin: false }), mk(OP_CONTINUATION, "b".repeat(40))]));
  assert.equal(ok.ev, [["text", "a".repeat(60) + "b".repeat(40)]]);
});

test("fragment flood is bounded by maxfragments (1009)", () => {
  const ok = parser({ maxfragments: 10 });
  const frames = [mk(OP_BINARY, "a", { fin: false })];
  for (let i = 0; i < 8; i++) frames.push(mk(OP_CONTINUATION, "", { fin: false }));
  frames.push(mk(OP_CONTINUATION, "b"));
  ok.p.push(Buffer.concat(frames));
  assert.equal(ok.ev, [["binary", "hex:6162"]]);

  const { p, ev } = parser({ maxfragments: 1000 });
  p.push(mk(OP_TEXT, "", { fin: false }));
  const empty = mk(OP_CONTINUATION, "", { fin: false });
  let fed = 1;
  while (ev.length === 0 && fed < 5000) {
    p.push(Buffer.from(empty));
    fed++;
  }
  assert.is(fed, 1001, "the 1001st frame fails");
  expecterror(ev, 1009, /fragments/);
});

test("after an error the parser ignores further input", () => {
  const { p, ev } = parser();
  p.push(Buffer.concat([mk(OP_TEXT, "ok"), mk(OP_TEXT, "x", { rsv: 0x40 }), mk(OP_TEXT, "never")]));
  assert.is(ev.length, 2);
  assert.equal(ev[0], ["text", "ok"]);
  expecterror(ev, 1002);
  p.push(mk(OP_TEXT, "never"));
  assert.is(ev.length, 2);
  assert.is(p.stopped, true);
});

test("stop() from inside message drops the rest of the chunk", () => {
  const ev: string[] = [];
  const p: FrameParser = new FrameParser(
    { role: "server", maxpayload: 1000, maxfragments: 10 },
    {
      message(type) {
        ev.push(type);
        if (type === "close") p.stop();
      },
      error() {
        ev.push("error");
      },
    },
  );
  p.push(Buffer.concat([mk(OP_CLOSE, ""), mk(OP_TEXT, "late")]));
  assert.equal(ev, ["close"]);
});

test("slicetext: runs keep order with other events, errors and stop()", () => {
  const frames: Buffer[] = [];
  const want: Ev[] = [];
  for (let i = 0; i < 150; i++) {
    const t = i % 10 === 9 ? `ü${i}` : `message number ${i}`; // some non-ASCII in between
    frames.push(mk(OP_TEXT, t, { key: [i & 255, 1, 2, 3] }));
    want.push(["text", t]);
    if (i % 37 === 0) {
      frames.push(mk(OP_PING, "p"));
      want.push(["ping", "hex:70"]);
    }
  }
  frames.push(mk(OP_TEXT, "x".repeat(126))); // over 125: decoded alone
  want.push(["text", "x".repeat(126)]);
  frames.push(mk(OP_TEXT, "tail"));
  want.push(["text", "tail"]);
  const wire = Buffer.concat(frames);
  for (const slicetext of [false, true]) {
    const { p, ev } = parserof({ slicetext });
    p.push(Buffer.from(wire));
    assert.equal(ev, want, `slicetext ${slicetext}`);
    const bad = parserof({ slicetext });
    bad.p.push(Buffer.concat([mk(OP_TEXT, "one"), mk(OP_TEXT, "two"), mk(OP_TEXT, "x", { rsv: 0x20 })]));
    assert.equal(bad.ev.slice(0, 2), [
      ["text", "one"],
      ["text", "two"],
    ]);
    expecterror(bad.ev, 1002, /RSV/);
  }
  const got: string[] = [];
  const p: FrameParser = new FrameParser(
    { role: "server", maxpayload: 1000, maxfragments: 10, slicetext: true },
    {
      message(_type, data) {
        got.push(String(data));
        if (data === "stop") p.stop();
      },
      error() {
        got.push("error");
      },
    },
  );
  p.push(Buffer.concat([mk(OP_TEXT, "a"), mk(OP_TEXT, "stop"), mk(OP_TEXT, "c"), mk(OP_BINARY, "d")]));
  assert.equal(got, ["a", "stop"]);
});

// ---------------------------------------------------------------- mask, utf8

test("unmask / unmaskascii match a byte-wise reference at every alignment", () => {
  const src = Buffer.alloc(1100);
  for (let i = 0; i < src.length; i++) src[i] = (i * 13 + 5) & 0x7f;
  const key = keyat(Buffer.from([0x12, 0x34, 0x56, 0x78]), 0);
  for (const start of [0, 1, 2, 3, 5]) {
    for (const n of [0, 1, 2, 3, 4, 5, 127, 128, 129, 130, 131, 1000, 1091]) {
      const a = Buffer.from(src);
      const b = Buffer.from(src);
      unmask(a, start, start + n, key);
      const ascii = unmaskascii(b, start, start + n, key);
      const ref = Buffer.from(src);
      for (let i = 0; i < n; i++) ref[start + i] ^= [0x12, 0x34, 0x56, 0x78][i & 3];
      assert.ok(a.equals(ref), `unmask start=${start} n=${n}`);
      assert.ok(b.equals(ref), `unmaskascii start=${start} n=${n}`);
      let want = true;
      for (let i = 0; i < n; i++) if (ref[start + i] >= 0x80) want = false;
      assert.is(ascii, want, `ascii flag start=${start} n=${n}`);
      unmask(a, start, start + n, key);
      assert.ok(a.equals(src), "unmask twice restores");
    }
  }
  // A view at an odd byteOffset takes the word path through the rotation.
  const base = Buffer.alloc(1000, 0x20);
  const v = base.subarray(3, 900);
  unmask(v, 1, 800, key);
  for (let i = 1; i < 800; i++) assert.is(v[i], 0x20 ^ [0x12, 0x34, 0x56, 0x78][(i - 1) & 3]);
  const keys = new Set<number>();
  for (let i = 0; i < 3000; i++) keys.add(maskkey());
  assert.ok(keys.size > 2990, "mask keys vary");
});

test("utf8scan and Utf8Validator at every split point", () => {
  assert.is(utf8scan(Buffer.from("abc€"), 0, 6), 0);
  assert.is(utf8scan(Buffer.from([0x61, 0xe2, 0x82]), 0, 3), 2);
  assert.is(utf8scan(Buffer.from([0xf0, 0x9f]), 0, 2), 2);
  assert.is(utf8scan(Buffer.from([0xed, 0xa0]), 0, 2), -1, "surrogate prefix fails early");
  assert.is(utf8scan(Buffer.from([0xf4, 0x90]), 0, 2), -1);
  assert.is(utf8scan(Buffer.from([0xe0, 0x9f]), 0, 2), -1);
  const text = Buffer.from("x".repeat(70) + "ab€𝄞漢字é" + "y".repeat(70) + "🎉");
  const v = new Utf8Validator();
  for (let i = 0; i <= text.length; i++) {
    for (const j of [i, i + 1, i + 2, i + 3, i + 80]) {
      if (j > text.length) continue;
      v.reset();
      const ok = v.push(text, 0, i) && v.push(text, i, j) && v.push(text, j, text.length) && v.finish();
      assert.ok(ok, `split ${i},${j}`);
    }
  }
  const bad = Buffer.concat([text, Buffer.from([0xed, 0xbf, 0xbf])]);
  for (let i = 0; i <= bad.length; i++) {
    v.reset();
    const ok = v.push(bad, 0, i) && v.push(bad, i, bad.length) && v.finish();
    assert.is(ok, false, `bad split ${i}`);
  }
});

// ---------------------------------------------------------------- handshake

test("handshake helpers", () => {
  // RFC 6455 sections 1.3 and 4.2.2 (checked with `openssl sha1 -binary | base64`).
  assert.is(acceptkey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const k = genkey();
  assert.is(k.length, 24);
  assert.ok(validkey(k));
  assert.is.not(genkey(), k);
  assert.ok(validkey("dGhlIHNhbXBsZSBub25jZQ=="));
  for (const bad of [undefined, "", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ==x", "dGhlIHNhbXBsZSBub25jZSE=", "dGhlIHNhbXBsZSBub2*jZQ=="]) {
    assert.is(validkey(bad), false, String(bad));
  }
  assert.is(hastoken("keep-alive, Upgrade", "upgrade"), true);
  assert.is(hastoken("Upgrade", "upgrade"), true);
  assert.is(hastoken(" \tUPGRADE\t ,close", "Upgrade"), true);
  assert.is(hastoken("keep-alive", "upgrade"), false);
  assert.is(hastoken("upgraded, x-upgrade", "upgrade"), false);
  assert.is(hastoken(undefined, "upgrade"), false);
  assert.is(hastoken("", "upgrade"), false);
  assert.is(hastoken("a,,upgrade,", "upgrade"), true);
  assert.is(hastoken(",UpGrAdE", "upgrade"), true);
  assert.is(hastoken("up grade", "upgrade"), false);
  assert.is(hastoken("upgrade-x,upgrad", "upgrade"), false);
  assert.is(hastoken(" , \t,", "upgrade"), false);
});

test.run();
