// The shared deadline heap of silly-net-websocket (src/ticker.ts): one timer for
// every socket's deadline.
import { test } from "uvu";
import * as assert from "uvu/assert";
import logger from "silly/logger";
import { clock, schedule, scheduled } from "../packages/silly-net-websocket/src/ticker.js";
import type { Timed } from "../packages/silly-net-websocket/src/ticker.js";
import { bounded } from "./lib/bounded.js";

logger.setlevel(logger.ERROR);

class Entry implements Timed {
  at = -1;
  slot = -1;
  fired: number[] = [];
  constructor(
    readonly name: string,
    readonly log: string[],
    private readonly then?: (e: Entry, now: number) => void,
  ) {}
  set(at: number): void {
    this.at = at;
    schedule(this);
  }
  ontime(now: number): void {
    this.log.push(this.name);
    this.fired.push(now);
    this.at = -1;
    this.then?.(this, now);
  }
}

test("deadlines fire in order, each once, not before its time; cancelled ones never", bounded(10_000, async () => {
  const log: string[] = [];
  const done = new Promise<void>((resolve) => {
    const t0 = clock();
    const entries = [40, 10, 30, 20, 50].map((d) => new Entry(`+${d}`, log, (e, now) => {
      assert.ok(now >= t0 + d, `${e.name} fired at +${now - t0}`);
      if (e.name === "+50") resolve();
    }));
    entries.forEach((e, i) => e.set(t0 + [40, 10, 30, 20, 50][i]!));
    const cancelled = new Entry("cancelled", log);
    cancelled.set(t0 + 15);
    cancelled.set(-1);
    const moved = new Entry("moved", log);
    moved.set(t0 + 5);
    moved.set(t0 + 45); // replaces the earlier deadline
  });
  await done;
  assert.equal(log, ["+10", "+20", "+30", "+40", "moved", "+50"]);
  assert.is(scheduled(), 0);
}));

test("a handler that reschedules itself runs again; one that throws costs only itself", bounded(10_000, async () => {
  const log: string[] = [];
  const errors: string[] = [];
  const before = logger.setsink((line: string) => errors.push(line));
  let n = 0;
  const done = new Promise<void>((resolve) => {
    const again = new Entry("again", log, (e, now) => {
      if (++n < 3) e.set(now + 5);
      else resolve();
    });
    const broken = new Entry("broken", log, () => {
      throw new Error("a bug in a handler");
    });
    again.set(clock() + 5);
    broken.set(clock() + 1);
  });
  await done;
  logger.setsink(before);
  assert.equal(log, ["broken", "again", "again", "again"]);
  assert.is(scheduled(), 0);
  assert.is(errors.length, 1);
  assert.match(errors[0]!, /websocket: a deadline's handler threw: Error: a bug in a handler/);
}));

test.run();
