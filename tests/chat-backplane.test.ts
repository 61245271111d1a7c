// The chat on several processes sharing one redis-server: messages and
// presence cross; a killed process's users leave within a bound while the
// others keep serving; a Redis restart is survived; --workers=N shares one
// port among N processes and stops with its primary.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join as joinpath } from "node:path";
import logger from "silly/logger";
import { startredis } from "./lib/redis.js";
import type { RedisServer } from "./lib/redis.js";
import { start, portfree } from "./lib/child.js";
import { chatprocess, closed, join, listing, root, until } from "./lib/chat.js";
import type { ChatProcess } from "./lib/chat.js";

logger.setlevel(logger.ERROR);

const HEARTBEAT = 200;
/** A silent process's users are gone after three heartbeats, seen at the next one: this leaves room for a loaded machine. */
const GONE_MS = 10 * HEARTBEAT + 3000;

let redis: RedisServer;
const procs: ChatProcess[] = [];

async function chat(): Promise<ChatProcess> {
  const p = await chatprocess([`--redis=redis://${redis.addr}`, `--heartbeat=${HEARTBEAT}`]);
  procs.push(p);
  return p;
}

test.before(async () => {
  redis = await startredis();
});

/** Stop what a test left running (a failed one, say), so that the next starts with an empty room. */
test.after.each(async () => {
  for (const p of procs.splice(0)) {
    p.child.proc.kill("SIGKILL");
    await p.child.exited();
  }
});

test.after(async () => {
  await redis?.stop();
});

test("two chat processes share the room: messages, presence, joins and leaves cross", async () => {
  const [one, two] = await Promise.all([chat(), chat()]);
  const ann = await join(one.addr, "ann");
  const bob = await join(two.addr, "bob", true);
  await until(ann, listing("ann", "bob"), 10_000, "bob in ann's list");
  await until(bob, listing("ann", "bob"), 10_000, "ann in bob's list");

  await ann.write("hello from one", "text"); // a plain text frame
  const m = await until(bob, (e) => e.type === "message", 5000, "ann's message");
  assert.equal([m.name, m.text, typeof m.at, m.self], ["ann", "hello from one", "number", undefined]);
  await bob.write(JSON.stringify({ type: "message", text: "hi ann" }), "text");
  const back = await until(ann, (e) => e.type === "message" && e.name === "bob", 5000, "bob's message");
  assert.equal([back.name, back.text], ["bob", "hi ann"]);
  const own = await until(bob, (e) => e.type === "message", 5000, "bob's own copy");
  assert.equal([own.name, own.self], ["bob", true]);

  // A rename is a leave and a join, everywhere.
  await bob.write(JSON.stringify({ type: "name", name: "robert" }), "text");
  const leave = await until(ann, (e) => e.type === "leave", 5000, "bob's leave");
  assert.equal([leave.name, leave.to], ["bob", "robert"]);
  const j = await until(ann, (e) => e.type === "join", 5000, "robert's join");
  assert.equal([j.name, j.from], ["robert", "bob"]);
  await until(ann, listing("ann", "robert"), 5000, "robert in ann's list");

  // Guests are numbered across the processes.
  const guests = await Promise.all([join(one.addr, "", true), join(two.addr, "", true), join(one.addr, "", true)]);
  const names = await Promise.all(guests.map(async (g) => (await until(g, (e) => e.type === "welcome", 5000, "a welcome")).name!));
  for (const n of names) assert.match(n, /^guest-\d+$/);
  assert.is(new Set(names).size, 3, names.join(", "));
  for (const g of guests) await g.close();

  await bob.close();
  assert.is((await until(ann, (e) => e.type === "leave" && e.name === "robert", 5000, "robert's leave")).name, "robert");
  await until(ann, listing("ann"), 5000, "ann alone");
  await ann.close();
});

test("a killed chat process: its users leave the others' lists within the bound, the others keep serving", async () => {
  const [one, two] = await Promise.all([chat(), chat()]);
  const ann = await join(one.addr, "ann");
  const carol = await join(one.addr, "carol");
  const bob = await join(two.addr, "bob");
  const dave = await join(two.addr, "dave");
  await until(ann, listing("ann", "carol", "bob", "dave"), 10_000, "all four in ann's list");
  await until(bob, listing("ann", "carol", "bob", "dave"), 10_000, "all four in bob's list");

  two.child.proc.kill("SIGKILL");
  await until(ann, listing("ann", "carol"), GONE_MS, "the killed process's users gone from ann's list");
  await ann.write("still here", "text");
  assert.is((await until(carol, (e) => e.type === "message", 5000, "ann's message")).text, "still here");

  // A new process joins the room and learns who is there from the others' answers to its hello.
  const three = await chat();
  const erin = await join(three.addr, "erin");
  await until(erin, listing("ann", "carol", "erin"), 10_000, "ann and carol in erin's list");
  for (const s of [ann, carol, bob, dave, erin]) await s.close();
});

