// The sans-I/O WebSocket protocol object, without sockets: a recording host
// and a clock the test moves by hand. The table lists, for both roles, every
// state and every input: the events the protocol emits and the state it ends in.
import { test } from "uvu";
import * as assert from "uvu/assert";
import zlib from "node:zlib";
import { Budget, Protocol, acceptdeflate, compressionconfig } from "../packages/silly-net-websocket/src/codec/index.js";
import type { MessageDeflate, MessageType, ProtocolHost, ProtocolOptions, ProtocolState } from "../packages/silly-net-websocket/src/codec/index.js";
import { PerMessageDeflate } from "../packages/silly-net-websocket/src/deflate.js";
import { noise } from "./lib/noise.js";

type Role = "server" | "client";

const KEY = [0x11, 0x22, 0x33, 0x44];

/** A frame as the peer of `role` sends it: masked when it goes to a server. */
function frame(role: Role, op: number, payload: Buffer | string = Buffer.alloc(0), b0extra = 0): Buffer {
  const p = Buffer.from(payload);
  const mask = role === "server";
  const head = [0x80 | b0extra | op];
  if (p.length < 126) head.push((mask ? 0x80 : 0) | p.length);
  else if (p.length < 65536) head.push((mask ? 0x80 : 0) | 126, p.length >> 8, p.length & 255);
  else head.push((mask ? 0x80 : 0) | 127, 0, 0, 0, 0, p.length >>> 24, (p.length >> 16) & 255, (p.length >> 8) & 255, p.length & 255);
  const body = Buffer.from(p);
  if (mask) for (let i = 0; i < body.length; i++) body[i]! ^= KEY[i & 3]!;
  return Buffer.concat([Buffer.from(head), Buffer.from(mask ? KEY : []), body]);
}

const closeframe = (role: Role, code?: number, reason = ""): Buffer =>
  frame(role, 8, code === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([code >> 8, code & 255]), Buffer.from(reason)]));

/** Our frames, described: "text hi", "pong p", "close 1002", "close (empty)". Checks the mask bit by role. */
function describe(role: Role, frames: Buffer[]): string {
  const b = Buffer.concat(frames);
  const out: string[] = [];
  let at = 0;
  while (at < b.length) {
    const op = b[at]! & 15;
    const masked = (b[at + 1]! & 0x80) !== 0;
    assert.is(masked, role === "client", "clients mask, servers do not");
    let len = b[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      len = b.readUInt16BE(p);
      p += 2;
    }
    const key = masked ? b.subarray(p, p + 4) : undefined;
    if (masked) p += 4;
    const payload = Buffer.from(b.subarray(p, p + len));
    if (key !== undefined) for (let i = 0; i < len; i++) payload[i]! ^= key[i & 3]!;
    const name = ["cont", "text", "binary", "", "", "", "", "", "close", "ping", "pong"][op];
    if (op === 8) out.push(len === 0 ? "close (empty)" : `close ${payload.readUInt16BE(0)}`);
    else out.push(`${name} ${payload.toString()}`);
    at = p + len;
  }
  return out.join(", ");
}

class Host implements ProtocolHost {
  ev: string[] = [];
  /** Every transmitted buffer, as sent. */
  sent: Buffer[] = [];
  t = 1000;
  timer = -1;
  /** The application is still busy with messages: a failure waits. */
  busy = false;
  constructor(private readonly role: Role) {}
  onmessage(type: MessageType, data: string | Buffer): void {
    this.ev.push(`message ${type} ${data.toString()}`);
  }
  onend(err: string): void {
    this.ev.push(`end ${err}`);
  }
  caughtup(): boolean {
    return !this.busy;
  }
  transmit(frames: Buffer[]): void {
    this.ev.push(`transmit ${describe(this.role, frames)}`);
    this.sent.push(...frames);
  }
  linger(ms: number, bytes: number): void {
    this.ev.push(`linger ${ms} ${bytes}`);
  }
  pause(): void {
    this.ev.push("pause");
  }
  closetransport(abort: boolean): void {
    this.ev.push(abort ? "abort" : "close");
  }
  settimer(at: number): void {
    this.timer = at;
    this.ev.push(at < 0 ? "timer off" : `timer +${at - this.t}`);
  }
  now(): number {
    return this.t;
  }
  /** Move the clock to `t` and tell the protocol. */
  tick(p: Protocol, t: number): void {
    this.t = t;
    p.tick(t);
  }
}

