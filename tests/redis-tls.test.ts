// silly-store-redis over TLS: rediss:// URLs and the tls option, against a
// redis-server listening with TLS (its --tls-port) and the test CA's
// certificate for 127.0.0.1. Commands, a subscription, and each way a TLS
// connection can be refused, as error values.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import redis, { RedisError } from "silly-store-redis";
import type { Client, Options } from "silly-store-redis";
import { freeport, startredis } from "./lib/redis.js";
import type { RedisServer } from "./lib/redis.js";

const fixture = (name: string): string => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const ca = readFileSync(fixture("ca.pem"), "utf8");

let server: RedisServer;
let tlsaddr = "";
const open: Client[] = [];

function client(opts: Options): Client {
  const db = redis.new(opts);
  open.push(db);
  return db;
}

test.before(async () => {
  const port = await freeport();
  server = await startredis({
    args: [
      "--tls-port", String(port), "--tls-cert-file", fixture("localhost.pem"), "--tls-key-file", fixture("localhost-key.pem"),
      "--tls-ca-cert-file", fixture("ca.pem"), "--tls-auth-clients", "no",
    ],
  });
  tlsaddr = `127.0.0.1:${port}`;
});

test.after.each(() => {
  for (const db of open.splice(0)) db.close();
});

test.after(async () => {
  await server?.stop();
});

test("rediss:// with the server's CA: commands and a subscription over TLS", async () => {
  const db = client({ addr: `rediss://${tlsaddr}/3`, tls: { ca } });
  assert.equal(await db.set("k", "over tls"), ["OK", undefined]);
  assert.equal(await db.get("k"), ["over tls", undefined]);
  // db 3 from the URL: the plain port sees the key there, not in db 0.
  const plain = client({ addr: `redis://${server.addr}/3` });
  assert.equal(await plain.get("k"), ["over tls", undefined]);
  assert.equal(await client({ addr: server.addr }).get("k"), [null, undefined]);

  const [sub, serr] = await db.subscribe("news");
  assert.is(serr, undefined);
  assert.equal(await db.publish("news", "hello"), [1, undefined]);
  const [msg] = await sub!.read();
  assert.is(msg?.data, "hello");
  sub!.close();
});

test("tls: { ca } with a host:port address; tls: true and verify: false", async () => {
  assert.equal(await client({ addr: tlsaddr, tls: { ca } }).ping(), ["PONG", undefined]);
  // The test CA is not among the system's: checked, the certificate is refused; unchecked, it is taken.
  const [, err] = await client({ addr: tlsaddr, tls: true, connecttimeout: 5000 }).ping();
  assert.instance(err, RedisError);
  assert.is(err!.kind, "connect");
  assert.match(err!.message, /certificate/i);
  assert.equal(await client({ addr: `rediss://${tlsaddr}`, tls: { verify: false } }).ping(), ["PONG", undefined]);
  // A name the certificate does not cover.
  const [, nerr] = await client({ addr: tlsaddr, tls: { ca, hostname: "other.test" } }).ping();
  assert.is(nerr?.kind, "connect");
  assert.match(nerr!.message, /other\.test/);
});

test("plain RESP to the TLS port and TLS to the plain port fail as connect errors", async () => {
  // Without a handshake to send (no auth, name, db), TCP alone connects: the PING is the first
  // thing the TLS port sees, and it drops the connection ("lost"); with one, connecting fails.
  const [, perr] = await client({ addr: tlsaddr, connecttimeout: 2000 }).ping();
  assert.is(perr?.kind, "lost");
  const [, herr] = await client({ addr: tlsaddr, name: "plain", connecttimeout: 2000 }).ping();
  assert.is(herr?.kind, "connect");
  const [, terr] = await client({ addr: `rediss://${server.addr}`, tls: { ca }, connecttimeout: 2000 }).ping();
  assert.is(terr?.kind, "connect");
});

test("bad tls options throw at redis.new", () => {
  assert.throws(() => redis.new({ addr: `rediss://${tlsaddr}`, tls: false }), /rediss:\/\/ URL with tls: false/);
  assert.throws(() => redis.new({ addr: tlsaddr, tls: "yes" as never }), /tls must be/);
  assert.throws(() => redis.new({ addr: tlsaddr, tls: null as never }), /tls must be/);
});

test.run();