test("Redis restarted: each process serves its own users meanwhile, then the room is whole again", async () => {
  const [one, two] = await Promise.all([chat(), chat()]);
  const ann = await join(one.addr, "ann", true);
  const carol = await join(one.addr, "carol");
  const bob = await join(two.addr, "bob");
  await until(ann, listing("ann", "carol", "bob"), 10_000, "the room in ann's list");
  await until(bob, listing("ann", "carol", "bob"), 10_000, "the room in bob's list");

  await redis.stop();
  // ann is told her message reached only her own server's users; carol gets it.
  await ann.write(JSON.stringify({ type: "message", text: "during the outage" }), "text");
  const err = await until(ann, (e) => e.type === "error", 10_000, "the error about the outage");
  assert.match(err.text!, /only this server's users/);
  assert.is((await until(carol, (e) => e.type === "message", 5000, "ann's message")).text, "during the outage");
  // The other process's users leave the list once their roster expires.
  await until(ann, listing("ann", "carol"), GONE_MS, "bob gone from ann's list during the outage");

  await redis.start(); // the same port, empty
  await until(ann, listing("ann", "carol", "bob"), GONE_MS, "bob back in ann's list");
  await until(bob, listing("ann", "carol", "bob"), GONE_MS, "ann and carol back in bob's list");
  await ann.write(JSON.stringify({ type: "message", text: "after the outage" }), "text");
  assert.is((await until(bob, (e) => e.type === "message", 5000, "ann's message after the outage")).text, "after the outage");
  for (const s of [ann, carol, bob]) await s.close();
});

test("--workers=2: one port, two processes, one room; a dead worker is replaced; SIGTERM to the primary stops them all", async () => {
  const bin = joinpath(root, "packages/silly/bin/silly.js");
  const primary = start(process.execPath, [...process.execArgv, bin, "examples/chat/main.ts", "--port=0", "--workers=2", `--redis=redis://${redis.addr}`, `--heartbeat=${HEARTBEAT}`], { cwd: root });
  procs.push({ child: primary, addr: "" });
  const [, addr] = await primary.waitfor(/2 workers listening on (127\.0\.0\.1:\d+)/, 30_000);
  // Connections are dealt to the workers in turn.
  const users = ["u1", "u2", "u3", "u4"];
  const socks = [];
  for (const u of users) socks.push(await join(addr!, u));
  await until(socks[0]!, listing(...users), 10_000, "all four in u1's list");
  await socks[3]!.write("across workers", "text");
  for (const s of socks) assert.is((await until(s, (e) => e.type === "message", 5000, "u4's message")).text, "across workers");

  const pids = [...primary.output().matchAll(/worker (\d+) started/g)].map((m) => Number(m[1]));
  assert.is(pids.length, 2, primary.output());
  process.kill(pids[0]!, "SIGKILL");
  await primary.waitfor(new RegExp(`worker ${pids[0]} exited`), 10_000);
  // Two of the four were on the killed worker: their sockets end, the other two see them leave.
  const after = await Promise.allSettled(socks.map((s) => until(s, (e) => e.type === "presence" && e.online!.length === 2, GONE_MS, "the dead worker's users gone")));
  const survivors = socks.filter((_, i) => after[i]!.status === "fulfilled");
  assert.is(survivors.length, 2, after.map((r) => (r.status === "rejected" ? String(r.reason) : "ok")).join("\n"));
  await primary.waitfor(/(worker \d+ started[\s\S]*){3}/, 10_000);

  primary.proc.kill("SIGTERM");
  for (const s of survivors) assert.is(await closed(s), 1001);
  assert.is((await primary.exited()).code, 0, primary.output());
  assert.ok(await portfree(Number(addr!.split(":")[1])), "nothing listens any more");
});

test("--workers=2: when the primary is killed, the workers exit too", async () => {
  const bin = joinpath(root, "packages/silly/bin/silly.js");
  const primary = start(process.execPath, [...process.execArgv, bin, "examples/chat/main.ts", "--port=0", "--workers=2", `--redis=redis://${redis.addr}`], { cwd: root });
  procs.push({ child: primary, addr: "" });
  const [, addr] = await primary.waitfor(/2 workers listening on (127\.0\.0\.1:\d+)/, 30_000);
  const socks = [await join(addr!, "u1"), await join(addr!, "u2")];
  await until(socks[0]!, listing("u1", "u2"), 10_000, "both in u1's list");
  primary.proc.kill("SIGKILL");
  // Each worker sees its channel to the primary close and exits: its sockets end without a close frame.
  for (const s of socks) assert.is(await closed(s), undefined);
  assert.ok(await portfree(Number(addr!.split(":")[1])), "nothing listens any more");
});

test.run();