function make(role: Role, opts: Partial<ProtocolOptions> = {}, deflate?: MessageDeflate): [Protocol, Host] {
  const host = new Host(role);
  const p = new Protocol(
    {
      role,
      maxpayload: 1 << 20,
      maxfragments: 16,
      closetimeout: 5000,
      autopong: false,
      pinginterval: 0,
      pongtimeout: 500,
      stalltimeout: 0,
      budget: new Budget(1 << 30),
      ...opts,
    },
    host,
    deflate,
  );
  return [p, host];
}

// ---------------------------------------------------------------- the table

// The table runs with keepalive on (checks every 1000 ms: a ping after one
// silent check, a failure after another), so "open" has two conditions:
// quiet, and a ping out. (Stalls and the budget have tests of their own below.)
const TABLEOPTS: Partial<ProtocolOptions> = { pinginterval: 1000, pongtimeout: 1000, stalltimeout: 3000 };

type Setup = (p: Protocol, h: Host, role: Role) => void;
type Input = (p: Protocol, h: Host, role: Role) => unknown;

const SETUPS: Record<string, [ProtocolState, Setup]> = {
  open: ["open", () => {}],
  "open, ping out": ["open", (p, h) => h.tick(p, h.timer)],
  failing: [
    "failing",
    (p, h, r) => {
      h.busy = true;
      p.data(frame(r, 1, "hi", 0x40));
      h.busy = false;
    },
  ],
  closing: ["closing", (p) => p.closewith(1000, "bye")],
  draining: ["draining", (p, _h, r) => p.data(closeframe(r, 1000))],
  closed: ["closed", (p) => p.end("End of file")],
};

const INPUTS: Record<string, Input> = {
  "text frame": (p, _h, r) => p.data(frame(r, 1, "hi")),
  "ping frame": (p, _h, r) => p.data(frame(r, 9, "p")),
  "pong frame": (p, _h, r) => p.data(frame(r, 10, "p")),
  "keepalive pong": (p, _h, r) => p.data(frame(r, 10, "keepalive")),
  "close frame 4000": (p, _h, r) => p.data(closeframe(r, 4000, "x")),
  "empty close frame": (p, _h, r) => p.data(closeframe(r)),
  "bad frame (RSV1)": (p, _h, r) => p.data(frame(r, 1, "hi", 0x40)),
  "EOF": (p) => p.end("End of file"),
  "send text": (p) => p.send("text", "out"),
  "send close frame": (p) => p.send("close", Buffer.from([0x03, 0xe8])),
  "closewith 4000": (p) => p.closewith(4000, "done"),
  "fail()": (p) => p.fail(),
  "tick before the deadline": (p, h) => h.tick(p, h.timer < 0 ? h.t + 1e6 : h.timer - 1),
  "tick at the deadline": (p, h) => h.tick(p, h.timer < 0 ? h.t + 1e6 : h.timer),
};

interface Row {
  from: keyof typeof SETUPS;
  input: keyof typeof INPUTS;
  events: string[];
  to: ProtocolState;
  /** What the input returned, when it matters (send). */
  returns?: string;
}

const CLOSED = "websocket: socket is closed";
const RSV = "websocket: 1002 RSV1/RSV2/RSV3 set but no extension was negotiated";
// Where the close frames have crossed (or ours answered a failure) a client
// drains, waiting for the server's EOF; a server closes, lingering. DRAIN
// marks that step with a deadline armed before it, DRAIN! without one.
const DRAIN = "DRAIN";
const DRAINED = "DRAIN!";
const LINGER = "linger 5000 2097152"; // closetimeout, maxpayload + 1 MiB

/** A row's events and end state as `role` sees them. */
function expand(row: Row, role: Role): [string[], ProtocolState] {
  const ev = row.events.flatMap((e) => {
    if (e !== DRAIN && e !== DRAINED) return [e];
    if (role === "client") return ["timer +5000"];
    return e === DRAIN ? ["timer off", LINGER] : [LINGER];
  });
  return [ev, role === "server" && row.to === "draining" ? "closed" : row.to];
}

