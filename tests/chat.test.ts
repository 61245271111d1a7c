// The chat app (examples/chat) over real sockets: our own WebSocket client
// plays two users; a raw client that never reads is dropped as too slow.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect as netconnect } from "node:net";
import websocket from "silly-net-websocket";
import type { Socket } from "silly-net-websocket";
import http from "silly-net-http";
import { startchat, MAX_BACKLOG } from "../examples/chat/server.js";
import type { Chat, Event } from "../examples/chat/server.js";
import logger from "silly/logger";
import { family, parse } from "./lib/promtext.js";

logger.setlevel(logger.ERROR);

async function start(): Promise<Chat> {
  const [chat, err] = await startchat("127.0.0.1:0");
  assert.ok(chat, err);
  return chat!;
}

async function join(chat: Chat, name: string): Promise<Socket> {
  const [sock, err] = await websocket.connect(`ws://${chat.addr}/ws?name=${encodeURIComponent(name)}`);
  assert.ok(sock, err);
  return sock!;
}

/** Read events until one matches. */
async function until(sock: Socket, match: (e: Event) => boolean): Promise<Event> {
  for (;;) {
    const [data, typ] = await sock.read();
    if (data === undefined) throw new Error(`socket ended: ${typ}`);
    if (typ !== "text") continue;
    const e = JSON.parse(data) as Event;
    if (match(e)) return e;
  }
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

test("a client that never reads is dropped; the others keep chatting", async () => {
  const chat = await start();
  const ann = await join(chat, "ann");
  // A raw client that completes the handshake and then never reads a byte.
  const raw = netconnect(Number(chat.addr.split(":")[1]), "127.0.0.1");
  raw.setNoDelay(true);
  await new Promise<void>((resolve) => raw.once("connect", resolve));
  raw.write(
    "GET /ws?name=stall HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  raw.pause();
  await until(ann, (e) => e.type === "presence" && e.online!.includes("stall"));
  // Flood until the stalled client's backlog passes the bound and it is dropped.
  const big = "x".repeat(1900);
  let dropped: Event | undefined;
  const watcher = until(ann, (e) => e.type === "leave" && e.name === "stall").then((e) => (dropped = e));
  for (let i = 0; dropped === undefined && i < (MAX_BACKLOG / 1900) * 40; i++) {
    await ann.write(big, "text");
    if (i % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  await watcher;
  assert.is(dropped!.name, "stall");
  assert.is((await scrape(chat))("chat_clients_dropped_total"), 1);
  // ann still works.
  await ann.write("still here", "text");
  const m = await until(ann, (e) => e.type === "message" && e.text === "still here");
  assert.is(m.name, "ann");
  raw.destroy();
  await ann.close();
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
