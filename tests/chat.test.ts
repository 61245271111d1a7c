// The chat app (examples/chat) in one process, over real sockets: our own
// WebSocket client plays the users, both plain clients (text frames, the
// four events) and v2 clients (JSON commands, welcome and error events).
import { test } from "uvu";
import * as assert from "uvu/assert";
import http from "silly-net-http";
import { startchat } from "../examples/chat/server.js";
import type { Chat, Event } from "../examples/chat/server.js";
import { MAX_TEXT } from "../examples/chat/protocol.js";
import { PRESENCE_MS } from "../examples/chat/room.js";
import logger from "silly/logger";
import { family, parse } from "./lib/promtext.js";
import { join as joinaddr, listing, until } from "./lib/chat.js";

logger.setlevel(logger.ERROR);

async function start(): Promise<Chat> {
  const [chat, err] = await startchat("127.0.0.1:0");
  assert.ok(chat, err);
  return chat!;
}

function join(chat: Chat, name: string, v2 = false) {
  return joinaddr(chat.addr, name, v2);
}

test("GET / serves the page, unknown paths 404", async () => {
  const chat = await start();
  const [res, err] = await http.get(`http://${chat.addr}/`);
  assert.ok(res, err);
  assert.is(res!.status, 200);
  assert.match(res!.header["content-type"] ?? "", /text\/html/);
  assert.match(res!.body.toString(), /new WebSocket\(/);
  const [nf] = await http.get(`http://${chat.addr}/nope`);
  assert.is(nf!.status, 404);
  await chat.stop();
});

test("two users see each other's messages, presence and leaving", async () => {
  const chat = await start();
  const ann = await join(chat, "ann");
  await until(ann, (e) => e.type === "presence" && e.online!.includes("ann"));
  const bob = await join(chat, "bob");
  const seen = await until(ann, (e) => e.type === "presence" && e.online!.includes("bob"));
  assert.equal(seen.online!.sort(), ["ann", "bob"]);
  await ann.write("hello bob", "text");
  const m = await until(bob, (e) => e.type === "message");
  assert.is(m.name, "ann");
  assert.is(m.text, "hello bob");
  await bob.write("hi ann 你好", "text");
  const m2 = await until(ann, (e) => e.type === "message" && e.name === "bob");
  assert.is(m2.text, "hi ann 你好");
  await bob.close();
  const left = await until(ann, (e) => e.type === "leave");
  assert.is(left.name, "bob");
  const p = await until(ann, (e) => e.type === "presence");
  assert.equal(p.online, ["ann"]);
  await ann.close();
  await chat.stop();
});

const OLD_TYPES = ["message", "join", "leave", "presence"];
const OLD_FIELDS = ["type", "name", "text", "online", "at", "self", "from", "to"];

test("old-style clients: text frames are messages, ?name= picks the name, events keep their types and fields", async () => {
  const chat = await start();
  const ann = await join(chat, "ann");
  const seen: Event[] = [];
  const record = (e: Event): Event => (seen.push(e), e);
  await until(ann, (e) => record(e).type === "presence" && e.online!.includes("ann"));
  const anon = await join(chat, "");
  const p = await until(ann, (e) => record(e).type === "presence" && e.online!.length === 2);
  assert.match(p.online![1]!, /^guest-\d+$/);
  await anon.write("  hello there  ", "text");
  const m = await until(ann, (e) => record(e).type === "message");
  assert.equal([m.name, m.text, typeof m.at], [p.online![1], "hello there", "number"]);
  assert.ok(Math.abs(m.at! - Date.now()) < 60_000, "at is the server's Date.now()");
  // Too long: cut to the limit, as it always was for plain clients.
  await anon.write("y".repeat(MAX_TEXT + 100), "text");
  assert.is((await until(ann, (e) => record(e).type === "message")).text, "y".repeat(MAX_TEXT));
  // JSON from a plain client is just text.
  await anon.write('{"type":"name","name":"mallory"}', "text");
  assert.is((await until(ann, (e) => record(e).type === "message")).text, '{"type":"name","name":"mallory"}');
  await anon.close();
  const left = await until(ann, (e) => record(e).type === "leave");
  assert.equal([left.name, typeof left.at], [p.online![1], "number"]);
  await until(ann, (e) => record(e).type === "presence" && e.online!.length === 1);
  for (const e of seen) {
    assert.ok(OLD_TYPES.includes(e.type), `a plain client got a ${e.type} event`);
    for (const k of Object.keys(e)) assert.ok(OLD_FIELDS.includes(k), `field ${k} in ${JSON.stringify(e)}`);
  }
  await ann.close();
  await chat.stop();
});

test("v2 clients: a welcome with their name, renames, their own messages marked, errors instead of silent cuts", async () => {
  const chat = await start();
  const obs = await join(chat, "obs");
  const me = await join(chat, "", true);
  const w = await until(me, (e) => e.type === "welcome");
  assert.match(w.name!, /^guest-\d+$/);
  assert.is(w.maxlength, MAX_TEXT);
  await until(obs, listing("obs", w.name!));

  await me.write(JSON.stringify({ type: "name", name: "  zoe " }), "text");
  assert.equal(await until(me, (e) => e.type === "welcome"), { type: "welcome", name: "zoe", maxlength: MAX_TEXT });
  const leave = await until(obs, (e) => e.type === "leave");
  assert.equal([leave.name, leave.to], [w.name, "zoe"]);
  const j = await until(obs, (e) => e.type === "join");
  assert.equal([j.name, j.from], ["zoe", w.name]);
  await until(obs, listing("obs", "zoe"));

  for (const [frame, why] of [
    [JSON.stringify({ type: "message", text: "x".repeat(MAX_TEXT + 1) }), /^message too long: 2001 characters, the limit is 2000$/],
    ["plain text", /JSON object/],
    [JSON.stringify({ type: "name", name: " " }), /cannot be empty/],
    [JSON.stringify({ type: "dance" }), /unknown command "dance"/],
  ] as const) {
    await me.write(frame, "text");
    assert.match((await until(me, (e) => e.type === "error")).text!, why);
  }
  await me.write(JSON.stringify({ type: "message", text: "x".repeat(MAX_TEXT) }), "text");
  const own = await until(me, (e) => e.type === "message");
  assert.equal([own.name, own.text!.length, own.self], ["zoe", MAX_TEXT, true]);
  const theirs = await until(obs, (e) => e.type === "message");
  assert.equal([theirs.name, theirs.text!.length, theirs.self], ["zoe", MAX_TEXT, undefined], "only the long enough one got through");
  await me.close();
  await obs.close();
  await chat.stop();
});

test("a crowd joining at once costs a presence event per PRESENCE_MS, and the last one lists everyone", async () => {
  const chat = await start();
  const obs = await join(chat, "obs");
  await until(obs, listing("obs"));
  const names = Array.from({ length: 40 }, (_, i) => `n${i}`);
  let presences = 0;
  const t0 = performance.now();
  const socks = await Promise.all(names.map((n) => join(chat, n)));
  await until(obs, (e) => e.type === "presence" && ++presences > 0 && listing("obs", ...names)(e));
  const windows = Math.ceil((performance.now() - t0) / PRESENCE_MS) + 1;
  assert.ok(presences <= windows, `${presences} presence events in ${windows} windows of ${PRESENCE_MS} ms`);
  for (const s of socks) await s.close();
  await obs.close();
  await chat.stop();
});

/** The chat's /metrics, parsed: metric name -> value of its one sample. */
async function scrape(chat: Chat): Promise<(name: string) => number> {
  const [res, err] = await http.get(`http://${chat.addr}/metrics`);
  assert.ok(res, err);
  assert.is(res!.status, 200);
  assert.match(res!.header["content-type"] ?? "", /^text\/plain; version=0\.0\.4/);
  const families = parse(res!.body.toString());
  return (name) => Number(family(families, name).metrics[0]!.value);
}

test("/metrics: open sockets, messages and bytes in and out, dropped clients", async () => {
  const chat = await start();
  const ann = await join(chat, "ann");
  await until(ann, (e) => e.type === "presence" && e.online!.includes("ann"));
  const bob = await join(chat, "bob");
  await until(ann, (e) => e.type === "presence" && e.online!.includes("bob"));
  await ann.write("héllo", "text");
  await until(bob, (e) => e.type === "message");
  await until(ann, (e) => e.type === "message");
  let m = await scrape(chat);
  assert.is(m("chat_sockets_open"), 2);
  assert.is(m("chat_messages_received_total"), 1);
  assert.is(m("chat_received_bytes_total"), Buffer.byteLength("héllo"));
  // join(ann) + presence to ann; join(bob) + presence to both; the message to both
  assert.is(m("chat_messages_sent_total"), 2 + 4 + 2);
  assert.ok(m("chat_sent_bytes_total") > 8 * 20);
  assert.is(m("chat_clients_dropped_total"), 0);
  assert.ok(m("process_resident_memory_bytes") > 0);
  assert.ok(m("silly_tasks") >= 3);
  await bob.close();
  await until(ann, (e) => e.type === "leave");
  m = await scrape(chat);
  assert.is(m("chat_sockets_open"), 1);
  await ann.close();
  await chat.stop();
});

test("stop closes every socket with 1001", async () => {
  const chat = await start();
  const ann = await join(chat, "ann");
  await until(ann, (e) => e.type === "presence");
  const stopping = chat.stop();
  for (;;) {
    const [data, typ] = await ann.read();
    if (data === undefined || typ === "close") break;
  }
  assert.is(ann.closecode, 1001);
  await stopping;
  await ann.close();
});

test.run();