const PEERCLOSE = ["message close x", "end websocket: closed by peer (4000 x)", DRAIN];
const PEERCLOSE0 = ["message close ", "end websocket: closed by peer (1005)", DRAIN];

/** The rows of the two open conditions: they differ in their ticks only. */
function openrows(from: "open" | "open, ping out"): Row[] {
  return [
    { from, input: "text frame", events: ["message text hi"], to: "open" },
    { from, input: "ping frame", events: ["message ping p"], to: "open" },
    { from, input: "pong frame", events: ["message pong p"], to: "open" },
    { from, input: "keepalive pong", events: [], to: "open" },
    { from, input: "close frame 4000", events: ["transmit close 4000", ...PEERCLOSE], to: "draining" },
    { from, input: "empty close frame", events: ["transmit close (empty)", ...PEERCLOSE0], to: "draining" },
    // the application has taken every earlier message: the failure goes ahead at once
    { from, input: "bad frame (RSV1)", events: [`end ${RSV}`, "transmit close 1002", DRAIN], to: "draining" },
    { from, input: "EOF", events: ["end websocket: connection ended without a close frame (End of file)", "timer off", "close"], to: "closed" },
    { from, input: "send text", events: [], to: "open", returns: "text out" },
    { from, input: "send close frame", events: ["timer +5000"], to: "closing", returns: "close 1000" },
    { from, input: "closewith 4000", events: ["transmit close 4000", "timer +5000", "end websocket: socket closed"], to: "closing" },
    { from, input: "fail()", events: [], to: "open" },
    { from, input: "tick before the deadline", events: [], to: "open" },
    from === "open"
      ? { from, input: "tick at the deadline", events: ["transmit ping keepalive", "timer +1000"], to: "open" }
      : {
          from,
          input: "tick at the deadline",
          events: ["end websocket: 1011 keepalive: no answer to a ping within 1000 ms", "transmit close 1011", DRAINED],
          to: "draining",
        },
  ];
}

const TABLE: Row[] = [
  ...openrows("open"),
  ...openrows("open, ping out"),
  // failing: nothing more is read; the failure waits for the application (or the deadline)
  ...["text frame", "ping frame", "pong frame", "keepalive pong", "close frame 4000", "empty close frame", "bad frame (RSV1)"].map(
    (input): Row => ({ from: "failing", input, events: [], to: "failing" }),
  ),
  { from: "failing", input: "EOF", events: ["end websocket: socket closed", "timer off", "close"], to: "closed" },
  { from: "failing", input: "send text", events: [], to: "failing", returns: "text out" },
  { from: "failing", input: "send close frame", events: [DRAIN], to: "draining", returns: "close 1000" },
  { from: "failing", input: "closewith 4000", events: ["transmit close 1002", DRAIN], to: "draining" },
  { from: "failing", input: "fail()", events: ["transmit close 1002", DRAIN], to: "draining" },
  { from: "failing", input: "tick before the deadline", events: [], to: "failing" },
  { from: "failing", input: "tick at the deadline", events: ["transmit close 1002", DRAINED], to: "draining" },
  // closing: our close frame is out, the peer's is awaited; other frames are dropped
  ...["text frame", "ping frame", "pong frame", "keepalive pong"].map((input): Row => ({ from: "closing", input, events: [], to: "closing" })),
  { from: "closing", input: "close frame 4000", events: PEERCLOSE, to: "draining" },
  { from: "closing", input: "empty close frame", events: PEERCLOSE0, to: "draining" },
  { from: "closing", input: "bad frame (RSV1)", events: [`end ${RSV}`, DRAIN], to: "draining" },
  { from: "closing", input: "EOF", events: ["end websocket: socket closed", "timer off", "close"], to: "closed" },
  { from: "closing", input: "send text", events: [], to: "closing", returns: CLOSED },
  { from: "closing", input: "send close frame", events: [], to: "closing", returns: CLOSED },
  { from: "closing", input: "closewith 4000", events: [], to: "closing" },
  { from: "closing", input: "fail()", events: [], to: "closing" },
  { from: "closing", input: "tick before the deadline", events: [], to: "closing" },
  { from: "closing", input: "tick at the deadline", events: ["abort"], to: "closed" },
  // draining (clients only): frames are discarded until the server's EOF
  ...["text frame", "ping frame", "pong frame", "keepalive pong", "close frame 4000", "empty close frame", "bad frame (RSV1)"].map(
    (input): Row => ({ from: "draining", input, events: [], to: "draining" }),
  ),
  { from: "draining", input: "EOF", events: ["end websocket: socket closed", "timer off", "close"], to: "closed" },
  { from: "draining", input: "send text", events: [], to: "draining", returns: CLOSED },
  { from: "draining", input: "send close frame", events: [], to: "draining", returns: CLOSED },
  { from: "draining", input: "closewith 4000", events: [], to: "draining" },
  { from: "draining", input: "fail()", events: [], to: "draining" },
  { from: "draining", input: "tick before the deadline", events: [], to: "draining" },
  { from: "draining", input: "tick at the deadline", events: ["abort"], to: "closed" },
  // closed: nothing happens
  ...Object.keys(INPUTS).map((input): Row => ({
    from: "closed",
    input,
    events: [],
    to: "closed",
    returns: input.startsWith("send") ? CLOSED : undefined,
  })),
];

