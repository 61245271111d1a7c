import { test } from "uvu";
import * as assert from "uvu/assert";
import singleflight, { Group } from "silly-sync-singleflight";
import silly from "silly";
import time from "silly/time";

test("100 concurrent calls for one key run fn once and share its result", async () => {
  let runs = 0;
  const sf = singleflight.new(async (id: number) => {
    runs++;
    await time.sleep(5);
    return { id, name: `user-${id}` };
  });
  assert.instance(sf, Group);
  const calls = Array.from({ length: 100 }, () => sf.call(42));
  assert.is(sf.size, 1);
  const users = await Promise.all(calls);
  assert.is(runs, 1);
  assert.ok(users.every((u) => u === users[0]), "the same object for everyone");
  assert.equal(users[0], { id: 42, name: "user-42" });
  assert.is(sf.size, 0);
});

test("different keys run in parallel; nothing is remembered afterwards", async () => {
  const started: string[] = [];
  let running = 0;
  let most = 0;
  const sf = singleflight.new(async (key: string) => {
    started.push(key);
    most = Math.max(most, ++running);
    await time.sleep(10);
    running--;
    return key.toUpperCase();
  });
  assert.equal(await Promise.all([sf.call("a"), sf.call("b"), sf.call("a")]), ["A", "B", "A"]);
  assert.equal(started, ["a", "b"]);
  assert.is(most, 2, "a and b overlapped");
  assert.is(await sf.call("a"), "A");
  assert.equal(started, ["a", "b", "a"], "a new flight after the first ended");
});

test("a throw reaches every waiter of that flight; the next call retries", async () => {
  let runs = 0;
  const sf = singleflight.new(async (key: string) => {
    runs++;
    await time.sleep(1);
    if (runs === 1) throw new Error(`load ${key} failed`);
    return "ok";
  });
  const results = await Promise.all([1, 2, 3].map(() => silly.pcall(() => sf.call("k"))));
  for (const [ok, err] of results) {
    assert.is(ok, false);
    assert.match(String(err), /load k failed/);
  }
  assert.is(results[0]![1], results[2]![1], "the same error value");
  assert.is(await sf.call("k"), "ok");
  assert.is(runs, 2);
});

test("a synchronous fn, and one that throws synchronously, end their flight", async () => {
  const sync = singleflight.new((n: number) => n * 2);
  assert.equal(await Promise.all([sync.call(2), sync.call(2)]), [4, 4]);
  assert.is(sync.size, 0);
  let runs = 0;
  const bad = singleflight.new((key: string): string => {
    runs++;
    throw new Error(`no ${key}`);
  });
  const [a, b] = await Promise.all([silly.pcall(() => bad.call("x")), silly.pcall(() => bad.call("x"))]);
  assert.is(a[0], false);
  assert.is(b[0], false);
  assert.is(runs, 1);
  assert.is(bad.size, 0);
});

test("errors-as-values results are shared as they are", async () => {
  const sf = singleflight.new(async (key: string): Promise<[string, undefined] | [undefined, string]> => {
    await time.sleep(1);
    return key === "missing" ? [undefined, "not found"] : [key, undefined];
  });
  const [[v1], [v2, err]] = await Promise.all([sf.call("here"), sf.call("missing")]);
  assert.is(v1, "here");
  assert.is(v2, undefined);
  assert.is(err, "not found");
});

test("new checks its argument", () => {
  assert.throws(() => singleflight.new(undefined as never), /fn must be a function/);
});

test.run();
