// silly-store-redis when things go wrong, against a real redis-server of the
// test's own: the server down at start, restarted or killed mid-run, a wrong
// password, bytes that are not RESP (from a proxy in front of the real server
// that answers some commands with garbage), replies over maxreply, and
// commands that never get a reply. The process must never crash, every call
// must come back with an error value of the documented kind, and the client
// must work again once the server does.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer, connect } from "node:net";
import type { Server, Socket } from "node:net";
import redis, { DEFAULTS } from "silly-store-redis";
import type { Client, Options } from "silly-store-redis";
import logger from "silly/logger";
import { RedisServer, freeport, startredis } from "./lib/redis.js";

logger.setlevel(logger.ERROR);

let server: RedisServer;
const open: Client[] = [];
const cleanup: (() => unknown)[] = [];

function client(opts: Partial<Options> = {}): Client {
  const db = redis.new({ addr: server.addr, maxbackoff: 200, ...opts });
  open.push(db);
  return db;
}

test.before(async () => {
  server = await startredis();
});

test.after.each(async () => {
  for (const db of open.splice(0)) db.close();
  for (const f of cleanup.splice(0)) await f();
});

test.after(async () => {
  await server?.stop();
});

/** A TCP server on 127.0.0.1:0 that accepts and never says a word. */
async function blackhole(): Promise<string> {
  const socks: Socket[] = [];
  const s: Server = createServer((c) => socks.push(c));
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => {
    for (const c of socks) c.destroy();
    return new Promise((resolve) => s.close(resolve));
  });
  return `127.0.0.1:${(s.address() as { port: number }).port}`;
}

// What the proxy answers, instead of forwarding, to a command that carries
// the marker "break-me:<name>".
const GARBAGE: Record<string, string> = {
  typebyte: "?what is this\r\n",
  integer: ":12x\r\n",
  crlf: "+OK\rno line feed\r\n",
  bulk: "$3\r\nabcdef\r\n",
  longline: "+" + "a".repeat(70_000),
};