test("the table names every state with every input", () => {
  for (const from of Object.keys(SETUPS)) {
    for (const input of Object.keys(INPUTS)) {
      assert.is(TABLE.filter((r) => r.from === from && r.input === input).length, 1, `${from} x ${input}`);
    }
  }
});

for (const role of ["server", "client"] as const) {
  test(`transition table, ${role}`, () => {
    for (const row of TABLE) {
      if (row.from === "draining" && role === "server") continue; // a server lingers instead
      const [p, h] = make(role, TABLEOPTS);
      h.timer = p.deadline;
      const [state, setup] = SETUPS[row.from]!;
      setup(p, h, role);
      assert.is(p.state, state, `setup of ${row.from}`);
      h.ev = [];
      const r = INPUTS[row.input]!(p, h, role);
      const what = `${role}: ${row.from} x ${row.input}`;
      const [events, to] = expand(row, role);
      assert.equal(h.ev, events, what);
      assert.is(p.state, to, what);
      if (row.returns !== undefined) {
        assert.is(typeof r === "string" ? r : describe(role, r as Buffer[]), row.returns, `${what}: returns`);
      }
    }
  });
}

// ---------------------------------------------------------------- beyond the table

test("autopong: a ping is answered by the protocol and not handed on", () => {
  for (const role of ["server", "client"] as const) {
    const [p, h] = make(role, { autopong: true });
    p.data(frame(role, 9, "are you there"));
    assert.equal(h.ev, ["transmit pong are you there"], role);
  }
});

test("a bad frame while the application is busy: failing until it catches up, then the close frame", () => {
  for (const role of ["server", "client"] as const) {
    const [p, h] = make(role);
    h.busy = true;
    p.data(Buffer.concat([frame(role, 1, "first"), frame(role, 1, "x", 0x40), frame(role, 1, "after")]));
    assert.equal(h.ev, ["message text first", `end ${RSV}`, "timer +5000"], role);
    assert.is(p.state, "failing");
    // the application answers the first message, then reads again and meets the failure
    assert.is(describe(role, p.send("text", "echo: first") as Buffer[]), "text echo: first");
    h.ev = [];
    p.fail();
    assert.equal(h.ev, ["transmit close 1002", ...(role === "server" ? ["timer off", LINGER] : ["timer +5000"])], role);
  }
});

