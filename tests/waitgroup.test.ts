import { test } from "uvu";
import * as assert from "uvu/assert";
import waitgroup, { WaitGroup, create } from "silly-sync-waitgroup";
import task from "silly/task";
import time from "silly/time";
import logger from "silly/logger";
import { intask } from "./lib/intask.js";

test("wait resolves once every forked task has finished; count follows", async () => {
  const wg = waitgroup.new();
  assert.instance(wg, WaitGroup);
  const done: number[] = [];
  for (let i = 1; i <= 5; i++) {
    wg.fork(async (n) => {
      await time.sleep(n * 3);
      done.push(n);
    }, i);
  }
  assert.is(wg.count, 5);
  await wg.wait();
  assert.is(wg.count, 0);
  assert.equal(done, [1, 2, 3, 4, 5]);
});

test("wait with nothing forked resolves at once; fork returns the task handle", async () => {
  const wg = create();
  await wg.wait();
  const t = wg.fork(function worker() {});
  assert.instance(t, task.Task);
  assert.is(t.name, "worker");
  await wg.wait();
});

test("a task that throws is logged and still counted as finished", async () => {
  const lines: string[] = [];
  const restore = logger.setsink((l) => lines.push(l));
  const wg = waitgroup.new();
  let ok = 0;
  for (let i = 1; i <= 5; i++) {
    wg.fork(async () => {
      await time.sleep(1);
      if (i === 3) throw new Error("task 3 failed");
      ok++;
    });
  }
  wg.fork(() => {
    throw new Error("sync throw");
  });
  await wg.wait();
  logger.setsink(restore);
  assert.is(ok, 4);
  assert.is(lines.filter((l) => /task 3 failed/.test(l)).length, 1);
  assert.is(lines.filter((l) => /sync throw/.test(l)).length, 1);
});

test("several waiters, inside and outside tasks, all resume", async () => {
  const wg = waitgroup.new();
  wg.fork(() => time.sleep(5));
  const inside = intask(async () => {
    await wg.wait();
    return task.running() !== undefined;
  });
  await wg.wait();
  assert.is(await inside, true);
});

test("nested groups", async () => {
  const main = waitgroup.new();
  const log: string[] = [];
  for (const [name, n, ms] of [["g1", 3, 4], ["g2", 2, 6]] as const) {
    main.fork(async () => {
      const sub = waitgroup.new();
      for (let i = 1; i <= n; i++) sub.fork(async () => {
        await time.sleep(ms);
        log.push(`${name}.${i}`);
      });
      await sub.wait();
      log.push(`${name} done`);
    });
  }
  await main.wait();
  assert.is(log.length, 7);
  assert.ok(log.indexOf("g1 done") > log.indexOf("g1.3"));
  assert.ok(log.indexOf("g2 done") > log.indexOf("g2.2"));
});

test("the group can be reused after a wait", async () => {
  const wg = waitgroup.new();
  wg.fork(() => time.sleep(1));
  await wg.wait();
  let ran = false;
  wg.fork(async () => {
    await time.sleep(1);
    ran = true;
  });
  await wg.wait();
  assert.ok(ran);
});

test("fork checks its argument", () => {
  assert.throws(() => waitgroup.new().fork(42 as never), /fn must be a function/);
});

test.run();