/** A proxy in front of the real server that answers marked commands with garbage. */
async function garbler(): Promise<string> {
  const socks: Socket[] = [];
  const s = createServer((c) => {
    const up = connect(server.port, "127.0.0.1");
    socks.push(c, up);
    up.on("data", (d) => c.write(d));
    c.on("data", (d) => {
      const m = /break-me:(\w+)/.exec(d.toString("latin1"));
      if (m === null) up.write(d);
      else c.write(GARBAGE[m[1]!]!);
    });
    for (const [a, b] of [[c, up], [up, c]] as const) {
      a.on("error", () => b.destroy());
      a.on("close", () => b.destroy());
    }
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  cleanup.push(() => {
    for (const c of socks) c.destroy();
    return new Promise((resolve) => s.close(resolve));
  });
  return `127.0.0.1:${(s.address() as { port: number }).port}`;
}

test("server down at start: commands and subscribe fail with \"connect\"; once it is up, they work", async () => {
  const port = await freeport();
  const db = client({ addr: `127.0.0.1:${port}` });
  const [v, err] = await db.set("k", "v");
  assert.is(v, undefined);
  assert.is(err!.kind, "connect");
  assert.match(err!.message, /Connection refused/);
  // Several callers during the backoff share one attempt, and fail together.
  const both = await Promise.all([db.ping(), db.ping()]);
  assert.equal(both.map(([, e]) => e!.kind), ["connect", "connect"]);
  const [sub, serr] = await db.subscribe("news");
  assert.is(sub, undefined);
  assert.is(serr!.kind, "connect");

  const late = new RedisServer({ port });
  await late.start();
  cleanup.push(() => late.stop());
  assert.equal(await db.ping(), ["PONG", undefined]); // waits out the backoff, then connects
  const [sub2] = await db.subscribe("news");
  assert.equal(await db.publish("news", "up"), [1, undefined]);
  assert.is((await sub2!.read())[0]!.data, "up");
});

test("server restart mid-run: no crash, the next command reconnects, subscriptions are restored", async () => {
  const srv = await startredis();
  cleanup.push(() => srv.stop());
  const db = client({ addr: srv.addr });
  const [sub] = await db.subscribe("news");
  const [psub] = await db.psubscribe("room.*");
  assert.equal(await db.set("k", "before"), ["OK", undefined]);

  await srv.restart(); // a clean shutdown: the server closes our connections

  assert.equal(await db.get("k"), [null, undefined]); // a new, empty server (no persistence)
  // The subscription connection comes back in the background; a new subscribe
  // on it is confirmed after the restored ones. It may meet a failed attempt
  // first (the server was still down): each try waits out the backoff.
  for (let tries = 1; ; tries++) {
    const [probe, err] = await db.subscribe("probe");
    if (probe !== undefined) break;
    assert.ok(tries < 20, `subscription connection not back: ${err}`);
  }
  assert.equal(await db.publish("news", "after"), [1, undefined]);
  assert.equal(await db.publish("room.1", "after too"), [1, undefined]);
  assert.is((await sub!.read())[0]!.data, "after");
  assert.is((await psub!.read())[0]!.data, "after too");
});

test("server killed with commands in flight: they fail with \"lost\"; the client works once it is back", async () => {
  const srv = await startredis();
  cleanup.push(() => srv.stop());
  const db = client({ addr: srv.addr });
  assert.equal(await db.ping(), ["PONG", undefined]);
  const blocked = db.blpop("nothing", 0); // never answered
  const [sub] = await db.subscribe("c");
  const reading = sub!.read();
  await srv.crash();
  const [v, err] = await blocked;
  assert.is(v, undefined);
  assert.is(err!.kind, "lost");
  assert.match(err!.message, /may or may not have run/);
  const [, down] = await db.ping();
  assert.is(down!.kind, "connect");
  await srv.start();
  assert.equal(await db.ping(), ["PONG", undefined]);
  for (let tries = 1; ; tries++) {
    const [probe, perr] = await db.subscribe("probe");
    if (probe !== undefined) break;
    assert.ok(tries < 20, `subscription connection not back: ${perr}`);
  }
  await db.publish("c", "still here");
  assert.is((await reading)[0]!.data, "still here"); // the read waiting across the crash
});

test("wrong password: \"connect\" with the server's words, on commands and on subscribe; nothing crashes", async () => {
  const srv = await startredis({ password: "right" });
  cleanup.push(() => srv.stop());
  const db = client({ addr: srv.addr, auth: "wrong" });
  for (let i = 0; i < 3; i++) {
    const [, err] = await db.get("k");
    assert.is(err!.kind, "connect");
    assert.match(err!.message, /WRONGPASS/);
  }
  const [, serr] = await db.subscribe("x");
  assert.is(serr!.kind, "connect");
  assert.match(serr!.message, /WRONGPASS/);
});

test("protocol errors: the command fails with \"protocol\", the connection is reset, the next command works", async () => {
  const addr = await garbler();
  const db = client({ addr });
  for (const name of Object.keys(GARBAGE)) {
    assert.equal(await db.echo("fine"), ["fine", undefined]);
    const [before] = await db.client("ID");
    const [v, err] = await db.echo(`break-me:${name}`);
    assert.is(v, undefined, name);
    assert.is(err!.kind, "protocol", name);
    assert.match(err!.message, /the server sent/);
    const [after] = await db.client("ID");
    assert.is.not(after, before, `${name}: the connection was not reset`);
  }
});

test("protocol errors on the subscription connection: subscribe fails, the others are restored", async () => {
  const addr = await garbler();
  const db = client({ addr });
  const [sub] = await db.subscribe("keep");
  const [bad, err] = await db.subscribe("break-me:typebyte");
  assert.is(bad, undefined);
  assert.is(err!.kind, "protocol");
  for (let tries = 1; ; tries++) {
    const [probe] = await db.subscribe("probe");
    if (probe !== undefined) break;
    assert.ok(tries < 20, "subscription connection not back");
  }
  await db.publish("keep", "kept");
  assert.is((await sub!.read())[0]!.data, "kept");
});

test("maxreply: a larger reply fails with \"toolarge\" and is dropped; the connection stays in step", async () => {
  assert.is(DEFAULTS.maxreply, 64 * 1024 * 1024);
  const admin = client();
  await admin.set("big", "x".repeat(100 * 1024));
  await admin.rpush("many", Array.from({ length: 10_000 }, (_, i) => `item${i}`));
  const db = client({ maxreply: 64 * 1024 });
  const [id] = await db.client("ID");
  const [v, err] = await db.get("big");
  assert.is(v, undefined);
  assert.is(err!.kind, "toolarge");
  assert.match(err!.message, /maxreply/);
  const [rs] = await db.pipeline([["GET", "big"], ["LRANGE", "many", 0, -1], ["LRANGE", "many", 0, 2], ["ECHO", "ok"]]);
  assert.equal(rs!.map(([x, e]) => e?.kind ?? x), ["toolarge", "toolarge", ["item0", "item1", "item2"], "ok"]);
  assert.equal(await db.client("ID"), [id, undefined], "the same connection");
  // A message over maxreply on the subscription connection is dropped too.
  const [sub] = await db.subscribe("huge");
  await admin.publish("huge", "y".repeat(100 * 1024));
  await admin.publish("huge", "small");
  assert.is((await sub!.read())[0]!.data, "small");
});

test("timeout: a command that never gets a reply fails with \"timeout\"; so do those behind it; then all is well", async () => {
  const db = client({ timeout: 200 });
  const [id] = await db.client("ID");
  const blocked = db.blpop("empty", 0);
  const behind = db.get("k");
  const [v, err] = await blocked;
  assert.is(v, undefined);
  assert.is(err!.kind, "timeout");
  assert.match(err!.message, /no reply within 200 ms/);
  assert.is((await behind)[1]!.kind, "timeout");
  const [id2] = await db.client("ID");
  assert.is.not(id2, id, "a new connection");
  assert.equal(await db.ping(), ["PONG", undefined]);
});

test("timeout: a server that accepts and never answers", async () => {
  const addr = await blackhole();
  // No handshake: the command itself times out.
  const [, err] = await client({ addr, timeout: 150 }).ping();
  assert.is(err!.kind, "timeout");
  // A handshake that is never answered fails the attempt after connecttimeout.
  const [, herr] = await client({ addr, auth: "pw", connecttimeout: 150 }).ping();
  assert.is(herr!.kind, "connect");
  assert.match(herr!.message, /no answer to AUTH within 150 ms/);
  // A subscribe never confirmed.
  const [sub, serr] = await client({ addr, timeout: 150 }).subscribe("x");
  assert.is(sub, undefined);
  assert.is(serr!.kind, "timeout");
});

test("a client nobody closes after the server died does not crash the process on later calls", async () => {
  const srv = await startredis();
  const db = client({ addr: srv.addr });
  await db.ping();
  const [sub] = await db.subscribe("x");
  await srv.crash();
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => db.set(`k${i}`, i)));
  for (const [, err] of results) assert.ok(err!.kind === "connect" || err!.kind === "lost", err!.kind);
  db.close();
  assert.is((await sub!.read())[1]!.kind, "closed");
});

test.run();