test("keepalive: any bytes postpone the ping; an answer of any kind clears it; with keepalive off nothing is timed", () => {
  for (const role of ["server", "client"] as const) {
    const [p, h] = make(role, { pinginterval: 1000, pongtimeout: 1000 });
    assert.equal(h.ev, [], "nothing is called during construction");
    assert.is(p.deadline, h.t + 1000, `${role}: the first check is due in pinginterval`);
    h.timer = p.deadline;
    p.data(frame(role, 2, "busy"));
    h.tick(p, h.timer);
    assert.equal(h.ev, ["message binary busy", "timer +1000"], `${role}: bytes arrived: no ping`);
    h.ev = [];
    h.tick(p, h.timer);
    assert.equal(h.ev, ["transmit ping keepalive", "timer +1000"], `${role}: silent: a ping`);
    h.ev = [];
    p.data(frame(role, 1, "late but alive")); // not a pong: still proof of life
    h.tick(p, h.timer);
    assert.equal(h.ev, ["message text late but alive", "timer +1000"], role);
    assert.is(p.state, "open");
    // keepalive off: no timer, and a pong with the keepalive payload is the application's
    const [q, g] = make(role);
    assert.is(q.deadline, -1);
    q.data(frame(role, 10, "keepalive"));
    assert.equal(g.ev, ["message pong keepalive"], role);
  }
});

/** A frame of `op` with `payload`, split: its first `cut` bytes, and the rest. */
function split(role: Role, op: number, payload: Buffer, cut: number, fin = true): [Buffer, Buffer] {
  const f = frame(role, op, payload);
  if (!fin) f[0]! &= 0x7f;
  return [f.subarray(0, cut), f.subarray(cut)];
}

test("stalls: an unfinished frame that makes no progress for stalltimeout fails with 1008; progress resets the count", () => {
  for (const role of ["server", "client"] as const) {
    const budget = new Budget(1 << 30);
    const [p, h] = make(role, { stalltimeout: 1000, budget }); // keepalive off: checks only while unfinished
    const [head, rest] = split(role, 2, Buffer.alloc(1000, 7), 300);
    p.data(head);
    assert.equal(h.ev, ["timer +1000"], `${role}: the unfinished frame is checked`);
    assert.ok(budget.used > 0, "what it holds is counted");
    h.ev = [];
    h.tick(p, h.timer); // it moved since it began: no failure
    assert.equal(h.ev, ["timer +1000"], role);
    h.ev = [];
    p.data(rest.subarray(0, 100)); // progress
    h.tick(p, h.timer);
    assert.equal(h.ev, ["timer +1000"], `${role}: progress`);
    h.ev = [];
    h.tick(p, h.timer); // none for a whole period
    assert.equal(h.ev, ["end websocket: 1008 a message made no progress for 1000 ms", "transmit close 1008", role === "server" ? "linger 5000 2097152" : "timer +5000"], role);
    assert.is(budget.used, 0, "released");
    // a message that completes stops the checks
    const [q, g] = make(role, { stalltimeout: 1000 });
    const [a, b] = split(role, 1, Buffer.from("hello"), 3);
    q.data(a);
    q.data(b);
    g.ev = [];
    g.tick(q, g.timer);
    assert.equal(g.ev, [], `${role}: nothing unfinished, nothing timed`);
  }
});

test("stalls: pongs between the fragments of a stalled message are no progress; fragments are", () => {
  for (const role of ["server", "client"] as const) {
    const [p, h] = make(role, { stalltimeout: 2000, pinginterval: 1000, pongtimeout: 1000 });
    h.timer = p.deadline;
    const first = frame(role, 2, Buffer.alloc(10, 1));
    first[0]! &= 0x7f; // FIN = 0
    p.data(first);
    for (let i = 0; i < 2; i++) {
      h.tick(p, h.timer);
      p.data(frame(role, 10, "keepalive")); // answers keepalive, moves nothing
    }
    h.ev = [];
    h.tick(p, h.timer);
    assert.match(h.ev[0]!, /1008 a message made no progress for 2000 ms/, role);
    // fragments keep it going (a fresh first frame: the parser unmasked the other in place)
    const [q, g] = make(role, { stalltimeout: 1000 });
    const again = frame(role, 2, Buffer.alloc(10, 1));
    again[0]! &= 0x7f;
    q.data(again);
    for (let i = 0; i < 5; i++) {
      g.tick(q, g.timer);
      const mid = frame(role, 0, Buffer.alloc(10, 2));
      mid[0]! &= 0x7f;
      q.data(mid);
    }
    q.data(frame(role, 0, Buffer.alloc(10, 3)));
    assert.equal(g.ev.filter((e) => !e.startsWith("timer")), ["message binary " + Buffer.concat([Buffer.alloc(10, 1), ...Array(5).fill(Buffer.alloc(10, 2)), Buffer.alloc(10, 3)]).toString()], role);
    assert.is(q.state, "open");
  }
});

