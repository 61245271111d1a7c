// silly-store-redis against a real redis-server of the test's own
// (tests/lib/redis.ts): commands, pipelining, RESP3, auth, databases, pub/sub.
import { test } from "uvu";
import * as assert from "uvu/assert";
import task from "silly/task";
import redis, { RedisError } from "silly-store-redis";
import type { Client, Options } from "silly-store-redis";
import { startredis } from "./lib/redis.js";
import type { RedisServer } from "./lib/redis.js";

let server: RedisServer;
let secured: RedisServer;
const open: Client[] = [];

function client(opts: Partial<Options> = {}): Client {
  const db = redis.new({ addr: server.addr, ...opts });
  open.push(db);
  return db;
}

test.before(async () => {
  [server, secured] = await Promise.all([startredis(), startredis({ password: "s3cret" })]);
});

test.after.each(async () => {
  for (const db of open.splice(0)) db.close();
  const admin = redis.new({ addr: server.addr });
  await admin.flushall();
  admin.close();
});

test.after(async () => {
  await Promise.all([server?.stop(), secured?.stop()]);
});

test("commands: the value, or nil as null; upstream's method and call forms agree", async () => {
  const db = client();
  assert.equal(await db.ping(), ["PONG", undefined]);
  assert.equal(await db.set("k", "v"), ["OK", undefined]);
  assert.equal(await db.get("k"), ["v", undefined]);
  assert.equal(await db.call("get", "k"), ["v", undefined]);
  assert.equal(await db.get("missing"), [null, undefined]);
  assert.equal(await db.incr("n"), [1, undefined]);
  assert.equal(await db.incrby("n", 10), [11, undefined]);
  assert.equal(await db.call("MSET", ["k1", "v1", "k2", "v2"]), ["OK", undefined]);
  assert.equal(await db.mget("k1", "k2", "nope"), [["v1", "v2", null], undefined]);
  assert.equal(await db.hset("user:1", "name", "Alice", "age", 30), [2, undefined]);
  assert.equal(await db.hgetall("user:1"), [["name", "Alice", "age", "30"], undefined]);
  assert.equal(await db.set("lock", "t", "NX", "EX", 30), ["OK", undefined]);
  assert.equal(await db.set("lock", "t", "NX", "EX", 30), [null, undefined]);
  assert.equal(await db.eval("return {KEYS[1], ARGV[1], 3}", 1, "a", "b"), [["a", "b", 3], undefined]);
  assert.equal(await db.echo("你好"), ["你好", undefined]);
});

test("an error reply is an error value of kind \"reply\"; the connection carries on", async () => {
  const db = client();
  await db.set("s", "text");
  const [v, err] = await db.lpush("s", "x");
  assert.is(v, undefined);
  assert.instance(err, RedisError);
  assert.is(err!.kind, "reply");
  assert.match(err!.message, /^WRONGTYPE /);
  assert.match(String(err), /^WRONGTYPE /);
  const [, unknown] = await db.call("NOSUCHCOMMAND", "x");
  assert.is(unknown!.kind, "reply");
  assert.match(unknown!.message, /^ERR unknown command/);
  assert.equal(await db.get("s"), ["text", undefined]);
});

test("binary values go and come back byte for byte with callbuffer", async () => {
  const db = client();
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.equal(await db.set("bin", all), ["OK", undefined]);
  const [got] = await db.callbuffer<Buffer>("GET", "bin");
  assert.ok(Buffer.isBuffer(got));
  assert.equal([...got!], [...all]);
  const [list] = await db.callbuffer("MGET", "bin", "none");
  assert.equal(list, [all, null]);
  const big = Buffer.alloc(3 * 1024 * 1024, 7);
  await db.set("big", big);
  const [back] = await db.callbuffer<Buffer>("GET", "big");
  assert.ok(big.equals(back!));
});

test("pipeline: one result per command, error replies among them, in order", async () => {
  const db = client();
  const [rs, err] = await db.pipeline([
    ["SET", "p1", "v1"],
    ["INCR", "p1"],
    ["GET", "p1"],
    ["MULTI"],
    ["INCR", "ctr"],
    ["INCR", "ctr"],
    ["EXEC"],
  ]);
  assert.is(err, undefined);
  assert.equal(rs![0], ["OK", undefined]);
  assert.is(rs![1]![1]!.kind, "reply");
  assert.equal(rs![2], ["v1", undefined]);
  assert.equal(rs!.slice(3).map(([v]) => v), ["OK", "QUEUED", "QUEUED", [1, 2]]);
  assert.equal(await db.pipeline([]), [[], undefined]);
  assert.throws(() => db.pipeline([["GET", "a"], "GET" as never]), TypeError);
});

