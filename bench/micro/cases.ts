// Micro-benchmark cases. Each returns the number of operations it performed; the
// caller times it. One case runs per process: silly/task's identity carrier turns on
// promise hooks for the whole process, which would slow every later baseline.
import channel from "silly-sync-channel";
import task from "silly/task";
import { PromiseQueue } from "./promisequeue.js";

interface Queue {
  send(v: number): unknown;
  recv(): Promise<readonly [number | undefined, unknown]>;
}

type Runner = (fn: () => Promise<void>) => void;

const inTask: Runner = (fn) => {
  task.fork(fn);
};
const plain: Runner = (fn) => {
  void fn();
};

/**
 * One producer sends `n` values in batches of `batch`; after each batch it waits
 * (on a plain promise, the same for every queue) until the consumer has received
 * the whole batch, so the queue never holds more than one batch.
 */
function pingQueue(q: Queue, run: Runner, n: number, batch: number): Promise<number> {
  let ack: (() => void) | undefined;
  return new Promise<number>((resolve, reject) => {
    run(async () => {
      for (let i = 0; i < n; ) {
        const stop = Math.min(n, i + batch);
        for (; i < stop; i++) q.send(i + 1);
        await new Promise<void>((r) => (ack = r));
      }
    });
    run(async () => {
      for (let got = 1; got <= n; got++) {
        const [v] = await q.recv();
        if (v !== got) {
          reject(new Error(`received ${String(v)}, expected ${got}`));
          return;
        }
        if (got % batch === 0 || got === n) ack?.();
      }
      resolve(n);
    });
  });
}

function spawnAll(n: number, start: (fn: () => void) => void): Promise<number> {
  return new Promise<number>((resolve) => {
    let done = 0;
    const fn = (): void => {
      if (++done === n) resolve(n);
    };
    for (let i = 0; i < n; i++) start(fn);
  });
}

export const cases: Record<string, (n: number) => Promise<number>> = {
  "chan.silly.x1": (n) => pingQueue(channel.create<number>(), inTask, n, 1),
  "chan.silly.x64": (n) => pingQueue(channel.create<number>(), inTask, n, 64),
  "chan.silly-notask.x1": (n) => pingQueue(channel.create<number>(), plain, n, 1),
  "chan.silly-notask.x64": (n) => pingQueue(channel.create<number>(), plain, n, 64),
  "chan.queue.x1": (n) => pingQueue(new PromiseQueue<number>(), plain, n, 1),
  "chan.queue.x64": (n) => pingQueue(new PromiseQueue<number>(), plain, n, 64),
  "fork.silly": (n) => spawnAll(n, (fn) => task.fork(fn)),
  "fork.microtask": (n) => spawnAll(n, (fn) => queueMicrotask(fn)),
  "fork.then": (n) => spawnAll(n, (fn) => void Promise.resolve().then(fn)),
};