test("budget: a message over 64 KiB that grows past the shared budget fails with 1009; small ones pass; finished ones release", () => {
  for (const role of ["server", "client"] as const) {
    const budget = new Budget(200 * 1024);
    const [a, ha] = make(role, { budget });
    const [b, hb] = make(role, { budget });
    const [c, hc] = make(role, { budget });
    const big = Buffer.alloc(300 * 1024, 5);
    const [a1, a2] = split(role, 2, big, 150 * 1024);
    a.data(a1);
    assert.ok(budget.used > 140 * 1024 && budget.used < 150 * 1024, `${budget.used}`);
    const [b1, b2] = split(role, 2, Buffer.alloc(100 * 1024, 6), 40 * 1024);
    b.data(b1); // 40 KiB: under the floor, it passes though the total is over
    const [c1] = split(role, 2, big, 70 * 1024);
    c.data(c1.subarray(0, 60 * 1024));
    assert.equal(hc.ev, [], `${role}: 60 KiB, still under the floor`);
    c.data(c1.subarray(60 * 1024)); // 70 KiB > 64 KiB, and the total is over 200 KiB
    assert.match(hc.ev[0]!, /^end websocket: 1009 the messages being received exceed the memory budget \(204800 bytes\)$/, role);
    assert.is(c.state, role === "server" ? "closed" : "draining", "failed");
    assert.equal(hb.ev, [], "the small message is fine");
    b.data(b2);
    assert.equal(hb.ev.length, 1, "and completes");
    assert.ok(budget.used > 140 * 1024 && budget.used < 150 * 1024, `${role}: only a's ${budget.used}`);
    a.data(a2);
    assert.equal(ha.ev.map((e) => e.slice(0, 14)), ["message binary"], role);
    assert.is(budget.used, 0, `${role}: all released`);
  }
});

test("the peer's close code and reason are kept", () => {
  const [p] = make("server");
  assert.is(p.closecode, undefined);
  p.data(closeframe("server", 4001, "bye"));
  assert.is(p.closecode, 4001);
  assert.is(p.closereason, "bye");
  const [q] = make("client");
  q.data(closeframe("client"));
  assert.is(q.closecode, 1005);
  assert.is(q.closereason, "");
});

test("messages before a close frame in the same chunk are delivered; bytes after it are not", () => {
  const [p, h] = make("server");
  p.data(Buffer.concat([frame("server", 1, "a"), frame("server", 2, "b"), closeframe("server", 1000), frame("server", 1, "late")]));
  assert.equal(h.ev, ["message text a", "message binary b", "transmit close 1000", "message close ", "end websocket: closed by peer (1000)", LINGER]);
});

test("bytes on loan are parsed like owned ones", () => {
  const [p, h] = make("client");
  const f = frame("client", 2, "loaned");
  const buf = Buffer.alloc(64);
  f.copy(buf);
  p.borrow(buf, f.length);
  buf.fill(0); // the lender reuses its buffer
  assert.equal(h.ev, ["message binary loaned"]);
});

test("inplace: the server's small messages while open; never the client's", () => {
  const [s] = make("server");
  assert.is(s.inplace("text", "hi"), 4);
  assert.is(s.inplace("binary", Buffer.alloc(3000)), 3004);
  assert.is(s.inplace("ping", Buffer.alloc(125)), 127);
  assert.is(s.inplace("text", "x".repeat(41)), -1, "long strings take send()");
  assert.is(s.inplace("close", Buffer.alloc(2)), -1, "close frames change the state: send()");
  s.closewith(1000, "");
  assert.is(s.inplace("text", "hi"), -1, "not once closing");
  const [c] = make("client");
  assert.is(c.inplace("text", "hi"), -1);
});

test("send: a control payload over 125 bytes is an error string; nothing changes", () => {
  const [p, h] = make("server");
  assert.is(p.send("ping", Buffer.alloc(126)), "websocket: ping payload is 126 bytes, the limit is 125");
  assert.equal(h.ev, []);
  assert.is(p.state, "open");
});

