// The server side of plain TCP conns, whose socket is the bare libuv handle
// (packages/silly/src/net/handlesocket.ts) unless SILLY_FASTREAD=0, against
// Node's net.Socket as the peer: writing with backpressure, closing with
// output queued, half-open answers, resets in the middle of a write.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import tcp from "silly/net/tcp";
import type { Conn, Listener } from "silly/net/tcp";
import errno from "silly/errno";
import { bounded } from "./lib/bounded.js";
import { deferred } from "./lib/deferred.js";
import { nodesocket } from "./lib/nodesocket.js";
import { rng } from "./lib/rng.js";

const LIMIT_MS = 30_000;
const SEED = Number(process.env.SERVERCONN_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** A listener and one accepted conn, with Node's net.Socket as the peer. */
async function accepted(): Promise<{ s: Conn; peer: net.Socket; l: Listener }> {
  const got = deferred<Conn>();
  const [l, err] = await tcp.listen({ addr: "127.0.0.1:0", accept: (conn) => got.resolve(conn) });
  if (l === undefined) throw new Error(`listen: ${err}`);
  const peer = net.connect({ port: l.port, host: "127.0.0.1", allowHalfOpen: true });
  await once(peer, "connect");
  return { s: await got.promise, peer, l };
}

/** Everything the peer receives until its end, as a digest and a length. */
function drain(peer: net.Socket): Promise<{ bytes: number; sha: string }> {
  const h = createHash("sha256");
  let bytes = 0;
  peer.on("data", (d: Buffer) => {
    h.update(d);
    bytes += d.length;
  });
  return new Promise((resolve, reject) => {
    peer.once("end", () => resolve({ bytes, sha: h.digest("hex") }));
    peer.once("error", reject);
  });
}

const sha = (bs: Buffer[]): string => bs.reduce((h, b) => h.update(b), createHash("sha256")).digest("hex");

test("the accepted conn's socket is the bare handle unless SILLY_FASTREAD=0", async () => {
  const { s, peer, l } = await accepted();
  const name = nodesocket(s).constructor.name;
  assert.is(name, process.env.SILLY_FASTREAD === "0" ? "Socket" : "HandleSocket");
  assert.is(s.remoteaddr, `127.0.0.1:${peer.localPort}`);
  peer.destroy();
  s.close();
  l.close();
});

test("writes wait while the peer does not read; every byte arrives in order; unsentbytes returns to 0", bounded(LIMIT_MS, async () => {
  const { s, peer, l } = await accepted();
  const got = drain(peer);
  peer.pause(); // after the 'data' listener, which would set it flowing
  const pieces = Array.from({ length: 256 }, (_, i) => Buffer.concat([Buffer.from([i]), randomBytes(64 * 1024 - 1)])); // 16 MiB
  let waited = false;
  let unsentwhilewaiting = 0;
  for (const b of pieces) {
    const p = s.write(b);
    let settled = false;
    void p.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    if (!settled && !waited) {
      waited = true;
      unsentwhilewaiting = s.unsentbytes();
      peer.resume(); // the peer reads: the write must go on
    }
    assert.equal(await p, [true, undefined]);
  }
  assert.ok(waited, "no write ever had to wait for a peer that was not reading");
  assert.ok(unsentwhilewaiting > 0, "unsentbytes counts what the peer has not taken");
  assert.equal(s.close(), [true, undefined]);
  const r = await got;
  assert.is(r.bytes, 16 * 1024 * 1024);
  assert.is(r.sha, sha(pieces));
  assert.is(s.unsentbytes(), 0);
  peer.destroy();
  l.close();
}));

test("close() right after a large write sends every byte, then the FIN; the handle closes", bounded(LIMIT_MS, async () => {
  const { s, peer, l } = await accepted();
  const big = randomBytes(8 * 1024 * 1024);
  const got = drain(peer);
  const closed = new Promise((r) => nodesocket(s).once("close", r));
  void s.write(big);
  void s.write("tail");
  assert.equal(s.close(), [true, undefined]);
  const r = await got;
  assert.is(r.bytes, big.length + 4);
  assert.is(r.sha, sha([big, Buffer.from("tail")]));
  peer.end();
  await closed;
  assert.ok(nodesocket(s).destroyed);
  l.close();
}));

test("half-open: after the peer's FIN the server reads EOF and still sends its answer", bounded(LIMIT_MS, async () => {
  const { s, peer, l } = await accepted();
  peer.end("question");
  const [q, err, partial] = await s.read(100);
  assert.is(q, undefined);
  assert.is(err, errno.EOF);
  assert.is(partial?.toString(), "question");
  const got = drain(peer);
  assert.equal(await s.write("answer"), [true, undefined]);
  s.close();
  const r = await got;
  assert.is(r.bytes, 6);
  l.close();
}));

test("a peer reset while writes are queued: write and read end with error values, the conn is gone", bounded(LIMIT_MS, async () => {
  const { s, peer, l } = await accepted();
  peer.pause();
  const reading = s.read(1);
  // Far more than the kernel buffers hold: some of it is still queued at the reset.
  const writes: Promise<unknown>[] = [];
  for (let i = 0; i < 64; i++) writes.push(s.write(Buffer.alloc(256 * 1024, i)));
  await new Promise((r) => setImmediate(r));
  assert.ok(s.unsentbytes() > 0, "bytes are still queued");
  peer.resetAndDestroy();
  const [b, rerr] = await reading;
  assert.is(b, undefined);
  // The kernel reports a reset once: to the read (CONNRESET), or to a write first, after which the read sees EOF.
  assert.ok(rerr === errno.CONNRESET || rerr === errno.PIPE || rerr === errno.EOF, `read ended with ${rerr}`);
  await Promise.all(writes); // none of them hangs
  const [ok, werr] = await s.write("late");
  assert.is(ok, false);
  assert.ok(typeof werr === "string" && werr.length > 0, `a later write fails with a value (${werr})`);
  assert.not.ok(s.isalive());
  assert.equal(s.close(), [true, undefined]);
  l.close();
}));

test("pausing and resuming reads (the receive bound) over many round trips loses and reorders nothing", bounded(LIMIT_MS, async () => {
  const { s, peer, l } = await accepted();
  s.limit(1024); // the socket stops reading past 1 KiB unread
  const data = randomBytes(1024 * 1024);
  peer.write(data);
  const parts: Buffer[] = [];
  for (let n = 0; n < data.length; ) {
    const [b, err] = await s.read(Math.min(777, data.length - n));
    assert.ok(b !== undefined, err);
    parts.push(b);
    n += b.length;
  }
  assert.ok(Buffer.concat(parts).equals(data));
  peer.destroy();
  s.close();
  l.close();
}));

test("close() over unread input lingers: the peer gets every byte and the FIN, not a reset; past the byte bound the socket goes", bounded(LIMIT_MS, async () => {
  const { s, peer, l } = await accepted();
  s.limit(16 * 1024); // reading stops early: most of the upload stays in the kernel
  const upload = Buffer.alloc(2 * 1024 * 1024, 0x75);
  peer.write(upload);
  const answer = randomBytes(1024 * 1024);
  let reset: string | undefined;
  peer.on("error", (e: NodeJS.ErrnoException) => (reset = e.code));
  const got = drain(peer).catch(() => ({ bytes: -1, sha: "" }));
  await new Promise((r) => setImmediate(r));
  void s.write(answer);
  assert.equal(s.close(), [true, undefined]);
  const r = await got;
  assert.is(reset, undefined, "the peer was not reset");
  assert.is(r.bytes, answer.length);
  assert.is(r.sha, sha([answer]));
  const closed = new Promise((resolve) => nodesocket(s).once("close", resolve));
  peer.end();
  await closed; // the peer's end releases the socket at once
  l.close();

  // A peer that goes on sending after our close: dropped past the bound (4 MiB), not held for ever.
  const b = await accepted();
  b.s.limit(16 * 1024);
  b.peer.on("error", () => {});
  b.peer.write(Buffer.alloc(64 * 1024));
  await new Promise((r) => setImmediate(r));
  const gone = new Promise((resolve) => nodesocket(b.s).once("close", resolve));
  b.s.close();
  const more = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < 8 && !b.peer.destroyed; i++) b.peer.write(more);
  await gone;
  b.peer.destroy();
  b.l.close();
}));

