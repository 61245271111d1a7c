import { test } from "uvu";
import * as assert from "uvu/assert";
import task from "silly/task";
import time from "silly/time";

test("now and monotonic", () => {
  const n = time.now();
  assert.ok(Math.abs(n - Date.now()) < 1000);
  const a = time.monotonic();
  const b = time.monotonic();
  assert.ok(b >= a);
  assert.ok(Number.isInteger(a));
});

test("sleep inside a task waits at least ms and shows WAIT", async () => {
  let t!: ReturnType<typeof task.fork>;
  const elapsed = await new Promise<number>((resolve) => {
    t = task.fork(async () => {
      const start = time.monotonic();
      await time.sleep(30);
      resolve(time.monotonic() - start);
    });
  });
  assert.ok(elapsed >= 29, `slept ${elapsed} ms`);
  const t2 = task.fork(async () => {
    await time.sleep(20);
  });
  while (task.status(t2) !== "WAIT") await Promise.resolve();
  assert.is(task.status(t2), "WAIT");
  assert.ok(t);
});

test("after fires in deadline order, gives session or ud, runs as a task", async () => {
  const fired: unknown[] = [];
  let insideTask = false;
  // Deadlines 100 ms apart: a stall between two of these calls (a busy
  // machine) must not reorder them, as 10 ms apart once did.
  await new Promise<void>((resolve) => {
    const s30 = time.after(300, (s) => {
      fired.push(["s", s === s30]);
      insideTask = task.running() !== undefined;
      resolve();
    });
    time.after(100, (ud) => fired.push(ud), "ten");
    time.after(200, (ud) => fired.push(ud), { n: 20 });
  });
  assert.equal(fired, ["ten", { n: 20 }, ["s", true]]);
  assert.ok(insideTask);
});

test("a cancelled timer never fires; cancel of unknown is a no-op", async () => {
  const fired: string[] = [];
  const a = time.after(5, () => fired.push("cancelled"));
  time.cancel(a);
  time.cancel(a);
  time.cancel(999999);
  await new Promise<void>((resolve) => time.after(25, () => resolve()));
  assert.equal(fired, []);
});

test("callbacks can sleep (they are tasks)", async () => {
  const v = await new Promise<string>((resolve) => {
    time.after(1, async () => {
      await time.sleep(5);
      resolve("slept in callback");
    });
  });
  assert.is(v, "slept in callback");
});

test("a negative delay counts as 0 (a deadline already past), for after and sleep", async () => {
  const order: string[] = [];
  const fired = new Promise<void>((resolve) => {
    time.after(5, () => {
      order.push("5 ms");
      resolve();
    });
    time.after(-50, (session) => order.push(`-50 ms, session ${typeof session}`));
  });
  await fired;
  assert.equal(order, ["-50 ms, session number", "5 ms"]);
  const t0 = time.monotonic();
  await time.sleep(-1);
  const slept = await new Promise<boolean>((resolve) => {
    task.fork(async () => {
      await time.sleep(-1000);
      resolve(true);
    });
  });
  assert.ok(slept);
  // Cancellable like any timer.
  let ran = false;
  time.cancel(time.after(-1, () => (ran = true)));
  await new Promise<void>((resolve) => time.after(5, () => resolve()));
  assert.is(ran, false);
  assert.ok(time.monotonic() - t0 >= 0);
});

test("bad arguments throw clearly", () => {
  assert.throws(() => time.after(Number.NaN, () => {}), /ms must be a finite number/);
  assert.throws(() => time.sleep(Infinity), /ms must be/);
  assert.throws(() => time.sleep("5" as never), /ms must be/);
  assert.throws(() => time.sleep(Number.NaN), /ms must be/);
  assert.throws(() => time.after(1, null as never), /must be a function/);
});

test("waking a sleeping task early neither crashes later nor wakes a later wait", async () => {
  const got: unknown[] = [];
  const t = task.fork(async () => {
    got.push(await time.sleep(30));
    got.push(await task.wait()); // the sleep's timer must not end this wait
  });
  while (task.status(t) !== "WAIT") await Promise.resolve();
  task.wakeup(t, "early");
  await new Promise((r) => setTimeout(r, 50)); // let the sleep's own timer fire (that is the behaviour under test)
  assert.is(task.status(t), "WAIT");
  task.wakeup(t, "second");
  while (task.status(t) !== undefined) await Promise.resolve();
  assert.equal(got, ["early", "second"]);
  // A task woken early and already finished: its timer must not throw.
  const t2 = task.fork(async () => {
    await time.sleep(10);
  });
  while (task.status(t2) !== "WAIT") await Promise.resolve();
  task.wakeup(t2);
  await new Promise((r) => setTimeout(r, 30));
  assert.is(task.status(t2), undefined);
});

test.run();