test("a failure's close reason is cut to 123 bytes at a character boundary", () => {
  // A reason the parser never produces, through the parser's sink: the cut must keep the frame valid.
  const [p, h] = make("server");
  p.error(1002, "é".repeat(100));
  assert.ok(h.ev.includes("transmit close 1002"), h.ev.join("; "));
  assert.is(p.state, "closed", "a server lingers");
  const f = Buffer.concat(h.sent);
  assert.is(f[1], 2 + 122, "the code and 61 two-byte characters: a 62nd would pass 123 bytes");
  assert.is(f.subarray(4).toString(), "é".repeat(61));
});

test("a draining client and a failing socket read on but discard, and stop reading past maxpayload + 1 MiB", () => {
  const [p, h] = make("client", { maxpayload: 1000 });
  p.data(closeframe("client", 1000));
  h.ev = [];
  const chunk = Buffer.alloc(256 * 1024);
  for (let i = 0; i < 4; i++) p.data(chunk); // 1 MiB: within the bound
  assert.equal(h.ev, []);
  p.borrow(Buffer.alloc(2000), 1001); // 1 MiB + 1001 > 1 MiB + 1000
  assert.equal(h.ev, ["pause"]);
  p.data(chunk);
  assert.equal(h.ev, ["pause"], "once");
  p.end("End of file");
  assert.equal(h.ev.slice(1), ["end websocket: socket closed", "timer off", "close"]);
  // failing counts too, on both roles
  for (const role of ["server", "client"] as const) {
    const [q, g] = make(role, { maxpayload: 1000 });
    g.busy = true;
    q.data(frame(role, 1, "x", 0x40));
    g.ev = [];
    q.data(Buffer.alloc(1024 * 1024 + 1001));
    assert.equal(g.ev, ["pause"], `${role}: failing`);
  }
});

// ---------------------------------------------------------------- permessage-deflate

/** A PerMessageDeflate for `role` as a browser's offer gets it from our server's defaults, counting close() calls. */
class Counted extends PerMessageDeflate {
  closes = 0;
  constructor(role: Role, maxpayload = 1 << 20) {
    const config = compressionconfig(true, role)!;
    const [a] = acceptdeflate("permessage-deflate; client_max_window_bits", compressionconfig(true, "server")!);
    super(role, a!.params, config, maxpayload);
  }
  override close(): void {
    this.closes++;
    super.close();
  }
}

