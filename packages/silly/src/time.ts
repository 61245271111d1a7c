// silly.time: clocks, sleep and cancellable timers whose callbacks run as tasks.
import { fork, running, status, wait, wakeup } from "./task.js";

/** Wall-clock time in milliseconds since the Unix epoch. */
export function now(): number {
  return Date.now();
}

/** Milliseconds from an arbitrary start; never goes backwards. */
export function monotonic(): number {
  return Math.floor(performance.now());
}

/** A delay in ms: a negative one (a deadline already past) counts as 0, as upstream. */
function delayof(name: string, ms: number): number {
  if (typeof ms !== "number" || !Number.isFinite(ms)) {
    throw new RangeError(`time.${name}: ms must be a finite number, got ${String(ms)}`);
  }
  return ms < 0 ? 0 : ms;
}

/**
 * Suspend for `ms` milliseconds (a negative `ms` counts as 0). Inside a task the task shows as WAIT while
 * it sleeps; outside one it is a plain timer.
 */
export function sleep(ms: number): Promise<void> {
  ms = delayof("sleep", ms);
  const t = running();
  if (t === undefined) return new Promise((resolve) => setTimeout(resolve, ms));
  const p = wait<void>();
  const mine = t.resume;
  // Wake only this very wait: the task may have been woken early by
  // task.wakeup and be finished, or waiting on something else, by now.
  setTimeout(() => {
    if (t.resume === mine && status(t) === "WAIT") wakeup(t);
  }, ms);
  return p;
}

const timers = new Map<number, NodeJS.Timeout>();
let nextsession = 1;

/**
 * Run `fn` as a new task after `ms` milliseconds (a negative `ms` counts as
 * 0, so `deadline - now` may be passed as is). It receives `ud`, or the
 * session id when `ud` is undefined. Returns the session id for cancel().
 */
export function after<U = number>(ms: number, fn: (ud: U) => unknown, ud?: U): number {
  ms = delayof("after", ms);
  if (typeof fn !== "function") throw new TypeError("time.after: fn must be a function");
  const session = nextsession++;
  const timer = setTimeout(() => {
    timers.delete(session);
    fork(fn as (ud: unknown) => unknown, ud === undefined ? session : ud);
  }, ms);
  timers.set(session, timer);
  return session;
}

/** Cancel a timer from after(). Unknown, fired or cancelled sessions are ignored. */
export function cancel(session: number): void {
  const timer = timers.get(session);
  if (timer !== undefined) {
    clearTimeout(timer);
    timers.delete(session);
  }
}

const time = { now, monotonic, sleep, after, cancel };
export default time;
