// silly/net/protocol over real loopback sockets: each rule the reference
// page states, checked on a connected pair of conns.
import { test } from "uvu";
import * as assert from "uvu/assert";
import tcp from "silly/net/tcp";
import type { Conn, Listener } from "silly/net/tcp";
import protocol from "silly/net/protocol";
import type { Consumer } from "silly/net/protocol";
import errno from "silly/errno";
import task from "silly/task";
import { deferred } from "./lib/deferred.js";
import { nodesocket } from "./lib/nodesocket.js";
import { program } from "./lib/child.js";

const WAIT_MS = 10_000;

/** `p`, or a failure naming `what` after WAIT_MS. */
function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** A connected pair: c (the client's conn) and s (the server's). */
async function pair(): Promise<{ c: Conn; s: Conn; l: Listener; done: () => void }> {
  const got = deferred<Conn>();
  const [l, err] = await tcp.listen({ addr: "127.0.0.1:0", accept: (conn) => got.resolve(conn) });
  if (l === undefined) throw new Error(`listen: ${err}`);
  const [c, cerr] = await tcp.connect(l.addr);
  if (c === undefined) throw new Error(`connect: ${cerr}`);
  const s = await within(got.promise, "accept");
  return { c, s, l, done: () => (c.close(), s.close(), l.close()) };
}

/** A consumer that collects what it gets; `until(n)` waits for n bytes in all. */
function collector(withborrow: boolean) {
  const chunks: Buffer[] = [];
  const ends: string[] = [];
  let loans = 0;
  let want = -1;
  let reached = deferred();
  const total = (): number => chunks.reduce((n, c) => n + c.length, 0);
  const check = (): void => {
    if (want >= 0 && total() >= want) reached.resolve();
  };
  const consumer: Consumer = {
    data(chunk) {
      chunks.push(chunk);
      check();
    },
    end(err) {
      ends.push(err);
      reached.resolve();
    },
  };
  if (withborrow) {
    consumer.borrow = (buf, n) => {
      loans++;
      chunks.push(Buffer.from(buf.subarray(0, n))); // copy: the buffer is on loan
      check();
    };
  }
  return {
    consumer,
    chunks,
    ends,
    bytes: (): string => Buffer.concat(chunks).toString("latin1"),
    loans: (): number => loans,
    until(n: number): Promise<void> {
      want = n;
      reached = deferred();
      check();
      return within(reached.promise, `${n} bytes`);
    },
  };
}

/** Resolves once `s` holds at least n unread bytes (told by a watcher). */
function buffered(s: Conn, n: number): Promise<void> {
  const ok = deferred();
  if (s.unreadbytes() >= n) return Promise.resolve();
  protocol.watch(s, {
    arrived() {
      if (s.unreadbytes() < n) return;
      protocol.watch(s, undefined);
      ok.resolve();
    },
  });
  return within(ok.promise, `${n} buffered bytes`);
}

const str = (b: Buffer | undefined): string | undefined => b?.toString("latin1");

test("takeover: buffered bytes first, then every chunk, then end once; read() refuses afterwards", async () => {
  for (const withborrow of [false, true]) {
    const { c, s, done } = await pair();
    await c.write("head\nrest");
    assert.is(str((await s.read("\n"))[0]), "head\n");
    await buffered(s, 4);
    const k = collector(withborrow);
    protocol.takeover(s, k.consumer);
    assert.is(k.bytes(), "rest", "the buffered bytes come at once, in one data() call");
    assert.is(k.chunks.length, 1);
    assert.is(s.unreadbytes(), 0);
    const [none, why] = await s.read(1);
    assert.is(none, undefined);
    assert.match(String(why), /taken over/);
    await c.write("more");
    await k.until(8);
    assert.is(k.bytes(), "restmore");
    // Accepted plain TCP conns read on the fast path, which lends its buffer.
    if (withborrow && process.env.SILLY_FASTREAD !== "0") assert.ok(k.loans() > 0, "borrow() was used");
    c.close();
    await k.until(Infinity);
    assert.equal(k.ends, [errno.EOF]);
    done();
    assert.equal(k.ends, [errno.EOF], "end is called once");
  }
});

test("takeover refuses a second consumer and a pending read; a conn already ended ends the consumer at once", async () => {
  const { c, s, done } = await pair();
  const pending = s.read(1);
  assert.throws(() => protocol.takeover(s, collector(false).consumer), /a read is pending/);
  await c.write("x");
  assert.is(str((await pending)[0]), "x");
  protocol.takeover(s, collector(false).consumer);
  assert.throws(() => protocol.takeover(s, collector(false).consumer), /already taken over/);
  done();

  const p = await pair();
  p.c.close();
  assert.equal(await p.s.read(1), [undefined, errno.EOF, Buffer.alloc(0)]);
  const k = collector(false);
  protocol.takeover(p.s, k.consumer);
  assert.equal(k.ends, [errno.EOF], "ended before takeover returned");
  p.done();
});