/** The peer's compressed payload for `text`: raw deflate with a sync flush, the trailer cut (RFC 7692 7.2.1). */
function deflated(text: string | Buffer): Buffer {
  return zlib.deflateRawSync(text, { windowBits: 12, finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
}

/** First bytes of each frame in `frames` (concatenated): RSV1, FIN and opcode per frame. */
function heads(frames: Buffer[]): string[] {
  const b = Buffer.concat(frames);
  const out: string[] = [];
  for (let at = 0; at < b.length; ) {
    let len = b[at + 1]! & 0x7f;
    let p = at + 2;
    if (len === 126) {
      len = b.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      len = Number(b.readBigUInt64BE(p));
      p += 8;
    }
    if ((b[at + 1]! & 0x80) !== 0) p += 4;
    out.push(`${b[at]! & 0x80 ? "fin" : "more"}${b[at]! & 0x40 ? " rsv1" : ""} ${b[at]! & 15}`);
    at = p + len;
  }
  return out;
}

test("compression: compressed and plain messages and control frames keep their order; data at the threshold is compressed, RSV1 on the first frame only", () => {
  const [p, h] = make("server", {}, new Counted("server"));
  p.data(Buffer.concat([frame("server", 1, deflated("one one one one"), 0x40), frame("server", 9, "ping"), frame("server", 1, "two"), frame("server", 2, deflated(Buffer.from([1, 2, 3])), 0x40)]));
  assert.equal(h.ev, ["message text one one one one", "message ping ping", "message text two", "message binary \x01\x02\x03"]);
  const big = p.send("text", "x".repeat(200_000)) as Buffer[];
  assert.equal(heads(big), ["fin rsv1 1"], "200,000 x compress to one frame");
  const large = p.send("binary", noise(300_000, 7)) as Buffer[];
  assert.equal(heads(large).slice(0, 2), ["more rsv1 2", "more 0"], "a large compressed message is fragmented, RSV1 on the first frame");
  assert.equal(heads(p.send("text", "x".repeat(31)) as Buffer[]), ["fin 1"], "under the threshold (32)");
  assert.equal(heads(p.send("text", "x".repeat(32)) as Buffer[]), ["fin rsv1 1"]);
  assert.equal(heads(p.send("ping", "x".repeat(100)) as Buffer[]), ["fin 9"], "control frames never");
  assert.is(p.inplace("text", "x".repeat(31)), 33, "uncompressed small messages stay on the fast path");
  assert.is(p.inplace("text", "x".repeat(32)), -1, "compressed ones do not");
  assert.is(p.inplace("pong", Buffer.alloc(100)), 102);
});

test("compression: a bomb fails with 1009, bad data with 1002, bad UTF-8 once inflated with 1007, after the messages before them", () => {
  const bomb = deflated(Buffer.alloc(64 << 20));
  const cases: [Buffer, string][] = [
    [frame("server", 2, bomb, 0x40), "websocket: 1009 inflated message exceeds maxpayload (1048576 bytes)"],
    [frame("server", 1, Buffer.from([0xff, 0xff, 0xff, 0xff]), 0x40), "websocket: 1002 invalid compressed data"],
    [frame("server", 1, deflated(Buffer.from([0x61, 0xff])), 0x40), "websocket: 1007 invalid UTF-8 in text message"],
  ];
  for (const [bad, why] of cases) {
    const d = new Counted("server");
    const [p, h] = make("server", {}, d);
    p.data(Buffer.concat([frame("server", 1, deflated("before before before")), bad, frame("server", 1, "after")].map((f, i) => (i === 0 ? Buffer.from([f[0]! | 0x40, ...f.subarray(1)]) : f))));
    assert.equal(h.ev.slice(0, 3), ["message text before before before", `end ${why}`, `transmit close ${why.slice(11, 15)}`], why);
    assert.is(p.state, "closed");
    assert.ok(d.closes > 0, "the contexts are released");
  }
});

test("compression: the budget counts a compressed message as it arrives", () => {
  const budget = new Budget(100_000);
  const [p, h] = make("server", { budget }, new Counted("server", 1 << 24));
  const z = deflated(noise(150_000, 11));
  const first = frame("server", 2, z.subarray(0, 70_000), 0x40);
  first[0] = first[0]! & 0x7f; // not FIN
  p.data(first);
  assert.is(budget.used, 70_000, "held: the compressed bytes");
  const second = frame("server", 0, z.subarray(70_000, 140_000));
  second[0] = second[0]! & 0x7f;
  p.data(second);
  assert.equal(h.ev.slice(0, 1), ["end websocket: 1009 the messages being received exceed the memory budget (100000 bytes)"]);
  assert.is(budget.used, 0, "released with the failure");
});

test("compression: the contexts are released once nothing is sent or received: a server at its end, a client when it drains", () => {
  const ds = new Counted("server");
  const [s] = make("server", {}, ds);
  s.data(closeframe("server", 1000));
  assert.is(s.state, "closed");
  assert.is(ds.closes, 1);
  const dc = new Counted("client");
  const [c] = make("client", {}, dc);
  c.closewith(1000, "");
  assert.is(dc.closes, 0, "closing: the peer's messages may still come");
  c.data(closeframe("client", 1000));
  assert.is(c.state, "draining");
  assert.is(dc.closes, 1);
  c.end("End of file");
  assert.is(dc.closes, 1, "once");
  // Failing: the application may still answer the messages before the bad frame, compressed.
  const df = new Counted("server");
  const [f, hf] = make("server", {}, df);
  hf.busy = true;
  f.data(frame("server", 1, "x", 0x20));
  assert.is(f.state, "failing");
  assert.equal(heads(f.send("text", "answer answer answer answer answer") as Buffer[]), ["fin rsv1 1"]);
  assert.is(df.closes, 0);
  f.fail();
  assert.is(df.closes, 1);
});

test.run();
