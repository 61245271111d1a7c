import { test } from "uvu";
import * as assert from "uvu/assert";
import mutex, { Lock, Mutex } from "silly-sync-mutex";
import waitgroup from "silly-sync-waitgroup";
import task from "silly/task";
import time from "silly/time";
import { intask } from "./lib/intask.js";

test("one holder at a time: read-modify-write across sleeps stays consistent", async () => {
  const m = mutex.new();
  assert.instance(m, Mutex);
  const key = {};
  let counter = 0;
  let inside = 0;
  let most = 0;
  const wg = waitgroup.new();
  for (let i = 0; i < 5; i++) {
    wg.fork(async () => {
      using lock = await m.lock(key);
      inside++;
      most = Math.max(most, inside);
      const old = counter;
      await time.sleep(2);
      counter = old + 1;
      inside--;
    });
  }
  await wg.wait();
  assert.is(counter, 5);
  assert.is(most, 1);
  assert.not.ok(m.islocked(key));
});

test("waiters get the lock in the order they asked", async () => {
  const m = mutex.new();
  const order: number[] = [];
  const wg = waitgroup.new();
  for (let i = 0; i < 6; i++) {
    wg.fork(async () => {
      const lock = await m.lock("k");
      order.push(i);
      await time.sleep(1);
      lock.unlock();
    });
  }
  await wg.wait();
  assert.equal(order, [0, 1, 2, 3, 4, 5]);
});

test("reentrant for the holding task, across awaits; others wait for the last unlock", async () => {
  const m = mutex.new();
  const log: string[] = [];
  const wg = waitgroup.new();
  wg.fork(async () => {
    const l1 = await m.lock("k");
    await time.sleep(1);
    const l2 = await m.lock("k"); // same task: no deadlock
    {
      using l3 = await m.lock("k");
      log.push("three deep");
    }
    l2.unlock();
    log.push("still held");
    await time.sleep(5);
    assert.ok(m.islocked("k"));
    log.push("last unlock");
    l1.unlock();
  });
  wg.fork(async () => {
    await time.sleep(2);
    using lock = await m.lock("k");
    log.push("other task");
  });
  await wg.wait();
  assert.equal(log, ["three deep", "still held", "last unlock", "other task"]);
  assert.not.ok(m.islocked("k"));
});

test("a time.after callback is another task: it waits instead of reentering", async () => {
  const m = mutex.new();
  const log: string[] = [];
  await intask(async () => {
    const lock = await m.lock("k");
    const timer = new Promise<void>((resolve) => {
      time.after(1, async () => {
        using inner = await m.lock("k");
        log.push("timer task");
        resolve();
      });
    });
    await time.sleep(5);
    log.push("owner unlocks");
    lock.unlock();
    await timer;
  });
  assert.equal(log, ["owner unlocks", "timer task"]);
});

test("using releases on a throw; unlock twice and unlock-then-dispose do nothing extra", async () => {
  const m = mutex.new();
  const r = await intask(async () => {
    try {
      using lock = await m.lock("k");
      assert.instance(lock, Lock);
      assert.is(lock.key, "k");
      throw new Error("boom");
    } catch (err) {
      return (err as Error).message;
    }
  });
  assert.is(r, "boom");
  assert.not.ok(m.islocked("k"));
  await intask(async () => {
    const outer = await m.lock("k");
    {
      using early = await m.lock("k");
      early.unlock(); // released early; the end of the scope does not release again
      early.unlock();
    }
    assert.ok(m.islocked("k"), "the outer level is still held");
    outer.unlock();
    assert.not.ok(m.islocked("k"));
  });
});

test("different keys do not block each other", async () => {
  const m = mutex.new();
  const t0 = time.monotonic();
  const wg = waitgroup.new();
  const held: string[] = [];
  for (const key of ["a", "b"]) {
    wg.fork(async () => {
      using lock = await m.lock(key);
      held.push(key);
      await time.sleep(20);
    });
  }
  await time.sleep(5);
  assert.equal(held.sort(), ["a", "b"]); // both inside at once
  await wg.wait();
  assert.ok(time.monotonic() - t0 >= 19);
});

test("lock outside a task is a programmer error", () => {
  assert.is(task.running(), undefined);
  assert.throws(() => mutex.new().lock("k"), /inside a task/);
});

test.run();
