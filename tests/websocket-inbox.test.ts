// The socket's receive queue (packages/silly-net-websocket/src/inbox.ts): order,
// byte count, and storage that follows what it holds under a standing backlog.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Inbox } from "../packages/silly-net-websocket/src/inbox.js";
import { liveheap } from "./lib/liveheap.js";

test("messages come out in order; bytes count what is queued", () => {
  const q = new Inbox();
  assert.ok(q.empty);
  q.push(["abc", "text"]);
  q.push([Buffer.alloc(10), "binary"]);
  q.push(["", "text"]);
  assert.is(q.bytes, 13);
  assert.equal(q.shift(), ["abc", "text"]);
  assert.is(q.bytes, 10);
  assert.is(q.shift()[1], "binary");
  assert.equal(q.shift(), ["", "text"]);
  assert.ok(q.empty);
  assert.is(q.bytes, 0);
});

test("order survives compaction", () => {
  const q = new Inbox();
  let next = 0;
  for (let i = 0; i < 3000; i++) q.push([String(i), "text"]);
  for (let i = 0; i < 50_000; i++) {
    assert.is(q.shift()[0], String(next++));
    q.push([String(3000 + i), "text"]);
  }
  while (!q.empty) assert.is(q.shift()[0], String(next++));
  assert.is(next, 53_000);
});

// 2 million messages through a queue that never empties: a queue that only
// releases its storage when drained would keep a slot per message (16 MB and more).
test("a standing backlog of one message: 2 million push/shift pairs keep the heap flat", () => {
  const q = new Inbox();
  const msg: [string, "text"] = ["m", "text"];
  q.push(msg);
  const before = liveheap();
  for (let i = 0; i < 2_000_000; i++) {
    q.push(msg);
    q.shift();
  }
  const grown = liveheap() - before;
  assert.not.ok(q.empty);
  assert.ok(grown < 4 * 1024 * 1024, `the heap grew by ${grown} bytes`);
});

test.run();