test("flowing pauses and resumes delivery; only after takeover", async () => {
  const { c, s, done } = await pair();
  assert.throws(() => protocol.flowing(s, false), /not taken over/);
  const k = collector(true);
  protocol.takeover(s, k.consumer);
  protocol.flowing(s, false);
  assert.ok(nodesocket(s).isPaused(), "the socket is not read while paused");
  await c.write("abc");
  protocol.flowing(s, true);
  await k.until(3);
  assert.is(k.bytes(), "abc");
  done();
});

test("a consumer that throws costs its conn only: the conn is dropped, the peer sees the end", async () => {
  const { c, s, done } = await pair();
  const ended = deferred<string>();
  protocol.takeover(s, {
    data() {
      throw new Error("consumer bug (expected by the test)");
    },
    borrow() {
      throw new Error("consumer bug (expected by the test)");
    },
    end: (err) => ended.resolve(err),
  });
  await c.write("x");
  assert.is(await within(ended.promise, "the consumer's end"), errno.CLOSED);
  assert.ok(!s.isalive());
  const [, err] = await within(c.read(1), "the peer's EOF");
  assert.ok(err === errno.EOF || err === errno.CONNRESET, String(err));
  done();
});

/** Writes `text` (ASCII) at buf[at..]; declines text starting with "!". */
function ascii(buf: Buffer, at: number, text: string): boolean {
  if (text.startsWith("!")) return false;
  buf.write(text, at, "latin1");
  return true;
}

test("writeinto queues encoded bytes in order with write(); declined or too large: undefined, nothing sent", async () => {
  const { c, s, done } = await pair();
  assert.equal(await protocol.writeinto(s, 2, ascii, "a1"), [true, undefined]);
  void s.write("w2");
  assert.equal(await protocol.writeinto(s, 2, ascii, "a3"), [true, undefined]);
  assert.is(protocol.writeinto(s, 2, ascii, "!x"), undefined, "declined");
  assert.is(protocol.writeinto(s, protocol.WRITEINTO_MAX + 1, ascii, "big"), undefined, "over the bound");
  assert.equal(await protocol.writeinto(s, 2, ascii, "a4"), [true, undefined]);
  void s.write("\n");
  assert.is(str((await within(c.read("\n"), "the line"))[0]), "a1w2a3a4\n");
  done();
});

test("writeinto: a throwing encoder leaves nothing queued; an encoder may not write to a conn; bad n throws; closed conn refuses", async () => {
  const { c, s, done } = await pair();
  assert.throws(
    () =>
      protocol.writeinto(s, 3, () => {
        throw new Error("encoder bug");
      }, 0, 0),
    /encoder bug/,
  );
  assert.is(s.unsentbytes(), 0, "the reservation was not kept");
  assert.throws(
    () => protocol.writeinto(s, 3, (buf, at) => (protocol.writeinto(c, 1, ascii, "z"), buf.write("bad", at), true), 0, 0),
    /the encoder wrote to a conn/,
  );
  assert.throws(() => protocol.writeinto(s, 0, ascii, ""), RangeError);
  assert.throws(() => protocol.writeinto(s, 1.5, ascii, "x"), RangeError);
  void s.write("ok\n");
  assert.is(str((await within(c.read("\n"), "the line"))[0]), "ok\n", "nothing of the failed calls went out");
  s.close();
  assert.equal(await protocol.writeinto(s, 1, ascii, "x"), [false, errno.CLOSED]);
  done();
});

test("watch: told after the conn buffered a chunk; none once taken over", async () => {
  const { c, s, done } = await pair();
  const seen = deferred<[string, number]>();
  protocol.watch(s, {
    arrived(chunk) {
      protocol.watch(s, undefined);
      seen.resolve([str(chunk)!, s.unreadbytes()]);
    },
  });
  await c.write("hi");
  assert.equal(await within(seen.promise, "arrived()"), ["hi", 2]);
  assert.is(str((await s.read(2))[0]), "hi");
  protocol.takeover(s, collector(false).consumer);
  assert.throws(() => protocol.watch(s, { arrived() {} }), /taken over/);
  protocol.watch(s, undefined); // stopping is always allowed
  done();
});

