// silly/net/tcp over real loopback sockets. No sleeps: every wait is on an
// event or a promise, and every test closes what it opened.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import tcp from "silly/net/tcp";
import protocol from "silly/net/protocol";
import type { Conn, Listener } from "silly/net/tcp";
import errno from "silly/errno";
import task from "silly/task";
import logger from "silly/logger";
import { deferred } from "./lib/deferred.js";
import { nodesocket } from "./lib/nodesocket.js";
import { NOHOST } from "./lib/nohost.js";



/** One turn of the event loop, so pending socket I/O gets its chance. */
function immediate(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

async function listen(accept: (conn: Conn) => unknown, addr = "127.0.0.1:0"): Promise<Listener> {
  const [l, err] = await tcp.listen({ addr, accept });
  if (l === undefined) throw new Error(`listen ${addr}: ${err}`);
  return l;
}

async function dial(addr: string): Promise<Conn> {
  const [c, err] = await tcp.connect(addr);
  if (c === undefined) throw new Error(`connect ${addr}: ${err}`);
  return c;
}

/** A connected pair: c (client side) and s (the server's conn). */
async function pair(): Promise<{ c: Conn; s: Conn; l: Listener; done: () => void }> {
  const got = deferred<Conn>();
  const l = await listen((conn) => got.resolve(conn));
  const c = await dial(l.addr);
  const s = await got.promise;
  return { c, s, l, done: () => (c.close(), s.close(), l.close()) };
}

/** Resolves when the next chunk reaches s (after s has buffered it), seen through protocol.watch. */
function arrival(s: Conn): Promise<void> {
  return new Promise((resolve) =>
    protocol.watch(s, {
      arrived() {
        protocol.watch(s, undefined);
        resolve();
      },
    }),
  );
}

async function freeport(): Promise<number> {
  const l = await listen(() => {});
  const port = l.port;
  l.close();
  return port;
}

const str = (b: Buffer | undefined): string | undefined => b?.toString("latin1");

test("listen resolves once bound; accept runs as a task; addr, port, remoteaddr", async () => {
  const seen = deferred<{ intask: boolean; remote: string }>();
  const l = await listen((conn) => {
    seen.resolve({ intask: task.running() !== undefined, remote: conn.remoteaddr });
    conn.close();
  });
  assert.ok(l.port > 0 && l.port < 65536);
  assert.is(l.addr, `127.0.0.1:${l.port}`);
  const c = await dial(l.addr);
  const { intask, remote } = await seen.promise;
  assert.ok(intask, "accept runs inside a task");
  assert.is(remote, `127.0.0.1:${nodesocket(c).localPort}`);
  assert.is(c.remoteaddr, l.addr);
  assert.equal(await c.read(1), [undefined, errno.EOF, Buffer.alloc(0)]);
  c.close();
  l.close();
});

test('":0" listens on every interface', async () => {
  const l = await listen((conn) => conn.close(), ":0");
  const m = /:(\d+)$/.exec(l.addr);
  assert.ok(m !== null, l.addr);
  assert.is(Number(m[1]), l.port);
  const c = await dial(`127.0.0.1:${l.port}`);
  assert.equal((await c.read(1))[1], errno.EOF);
  c.close();
  l.close();
});

test('"[::1]:0" listens on IPv6 loopback, or fails with a clear error', async () => {
  const [l, err] = await tcp.listen({ addr: "[::1]:0", accept: (conn) => conn.close() });
  if (l === undefined) {
    // No IPv6 loopback on this machine: the error must say so.
    assert.ok(err === errno.ADDRNOTAVAIL || err === errno.AFNOSUPPORT, `unexpected error ${err}`);
    return;
  }
  assert.is(l.addr, `[::1]:${l.port}`);
  const c = await dial(l.addr);
  assert.is(c.remoteaddr, l.addr);
  assert.equal((await c.read(1))[1], errno.EOF);
  c.close();
  l.close();
});

test("address in use is errno.ADDRINUSE, as a value", async () => {
  const l = await listen(() => {});
  const [l2, err] = await tcp.listen({ addr: l.addr, accept: () => {} });
  assert.is(l2, undefined);
  assert.is(err, errno.ADDRINUSE);
  l.close();
});

test("bad address strings are error values, for listen and connect", async () => {
  for (const addr of ["nonsense", "127.0.0.1:99999", "::1:80", "127.0.0.1:http", "127.0.0.1:"]) {
    const [l, err] = await tcp.listen({ addr, accept: () => {} });
    assert.is(l, undefined, addr);
    assert.match(String(err), /invalid address/, addr);
    const [c, cerr] = await tcp.connect(addr);
    assert.is(c, undefined, addr);
    assert.match(String(cerr), /invalid address/, addr);
  }
  assert.throws(() => tcp.listen({ addr: "127.0.0.1:0" } as never), /accept/);
});

test("connect to a closed port is errno.CONNREFUSED", async () => {
  const port = await freeport();
  assert.equal(await tcp.connect(`127.0.0.1:${port}`), [undefined, errno.CONNREFUSED]);
});

test("a name that does not resolve is errno.RESOLVE", async () => {
  assert.equal(await tcp.connect(`${NOHOST}:80`), [undefined, errno.RESOLVE]);
});

test("connect timeout is errno.TIMEDOUT (a listener whose accept queue is full)", async () => {
  // A child process listens with a tiny backlog and blocks its event loop, so
  // it never accepts: once the kernel's accept queue is full, SYNs are dropped
  // and a connect can only end by our timeout.
  const child = spawn(
    process.execPath,
    [
      "-e",
      `const s = require("node:net").createServer().listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => {
         process.stdout.write(s.address().port + "\\n");
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000);
       });`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = once(child, "exit");
  const [line] = (await once(child.stdout, "data")) as [Buffer];
  const addr = `127.0.0.1:${line.toString().trim()}`;
  const open: Conn[] = [];
  let err: string | undefined;
  for (let i = 0; i < 20 && err === undefined; i++) {
    const r = await tcp.connect(addr, { timeout: 100 });
    if (r[0] !== undefined) open.push(r[0]);
    else err = r[1];
  }
  assert.is(err, errno.TIMEDOUT);
  assert.ok(open.length >= 1, "the queue took some connections first");
  for (const c of open) c.close();
  child.kill("SIGKILL");
  await exited;
  // A timeout that does not fire leaves nothing behind (the process still exits).
  const l = await listen((conn) => conn.close());
  const [c, cerr] = await tcp.connect(l.addr, { timeout: 60_000 });
  assert.is(cerr, undefined);
  c!.close();
  l.close();
  assert.throws(() => tcp.connect(l.addr, { timeout: -1 }), /timeout/);
});

test("silly.exit hands queued writes to the socket before the process ends", async () => {
  const got = deferred<string>();
  const l = await listen(async (conn) => {
    const [all, err, partial] = await conn.read(1 << 20); // everything, until the child's EOF
    got.resolve((all ?? partial ?? Buffer.alloc(0)).toString() + (err === errno.EOF ? "|EOF" : `|${err}`));
    conn.close();
  });
  // The child writes without awaiting anything and exits at once: no later
  // turn of its event loop would have sent the bytes.
  const program = `
    import silly from "silly";
    import tcp from "silly/net/tcp";
    const [c, err] = await tcp.connect(process.env.ADDR);
    if (c === undefined) throw new Error(err);
    void c.write("last ");
    void c.write("words");
    await silly.exit(0);
  `;
  const child = spawn(process.execPath, [...process.execArgv, "--input-type=module", "-e", program], {
    env: { ...process.env, ADDR: l.addr },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const [code] = (await once(child, "exit")) as [number];
  assert.is(code, 0);
  assert.is(await got.promise, "last words|EOF");
  l.close();
});

test("read(n) gathers bytes across chunk boundaries", async () => {
  const { c, s, done } = await pair();
  const r = s.read(7); // pending before anything arrives
  c.write("ab");
  await arrival(s);
  c.write("cd");
  await arrival(s);
  c.write("efghij");
  assert.equal(str((await r)[0]), "abcdefg");
  assert.equal(str((await s.read(3))[0]), "hij");
  assert.is(s.unreadbytes(), 0);
  done();
});

test('read("\\r\\n") and a multi-byte delimiter split across writes', async () => {
  const { c, s, done } = await pair();
  // "\r" | "\n" split.
  const line = s.read("\r\n");
  c.write("GET / HTTP/1.1\r");
  await arrival(s);
  c.write("\nHost: x\r\n\r\n");
  assert.equal(str((await line)[0]), "GET / HTTP/1.1\r\n");
  assert.equal(str((await s.read("\r\n"))[0]), "Host: x\r\n"); // already buffered
  assert.equal(str((await s.read("\r\n"))[0]), "\r\n");
  // "END!" arriving over three chunks, after a false start "EN" that crosses a boundary.
  const msg = s.read("END!");
  for (const part of ["xE", "NEN", "D"]) {
    c.write(part);
    await arrival(s);
  }
  c.write("!tail");
  assert.equal(str((await msg)[0]), "xENEND!");
  assert.equal(str((await s.read(4))[0]), "tail");
  // A delimiter given as bytes, and a line that is one large buffer.
  const big = Buffer.alloc(300_000, 0x61);
  c.write([big, "\0\xff", "rest"].map((d) => (typeof d === "string" ? Buffer.from(d, "latin1") : d)));
  const [got] = await s.read(Buffer.from([0, 0xff]));
  assert.is(got?.length, big.length + 2);
  assert.equal(str((await s.read(4))[0]), "rest");
  assert.throws(() => s.read(""), /delimiter/);
  done();
});

test("read(0) returns empty bytes at once", async () => {
  const { s, done } = await pair();
  const [b, err] = await s.read(0);
  assert.is(err, undefined);
  assert.is(b?.length, 0);
  assert.throws(() => s.read(-1), /n must be/);
  assert.throws(() => s.read(1.5), /n must be/);
  done();
});

test("EOF is [undefined, errno.EOF, partial] with the bytes that did arrive", async () => {
  const { c, s, done } = await pair();
  await c.write("xy");
  c.close();
  const [b, err, partial] = await s.read(5);
  assert.is(b, undefined);
  assert.is(err, errno.EOF);
  assert.is(str(partial), "xy");
  // Later reads keep reporting EOF.
  const again = await s.read("\n");
  assert.is(again[1], errno.EOF);
  assert.is(again[2]?.length, 0);
  assert.not.ok(s.isalive());
  done();
});

test("a reset is errno.CONNRESET, not EOF", async () => {
  const got = deferred<Conn>();
  const l = await listen((conn) => got.resolve(conn));
  const raw = net.connect(l.port, "127.0.0.1");
  await once(raw, "connect");
  const s = await got.promise;
  const r = s.read(10);
  raw.resetAndDestroy();
  const [b, err] = await r;
  assert.is(b, undefined);
  assert.is(err, errno.CONNRESET);
  assert.is.not(err, errno.EOF);
  assert.not.ok(s.isalive());
  const [ok, werr] = await s.write("late");
  assert.is(ok, false);
  assert.is(werr, errno.CONNRESET);
  assert.equal(s.close(), [true, undefined]);
  l.close();
});

test("isalive, read/write after close, close twice", async () => {
  const { c, s, l } = await pair();
  assert.ok(c.isalive());
  assert.ok(s.isalive());
  const pending = s.read(1);
  assert.equal(s.close(), [true, undefined]);
  assert.not.ok(s.isalive());
  assert.equal((await pending)[1], errno.CLOSED);
  assert.equal(await s.read(1), [undefined, errno.CLOSED]);
  assert.equal(await s.write("x"), [false, errno.CLOSED]);
  assert.equal(s.close(), [false, errno.CLOSED]);
  // The peer sees a clean close.
  assert.equal((await c.read(1))[1], errno.EOF);
  assert.not.ok(c.isalive());
  assert.equal(c.close(), [true, undefined]);
  assert.equal(c.close(), [false, errno.CLOSED]);
  l.close();
});

test("a second concurrent read is an error value; the first still completes", async () => {
  const { c, s, done } = await pair();
  const first = s.read(3);
  const [b, err] = await s.read(1);
  assert.is(b, undefined);
  assert.match(String(err), /another read is pending/);
  c.write("abc");
  assert.is(str((await first)[0]), "abc");
  done();
});

test("read timeout is errno.TIMEDOUT and the bytes stay readable", async () => {
  const { c, s, done } = await pair();
  await c.write("abc");
  assert.equal(await s.read(5, 20), [undefined, errno.TIMEDOUT]);
  assert.equal(await s.read("\n", 1), [undefined, errno.TIMEDOUT]);
  c.write("de");
  assert.is(str((await s.read(5, 10_000))[0]), "abcde"); // a timeout that does not fire is cleared
  assert.throws(() => s.read(1, -5), /timeout/);
  done();
});

test("write returns [true]; every byte value and 1 MiB of random bytes survive", async () => {
  const l = await listen(async (conn) => {
    // Echo until EOF.
    for (;;) {
      const n = Math.max(1, conn.unreadbytes());
      const [b] = await conn.read(n);
      if (b === undefined) break;
      await conn.write(b);
    }
    conn.close();
  });
  const c = await dial(l.addr);
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.equal(await c.write(all), [true, undefined]);
  assert.ok((await c.read(256))[0]?.equals(all));
  const rnd = randomBytes(1024 * 1024);
  const [ok] = await c.write(rnd);
  assert.is(ok, true);
  const [back] = await c.read(rnd.length);
  assert.ok(back !== undefined && Buffer.compare(back, rnd) === 0, "1 MiB round trip differs");
  // A list of pieces is written in order; text is UTF-8.
  assert.equal(await c.write(["é", Buffer.from([0, 1]), new Uint8Array([2]), ""]), [true, undefined]);
  assert.equal([...(await c.read(5))[0]!], [0xc3, 0xa9, 0, 1, 2]);
  assert.throws(() => c.write(42 as never), /data must be/);
  c.close();
  l.close();
});

test("backpressure: write waits while the reader is paused; conn.limit bounds unreadbytes; all bytes arrive in order", async () => {
  const PIECE = 64 * 1024;
  const N = 1024; // 64 MiB, far more than the kernel buffers hold
  const LIMIT = 256 * 1024;
  const base = randomBytes(PIECE + 256);
  const piece = (i: number): Buffer => {
    const b = Buffer.from(base.subarray(i % 251, (i % 251) + PIECE));
    b.writeUInt32BE(i, 0);
    return b;
  };
  const accepted = deferred<Conn>();
  const go = deferred<void>();
  const received = deferred<string>();
  const l = await listen(async (conn) => {
    conn.limit(LIMIT);
    accepted.resolve(conn);
    await go.promise; // the application is not reading until told
    for (let i = 0; i < N; i++) {
      const [b, err] = await conn.read(PIECE);
      if (b === undefined || !b.equals(piece(i))) return received.resolve(`piece ${i}: ${err ?? "bytes differ"}`);
    }
    received.resolve("ok");
    conn.close();
  });
  const c = await dial(l.addr);
  const s = await accepted.promise;
  let pendingseen = false;
  let unsentwhilepending = 0;
  let maxunread = 0;
  for (let i = 0; i < N; i++) {
    const p = c.write(piece(i));
    if (!pendingseen) {
      let settled = false;
      void p.then(() => (settled = true));
      await immediate();
      maxunread = Math.max(maxunread, s.unreadbytes());
      if (!settled) {
        // The write is waiting and nobody reads on the other side.
        pendingseen = true;
        unsentwhilepending = c.unsentbytes();
        // Let the paused side take what it will: it must stop near its limit.
        for (let k = 0; k < 10_000 && s.unreadbytes() < LIMIT; k++) await immediate();
        maxunread = Math.max(maxunread, s.unreadbytes());
        assert.ok(s.unreadbytes() >= LIMIT, `reader holds ${s.unreadbytes()} bytes`);
        go.resolve();
      }
    }
    const [ok, err] = await p;
    assert.ok(ok, err);
  }
  assert.ok(pendingseen, "no write ever had to wait");
  assert.ok(unsentwhilepending > 0, "unsentbytes grows while the peer is not reading");
  assert.ok(maxunread <= LIMIT + 64 * 1024, `unreadbytes went to ${maxunread}, limit ${LIMIT}`);
  assert.is(await received.promise, "ok");
  assert.is(c.unsentbytes(), 0, "unsentbytes shrinks back to 0");
  assert.equal((await c.read(1))[1], errno.EOF);
  c.close();
  l.close();
});

test("listener.close stops new connections; accepted ones keep working", async () => {
  const { c, s, l } = await pair();
  const addr = l.addr;
  assert.equal(l.close(), [true, undefined]);
  assert.equal(l.close(), [false, errno.CLOSED]);
  assert.equal(await tcp.connect(addr), [undefined, errno.CONNREFUSED]);
  await c.write("still here\n");
  assert.is(str((await s.read("\n"))[0]), "still here\n");
  c.close();
  s.close();
});

test("writes from several tasks in one tick keep their order", async () => {
  const { c, s, done } = await pair();
  const results: Promise<unknown>[] = [];
  const big = Buffer.alloc(100_000, 0x2e);
  for (let i = 0; i < 50; i++) {
    task.fork(() => {
      // Every other task also writes a large block, so some writes must wait.
      const r = c.write(i % 2 === 0 ? [big, `${i}\n`] : `${i}\n`);
      results.push(r);
    });
  }
  for (let i = 0; i < 50; i++) {
    if (i % 2 === 0) assert.ok((await s.read(big.length))[0]?.equals(big));
    assert.is(str((await s.read("\n"))[0]), `${i}\n`);
  }
  for (const r of await Promise.all(results)) assert.equal(r, [true, undefined]);
  done();
});

test("an error in an accept task is logged, closes that conn, and the server keeps serving", async () => {
  const logs: string[] = [];
  const sink = logger.setsink((line) => logs.push(line));
  let n = 0;
  const l = await listen(async (conn) => {
    if (++n === 1) throw new Error("boom from accept (expected by the test)");
    await conn.write("ok\n");
    conn.close();
  });
  await firstabandoned(l, logs, sink, "boom from accept");
});

/** The listener's first conn was closed after its accept threw (and that was logged); the second is served. */
async function firstabandoned(l: Listener, logs: string[], sink: ReturnType<typeof logger.setsink>, boom: string): Promise<void> {
  const c1 = await dial(l.addr);
  assert.equal((await c1.read(1))[1], errno.EOF); // the abandoned conn was closed
  const c2 = await dial(l.addr);
  assert.is(str((await c2.read("\n"))[0]), "ok\n");
  await logger.flush();
  logger.setsink(sink);
  assert.ok(logs.some((x) => x.includes(boom)), "the error was logged");
  c1.close();
  c2.close();
  l.close();
}

test("protocol.direct accept: called outside any task; a throw is logged and closes that conn", async () => {
  const logs: string[] = [];
  const sink = logger.setsink((line) => logs.push(line));
  const seen: boolean[] = [];
  let n = 0;
  const [l, err] = await tcp.listen({
    addr: "127.0.0.1:0",
    accept: protocol.direct((conn) => {
      seen.push(task.running() !== undefined);
      if (++n === 1) throw new Error("boom from direct accept (expected by the test)");
      void conn.write("ok\n");
      conn.close();
    }),
  });
  if (l === undefined) throw new Error(String(err));
  await firstabandoned(l, logs, sink, "boom from direct accept");
  assert.equal(seen, [false, false], "accept ran outside any task");
});

test("a delimiter that does not come within the receive bound fails with errno.MSGSIZE; the bytes stay readable", async () => {
  const { c, s, done } = await pair();
  s.limit(1024);
  const line = s.read("\n");
  await c.write(Buffer.alloc(3000, 0x61)); // no newline, ever
  const [got, err] = await line;
  assert.is(got, undefined);
  assert.is(err, errno.MSGSIZE);
  // Already over the bound: a new delimiter read fails at once, read(n) still works.
  assert.equal((await s.read("\n"))[1], errno.MSGSIZE);
  const [bytes] = await s.read(3000);
  assert.is(bytes?.length, 3000);
  done();
});

test("accepted plain TCP connections run on the bare handle, connecting ones on the fast read path, unless SILLY_FASTREAD=0", async () => {
  const { c, s, done } = await pair();
  const readcb = (sock: object): unknown => {
    const slot = Object.getOwnPropertySymbols(sock).find((x) => x.description === "kBufferCb");
    return slot === undefined ? undefined : (sock as Record<symbol, unknown>)[slot];
  };
  if (process.env.SILLY_FASTREAD === "0") {
    assert.ok(nodesocket(s) instanceof net.Socket, "the accepted conn is on a net.Socket");
    assert.is(readcb(nodesocket(s)), null, "the public 'data' path is used");
    assert.is(readcb(nodesocket(c)), null, "the public 'data' path is used");
  } else {
    assert.is(nodesocket(s).constructor.name, "HandleSocket", "the accepted conn skips net.Socket");
    assert.type(readcb(nodesocket(c)), "function", "the connecting side's reads go through the fast path");
  }
  done();
});

test.run();