test(`random writes, reads, receive bounds and peer pauses, ended normally or by a reset (seed ${SEED}; SERVERCONN_SEED repeats it)`, bounded(90_000, async () => {
  for (let round = 0; round < 30; round++) {
    const r = rng(SEED + round);
    const size = (): number => 1 + Math.floor(r() ** 3 * 256 * 1024); // mostly small, some large
    const what = `seed ${SEED} round ${round}`;
    const { s, peer, l } = await accepted();
    // The peer sends its whole upload at once and reads the download, pausing now and then.
    const up: Buffer[] = [];
    for (let n = 0, k = 1 + Math.floor(r() * 8); n < k; n++) up.push(randomBytes(size()));
    for (const b of up) peer.write(b);
    const reset = r() < 0.3;
    const resetafter = Math.floor(r() * 512 * 1024);
    const h = createHash("sha256");
    let got = 0;
    let pauses = 0;
    const ended = new Promise<void>((resolve) => {
      peer.on("data", (d: Buffer) => {
        h.update(d);
        got += d.length;
        if (reset && got >= resetafter && !peer.destroyed) {
          peer.resetAndDestroy();
          resolve();
        } else if (r() < 0.05 && pauses < 20) {
          pauses++;
          peer.pause();
          setImmediate(() => peer.resume());
        }
      });
      peer.on("end", resolve);
      peer.on("close", resolve);
      peer.on("error", () => resolve());
    });
    // The server interleaves writes (some not awaited) with reads of random sizes.
    const down: Buffer[] = [];
    const writes: Promise<readonly unknown[]>[] = [];
    const upload = Buffer.concat(up);
    let read = 0;
    let failed: string | undefined;
    for (let step = 0; step < 40 && failed === undefined; step++) {
      const x = r();
      if (x < 0.15) s.limit(1 + Math.floor(r() * 64 * 1024));
      else if (x < 0.6) {
        const b = randomBytes(size());
        down.push(b);
        const w = s.write(b);
        if (r() < 0.5) {
          const [ok, err] = await w;
          if (!ok) failed = err;
        } else writes.push(w);
      } else if (read < upload.length) {
        const n = Math.min(upload.length - read, 1 + Math.floor(r() * 128 * 1024));
        const [b, err] = await s.read(n);
        if (b === undefined) failed = err;
        else {
          assert.ok(b.equals(upload.subarray(read, read + n)), `${what}: upload bytes ${read}..${read + n} differ`);
          read += n;
        }
      }
    }
    for (const [ok, err] of await Promise.all(writes)) if (!ok) failed ??= err as string;
    if (reset) {
      if (!peer.destroyed) peer.resetAndDestroy(); // the download was shorter than the reset point
      await ended;
      // The read ends with an error value: CONNRESET, or EOF when a write took the reset first.
      const [b, rerr] = await s.read(upload.length - read + 1);
      assert.is(b, undefined, what);
      assert.type(rerr, "string", what);
      // A write into the reset connection fails underneath and releases the socket; later writes fail at once.
      await s.write("after the reset");
      const sock = nodesocket(s);
      if (!sock.destroyed) await new Promise((resolve) => sock.once("close", resolve));
      const [ok, werr] = await s.write("late");
      assert.is(ok, false, `${what}: the read ended with ${rerr}`);
      assert.type(werr, "string", what);
      assert.not.ok(s.isalive(), what);
      s.close();
    } else {
      assert.is(failed, undefined, `${what}: ${failed}`);
      assert.equal(s.close(), [true, undefined]);
      await ended;
      assert.is(got, down.reduce((n, b) => n + b.length, 0), `${what}: bytes the peer received`);
      assert.is(h.digest("hex"), sha(down), `${what}: the download's bytes`);
      peer.destroy();
    }
    l.close();
  }
}));

test.run();
