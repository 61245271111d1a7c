// silly.task: coroutine-style tasks on top of async functions.
//
// A task is an async function started by fork(). Its identity follows it
// across awaits (see identity.ts), so running() / wait() work after any
// await. Tasks start (and woken tasks resume) from a ready queue drained on a
// microtask, in the order they were queued, like silly's dispatcher.
import { current, enter } from "./internal/identity.js";
import { logerror } from "./internal/report.js";

export type TaskStatus = "RUN" | "READY" | "WAIT";

/** A handle to a forked task. Compare handles by identity. */
export class Task {
  /** @internal undefined once the task has finished. */ status: TaskStatus | undefined = "READY";
  /** @internal */ resume: ((v: unknown) => void) | undefined = undefined;
  /** @internal Called when the promise the task's function returned settles (see internal/settle.ts). */
  endfn: ((arg: unknown, threw: boolean, err: unknown) => void) | undefined = undefined;
  /** @internal */ endarg: unknown = undefined;
  // The live tasks, in the order they were forked: a list through the tasks
  // themselves (two fields) instead of an entry each in a table (the long-lived
  // tasks are mostly idle connections').
  /** @internal */ prev: Task | undefined = undefined;
  /** @internal */ next: Task | undefined = undefined;
  constructor(
    /** A process-unique, increasing number. */
    readonly id: number,
    /** The forked function's name, for inspect(). */
    readonly name: string,
  ) {}
}

type Entry =
  | { kind: "start"; task: Task; fn: (ud: unknown) => unknown; ud: unknown }
  | { kind: "wake"; task: Task; value: unknown };

let first: Task | undefined = undefined; // the live tasks' list
let last: Task | undefined = undefined;

function born(t: Task): void {
  t.prev = last;
  if (last === undefined) first = t;
  else last.next = t;
  last = t;
}

/** The running task (the identity carrier holds Tasks only). */
function me(): Task | undefined {
  return current() as Task | undefined;
}
let ready: Entry[] = [];
let scheduled = false;
let nextid = 1;

function schedule(): void {
  if (!scheduled) {
    scheduled = true;
    queueMicrotask(dispatch);
  }
}

function dispatch(): void {
  scheduled = false;
  // Entries queued while dispatching run in the next round, after I/O
  // callbacks already queued as microtasks had their turn.
  const batch = ready;
  ready = [];
  for (const e of batch) {
    if (e.kind === "start") start(e.task, e.fn, e.ud);
    else {
      const r = e.task.resume;
      e.task.resume = undefined;
      e.task.status = "RUN";
      r?.(e.value);
    }
  }
}

function finish(t: Task): void {
  if (t.status === undefined) return;
  t.status = undefined;
  const { prev, next } = t;
  if (prev === undefined) first = next;
  else prev.next = next;
  if (next === undefined) last = prev;
  else next.prev = prev;
  t.prev = t.next = undefined;
}

function start(t: Task, fn: (ud: unknown) => unknown, ud: unknown): void {
  t.status = "RUN";
  try {
    enter(t, run, t, fn, ud);
  } catch (err) {
    logerror(`task ${t.id} (${t.name}) failed`, err);
    finish(t);
  }
}

/**
 * Inside the task's storage context: call fn, and watch the promise it may
 * return. The reactions are attached here so they run in the task's context
 * and find the task there: shared functions instead of two closures per
 * live task (a long-lived task is often an idle connection's).
 */
function run(t: Task, fn: (ud: unknown) => unknown, ud: unknown): void {
  const result = fn(ud);
  if (result instanceof Promise) result.then(settled, failed);
  else finish(t);
}

function settled(): void {
  const t = me();
  if (t === undefined) return;
  if (t.endfn !== undefined) return ended(t, false, undefined);
  finish(t);
}

function failed(err: unknown): void {
  const t = me();
  if (t === undefined) {
    logerror("task failed", err);
    return;
  }
  if (t.endfn !== undefined) return ended(t, true, err);
  logerror(`task ${t.id} (${t.name}) failed`, err);
  finish(t);
}

function ended(t: Task, threw: boolean, err: unknown): void {
  const fn = t.endfn!;
  const arg = t.endarg;
  t.endfn = undefined;
  t.endarg = undefined;
  try {
    fn(arg, threw, err);
  } catch (e) {
    logerror(`task ${t.id} (${t.name}) failed`, e);
  }
  finish(t);
}

/**
 * Start `fn` as a new task on a later turn. Returns its handle at once.
 * An error thrown by the task is logged and ends that task only.
 */
export function fork<U = undefined>(fn: (ud: U) => unknown, ud?: U): Task {
  if (typeof fn !== "function") throw new TypeError("task.fork: fn must be a function");
  const t = new Task(nextid++, fn.name || "anonymous");
  born(t);
  ready.push({ kind: "start", task: t, fn: fn as (ud: unknown) => unknown, ud });
  schedule();
  return t;
}

/** The task whose code is running now, or undefined outside any task. */
export function running(): Task | undefined {
  return me();
}

/**
 * Suspend the current task until task.wakeup(t, value) is called for it;
 * resolves to that value. Calling it outside a task, or twice at once from
 * one task, is a programmer error.
 */
export function wait<T = unknown>(): Promise<T> {
  const t = me();
  if (t === undefined) throw new Error("task.wait: must be called inside a task (use task.fork)");
  if (t.status !== "RUN") throw new Error(`task.wait: task ${t.id} is ${t.status}, not RUN`);
  t.status = "WAIT";
  return new Promise<T>((resolve) => {
    t.resume = resolve as (v: unknown) => void;
  });
}

/**
 * Queue a waiting task to resume with `value`. Waking a task that is not
 * waiting is a programmer error.
 */
export function wakeup(t: Task, value?: unknown): void {
  if (!(t instanceof Task)) throw new TypeError("task.wakeup: not a task handle");
  if (t.status !== "WAIT") {
    throw new Error(`task.wakeup: task ${t.id} is ${status(t) ?? "finished"}, not WAIT`);
  }
  t.status = "READY";
  ready.push({ kind: "wake", task: t, value });
  schedule();
}

/** "RUN", "READY", "WAIT", or undefined once the task has finished. */
export function status(t: Task): TaskStatus | undefined {
  return t.status;
}

/** How many tasks are queued to start or resume. */
export function readycount(): number {
  return ready.length;
}

export interface TaskInfo {
  id: number;
  name: string;
  status: TaskStatus;
}

/** A snapshot of every live task, for debugging. */
export function inspect(): TaskInfo[] {
  const out: TaskInfo[] = [];
  for (let t = first; t !== undefined; t = t.next) out.push({ id: t.id, name: t.name, status: t.status as TaskStatus });
  return out;
}

const task = { fork, running, wait, wakeup, status, readycount, inspect, Task };
export default task;