test("pipelining between tasks: 2,000 concurrent commands each get their own reply", async () => {
  const db = client();
  const n = 1000;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new Promise<[unknown, unknown]>((resolve) => {
        task.fork(async () => {
          const [, serr] = await db.set(`key:${i}`, `value:${i}`);
          const [v] = await db.get(`key:${i}`);
          resolve([serr, v]);
        });
      }),
    ),
  );
  results.forEach(([serr, v], i) => {
    assert.is(serr, undefined);
    assert.is(v, `value:${i}`);
  });
});

test("RESP3 (resp: 3): maps, sets, doubles, booleans and null come typed", async () => {
  const db = client({ resp: 3 });
  await db.hset("h", "a", "1");
  assert.equal(await db.hgetall("h"), [new Map([["a", "1"]]), undefined]);
  await db.sadd("s", "x", "y");
  const [members] = await db.smembers("s");
  assert.instance(members, Set);
  assert.equal([...(members as Set<string>)].sort(), ["x", "y"]);
  await db.zadd("z", 1.5, "m");
  assert.equal(await db.zscore("z", "m"), [1.5, undefined]);
  assert.equal(await db.get("none"), [null, undefined]);
  assert.equal(await db.eval("redis.setresp(3); return true", 0), [true, undefined]);
  const [, err] = await db.lpush("h", "x");
  assert.is(err!.kind, "reply");
});

test("auth: the right password works (RESP2 and RESP3, upstream's auth and the URL form)", async () => {
  for (const db of [
    redis.new({ addr: secured.addr, auth: "s3cret" }),
    redis.new({ addr: secured.addr, auth: "s3cret", resp: 3 }),
    redis.new({ addr: `redis://:s3cret@${secured.addr}/2` }),
    redis.new({ addr: secured.addr, user: "default", auth: "s3cret", name: "tester" }),
  ]) {
    open.push(db);
    assert.equal(await db.ping(), ["PONG", undefined]);
  }
  const named = open[open.length - 1]!;
  assert.equal(await named.client("GETNAME"), ["tester", undefined]);
});

test("auth: a wrong password fails every command with kind \"connect\", never sent", async () => {
  const db = client({ addr: secured.addr, auth: "wrong" });
  const [v, err] = await db.set("k", "v");
  assert.is(v, undefined);
  assert.is(err!.kind, "connect");
  assert.match(err!.message, /AUTH: WRONGPASS/);
  const [, err3] = await client({ addr: secured.addr, auth: "wrong", resp: 3 }).ping();
  assert.is(err3!.kind, "connect");
  assert.match(err3!.message, /HELLO: WRONGPASS/);
  // No password at all: the server refuses the command itself.
  const [, noauth] = await client({ addr: secured.addr }).ping();
  assert.is(noauth!.kind, "reply");
  assert.match(noauth!.message, /^NOAUTH/);
  // Nothing was written by the failed clients.
  const admin = client({ addr: secured.addr, auth: "s3cret" });
  assert.equal(await admin.exists("k"), [0, undefined]);
});

test("db: each client SELECTs its database on connecting; select() is refused as upstream does", async () => {
  const db0 = client();
  const db3 = client({ db: 3 });
  await db3.set("where", "three");
  assert.equal(await db0.get("where"), [null, undefined]);
  assert.equal(await db3.get("where"), ["three", undefined]);
  assert.throws(() => db3.select(), /give db to redis.new/);
  assert.throws(() => db3.call("SELECT", 1), TypeError);
  const [, err] = await client({ db: 999 }).ping();
  assert.is(err!.kind, "connect");
  assert.match(err!.message, /SELECT: ERR DB index is out of range/);
});

test("programmer errors throw: bad options, bad arguments, subscribe commands through call", () => {
  assert.throws(() => redis.new(undefined as never), TypeError);
  assert.throws(() => redis.new({ addr: server.addr, timeout: -1 }), TypeError);
  assert.throws(() => redis.new({ addr: server.addr, maxreply: 0 }), TypeError);
  assert.throws(() => redis.new({ addr: server.addr, resp: 4 as never }), TypeError);
  assert.throws(() => redis.new({ addr: server.addr, user: "u" }), TypeError);
  assert.throws(() => redis.new({ addr: `rediss://${server.addr}`, tls: false }), /tls: false/);
  const db = client();
  assert.throws(() => db.set("k", undefined as never), TypeError);
  assert.throws(() => db.call("subscribe", "x"), /db.subscribe/);
  assert.throws(() => db.call(""), TypeError);
});

