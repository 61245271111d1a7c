// The chat keeps the readers that keep up and drops the ones that do not:
// one sender's burst of 1,000 messages of 1,900 characters all reach a fast
// reader in another process, which is not dropped, while a client that never
// reads is dropped once the kernel stops taking its bytes; 50 talkers sending
// 20 such messages each at once keep all 50 readers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect as netconnect } from "node:net";
import websocket from "silly-net-websocket";
import http from "silly-net-http";
import logger from "silly/logger";
import { startchat, MAX_BACKLOG } from "../examples/chat/server.js";
import type { Chat, Event } from "../examples/chat/server.js";
import { program } from "./lib/child.js";
import { join, listing, until } from "./lib/chat.js";
import { family, parse } from "./lib/promtext.js";

logger.setlevel(logger.ERROR);

const N = 1000;
const TEXT = "x".repeat(1900);

// The reader, in a process of its own: counts the sender's messages and says
// when it has them all; says how its socket ended, should it end.
const READER = `
import websocket from "silly-net-websocket";
const [url, n] = process.argv.slice(1);
const [sock, err] = await websocket.connect(url);
if (sock === undefined) { console.log("CONNECT FAILED", err); process.exit(1); }
let got = 0;
for (;;) {
  const [data, typ] = await sock.read();
  if (data === undefined || typ === "close") break;
  const e = JSON.parse(data);
  if (e.type === "presence" && e.online.includes("reader")) console.log("READY");
  if (e.type === "message" && e.name === "sender" && ++got === Number(n)) console.log("GOT ALL");
  if (e.type === "message" && e.text === "still there?") console.log("STILL HERE");
}
console.log("CLOSED", sock.closecode, sock.closereason);
await sock.close();
`;

async function dropped(chat: Chat): Promise<number> {
  const [res, err] = await http.get(`http://${chat.addr}/metrics`);
  assert.ok(res, err);
  return Number(family(parse(res!.body.toString()), "chat_clients_dropped_total").metrics[0]!.value);
}

test("1,000 messages of 1,900 characters reach a fast reader in another process; a client that never reads is dropped", async () => {
  const [chat, err] = await startchat("127.0.0.1:0");
  assert.ok(chat, err);
  const reader = program(READER, [`ws://${chat!.addr}/ws?name=reader`, String(N)]);
  await reader.waitfor(/READY/);

  // A raw client that completes the handshake and then never reads a byte.
  const raw = netconnect(Number(chat!.addr.split(":")[1]), "127.0.0.1");
  await new Promise<void>((resolve) => raw.once("connect", resolve));
  raw.write(
    "GET /ws?name=stall HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  raw.pause();

  const [sender, serr] = await websocket.connect(`ws://${chat!.addr}/ws?name=sender`);
  assert.ok(sender, serr);
  await until(sender!, (e) => e.type === "presence" && e.online!.includes("stall") && e.online!.includes("sender"));
  let left: Event | undefined;
  const watching = until(sender!, (e) => e.type === "leave", 60_000, "a leave").then((e) => (left = e));
  // One burst: every message queued at once, so they reach the server together.
  const writes = [];
  for (let i = 0; i < N; i++) writes.push(sender!.write(TEXT, "text"));
  await Promise.all(writes);
  await reader.waitfor(/GOT ALL/, 60_000);

  // Keep talking until the stalled client is dropped (bounded: 40 times its backlog bound).
  for (let i = 0; left === undefined && i < (MAX_BACKLOG / 1900) * 40; i++) {
    await sender!.write(TEXT, "text");
    if (i % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  await watching;
  assert.is(left!.name, "stall", "the stalled client, and no other, is dropped");
  assert.is(await dropped(chat!), 1);
  await sender!.write("still there?", "text");
  await reader.waitfor(/STILL HERE/);
  assert.not.match(reader.output(), /CLOSED/);

  raw.destroy();
  await sender!.close();
  await chat!.stop();
  assert.match((await reader.waitfor(/CLOSED \d+/))[0], /CLOSED 1001/);
  await reader.exited();
});

test("50 talkers x 20 messages of 1,900 characters: everyone gets all 1,000, nobody is dropped", async () => {
  const [chat, err] = await startchat("127.0.0.1:0");
  assert.ok(chat, err);
  const names = Array.from({ length: 50 }, (_, i) => `t${i}`);
  const socks = await Promise.all(names.map((n) => join(chat!.addr, n)));
  await until(socks[0]!, listing(...names), 10_000, "everyone in the list");
  const got = await Promise.all(
    socks.map(async (s) => {
      const writes = [];
      for (let i = 0; i < 20; i++) writes.push(s.write(TEXT, "text"));
      await Promise.all(writes);
      let n = 0;
      await until(s, (e) => e.type === "message" && ++n === 1000, 60_000, "the 1,000th message");
      return n;
    }),
  );
  assert.equal(got, names.map(() => 1000));
  assert.is(await dropped(chat!), 0);
  for (const s of socks) await s.close();
  await chat!.stop();
});

test.run();
