import { test } from "uvu";
import * as assert from "uvu/assert";
import channel from "silly-sync-channel";
import task from "silly/task";
import { liveheap } from "./lib/liveheap.js";

test("FIFO across 1,000 values, falsy values intact", async () => {
  const ch = channel.new<unknown>();
  const obj = { ref: true };
  const values: unknown[] = [0, "", false, null, obj];
  for (let i = 0; i < 1000; i++) values.push(i);
  for (const v of values) assert.equal(ch.send(v), [true, undefined]);
  const got: unknown[] = [];
  for (let i = 0; i < values.length; i++) {
    const [v, err] = await ch.recv();
    assert.is(err, undefined);
    got.push(v);
  }
  assert.equal(got, values);
  assert.is(got[4], obj); // by reference
});

test("send(undefined) fails with a reason; push/pop are aliases", async () => {
  const ch = channel.new<string | undefined>();
  const [ok, why] = ch.send(undefined);
  assert.is(ok, false);
  assert.match(String(why), /undefined/);
  assert.equal(ch.push("a"), [true, undefined]);
  assert.equal(await ch.pop(), ["a", undefined]);
});

test("recv waits for a send from another task", async () => {
  const ch = channel.new<string>();
  task.fork(() => {
    ch.send("world");
  });
  assert.equal(await ch.recv(), ["world", undefined]);
});

test("close keeps queued values, then fails recv and send with the reason", async () => {
  const ch = channel.new<string>();
  ch.send("m1");
  ch.send("m2");
  ch.close();
  assert.equal(await ch.recv(), ["m1", undefined]);
  assert.equal(await ch.recv(), ["m2", undefined]);
  assert.equal(await ch.recv(), [undefined, "channel closed"]);
  assert.equal(ch.send("m3"), [false, "channel closed"]);
  const tagged = channel.new();
  const sentinel = { why: "shutdown" };
  tagged.close(sentinel);
  const [, err] = await tagged.recv();
  assert.is(err, sentinel);
});

test("close wakes every blocked receiver", async () => {
  const ch = channel.new<number>();
  const waits = [ch.recv(), ch.recv(), ch.recv()];
  ch.close("bye");
  assert.equal(await Promise.all(waits), [
    [undefined, "bye"],
    [undefined, "bye"],
    [undefined, "bye"],
  ]);
});

test("clear drops queued values; later recv blocks for new ones", async () => {
  const ch = channel.new<string>();
  ch.send("a");
  ch.send("b");
  assert.is(ch.size, 2);
  ch.clear();
  assert.is(ch.size, 0);
  const p = ch.recv();
  task.fork(() => ch.send("new"));
  assert.equal(await p, ["new", undefined]);
});

test("several receivers are served first come, first served", async () => {
  const ch = channel.new<number>();
  const a = ch.recv();
  const b = ch.recv();
  const c = ch.recv();
  ch.send(1);
  ch.send(2);
  ch.send(3);
  assert.equal(await Promise.all([a, b, c]), [
    [1, undefined],
    [2, undefined],
    [3, undefined],
  ]);
});

test("many producers, several consumers: nothing lost, nothing duplicated", async () => {
  const ch = channel.new<number>();
  const PRODUCERS = 8;
  const PER = 500;
  const seen: number[] = [];
  const consumers: Promise<void>[] = [];
  for (let c = 0; c < 4; c++) {
    consumers.push(
      new Promise<void>((resolve) => {
        task.fork(async () => {
          for await (const v of ch) {
            seen.push(v);
            if (v % 7 === 0) await Promise.resolve(); // interleave
          }
          resolve();
        });
      }),
    );
  }
  const producers: Promise<void>[] = [];
  for (let p = 0; p < PRODUCERS; p++) {
    producers.push(
      new Promise<void>((resolve) => {
        task.fork(async () => {
          for (let i = 0; i < PER; i++) {
            ch.send(p * PER + i);
            if (i % 50 === 0) await new Promise((r) => setImmediate(r));
          }
          resolve();
        });
      }),
    );
  }
  await Promise.all(producers);
  ch.close();
  await Promise.all(consumers);
  assert.is(seen.length, PRODUCERS * PER);
  assert.is(new Set(seen).size, PRODUCERS * PER);
});

// 2 million values through a queue that never empties: a FIFO that only
// releases its storage when drained would keep a slot per value (16 MB and more).
const PAIRS = 2_000_000;
const HEAP_SLACK = 4 * 1024 * 1024;

test("a standing backlog of one value: 2 million send/recv pairs keep the heap flat", async () => {
  const ch = channel.new<number>();
  ch.send(0);
  const before = liveheap();
  for (let i = 1; i <= PAIRS; i++) {
    ch.send(i);
    void ch.recv(); // a value is queued: recv takes it at once
  }
  const grown = liveheap() - before;
  assert.is(ch.size, 1);
  assert.equal(await ch.recv(), [PAIRS, undefined]);
  assert.ok(grown < HEAP_SLACK, `the heap grew by ${grown} bytes`);
});

test("a standing backlog of one receiver: 2 million recv/send pairs keep the heap flat", async () => {
  const ch = channel.new<number>();
  const first = ch.recv();
  const before = liveheap();
  let last = first;
  for (let i = 1; i <= PAIRS; i++) {
    last = ch.recv();
    ch.send(i); // wakes the oldest receiver
  }
  const grown = liveheap() - before;
  assert.equal(await first, [1, undefined]);
  ch.send(-1);
  assert.equal(await last, [-1, undefined]);
  assert.ok(grown < HEAP_SLACK, `the heap grew by ${grown} bytes`);
});

test.run();