test("close: waiting commands fail with \"closed\", later ones too", async () => {
  const db = client();
  await db.ping();
  const blocked = db.blpop("empty-list", 0);
  db.close();
  const [, err] = await blocked;
  assert.is(err!.kind, "closed");
  assert.equal(await db.get("k"), [undefined, new RedisError("closed", "the client is closed")]);
  assert.ok(db.isclosed);
  const [, serr] = await db.subscribe("x");
  assert.is(serr!.kind, "closed");
});

// ---- pub/sub ----

test("subscribe: a message published after subscribe returns is read, text and bytes", async () => {
  const db = client();
  const [sub, err] = await db.subscribe("news", "sports");
  assert.is(err, undefined);
  assert.equal(sub!.names, ["news", "sports"]);
  assert.equal(await db.publish("news", "hello"), [1, undefined]);
  assert.equal(await db.publish("sports", Buffer.from([0, 255, 10])), [1, undefined]);
  const [m1] = await sub!.read();
  assert.is(m1!.channel, "news");
  assert.is(m1!.data, "hello");
  assert.is(m1!.pattern, undefined);
  const [m2] = await sub!.read();
  assert.is(m2!.channel, "sports");
  assert.equal([...m2!.bytes], [0, 255, 10]);
  sub!.close();
  assert.ok(sub!.isclosed);
  const [none, cerr] = await sub!.read();
  assert.is(none, undefined);
  assert.is(cerr!.kind, "closed");
});

test("psubscribe: messages carry the pattern they matched", async () => {
  const db = client();
  const [sub] = await db.psubscribe("room.*");
  await db.publish("room.42", "hi");
  await db.publish("other", "not for us");
  await db.publish("room.7", "");
  const [m] = await sub!.read();
  assert.equal([m!.pattern, m!.channel, m!.data], ["room.*", "room.42", "hi"]);
  const [e] = await sub!.read();
  assert.equal([e!.channel, e!.data], ["room.7", ""]); // an empty message is a message
});

test("two subscriptions on one channel both receive; a channel is unsubscribed with its last one", async () => {
  const db = client();
  const [a] = await db.subscribe("shared");
  const [b] = await db.subscribe("shared");
  assert.equal(await db.publish("shared", "1"), [1, undefined]); // one connection subscribed
  assert.is((await a!.read())[0]!.data, "1");
  assert.is((await b!.read())[0]!.data, "1");
  a!.close();
  await db.publish("shared", "2");
  assert.is((await b!.read())[0]!.data, "2");
  b!.close();
  // The UNSUBSCRIBE went out with close(); a later subscribe on the same
  // connection is confirmed after the server has processed it.
  await db.subscribe("later");
  assert.equal(await db.pubsub("NUMSUB", "shared", "later"), [["shared", 0, "later", 1], undefined]);
});

test("for await reads a subscription until it is closed; RESP3 subscriptions work alike", async () => {
  for (const resp of [2, 3] as const) {
    const db = client({ resp });
    const [sub] = await db.subscribe(`loop${resp}`);
    const got: string[] = [];
    const done = (async () => {
      for await (const m of sub!) {
        got.push(m.data);
        if (got.length === 3) sub!.close();
      }
    })();
    for (const text of ["a", "b", "c"]) await db.publish(`loop${resp}`, text);
    await done;
    assert.equal(got, ["a", "b", "c"]);
  }
});

test("maxqueue: a subscription nobody reads is closed with \"overflow\"; what it held is still read", async () => {
  const db = client({ maxqueue: 5 });
  const [sub] = await db.subscribe("flood");
  const [keep] = await db.subscribe("flood2");
  const [rs] = await db.pipeline(Array.from({ length: 8 }, (_, i) => ["PUBLISH", "flood", String(i)]));
  assert.is(rs!.length, 8);
  await db.publish("flood2", "after"); // arrives after the flood: the overflow happened by then
  assert.is((await keep!.read())[0]!.data, "after");
  const got: string[] = [];
  for (;;) {
    const [m, err] = await sub!.read();
    if (m === undefined) {
      assert.is(err!.kind, "overflow");
      break;
    }
    got.push(m.data);
  }
  assert.equal(got, ["0", "1", "2", "3", "4"]);
});

test("db.close() ends every subscription's reads with \"closed\"", async () => {
  const db = client();
  const [sub] = await db.subscribe("c1");
  const [psub] = await db.psubscribe("p*");
  const waiting = sub!.read();
  db.close();
  assert.is((await waiting)[1]!.kind, "closed");
  assert.is((await psub!.read())[1]!.kind, "closed");
});

test.run();
