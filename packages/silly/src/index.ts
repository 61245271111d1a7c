// silly: process-level helpers (exit, genid, pcall) and version.
import { flush, error as logerror } from "./logger.js";
import { describe } from "./internal/report.js";
import { flushpending } from "./internal/outflush.js";

export const version = "0.1.0";
export const pid = process.pid;

let lastid = 0;
/** A process-unique, increasing integer. */
export function genid(): number {
  return ++lastid;
}

/** End the process with `code` once queued connection writes and buffered log lines are handed over. */
export async function exit(code = 0): Promise<never> {
  flushpending(); // connection writes not yet handed to their sockets
  await flush();
  process.exit(code);
}

/** Log a message together with the stack of the caller. */
export function error(msg: string): void {
  const e = new Error(msg);
  Error.captureStackTrace(e, error); // the stack starts at the caller
  logerror("%s", describe(e));
}

export type PcallResult<R> = [true, R] | [false, unknown];
/**
 * What pcall returns for a function returning R: a promise of the tuple for
 * async functions. A function typed to return `any` (JSON.parse) gets the
 * plain tuple: `any` would otherwise spread over both branches.
 */
export type Pcall<R> = 0 extends 1 & R
  ? PcallResult<R>
  : [R] extends [never]
    ? PcallResult<never>
    : R extends Promise<infer U> ? Promise<PcallResult<U>> : PcallResult<R>;

/**
 * Call `fn` and catch what it throws: `[true, result]` or `[false, err]`.
 * For an async `fn` the tuple comes in a promise, which never rejects.
 */
export function pcall<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): Pcall<R> {
  let r: R;
  try {
    r = fn(...args);
  } catch (err) {
    return [false, err] as Pcall<R>;
  }
  if (r instanceof Promise) {
    return r.then((v: unknown) => [true, v], (err: unknown) => [false, err]) as Pcall<R>;
  }
  return [true, r] as Pcall<R>;
}

const silly = { version, pid, genid, exit, error, pcall };
export default silly;
