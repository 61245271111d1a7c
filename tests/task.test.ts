import { test } from "uvu";
import * as assert from "uvu/assert";
import task, { type Task } from "silly/task";
import logger from "silly/logger";
import silly from "silly";

test("fork runs later, in fork order", async () => {
  const order: number[] = [];
  const done = new Promise<void>((resolve) => {
    for (let i = 0; i < 5; i++) {
      task.fork(() => {
        order.push(i);
        if (i === 4) resolve();
      });
    }
    order.push(-1); // fork never runs fn synchronously
  });
  await done;
  assert.equal(order, [-1, 0, 1, 2, 3, 4]);
});

test("fork passes ud; running() is the task across awaits", async () => {
  const seen = await new Promise<unknown[]>((resolve) => {
    const t = task.fork(async (ud: string) => {
      const a = task.running();
      await new Promise((r) => setTimeout(r, 1));
      const b = task.running();
      await Promise.resolve();
      resolve([ud, a === t, b === t, task.running() === t]);
    }, "hello");
  });
  assert.equal(seen, ["hello", true, true, true]);
  assert.is(task.running(), undefined);
});

test("identity stays with each task while many interleave their awaits", async () => {
  const N = 20;
  const handles: Task[] = [];
  const results = await new Promise<boolean[]>((resolve) => {
    const out: boolean[] = [];
    for (let i = 0; i < N; i++) {
      handles.push(
        task.fork(async (k: number) => {
          const me = handles[k];
          let ok = task.running() === me;
          for (let round = 0; round < 5; round++) {
            await Promise.resolve(round); // a microtask
            ok &&= task.running() === me;
            await new Promise((r) => setTimeout(r, k % 3)); // a timer resolves it
            ok &&= task.running() === me;
            await Promise.all([Promise.resolve(1), new Promise((r) => setImmediate(r))]);
            ok &&= task.running() === me;
            const v = await new Promise<number>((r) => queueMicrotask(() => r(k))).then((x) => {
              ok &&= task.running() === me; // a then callback registered in the task
              return x;
            });
            ok &&= v === k && task.running() === me;
          }
          out.push(ok);
          if (out.length === N) resolve(out);
        }, i),
      );
    }
  });
  assert.equal(results, new Array(N).fill(true));
  // Outside every task, nothing is current, not even in an I/O or timer callback.
  assert.is(task.running(), undefined);
  assert.is(await new Promise((r) => setImmediate(() => r(task.running()))), undefined);
});

test("woken tasks know who they are, whoever woke them", async () => {
  const sleeper = new Promise<boolean>((resolve) => {
    const t = task.fork(async () => {
      const v = await task.wait<string>();
      resolve(v === "go" && task.running() === t);
    });
    // Woken from a plain timer callback, outside any task.
    const poll = (): void => {
      if (task.status(t) === "WAIT") task.wakeup(t, "go");
      else setImmediate(poll);
    };
    setImmediate(poll);
  });
  assert.is(await sleeper, true);
});

test("wait / wakeup pass values and status moves READY -> RUN -> WAIT -> READY -> gone", async () => {
  const statuses: (string | undefined)[] = [];
  let finished!: () => void;
  const end = new Promise<void>((r) => (finished = r));
  const got: unknown[] = [];
  const t = task.fork(async () => {
    statuses.push(task.status(task.running()!));
    got.push(await task.wait());
    got.push(await task.wait<number>());
    finished();
  });
  statuses.push(task.status(t));
  // Let the task start and block.
  while (task.status(t) !== "WAIT") await Promise.resolve();
  statuses.push(task.status(t));
  task.wakeup(t, { x: 1 });
  statuses.push(task.status(t));
  while (task.status(t) !== "WAIT") await Promise.resolve();
  task.wakeup(t, 42);
  await end;
  await Promise.resolve();
  statuses.push(task.status(t));
  assert.equal(statuses, ["READY", "RUN", "WAIT", "READY", undefined]);
  assert.equal(got, [{ x: 1 }, 42]);
});

test("programmer errors are clear throws", async () => {
  assert.throws(() => task.wait(), /inside a task/);
  assert.throws(() => task.fork(123 as never), /must be a function/);
  const t = task.fork(async () => {});
  assert.throws(() => task.wakeup(t, 1), /not WAIT/);
  assert.throws(() => task.wakeup({} as never), /not a task handle/);
  const inner = await new Promise<string>((resolve) => {
    task.fork(async () => {
      const me = task.running()!;
      try {
        task.wakeup(me);
        resolve("no throw");
      } catch (e) {
        resolve((e as Error).message);
      }
    });
  });
  assert.match(inner, /is RUN, not WAIT/);
});

test("an error in a task is logged with its stack and ends only that task", async () => {
  const lines: string[] = [];
  const prev = logger.setsink((l) => lines.push(l));
  try {
    const survivor = new Promise<string>((resolve) => {
      task.fork(function boom() {
        throw new Error("sync kaboom");
      });
      task.fork(async function asyncboom() {
        await Promise.resolve();
        throw new Error("async kaboom");
      });
      task.fork(async () => {
        await new Promise((r) => setTimeout(r, 5));
        resolve("still serving");
      });
    });
    assert.is(await survivor, "still serving");
  } finally {
    logger.setsink(prev);
  }
  const text = lines.join("");
  assert.match(text, /task \d+ \(boom\) failed: Error: sync kaboom/);
  assert.match(text, /task \d+ \(asyncboom\) failed: Error: async kaboom/);
  assert.match(text, /task\.test\.ts/); // the stack is there
});

test("readycount and inspect see queued and waiting tasks", async () => {
  const before = task.readycount();
  const a = task.fork(async () => {
    await task.wait();
  });
  const b = task.fork(() => {});
  assert.is(task.readycount(), before + 2);
  const info = task.inspect().filter((i) => i.id === a.id || i.id === b.id);
  assert.equal(info.map((i) => i.status), ["READY", "READY"]);
  while (task.status(a) !== "WAIT") await Promise.resolve();
  assert.ok(task.inspect().some((i) => i.id === a.id && i.status === "WAIT"));
  task.wakeup(a);
});

test("silly.pcall, genid, version", async () => {
  assert.equal(silly.pcall((a: number, b: number) => a + b, 1, 2), [true, 3]);
  const [ok, err] = silly.pcall(() => {
    throw new Error("bad");
  });
  assert.is(ok, false);
  assert.match(String(err), /bad/);
  assert.equal(await silly.pcall(async (x: string) => x + "!", "hi"), [true, "hi!"]);
  const r = await silly.pcall(async () => {
    throw new Error("async bad");
  });
  assert.is(r[0], false);
  // A function typed to return any (JSON.parse) gives the plain tuple, not a promise of it.
  const [jok, parsed] = silly.pcall(JSON.parse, '{"n":1}');
  assert.is(jok, true);
  assert.is(parsed.n, 1);
  const [bok, perr] = silly.pcall(JSON.parse, "{");
  assert.is(bok, false);
  assert.instance(perr, SyntaxError);
  const a = silly.genid();
  const b = silly.genid();
  assert.ok(b > a);
  assert.type(silly.version, "string");
});

test.run();