test("flush hands queued writes to the socket at once", async () => {
  const { c, s, done } = await pair();
  void s.write("now\n");
  assert.is(s.unsentbytes(), 4, "queued until the end of the poll phase");
  protocol.flush(s);
  assert.is(s.unsentbytes(), 0, "handed over");
  assert.is(str((await within(c.read("\n"), "the line"))[0]), "now\n");
  done();
});

test("abort drops queued bytes and ends reads with CLOSED; close sends them first", async () => {
  const { c, s, done } = await pair();
  const pending = s.read(1);
  void s.write("never sent");
  protocol.abort(s);
  assert.equal(await pending, [undefined, errno.CLOSED, Buffer.alloc(0)]);
  const [got, err, partial] = await within(c.read(1), "the peer's end");
  assert.is(got, undefined);
  assert.ok(err === errno.EOF || err === errno.CONNRESET, String(err));
  assert.is(partial?.length ?? 0, 0, "the queued bytes were dropped");
  done();

  const p = await pair();
  void p.s.write("sent\n");
  p.s.close();
  assert.is(str((await within(p.c.read("\n"), "the line"))[0]), "sent\n");
  p.done();
});

test("linger: the answer is sent, then the peer's bytes are read and dropped until its end; no reset", async () => {
  const { c, s, done } = await pair();
  void s.write("answer");
  protocol.linger(s, WAIT_MS, 64 * 1024 * 1024);
  assert.equal(await s.read(1), [undefined, errno.CLOSED]);
  assert.equal(await s.write("x"), [false, errno.CLOSED]);
  // The peer goes on sending far more than any socket buffer holds before it reads.
  const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
  assert.equal(await within(c.write(big), "the peer's big write"), [true, undefined]);
  assert.is(str((await within(c.read(6), "the answer"))[0]), "answer");
  assert.equal((await within(c.read(1), "the server's FIN"))[1], errno.EOF);
  const closed = new Promise((r) => nodesocket(s).once("close", r));
  c.close();
  await within(closed, "the lingering socket to close after the peer's end");
  done();
});

test("linger gives up past its byte bound or its time bound", async () => {
  const a = await pair();
  protocol.linger(a.s, WAIT_MS, 1024);
  const gone = new Promise((r) => nodesocket(a.s).once("close", r));
  void a.c.write(Buffer.alloc(1024 * 1024));
  await within(gone, "the socket to be dropped past 1 KiB");
  a.done();

  const b = await pair();
  const later = new Promise((r) => nodesocket(b.s).once("close", r));
  protocol.linger(b.s, 50, 1024); // a peer that neither sends nor ends
  await within(later, "the socket to be dropped after 50 ms");
  b.done();
  assert.throws(() => protocol.linger(b.s, -1, 0), RangeError);
});

test("ref: a conn that is not ref'd does not keep the process alive", async () => {
  const [l, err] = await tcp.listen({ addr: "127.0.0.1:0", accept: async (conn) => (await conn.read(1), conn.close()) });
  if (l === undefined) throw new Error(String(err));
  const child = program(`
    import tcp from "silly/net/tcp";
    import protocol from "silly/net/protocol";
    const [c] = await tcp.connect(${JSON.stringify(l.addr)});
    protocol.ref(c, false);
    console.log("connected", c.isalive());
  `);
  await child.waitfor(/connected true/);
  assert.equal(await child.exited(), { code: 0, signal: null }, "the open conn let the process exit");
  l.close();
});

test("direct marks an accept to run outside any task; onsettle reports a task's end", async () => {
  const ran = deferred<boolean>();
  const [l, err] = await tcp.listen({
    addr: "127.0.0.1:0",
    accept: protocol.direct((conn) => {
      ran.resolve(task.running() !== undefined);
      conn.close();
    }),
  });
  if (l === undefined) throw new Error(String(err));
  const [c] = await tcp.connect(l.addr);
  assert.is(await within(ran.promise, "the direct accept"), false);
  c?.close();
  l.close();
  assert.throws(() => protocol.direct("no" as never), TypeError);

  assert.is(protocol.onsettle(() => {}, 0), false, "outside a task");
  const boom = new Error("handler failed (expected by the test)");
  for (const fail of [false, true]) {
    const one = deferred<[string, boolean, unknown]>();
    task.fork(async () => {
      protocol.onsettle((arg: string, threw, e) => one.resolve([arg, threw, e]), "arg");
      await Promise.resolve();
      if (fail) throw boom;
    });
    const got = await within(one.promise, "onsettle's callback");
    assert.equal(got, fail ? ["arg", true, boom] : ["arg", false, undefined]);
  }
});

test.run();
