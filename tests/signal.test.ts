import { test } from "uvu";
import * as assert from "uvu/assert";
import signal from "silly/signal";
import { program } from "./lib/child.js";

test("without a handler of its own, SIGINT leaves through silly.exit(0): log lines are kept", async () => {
  const c = program(`
    import "silly/signal";
    import logger from "silly/logger";
    import time from "silly/time";
    time.after(60_000, () => {});
    logger.info("ready");
  `);
  await c.waitfor(/ I ready/);
  c.proc.kill("SIGINT");
  const { code, signal: sig } = await c.exited();
  assert.is(sig, null, "exited, not killed by the signal");
  assert.is(code, 0);
});

test("a handler runs as a task, gets the signal's name, can await, and replaces the previous one", async () => {
  const c = program(`
    import signal from "silly/signal";
    import silly from "silly";
    import task from "silly/task";
    import time from "silly/time";
    const first = (sig) => console.log("first", sig);
    console.log("prev0", signal("SIGUSR2", first));
    console.log("prev1", signal("SIGUSR2", async (sig) => {
      console.log("got", sig, "in a task:", task.running() !== undefined);
      await time.sleep(5);
      console.log("cleaned up");
      await silly.exit(7);
    }) === first);
    time.after(60_000, () => {});
    console.log("ready");
  `);
  await c.waitfor(/ready/);
  c.proc.kill("SIGUSR2");
  const { code } = await c.exited();
  assert.is(code, 7, c.output());
  assert.match(c.output(), /prev0 undefined\nprev1 true\nready\ngot SIGUSR2 in a task: true\ncleaned up\n/);
  assert.not.match(c.output(), /first/);
});

test("SIGINT and SIGTERM share one handler; a second signal runs it again", async () => {
  const c = program(`
    import signal from "silly/signal";
    import silly from "silly";
    import time from "silly/time";
    let n = 0;
    const stop = async (sig) => {
      n++;
      console.log("stop", sig, n);
      if (n === 2) await silly.exit(0);
    };
    signal("SIGINT", stop);
    signal("SIGTERM", stop);
    time.after(60_000, () => {});
    console.log("ready");
  `);
  await c.waitfor(/ready/);
  c.proc.kill("SIGTERM");
  await c.waitfor(/stop SIGTERM 1/);
  c.proc.kill("SIGINT");
  const { code } = await c.exited();
  assert.is(code, 0);
  assert.match(c.output(), /stop SIGINT 2/);
});

test("signals that cannot be caught, and unknown names, return undefined; bad arguments throw", () => {
  const h = (): void => {};
  assert.is(signal("SIGKILL", h), undefined);
  assert.is(signal("SIGSTOP", h), undefined);
  assert.is(signal("SIGNOPE", h), undefined);
  assert.is(process.listenerCount("SIGNOPE"), 0);
  assert.throws(() => signal("SIGHUP", undefined as never), /handler must be a function/);
  assert.throws(() => signal(15 as never, h), /signal name/);
});

test("the module installs the SIGINT default once loaded; the handler returned is it", () => {
  assert.is(process.listenerCount("SIGINT"), 1);
  const prev = signal("SIGINT", () => {});
  assert.type(prev, "function");
  assert.is(process.listenerCount("SIGINT"), 1, "replacing keeps one listener");
  signal("SIGINT", prev!);
});

test.run();
