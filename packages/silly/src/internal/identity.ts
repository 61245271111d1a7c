// Which task is running: an identity that follows a task across its awaits.
//
// The default carrier uses V8's promise hooks (node:v8 promiseHooks): the
// promises an await or a then() makes while a task runs are tagged with it,
// and when a promise reaction (an await's continuation, a then callback) runs,
// the tag of the promise it belongs to becomes the current identity until the
// reaction ends.
// That is what AsyncLocalStorage does for promises, minus async ids and
// resource bookkeeping: measured on 32-byte WebSocket echo, 16 in flight,
// AsyncLocalStorage cost ~25% of the throughput and these hooks ~6%.
//
// Unlike AsyncLocalStorage, plain callbacks (timers, process.nextTick,
// queueMicrotask, event emitters) registered inside a task do not carry it.
// Where promiseHooks is missing, or SILLY_TASKCONTEXT=als is set,
// AsyncLocalStorage carries the identity instead.
import { AsyncLocalStorage } from "node:async_hooks";
import * as v8 from "node:v8";

/** What enter() runs: three arguments, fixed, so no rest array per call. */
type Fn<A, B, C> = (a: A, b: B, c: C) => void;

interface Carrier {
  name: "promisehooks" | "als";
  current(): object | undefined;
  enter<A, B, C>(id: object, fn: Fn<A, B, C>, a: A, b: B, c: C): void;
}

interface PromiseHooksApi {
  onInit(fn: (promise: Promise<unknown>, parent: Promise<unknown> | undefined) => void): unknown;
  onBefore(fn: (promise: Promise<unknown>) => void): unknown;
  onAfter(fn: (promise: Promise<unknown>) => void): unknown;
}

const kId = Symbol("silly.task");
type Tagged = Promise<unknown> & { [kId]?: object };

function hookcarrier(hooks: PromiseHooksApi): Carrier {
  let cur: object | undefined;
  let installed = false;
  // Installed on first use: a process that never forks a task pays nothing.
  const install = (): void => {
    installed = true;
    // Only promises with a parent are tagged: an await's continuation runs
    // for the promise the await made (its parent: the awaited one), a then
    // callback for the promise then() made. Promises with no parent (new
    // Promise, Promise.resolve, an async function's own) carry no await
    // continuation and no then callback (at most a thenable's then() call,
    // which runs outside any task), so an idle connection's pending read
    // keeps no tag.
    hooks.onInit((p, parent) => {
      if (cur !== undefined && parent !== undefined) (p as Tagged)[kId] = cur;
    });
    hooks.onBefore((p) => {
      cur = (p as Tagged)[kId];
    });
    // Reactions never nest, so outside one no task is current.
    hooks.onAfter(() => {
      cur = undefined;
    });
  };
  return {
    name: "promisehooks",
    current: () => cur,
    enter(id, fn, a, b, c) {
      if (!installed) install();
      const prev = cur;
      cur = id;
      try {
        fn(a, b, c);
      } finally {
        cur = prev;
      }
    },
  };
}

function alscarrier(): Carrier {
  const storage = new AsyncLocalStorage<object>();
  return {
    name: "als",
    current: () => storage.getStore(),
    enter: (id, fn, a, b, c) => storage.run(id, fn, a, b, c),
  };
}

function pick(): Carrier {
  const hooks = (v8 as { promiseHooks?: Partial<PromiseHooksApi> }).promiseHooks;
  const usable =
    hooks !== undefined &&
    typeof hooks.onInit === "function" &&
    typeof hooks.onBefore === "function" &&
    typeof hooks.onAfter === "function";
  if (!usable || process.env.SILLY_TASKCONTEXT === "als") return alscarrier();
  return hookcarrier(hooks as PromiseHooksApi);
}

const carrier = pick();

/** The identity of the running task, or undefined outside any task. */
export const current: () => object | undefined = carrier.current;

/** Call fn(a, b, c) as `id`: it and every promise reaction it leads to see `id` as current. */
export const enter: <A, B, C>(id: object, fn: Fn<A, B, C>, a: A, b: B, c: C) => void = carrier.enter;

/** Which carrier is in use: "promisehooks" or "als". */
export const carriername: "promisehooks" | "als" = carrier.name;
